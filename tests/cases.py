"""Every public layer configuration the harness checks. Add new layers here."""

import keras

import keras_dropout
from keras_dropout import AlphaDropout
from keras_dropout import ConcreteDropout
from keras_dropout import DropBlock1D
from keras_dropout import DropBlock2D
from keras_dropout import DropBlock3D
from keras_dropout import DropConnect
from keras_dropout import DropConnectDense
from keras_dropout import DropHead
from keras_dropout import DropPath
from keras_dropout import GaussianDropout
from keras_dropout import SpatialDropout1D
from keras_dropout import SpatialDropout2D
from keras_dropout import SpatialDropout3D
from keras_dropout import SubsetDropPath
from keras_dropout import VariationalDropout
from tests.harness import LayerCase
from tests.harness import numpy

BAD_RATES = [
    ({"rate": -0.1}, "rate"),
    ({"rate": 1.0}, "rate"),
    ({"rate": 1.5}, "rate"),
    ({"rate": float("nan")}, "rate"),
    ({"rate": float("inf")}, "rate"),
    ({"rate": "0.5"}, "rate"),
    ({"rate": True}, "rate"),
    ({"rate": None}, "rate"),
    ({"seed": 1.5}, "seed"),
    ({"seed": "1"}, "seed"),
    ({"mc": 1}, "mc"),
]

CASES = [
    LayerCase(
        keras_dropout.Dropout,
        {"rate": 0.3, "seed": 7},
        input_shape=(4, 5, 6),
        bad_kwargs=BAD_RATES
        + [
            ({"scaling": "bogus"}, "scaling"),
            ({"noise_shape": "abc"}, "noise_shape"),
            ({"noise_shape": (0, 1)}, "noise_shape"),
            ({"noise_shape": (1.5, None)}, "noise_shape"),
        ],
    ),
    LayerCase(
        keras_dropout.Dropout,
        {"rate": 0.5, "seed": 3, "scaling": "classic"},
        input_shape=(4, 6),
        inference=lambda layer, x: x * (1.0 - layer.rate),
    ),
    LayerCase(
        keras_dropout.Dropout,
        {"rate": 0.4, "seed": 11, "noise_shape": (None, 1, None)},
        input_shape=(3, 7, 5),
    ),
]

BAD_DATA_FORMATS = [
    ({"data_format": "nhwc"}, "data_format"),
    ({"data_format": "channels_middle"}, "data_format"),
    ({"data_format": 3}, "data_format"),
]

BAD_TIME_AXES = [
    ({"time_axis": "1"}, "time_axis"),
    ({"time_axis": 1.0}, "time_axis"),
    ({"time_axis": True}, "time_axis"),
    ({"time_axis": None}, "time_axis"),
    ({"time_axis": 0}, "time_axis"),
]

BAD_NOISE_SHAPES = [
    ({"noise_shape": "abc"}, "noise_shape"),
    ({"noise_shape": (0, 1)}, "noise_shape"),
    ({"noise_shape": (1.5, None)}, "noise_shape"),
    ({"noise_shape": 3}, "noise_shape"),
]

