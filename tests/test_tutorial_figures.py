"""The tutorials' figures stay readable in the site's column.

A figure is saved at 100 dpi: `figsize` inches become 100 pixels each, and a
9-point label is 12.5 pixels high. The page shrinks a figure wider than its
column to fit; at a desktop width (1440 x 900) the column shows about 650
pixels of picture. So a figure at most 9 inches wide (900 pixels) keeps at
least 0.72 of its size, and a label of at least 9 points stays at least 9
pixels high on screen (`tests_browser/test_site.py` checks the shrinking in
a browser).

This test reads the code cells of the stored notebooks (no execution) and
fails on a `figsize` (or `set_size_inches`) wider than `MAX_WIDTH_IN`, and on
an explicit font size below `MIN_FONT_PT`: `fontsize=`, `labelsize=`,
`title_fontsize=`, `size=` in text calls, `"size"` in `fontdict` / `prop`,
rcParams font sizes (`"font.size"`, `"axes.labelsize"`, ...). Named sizes
below "medium" ("small" is 8.3 points at the default 10) count as too small.
A size the test cannot read (an expression, a name never set to a number)
fails too, so that nothing escapes it.
"""

import ast
import operator
import pathlib

import nbformat
import pytest

TUTORIALS = sorted((pathlib.Path(__file__).parents[1] / "tutorials").glob("*.ipynb"))
MAX_WIDTH_IN = 9
MIN_FONT_PT = 9

FONT_KEYWORDS = {"fontsize", "labelsize", "title_fontsize", "titlesize"}
# Calls whose `size=` is a font size (elsewhere `size=` is an array's shape).
TEXT_CALLS = {
    "annotate",
    "bar_label",
    "clabel",
    "figtext",
    "set_title",
    "set_xlabel",
    "set_xticklabels",
    "set_ylabel",
    "set_yticklabels",
    "supxlabel",
    "supylabel",
    "suptitle",
    "text",
    "title",
    "xlabel",
    "ylabel",
}
# Keyword arguments that take a dict of font properties.
FONT_DICTS = {"fontdict", "prop", "title_fontproperties"}
RC_FONT_SIZES = {
    "font.size",
    "axes.titlesize",
    "axes.labelsize",
    "xtick.labelsize",
    "ytick.labelsize",
    "legend.fontsize",
    "legend.title_fontsize",
    "figure.titlesize",
    "figure.labelsize",
}
NAMED_SIZES_OK = {"medium", "large", "x-large", "xx-large", "larger"}
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _parse(source):
    # IPython's magics and shell escapes are not Python.
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    ]
    return ast.parse("\n".join(lines))


def _constants(notebook):
    """Names the notebook's code sets to a number or a tuple of numbers."""
    constants = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in _parse(cell.source).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    value = _value(node.value, constants)
                    if value is not None:
                        constants[target.id] = value
    return constants


