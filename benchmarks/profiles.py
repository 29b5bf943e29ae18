"""Where the time goes in the rows that miss a target on the Performance page.

One backend per process (`KERAS_BACKEND`); prints Markdown tables.

    KERAS_BACKEND=tensorflow python benchmarks/profiles.py
    python benchmarks/profiles.py --all     # every backend, one after another

1. DropBlock2D outside XLA. The steps of `functional.drop_block` (its own
   private helpers, in order) on the large image input (32 x 64 x 64 x 32,
   block 5), timed cumulatively: each row runs every step up to and
   including its own, so the difference to the row above is that step's
   cost. Reference rows: `drop_block` and the layer themselves (argument
   checks and seeding included), one 5 x 5 max-pool pass (the target's
   "pooling pass"), the floor `x * c`, and Keras's `Dropout` on the same
   input, which is what drawing a full-size mask and applying it costs in
   that mode.
2. Fixed per-call cost. `GaussianDropout` (ours and Keras's) on inputs of
   8 and 2**18 elements: at 8 elements the time is all per-call overhead
   (Python, op dispatch, the scalar work on the rate), which is what the
   small rows of the Performance page add on top of the elementwise work.
3. Applying a boolean keep mask, forward and backward (the gradient of
   `sum(f(x))`), eager, on the dense inputs of the Performance page (2**18
   and 2**22 elements), mask drawn beforehand: the backend's own
   `where(keep, x / keep_prob, 0)`, the pack's `functional._select_kept`
   (the same select with its gradient written out on TensorFlow), Keras's
   arithmetic form `x * cast(keep) / keep_prob` (a float mask, which the
   backward pass keeps), and the floor `x * c`.

Modes: eager on every backend, plus `tf.function` on TensorFlow.
"""

import argparse
import os
import statistics
import subprocess
import sys

import _timing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = (32, 64, 64, 32)
BLOCK = 5


def _ms(step, repeats=15, budget=1.0):
    _, times = _timing.measure(step, repeats, budget, min_runs=5)
    return statistics.median(times) * 1e3


def _dropblock_steps(x, seed):
    """`functional.drop_block(x, 0.1, BLOCK, seed)` (channels_last) as
    cumulative prefixes of its own steps: [(step name, fn(x) -> the step's
    output)]. The steps are the library's private helpers, called as
    `drop_block` calls them."""
    from keras import ops

    from keras_dropout import functional as f

    rate = ops.convert_to_tensor(0.1, "float32")  # as `drop_block` casts it
    block = (BLOCK, BLOCK)
    batch, channels, spatial = f._feature_map_axes(ops.shape(x), "channels_last")
    fmt = f._block_pool_format()

    def seeds(x):
        return f._block_seeds(batch, channels, spatial, block, rate, seed)

    def valid(x):
        return f._where_blocks_fit(seeds(x), spatial, block)

    def layout(x):
        return f._to_pool_layout(valid(x), fmt)

    def pool_rows(x):
        return f._grow_blocks_along(layout(x), 0, BLOCK, fmt)

    def pool_cols(x):
        return f._grow_blocks_along(pool_rows(x), 1, BLOCK, fmt)

    def mask(x):
        dropped = pool_cols(x)
        return f._block_keep_mask(dropped, fmt, "channels_last"), dropped

    def apply(x):
        return f._apply_block_mask(x, *mask(x))

    return [
        ("draw block seeds (`drop_mask`)", seeds),
        ("+ keep seeds where a whole block fits", valid),
        ("+ pooling layout, cast to float", layout),
        ("+ pad and max-pool along rows (5 x 1)", pool_rows),
        ("+ pad and max-pool along columns (1 x 5)", pool_cols),
        ("+ boolean mask in the input's layout", lambda x: mask(x)[0]),
        ("+ count kept units, scale and apply (all of `drop_block`)", apply),
    ]


def _modes():
    import keras

    yield "eager", lambda f: f
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        yield "tf.function", tf.function