CASES += [
    # Spatial: enough channels per sample that some are dropped and some
    # kept in every case.
    LayerCase(
        SpatialDropout1D,
        {"rate": 0.4, "seed": 7},
        input_shape=(4, 5, 6),
        bad_kwargs=BAD_RATES + BAD_DATA_FORMATS,
    ),
    LayerCase(
        SpatialDropout1D,
        {"rate": 0.5, "seed": 5, "data_format": "channels_first"},
        input_shape=(4, 6, 5),
    ),
    LayerCase(
        SpatialDropout2D,
        {"rate": 0.3, "seed": 3, "data_format": "channels_last"},
        input_shape=(3, 4, 5, 6),
        bad_kwargs=BAD_RATES + BAD_DATA_FORMATS,
    ),
    LayerCase(
        SpatialDropout2D,
        {"rate": 0.5, "seed": 11, "data_format": "channels_first"},
        input_shape=(3, 6, 4, 5),
    ),
    LayerCase(
        SpatialDropout3D,
        {"rate": 0.5, "seed": 2},
        input_shape=(3, 2, 3, 4, 6),
        bad_kwargs=BAD_RATES + BAD_DATA_FORMATS,
    ),
    LayerCase(
        SpatialDropout3D,
        {"rate": 0.4, "seed": 9, "data_format": "channels_first"},
        input_shape=(3, 6, 2, 3, 4),
    ),
    # Variational: the default time axis, and a (batch, features, time) one.
    LayerCase(
        VariationalDropout,
        {"rate": 0.4, "seed": 7},
        input_shape=(4, 5, 6),
        bad_kwargs=BAD_RATES + BAD_TIME_AXES,
    ),
    LayerCase(
        VariationalDropout,
        {"rate": 0.5, "seed": 4, "time_axis": -1},
        input_shape=(4, 6, 5),
    ),
    LayerCase(
        VariationalDropout,
        {"rate": 0.3, "seed": 8, "time_axis": 2},
        input_shape=(3, 4, 5, 6),
    ),
    # Noise layers: no zeros; Gaussian noise multiplies the inputs (so the
    # gradient is out / x), alpha dropout's affine shift does not.
    LayerCase(
        GaussianDropout,
        {"rate": 0.3, "seed": 7},
        input_shape=(4, 5, 6),
        bad_kwargs=BAD_RATES + BAD_NOISE_SHAPES,
        zeros=False,
        mask_gradient=True,
    ),
    LayerCase(
        GaussianDropout,
        {"rate": 0.5, "seed": 3, "noise_shape": (None, 1, None)},
        input_shape=(3, 7, 5),
        zeros=False,
        mask_gradient=True,
    ),
    LayerCase(
        AlphaDropout,
        {"rate": 0.2, "seed": 7},
        input_shape=(4, 5, 6),
        bad_kwargs=BAD_RATES + BAD_NOISE_SHAPES,
        zeros=False,
        mask_gradient=False,
    ),
    LayerCase(
        AlphaDropout,
        {"rate": 0.3, "seed": 5, "noise_shape": (None, 1, None)},
        input_shape=(3, 7, 5),
        zeros=False,
        mask_gradient=False,
    ),
]


# Wrappers: each instance wraps a fresh layer with seeded initializers, so
# that two instances with the same seed compute the same thing.
def _seeded(name, seed):
    return keras.initializers.get({"class_name": name, "config": {"seed": seed}})


def _dense(units, dtype=None):
    return keras.layers.Dense(
        units,
        kernel_initializer=_seeded("GlorotUniform", 0),
        bias_initializer=_seeded("RandomUniform", 1),
        dtype=dtype,
    )


def _conv1d(filters, dtype=None):
    return keras.layers.Conv1D(
        filters,
        3,
        padding="same",
        kernel_initializer=_seeded("GlorotUniform", 0),
        dtype=dtype,
    )


def _conv2d(filters, dtype=None):
    return keras.layers.Conv2D(
        filters,
        3,
        padding="same",
        kernel_initializer=_seeded("GlorotUniform", 0),
        dtype=dtype,
    )


def _lstm(units, dtype=None):
    return keras.layers.LSTM(
        units,
        return_sequences=True,
        kernel_initializer=_seeded("GlorotUniform", 0),
        # Not the default Orthogonal: JAX has no float16 QR on CPU.
        recurrent_initializer=_seeded("GlorotUniform", 1),
        dtype=dtype,
    )


_NOT_A_LAYER = object()


def _wrapping(cls, inner):
    """A factory `f(**kwargs)`: `cls(inner(dtype), **kwargs)`, fresh each call.

    `layer=` replaces the wrapped layer (to test a bad one).
    """

    def build(layer=_NOT_A_LAYER, dtype=None, **kwargs):
        if layer is _NOT_A_LAYER:
            layer = inner(dtype)
        return cls(layer, dtype=dtype, **kwargs)

    return build


def _dense_factory(**kwargs):
    kwargs.setdefault("kernel_initializer", _seeded("GlorotUniform", 0))
    kwargs.setdefault("bias_initializer", _seeded("RandomUniform", 1))
    return DropConnectDense(**kwargs)


def _wrapped_output(layer, x):
    return numpy(layer.layer(x))


BAD_DROPCONNECT = BAD_RATES + [
    ({"variational": 1}, "variational"),
    ({"weights": ()}, "weights"),
    ({"weights": (1,)}, "weights"),
    ({"weights": ""}, "weights"),
    ({"layer": "dense"}, "layer"),
]

BAD_CONCRETE = [
    ({"init_rate": 0.0}, "init_rate"),
    ({"init_rate": 1.0}, "init_rate"),
    ({"init_rate": -0.1}, "init_rate"),
    ({"init_rate": float("nan")}, "init_rate"),
    ({"init_rate": "0.5"}, "init_rate"),
    ({"init_rate": True}, "init_rate"),
    ({"init_rate": None}, "init_rate"),
    ({"temperature": 0.0}, "temperature"),
    ({"temperature": -1.0}, "temperature"),
    ({"temperature": float("inf")}, "temperature"),
    ({"weight_regularizer": -1e-6}, "weight_regularizer"),
    ({"dropout_regularizer": "x"}, "dropout_regularizer"),
    ({"spatial": 1}, "spatial"),
    ({"data_format": "nhwc"}, "data_format"),
    ({"layer": "dense"}, "layer"),
    ({"seed": 1.5}, "seed"),
    ({"mc": 1}, "mc"),
]

