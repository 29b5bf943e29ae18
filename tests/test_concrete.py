"""`ConcreteDropout` and `concrete_regularizers`: what they compute, measured.

Wrapping a bias-free `Dense` with an identity kernel makes the wrapped layer
the identity on the last axis, so `output / input` is the relaxed mask
times `1 / (1 - p)`, read element by element.
"""

import math

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.layers.concrete import ConcreteDropout
from keras_dropout.layers.concrete import concrete_regularizers
from tests.harness import assert_binomial
from tests.harness import compile_modes
from tests.harness import numpy


def _identity(units):
    return keras.layers.Dense(units, use_bias=False, kernel_initializer="identity")


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype("float32")


def _penalty(layer, input_dim):
    """The paper's two terms, in float64 numpy, from the layer's weights."""
    p = layer.rate
    kernel = numpy(layer.layer.kernel).astype("float64")
    weight = layer.weight_regularizer * np.sum(kernel**2) / (1 - p)
    entropy = p * math.log(p) + (1 - p) * math.log(1 - p)
    return weight + layer.dropout_regularizer * input_dim * entropy


# --- the regularizer helper -----------------------------------------------


def test_regularizer_helper_is_the_papers_formula():
    assert concrete_regularizers(1000) == (1e-2**2 / 1000, 2 / 1000)
    assert concrete_regularizers(50, length_scale=0.5, tau=4.0) == (
        0.25 / 200,
        2 / 200,
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_samples": True}, "n_samples"),
        ({"n_samples": 10, "length_scale": 0.0}, "length_scale"),
        ({"n_samples": 10, "tau": -1.0}, "tau"),
        ({"n_samples": 10, "tau": float("nan")}, "tau"),
    ],
)
def test_regularizer_helper_validates(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`.*Expected.*Received"):
        concrete_regularizers(**kwargs)


# --- the learned rate -----------------------------------------------------


def test_p_logit_is_the_one_extra_weight():
    dense = keras.layers.Dense(3)
    layer = ConcreteDropout(dense, init_rate=0.25)
    assert layer.rate == 0.25  # before build: init_rate
    layer(np.ones((2, 4), "float32"))
    assert len(layer.weights) == len(dense.weights) + 1
    assert [w.name for w in layer.trainable_weights].count("p_logit") == 1
    assert layer.rate == pytest.approx(0.25, rel=1e-6)


def _regression_model(layer, features=6):
    inputs = keras.Input((features,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, layer(hidden))


@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
def test_rate_is_trained_by_fit(mode):
    keras.utils.set_random_seed(0)
    layer = ConcreteDropout(keras.layers.Dense(1), init_rate=0.2, seed=1)
    model = _regression_model(layer)
    model.compile(
        keras.optimizers.Adam(0.05),
        "mse",
        jit_compile=mode[0],
        run_eagerly=mode[1],
    )
    x = _inputs((64, 6))
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, batch_size=16, epochs=10, verbose=0)
    assert abs(layer.rate - 0.2) > 1e-3


@pytest.mark.parametrize("init_rate", [0.05, 0.9])
def test_entropy_term_pulls_the_rate_to_one_half(init_rate):
    """With zero inputs the mask does not change the data loss, so only the
    penalty moves p: the negative entropy is lowest at p = 0.5."""
    layer = ConcreteDropout(
        keras.layers.Dense(1),
        weight_regularizer=0.0,
        dropout_regularizer=1.0,
        init_rate=init_rate,
        seed=2,
    )
    model = keras.Sequential([keras.Input((4,)), layer])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    x = np.zeros((32, 4), "float32")
    model.fit(x, np.zeros((32, 1), "float32"), batch_size=32, epochs=60, verbose=0)
    assert abs(layer.rate - 0.5) < 0.05


def test_weight_term_pulls_the_rate_down():
    dense = keras.layers.Dense(8, kernel_initializer="ones")
    dense.trainable = False  # a fixed kernel: only p can lower the penalty
    layer = ConcreteDropout(
        dense,
        weight_regularizer=1.0,
        dropout_regularizer=0.0,
        init_rate=0.5,
        seed=2,
    )
    model = keras.Sequential([keras.Input((4,)), layer])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    x = np.zeros((32, 4), "float32")
    model.fit(x, np.zeros((32, 8), "float32"), batch_size=32, epochs=20, verbose=0)
    assert layer.rate < 0.2


def test_rate_setter_restarts_from_the_value():
    layer = ConcreteDropout(keras.layers.Dense(2), init_rate=0.1)
    layer(np.ones((1, 3), "float32"))
    layer.rate = 0.4
    assert layer.rate == pytest.approx(0.4, rel=1e-6)
    assert layer.get_config()["init_rate"] == 0.4
    for bad in (0.0, 1.0, -0.2, float("nan"), "0.3", True):
        with pytest.raises(ValueError, match="`rate`.*Received"):
            layer.rate = bad
    assert "rate" not in layer.get_config()


# --- losses ---------------------------------------------------------------


@pytest.mark.parametrize("spatial", [False, True])
def test_penalty_in_losses_is_the_papers(spatial):
    wd, dd = concrete_regularizers(100)
    conv = keras.layers.Conv2D(5, 3)
    layer = ConcreteDropout(
        conv,
        weight_regularizer=wd,
        dropout_regularizer=dd,
        init_rate=0.3,
        spatial=spatial,
        data_format="channels_last",
    )
    layer(_inputs((2, 6, 6, 4)))
    (loss,) = layer.losses
    # input_dim: the channels (the last axis in both modes, here).
    np.testing.assert_allclose(numpy(loss), _penalty(layer, 4), rtol=1e-5)


def test_penalty_counts_in_the_compiled_loss():
    layer = ConcreteDropout(
        keras.layers.Dense(1, kernel_initializer="ones"),
        weight_regularizer=0.01,
        dropout_regularizer=0.1,
        init_rate=0.3,
    )
    model = keras.Sequential([keras.Input((5,)), layer])
    model.compile("sgd", "mse")
    x = np.zeros((8, 5), "float32")  # outputs 0: the data loss is 0
    evaluated = model.evaluate(x, np.zeros((8, 1), "float32"), verbose=0)
    assert len(model.losses) == 1
    np.testing.assert_allclose(evaluated, _penalty(layer, 5), rtol=1e-5)


@pytest.mark.parametrize("init_rate", [1e-6, 0.5, 1 - 1e-6])
def test_penalty_is_finite_at_extreme_rates(init_rate):
    layer = ConcreteDropout(
        keras.layers.Dense(3), dropout_regularizer=1.0, init_rate=init_rate
    )
    x = _inputs((4, 3))
    assert np.all(np.isfinite(numpy(layer(x, training=True))))
    assert np.isfinite(numpy(layer.losses[0]))


# --- the mask -------------------------------------------------------------


def test_inference_is_the_wrapped_layer_and_deterministic():
    layer = ConcreteDropout(keras.layers.Dense(4), init_rate=0.5, seed=3)
    x = _inputs((5, 6))
    first, second = numpy(layer(x)), numpy(layer(x, training=False))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, numpy(layer.layer(x)), rtol=1e-6)
    assert not np.allclose(numpy(layer(x, training=True)), first)


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_low_temperature_mask_is_a_scaled_bernoulli(rate):
    layer = ConcreteDropout(_identity(64), init_rate=rate, temperature=0.01, seed=4)
    x = _inputs((64, 64))
    ratio = numpy(layer(x, training=True)) / x
    keep = ratio * (1.0 - layer.rate)  # the relaxed keep mask, 1 - drop
    near_binary = (keep < 0.01) | (keep > 0.99)
    assert near_binary.mean() > 0.97
    assert_binomial(int((keep < 0.5).sum()), keep.size, rate)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_spatial_mode_drops_whole_channels(data_format):
    if data_format == "channels_last":
        shape, spatial_axes, channel_axis = (8, 5, 6, 16), (1, 2), 3
    else:
        shape, spatial_axes, channel_axis = (8, 16, 5, 6), (2, 3), 1
    layer = ConcreteDropout(
        _identity(shape[-1]),
        init_rate=0.3,
        temperature=0.001,
        spatial=True,
        data_format=data_format,
        seed=5,
    )
    x = _inputs(shape)
    ratio = numpy(layer(x, training=True)) / x
    # One value per (sample, channel), the same at every position...
    per_channel = ratio.mean(axis=spatial_axes, keepdims=True)
    np.testing.assert_allclose(ratio, np.broadcast_to(per_channel, shape), rtol=1e-5)
    # ... near-binary, and not the same for every channel.
    keep = per_channel.squeeze() * (1.0 - layer.rate)
    assert ((keep < 0.01) | (keep > 0.99)).mean() > 0.97
    assert (keep < 0.5).any() and (keep > 0.5).any()
    assert layer._channel_axis(len(shape)) == channel_axis


def test_gradient_reaches_p_logit():
    layer = ConcreteDropout(_identity(8), init_rate=0.3, seed=6)
    model = keras.Sequential([keras.Input((8,)), layer])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = _inputs((16, 8))
    before = layer.rate
    # Only the data loss: the identity kernel is frozen by the target x.
    model.fit(x, np.zeros_like(x), batch_size=16, epochs=1, verbose=0)
    assert layer.rate != before


# --- Monte Carlo mode -----------------------------------------------------


def test_mc_flag_and_scope():
    x = _inputs((4, 6))
    sampled = ConcreteDropout(keras.layers.Dense(3), init_rate=0.5, mc=True, seed=7)
    assert not np.array_equal(numpy(sampled(x)), numpy(sampled(x)))
    layer = ConcreteDropout(keras.layers.Dense(3), init_rate=0.5, seed=8)
    model = keras.Sequential([keras.Input((6,)), layer])
    baseline = model.predict(x, verbose=0)
    with keras_dropout.mc_dropout():
        first = model.predict(x, verbose=0)
        second = model.predict(x, verbose=0)
    assert not np.array_equal(first, second)
    np.testing.assert_allclose(model.predict(x, verbose=0), baseline, rtol=1e-6)


# --- saving and arguments -------------------------------------------------


def test_learned_rate_survives_a_keras_file(tmp_path):
    layer = ConcreteDropout(keras.layers.Dense(2), init_rate=0.1, seed=9)
    model = keras.Sequential([keras.Input((3,)), layer])
    layer.p_logit.assign(np.float32(1.0))  # as if learned
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True).layers[-1]
    assert loaded.rate == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-6)
    assert loaded.init_rate == 0.1
    x = _inputs((2, 3))
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))


def test_config_round_trip_keeps_every_argument():
    layer = ConcreteDropout(
        keras.layers.Conv1D(3, 2),
        weight_regularizer=1e-3,
        dropout_regularizer=2e-3,
        init_rate=0.15,
        temperature=0.2,
        spatial=True,
        data_format="channels_first",
        seed=3,
        mc=True,
    )
    config = layer.get_config()
    clone = ConcreteDropout.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.layer, keras.layers.Conv1D)


def test_layer_without_a_kernel_is_refused():
    layer = ConcreteDropout(keras.layers.LayerNormalization())
    with pytest.raises(ValueError, match="`layer`.*kernel"):
        layer(np.ones((2, 3), "float32"))


def test_data_format_default_follows_keras_config():
    layer = ConcreteDropout(keras.layers.Dense(2))
    assert layer.data_format == keras.config.image_data_format()
