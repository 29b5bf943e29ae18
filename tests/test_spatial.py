"""`SpatialDropout1D/2D/3D`: whole feature maps dropped, measured."""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.layers.spatial import SpatialDropout1D
from keras_dropout.layers.spatial import SpatialDropout2D
from keras_dropout.layers.spatial import SpatialDropout3D
from tests.harness import assert_binomial
from tests.harness import numpy

# Non-square spatial sizes, per layer: a transposition bug shows up.
SPATIAL = {
    SpatialDropout1D: (7,),
    SpatialDropout2D: (5, 3),
    SpatialDropout3D: (2, 3, 4),
}
LAYERS = list(SPATIAL)
FORMATS = ["channels_last", "channels_first"]


def _inputs(cls, data_format, batch, channels, seed=0):
    spatial = SPATIAL[cls]
    shape = (
        (batch,) + spatial + (channels,)
        if data_format == "channels_last"
        else (batch, channels) + spatial
    )
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype("float32")


def _maps(x, data_format):
    """Array as (batch, channels, positions): one row per feature map."""
    if data_format == "channels_last":
        x = np.moveaxis(x, -1, 1)
    return x.reshape(x.shape[0], x.shape[1], -1)


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_each_map_is_all_dropped_or_all_kept(cls, data_format, rng):
    keras_dropout.config.set_rng(rng)
    rate = 0.3
    x = _inputs(cls, data_format, batch=32, channels=24)
    layer = cls(rate, data_format=data_format, seed=1)
    out_maps = _maps(numpy(layer(x, training=True)), data_format)
    in_maps = _maps(x, data_format)
    scaled = in_maps / (np.float32(1) - np.float32(rate))
    dropped = np.all(out_maps == 0, axis=-1)
    # Within 1e-6 (a few ulps): XLA may divide by multiplying by 1 / (1 - rate).
    kept = np.all(np.isclose(out_maps, scaled, rtol=1e-6, atol=0), axis=-1)
    assert np.all(dropped | kept), "a feature map is partly dropped"
    assert_binomial(int(dropped.sum()), dropped.size, rate)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_channel_drop_fraction(rate):
    x = np.ones((64, 4, 3, 32), "float32")
    layer = SpatialDropout2D(rate, seed=2)
    for _ in range(3):
        out = numpy(layer(x, training=True))
        dropped = np.all(out == 0, axis=(1, 2))
        assert_binomial(int(dropped.sum()), dropped.size, rate)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_masks_differ_across_samples_and_calls(cls):
    x = _inputs(cls, "channels_last", batch=8, channels=32)
    layer = cls(0.5, seed=3)
    first = _maps(numpy(layer(x, training=True)), "channels_last")[..., 0] == 0
    second = _maps(numpy(layer(x, training=True)), "channels_last")[..., 0] == 0
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_channels_first_is_the_transposed_channels_last(cls, rng):
    """Both layouts draw the mask in (sample, channel) order: same seed, same
    dropped channels (with either generator: the same number of draws)."""
    keras_dropout.config.set_rng(rng)
    last = _inputs(cls, "channels_last", batch=6, channels=10)
    first = np.moveaxis(last, -1, 1)
    out_last = numpy(cls(0.5, data_format="channels_last", seed=4)(last, training=True))
    out_first = numpy(
        cls(0.5, data_format="channels_first", seed=4)(first, training=True)
    )
    np.testing.assert_array_equal(np.moveaxis(out_last, -1, 1), out_first)


def test_unknown_spatial_sizes():
    inputs = keras.Input((None, None, 3))
    hidden = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    model = keras.Model(inputs, SpatialDropout2D(0.5, seed=5)(hidden))
    for size in [(4, 6), (7, 3)]:
        x = np.ones((2,) + size + (3,), "float32")
        out = numpy(model(x, training=True))
        assert out.shape == (2,) + size + (8,)
        maps = _maps(out, "channels_last")
        assert np.all(np.all(maps == 0, -1) | np.all(maps != 0, -1))


@pytest.mark.parametrize(
    "cls, shape, rank",
    [
        (SpatialDropout1D, (2, 3), 3),
        (SpatialDropout1D, (2, 3, 4, 5), 3),
        (SpatialDropout2D, (2, 3, 4), 4),
        (SpatialDropout3D, (2, 3, 4, 5), 5),
    ],
)
def test_wrong_rank_is_reported(cls, shape, rank):
    layer = cls(0.5)
    with pytest.raises(ValueError, match=rf"`inputs` of rank {rank}.*Received"):
        layer(np.ones(shape, "float32"), training=True)


def test_wrong_rank_after_build_is_reported():
    layer = SpatialDropout2D(0.5)
    layer(np.ones((2, 3, 4, 5), "float32"), training=True)
    with pytest.raises(ValueError, match="`inputs` of rank 4"):
        layer(np.ones((2, 3, 4), "float32"), training=True)


def test_data_format_defaults_to_the_keras_config():
    previous = keras.config.image_data_format()
    try:
        keras.config.set_image_data_format("channels_first")
        assert SpatialDropout2D(0.5).data_format == "channels_first"
        assert SpatialDropout1D(0.5).data_format == "channels_first"
        # Saved configs hold the resolved format, not None.
        config = SpatialDropout3D(0.5).get_config()
        keras.config.set_image_data_format("channels_last")
        assert SpatialDropout3D.from_config(config).data_format == "channels_first"
    finally:
        keras.config.set_image_data_format(previous)
    assert SpatialDropout2D(0.5, data_format="Channels_Last").data_format == (
        "channels_last"
    )


def test_bad_data_format_message():
    with pytest.raises(ValueError) as info:
        SpatialDropout2D(0.5, data_format="nhwc")
    message = str(info.value)
    assert "`data_format`" in message and "channels_first" in message
    assert "Received: data_format='nhwc'" in message


def test_get_config_chains_to_the_base_layer():
    config = SpatialDropout2D(0.2, seed=1, name="sd", dtype="float16").get_config()
    assert config["name"] == "sd" and config["trainable"] is True
    assert config["data_format"] == "channels_last"
    assert SpatialDropout2D.from_config(config).dtype_policy.name == "float16"


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (SpatialDropout1D, keras.layers.SpatialDropout1D),
        (SpatialDropout2D, keras.layers.SpatialDropout2D),
        (SpatialDropout3D, keras.layers.SpatialDropout3D),
    ],
    ids=lambda c: c.__name__,
)
def test_matches_keras(ours, theirs):
    """Keras's layer: same support, per-channel masks, identity at inference."""
    x = _inputs(ours, "channels_last", batch=16, channels=16)
    mine, keras_layer = ours(0.25, seed=1), theirs(0.25, seed=1)
    np.testing.assert_array_equal(numpy(mine(x)), numpy(keras_layer(x)))
    for out in (mine(x, training=True), keras_layer(x, training=True)):
        maps = _maps(numpy(out), "channels_last")
        scaled = _maps(x, "channels_last") / np.float32(0.75)
        kept = np.all(np.isclose(maps, scaled, rtol=1e-6, atol=0), -1)
        assert np.all(np.all(maps == 0, -1) | kept)