CASES += [
    LayerCase(
        DropConnect,
        {"rate": 0.3, "seed": 7},
        input_shape=(4, 5, 6),
        build=_wrapping(DropConnect, lambda dtype: _dense(6, dtype)),
        inference=_wrapped_output,
        bad_kwargs=BAD_DROPCONNECT,
        zeros=False,
        mask_gradient=False,
        weights=2,
    ),
    LayerCase(
        DropConnect,
        {"rate": 0.4, "seed": 3, "variational": True},
        input_shape=(4, 6),
        build=_wrapping(DropConnect, lambda dtype: _dense(6, dtype)),
        inference=_wrapped_output,
        zeros=False,
        mask_gradient=False,
        weights=2,
    ),
    LayerCase(
        DropConnect,
        {"rate": 0.4, "seed": 3},
        input_shape=(3, 7, 6),
        build=_wrapping(DropConnect, lambda dtype: _conv1d(6, dtype)),
        inference=_wrapped_output,
        zeros=False,
        mask_gradient=False,
        weights=2,
    ),
    LayerCase(
        DropConnectDense,
        {"units": 6, "rate": 0.25, "seed": 5, "activation": "tanh"},
        input_shape=(4, 6),
        build=_dense_factory,
        inference=_wrapped_output,
        bad_kwargs=BAD_RATES + [({"units": 0}, "units"), ({"units": 2.5}, "units")],
        zeros=False,
        mask_gradient=False,
        weights=2,
    ),
    LayerCase(
        DropConnect,
        {"rate": 0.3, "seed": 11, "weights": ("recurrent_kernel",)},
        input_shape=(3, 5, 6),
        build=_wrapping(DropConnect, lambda dtype: _lstm(6, dtype)),
        inference=_wrapped_output,
        zeros=False,
        mask_gradient=False,
        weights=3,
    ),
    LayerCase(
        ConcreteDropout,
        {"init_rate": 0.3, "seed": 7},
        input_shape=(4, 6),
        build=_wrapping(ConcreteDropout, lambda dtype: _dense(6, dtype)),
        inference=_wrapped_output,
        bad_kwargs=BAD_CONCRETE,
        zeros=False,
        mask_gradient=False,
        weights=3,
        rate_arg="init_rate",
        atol=1e-5,
    ),
    LayerCase(
        ConcreteDropout,
        {"init_rate": 0.2, "seed": 2, "spatial": True, "temperature": 0.05},
        input_shape=(2, 5, 5, 3),
        build=_wrapping(ConcreteDropout, lambda dtype: _conv2d(3, dtype)),
        inference=_wrapped_output,
        zeros=False,
        mask_gradient=False,
        weights=3,
        rate_arg="init_rate",
        atol=1e-5,
    ),
]


# Structured layers. StochasticDepth takes two inputs, which the harness
# cannot pass: its equivalents of these checks are in tests/test_droppath.py.
BAD_BLOCK_SIZES_2D = [
    ({"block_size": 0}, "block_size"),
    ({"block_size": -2}, "block_size"),
    ({"block_size": (3,)}, "block_size"),
    ({"block_size": (3, 3, 3)}, "block_size"),
    ({"block_size": (3, 0)}, "block_size"),
    ({"block_size": 2.5}, "block_size"),
    ({"block_size": True}, "block_size"),
    ({"block_size": "3"}, "block_size"),
    ({"block_size": None}, "block_size"),
]
BAD_DROPBLOCK_OPTIONS = [
    ({"couple_channels": 1}, "couple_channels"),
    ({"couple_channels": None}, "couple_channels"),
    ({"scale_by_keep": "no"}, "scale_by_keep"),
    ({"scale_by_keep": 0}, "scale_by_keep"),
]

