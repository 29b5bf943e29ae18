"""Time the two mask generators of keras_dropout on TensorFlow, JAX and PyTorch.

The numbers behind the choice of the default generator
(`keras_dropout.config.set_rng("portable" | "native")`). Run from the
repository root:

    python benchmarks/rng.py                   # every backend, 2048 x 2048
    python benchmarks/rng.py --backend jax     # one backend only
    python benchmarks/rng.py --size 1024 --repeats 10
    python benchmarks/rng.py --quick           # smoke run (256 x 256), about a minute

Without `--backend` the script runs itself once per backend, each in its own
process (`KERAS_BACKEND=<name>`, `TF_CPP_MIN_LOG_LEVEL=3`), and prints one
markdown table plus the machine and library versions. It benchmarks the
keras_dropout of the checkout it sits in (the repository root goes first on
the path). With `--backend NAME` and `KERAS_BACKEND=NAME` already set, the
backend runs in-process and tracebacks of failing rows show on stderr.

What is timed, on an N x N float32 tensor with rate 0.5 and `training=True`:

* rows: the floor `x * c` (one elementwise multiply, what any dropout costs at
  least), `keras.layers.Dropout(0.5, seed=1)`, and
  `keras_dropout.Dropout(0.5, seed=1)` with the "native" and the "portable"
  generator;
* modes: "eager" (a direct call) on every backend; `tf.function` and
  `tf.function(jit_compile=True)` on TensorFlow; `jax.jit` over the layer's
  `stateless_call` on JAX (the new seed state is fed back each call);
  `torch.compile` on PyTorch, in a child process with a timeout, reported as
  "n/a" when it fails or takes too long;
* passes: the forward pass and, per mode, forward + backward (the gradient of
  `sum(layer(x))` with respect to `x`; `tf.GradientTape`, `jax.grad`, torch
  autograd). `torch.compile` is timed forward only.

Every row gets a fresh layer and a fresh compiled function, built while its
generator is set (the setting is read at trace time). Each timing is the
median of repeated calls after warm-up (two calls, one when the first is
slower than the per-row budget), and each call waits for its result: JAX
outputs with `jax.block_until_ready` (dispatch is asynchronous), TensorFlow
and torch outputs by reading one element back to the host. A row stops
repeating after `--repeats` calls, or once it has spent `--budget` seconds
and made at least three; the table also shows the fastest call, how many
calls were timed and what the first call (tracing and compilation included)
cost. "ratio" is the median over the floor's median in the same backend and
mode. The backward pass of the floor is a constant (`c` everywhere), so the
fwd+bwd floors mostly measure writing an N x N result. On a shared machine
the medians move with other processes' load (the header shows the load
average and warns when it was high); the fastest call is the steadier figure.
"""

import argparse
import collections
import contextlib
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import traceback

import _timing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("tensorflow", "jax", "torch")
RATE = 0.5
SEED = 1
SCALE = 0.5  # `c` of the floor row

FLOOR = "floor: x * c"
KERAS = "keras.layers.Dropout"
NATIVE = "keras_dropout.Dropout native"
PORTABLE = "keras_dropout.Dropout portable"
ROWS = (FLOOR, KERAS, NATIVE, PORTABLE)
RNG_OF_ROW = {NATIVE: "native", PORTABLE: "portable"}

FWD_BWD = " fwd+bwd"  # suffix of the modes that time forward + backward
TORCH_COMPILE = "torch.compile"
MIN_RUNS = 3
MARKER = "@@rng-benchmark@@ "  # prefixes the JSON lines a backend run emits

Case = collections.namedtuple("Case", "mode row build")
Case.__doc__ = """One table row: `build()` returns a zero-argument step."""


# --------------------------------------------------------------------------
# Running one backend (inside the process whose KERAS_BACKEND it is).
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _rng(name):
    """Set keras_dropout's generator for the duration (None: leave it)."""
    from keras_dropout import config

    previous = config.get_rng()
    if name is not None:
        config.set_rng(name)
    try:
        yield
    finally:
        config.set_rng(previous)


def _new_layer(row, shape):
    """A fresh, built layer for `row`, or None for the floor."""
    import keras

    import keras_dropout

    if row == FLOOR:
        return None
    if row == KERAS:
        layer = keras.layers.Dropout(RATE, seed=SEED)
    else:
        layer = keras_dropout.Dropout(RATE, seed=SEED)
    if not layer.built:
        layer.build(shape)
    return layer


