"""The base layer: rate held in state, MC scope, parity with Keras's Dropout."""

import keras
import numpy as np
import pytest

import keras_dropout
from tests.harness import BACKEND
from tests.harness import numpy


def _zero_fraction(y_true, y_pred):
    return keras.ops.mean(keras.ops.cast(keras.ops.equal(y_pred, 0.0), "float32"))


def _model(rate):
    layer = keras_dropout.Dropout(rate, seed=1)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, kernel_initializer="ones"),
            layer,
        ]
    )
    model.compile("sgd", "mse", metrics=[_zero_fraction])
    return model, layer


def test_rate_change_reaches_compiled_train_step():
    model, layer = _model(0.0)
    x = np.ones((32, 64), "float32")
    y = np.ones((32, 64), "float32")
    first = model.train_on_batch(x, y, return_dict=True)["_zero_fraction"]
    function = model.train_function
    layer.rate = 0.9
    second = model.train_on_batch(x, y, return_dict=True)["_zero_fraction"]
    assert model.train_function is function  # not recompiled
    assert first == 0.0
    assert 0.8 < second < 0.97


def test_rate_change_from_a_callback_during_fit():
    model, layer = _model(0.0)

    class Raise(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            layer.rate = 0.5 * epoch

    x = np.ones((64, 64), "float32")
    history = model.fit(x, x, batch_size=16, epochs=2, verbose=0, callbacks=[Raise()])
    fractions = history.history["_zero_fraction"]
    assert fractions[0] == 0.0
    assert 0.4 < fractions[1] < 0.6


def test_summary_and_weight_files_match_keras_dropout(tmp_path):
    def build(drop):
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), drop])

    ours = build(keras_dropout.Dropout(0.3))
    theirs = build(keras.layers.Dropout(0.3))
    assert ours.count_params() == theirs.count_params()
    assert len(ours.weights) == len(theirs.weights)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")  # interchangeable


def test_mc_dropout_validates_enabled():
    with pytest.raises(ValueError, match="`enabled`"):
        keras_dropout.mc_dropout(enabled="yes")


@pytest.mark.compat
def test_mc_scope_restores_on_error():
    layer = keras_dropout.Dropout(0.5, seed=1)
    x = np.ones((4, 16), "float32")
    with pytest.raises(RuntimeError):
        with keras_dropout.mc_dropout():
            raise RuntimeError
    np.testing.assert_array_equal(numpy(layer(x)), x)


def test_mc_predictions_spread_and_average():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(32, "relu"),
            keras_dropout.Dropout(0.5, seed=3),
            keras.layers.Dense(1),
        ]
    )
    x = np.random.default_rng(0).normal(size=(16, 10)).astype("float32")
    deterministic = model.predict(x, verbose=0)
    with keras_dropout.mc_dropout():
        samples = np.stack([model.predict(x, verbose=0) for _ in range(200)])
    assert np.all(samples.std(0) > 0)
    # With one dropout layer before a linear output, the MC mean estimates
    # the deterministic (weight-scaled) prediction.
    spread = samples.std(0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(0) - deterministic) < 4.5 * spread + 1e-6)


@pytest.mark.compat
def test_backend_specific_imports_are_absent():
    import pathlib
    import re

    package = pathlib.Path(keras_dropout.__file__).parent
    pattern = re.compile(r"^\s*(import|from)\s+(tensorflow|jax|torch)\b", re.M)
    offenders = [str(p) for p in package.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


@pytest.mark.compat
def test_public_api_is_explicit():
    assert keras_dropout.__version__
    for name in keras_dropout.__all__:
        assert hasattr(keras_dropout, name), name
    assert BACKEND in ("tensorflow", "jax", "torch")
