"""`VariationalDropout`: one mask for every timestep, measured."""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.layers.variational import VariationalDropout
from tests.harness import assert_binomial
from tests.harness import numpy


def _inputs(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype("float32")


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize(
    "shape, time_axis",
    [((32, 9, 16), 1), ((32, 16, 9), -1), ((32, 16, 9), 2), ((16, 9, 4, 8), 1)],
)
def test_same_mask_at_every_timestep(shape, time_axis, rng):
    keras_dropout.config.set_rng(rng)
    rate = 0.4
    x = _inputs(shape)
    ratio = numpy(VariationalDropout(rate, time_axis, seed=1)(x, training=True)) / x
    # Time first: ratio[:, t] must be the same array for every t (exactly
    # where it is 0, up to the rounding of out / x elsewhere).
    ratio = np.moveaxis(ratio, time_axis, 1)
    for t in range(1, ratio.shape[1]):
        np.testing.assert_array_equal(ratio[:, t] == 0, ratio[:, 0] == 0)
        np.testing.assert_allclose(ratio[:, t], ratio[:, 0], rtol=1e-6)
    step = ratio[:, 0]
    assert not np.array_equal(step[0], step[1]), "samples share a mask"
    kept = step != 0
    scale = 1 / (np.float32(1) - np.float32(rate))
    np.testing.assert_allclose(step[kept], scale, rtol=1e-6)
    assert_binomial(int((~kept).sum()), step.size, rate)


def test_masks_change_between_calls():
    x = _inputs((8, 5, 16))
    layer = VariationalDropout(0.5, seed=2)
    first, second = (numpy(layer(x, training=True)) == 0 for _ in range(2))
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("rng", ["portable", "native"])
def test_same_as_dropout_with_a_time_shared_noise_shape(rng):
    """Locked dropout is Dropout(noise_shape=(None, 1, None)): same mask shape,
    same seed, so the very same outputs."""
    keras_dropout.config.set_rng(rng)
    x = _inputs((4, 6, 10))
    ours = VariationalDropout(0.3, seed=3)
    plain = keras_dropout.Dropout(0.3, noise_shape=(None, 1, None), seed=3)
    for _ in range(2):
        np.testing.assert_array_equal(
            numpy(ours(x, training=True)), numpy(plain(x, training=True))
        )


@pytest.mark.parametrize(
    "time_axis, shape", [(3, (2, 3, 4)), (-3, (2, 3, 4)), (7, (2, 3, 4, 5))]
)
def test_time_axis_checked_at_build(time_axis, shape):
    layer = VariationalDropout(0.5, time_axis=time_axis)  # fine until built
    with pytest.raises(ValueError, match="`time_axis`") as info:
        layer(np.ones(shape, "float32"))
    assert f"Received: time_axis={time_axis}" in str(info.value)


@pytest.mark.parametrize("time_axis", [0, "1", 1.0, True, None])
def test_time_axis_type_and_batch_axis_refused_at_once(time_axis):
    with pytest.raises(ValueError, match="`time_axis`"):
        VariationalDropout(0.5, time_axis=time_axis)


def test_negative_time_axis_is_kept_in_config():
    layer = VariationalDropout(0.5, time_axis=-2)
    layer(np.ones((2, 3, 4), "float32"))
    assert layer.get_config()["time_axis"] == -2


def test_rank_two_inputs_refused():
    with pytest.raises(ValueError, match="`inputs` of rank 3 or more"):
        VariationalDropout(0.5)(np.ones((2, 3), "float32"), training=True)


def _masked_model(seed):
    inputs = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
    dropped = VariationalDropout(0.5, seed=seed)(embedded)
    outputs = keras.layers.LSTM(4)(dropped)
    return keras.Model(inputs, outputs), dropped


def test_keras_mask_reaches_the_lstm():
    """Embedding(mask_zero) -> VariationalDropout -> LSTM: the padding mask
    passes through, so the LSTM skips padded steps. Since the dropout mask
    has one entry per sample and feature, whatever the sequence length, a
    padded batch gives the same outputs as the unpadded one, in training too.
    """
    model, dropped = _masked_model(seed=4)
    assert dropped._keras_mask is not None
    twin, _ = _masked_model(seed=4)
    twin.set_weights(model.get_weights())
    tokens = np.array([[1, 2, 3], [4, 5, 6]])
    padded = np.concatenate([tokens, np.zeros((2, 2), tokens.dtype)], axis=1)
    for training in (False, True):
        np.testing.assert_allclose(
            numpy(model(padded, training=training)),
            numpy(twin(tokens, training=training)),
            rtol=1e-5,
            atol=1e-6,
        )
    layer = VariationalDropout(0.5)
    mask = np.array([[True, True, False]])
    np.testing.assert_array_equal(
        numpy(layer.compute_mask(np.ones((1, 3, 2), "float32"), mask)), mask
    )


def test_in_a_stacked_rnn_fit():
    model = keras.Sequential(
        [
            keras.Input((6, 3)),
            keras.layers.LSTM(8, return_sequences=True),
            VariationalDropout(0.3, seed=5),
            keras.layers.GRU(4),
        ]
    )
    model.compile("adam", "mse")
    x = _inputs((8, 6, 3))
    history = model.fit(x, np.zeros((8, 4)), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