def _forward(layer):
    """`x -> output` for a layer built by `_new_layer` (None: the floor)."""
    if layer is None:
        return lambda x: x * SCALE
    return lambda x: layer(x, training=True)


def _input(size):
    import keras
    import numpy as np

    values = np.random.default_rng(0).random((size, size), dtype=np.float32)
    return keras.ops.convert_to_tensor(values)


def _tensorflow_cases(x):
    import tensorflow as tf

    def gradient(forward):
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(forward(x))
            return tape.gradient(total, x)

        return step

    compilers = {
        "eager": lambda fn: fn,
        "tf.function": tf.function,
        "tf.function(jit_compile=True)": lambda fn: tf.function(fn, jit_compile=True),
    }
    for mode, compiler in compilers.items():
        for suffix, wrap in (("", lambda fn: fn), (FWD_BWD, gradient)):
            for row in ROWS:

                def build(row=row, compiler=compiler, wrap=wrap):
                    fn = compiler(wrap(_forward(_new_layer(row, x.shape))))
                    return lambda: fn(x)

                yield Case(mode + suffix, row, build)


def _jax_cases(x):
    import jax
    import jax.numpy as jnp

    def pure(row):
        """`(f, state)`, `f(state, x) -> (output, new_state)` for one row."""
        layer = _new_layer(row, x.shape)
        if layer is None:
            return (lambda state, x: (x * SCALE, state)), ()

        def call(state, x):
            trainable, non_trainable = state
            y, non_trainable = layer.stateless_call(
                trainable, non_trainable, x, training=True
            )
            return y, (trainable, non_trainable)

        state = (
            [v.value for v in layer.trainable_variables],
            [v.value for v in layer.non_trainable_variables],
        )
        return call, state

    def gradient(call):
        def loss(x, state):
            y, state = call(state, x)
            return jnp.sum(y), state

        grad = jax.grad(loss, has_aux=True)
        return lambda state, x: grad(x, state)

    def stateful(call, state):
        """A step that feeds the returned state into the next call."""
        holder = [state]

        def step():
            out, holder[0] = call(holder[0], x)
            return out, holder[0]

        return step

    for row in ROWS:

        def build(row=row):
            fn = _forward(_new_layer(row, x.shape))
            return lambda: fn(x)

        yield Case("eager", row, build)
    modes = (
        ("jax.jit", jax.jit),
        ("eager" + FWD_BWD, gradient),
        ("jax.jit" + FWD_BWD, lambda c: jax.jit(gradient(c))),
    )
    for mode, transform in modes:
        for row in ROWS:

            def build(row=row, transform=transform):
                call, state = pure(row)
                return stateful(transform(call), state)

            yield Case(mode, row, build)


def _torch_cases(x, with_eager=True, with_compile=False):
    import torch

    if with_eager:
        for row in ROWS:

            def build(row=row):
                fn = _forward(_new_layer(row, x.shape))
                return lambda: fn(x)

            yield Case("eager", row, build)
        for row in ROWS:

            def build(row=row):
                fn = _forward(_new_layer(row, x.shape))

                def step():
                    leaf = x.detach().requires_grad_(True)
                    (grad,) = torch.autograd.grad(fn(leaf).sum(), leaf)
                    return grad

                return step

            yield Case("eager" + FWD_BWD, row, build)
    if with_compile:
        for row in ROWS:

            def build(row=row):
                fn = torch.compile(_forward(_new_layer(row, x.shape)))
                return lambda: fn(x)

            yield Case(TORCH_COMPILE, row, build)


