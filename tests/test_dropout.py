"""`keras_dropout.Dropout`: what it computes, measured."""

import keras
import numpy as np
import pytest

import keras_dropout
from tests.harness import assert_binomial
from tests.harness import numpy


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("rate", [0.05, 0.25, 0.5, 0.75, 0.95])
def test_drop_fraction_and_exact_scaling(rng, rate):
    keras_dropout.config.set_rng(rng)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (128, 256)).astype("float32")
    out = numpy(keras_dropout.Dropout(rate, seed=1)(x, training=True))
    dropped = out == 0
    assert_binomial(int(dropped.sum()), x.size, rate)
    kept = ~dropped
    np.testing.assert_allclose(out[kept], x[kept] / np.float32(1 - rate), rtol=1e-6)


def test_mean_is_preserved():
    x = np.full((256, 256), 2.0, "float32")
    layer = keras_dropout.Dropout(0.4, seed=2)
    means = [numpy(layer(x, training=True)).mean() for _ in range(10)]
    # Each output element has mean 2 and sd 2*sqrt(rate/(1-rate)).
    sd = 2.0 * np.sqrt(0.4 / 0.6) / np.sqrt(x.size * len(means))
    assert abs(np.mean(means) - 2.0) < 4.5 * sd


def test_classic_and_inverted_agree_in_expectation():
    """Classic: unscaled in training, x(1-rate) at inference. Inverted: scaled
    by 1/(1-rate) in training, identity at inference. Each mode's training
    mean matches its own inference output; they differ by the factor 1-rate."""
    rate = 0.3
    x = np.random.default_rng(1).uniform(0.5, 1.5, (64, 128)).astype("float32")
    for scaling, factor in (("inverted", 1.0), ("classic", 1.0 - rate)):
        layer = keras_dropout.Dropout(rate, seed=3, scaling=scaling)
        train_mean = np.mean([numpy(layer(x, training=True)) for _ in range(200)], 0)
        inference = numpy(layer(x))
        np.testing.assert_allclose(inference, x * factor, rtol=1e-6)
        # Per-element sd of the 200-sample mean, at most x*sqrt(r/(1-r)/200).
        tolerance = 4.5 * 1.5 * np.sqrt(rate / (1 - rate) / 200)
        assert np.max(np.abs(train_mean - inference)) < tolerance
        assert abs(train_mean.mean() - inference.mean()) < 0.01


def test_classic_keeps_units_unscaled():
    x = np.random.default_rng(2).uniform(0.5, 1.5, (32, 64)).astype("float32")
    out = numpy(keras_dropout.Dropout(0.5, seed=4, scaling="classic")(x, training=True))
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept])


def test_noise_shape_shares_the_mask():
    x = np.random.default_rng(3).uniform(0.5, 1.5, (6, 9, 16)).astype("float32")
    layer = keras_dropout.Dropout(0.5, noise_shape=(None, 1, None), seed=5)
    ratio = numpy(layer(x, training=True)) / x
    # The same mask at every timestep, and not the same for every sample.
    np.testing.assert_array_equal(ratio, np.broadcast_to(ratio[:, :1], ratio.shape))
    assert not np.array_equal(ratio[0, 0], ratio[1, 0])


def test_noise_shape_fixed_dims():
    x = np.ones((4, 3, 8), "float32")
    layer = keras_dropout.Dropout(0.5, noise_shape=(1, 1, 8), seed=6)
    out = numpy(layer(x, training=True))
    np.testing.assert_array_equal(out, np.broadcast_to(out[:1, :1], out.shape))


def test_noise_shape_rank_mismatch_is_reported():
    layer = keras_dropout.Dropout(0.5, noise_shape=(None, 1))
    with pytest.raises(ValueError, match="`noise_shape`.*length 3"):
        layer(np.ones((2, 3, 4), "float32"), training=True)


def test_keras_mask_passes_through():
    inputs = keras.Input((5,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    dropped = keras_dropout.Dropout(0.5, seed=1)(embedded)
    assert dropped._keras_mask is not None
    model = keras.Model(inputs, keras.layers.LSTM(3)(dropped))
    tokens = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0]])
    assert numpy(model(tokens)).shape == (2, 3)
    layer = keras_dropout.Dropout(0.5)
    mask = np.array([[True, False]])
    np.testing.assert_array_equal(
        numpy(layer.compute_mask(np.ones((1, 2)), mask)), mask
    )


def test_rate_zero_is_identity_in_training():
    x = np.random.default_rng(4).normal(size=(8, 8)).astype("float32")
    np.testing.assert_array_equal(
        numpy(keras_dropout.Dropout(0.0)(x, training=True)), x
    )


def test_matches_keras_dropout_statistics():
    """Same maths as keras.layers.Dropout: same support, same drop rate."""
    x = np.ones((200, 200), "float32")
    ours = numpy(keras_dropout.Dropout(0.2, seed=1)(x, training=True))
    theirs = numpy(keras.layers.Dropout(0.2, seed=1)(x, training=True))
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, np.float32(1 / 0.8)}
    assert_binomial(int((ours == 0).sum()), x.size, 0.2)


def test_functional_form_validates():
    with pytest.raises(ValueError, match="`rate`"):
        keras_dropout.functional.dropout(np.ones((2, 2), "float32"), 1.0, seed=1)
    with pytest.raises(ValueError, match="`scaling`"):
        keras_dropout.functional.dropout(
            np.ones((2, 2), "float32"), 0.1, 1, scaling="x"
        )
