"""The evidence page's registry of claims, and how it turns FINDINGS into tables
(and, in the guides, into the lines that replace `<!-- measured: ... -->`).

The numbers themselves are checked where they are made: `test_tutorials.py`
runs each notebook and checks the keys its claims read, and the docs build
fails if a full-size run lacks one.
"""

import dataclasses
import json
import pathlib
import re
import types

import pytest
from mkdocs_jupyter.utils import slugify

from tools import evidence

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
CLAIM_KEY = re.compile(r"[\"'](claim_\w+)[\"']")


def notebook_sources(stem):
    notebook = json.loads((TUTORIALS / f"{stem}.ipynb").read_text())
    return ["".join(cell["source"]) for cell in notebook["cells"]], notebook


def heading_ids(stem):
    sources, notebook = notebook_sources(stem)
    ids = set()
    for cell, text in zip(notebook["cells"], sources, strict=True):
        if cell["cell_type"] == "markdown":
            for line in text.splitlines():
                if line.startswith("#"):
                    ids.add(slugify(line.lstrip("#").strip()))
    return ids


def fake_findings(verdict="held"):
    """FINDINGS for every notebook with each key its claims read."""
    found = {}
    for claim in evidence.CLAIMS:
        values = found.setdefault(claim.notebook, {})
        for key in claim.keys():
            values[key] = 0.5
        values[claim.verdict] = verdict
    return found


@pytest.mark.parametrize("claim", evidence.CLAIMS, ids=lambda c: c.verdict)
def test_claim_points_at_a_section_of_an_existing_tutorial(claim):
    assert (TUTORIALS / f"{claim.notebook}.ipynb").exists()
    assert claim.anchor in heading_ids(claim.notebook)
    assert claim.verdict.startswith("claim_")
    assert claim.text.endswith(".")


def test_verdict_keys_are_unique():
    keys = [(c.notebook, c.verdict) for c in evidence.CLAIMS]
    assert len(keys) == len(set(keys))


NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_claim_a_tutorial_measures_is_on_the_page(path):
    sources, _ = notebook_sources(path.stem)
    measured = {key for text in sources for key in CLAIM_KEY.findall(text)}
    listed = {c.verdict for c in evidence.CLAIMS if c.notebook == path.stem}
    assert measured == listed


def test_page_holds_the_marker():
    assert evidence.MARKER in (ROOT / "docs" / evidence.PAGE).read_text()


@pytest.mark.parametrize("verdict", evidence.VERDICTS)
def test_render_shows_each_notebook_verdict_and_counts_them(verdict):
    page = evidence.render(fake_findings(verdict))
    rows = re.findall(r'data-claim="(claim_\w+)"[^>]*>([^<]*)<', page)
    assert len(rows) == len(evidence.CLAIMS)
    assert {v for _, v in rows} == {verdict}
    assert f"{len(evidence.CLAIMS)} {verdict}" in page
    for claim in evidence.CLAIMS:
        assert f"../tutorials/{claim.notebook}/#{claim.anchor}" in page


def test_render_formats_the_measured_numbers():
    claim = evidence.Claim("T", "A claim.", "nb", "a", "claim_x", "{acc:.1%}", "S")
    page = evidence.render({"nb": {"claim_x": "partly", "acc": 0.4567}}, [claim])
    assert "| A claim. |" in page
    assert "45.7%" in page
    assert "partly" in page


@pytest.mark.parametrize(
    "findings, message",
    [
        (None, "printed no FINDINGS"),
        ({"claim_x": "held"}, "no FINDINGS key ['acc']"),
        ({"claim_x": "sort of", "acc": 0.5}, "Received: claim_x='sort of'"),
    ],
)
def test_missing_or_invalid_findings_fail_the_build(findings, message):
    claim = evidence.Claim("T", "A claim.", "nb", "a", "claim_x", "{acc:.1%}", "S")
    with pytest.raises(evidence.EvidenceError, match=re.escape(message)):
        evidence.render({"nb": findings} if findings is not None else {}, [claim])