def profile_dropblock():
    import keras
    import numpy as np

    import keras_dropout as kd

    x = keras.ops.convert_to_tensor(
        np.random.default_rng(0).uniform(0.5, 1.5, IMAGE).astype("float32")
    )
    seed = keras.ops.convert_to_tensor(np.array([1, 2], "int32"))
    backend = keras.backend.backend()
    for mode, wrap in _modes():
        print(f"\n### DropBlock2D, {backend}, {mode}: {IMAGE}, block {BLOCK}\n")
        print("| step | cumulative ms | this step ms |")
        print("|---|---:|---:|")
        before = 0.0
        for name, fn in _dropblock_steps(x, seed):
            f = wrap(fn)
            ms = _ms(lambda f=f: f(x))
            print(f"| {name} | {ms:.1f} | {ms - before:+.1f} |")
            before = ms
        layer = kd.DropBlock2D(0.1, block_size=BLOCK, seed=1)
        keras_dropout = keras.layers.Dropout(0.5, seed=1)
        references = {
            "the function itself, `functional.drop_block` (with its checks)": (
                lambda x: kd.functional.drop_block(x, 0.1, BLOCK, seed)
            ),
            "the layer itself, `DropBlock2D(0.1, 5)`": (
                lambda x, layer=layer: layer(x, training=True)
            ),
            "reference: one 5 x 5 max-pool pass": lambda x: keras.ops.max_pool(
                x, BLOCK, strides=1, padding="same"
            ),
            "reference: the floor, `x * c`": lambda x: keras.ops.multiply(x, 0.5),
            "reference: Keras `Dropout(0.5)` (draw + apply a full mask)": (
                lambda x, layer=keras_dropout: layer(x, training=True)
            ),
        }
        for name, fn in references.items():
            f = wrap(fn)
            print(f"| {name} | {_ms(lambda f=f: f(x)):.1f} | |")


def profile_per_call():
    import keras
    import numpy as np

    import keras_dropout as kd

    backend = keras.backend.backend()
    for mode, wrap in _modes():
        print(f"\n### GaussianDropout per call, {backend}, {mode}\n")
        print("| elements | ours ms | Keras ms | difference ms |")
        print("|---:|---:|---:|---:|")
        for shape in ((2, 4), (256, 1024)):
            x = keras.ops.convert_to_tensor(
                np.random.default_rng(0).uniform(0.5, 1.5, shape).astype("float32")
            )
            ours = kd.GaussianDropout(0.5, seed=1)
            theirs = keras.layers.GaussianDropout(0.5, seed=1)
            f_ours = wrap(lambda x, layer=ours: layer(x, training=True))
            f_theirs = wrap(lambda x, layer=theirs: layer(x, training=True))
            # Alternate the two, several rounds, to share any drift.
            a, b = [], []
            for _ in range(5):
                for times, f in ((a, f_ours), (b, f_theirs)):
                    times.append(_ms(lambda f=f, x=x: f(x), repeats=20, budget=0.3))
            a, b = statistics.median(a), statistics.median(b)
            n = int(np.prod(shape))
            print(f"| {n} | {a:.3f} | {b:.3f} | {a - b:+.3f} |")


def _input_gradient(fn):
    """`x -> d sum(fn(x)) / dx`, eager, on the current backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(fn(x))
            return tape.gradient(total, x)

    elif backend == "jax":
        import jax

        grad = jax.grad(lambda x: fn(x).sum())
    else:

        def grad(x):
            x = x.detach().requires_grad_(True)
            fn(x).sum().backward()
            return x.grad

    return grad


def profile_select():
    import keras
    import numpy as np
    from keras import ops

    from keras_dropout import functional as f

    backend = keras.backend.backend()
    keep_prob = np.float32(0.5)
    print(f"\n### Applying a boolean mask, {backend}, eager, fwd+bwd\n")
    print("| elements | backend's where | pack's select | x * float mask | floor |")
    print("|---:|---:|---:|---:|---:|")
    for shape in ((256, 1024), (2048, 2048)):
        rng = np.random.default_rng(0)
        x = ops.convert_to_tensor(rng.uniform(0.5, 1.5, shape).astype("float32"))
        keep = ops.convert_to_tensor(rng.uniform(size=shape) >= 0.5)
        forms = [
            lambda x, k=keep: ops.where(k, ops.divide(x, keep_prob), 0.0),
            lambda x, k=keep: f._select_kept(k, x, 0.0, keep_prob),
            lambda x, k=keep: ops.divide(
                ops.multiply(x, ops.cast(k, x.dtype)), keep_prob
            ),
            lambda x: ops.multiply(x, 2.0),
        ]
        grads = [_input_gradient(form) for form in forms]
        times = [[] for _ in forms]
        for _ in range(5):  # alternate the forms, to share any drift
            for t, grad in zip(times, grads, strict=True):
                t.append(_ms(lambda g=grad, x=x: g(x), repeats=10, budget=0.4))
        cells = " | ".join(f"{statistics.median(t):.2f}" for t in times)
        print(f"| {int(np.prod(shape))} | {cells} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="every backend")
    args = parser.parse_args(argv)
    if args.all:
        for backend in ("tensorflow", "jax", "torch"):
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
            env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
            subprocess.run([sys.executable, __file__], env=env, check=True)
        return
    sys.path.insert(0, ROOT)
    profile_dropblock()
    profile_per_call()
    profile_select()


if __name__ == "__main__":
    main()
