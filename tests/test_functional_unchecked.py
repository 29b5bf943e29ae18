"""Arguments are checked once: `functional.unchecked` and the layers' calls.

The public functions of `keras_dropout.functional` check their arguments and
then call their twins in `functional.unchecked`; the layers check theirs when
they are made, built and called, then call `unchecked`. These tests pin both
halves: the twins compute exactly what the checked functions compute, and a
layer call runs no argument check a second time.
"""

import numpy as np
import pytest

import keras_dropout as kd
from keras_dropout import _validation
from keras_dropout import functional

X = np.random.default_rng(0).normal(size=(4, 6, 6, 3)).astype("float32")

# name -> (checked call, unchecked call) on X with seed 11.
PAIRS = {
    "dropout": (
        lambda: functional.dropout(X, 0.3, 11),
        lambda: functional.unchecked.dropout(X, np.float32(0.3), 11),
    ),
    "dropout shared": (
        lambda: functional.dropout(X, 0.3, 11, noise_shape=(None, 1, 1, None)),
        lambda: functional.unchecked.dropout(
            X, np.float32(0.3), 11, noise_shape=(None, 1, 1, None)
        ),
    ),
    "dropout classic": (
        lambda: functional.dropout(X, 0.3, 11, scaling="classic"),
        lambda: functional.unchecked.dropout(X, np.float32(0.3), 11, scaling="classic"),
    ),
    "classic_inference": (
        lambda: functional.classic_inference(X, 0.3),
        lambda: functional.unchecked.classic_inference(X, np.float32(0.3)),
    ),
    "gaussian_dropout": (
        lambda: functional.gaussian_dropout(X, 0.3, 11),
        lambda: functional.unchecked.gaussian_dropout(X, np.float32(0.3), 11),
    ),
    "alpha_dropout": (
        lambda: functional.alpha_dropout(X, 0.3, 11, noise_shape=(None, 1, 1, 3)),
        lambda: functional.unchecked.alpha_dropout(
            X, np.float32(0.3), 11, noise_shape=(None, 1, 1, 3)
        ),
    ),
    "drop_path": (
        lambda: functional.drop_path(X, 0.5, 11),
        lambda: functional.unchecked.drop_path(X, np.float32(0.5), 11),
    ),
    "drop_block": (
        lambda: functional.drop_block(X, 0.3, 3, 11),
        lambda: functional.unchecked.drop_block(X, np.float32(0.3), (3, 3), 11),
    ),
    "drop_block channels_first": (
        lambda: functional.drop_block(X, 0.3, (2, 3), 11, "channels_first"),
        lambda: functional.unchecked.drop_block(
            X, np.float32(0.3), (2, 3), 11, "channels_first"
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_unchecked_twin_computes_the_same(name):
    checked, unchecked = PAIRS[name]
    expected, got = np.asarray(checked()), np.asarray(unchecked())
    assert not np.array_equal(expected, X)  # the call did something
    np.testing.assert_array_equal(got, expected)


def test_unchecked_resolve_noise_shape_fills_none():
    shape = functional.unchecked.resolve_noise_shape(X, (None, 1, 1, None))
    assert tuple(int(d) for d in shape) == (4, 1, 1, 3)
    assert tuple(int(d) for d in functional.unchecked.resolve_noise_shape(X, None)) == (
        X.shape
    )


CHECKS = (
    "check_rate",
    "check_float_inputs",
    "check_choice",
    "check_noise_shape",
    "check_noise_shape_fits",
    "check_block_size",
    "check_data_format",
    "check_batched",
)


@pytest.fixture
def check_counts(monkeypatch):
    """Counts the calls of each argument check in `_validation`."""
    counts = dict.fromkeys(CHECKS, 0)
    for name in CHECKS:
        original = getattr(_validation, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(_validation, name, counted)
    return counts


def test_checked_functions_do_run_the_checks(check_counts):
    # The counter sees the public functions' checks, so a zero count below
    # means the layer skipped them, not that counting failed.
    functional.dropout(X, 0.3, 11, noise_shape=(None, 1, 1, None))
    functional.drop_block(X, 0.3, 3, 11)
    assert check_counts["check_rate"] == 2
    assert check_counts["check_float_inputs"] == 2
    assert check_counts["check_noise_shape_fits"] == 1
    assert check_counts["check_block_size"] == 1


LAYERS = {
    "Dropout": lambda: kd.Dropout(0.3, noise_shape=(None, 1, 1, None), seed=1),
    "Dropout classic": lambda: kd.Dropout(0.3, seed=1, scaling="classic"),
    "SpatialDropout2D": lambda: kd.SpatialDropout2D(0.3, seed=1),
    "GaussianDropout": lambda: kd.GaussianDropout(0.3, seed=1),
    "AlphaDropout": lambda: kd.AlphaDropout(0.3, seed=1),
    "VariationalDropout": lambda: kd.VariationalDropout(0.3, seed=1),
    "DropPath": lambda: kd.DropPath(0.3, seed=1),
    "DropBlock2D": lambda: kd.DropBlock2D(0.3, 3, seed=1),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("training", [True, False])
def test_layer_calls_check_arguments_once(name, training, check_counts):
    layer = LAYERS[name]()
    layer(X, training=True)  # built
    for key in check_counts:
        check_counts[key] = 0
    layer(X, training=training)
    # The rate, scaling, block size and data format were checked when the
    # layer was made; a call checks only its inputs (their dtype in the
    # layer, and their shape against `noise_shape` once, in
    # `_check_input_shape`; SpatialDropout checks the rank itself).
    expected = dict.fromkeys(CHECKS, 0)
    expected["check_noise_shape_fits"] = 1 if name == "Dropout" else 0
    expected["check_batched"] = 1 if name == "DropPath" else 0
    assert check_counts == expected