def test_fill_page_needs_the_marker():
    with pytest.raises(evidence.EvidenceError, match="marker"):
        evidence.fill_page("# Evidence\n", fake_findings())
    filled = evidence.fill_page(f"# Evidence\n\n{evidence.MARKER}\n", fake_findings())
    assert evidence.MARKER not in filled
    assert "| Claim | Verdict |" in filled


def test_findings_are_read_from_the_last_findings_line():
    notebook = {
        "cells": [
            {"cell_type": "code", "outputs": [{"text": 'FINDINGS {"a": 1}\n'}]},
            {"cell_type": "markdown", "source": "FINDINGS"},
            {"cell_type": "code", "outputs": [{"text": ["x\n", 'FINDINGS {"a": 2}']}]},
            # One print flushed as two outputs.
            {"cell_type": "code", "outputs": [{"text": "FINDINGS"}, {"text": " {}"}]},
        ]
    }
    assert evidence.findings_in_notebook(notebook) == {}
    assert evidence.findings_in_notebook({"cells": []}) is None


# The guides: placeholders that show a claim's verdict next to the advice.

GUIDE = evidence.GUIDES[0]
CLAIM_X = evidence.Claim("T", "A claim.", "nb", "a", "claim_x", "{acc:.1%}", "S")


def guide_placeholders(page):
    return evidence.PLACEHOLDER.findall((ROOT / "docs" / page).read_text())


def fill(markdown, verdict="held", claims=(CLAIM_X,)):
    findings = {"nb": {"claim_x": verdict, "acc": 0.4567}}
    return evidence.fill_measured(markdown, findings, page=GUIDE, claims=claims)


@pytest.mark.parametrize("page", evidence.GUIDES)
@pytest.mark.parametrize("verdict", evidence.VERDICTS)
def test_guide_placeholders_are_all_filled(page, verdict):
    markdown = (ROOT / "docs" / page).read_text()
    placeholders = guide_placeholders(page)
    assert placeholders, f"{page} shows no measurement"
    filled = evidence.fill_measured(markdown, fake_findings(verdict), page=page)
    assert not evidence.PLACEHOLDER.search(filled)
    spans = re.findall(r'data-claim="(claim_\w+)" data-verdict="([\w-]+)"', filled)
    assert len(spans) == len(placeholders)
    assert {v for _, v in spans} == {verdict.replace(" ", "-")}
    full = sum(not short for short, _ in placeholders)
    for caveat in set(evidence.CAVEATS.values()) - {""}:
        expected = full if caveat == evidence.CAVEATS[verdict] else 0
        assert filled.count(caveat) == expected


@pytest.mark.parametrize("page", evidence.GUIDES)
def test_guide_links_point_at_sections_of_the_tutorials(page):
    filled = evidence.fill_measured(
        (ROOT / "docs" / page).read_text(), fake_findings(), page=page
    )
    links = re.findall(r"\]\(\.\./tutorials/([\w-]+)\.ipynb#([\w-]+)\)", filled)
    assert len(links) >= len(guide_placeholders(page))
    for stem, anchor in links:
        assert anchor in heading_ids(stem), (stem, anchor)


def test_measured_shows_the_claim_numbers_and_link():
    filled = fill("Advice.\n\n- <!-- measured: claim_x -->\n")
    assert filled == (
        "Advice.\n\n- *A claim.* Verdict: "
        '<span class="verdict" data-notebook="nb" data-claim="claim_x" '
        'data-verdict="held">held</span>. 45.7%. Measured on S, in '
        "[Nb](../tutorials/nb.ipynb#a).\n"
    )


