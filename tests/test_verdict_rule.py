"""The one verdict rule (`tools/verdict_rule.py`), and every tutorial's copy of it.

The rule: a claimed difference "held" when the mean over seeds goes the
claimed way by more than 2 standard errors, "did not hold" when it goes the
other way by more than 2, "inconclusive" in between and with a single seed;
a claim of several parts "partly" held when some but not all held. The
tests below pin its boundaries, then check that each tutorial deciding a
claim holds the module's code verbatim, in one cell tagged `verdict-rule`
(the site folds it), and defines the rule's functions nowhere else.

Fast: no notebook runs here (`test_tutorials.py` runs them).
"""

import ast
import math
import pathlib
import re

import nbformat
import numpy as np
import pytest

from tools import verdict_rule
from tools.verdict_rule import combine
from tools.verdict_rule import equivalent
from tools.verdict_rule import paired

TUTORIALS = sorted((pathlib.Path(__file__).parents[1] / "tutorials").glob("*.ipynb"))
TAG = "verdict-rule"
RULE_NAMES = {"paired_difference", "paired", "equivalent", "combine"}
# A `FINDINGS` key naming a claim of the article, in the code that fills it.
CLAIM_KEY = re.compile(r"""["']claim_\w+["']""")

# Four paired differences with mean 0 and standard error exactly 1 (sample
# standard deviation 2, over sqrt(4) seeds): `SPREAD + m` has mean m and
# standard error 1, so 2 standard errors is 2, with no rounding.
SPREAD = np.array([-3.0, 1.0, 1.0, 1.0])


def differences(mean):
    """Per-seed results `(a, b)` whose differences `a - b` are `SPREAD + mean`."""
    b = np.full(4, 10.0)
    return b + SPREAD + mean, b


def rule_code():
    """`tools/verdict_rule.py` after its module docstring, stripped."""
    source = pathlib.Path(verdict_rule.__file__).read_text()
    docstring = ast.parse(source).body[0]
    lines = source.splitlines(keepends=True)
    return "".join(lines[docstring.end_lineno :]).strip()


# --- paired ---------------------------------------------------------------


def test_paired_returns_the_mean_difference_and_its_standard_error():
    mean, se, _ = paired(*differences(0.5), direction=1)
    assert mean == pytest.approx(0.5)
    assert se == pytest.approx(1.0)


@pytest.mark.parametrize(
    "mean, verdict",
    [
        (2.01, "held"),
        (2.0, "inconclusive"),  # exactly 2 standard errors is not more than 2
        (0.0, "inconclusive"),
        (-2.0, "inconclusive"),
        (-2.01, "did not hold"),
    ],
)
def test_paired_decides_at_two_standard_errors(mean, verdict):
    assert paired(*differences(mean), direction=1)[2] == verdict


@pytest.mark.parametrize(
    "mean, verdict",
    [
        (-2.01, "held"),
        (-2.0, "inconclusive"),
        (2.0, "inconclusive"),
        (2.01, "did not hold"),
    ],
)
def test_paired_direction_minus_one_claims_a_decrease(mean, verdict):
    assert paired(*differences(mean), direction=-1)[2] == verdict


def test_paired_pairs_by_seed():
    # Large spread between seeds, the same gain within each: held.
    a = [0.51, 0.71, 0.91]
    b = [0.50, 0.70, 0.90]
    assert paired(a, b, direction=1)[2] == "held"
    assert paired(b, a, direction=-1)[2] == "held"


def test_paired_single_seed_is_inconclusive():
    mean, se, verdict = paired([0.9], [0.1], direction=1)
    assert mean == pytest.approx(0.8)
    assert math.isnan(se)
    assert verdict == "inconclusive"


def test_paired_takes_lists_and_arrays_alike():
    a, b = differences(3.0)
    assert paired(list(a), list(b), 1) == paired(a, b, 1)


# --- equivalent -----------------------------------------------------------


@pytest.mark.parametrize(
    "mean, margin, verdict",
    [
        (0.0, 2.0, "held"),  # |0| + 2 standard errors reaches the margin
        (0.0, 1.99, "inconclusive"),
        (0.5, 2.6, "held"),
        (-0.5, 2.6, "held"),
        (0.5, 2.4, "inconclusive"),
        (5.0, 3.0, "inconclusive"),  # |5| - 2 is the margin, not beyond it
        (5.0, 2.99, "did not hold"),
        (-5.0, 2.99, "did not hold"),
    ],
)
def test_equivalent_decides_at_two_standard_errors(mean, margin, verdict):
    result = equivalent(*differences(mean), margin=margin)
    assert result[0] == pytest.approx(mean)
    assert result[1] == pytest.approx(1.0)
    assert result[2] == verdict