CASES += [
    # Maps small enough to run fast, large enough that every seed used here
    # drops some blocks and keeps some units (also once `Dense(4)` makes the
    # last axis 4, a spatial axis with "channels_first").
    LayerCase(
        DropBlock1D,
        {"rate": 0.3, "block_size": 3, "seed": 7},
        input_shape=(3, 12, 4),
        bad_kwargs=BAD_RATES
        + BAD_DATA_FORMATS
        + [({"block_size": (2, 2)}, "block_size"), ({"block_size": 0}, "block_size")],
    ),
    LayerCase(
        DropBlock1D,
        {"rate": 0.4, "block_size": 2, "seed": 5, "data_format": "channels_first"},
        input_shape=(3, 4, 12),
    ),
    LayerCase(
        DropBlock2D,
        {"rate": 0.3, "block_size": 3, "seed": 3, "data_format": "channels_last"},
        input_shape=(2, 8, 6, 3),
        bad_kwargs=BAD_RATES
        + BAD_DATA_FORMATS
        + BAD_BLOCK_SIZES_2D
        + BAD_DROPBLOCK_OPTIONS,
    ),
    # timm's options: one mask per sample for all channels; no rescaling.
    LayerCase(
        DropBlock2D,
        {
            "rate": 0.3,
            "block_size": (2, 3),
            "seed": 4,
            "data_format": "channels_first",
            "couple_channels": True,
        },
        input_shape=(2, 3, 10, 8),
    ),
    LayerCase(
        DropBlock1D,
        {"rate": 0.3, "block_size": 3, "seed": 6, "scale_by_keep": False},
        input_shape=(3, 12, 4),
    ),
    LayerCase(
        DropBlock2D,
        {
            "rate": 0.3,
            "block_size": (2, 3),
            "seed": 11,
            "data_format": "channels_first",
        },
        input_shape=(2, 3, 8, 6),
    ),
    LayerCase(
        DropBlock3D,
        {"rate": 0.3, "block_size": 2, "seed": 2},
        input_shape=(2, 4, 5, 6, 3),
        bad_kwargs=BAD_RATES
        + BAD_DATA_FORMATS
        + [({"block_size": (2, 2)}, "block_size"), ({"block_size": -1}, "block_size")],
    ),
    LayerCase(
        DropBlock3D,
        {
            "rate": 0.3,
            "block_size": (1, 2, 3),
            "seed": 9,
            "data_format": "channels_first",
        },
        input_shape=(2, 3, 4, 5, 6),
    ),
    LayerCase(
        DropBlock3D,
        {
            "rate": 0.3,
            "block_size": 2,
            "seed": 8,
            "couple_channels": True,
            "scale_by_keep": False,
        },
        input_shape=(2, 5, 6, 4, 3),
    ),
    LayerCase(
        DropPath,
        {"rate": 0.5, "seed": 7},
        input_shape=(8, 5, 6),
        bad_kwargs=BAD_RATES,
    ),
    LayerCase(
        DropPath,
        {"rate": 0.3, "seed": 4},
        input_shape=(16, 6),
    ),
]

# Attention heads. Every `fit` check puts a `Dense(4)` before the layer, so
# `num_heads` divides 4 as well as the case's last axis. PatchDropout changes
# the token count in training and refuses an unknown one, which the harness
# cannot pass: its equivalents of these checks are in tests/test_tokens.py.
BAD_HEADS = [
    ({"num_heads": 0}, "num_heads"),
    ({"num_heads": 2.0}, "num_heads"),
    ({"num_heads": True}, "num_heads"),
    ({"num_heads": None}, "num_heads"),
    ({"head_axis": 0}, "head_axis"),
    ({"head_axis": "1"}, "head_axis"),
    ({"head_axis": 1.0}, "head_axis"),
]

CASES += [
    LayerCase(
        DropHead,
        {"rate": 0.5, "num_heads": 2, "seed": 7},
        input_shape=(8, 5, 6),
        bad_kwargs=BAD_RATES + BAD_HEADS,
    ),
    LayerCase(
        DropHead,
        {"rate": 0.3, "num_heads": 4, "seed": 3},
        input_shape=(8, 8),
    ),
]

# Stochastic depth on a subset of the batch: a residual wrapper. Its output is
# `x` or `x + branch(x) * B / k`, never 0, and its gradient is not out / x.
CASES += [
    LayerCase(
        SubsetDropPath,
        {"rate": 0.3, "seed": 7},
        input_shape=(8, 5, 6),
        # A branch that keeps any width (the fit checks put a Dense(4) first)
        # and treats rows independently.
        build=_wrapping(
            SubsetDropPath, lambda dtype: keras.layers.LayerNormalization(dtype=dtype)
        ),
        inference=lambda layer, x: x + numpy(layer.layer(x)),
        bad_kwargs=BAD_RATES
        + [({"layer": "dense"}, "layer"), ({"seed": 1.5}, "seed"), ({"mc": 1}, "mc")],
        zeros=False,
        mask_gradient=False,
        weights=2,
        atol=1e-5,
    ),
]
