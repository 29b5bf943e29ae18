"""The docs build's hooks: what they change in executed notebooks and pages.

Fast: no notebook runs here (`test_tutorials.py` runs them, the docs build
runs them through `docs_hooks._execute`).
"""

import ast
import re
import types

import nbformat
import pytest

from tools import docs_hooks

# What TensorFlow, XLA and JAX print on their own, as kernels printed it:
# TensorFlow 2.21 (tensorflow-cpu) on this project's CPU machines, and
# TensorFlow / XLA on machines with a GPU, in absl's and in the older format.
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR",
    "I0000 00:00:1796523062.096789    9970 port.cc:153] oneDNN custom operations "
    "are on. You may see slightly different numerical results due to "
    "floating-point round-off errors from different computation orders. To turn "
    "them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796523299.587427   11892 cpu_feature_guard.cc:227] This "
    "TensorFlow binary is optimized to use available CPU instructions in "
    "performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 "
    "FMA, in other operations, rebuild TensorFlow with the appropriate compiler "
    "flags.",
    "I1206 02:14:30.868709   11549 pjrt_client.cc:579] PjRt-IFRT device count: "
    "total=1, addressable=1",
    "E0000 00:00:1751448150.986970   10148 cuda_dnn.cc:8579] Unable to register "
    "cuDNN factory: Attempting to register factory for plugin cuDNN when one has "
    "already been registered",
    "W0000 00:00:1751448151.003754   10148 computation_placer.cc:177] computation "
    "placer already registered. Please check linkage and avoid linking the same "
    "target more than once.",
    "2025-02-09 09:37:33.337631: W tensorflow/compiler/tf2tensorrt/utils/"
    "py_utils.cc:38] TF-TRT Warning: Could not find TensorRT",
    "2025-02-09 09:37:32.334610: E external/local_xla/xla/stream_executor/cuda/"
    "cuda_dnn.cc:9261] Unable to register cuDNN factory: Attempting to register "
    "factory for plugin cuDNN when one has already been registered",
    "2024-03-05 10:11:12.123456: I tensorflow/core/util/port.cc:113] oneDNN custom "
    "operations are on. You may see slightly different numerical results due to "
    "floating-point round-off errors from different computation orders. To turn "
    "them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "An NVIDIA GPU may be present on this machine, but a CUDA-enabled jaxlib is "
    "not installed. Falling back to cpu.",
]

# stderr lines a tutorial may print itself, which the page must keep.
KEPT = [
    "/tmp/ipykernel_4242/1234.py:7: UserWarning: oneDNN custom operations are on",
    "  warnings.warn(",
    "WARNING: the validation loss rose for 3 epochs",
    "I0000 is not a log line without its source file",
    "Epoch 1/3",
    "",
]


@pytest.mark.parametrize("line", NOISE, ids=range(len(NOISE)))
def test_log_noise_matches_the_known_lines(line):
    assert docs_hooks.LOG_NOISE.fullmatch(line)


@pytest.mark.parametrize("line", KEPT, ids=range(len(KEPT)))
def test_log_noise_leaves_other_lines(line):
    assert not docs_hooks.LOG_NOISE.fullmatch(line)


def stream(name, lines):
    return nbformat.v4.new_output("stream", name=name, text="".join(lines))


def test_drop_log_noise_keeps_everything_else():
    noise = [line + "\n" for line in NOISE[:3]]
    warning = [KEPT[0] + "\n", KEPT[1] + "\n"]
    printed = ["backend: jax\n", NOISE[1] + "\n"]  # stdout is never touched
    figure = nbformat.v4.new_output("display_data", data={"text/plain": ["<Figure>"]})
    cell = nbformat.v4.new_code_cell(
        "import keras",
        outputs=[
            stream("stderr", noise[:2] + warning[:1] + noise[2:] + warning[1:]),
            stream("stdout", printed),
            stream("stderr", noise),
            figure,
        ],
    )
    text = nbformat.v4.new_markdown_cell(NOISE[1])
    notebook = nbformat.v4.new_notebook(cells=[text, cell])

    assert docs_hooks.drop_log_noise(notebook) is notebook
    assert cell.outputs == [
        stream("stderr", warning),
        stream("stdout", printed),
        figure,
    ]
    assert text.source == NOISE[1]
    nbformat.validate(notebook)


def test_drop_log_noise_on_last_lines_without_a_newline():
    kept = nbformat.v4.new_code_cell(
        "", outputs=[stream("stderr", [NOISE[0] + "\n", "done"])]
    )
    dropped = nbformat.v4.new_code_cell(
        "", outputs=[stream("stderr", ["done\n", NOISE[1]])]
    )
    docs_hooks.drop_log_noise(nbformat.v4.new_notebook(cells=[kept, dropped]))
    assert kept.outputs == [stream("stderr", ["done"])]
    assert dropped.outputs == [stream("stderr", ["done\n"])]


