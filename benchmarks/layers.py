"""Every mask-style layer of the pack against its Keras counterpart and the floor.

One backend per process (`KERAS_BACKEND`); `benchmarks/suite.py` runs it on
all three and writes the docs page. Alone:

    KERAS_BACKEND=jax python benchmarks/layers.py            # JSON lines
    KERAS_BACKEND=jax python benchmarks/layers.py --quick    # smoke run

For each layer, each input size ("small": 2**18 elements, "large": 2**22)
and each mode of the backend (TensorFlow: eager, `tf.function`,
`tf.function(jit_compile=True)`; JAX: eager, `jax.jit`; PyTorch: eager),
forward and forward + backward (the gradient of `sum(layer(x))` with respect
to `x`) are timed side by side for three rows: the pack's layer, its nearest
Keras counterpart, and the floor (`x * c`, one elementwise pass: what any
mask-style layer costs at least; for `DropConnectDense`, Keras's plain
`Dense`). `DropBlock2D`, which has no Keras counterpart, gets a reference
row instead: one 5 x 5 stride-1 max-pool over a tensor of the input's size.
The pack's layers use the default generator (`"auto"`).

Each timing is the median of up to `--repeats` calls after warm-up, within a
per-row time budget; the rows of one comparison (ours, Keras's, the floor)
are called in interleaved rounds, so that load changes fall on all alike.
Also measured (JAX and PyTorch): the bytes the forward pass keeps for the
backward pass, per input element.
"""

import argparse
import json
import os
import statistics
import sys
import time

import _timing

RATE = 0.5
BLOCK = 5  # DropBlock2D's block size, and its reference pooling window
MARK = "LAYER_RESULT "
SIZES = {
    # name: {shape kind: input shape}; every shape of a size has as many
    # elements (2**18 and 2**22).
    "small": {"dense": (256, 1024), "image": (8, 32, 32, 32), "seq": (32, 64, 128)},
    "large": {"dense": (2048, 2048), "image": (32, 64, 64, 32), "seq": (64, 256, 256)},
}


def _layers():
    """name -> (shape kind, pack factory, counterpart name, its factory)."""
    import keras

    import keras_dropout as kd

    kl = keras.layers
    return {
        "Dropout": (
            "dense",
            lambda s: kd.Dropout(RATE, seed=1),
            "keras Dropout",
            lambda s: kl.Dropout(RATE, seed=1),
        ),
        "GaussianDropout": (
            "dense",
            lambda s: kd.GaussianDropout(RATE, seed=1),
            "keras GaussianDropout",
            lambda s: kl.GaussianDropout(RATE, seed=1),
        ),
        "AlphaDropout": (
            "dense",
            lambda s: kd.AlphaDropout(RATE, seed=1),
            "keras AlphaDropout",
            lambda s: kl.AlphaDropout(RATE, seed=1),
        ),
        "SpatialDropout2D": (
            "image",
            lambda s: kd.SpatialDropout2D(RATE, seed=1),
            "keras SpatialDropout2D",
            lambda s: kl.SpatialDropout2D(RATE, seed=1),
        ),
        "VariationalDropout": (
            "seq",
            lambda s: kd.VariationalDropout(RATE, seed=1),
            "keras Dropout(noise_shape=(b, 1, c))",
            lambda s: kl.Dropout(RATE, noise_shape=(s[0], 1, s[2]), seed=1),
        ),
        "DropBlock2D": (
            "image",
            lambda s: kd.DropBlock2D(0.1, block_size=BLOCK, seed=1),
            None,
            None,
        ),
        "DropPath": ("image", lambda s: kd.DropPath(0.2, seed=1), None, None),
        "DropConnectDense": (
            "dense",
            lambda s: kd.DropConnectDense(s[-1], RATE, seed=1),
            "keras Dense",
            lambda s: kl.Dense(s[-1]),
        ),
    }


class _Floor:
    """The floor row as a callable layer: one elementwise multiply."""

    trainable_variables = non_trainable_variables = ()

    def __call__(self, x, training=True):
        import keras

        return keras.ops.multiply(x, 0.5)


