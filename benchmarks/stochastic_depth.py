"""Training-step time of a small ViT: `SubsetDropPath` against `DropPath`.

A ViT-like encoder on random "images" already cut into patches (batch 128,
64 patches of 48 values, width 128, 4 blocks of self-attention (4 heads)
and a 4x MLP, pre-norm), each residual branch wrapped three ways:

* `none`: `x + branch(x)` (no stochastic depth, the floor);
* `DropPath`: `x + DropPath(rate)(branch(x))`, which runs every branch on
  every row and zeroes some;
* `SubsetDropPath`: `SubsetDropPath(branch, rate)(x)`, which runs each
  branch on `floor(128 * (1 - rate))` rows only.

It prints the median milliseconds of `model.train_on_batch` (compiled:
`jit_compile=True` on JAX and TensorFlow, eager on PyTorch) after two
warm-up steps, and the speed-up of `SubsetDropPath` over `DropPath`.

    python benchmarks/stochastic_depth.py                 # JAX
    python benchmarks/stochastic_depth.py --backend torch --rate 0.3 --steps 20
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
MARK = "STOCHASTIC_DEPTH_RESULT "
BATCH, PATCHES, PATCH_DIM, WIDTH, HEADS, DEPTH = 128, 64, 48, 128, 4, 4


def _model(kind, rate):
    import keras

    import keras_dropout

    layers = keras.layers

    class SelfAttention(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.norm = layers.LayerNormalization()
            self.attention = layers.MultiHeadAttention(HEADS, WIDTH // HEADS)

        def call(self, x):
            h = self.norm(x)
            return self.attention(h, h)

        def compute_output_shape(self, input_shape):
            return input_shape

    def mlp():
        return keras.Sequential(
            [
                layers.LayerNormalization(),
                layers.Dense(4 * WIDTH, "gelu"),
                layers.Dense(WIDTH),
            ]
        )

    def residual(x, branch):
        if kind == "SubsetDropPath":
            return keras_dropout.SubsetDropPath(branch, rate)(x)
        out = branch(x)
        if kind == "DropPath":
            out = keras_dropout.DropPath(rate)(out)
        return layers.Add()([x, out])

    inputs = keras.Input((PATCHES, PATCH_DIM))
    x = layers.Dense(WIDTH)(inputs)
    for _ in range(DEPTH):
        x = residual(x, SelfAttention())
        x = residual(x, mlp())
    x = layers.GlobalAveragePooling1D()(layers.LayerNormalization()(x))
    return keras.Model(inputs, layers.Dense(10)(x))


def _run(rate, steps):
    import keras
    import numpy as np

    compiled = keras.backend.backend() != "torch"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, PATCHES, PATCH_DIM)).astype("float32")
    y = rng.integers(0, 10, size=(BATCH,))
    results = {}
    for kind in ("none", "DropPath", "SubsetDropPath"):
        keras.utils.set_random_seed(0)
        model = _model(kind, rate)
        model.compile(
            "adam",
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=compiled,
        )
        for _ in range(2):  # compilation, then caches
            model.train_on_batch(x, y)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            model.train_on_batch(x, y)  # returns the loss: waits for the step
            times.append(1000 * (time.perf_counter() - start))
        results[kind] = statistics.median(times)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="jax")
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(MARK + json.dumps(_run(args.rate, args.steps)))
        return
    env = dict(os.environ, KERAS_BACKEND=args.backend, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, __file__, "--child", "--rate", str(args.rate)]
    out = subprocess.run(
        command + ["--steps", str(args.steps)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(li for li in out.splitlines() if li.startswith(MARK))
    result = json.loads(line[len(MARK) :])
    print(f"{args.backend}, rate {args.rate}, batch {BATCH}: median ms per step")
    for kind, ms in result.items():
        print(f"  {kind:<15} {ms:8.1f}")
    saved = 1 - result["SubsetDropPath"] / result["DropPath"]
    print(f"  SubsetDropPath step is {100 * saved:.0f}% shorter than DropPath's")


if __name__ == "__main__":
    main()
