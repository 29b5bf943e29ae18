"""Save and load a model with every keras_dropout layer, on one backend.

`tests/test_portability.py` runs this file in a fresh process for each
backend it does not run on (`KERAS_BACKEND` is read once per process):

    python tests/_scripts/portability.py DIR SOURCE [SOURCE ...]

saves DIR/model-<backend>.keras (written under another name, then renamed,
so that a reader never sees half a file) and DIR/infer-<backend>-<backend>
.npz, its inference outputs; then, for each SOURCE backend, waits for
DIR/model-<SOURCE>.keras, loads it (`safe_mode=True`, no `custom_objects`)
and writes DIR/train-<SOURCE>-<backend>.npz, the training-mode outputs of
the first three calls with the portable generator, and
DIR/infer-<SOURCE>-<backend>.npz, the inference outputs. The processes of
the three backends run at the same time and read each other's models.

The test module imports this file too, so every process builds the same
model and inputs. Importing keras_dropout registers its classes with
Keras; that is all loading needs.
"""

import os
import sys
import time

import keras
import numpy as np

import keras_dropout as kd

# Calls in training mode whose outputs (and so masks) are compared.
TRAINING_CALLS = 3
STEPS, FEATURES, VOCAB = 6, 8, 20


def inputs():
    """The same inputs in every process: away from 0, so drops show as 0."""
    rng = np.random.default_rng(1234)

    def floats(*shape):
        x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return x.astype("float32")

    return {
        "ids": rng.integers(1, VOCAB, size=(4, STEPS)).astype("int32"),
        "seq": floats(4, STEPS, FEATURES),
        "image": floats(4, 6, 6, 3),
        "volume": floats(2, 4, 4, 4, 3),
    }


# The model's outputs: one per pack layer configuration.
OUTPUT_NAMES = (
    "dropout",
    "dropout_classic",
    "dropout_noise_shape",
    "spatial_1d",
    "spatial_2d",
    "spatial_3d",
    "variational",
    "gaussian",
    "alpha",
    "drop_connect",
    "drop_connect_lstm",
    "drop_connect_dense",
    "concrete",
    "concrete_spatial",
    "drop_block_1d",
    "drop_block_2d",
    "drop_block_3d",
    "drop_path",
    "stochastic_depth",
    "stochastic_depth_batch",
    "embedding",
    "zoneout",
    "patch_dropout",
    "drop_head",
    "subset_drop_path",
)


def build_model():
    """A functional model with every keras_dropout layer, one output each.

    Every pack layer feeds its own named output directly, so each layer's
    mask can be compared on its own. Wrappers wrap fresh Keras layers;
    `ZoneoutCell` runs inside `keras.layers.RNN`.
    """
    ids = keras.Input((STEPS,), dtype="int32", name="ids")
    seq = keras.Input((STEPS, FEATURES), name="seq")
    image = keras.Input((6, 6, 3), name="image")
    volume = keras.Input((4, 4, 4, 3), name="volume")
    hidden = keras.layers.Dense(FEATURES, name="hidden")(seq)
    branch = keras.layers.Dense(FEATURES, activation="tanh", name="branch")(seq)
    layers = {
        "dropout": (kd.Dropout(0.4, seed=1), hidden),
        "dropout_classic": (kd.Dropout(0.4, scaling="classic", seed=2), hidden),
        "dropout_noise_shape": (
            kd.Dropout(0.4, noise_shape=(None, 1, None), seed=3),
            hidden,
        ),
        "spatial_1d": (kd.SpatialDropout1D(0.4, seed=4), hidden),
        "spatial_2d": (kd.SpatialDropout2D(0.4, seed=5), image),
        "spatial_3d": (
            kd.SpatialDropout3D(0.4, data_format="channels_first", seed=6),
            volume,
        ),
        "variational": (kd.VariationalDropout(0.4, seed=7), hidden),
        "gaussian": (kd.GaussianDropout(0.4, seed=8), hidden),
        "alpha": (kd.AlphaDropout(0.2, seed=9), hidden),
        "drop_connect": (kd.DropConnect(keras.layers.Dense(5), 0.4, seed=10), hidden),
        "drop_connect_lstm": (
            kd.DropConnect(
                keras.layers.LSTM(5, return_sequences=True),
                0.4,
                weights=("recurrent_kernel",),
                seed=11,
            ),
            hidden,
        ),
        "drop_connect_dense": (
            kd.DropConnectDense(5, 0.4, activation="relu", seed=12),
            hidden,
        ),
        "concrete": (
            kd.ConcreteDropout(keras.layers.Dense(5), init_rate=0.3, seed=13),
            hidden,
        ),
        "concrete_spatial": (
            kd.ConcreteDropout(
                keras.layers.Conv2D(4, 3, padding="same"),
                init_rate=0.3,
                spatial=True,
                seed=14,
            ),
            image,
        ),
        "drop_block_1d": (kd.DropBlock1D(0.3, 2, seed=15), hidden),
        "drop_block_2d": (kd.DropBlock2D(0.3, (2, 3), seed=16), image),
        "drop_block_3d": (kd.DropBlock3D(0.3, 2, seed=17), volume),
        "drop_path": (kd.DropPath(0.5, seed=18), hidden),
        "stochastic_depth": (kd.StochasticDepth(0.5, seed=19), [hidden, branch]),
        "stochastic_depth_batch": (
            kd.StochasticDepth(0.5, mode="batch", seed=20),
            [hidden, branch],
        ),
        "embedding": (
            kd.EmbeddingDropout(keras.layers.Embedding(VOCAB, 4), 0.4, seed=21),
            ids,
        ),
        "zoneout": (
            keras.layers.RNN(
                kd.ZoneoutCell(keras.layers.LSTMCell(5), [0.3, 0.5], seed=22),
                return_sequences=True,
            ),
            hidden,
        ),
        "patch_dropout": (kd.PatchDropout(0.5, seed=23), hidden),
        "drop_head": (kd.DropHead(0.5, 4, seed=24), hidden),
        "subset_drop_path": (
            kd.SubsetDropPath(keras.layers.Dense(FEATURES), 0.4, seed=25),
            hidden,
        ),
    }
    outputs = {}
    for name, (layer, x) in layers.items():
        outputs[name] = layer(x)
    return keras.Model(
        {"ids": ids, "seq": seq, "image": image, "volume": volume}, outputs
    )