def _backend_info():
    """The imported framework's version, its device(s) and CPU threads."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = ", ".join(str(d) for d in jax.devices())
        return {"version": jax.__version__, "device": devices}
    if backend == "tensorflow":
        import tensorflow as tf

        devices = ", ".join(d.name for d in tf.config.list_logical_devices())
        return {"version": tf.__version__, "device": devices}
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    device += f", {torch.get_num_threads()} intra-op threads"
    return {"version": torch.__version__, "device": device}


def _measure(step, repeats, budget):
    return _timing.measure(step, repeats, budget, min_runs=MIN_RUNS)


def _error_summary(error):
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


def _run_case(backend, case, args):
    result = {"backend": backend, "mode": case.mode, "row": case.row}
    try:
        with _rng(RNG_OF_ROW.get(case.row)):
            step = case.build()
            first, times = _measure(step, args.repeats, args.budget)
        result.update(
            first_ms=first * 1e3,
            median_ms=statistics.median(times) * 1e3,
            min_ms=min(times) * 1e3,
            runs=len(times),
        )
    except Exception as error:  # reported in the table, traceback on stderr
        traceback.print_exc()
        result["error"] = _error_summary(error)
    gc.collect()
    return result


def _torch_compile_rows(args):
    """torch.compile rows, from a child process under a timeout."""
    command = _child_command("torch", args) + ["--torch-compile-child"]
    found = _run_child(command, args.compile_timeout)
    rows = {r["row"]: r for r in found["results"]}
    reason = f"torch.compile child: {found['failure'] or 'no result'}"
    return [rows.get(row) or _untimed_compile_row(row, reason) for row in ROWS]


def _untimed_compile_row(row, reason):
    return {"backend": "torch", "mode": TORCH_COMPILE, "row": row, "error": reason}


def _emit(kind, payload, args):
    if args.jsonl:
        print(MARKER + json.dumps({kind: payload}), flush=True)


def run_backend(args):
    """Time every case of the current backend; return the result rows."""
    import keras

    backend = keras.backend.backend()
    if backend != args.backend:
        raise SystemExit(
            f"KERAS_BACKEND is {backend!r} but --backend is {args.backend!r}; "
            "set KERAS_BACKEND (or run without --backend)."
        )
    x = _input(args.size)
    _emit("info", _backend_info(), args)
    if backend == "tensorflow":
        cases = _tensorflow_cases(x)
    elif backend == "jax":
        cases = _jax_cases(x)
    elif args.torch_compile_child:
        cases = _torch_cases(x, with_eager=False, with_compile=True)
    else:
        cases = _torch_cases(x)
    results = []
    for case in cases:
        result = _run_case(backend, case, args)
        _emit("result", result, args)
        results.append(result)
    if backend == "torch" and not args.torch_compile_child:
        if args.no_torch_compile:
            reason = "skipped (--no-torch-compile or --quick)"
            compiled = [_untimed_compile_row(row, reason) for row in ROWS]
        else:
            compiled = _torch_compile_rows(args)
        for result in compiled:
            _emit("result", result, args)
        results += compiled
    return results


# --------------------------------------------------------------------------
# Orchestration: one child process per backend, one combined table.
# --------------------------------------------------------------------------


def _child_command(backend, args):
    return [
        sys.executable,
        os.path.abspath(__file__),
        "--backend",
        backend,
        "--size",
        str(args.size),
        "--repeats",
        str(args.repeats),
        "--budget",
        str(args.budget),
        "--compile-timeout",
        str(args.compile_timeout),
        "--jsonl",
    ] + (["--no-torch-compile"] if args.no_torch_compile else [])


def _run_child(command, timeout):
    """Run a backend child; collect its JSON lines even if it fails."""
    backend = command[command.index("--backend") + 1]
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=path,
    )
    failure = None
    # A session of its own, so that a timeout also ends what it started
    # (torch.compile's compile workers).
    child = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout)
        if child.returncode:
            failure = f"exit status {child.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        stdout, stderr = child.communicate()
        failure = f"timed out after {timeout:g} s"
    found = {"results": [], "info": None, "failure": failure}
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            message = json.loads(line[len(MARKER) :])
            if "result" in message:
                found["results"].append(message["result"])
            else:
                found["info"] = message["info"]
    found["stderr"] = stderr
    return found


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _nproc():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def _format_table(results):
    floors = {
        (r["backend"], r["mode"]): r.get("median_ms")
        for r in results
        if r["row"] == FLOOR
    }
    lines = [
        "| backend | mode | row | median ms | ratio to floor | min ms | runs "
        "| first call ms |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            cells = ["n/a", "n/a", "", "", ""]
        else:
            floor = floors.get((r["backend"], r["mode"]))
            ratio = f"{r['median_ms'] / floor:.2f}" if floor else "n/a"
            cells = [
                f"{r['median_ms']:.2f}",
                ratio,
                f"{r['min_ms']:.2f}",
                str(r["runs"]),
                f"{r['first_ms']:.1f}",
            ]
        lines.append(
            "| " + " | ".join([r["backend"], r["mode"], r["row"]] + cells) + " |"
        )
    return "\n".join(lines)


def _load():
    """The 1, 5 and 15 minute load averages, or None."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def _format_load(load):
    return "unknown" if load is None else "/".join(f"{v:.1f}" for v in load)