def test_equivalent_single_seed_is_inconclusive():
    mean, se, verdict = equivalent([0.5], [0.5], margin=0.1)
    assert mean == 0.0
    assert math.isnan(se)
    assert verdict == "inconclusive"


# --- combine --------------------------------------------------------------


@pytest.mark.parametrize(
    "verdicts, combined",
    [
        (["held"], "held"),
        (["held", "held", "held"], "held"),
        (["held", "did not hold"], "partly"),
        (["held", "inconclusive"], "partly"),
        (["inconclusive", "held", "did not hold"], "partly"),
        (["did not hold"], "did not hold"),
        (["did not hold", "inconclusive"], "did not hold"),
        (["inconclusive", "inconclusive"], "inconclusive"),
        ([], "inconclusive"),
    ],
)
def test_combine(verdicts, combined):
    assert combine(verdicts) == combined


def test_combine_is_partly_only_when_some_held():
    for verdicts in (["did not hold", "inconclusive"], ["inconclusive"], []):
        assert combine(verdicts) != "partly"


def test_combine_takes_any_iterable():
    assert combine(v for v in ("held", "held")) == "held"
    assert combine(iter(["held", "did not hold"])) == "partly"


def test_rule_code_is_what_follows_the_docstring():
    code = rule_code()
    assert code.startswith("import numpy as np\n")
    namespace = {}
    exec(compile(code, "verdict_rule", "exec"), namespace)
    assert RULE_NAMES <= set(namespace)


def test_evidence_page_shows_the_rule_verbatim():
    # docs/evidence.md states the rule in words, then shows its code: the
    # one Python block under "## The verdict rule" is the module's code.
    page = (pathlib.Path(__file__).parents[1] / "docs" / "evidence.md").read_text()
    section = page.split("## The verdict rule", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, f"{len(blocks)} Python blocks in the section"
    assert blocks[0].strip() == rule_code()


# --- the tutorials' copies ------------------------------------------------


def _decides_claims(notebook):
    return any(
        cell.cell_type == "code"
        and "FINDINGS" in cell.source
        and CLAIM_KEY.search(cell.source)
        for cell in notebook.cells
    )


def _defined_names(source):
    """The names a cell's code binds (defs, classes, assignments, imports)."""
    # IPython's magics and shell escapes are not Python.
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    ]
    names = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_holds_the_verdict_rule_verbatim(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [
        (index, cell)
        for index, cell in enumerate(notebook.cells)
        if TAG in cell.metadata.get("tags", [])
    ]
    if not _decides_claims(notebook):
        assert len(tagged) <= 1, f"{path.name}: {len(tagged)} cells tagged {TAG}"
    else:
        assert len(tagged) == 1, (
            f"{path.name} decides claims (FINDINGS has claim_ keys), so it needs "
            f"exactly one code cell tagged {TAG!r} holding tools/verdict_rule.py "
            f"after its docstring; it has {len(tagged)}"
        )
    code = rule_code()
    for index, cell in tagged:
        assert cell.cell_type == "code", f"{path.name} cell {index} is {TAG}"
        if cell.source != code:
            theirs, ours = cell.source.splitlines(), code.splitlines()
            line = next(
                (
                    n
                    for n, (t, o) in enumerate(zip(theirs, ours, strict=False))
                    if t != o
                ),
                min(len(theirs), len(ours)),
            )
            pytest.fail(
                f"{path.name} cell {index} ({TAG}) differs from "
                f"tools/verdict_rule.py at line {line + 1} of the code: "
                f"{theirs[line : line + 1]} != {ours[line : line + 1]} "
                f"({len(theirs)} against {len(ours)} lines)"
            )


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_defines_the_rule_only_in_its_verdict_rule_cell(path):
    notebook = nbformat.read(path, as_version=4)
    redefined = [
        f"cell {index}: {sorted(names)}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and TAG not in cell.metadata.get("tags", [])
        for names in [_defined_names(cell.source) & RULE_NAMES]
        if names
    ]
    assert not redefined, (
        f"{path.name} defines the verdict rule's names outside its {TAG} cell: "
        + "; ".join(redefined)
    )


def test_paired_difference_is_the_mean_and_its_standard_error():
    mean, se = verdict_rule.paired_difference(*differences(-0.25))
    assert (mean, se) == (pytest.approx(-0.25), pytest.approx(1.0))
    mean, se = verdict_rule.paired_difference([0.7], [0.5])  # one seed
    assert mean == pytest.approx(0.2) and math.isnan(se)