def pack_layer_types(model):
    """The names of the keras_dropout classes in `model` (nested included)."""
    return sorted({type(layer).__name__ for layer in kd.models.pack_layers(model)})


def _numpy(outputs):
    return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in outputs.items()}


def inference(model):
    return _numpy(model(inputs(), training=False))


def training(model):
    """The outputs of the first training-mode calls, portable generator.

    On JAX the calls are jitted, as in `fit` (and compiling the model once
    is faster there than compiling each op for eager calls); TensorFlow and
    PyTorch call eagerly. The portable masks are the same either way.
    """
    kd.config.set_rng("portable")
    if keras.backend.backend() == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        state = [v.value for v in model.non_trainable_variables]
        step = jax.jit(
            lambda trainable, state, x: model.stateless_call(
                trainable, state, x, training=True
            )
        )
        outputs = []
        for _ in range(TRAINING_CALLS):
            out, state = step(trainable, state, inputs())
            outputs.append(out)
    else:
        outputs = [model(inputs(), training=True) for _ in range(TRAINING_CALLS)]
    calls = {}
    for call, out in enumerate(outputs):
        for name, value in _numpy(out).items():
            calls[f"{name}/{call}"] = value
    return calls


def _path(directory, kind, source, backend=None):
    backend = keras.backend.backend() if backend is None else backend
    if kind == "model":
        return os.path.join(directory, f"model-{source}.keras")
    return os.path.join(directory, f"{kind}-{source}-{backend}.npz")


def save(directory):
    """Save this backend's model (atomically) and its inference outputs."""
    backend = keras.backend.backend()
    model = build_model()
    partial = os.path.join(directory, f"partial-{backend}.keras")
    model.save(partial)
    np.savez(_path(directory, "infer", backend), **inference(model))
    os.replace(partial, _path(directory, "model", backend))


def load(directory, source, timeout=300.0):
    """Load `source`'s model once it exists; write its outputs here.

    The training-mode outputs come first, from the freshly loaded model:
    every process starts from the seed states saved in the file. Inference
    draws no randomness, so it can follow.
    """
    path = _path(directory, "model", source)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.2)
    model = keras.saving.load_model(path, safe_mode=True)
    np.savez(_path(directory, "train", source), **training(model))
    np.savez(_path(directory, "infer", source), **inference(model))


def main(argv):
    """`DIR SOURCE...`: save this backend's model, then load each source's."""
    directory, sources = argv[0], argv[1:]
    save(directory)
    for source in sources:
        load(directory, source)


if __name__ == "__main__":
    main(sys.argv[1:])
