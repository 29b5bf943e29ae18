"""What a user sees: `model.fit` step time with each mask generator.

An MLP on MNIST-1D-sized data (4000 x 40, 10 classes; 40-256-256-10 with a
dropout layer after each hidden layer, rate 0.3, batch 128), trained with
each backend's default `fit` settings (JAX: jit; TensorFlow: `tf.function`,
no XLA on a CPU; PyTorch: eager), and once more with `jit_compile=True` on
TensorFlow. Rows: no dropout, `keras.layers.Dropout`, and
`keras_dropout.Dropout` with the "native" and the "portable" generator.

    python benchmarks/fit_step.py            # every backend, one process each
    python benchmarks/fit_step.py --backend jax --epochs 3

Median milliseconds per training step over `--epochs` timed epochs (after
one warm-up epoch that includes compilation), measured in rounds that
alternate between the rows, so that a busy machine slows all rows alike.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("tensorflow", "jax", "torch")
ROWS = ("no dropout", "keras.layers.Dropout", "native", "portable")
MARK = "FIT_STEP_RESULT "


def _build(row):
    import keras

    import keras_dropout

    def drop():
        if row == "no dropout":
            return keras.layers.Identity()
        if row == "keras.layers.Dropout":
            return keras.layers.Dropout(0.3, seed=1)
        keras_dropout.config.set_rng(row)
        return keras_dropout.Dropout(0.3, seed=1)

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((40,)),
            keras.layers.Dense(256, activation="relu"),
            drop(),
            keras.layers.Dense(256, activation="relu"),
            drop(),
            keras.layers.Dense(10),
        ]
    )


def _measure(backend, epochs, rounds):
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 40)).astype("float32")
    y = rng.integers(0, 10, size=(4096,))
    steps = len(x) // 128
    modes = [("default", "auto")]
    if backend == "tensorflow":
        modes.append(("jit_compile=True", True))
    results = []
    for mode, jit in modes:
        models = {}
        for row in ROWS:
            model = _build(row)
            model.compile(
                "adam",
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                jit_compile=jit,
            )
            model.fit(x, y, batch_size=128, epochs=1, verbose=0)  # warm-up
            models[row] = model
        times = {row: [] for row in ROWS}
        for _ in range(rounds):
            for row, model in models.items():
                for _ in range(epochs):
                    start = time.perf_counter()
                    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
                    times[row].append((time.perf_counter() - start) / steps * 1e3)
        base = statistics.median(times["no dropout"])
        for row in ROWS:
            ms = statistics.median(times[row])
            results.append(
                {
                    "backend": backend,
                    "mode": mode,
                    "row": row,
                    "ms": ms,
                    "ratio": ms / base,
                }
            )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.backend:
        for result in _measure(args.backend, args.epochs, args.rounds):
            print(MARK + json.dumps(result), flush=True)
        return
    rows = []
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        command = [sys.executable, __file__, "--backend", backend]
        command += ["--epochs", str(args.epochs), "--rounds", str(args.rounds)]
        out = subprocess.run(command, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{backend} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        rows += [
            json.loads(line[len(MARK) :])
            for line in out.stdout.splitlines()
            if line.startswith(MARK)
        ]
    print("| backend | fit mode | dropout | ms / step | vs no dropout |")
    print("|---|---|---|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['mode']} | {r['row']} | {r['ms']:.2f} "
            f"| {r['ratio']:.2f} |"
        )
    print(f"\nload average after the run: {os.getloadavg()}, nproc {os.cpu_count()}")


if __name__ == "__main__":
    main()
