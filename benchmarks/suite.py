"""The benchmark suite: `make bench` (or `python benchmarks/suite.py`).

Runs `benchmarks/layers.py` and `benchmarks/fit_step.py` once per backend,
each in its own process, then writes

* `benchmarks/results.json`: every measurement,
* `docs/guides/performance.md`: the tables, the targets and whether each held,
  with the machine and library versions,
* `docs/guides/performance.png`: the compiled-forward plot.

    python benchmarks/suite.py                 # everything (about 13 minutes)
    python benchmarks/suite.py --quick         # smoke run, nothing written to docs
    python benchmarks/suite.py --from-json     # rewrite the page from results.json

Timings move with the machine's load (the page states the load average before
and after); ratios are measured side by side in one process, so they move less.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("tensorflow", "jax", "torch")
RESULTS = os.path.join(ROOT, "benchmarks", "results.json")
PAGE = os.path.join(ROOT, "docs", "guides", "performance.md")
PLOT = os.path.join(ROOT, "docs", "guides", "performance.png")
COMPILED = {"tensorflow": "XLA", "jax": "jax.jit"}
# Modes where the pack must be no slower than Keras (eager and plain graph).
UNCOMPILED = {
    "tensorflow": ("eager", "tf.function"),
    "jax": ("eager",),
    "torch": ("eager",),
}
# The mask-style layers the targets are about. GaussianDropout multiplies by
# float noise (Box-Muller's log, sqrt and cos per element when compiled, and
# a float tensor kept for backward): it is timed, but not held to them.
MASK_LAYERS = (
    "Dropout",
    "AlphaDropout",
    "SpatialDropout2D",
    "VariationalDropout",
    "DropBlock2D",
    "DropPath",
)
# Layers whose mask is grown by pooling (DropBlock): held to "one pooling
# pass + the floor", measured by their "reference" row.
POOLING_LAYERS = ("DropBlock2D",)
# "At the floor": a ratio to the floor this close to 1 is within the
# run-to-run spread of two ~3 ms timings on a shared 2-core CPU.
FLOOR_NOISE = 1.25
TOLERANCE = 1.10  # "no slower" allows 10% for timer noise on a shared CPU


def _run(script, backend, extra, timeout):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, os.path.join(ROOT, "benchmarks", script), *extra]
    try:
        out = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        out = error
        print(f"{script} on {backend}: timed out after {timeout} s", file=sys.stderr)
    stdout = out.stdout if isinstance(out.stdout, str) else (out.stdout or b"").decode()
    if getattr(out, "returncode", 1) != 0:
        stderr = (
            out.stderr if isinstance(out.stderr, str) else (out.stderr or b"").decode()
        )
        print(f"{script} on {backend} failed:\n{stderr[-3000:]}", file=sys.stderr)
    records = []
    for line in stdout.splitlines():
        for mark in ("LAYER_RESULT ", "FIT_RESULT "):
            if line.startswith(mark):
                records.append(json.loads(line[len(mark) :]))
    return records


def _versions():
    names = ("keras", "tensorflow-cpu", "jax", "torch", "numpy")
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def collect(quick):
    layer_args = ["--quick"] if quick else []
    fit_args = ["--epochs", "1", "--rounds", "1"] if quick else []
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "machine": f"{platform.system()} {platform.machine()}, {_cpu()}, "
        f"{os.cpu_count()} cores",
        "python": platform.python_version(),
        "versions": _versions(),
        "load_before": os.getloadavg(),
    }
    records = []
    start = time.time()
    for backend in BACKENDS:
        print(f"== {backend}: layers ({time.time() - start:.0f} s)", flush=True)
        records += _run("layers.py", backend, layer_args, timeout=900)
        print(f"== {backend}: fit step ({time.time() - start:.0f} s)", flush=True)
        records += _run("fit_step.py", backend, fit_args, timeout=600)
    meta["load_after"] = os.getloadavg()
    meta["wall_s"] = round(time.time() - start)
    print(f"== done ({meta['wall_s']} s)", flush=True)
    return {"meta": meta, "records": records}


# --- analysis -----------------------------------------------------------------


def _index(records):
    timing = {}
    for r in records:
        if "ms" in r and "layer" in r:
            key = (r["backend"], r["layer"], r["size"], r["mode"], r["pass"], r["role"])
            timing[key] = r["ms"]
            if r["role"] == "floor":  # shared by every layer of the same shape
                timing[
                    ("floor", r["backend"], r["kind"], r["size"], r["mode"], r["pass"])
                ] = r["ms"]
    return timing


def _floor(timing, records, backend, layer, size, mode, pass_):
    kind = next(r["kind"] for r in records if r.get("layer") == layer and "kind" in r)
    if layer == "DropConnectDense":  # its floor is the plain Dense layer
        return timing.get((backend, layer, size, mode, pass_, "keras"))
    # The floor timed in the same rounds as this layer, else (older results)
    # the one timed with the first layer of the same input shape.
    own = timing.get((backend, layer, size, mode, pass_, "floor"))
    return (
        own
        if own is not None
        else timing.get(("floor", backend, kind, size, mode, pass_))
    )


def _layer_rows(records):
    timing = _index(records)
    rows = []
    seen = set()
    for r in records:
        if "ms" not in r or r.get("role") != "pack":
            continue
        key = (r["backend"], r["layer"], r["size"], r["mode"], r["pass"])
        if key in seen:
            continue
        seen.add(key)
        backend, layer, size, mode, pass_ = key
        keras_ms = timing.get((*key, "keras"))
        floor_ms = _floor(timing, records, *key)
        reference_ms = timing.get((*key, "reference"))
        rows.append(
            {
                "backend": backend,
                "layer": layer,
                "size": size,
                "mode": mode,
                "pass": pass_,
                "pack": r["ms"],
                "keras": keras_ms,
                "floor": floor_ms,
                "reference": reference_ms,
                "label": next(
                    (
                        x["label"]
                        for x in records
                        if x.get("layer") == layer and x.get("role") == "keras"
                    ),
                    None,
                ),
            }
        )
    return rows


def _ratio(a, b):
    return a / b if a is not None and b else None


def _fmt(value, digits=1):
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}" if value >= 1 else f"{value:.2f}"


def targets(results):
    """[(target, backend, verdict, detail)] computed from the measurements."""
    rows = _layer_rows(results["records"])
    out = []
    for backend in BACKENDS:
        mode = COMPILED.get(backend)
        if mode:
            mine = [
                r
                for r in rows
                if r["backend"] == backend
                and r["mode"] == mode
                and r["pass"] == "fwd"
                and r["size"] == "large"
                and r["layer"] in MASK_LAYERS
            ]
            # DropBlock grows its mask with a pooling pass: its own target
            # (below) is that pass plus the floor, not 2x the floor.
            elementwise = [r for r in mine if r["layer"] not in POOLING_LAYERS]
            worst = max(
                elementwise,
                key=lambda r: _ratio(r["pack"], r["floor"]) or 0,
                default=None,
            )
            if worst:
                ratio = _ratio(worst["pack"], worst["floor"])
                ok = all(
                    (_ratio(r["pack"], r["floor"]) or 99) <= 2 for r in elementwise
                )
                out.append(
                    (
                        "compiled forward within 2x of the floor (large; "
                        "DropBlock: its own target)",
                        backend,
                        "held" if ok else "missed",
                        f"worst: {worst['layer']} at {ratio:.1f}x",
                    )
                )
            versus = [r for r in mine if r["keras"]]
            # Where Keras's own layer is less than 10x the floor (a mask
            # shared over most of the tensor, as SpatialDropout2D's or
            # VariationalDropout's), 10x faster than Keras would be faster
            # than the floor. Such a row holds when ours is at the floor
            # (within FLOOR_NOISE of it); it is named in the detail.
            capped = [
                r
                for r in versus
                if r["keras"] / r["pack"] < 10
                and _ratio(r["keras"], r["floor"]) < 10
                and _ratio(r["pack"], r["floor"]) <= FLOOR_NOISE
            ]
            versus = [r for r in versus if r not in capped]
            if versus or capped:
                speedups = {r["layer"]: r["keras"] / r["pack"] for r in versus}
                low = min(speedups, key=speedups.get, default=None)
                ok = all(v >= 10 for v in speedups.values())
                detail = f"smallest: {low} {speedups[low]:.0f}x" if low else ""
                if capped:
                    detail += "; at the floor where Keras is under 10x it: "
                    detail += ", ".join(
                        f"{r['layer']} (ours {_ratio(r['pack'], r['floor']):.1f}x "
                        f"the floor, Keras {_ratio(r['keras'], r['floor']):.1f}x)"
                        for r in capped
                    )
                out.append(
                    (
                        "compiled: at least 10x faster than Keras",
                        backend,
                        "held" if ok else "missed",
                        detail,
                    )
                )
        pooled = [
            r
            for r in rows
            if r["backend"] == backend
            and r["layer"] in POOLING_LAYERS
            and r["pass"] == "fwd"
            and r["size"] == "large"
            and r["reference"]
            and r["floor"]
        ]
        if pooled:
            ratios = {
                r["mode"]: r["pack"] / (r["reference"] + r["floor"]) for r in pooled
            }
            worst = max(ratios, key=ratios.get)
            ok = all(v <= TOLERANCE for v in ratios.values())
            out.append(
                (
                    "DropBlock2D within one pooling pass + the floor (large)",
                    backend,
                    "held" if ok else "missed",
                    ", ".join(f"{m}: {v:.2f}x" for m, v in ratios.items())
                    + " of (5x5 max-pool + floor)",
                )
            )
        for mode in UNCOMPILED[backend]:
            mine = [
                r
                for r in rows
                if r["backend"] == backend
                and r["mode"] == mode
                and r["keras"]
                and r["layer"] != "DropConnectDense"
            ]
            if not mine:
                continue
            ratios = {
                (r["layer"], r["size"], r["pass"]): r["pack"] / r["keras"] for r in mine
            }
            worst = max(ratios, key=ratios.get)
            ok = all(v <= TOLERANCE for v in ratios.values())
            median = statistics.median(ratios.values())
            out.append(
                (
                    f"{mode}: no slower than Keras",
                    backend,
                    "held" if ok else "missed",
                    f"median {median:.2f}x; worst {worst[0]} {worst[1]} {worst[2]} "
                    f"{ratios[worst]:.2f}x",
                )
            )
    fits = [r for r in results["records"] if "model" in r]
    for backend in BACKENDS:
        for model in ("MLP", "CNN"):
            mine = {
                r["row"]: r
                for r in fits
                if r["backend"] == backend
                and r["model"] == model
                and r["mode"] == "default"
            }
            if len(mine) < 3:
                continue
            base = mine["no dropout"]["ms"]
            ours = mine["keras_dropout Dropout"]["ms"] - base
            theirs = mine["keras Dropout"]["ms"] - base
            ok = ours <= max(theirs, 0) + 0.05 * base
            out.append(
                (
                    f"fit step overhead ({model}) no larger than Keras's",
                    backend,
                    "held" if ok else "missed",
                    f"ours {ours:+.2f} ms, Keras {theirs:+.2f} ms "
                    f"(no dropout {base:.2f} ms)",
                )
            )
            if mine["keras Dropout"].get("step_temp_bytes"):
                a = mine["keras_dropout Dropout"]["step_temp_bytes"]
                b = mine["keras Dropout"]["step_temp_bytes"]
                out.append(
                    (
                        f"fit step peak memory ({model}) <= Keras + 5%",
                        backend,
                        "held" if a <= 1.05 * b else "missed",
                        f"ours {a / 1e6:.2f} MB, Keras {b / 1e6:.2f} MB",
                    )
                )
    memory = [
        r
        for r in results["records"]
        if r.get("pass") == "memory"
        and r["backend"] == "torch"  # the saved-tensor count; JAX's is a peak
        and r["role"] == "pack"
        and r["layer"] in MASK_LAYERS
        and r["size"] == "large"
    ]
    for backend in BACKENDS:
        mine = [r for r in memory if r["backend"] == backend]
        if mine:
            worst = max(mine, key=lambda r: r["bytes_per_element"])
            ok = worst["bytes_per_element"] <= 1.01
            out.append(
                (
                    "backward keeps at most 1 byte per element",
                    backend,
                    "held" if ok else "missed",
                    f"worst: {worst['layer']} {worst['bytes_per_element']:.2f} B",
                )
            )
    return out


# --- the page -----------------------------------------------------------------


def _plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        r
        for r in _layer_rows(results["records"])
        if r["size"] == "large" and r["pass"] == "fwd" and r["layer"] in MASK_LAYERS
    ]
    panels = [
        ("tensorflow", "XLA"),
        ("jax", "jax.jit"),
        ("tensorflow", "eager"),
        ("jax", "eager"),
        ("torch", "eager"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(18, 4.2), sharey=True)
    for ax, (backend, mode) in zip(axes, panels, strict=True):
        mine = [r for r in rows if r["backend"] == backend and r["mode"] == mode]
        names = [r["layer"] for r in mine]
        pos = range(len(mine))
        ax.bar(
            [p - 0.2 for p in pos],
            [_ratio(r["pack"], r["floor"]) or 0 for r in mine],
            width=0.4,
            label="keras_dropout",
        )
        ax.bar(
            [p + 0.2 for p in pos],
            [_ratio(r["keras"], r["floor"]) or 0 for r in mine],
            width=0.4,
            label="Keras counterpart",
        )
        ax.axhline(1, color="black", lw=0.8)
        ax.axhline(2, color="grey", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(list(pos), names, rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{backend}, {mode}")
    axes[0].set_ylabel("forward time / floor (x * c)")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        "Forward pass, 2**22 elements: time relative to one elementwise multiply "
        "(dashed: 2x)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_page(results, path=PAGE):
    meta = results["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    lines = [
        "# Performance",
        "",
        "<!-- Generated by `make bench` (benchmarks/suite.py) from "
        "benchmarks/results.json; edit the script, not this page. -->",
        "",
        "Dropout is one elementwise pass; this page measures how close each layer "
        "of the pack comes to that floor, and how it compares with Keras's own "
        "layers, on every backend. Every number below was measured by "
        "`make bench` on the machine named here; rerun it on yours.",
        "",
        f"**Measured** {meta['date']} on {meta['machine']}; Python {meta['python']}; "
        f"{versions}. Load average before/after: "
        f"{meta['load_before'][0]:.1f} / {meta['load_after'][0]:.1f} (on 2 cores, "
        "anything above 2 means other work shared the CPU and small differences "
        "are noise)."
        + (
            f" The whole suite took {meta['wall_s'] / 60:.1f} minutes."
            if "wall_s" in meta
            else ""
        ),
        "",
        'The pack\'s layers run with the default generator, `"auto"`: the portable '
        "integer hash where XLA compiles (`jax.jit`, `jit_compile=True`), the "
        "backend's generator elsewhere (eager code, plain `tf.function`; see "
        "[Choosing the random generator](rng.md)).",
        "",
        "## The targets",
        "",
        "| target | backend | verdict | measured |",
        "|---|---|---|---|",
    ]
    for target, backend, verdict, detail in targets(results):
        lines.append(f"| {target} | {backend} | **{verdict}** | {detail} |")
    lines += [
        "",
        "![Forward time relative to the floor, per layer and backend](performance.png)",
        "",
        "## Layers: milliseconds per call",
        "",
        "Median of repeated calls after warm-up; `fwd+bwd` is the gradient of "
        "`sum(layer(x))` with respect to `x`. *floor* is `x * c` on the same input "
        "(for `DropConnectDense`: Keras's plain `Dense`). Ratios are against the "
        "floor and against the Keras counterpart measured in the same process.",
        "",
    ]
    rows = _layer_rows(results["records"])
    for backend in BACKENDS:
        for size in ("large", "small"):
            mine = [r for r in rows if r["backend"] == backend and r["size"] == size]
            if not mine:
                continue
            shape = "2**22" if size == "large" else "2**18"
            lines += [f"### {backend}, {shape} elements", ""]
            lines += [
                "| layer | mode | pass | ours | Keras | floor | ours / floor | "
                "ours / Keras |",
                "|---|---|---|---:|---:|---:|---:|---:|",
            ]
            for r in mine:
                lines.append(
                    f"| {r['layer']} | {r['mode']} | {r['pass']} | {_fmt(r['pack'])} | "
                    f"{_fmt(r['keras'])} | {_fmt(r['floor'])} | "
                    f"{_fmt(_ratio(r['pack'], r['floor']))} | "
                    f"{_fmt(_ratio(r['pack'], r['keras']), 2)} |"
                )
            lines.append("")
    labels = sorted({(r["layer"], r["label"]) for r in rows if r["label"]})
    lines += [
        "Keras counterparts: " + "; ".join(f"{a}: `{b}`" for a, b in labels) + ".",
        "",
    ]
    pooled = [r for r in rows if r["layer"] in POOLING_LAYERS and r["reference"]]
    pooled.sort(key=lambda r: (BACKENDS.index(r["backend"]), r["size"] != "large"))
    if pooled:
        lines += [
            "## DropBlock against one pooling pass",
            "",
            "DropBlock grows each seed into a block, which takes a pooling pass "
            "over the mask; its target is that pass plus the floor. The reference "
            "is one stride-1 5 x 5 `keras.ops.max_pool` over a float tensor of the "
            "input's size. The layer pools its mask one axis at a time (a 5 x 1 "
            "then a 1 x 5 window: 10 comparisons per unit instead of 25), so it "
            "can come in under the reference.",
            "",
            "| backend | mode | pass | size | ours | max-pool | floor | "
            "ours / (max-pool + floor) |",
            "|---|---|---|---|---:|---:|---:|---:|",
        ]
        for r in pooled:
            total = (r["reference"] or 0) + (r["floor"] or 0)
            lines.append(
                f"| {r['backend']} | {r['mode']} | {r['pass']} | {r['size']} | "
                f"{_fmt(r['pack'])} | {_fmt(r['reference'])} | {_fmt(r['floor'])} | "
                f"{_fmt(_ratio(r['pack'], total), 2)} |"
            )
        lines.append("")
    memory = [
        r
        for r in results["records"]
        if r.get("pass") == "memory" and r["size"] == "large"
    ]
    if memory:
        lines += [
            "## Memory kept for the backward pass",
            "",
            "Bytes per input element. PyTorch: the tensors autograd saves in the "
            "forward pass (besides the input). JAX: the temporary memory of a jitted "
            "forward + backward above the floor's (XLA's memory analysis). "
            "TensorFlow offers no comparable CPU measurement. The 1-byte target is "
            "checked on PyTorch's count: JAX's figure is a peak of temporaries "
            "(DropBlock's pooled float map is one), not what is kept.",
            "",
            "| backend | layer | ours | Keras |",
            "|---|---|---:|---:|",
        ]
        for backend in BACKENDS:
            for layer in dict.fromkeys(r["layer"] for r in memory):
                pick = {
                    r["role"]: r["bytes_per_element"]
                    for r in memory
                    if r["backend"] == backend and r["layer"] == layer
                }
                if pick:
                    lines.append(
                        f"| {backend} | {layer} | {_fmt(pick.get('pack'), 2)} | "
                        f"{_fmt(pick.get('keras'), 2)} |"
                    )
        lines.append("")
    fits = [r for r in results["records"] if "model" in r]
    if fits:
        lines += [
            "## What a user sees: a `fit` step",
            "",
            "`benchmarks/fit_step.py`: an MLP 40-256-256-10 and a small Conv1D CNN on "
            "4096 x 40 inputs, batch 128, a dropout layer (rate 0.3) after each hidden "
            "layer; each backend's default `fit` settings (TensorFlow also with "
            "`jit_compile=True`). Milliseconds per step, median of alternating rounds. "
            "*Step memory*: XLA's count of the temporary buffers of the compiled JAX "
            "training step.",
            "",
            "| backend | model | fit mode | no dropout | Keras `Dropout` | ours | "
            "step memory (no dropout / Keras / ours) |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for backend in BACKENDS:
            for model in ("MLP", "CNN"):
                for mode in dict.fromkeys(
                    r["mode"] for r in fits if r["backend"] == backend
                ):
                    pick = {
                        r["row"]: r
                        for r in fits
                        if r["backend"] == backend
                        and r["model"] == model
                        and r["mode"] == mode
                    }
                    if len(pick) < 3:
                        continue
                    none, keras_, ours = (
                        pick[k]
                        for k in (
                            "no dropout",
                            "keras Dropout",
                            "keras_dropout Dropout",
                        )
                    )
                    mem = "–"
                    if none.get("step_temp_bytes"):
                        mem = " / ".join(
                            f"{p['step_temp_bytes'] / 1e6:.2f} MB"
                            for p in (none, keras_, ours)
                        )
                    lines.append(
                        f"| {backend} | {model} | {mode} | {none['ms']:.2f} | "
                        f"{keras_['ms']:.2f} | {ours['ms']:.2f} | {mem} |"
                    )
        lines.append("")
    lines += [
        "## Where the misses come from",
        "",
        "`python benchmarks/profiles.py --all` times what is behind the rows that "
        "miss a target on this machine:",
        "",
        "- **DropBlock outside XLA.** Its steps, timed one after another. Drawing "
        "the full-size seed mask alone costs about as much as the whole target "
        "(one pooling pass plus the floor) in eager TensorFlow, and more in eager "
        "JAX, where the backend's generator is itself slower than a 5 x 5 pool: "
        "Keras's own `Dropout`, which draws one such mask and applies it, is "
        "slower than that target too. The pooling, padding and layout steps add "
        "one pass each, and outside a compiler nothing fuses them. Compiled, XLA "
        "fuses them and DropBlock comes in under the target.",
        "- **Small inputs in eager mode.** Partly a fixed per-call cost: at 8 "
        "elements our `GaussianDropout` takes longer than Keras's (a few tenths "
        "of a millisecond to about 1 ms, depending on the backend), which is the "
        "scalar work on the rate variable (a tensor, so that the rate can change "
        "without recompiling; Keras uses a Python float) and op dispatch. At "
        "2**18 elements the gap is larger on eager TensorFlow and JAX, so part "
        "of it grows with the input; that part is not explained yet. Under "
        "`tf.function` the two are within half a millisecond.",
        "- **Applying the mask, eager.** The pack applies a boolean keep mask "
        "with one select, `where(keep, x / keep_prob, fill)`: the backward pass "
        "keeps 1 byte per element, and a dropped inf or NaN still gives the "
        "fill. In eager TensorFlow, the gradients TensorFlow registers for "
        "`where` and for a division also compute the fill's and the divisor's "
        "gradients (a zeros tensor, a second select, four more passes and two "
        "sums), and nothing prunes them outside a graph; the pack writes the "
        "select's gradient out there (`functional._select_kept`), about half "
        "the time of the backend's own select forward and backward. PyTorch's "
        "CPU `where` is several times slower than a multiply by a float mask, "
        "which is how Keras's `AlphaDropout` applies its mask (keeping 4 bytes "
        "per element for the backward pass, and turning a dropped inf into "
        "NaN): the gap in the small eager `AlphaDropout` rows on PyTorch.",
        "",
        "## Rerun it",
        "",
        "```bash",
        "make bench                    # this page, about 13 minutes",
        "KERAS_BACKEND=jax python benchmarks/layers.py --layers Dropout",
        "python benchmarks/rng.py      # the two generators head to head",
        "python benchmarks/profiles.py --all  # where the misses come from",
        "```",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run; docs untouched"
    )
    parser.add_argument(
        "--from-json", action="store_true", help="rewrite the page only"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        with open(RESULTS) as f:
            results = json.load(f)
    else:
        results = collect(args.quick)
        if not args.quick:
            with open(RESULTS, "w") as f:
                json.dump(results, f, indent=1)
    for target, backend, verdict, detail in targets(results):
        print(f"{verdict:>7}  {backend:<10} {target}: {detail}")
    if not args.quick:
        write_page(results)
        _plot(results, PLOT)
        print(f"wrote {os.path.relpath(PAGE, ROOT)} and {os.path.relpath(PLOT, ROOT)}")


if __name__ == "__main__":
    main()
