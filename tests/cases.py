"""Every public layer configuration the harness checks. Add new layers here."""

import keras_dropout
from keras_dropout import AlphaDropout
from keras_dropout import GaussianDropout
from keras_dropout import SpatialDropout1D
from keras_dropout import SpatialDropout2D
from keras_dropout import SpatialDropout3D
from keras_dropout import VariationalDropout
from tests.harness import LayerCase

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
