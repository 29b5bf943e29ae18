"""Every public layer configuration the harness checks. Add new layers here."""

import keras_dropout
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