def _header(args, infos, load_before):
    lines = [
        f"## keras_dropout mask generators: {args.size} x {args.size} "
        f"float32, rate {RATE}, training=True",
        "",
        f"- machine: {platform.platform()}, {_cpu_model()}, nproc {_nproc()}; "
        f"load average (1/5/15 min) {_format_load(load_before)} before, "
        f"{_format_load(_load())} after",
        f"- python {platform.python_version()}, keras {_version('keras')}, "
        f"numpy {_version('numpy')}, keras_dropout at {_package_dir()}",
    ]
    for backend, info in infos.items():
        if info is None:
            lines.append(f"- {backend}: no information (the run failed)")
        else:
            lines.append(f"- {backend} {info['version']} on {info['device']}")
    lines.append(
        f"- timing: median of up to {args.repeats} calls (at least "
        f"{MIN_RUNS}, fewer once a row has run {args.budget:g} s) after "
        "warm-up; ratio = median / floor median of the same backend and mode"
    )
    if load_before is not None and load_before[0] >= 1.0:
        lines.append(
            "- **warning**: the machine was busy before the run (1-minute "
            "load average >= 1): other processes competed for the CPUs, so "
            "expect noisy timings; `min ms` is the least disturbed figure"
        )
    return "\n".join(lines)


def _package_dir():
    spec = importlib.util.find_spec("keras_dropout")
    if spec is None or spec.origin is None:
        return "(not importable)"
    return os.path.dirname(os.path.abspath(spec.origin))


def orchestrate(args, backends):
    """Run each backend in a child process; print the combined table."""
    start, load_before = time.perf_counter(), _load()
    results, infos, notes = [], {}, []
    for backend in backends:
        print(f"running {backend} ...", file=sys.stderr, flush=True)
        found = _run_child(_child_command(backend, args), timeout=None)
        results += found["results"]
        infos[backend] = found["info"]
        if found["failure"] or not found["results"]:
            tail = "\n".join(found["stderr"].strip().splitlines()[-15:])
            notes.append(
                f"- {backend} run failed ({found['failure']}); stderr tail:"
                f"\n\n```\n{tail}\n```"
            )
    print(_header(args, infos, load_before))
    print()
    print(_format_table(results))
    errors = [r for r in results if "error" in r]
    if errors:
        print()
        print("Rows without a timing:")
        for r in errors:
            print(f"- {r['backend']} / {r['mode']} / {r['row']}: {r['error']}")
    if notes:
        print()
        print("\n".join(notes))
    print()
    print(f"Total wall time: {time.perf_counter() - start:.0f} s")


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="run one backend only (default: all, each in its own process)",
    )
    parser.add_argument(
        "--size", type=int, default=2048, help="N of the N x N input (2048)"
    )
    parser.add_argument(
        "--repeats", type=int, default=20, help="most timed calls per row (20)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=2.0,
        help="seconds per row after which repeating stops, once at least "
        f"{MIN_RUNS} calls are timed (2.0)",
    )
    parser.add_argument(
        "--compile-timeout",
        type=float,
        default=180.0,
        help="seconds allowed for all torch.compile rows together (180)",
    )
    parser.add_argument(
        "--no-torch-compile", action="store_true", help="skip torch.compile"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: size 256, 3 repeats, no torch.compile",
    )
    # Internal: how a parent run talks to its children.
    parser.add_argument("--jsonl", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--torch-compile-child", action="store_true", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeats, args.budget = 256, 3, 0.5
        args.no_torch_compile = True
    if args.size < 1 or args.repeats < 1:
        parser.error("--size and --repeats must be positive")
    return args


def main(argv=None):
    args = _parse_args(argv)
    if ROOT not in sys.path:  # benchmark this checkout's keras_dropout
        sys.path.insert(0, ROOT)
    if args.backend is None:
        orchestrate(args, BACKENDS)
    elif os.environ.get("KERAS_BACKEND") != args.backend:
        # Keras reads the backend at import: rerun with the right environment.
        orchestrate(args, (args.backend,))
    else:
        results = run_backend(args)
        if not args.jsonl:
            print(_format_table(results))


if __name__ == "__main__":
    main()
