"""What a user sees: the `model.fit` step time with and without dropout.

Two models on MNIST-1D-sized data (4096 x 40, 10 classes): an MLP
40-256-256-10 and a small CNN (two Conv1D layers of 32 and 64 filters,
kernel 5, then Dense 10), each with a dropout layer (rate 0.3) after each
hidden layer. Rows: no dropout (`keras.layers.Identity` in its place),
`keras.layers.Dropout`, and `keras_dropout.Dropout` with the default
generator. Each backend trains with its default `fit` settings (JAX:
`jax.jit`; TensorFlow on a CPU: `tf.function` without XLA; PyTorch: eager),
and TensorFlow once more with `jit_compile=True`.

    KERAS_BACKEND=jax python benchmarks/fit_step.py            # JSON lines
    KERAS_BACKEND=jax python benchmarks/fit_step.py --epochs 3

Milliseconds per step: the median over timed epochs (after a warm-up epoch
that includes compilation), measured in rounds that alternate between the
rows, so that a busy machine slows all rows alike. On JAX it also reports
the peak temporary memory of the compiled training step (XLA's own memory
analysis of a jitted value-and-grad step of the same model): the memory
dropout adds to a step.
"""

import argparse
import json
import statistics
import time

MARK = "FIT_RESULT "
ROWS = ("no dropout", "keras Dropout", "keras_dropout Dropout")
BATCH = 128


def _drop(row):
    import keras

    import keras_dropout

    if row == "no dropout":
        return keras.layers.Identity()
    if row == "keras Dropout":
        return keras.layers.Dropout(0.3, seed=1)
    return keras_dropout.Dropout(0.3, seed=1)


def build(model_name, row):
    import keras

    keras.utils.set_random_seed(0)
    layers = keras.layers
    if model_name == "MLP":
        body = [layers.Input((40,)), layers.Dense(256, activation="relu"), _drop(row)]
        body += [layers.Dense(256, activation="relu"), _drop(row)]
    else:
        body = [layers.Input((40, 1)), layers.Conv1D(32, 5, activation="relu")]
        body += [_drop(row), layers.Conv1D(64, 5, activation="relu"), _drop(row)]
        body += [layers.Flatten()]
    return keras.Sequential(body + [layers.Dense(10)])


def _data(model_name):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 40)).astype("float32")
    y = rng.integers(0, 10, size=(4096,))
    return (x if model_name == "MLP" else x[..., None]), y


def _jax_step_memory(model_name, row):
    """Peak temporary bytes of a jitted training step (XLA memory analysis)."""
    import jax
    import jax.numpy as jnp

    model = build(model_name, row)
    x, y = _data(model_name)
    x, y = x[:BATCH], y[:BATCH]
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss(trainable, non_trainable, x, y):
        logits, non_trainable = model.stateless_call(
            trainable, non_trainable, x, training=True
        )
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1)), non_trainable

    step = jax.jit(jax.value_and_grad(loss, has_aux=True))
    compiled = step.lower(trainable, non_trainable, x, y).compile()
    analysis = compiled.memory_analysis()
    return getattr(analysis, "temp_size_in_bytes", None)


def measure(epochs, rounds):
    import keras

    backend = keras.backend.backend()
    modes = [("default", "auto")]
    if backend == "tensorflow":
        modes.append(("jit_compile=True", True))
    for model_name in ("MLP", "CNN"):
        x, y = _data(model_name)
        steps = len(x) // BATCH
        for mode, jit in modes:
            models = {}
            for row in ROWS:
                model = build(model_name, row)
                model.compile(
                    "adam",
                    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    jit_compile=jit,
                )
                model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # warm-up
                models[row] = model
            times = {row: [] for row in ROWS}
            for _ in range(rounds):
                for row, model in models.items():
                    for _ in range(epochs):
                        start = time.perf_counter()
                        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
                        times[row].append((time.perf_counter() - start) / steps * 1e3)
            for row in ROWS:
                record = {
                    "backend": backend,
                    "model": model_name,
                    "mode": mode,
                    "row": row,
                    "ms": statistics.median(times[row]),
                    "min_ms": min(times[row]),
                }
                if backend == "jax":
                    record["step_temp_bytes"] = _jax_step_memory(model_name, row)
                print(MARK + json.dumps(record), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    measure(args.epochs, args.rounds)


if __name__ == "__main__":
    main()