class _Pool:
    """DropBlock's reference row: one pooling pass over a tensor of the input's
    size (a stride-1 `block` x `block` max-pool), what growing the seeds into
    blocks costs when done the direct way. DropBlock's target is this plus the
    floor."""

    trainable_variables = non_trainable_variables = ()

    def __init__(self, block):
        self.block = block

    def __call__(self, x, training=True):
        import keras

        return keras.ops.max_pool(x, self.block, strides=1, padding="same")


def _time_side_by_side(records, builders, repeats, budget):
    """Time the rows of one comparison in interleaved rounds.

    Each builder gives a step; its first call (tracing, compiling) is timed
    alone, plus one warm-up call when that was fast. Then every round calls
    each row's step once, so that a change in the machine's load falls on
    all rows alike and their ratios stay fair; rounds stop at `repeats` or
    once `budget` seconds per row are spent (at least one). A row that
    fails is reported with its error and left out of the rounds.
    """
    steps = {}
    for i, (record, build) in enumerate(zip(records, builders, strict=True)):
        try:
            step = build()
            start = time.perf_counter()
            _timing.sync(step())
            record["first_ms"] = (time.perf_counter() - start) * 1e3
            if record["first_ms"] < budget * 1e3:
                _timing.sync(step())
            steps[i] = step
        except Exception as error:  # a row that fails is reported
            record["error"] = f"{type(error).__name__}: {error}"[:200]
    times = {i: [] for i in steps}
    start = time.perf_counter()
    for _ in range(repeats):
        for i, step in list(steps.items()):
            try:
                begin = time.perf_counter()
                _timing.sync(step())
                times[i].append(time.perf_counter() - begin)
            except Exception as error:
                records[i]["error"] = f"{type(error).__name__}: {error}"[:200]
                del steps[i]
        if time.perf_counter() - start > budget * max(len(steps), 1):
            break
    for i, record in enumerate(records):
        if times.get(i):
            record.update(ms=statistics.median(times[i]) * 1e3, calls=len(times[i]))
    return records


# --- per-backend step builders: (mode, make_step(layer, x)) ------------------


def _tensorflow_modes():
    import tensorflow as tf

    def forward(layer):
        return lambda x: layer(x, training=True)

    def gradient(layer):
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(layer(x, training=True))
            return tape.gradient(total, x)

        return step

    wraps = {
        "eager": lambda f: f,
        "tf.function": tf.function,
        "XLA": lambda f: tf.function(f, jit_compile=True),
    }
    for mode, wrap in wraps.items():
        for pass_, fn in (("fwd", forward), ("fwd+bwd", gradient)):

            def make(layer, x, wrap=wrap, fn=fn):
                compiled = wrap(fn(layer))
                return lambda: compiled(x)

            yield mode, pass_, make


def _jax_pure(layer, x):
    """`(f, state)` with `f(state, x) -> (y, state)`, stateless."""
    if isinstance(layer, (_Floor, _Pool)):
        return (lambda state, x: (layer(x), state)), ()
    layer.build(x.shape) if not layer.built else None

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


def _jax_modes():
    import jax
    import jax.numpy as jnp

    def gradient(call):
        def loss(x, state):
            y, state = call(state, x)
            return jnp.sum(y), state

        grad = jax.grad(loss, has_aux=True)
        return lambda state, x: grad(x, state)

    def make(transform):
        def build(layer, x):
            if transform is None and not isinstance(layer, (_Floor, _Pool)):
                return lambda: layer(x, training=True)
            call, state = _jax_pure(layer, x)
            fn = (transform or (lambda c: c))(call)
            holder = [state]

            def step():
                out, holder[0] = fn(holder[0], x)
                return out

            return step

        return build

    yield "eager", "fwd", make(None)
    yield "eager", "fwd+bwd", make(gradient)
    yield "jax.jit", "fwd", make(jax.jit)
    yield "jax.jit", "fwd+bwd", make(lambda c: jax.jit(gradient(c)))