def test_measured_verdict_is_the_verdict_alone_linked():
    filled = fill("| 0.1 | <!--measured-verdict:nb/claim_x--> |", "did not hold")
    assert filled == (
        '| 0.1 | [<span class="verdict" data-notebook="nb" data-claim="claim_x" '
        'data-verdict="did-not-hold">did not hold</span>](../tutorials/nb.ipynb#a) |'
    )


@pytest.mark.parametrize(
    "verdict, wording",
    [
        ("held", None),
        ("partly", "held only in part"),
        ("did not hold", "Our measurement contradicts this"),
        ("inconclusive", "Our measurement could not confirm this"),
    ],
)
def test_measured_says_when_the_measurement_did_not_back_the_claim(verdict, wording):
    filled = fill("<!-- measured: claim_x -->", verdict)
    assert filled.endswith(evidence.CAVEATS[verdict])
    if wording is None:
        assert "**" not in filled
    else:
        assert wording in filled


def test_links_are_relative_to_the_page():
    findings = {"nb": {"claim_x": "held", "acc": 0.5}}
    top = evidence.fill_measured(
        "<!-- measured: claim_x -->", findings, page="index.md", claims=[CLAIM_X]
    )
    assert "](tutorials/nb.ipynb#a)" in top


@pytest.mark.parametrize(
    "markdown, message",
    [
        ("<!-- measured: claim_nope -->", "Unknown claim 'claim_nope'"),
        ("<!-- measured: other/claim_x -->", "Unknown claim 'other/claim_x'"),
        ("<!-- measured-verdict: claim_nope -->", "Unknown claim 'claim_nope'"),
        ("<!-- measured claim_x -->", "Malformed placeholder"),
        ("<!-- measured: claim_x, claim_y -->", "Malformed placeholder"),
        ("<!-- measuredverdict: claim_x -->", "Malformed placeholder"),
        ("No placeholder.", "has no <!-- measured: claim_key --> placeholder"),
    ],
)
def test_bad_placeholders_fail_the_build(markdown, message):
    with pytest.raises(evidence.EvidenceError, match=re.escape(message)):
        fill(markdown)


def test_a_key_two_tutorials_measure_needs_the_notebook():
    twin = dataclasses.replace(CLAIM_X, notebook="nb2")
    findings = {
        "nb": {"claim_x": "held", "acc": 0.5},
        "nb2": {"claim_x": "did not hold", "acc": 0.5},
    }
    with pytest.raises(evidence.EvidenceError, match="nb/claim_x, nb2/claim_x"):
        evidence.fill_measured(
            "<!-- measured: claim_x -->", findings, claims=[CLAIM_X, twin]
        )
    filled = evidence.fill_measured(
        "<!-- measured: nb2/claim_x -->", findings, claims=[CLAIM_X, twin]
    )
    assert 'data-notebook="nb2"' in filled and "did not hold" in filled


def test_missing_findings_fail_a_guide_too():
    with pytest.raises(evidence.EvidenceError, match="printed no FINDINGS"):
        evidence.fill_measured("<!-- measured: claim_x -->", {}, claims=[CLAIM_X])


def test_docs_hook_fills_the_guide(monkeypatch):
    from mkdocs.exceptions import PluginError

    from tools import docs_hooks

    monkeypatch.setattr(docs_hooks, "_findings", fake_findings("inconclusive"))
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_uri=GUIDE))
    markdown = (ROOT / "docs" / GUIDE).read_text()
    filled = docs_hooks.on_page_markdown(markdown, page, {}, None)
    assert not evidence.PLACEHOLDER.search(filled)
    assert evidence.CAVEATS["inconclusive"] in filled
    with pytest.raises(PluginError, match="Unknown claim"):
        docs_hooks.on_page_markdown("<!-- measured: claim_nope -->", page, {}, None)
    other = types.SimpleNamespace(file=types.SimpleNamespace(src_uri="guides/rng.md"))
    text = "<!-- measured: claim_nope -->"
    assert docs_hooks.on_page_markdown(text, other, {}, None) == text