def _value(node, constants):
    """A number, string or tuple that `node` stands for, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _value(node.operand, constants)
        return -value if isinstance(value, int | float) else None
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left = _value(node.left, constants)
        right = _value(node.right, constants)
        if isinstance(left, int | float) and isinstance(right, int | float):
            return _OPERATORS[type(node.op)](left, right)
        return None
    if isinstance(node, ast.Tuple | ast.List):
        values = tuple(_value(element, constants) for element in node.elts)
        return values
    return None


def _font_problem(node, constants):
    """Why the font size `node` is too small or unreadable, or None."""
    value = _value(node, constants)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            if value in NAMED_SIZES_OK:
                return None
            return f"{value!r} is smaller than {MIN_FONT_PT} pt; give a number"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < MIN_FONT_PT:
            return f"{value} pt < {MIN_FONT_PT} pt"
        return None
    return f"not a number this test can read; write one >= {MIN_FONT_PT}"


def _width_problem(node, constants):
    """Why the figure size `node` is too wide or unreadable, or None."""
    value = _value(node, constants)
    width = value[0] if isinstance(value, tuple) and value else None
    if isinstance(width, int | float) and not isinstance(width, bool):
        if width > MAX_WIDTH_IN:
            return f"width {width} in > {MAX_WIDTH_IN} in"
        return None
    return f"a width this test cannot read; write a number <= {MAX_WIDTH_IN}"


def _call_name(call):
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    if isinstance(function, ast.Name):
        return function.id
    return None


def _rc_entries(node):
    """(key, value node) of each string key of a dict: `{...}` or `dict(...)`."""
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, value
    elif isinstance(node, ast.Call) and _call_name(node) == "dict":
        for keyword in node.keywords:
            if keyword.arg:
                yield keyword.arg, keyword.value


def problems(notebook):
    """Every too-wide figure and too-small font in the notebook's code."""
    constants = _constants(notebook)
    found = []

    def report(index, cell, node, problem):
        if problem:
            text = ast.get_source_segment(cell.source, node) or ast.dump(node)
            where = f"cell {index} (id {cell.get('id', '?')}) line {node.lineno}"
            found.append(f"{where}: {text}: {problem}")

    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_parse(cell.source)):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                for keyword in node.keywords:
                    arg, value = keyword.arg, keyword.value
                    if arg == "figsize":
                        report(index, cell, keyword, _width_problem(value, constants))
                    elif arg in FONT_KEYWORDS:
                        report(index, cell, keyword, _font_problem(value, constants))
                    elif arg == "size" and (name in TEXT_CALLS or name == "rc"):
                        report(index, cell, keyword, _font_problem(value, constants))
                    elif arg in FONT_DICTS:
                        for key, entry in _rc_entries(value):
                            if key in ("size", "fontsize"):
                                problem = _font_problem(entry, constants)
                                report(index, cell, entry, problem)
                if name == "set_size_inches" and node.args:
                    size = node.args[0]
                    if len(node.args) > 1:  # set_size_inches(w, h)
                        size = ast.Tuple(elts=node.args[:2], ctx=ast.Load())
                    report(index, cell, node, _width_problem(size, constants))
            elif isinstance(node, ast.Dict):
                for key, value in _rc_entries(node):
                    if key in RC_FONT_SIZES:
                        report(index, cell, value, _font_problem(value, constants))
                    elif key == "figure.figsize":
                        report(index, cell, value, _width_problem(value, constants))
            elif isinstance(node, ast.Assign):
                # plt.rcParams["font.size"] = 8
                for target in node.targets:
                    if isinstance(target, ast.Subscript):
                        key = _value(target.slice, constants)
                        if key in RC_FONT_SIZES:
                            problem = _font_problem(node.value, constants)
                            report(index, cell, node, problem)
                        elif key == "figure.figsize":
                            problem = _width_problem(node.value, constants)
                            report(index, cell, node, problem)
    return found


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_figures_fit_the_column_and_fonts_stay_readable(path):
    found = problems(nbformat.read(path, as_version=4))
    assert not found, (
        f"{path.name}: figures at most {MAX_WIDTH_IN} inches wide, fonts at least "
        f"{MIN_FONT_PT} points:\n" + "\n".join(found)
    )


def _notebook(*sources):
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources]
    )


def test_the_check_catches_wide_figures_and_small_fonts():
    bad = _notebook(
        "fig, ax = plt.subplots(1, 3, figsize=(12, 4))",
        "WIDTH = 10\nplt.figure(figsize=(WIDTH, 3))",
        "fig.set_size_inches(9.5, 3)",
        'plt.rcParams.update({"font.size": 8, "figure.figsize": (10, 3)})',
        'plt.rcParams["axes.labelsize"] = 7',
        "ax.legend(fontsize=8)\nax.tick_params(labelsize=7.5)",
        'ax.legend(title_fontsize="small", prop={"size": 8})',
        'ax.text(0, 0, "x", size=6)\nax.set_title("t", fontdict={"fontsize": 8})',
        "ax.legend(prop=dict(size=7))",
        'plt.rc("font", size=8)',
        "ax.legend(fontsize=FS)",  # never set: unreadable
        "plt.figure(figsize=(n * 3, 3))",
    )
    found = problems(bad)
    assert len(found) == 16, "\n".join(found)
    assert found[0] == (
        f"cell 0 (id {bad.cells[0].id}) line 1: figsize=(12, 4): width 12 in > 9 in"
    )
    assert any("'small' is smaller than 9 pt" in line for line in found)


def test_the_check_passes_readable_figures():
    good = _notebook(
        "%matplotlib inline\nfig, ax = plt.subplots(1, 2, figsize=(9, 3.5))",
        "FONT = 9\nWIDTH = 4.5\nax.legend(fontsize=FONT)",
        "plt.figure(figsize=(WIDTH * 2, 3))",
        'plt.rcParams.update({"font.size": 10, "xtick.major.size": 3})',
        'ax.legend(fontsize="medium")\nax.set_title("t", size=12)',
        "x = rng.uniform(size=(100, 3))\nbatch_size = 4",  # not fonts
        "fig.set_size_inches((8, 3))",
    )
    assert problems(good) == []