def _torch_modes():
    import torch

    def forward(layer, x):
        return lambda: layer(x, training=True)

    def backward(layer, x):
        def step():
            leaf = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(layer(leaf, training=True).sum(), leaf)
            return grad

        return step

    yield "eager", "fwd", forward
    yield "eager", "fwd+bwd", backward


# --- bytes kept for the backward pass ----------------------------------------


def _saved_bytes(layer, x):
    """Bytes the forward pass keeps for backward, or None (TensorFlow).

    PyTorch: the tensors autograd saves during the forward pass (other than
    the input). JAX: the temporary memory of a jitted forward + backward
    above the floor's.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def peak(layer):
            call, state = _jax_pure(layer, x)
            grad = jax.grad(lambda x: jnp.sum(call(state, x)[0]))
            analysis = jax.jit(grad).lower(x).compile().memory_analysis()
            return analysis.temp_size_in_bytes

        # XLA's own count of the temporary buffers of a jitted forward +
        # backward, above the floor's: what the layer keeps between the two
        # passes (inside one compiled step, as in `fit`).
        return max(peak(layer) - peak(_Floor()), 0)
    if backend == "torch":
        import torch

        seen = {}

        def pack(t):
            if t.data_ptr() != leaf.data_ptr():
                seen[t.data_ptr()] = t.numel() * t.element_size()
            return t

        leaf = x.detach().requires_grad_(True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            layer(leaf, training=True)
        return sum(seen.values())
    return None


def run(sizes, repeats, budget, only=None):
    import keras

    backend = keras.backend.backend()
    modes = {"tensorflow": _tensorflow_modes, "jax": _jax_modes, "torch": _torch_modes}
    modes = list(modes[backend]())
    rng = __import__("numpy").random.default_rng(0)
    for name, (kind, pack, counterpart_name, counterpart) in _layers().items():
        if only and name not in only:
            continue
        for size in sizes:
            shape = SIZES[size][kind]
            x = keras.ops.convert_to_tensor(
                rng.uniform(0.5, 1.5, shape).astype("float32")
            )
            rows = [("pack", name, pack)]
            if counterpart is not None:
                rows.append(("keras", counterpart_name, counterpart))
            if name == "DropBlock2D":
                rows.append(
                    ("reference", "max_pool 5x5, stride 1", lambda s: _Pool(BLOCK))
                )
            # A floor row with every layer, timed in the same rounds as it.
            if name != "DropConnectDense":
                rows.append(("floor", "x * c", lambda s: _Floor()))
            for mode, pass_, make in modes:
                records = [
                    {
                        "backend": backend,
                        "layer": name,
                        "size": size,
                        "kind": kind,
                        "shape": list(shape),
                        "mode": mode,
                        "pass": pass_,
                        "role": role,
                        "label": label,
                    }
                    for role, label, _ in rows
                ]
                steps = [
                    lambda f=factory, m=make, s=shape, x=x: m(f(s), x)
                    for _, _, factory in rows
                ]
                for record in _time_side_by_side(records, steps, repeats, budget):
                    print(MARK + json.dumps(record), flush=True)
            for role, label, factory in rows:
                if role in ("floor", "reference"):
                    continue
                try:
                    kept = _saved_bytes(factory(shape), x)
                except Exception as error:
                    kept = None
                    print(f"saved-bytes {name} {label}: {error}", file=sys.stderr)
                if kept is not None:
                    elements = int(__import__("numpy").prod(shape))
                    record = {
                        "backend": backend,
                        "layer": name,
                        "size": size,
                        "role": role,
                        "label": label,
                        "pass": "memory",
                        "bytes_per_element": kept / elements,
                    }
                    print(MARK + json.dumps(record), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small size, 1 call")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per row")
    parser.add_argument("--layers", nargs="*", help="only these layers")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sizes = ["small"] if args.quick else list(SIZES)
    repeats = 1 if args.quick else args.repeats
    run(sizes, repeats, args.budget, args.layers)


if __name__ == "__main__":
    main()
