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

It also fails on the project's internal wording, in markdown and in code
(comments and strings show on the page too): "the issue" and "issue #21"
(the tracker's, which a reader never sees), "CI budget", "pilot run". A
notebook's own limits are said in a reader's terms instead ("this
notebook's time budget", "a first, shorter run").
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


# Words of the project's tracker and CI. "the issue" is banned outright, as
# in "the issue asks for ..." (no tutorial uses it in another sense; "the
# problem" says that); "budget" alone stays ("the same budget for every
# layout", "this notebook's time budget").
INTERNAL = re.compile(
    r"\bthe issue\b"
    r"|\bissue #?\d+"
    r"|\bCI budget\b"
    r"|\bpilot runs?\b",
    re.IGNORECASE,
)


def _violations(notebook):
    found = []
    for index, cell in enumerate(notebook.cells):
        patterns = [INTERNAL]
        if cell.cell_type == "markdown":
            patterns.append(REPORTS_A_RUN)
        elif cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            for pattern in patterns:
                match = pattern.search(line)
                if match:
                    found.append(
                        f"cell {index}: ...{match.group()}... in: {line[:160]}"
                    )
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
        "As the issue asks, the rates are fixed before the run.",
        "See issue #21 for the plan.",
        "Quick mode keeps the notebook within the CI budget.",
        "A pilot run chose the learning rate.",
    )
    assert len(_violations(bad)) == 9
    good = cells(
        "Accuracies are mean ± standard deviation over 3 seeds.",
        "**held** if the gain exceeds 2 standard errors.",
        "Every run: 30 epochs of Adam at learning rate 0.005.",
        "To stay within this notebook's time budget, the CNN gets fewer.",
        "The same budget for every layout; a CPU budget of minutes.",
    )
    assert _violations(good) == []


def test_internal_wording_is_caught_in_code_too():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("EPOCHS = 5  # keeps the CI budget"),
            nbformat.v4.new_code_cell('print("in our run")'),  # code may print it
        ]
    )
    (found,) = _violations(notebook)
    assert found.startswith("cell 0: ...CI budget...")


# A runtime quoted from one machine on one day ("we measured 91 s of CPU
# time", "its wall time was 9 minutes") is a measurement the build does not
# redo: the runtime line gives an order of magnitude and points to the run's
# own `runtime_s` in FINDINGS.
QUOTED_TIMING = re.compile(
    r"\bwe measured\b|\bs of CPU time\b|\bwall time was\b|\bmeasured \d",
    re.IGNORECASE,
)


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_runtime_line_points_to_the_runs_own_timing(path):
    notebook = nbformat.read(path, as_version=4)
    lines = [
        line
        for line in notebook.cells[0].source.splitlines()
        if line.startswith("**Runtime:**")
    ]
    assert len(lines) <= 1, lines
    for line in lines:
        assert not QUOTED_TIMING.search(line), line
        sources = "\n".join(cell.source for cell in notebook.cells)
        if "runtime_s" in line:  # the key it names is one FINDINGS stores
            assert re.search(r"[\"']runtime_s[\"']|\bruntime_s=", sources), path.name


def test_quoted_timings_are_caught():
    for line in (
        "**Runtime:** we measured 91 s of CPU time with nbconvert.",
        "**Runtime:** about 2 minutes; its wall time was 9 minutes.",
    ):
        assert QUOTED_TIMING.search(line)
    fine = "**Runtime:** about 2 minutes on a 2-core CPU; see `runtime_s`."
    assert not QUOTED_TIMING.search(fine)
