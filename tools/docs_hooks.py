"""MkDocs hooks: the tutorials run in parallel, and the evidence page is filled in.

mkdocs-jupyter executes notebooks one at a time, while it renders them. Here
every tutorial runs first, in a fresh kernel, `KERAS_DROPOUT_DOCS_JOBS` at a
time (default: one per CPU); a cell that raises fails the build. The executed
copies go to `build/executed/tutorials/` and mkdocs-jupyter renders those (its
own `execute` option is off). The notebook a reader downloads from a page is
still the clean one from `tutorials/`; a note under each tutorial's title links
it and says how to open it in Jupyter.

The log lines TensorFlow, XLA and JAX write to stderr on their own ("I0000
00:00:1796523062.096789 9970 port.cc:153] oneDNN custom operations are on...")
never reach a page: the kernels' environment silences what it can
(`_kernel_env`), and the lines it cannot (`LOG_NOISE`) are dropped from the
executed copies' stderr outputs.

Each tutorial prints its measured numbers as one `FINDINGS {...}` line; they
are collected into `build/findings.json`, and `docs/evidence.md` gets its
tables from them (`tools/evidence.py`), so the page always shows what this
build measured. The guides in `evidence.GUIDES` get, in place of each
`<!-- measured: claim_key -->` placeholder, that claim's verdict and numbers.

`KERAS_DROPOUT_DOCS_REUSE=1` reuses an executed copy that is newer than its
notebook and than every file in `keras_dropout/` (for `mkdocs serve`; the
docs build in CI never sets it).
"""

import concurrent.futures
import html
import json
import logging
import os
import pathlib
import re
import shutil
import sys
import time

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import evidence  # noqa: E402

TUTORIALS = ROOT / "tutorials"
EXECUTED = ROOT / "build" / "executed" / "tutorials"
FINDINGS_FILE = ROOT / "build" / "findings.json"
TIMEOUT_S = 900

# Lines that TensorFlow, XLA and JAX print to stderr whatever a notebook does.
# TF_CPP_MIN_LOG_LEVEL=3 silences most, but TensorFlow 2.21 logs its oneDNN
# notice before absl's logging is set up, where that setting does not reach
# (even on JAX: `keras.utils.set_random_seed` imports TensorFlow).
LOG_NOISE = re.compile(
    # absl's notice before those early lines
    r"WARNING: All log messages before absl::InitializeLog\(\) is called"
    r" are written to STDERR"
    # a C++ log line in absl's format: "I0000 00:00:1796523062.096789    9970
    # port.cc:153] oneDNN custom operations are on. ...", "W0000 ...
    # TF-TRT Warning: Could not find TensorRT", "E0000 ... Unable to register
    # cuDNN factory: ..."
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] .*"
    # the same in TensorFlow's format before 2.17: "2024-03-05
    # 10:11:12.123456: I tensorflow/core/util/port.cc:113] oneDNN ..."
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w/.-]+:\d+\] .*"
    # the second line of TensorFlow's cpu_feature_guard notice
    r"|To enable the following instructions: [\w ]+, in other operations,"
    r" rebuild TensorFlow with the appropriate compiler flags\."
    # JAX on a machine with a GPU, where jaxlib is the CPU build
    r"|(WARNING:[\w.]+:)?An NVIDIA GPU may be present on this machine, but a"
    r" CUDA-enabled jaxlib is not installed\. Falling back to \w+\."
)

# Under each tutorial's title: where to get the notebook and how to run it.
RUN_NOTE = """
<div class="admonition tip">
<p class="admonition-title">Run this notebook</p>
<p><a href="{name}" download>Download {name}</a> to run it in Jupyter. In a
clone of the repository, <code>make lab</code> opens the tutorials in
JupyterLab; in an environment of your own, <code>pip install -c constraints.txt
".[jax,tutorials]"</code> from the clone installs the pack, JAX and what the
tutorials use, then <code>jupyter lab {name}</code> opens it.</p>
</div>
"""

log = logging.getLogger("mkdocs.hooks.keras_dropout")
_findings = {}


def _jobs():
    value = os.environ.get("KERAS_DROPOUT_DOCS_JOBS", str(os.cpu_count() or 1))
    if not value.isdigit() or int(value) < 1:
        raise PluginError(
            f"KERAS_DROPOUT_DOCS_JOBS must be a positive integer. Received: {value!r}"
        )
    return int(value)


def _reusable(source, executed):
    if os.environ.get("KERAS_DROPOUT_DOCS_REUSE") != "1" or not executed.exists():
        return False
    newest = max(p.stat().st_mtime for p in (ROOT / "keras_dropout").rglob("*.py"))
    return executed.stat().st_mtime > max(newest, source.stat().st_mtime)


def _tutorial(src_uri):
    """The notebook's file name if `src_uri` is a tutorial, else None."""
    path = pathlib.PurePosixPath(src_uri)
    if path.parent.name == "tutorials" and path.suffix == ".ipynb":
        return path.name
    return None


def drop_log_noise(notebook):
    """Removes the lines `LOG_NOISE` matches from the stderr outputs.

    Every other line and output stays as it is; a stderr output left empty is
    removed. Changes `notebook` in place and returns it.
    """
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                lines = output.text.splitlines(keepends=True)
                output.text = "".join(
                    line
                    for line in lines
                    if not LOG_NOISE.fullmatch(line.rstrip("\r\n"))
                )
                if not output.text:
                    continue
            kept.append(output)
        cell.outputs = kept
    return notebook


