"""`keras_dropout.mc_predict`: strategies and the prefix cache, per backend.

Two tables, median milliseconds per `mc_predict` call after one warm-up
call of each variant (which includes compilation):

1. Strategies. An MLP (40-256-256-10, a `keras_dropout.Dropout(0.3)` after
   each hidden layer, softmax output) on 512 random rows; for each
   (batch_size, samples) pair, `strategy="loop"` against `"vectorized"`
   (both with `cache_prefix=False`, so the whole model runs each time).
   "rows" is batch_size * samples, the size of one vectorized call; the
   automatic strategy vectorizes up to 16384 rows.
2. Prefix cache. Plain Keras models whose only dropout is in the head
   (`keras.layers.Dropout(0.5)` before the last layer): an MLP
   (40-512-512-512-10) and a 1-D CNN (three Conv1D layers, 64-64-128
   channels, on length-40 signals), 512 rows, batch_size 128, 30 samples.
   "whole" is `mc_predict` as before the cache (`cache_prefix=False`),
   "cached" the default, "consistent" `consistent=True` (the same 30
   sub-networks for every batch; one call per sample, cache on).

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


def _median_ms(call, repeats):
    call()  # warm-up: compilation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def _strategies(repeats):
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
                    cache_prefix=False,
                )

            row[strategy] = _median_ms(call, repeats)
        results.append(row)
    return results


def _head_models():
    import keras

    layers = keras.layers
    mlp = keras.Sequential(
        [keras.Input((40,))]
        + [layers.Dense(512, "relu") for _ in range(3)]
        + [layers.Dropout(0.5), layers.Dense(10, "softmax")]
    )
    cnn = keras.Sequential(
        [
            keras.Input((40, 1)),
            layers.Conv1D(64, 5, padding="same", activation="relu"),
            layers.Conv1D(64, 5, padding="same", activation="relu"),
            layers.MaxPooling1D(2),
            layers.Conv1D(128, 3, padding="same", activation="relu"),
            layers.GlobalAveragePooling1D(),
            layers.Dropout(0.5),
            layers.Dense(10, "softmax"),
        ]
    )
    return {
        "MLP, dropout in head": (mlp, (40,)),
        "CNN, dropout in head": (cnn, (40, 1)),
    }


def _cache(repeats):
    import keras
    import numpy as np

    from keras_dropout.models import mc_predict

    keras.utils.set_random_seed(0)
    variants = {
        "whole": {"cache_prefix": False},
        "cached": {},
        "consistent": {"consistent": True},
    }
    results = []
    for name, (model, shape) in _head_models().items():
        x = np.random.default_rng(0).normal(size=(512,) + shape).astype("float32")
        row = {"model": name}
        for variant, kwargs in variants.items():

            def call(model=model, x=x, kwargs=kwargs):
                mc_predict(model, x, samples=30, batch_size=128, verbose=0, **kwargs)

            row[variant] = _median_ms(call, repeats)
        results.append(row)
    return results


def _run(repeats):
    return {"strategies": _strategies(repeats), "cache": _cache(repeats)}


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
    results = {}
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
        results[backend] = json.loads(line[len(MARK) :])
    print("backend     batch  samples   rows   loop ms  vectorized ms  speed-up")
    for backend, result in results.items():
        for row in result["strategies"]:
            rows = row["batch_size"] * row["samples"]
            print(
                f"{backend:<11} {row['batch_size']:>5} {row['samples']:>8} "
                f"{rows:>6} {row['loop']:>9.1f} {row['vectorized']:>14.1f} "
                f"{row['loop'] / row['vectorized']:>8.1f}x"
            )
    print()
    print(
        "backend     model                   whole ms  cached ms  speed-up"
        "  consistent ms"
    )
    for backend, result in results.items():
        for row in result["cache"]:
            print(
                f"{backend:<11} {row['model']:<22} {row['whole']:>9.1f} "
                f"{row['cached']:>10.1f} {row['whole'] / row['cached']:>8.1f}x "
                f"{row['consistent']:>14.1f}"
            )


if __name__ == "__main__":
    main()