def page(src_uri):
    return types.SimpleNamespace(file=types.SimpleNamespace(src_uri=src_uri))


def test_tutorial_pages_link_their_notebook_under_the_title():
    content = '<h1 id="quickstart">Quickstart</h1><p>Description</p>'
    html = docs_hooks.on_page_content(
        content, page("tutorials/quickstart.ipynb"), {}, None
    )
    title, note = html.split("</h1>", 1)
    assert title == '<h1 id="quickstart">Quickstart'
    assert '<a href="quickstart.ipynb" download>' in note
    assert "make lab" in note and "[jax,tutorials]" in note
    assert note.endswith("<p>Description</p>")


def test_other_pages_get_no_note():
    content = "<h1>Evidence</h1>"
    assert docs_hooks.on_page_content(content, page("evidence.md"), {}, None) == content


@pytest.mark.parametrize(
    "backend, onednn", [(None, "0"), ("jax", "0"), ("torch", "0"), ("tensorflow", None)]
)
def test_kernel_env_silences_tensorflow(monkeypatch, backend, onednn):
    for name in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"):
        monkeypatch.delenv(name, raising=False)
    if backend:
        monkeypatch.setenv("KERAS_BACKEND", backend)
    env = docs_hooks._kernel_env()
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert env.get("TF_ENABLE_ONEDNN_OPTS") == onednn


def test_kernel_env_keeps_what_the_caller_set(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    env = docs_hooks._kernel_env()
    assert (env["TF_CPP_MIN_LOG_LEVEL"], env["TF_ENABLE_ONEDNN_OPTS"]) == ("0", "1")


CELL = (
    '<div class="jp-Cell jp-CodeCell jp-Notebook-cell {tags}">'
    '<div class="jp-Cell-inputWrapper"><div class="jp-InputArea">x = 1</div></div>'
    '<div class="jp-Cell-outputWrapper"><div>out</div></div>'
    "</div>"
)


def test_fold_tagged_cells_wraps_exactly_the_tagged_cell():
    plain = CELL.format(tags="")
    tagged = CELL.format(tags="celltag_findings")
    page = "<h1>T</h1>" + plain + tagged + plain
    folded = docs_hooks.fold_tagged_cells(page)
    summary = docs_hooks.FOLDED_CELLS["findings"]
    assert folded == (
        "<h1>T</h1>"
        + plain
        + f'<details class="kd-folded"><summary>{summary}</summary>{tagged}</details>'
        + plain
    )
    assert docs_hooks.fold_tagged_cells(plain + plain) == plain + plain
    # Two tagged cells, each folded once.
    twice = docs_hooks.fold_tagged_cells(tagged + tagged)
    assert twice.count("<details") == 2 and twice.count(tagged) == 2


def test_every_findings_cell_is_tagged_unless_it_shows_prose():
    for path in sorted(docs_hooks.TUTORIALS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code" or 'print("FINDINGS"' not in cell.source:
                continue
            tagged = "findings" in cell.metadata.get("tags", [])
            assert tagged != ("display(" in cell.source), path.name


def test_fold_tagged_cells_folds_the_verdict_rule_under_its_own_summary():
    findings = CELL.format(tags="celltag_findings")
    rule = CELL.format(tags="celltag_verdict-rule")
    plain = CELL.format(tags="")
    folded = docs_hooks.fold_tagged_cells(plain + rule + plain + findings)
    assert docs_hooks.FOLDED_CELLS["verdict-rule"] == (
        "The verdict rule (the same in every tutorial)"
    )
    summary = docs_hooks.FOLDED_CELLS["verdict-rule"]
    assert folded == (
        plain
        + f'<details class="kd-folded"><summary>{summary}</summary>{rule}</details>'
        + plain
        + '<details class="kd-folded"><summary>'
        + docs_hooks.FOLDED_CELLS["findings"]
        + f"</summary>{findings}</details>"
    )


def test_fold_tagged_cells_folds_plumbing_under_its_own_summary():
    plumbing = CELL.format(tags="celltag_plumbing")
    plain = CELL.format(tags="")
    summary = docs_hooks.FOLDED_CELLS["plumbing"]
    assert docs_hooks.fold_tagged_cells(plain + plumbing) == (
        plain
        + f'<details class="kd-folded"><summary>{summary}</summary>{plumbing}</details>'
    )


def test_plumbing_cells_only_define_and_every_bank_is_plumbing():
    # A folded helper cell must not hide a result or a setting a reader needs:
    # it holds definitions only. The many-models-at-once layers are folded.
    for path in sorted(docs_hooks.TUTORIALS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            tagged = "plumbing" in cell.metadata.get("tags", [])
            if tagged:
                body = ast.parse(cell.source).body
                kinds = {type(node).__name__ for node in body}
                assert kinds <= {"FunctionDef", "ClassDef"}, (path.name, kinds)
            if re.search(r"^class \w+Bank\(", cell.source, re.MULTILINE):
                assert tagged, (path.name, cell.source.splitlines()[0])
