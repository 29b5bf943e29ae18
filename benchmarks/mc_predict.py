"""`keras_dropout.mc_predict`: loop versus vectorized strategy, per backend.

An MLP (40-256-256-10, a `keras_dropout.Dropout(0.3)` after each hidden
layer, softmax output) on 512 random rows. For each (batch_size, samples)
pair it times `mc_predict(..., strategy="loop")` and
`strategy="vectorized"` and prints median milliseconds per call, after
one warm-up call of each that includes compilation. "rows" is
batch_size * samples, the size of one vectorized call; the automatic
strategy vectorizes up to 16384 rows.

    python benchmarks/mc_predict.py              # every backend, one process each
    python benchmarks/mc_predict.py --backend jax --repeats 5
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
CONFIGS = ((32, 30), (128, 30), (512, 30), (512, 100))
MARK = "MC_PREDICT_RESULT "


def _run(repeats):
    import keras
    import numpy as np

    import keras_dropout
    from keras_dropout.models import mc_predict

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((40,)),
            keras.layers.Dense(256, "relu"),
            keras_dropout.Dropout(0.3),
            keras.layers.Dense(256, "relu"),
            keras_dropout.Dropout(0.3),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    x = np.random.default_rng(0).normal(size=(512, 40)).astype("float32")
    results = []
    for batch_size, samples in CONFIGS:
        row = {"batch_size": batch_size, "samples": samples}
        for strategy in ("loop", "vectorized"):

            def call(strategy=strategy, batch_size=batch_size, samples=samples):
                mc_predict(
                    model,
                    x,
                    samples=samples,
                    batch_size=batch_size,
                    verbose=0,
                    strategy=strategy,
                )

            call()  # warm-up: compilation
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                times.append(1000 * (time.perf_counter() - start))
            row[strategy] = statistics.median(times)
        results.append(row)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(MARK + json.dumps(_run(args.repeats)))
        return
    backends = [args.backend] if args.backend else list(BACKENDS)
    print("backend     batch  samples   rows   loop ms  vectorized ms  speed-up")
    for backend in backends:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--repeats", str(args.repeats)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        line = next(li for li in out.splitlines() if li.startswith(MARK))
        for row in json.loads(line[len(MARK) :]):
            rows = row["batch_size"] * row["samples"]
            print(
                f"{backend:<11} {row['batch_size']:>5} {row['samples']:>8} "
                f"{rows:>6} {row['loop']:>9.1f} {row['vectorized']:>14.1f} "
                f"{row['loop'] / row['vectorized']:>8.1f}x"
            )


if __name__ == "__main__":
    main()
