"""The evidence page's registry of claims, and how it turns FINDINGS into tables.

The numbers themselves are checked where they are made: `test_tutorials.py`
runs each notebook and checks the keys its claims read, and the docs build
fails if a full-size run lacks one.
"""

import json
import pathlib
import re

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
