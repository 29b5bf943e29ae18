"""The tutorials' hand-written prose states no measured result.

A sentence written by hand cannot follow the numbers of the build that
renders it: earlier drafts said "did not hold" where the same build printed
"held". So what a run measured (its numbers, their spread, its verdicts)
reaches the page only through the notebook's outputs: a code cell that
prints it, e.g. Markdown built from `FINDINGS`. The markdown cells keep the
setup, the method and the verdict rules, which are fixed before the run.

This test reads the stored notebooks (no execution) and fails on the
phrases by which hand-written prose reports a run: "in our run(s)", "when
we ran", "a pilot run", "the verdict is/was", and numbers with a spread
("2.1 ± 0.4").
"""

import pathlib
import re

import nbformat
import pytest

TUTORIALS = sorted((pathlib.Path(__file__).parents[1] / "tutorials").glob("*.ipynb"))

REPORTS_A_RUN = re.compile(
    r"\b(?:in|on|from) (?:our|this) (?:first |last |full )?runs?\b"
    r"|\bour (?:[\w-]+ ){1,2}runs?\b"
    r"|\bwhen we ran\b"
    r"|\bin (?:a|the) pilot\b"
    r"|\b(?:earlier|previous|other) runs\b"
    r"|\bthe verdict (?:is|was)\b"
    r"|\d\s*±\s*\d",
    re.IGNORECASE,
)


def _violations(notebook):
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = REPORTS_A_RUN.search(line)
            if match:
                found.append(f"cell {index}: ...{match.group()}... in: {line[:160]}")
    return found


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_markdown_cells_report_no_run(path):
    violations = _violations(nbformat.read(path, as_version=4))
    assert not violations, "\n".join(violations)


def test_the_check_catches_run_reports():
    def cells(*texts):
        return nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell(t) for t in texts]
        )

    bad = cells(
        "In our run the best rate was 0.5.",
        "Dropout gained 2.1 ± 0.4 points.",
        "so the verdict is *partly*.",
        "When we ran the full notebook, it reached 100%.",
        "In our full-size JAX run it was smoother.",
    )
    assert len(_violations(bad)) == 5
    good = cells(
        "Accuracies are mean ± standard deviation over 3 seeds.",
        "**held** if the gain exceeds 2 standard errors.",
        "Every run: 30 epochs of Adam at learning rate 0.005.",
    )
    assert _violations(good) == []
