"""The model and data the distribution scripts train (no backend imports)."""

import keras
import numpy as np

import keras_dropout as kd

ROWS = 64


def every_family(seed=1):
    """A model with a layer of every keras_dropout family."""
    feats = keras.Input((6, 4), name="feats")
    ids = keras.Input((6,), dtype="int32", name="ids")
    embedded = kd.EmbeddingDropout(keras.layers.Embedding(20, 4), 0.2, seed=seed)(ids)
    h = keras.layers.Dense(8)(keras.layers.Concatenate()([feats, embedded]))
    h = kd.Dropout(0.3, seed=seed)(h)
    h = kd.SpatialDropout1D(0.2, seed=seed + 1)(h)
    h = kd.VariationalDropout(0.2, seed=seed + 2)(h)
    h = kd.GaussianDropout(0.2, seed=seed + 3)(h)
    h = kd.DropBlock1D(0.2, 2, seed=seed + 4)(h)
    h = kd.ConcreteDropout(keras.layers.Dense(8), seed=seed + 5)(h)
    h = kd.AlphaDropout(0.1, seed=seed + 6)(h)
    branch = kd.DropConnectDense(8, 0.3, seed=seed + 7)(h)
    h = kd.StochasticDepth(0.2, seed=seed + 8)([h, branch])
    h = kd.DropPath(0.2, seed=seed + 9)(h)
    h = keras.layers.RNN(kd.ZoneoutCell(keras.layers.GRUCell(8), 0.2, seed=seed + 10))(
        h
    )
    return keras.Model({"feats": feats, "ids": ids}, keras.layers.Dense(1)(h))


def data(rows=ROWS):
    rng = np.random.default_rng(0)
    x = {
        "feats": rng.normal(size=(rows, 6, 4)).astype("float32"),
        "ids": rng.integers(0, 20, size=(rows, 6)).astype("int32"),
    }
    return x, rng.normal(size=(rows, 1)).astype("float32")