def _kernel_env():
    """The tutorials' kernels' environment: TensorFlow's logging silenced.

    On JAX and PyTorch, TensorFlow computes nothing (it is imported only for
    `keras.utils.set_random_seed` to seed it), so its oneDNN kernels are off
    there: they change no result and print no notice. On TensorFlow they stay
    on, as a reader gets them, and `drop_log_noise` removes the notice.
    """
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if env.get("KERAS_BACKEND", "jax") != "tensorflow":
        env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    return env


def _execute(source, executed):
    """Runs one notebook top to bottom in a fresh kernel; returns its seconds."""
    import nbclient
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    notebook = nbformat.read(source, as_version=4)
    start = time.monotonic()
    client = nbclient.NotebookClient(
        notebook,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.execute(env=_kernel_env())
    # One print can arrive as several stream outputs; the page shows one. The
    # log lines are whole once merged; merged again where they separated two.
    coalesce = CoalesceStreamsPreprocessor()
    coalesce.preprocess(notebook, {})
    drop_log_noise(notebook)
    coalesce.preprocess(notebook, {})
    nbformat.write(notebook, executed)
    return time.monotonic() - start


def on_pre_build(config):
    sources = sorted(TUTORIALS.glob("*.ipynb"))
    EXECUTED.mkdir(parents=True, exist_ok=True)
    todo = [s for s in sources if not _reusable(s, EXECUTED / s.name)]
    jobs = min(_jobs(), max(len(todo), 1))
    log.info("Executing %d tutorials, %d at a time", len(todo), jobs)
    start = time.monotonic()
    failures = []
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(_execute, s, EXECUTED / s.name): s for s in todo}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future].name
            try:
                log.info("Executed %s in %.0f s", name, future.result())
            except Exception as error:  # the cell's traceback is in the message
                failures.append(f"{name}: {error}")
    if failures:
        raise PluginError("A tutorial failed to run:\n" + "\n".join(failures))
    log.info("All tutorials executed in %.0f s", time.monotonic() - start)

    _findings.clear()
    for source in sources:
        found = evidence.findings_in_notebook(EXECUTED / source.name)
        if found is not None:
            _findings[source.stem] = found
    FINDINGS_FILE.write_text(json.dumps(_findings, indent=1, sort_keys=True))


def on_files(files, config):
    for file in files:
        name = _tutorial(file.src_uri)
        if name:
            file.abs_src_path = str(EXECUTED / name)
    return files


def on_page_markdown(markdown, page, config, files):
    src_uri = page.file.src_uri
    if src_uri != evidence.PAGE and src_uri not in evidence.GUIDES:
        return markdown
    try:
        if src_uri in evidence.GUIDES:
            return evidence.fill_measured(markdown, _findings, page=src_uri)
        return evidence.fill_page(markdown, _findings)
    except evidence.EvidenceError as error:
        raise PluginError(str(error)) from error


# Cells a reader can skip, by notebook cell tag: each is rendered folded in a
# `<details>` element under this summary (still executed, still checked).
FOLDED_CELLS = {
    "findings": "How the verdicts are computed (the FINDINGS cell)",
    "verdict-rule": "The verdict rule (the same in every tutorial)",
    "plumbing": "Helper code: many models trained at once (not needed to use a layer)",
}
_DIV = re.compile(r"<div\b|</div>")


def fold_tagged_cells(content):
    """Wraps each rendered cell whose tag is in `FOLDED_CELLS` in `<details>`.

    nbconvert writes a cell's tags as `celltag_<tag>` classes on its outer
    `<div class="jp-Cell ...">`; the cell ends at the `</div>` that balances
    it (nbconvert's HTML nests divs properly).
    """
    for tag, summary in FOLDED_CELLS.items():
        marker = f"celltag_{tag}"
        search_from = 0
        while True:
            found = content.find(marker, search_from)
            if found < 0:
                break
            start = content.rfind("<div", 0, found)
            if start < 0 or "jp-Cell" not in content[start:found]:
                search_from = found + len(marker)
                continue
            depth, end = 0, None
            for match in _DIV.finditer(content, start):
                depth += 1 if match.group() == "<div" else -1
                if depth == 0:
                    end = match.end()
                    break
            if end is None:  # unbalanced: leave the page as it is
                break
            folded = (
                f'<details class="kd-folded"><summary>{html.escape(summary)}'
                f"</summary>{content[start:end]}</details>"
            )
            content = content[:start] + folded + content[end:]
            search_from = start + len(folded)
    return content


def on_page_content(content, page, config, files):
    name = _tutorial(page.file.src_uri)
    if not name:
        return content
    content = fold_tagged_cells(content)
    note = RUN_NOTE.format(name=html.escape(name))
    title, end, rest = content.partition("</h1>")
    return title + end + note + rest if end else note + content


@event_priority(-100)  # after mkdocs-jupyter has copied the executed notebook
def on_post_page(output, page, config):
    name = _tutorial(page.file.src_uri)
    if name:
        target = pathlib.Path(page.file.abs_dest_path).parent / name
        if target.exists():
            shutil.copyfile(TUTORIALS / name, target)
    return output
