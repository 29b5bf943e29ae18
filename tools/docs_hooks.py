"""MkDocs hooks: the tutorials run in parallel, and the evidence page is filled in.

mkdocs-jupyter executes notebooks one at a time, while it renders them. Here
every tutorial runs first, in a fresh kernel, `KERAS_DROPOUT_DOCS_JOBS` at a
time (default: one per CPU); a cell that raises fails the build. The executed
copies go to `build/executed/tutorials/` and mkdocs-jupyter renders those (its
own `execute` option is off). The notebook a reader downloads from a page is
still the clean one from `tutorials/`.

Each tutorial prints its measured numbers as one `FINDINGS {...}` line; they
are collected into `build/findings.json`, and `docs/evidence.md` gets its
tables from them (`tools/evidence.py`), so the page always shows what this
build measured.

`KERAS_DROPOUT_DOCS_REUSE=1` reuses an executed copy that is newer than its
notebook and than every file in `keras_dropout/` (for `mkdocs serve`; the
docs build in CI never sets it).
"""

import concurrent.futures
import json
import logging
import os
import pathlib
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
    client.execute()
    # One print can arrive as several stream outputs; the page shows one.
    CoalesceStreamsPreprocessor().preprocess(notebook, {})
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
        path = pathlib.PurePosixPath(file.src_uri)
        if path.parent.name == "tutorials" and path.suffix == ".ipynb":
            file.abs_src_path = str(EXECUTED / path.name)
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri != evidence.PAGE:
        return markdown
    try:
        return evidence.fill_page(markdown, _findings)
    except evidence.EvidenceError as error:
        raise PluginError(str(error)) from error


@event_priority(-100)  # after mkdocs-jupyter has copied the executed notebook
def on_post_page(output, page, config):
    path = pathlib.PurePosixPath(page.file.src_uri)
    if path.parent.name == "tutorials" and path.suffix == ".ipynb":
        target = pathlib.Path(page.file.abs_dest_path).parent / path.name
        if target.exists():
            shutil.copyfile(TUTORIALS / path.name, target)
    return output
