"""Every tutorial runs top to bottom on this backend, in its quick mode.

A tutorial that measures claims of the article must also print the verdicts
the evidence page reads (`tools/evidence.py`) in its `FINDINGS` line.
"""

import json
import os
import pathlib

import pytest

from tests.harness import BACKEND
from tools import evidence

TUTORIALS = sorted((pathlib.Path(__file__).parents[1] / "tutorials").glob("*.ipynb"))


def test_there_are_tutorials():
    assert TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_stored_clean(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} holds stored outputs"
            assert cell["execution_count"] is None


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_runs_in_quick_mode(path, monkeypatch):
    import nbclient
    import nbformat

    monkeypatch.setenv("KERAS_BACKEND", BACKEND)
    monkeypatch.setenv("KERAS_DROPOUT_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    assert os.environ["KERAS_DROPOUT_QUICK"] == "1"

    # Every claim's verdict is there and valid. Quick mode skips some
    # settings, so the numbers behind a verdict are checked by the full-size
    # docs build (tools/docs_hooks.py), which fails if one is missing.
    findings = evidence.findings_in_notebook(notebook) or {}
    for claim in evidence.CLAIMS:
        if claim.notebook == path.stem:
            assert findings.get(claim.verdict) in evidence.VERDICTS, claim.verdict
    verdicts = {k: v for k, v in findings.items() if k.startswith("claim_")}
    assert all(v in evidence.VERDICTS for v in verdicts.values()), verdicts
