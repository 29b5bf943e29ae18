"""DropBlock1D/2D/3D and `drop_block`: blocks, rates, layouts, shapes."""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout import functional
from keras_dropout.functional import drop_block
from keras_dropout.layers.dropblock import DropBlock1D
from keras_dropout.layers.dropblock import DropBlock2D
from keras_dropout.layers.dropblock import DropBlock3D
from tests.harness import BACKEND
from tests.harness import input_gradient
from tests.harness import numpy

LAYERS = {1: DropBlock1D, 2: DropBlock2D, 3: DropBlock3D}


def _dropped(x, rate, block, seed, data_format="channels_last"):
    return numpy(drop_block(x, rate, block, seed, data_format=data_format)) == 0


def _covered_by_full_windows(dropped, block):
    """Units of `dropped` (spatial axes only) inside an all-dropped window
    that lies entirely within the map."""
    covered = np.zeros_like(dropped)
    starts = [range(n - b + 1) for n, b in zip(dropped.shape, block, strict=True)]
    for corner in np.ndindex(*[len(s) for s in starts]):
        window = tuple(slice(c, c + b) for c, b in zip(corner, block, strict=True))
        if np.all(dropped[window]):
            covered[window] = True
    return covered


# --- the dropped fraction -------------------------------------------------

# Overlapping blocks drop a unit once, so the paper's gamma drops less than
# `rate`. Measured (8 draws of 16 x 8 maps, portable generator): -4 % to
# -9 % at rate 0.1, -8 % to -15 % at 0.2, -11 % to -20 % at 0.3 and -20 %
# to -28 % at 0.5, larger for larger blocks and in 3D (more overlap). The
# bounds leave about 2 % for those spreads and sampling noise (under 1 %);
# the fraction is never above `rate` by more than that noise.
FRACTION_CASES = [
    # rate, map, block, lowest and highest relative error accepted
    (0.1, (16, 16), 3, -0.08, 0.02),
    (0.1, (24, 24), 5, -0.08, 0.02),
    (0.1, (8, 8, 8), 3, -0.12, 0.02),
    (0.2, (64,), 6, -0.10, 0.02),
    (0.2, (8, 8, 8), 3, -0.18, 0.02),
    (0.3, (16, 16), 3, -0.17, 0.02),
    (0.3, (32, 32), 7, -0.20, 0.02),
    (0.3, (12, 20), (3, 5), -0.17, 0.02),
]


@pytest.mark.parametrize("rate, size, block, low, high", FRACTION_CASES)
def test_dropped_fraction_is_near_rate(rate, size, block, low, high):
    x = np.ones((16,) + size + (8,), "float32")
    fraction = np.mean([_dropped(x, rate, block, seed).mean() for seed in range(8)])
    relative = fraction / rate - 1.0
    assert low <= relative <= high, (rate, size, block, fraction)


def test_kept_units_are_renormalized_by_the_kept_fraction():
    x = np.ones((4, 12, 10, 3), "float32")
    out = numpy(DropBlock2D(0.3, 3, seed=1)(x, training=True))
    kept = out != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(out[kept], x.size / kept.sum(), rtol=1e-6)
    np.testing.assert_allclose(out.sum(), x.sum(), rtol=1e-5)


def test_nothing_kept_gives_zeros_not_nan():
    # A block as large as the map: each (sample, channel) map is all dropped
    # with probability `rate`; find a seed that drops the single map.
    x = np.ones((1, 3, 3, 1), "float32")
    for seed in range(50):
        out = numpy(drop_block(x, 0.9, 3, seed))
        if np.all(out == 0):
            break
    else:
        pytest.fail("no seed dropped everything")
    assert np.all(np.isfinite(out))


# --- block geometry -------------------------------------------------------


@pytest.mark.parametrize(
    "size, block",
    [
        ((20,), 4),
        ((20,), 5),
        ((12, 12), 3),
        ((12, 12), 2),
        ((9, 15), (2, 3)),
        ((15, 9), (4, 1)),
        ((6, 7, 8), (2, 3, 2)),
    ],
)
def test_dropped_regions_are_unions_of_full_blocks(size, block):
    n = len(size)
    block = (block,) * n if isinstance(block, int) else block
    x = np.ones((3,) + size + (2,), "float32")
    for seed in range(3):
        dropped = _dropped(x, 0.2, block, seed)
        assert dropped.any() and not dropped.all()
        for b in range(3):
            for c in range(2):
                maps = dropped[b, ..., c]
                np.testing.assert_array_equal(
                    _covered_by_full_windows(maps, block), maps
                )


@pytest.mark.parametrize("block", [1, 2, 3, 4])
def test_single_seed_covers_exactly_one_block(block):
    # A map where only one seed position is valid: the block fills it.
    x = np.ones((64, block, 1), "float32")
    dropped = _dropped(x, 0.5, block, seed=3)[..., 0]
    per_map = dropped.sum(axis=1)
    assert set(per_map.tolist()) == {0, block}


def test_non_square_maps_and_blocks():
    # keras-cv's DropBlock2D mixed up height and width on such maps.
    layer = DropBlock2D(0.3, block_size=(2, 4), seed=0)
    x = np.ones((4, 7, 13, 3), "float32")
    out = numpy(layer(x, training=True))
    assert out.shape == x.shape
    dropped = out == 0
    assert dropped.any()
    for b in range(4):
        for c in range(3):
            maps = dropped[b, :, :, c]
            np.testing.assert_array_equal(_covered_by_full_windows(maps, (2, 4)), maps)


@pytest.mark.parametrize("block", [10, (2, 10), (10, 2)])
def test_block_larger_than_the_map(block):
    x = np.ones((16, 4, 6, 8), "float32")
    out = numpy(DropBlock2D(0.5, block_size=block, seed=2)(x, training=True))
    dropped = out == 0
    assert dropped.any() and not dropped.all()
    sides = (block, block) if isinstance(block, int) else block
    for axis, side in zip((1, 2), sides, strict=True):
        if side > x.shape[axis]:  # that axis is dropped whole or not at all
            assert np.all(dropped.all(axis=axis) | ~dropped.any(axis=axis))


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_channels_first_is_the_transposed_channels_last(n, rng):
    keras_dropout.config.set_rng(rng)
    cls = LAYERS[n]
    size = (9, 7, 5)[:n]
    last = np.random.default_rng(0).uniform(0.5, 1.5, (3,) + size + (4,))
    last = last.astype("float32")
    first = np.moveaxis(last, -1, 1)
    out_last = numpy(
        cls(0.3, 2, data_format="channels_last", seed=4)(last, training=True)
    )
    out_first = numpy(
        cls(0.3, 2, data_format="channels_first", seed=4)(first, training=True)
    )
    assert np.any(out_last == 0)
    np.testing.assert_array_equal(np.moveaxis(out_last, -1, 1), out_first)


def test_masks_differ_across_samples_channels_and_calls():
    layer = DropBlock2D(0.3, 3, seed=5)
    x = np.ones((2, 10, 10, 2), "float32")
    first, second = (numpy(layer(x, training=True)) == 0 for _ in range(2))
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[..., 0], first[..., 1])
    assert not np.array_equal(first, second)


# --- shapes, modes, arguments ---------------------------------------------


def test_inference_is_the_identity():
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 3)).astype("float32")
    layer = DropBlock2D(0.5, 3, seed=0)
    np.testing.assert_array_equal(numpy(layer(x)), x)
    np.testing.assert_array_equal(numpy(layer(x, training=False)), x)


def test_unknown_spatial_sizes():
    inputs = keras.Input((None, None, 3))
    hidden = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    model = keras.Model(inputs, DropBlock2D(0.3, (3, 2), seed=5)(hidden))
    for size in [(6, 9), (11, 4), (2, 2)]:
        x = np.ones((2,) + size + (3,), "float32")
        assert numpy(model(x, training=True)).shape == (2,) + size + (4,)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow graph shapes")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_dynamic_shapes_in_a_tensorflow_graph(data_format):
    import tensorflow as tf

    layer = DropBlock2D(0.3, 3, data_format=data_format, seed=1)
    fn = tf.function(
        lambda x: layer(x, training=True),
        input_signature=[tf.TensorSpec((None, None, None, None), "float32")],
    )
    shape = (4, 12, 9, 2) if data_format == "channels_last" else (4, 2, 12, 9)
    x = np.ones(shape, "float32")
    out = fn(x).numpy()
    assert out.shape == x.shape
    dropped = (
        out == 0 if data_format == "channels_last" else np.moveaxis(out, 1, -1) == 0
    )
    assert dropped.any()
    for b in range(4):
        for c in range(2):
            maps = dropped[b, ..., c]
            np.testing.assert_array_equal(_covered_by_full_windows(maps, (3, 3)), maps)


def test_rate_zero_keeps_everything():
    x = np.ones((2, 6, 6, 2), "float32")
    np.testing.assert_array_equal(numpy(drop_block(x, 0.0, 3, seed=0)), x)


@pytest.mark.parametrize(
    "cls, block, config_value",
    [
        (DropBlock1D, 3, 3),
        (DropBlock2D, (2, 3), [2, 3]),
        (DropBlock3D, [1, 2, 3], [1, 2, 3]),
    ],
)
def test_block_size_config(cls, block, config_value):
    layer = cls(0.2, block, data_format="channels_first", seed=3)
    config = layer.get_config()
    assert config["block_size"] == config_value
    assert config["data_format"] == "channels_first"
    assert config["name"] == layer.name  # chains to the base layer
    assert cls.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "cls, block",
    [
        (DropBlock2D, 0),
        (DropBlock2D, -3),
        (DropBlock2D, (3,)),
        (DropBlock1D, (3, 3)),
        (DropBlock3D, (3, 3)),
        (DropBlock2D, (3, 0)),
        (DropBlock2D, 1.5),
    ],
)
def test_bad_block_size_message(cls, block):
    with pytest.raises(ValueError, match="`block_size`") as info:
        cls(0.2, block)
    message = str(info.value)
    assert "positive int" in message and f"block_size={block!r}" in message


@pytest.mark.parametrize(
    "cls, shape", [(DropBlock2D, (2, 3, 4)), (DropBlock1D, (2, 3))]
)
def test_wrong_rank_is_reported(cls, shape):
    with pytest.raises(ValueError, match="rank"):
        cls(0.2, 2)(np.ones(shape, "float32"), training=True)


def test_functional_checks_its_arguments():
    x = np.ones((2, 5, 5, 1), "float32")
    with pytest.raises(ValueError, match="`rate`"):
        drop_block(x, 1.0, 2, seed=0)
    with pytest.raises(ValueError, match="`inputs`"):
        drop_block(np.ones((2, 5), "float32"), 0.1, 2, seed=0)
    with pytest.raises(ValueError, match="`data_format`"):
        drop_block(x, 0.1, 2, seed=0, data_format="nhwc")


# --- timm's options: couple_channels, scale_by_keep -------------------------


def _layer_dropped(cls, x, data_format, **options):
    """Which units one training call of `cls` drops, channels last."""
    out = numpy(
        cls(0.3, 2, data_format=data_format, seed=6, **options)(x, training=True)
    )
    dropped = out == 0
    return np.moveaxis(dropped, 1, -1) if data_format == "channels_first" else dropped


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_coupled_channels_share_one_mask_per_sample(n, data_format):
    size = ((48,), (16, 12), (8, 8, 6))[n - 1]  # several blocks per sample
    last = np.random.default_rng(0).uniform(0.5, 1.5, (4,) + size + (5,))
    last = last.astype("float32")
    x = np.moveaxis(last, -1, 1) if data_format == "channels_first" else last
    dropped = _layer_dropped(LAYERS[n], x, data_format, couple_channels=True)
    assert dropped.any() and not dropped.all()
    for c in range(1, 5):  # every channel has the mask of channel 0
        np.testing.assert_array_equal(dropped[..., c], dropped[..., 0])
    masks = {dropped[b, ..., 0].tobytes() for b in range(4)}
    assert len(masks) == 4  # each sample draws its own mask
    for b in range(4):  # still unions of whole blocks
        np.testing.assert_array_equal(
            _covered_by_full_windows(dropped[b, ..., 0], (2,) * n), dropped[b, ..., 0]
        )
    # Both layouts drop the same blocks for the same seed, as uncoupled.
    other = "channels_last" if data_format == "channels_first" else "channels_first"
    y = np.moveaxis(last, -1, 1) if other == "channels_first" else last
    np.testing.assert_array_equal(
        _layer_dropped(LAYERS[n], y, other, couple_channels=True), dropped
    )


def test_uncoupled_channels_draw_their_own_masks():
    x = np.ones((2, 16, 16, 4), "float32")
    dropped = _layer_dropped(DropBlock2D, x, "channels_last", couple_channels=False)
    assert all(
        not np.array_equal(dropped[..., c], dropped[..., 0]) for c in range(1, 4)
    )


def test_coupled_channels_rescale_by_the_kept_fraction():
    x = np.ones((4, 12, 10, 3), "float32")
    out = numpy(DropBlock2D(0.3, 3, seed=1, couple_channels=True)(x, training=True))
    kept = out != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(out[kept], x.size / kept.sum(), rtol=1e-6)
    np.testing.assert_allclose(out.sum(), x.sum(), rtol=1e-5)


@pytest.mark.parametrize("couple_channels", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_without_rescaling_kept_units_are_the_inputs(n, couple_channels):
    size = (16, 10, 6)[:n]
    x = np.random.default_rng(2).uniform(0.5, 1.5, (3,) + size + (4,))
    x = x.astype("float32")
    options = {"couple_channels": couple_channels}
    scaled = numpy(LAYERS[n](0.3, 2, seed=8, **options)(x, training=True))
    out = numpy(
        LAYERS[n](0.3, 2, seed=8, scale_by_keep=False, **options)(x, training=True)
    )
    dropped = out == 0
    assert dropped.any() and not dropped.all()
    np.testing.assert_array_equal(out[~dropped], x[~dropped])  # exactly
    # Only the scale differs: the same seed drops the same blocks.
    np.testing.assert_array_equal(dropped, scaled == 0)
    assert not np.allclose(scaled[~dropped], x[~dropped])


def test_without_rescaling_gradients_are_the_mask():
    x = np.random.default_rng(3).uniform(0.5, 1.5, (2, 8, 8, 3)).astype("float32")
    out = numpy(DropBlock2D(0.3, 3, seed=4, scale_by_keep=False)(x, training=True))
    grad = input_gradient(DropBlock2D(0.3, 3, seed=4, scale_by_keep=False), x)
    assert np.any(out == 0)
    np.testing.assert_array_equal(grad, (out != 0).astype("float64"))


def test_default_options_are_the_previous_behaviour():
    x = np.random.default_rng(4).uniform(0.5, 1.5, (2, 10, 10, 3)).astype("float32")
    implicit = DropBlock2D(0.3, 3, seed=9)
    explicit = DropBlock2D(0.3, 3, seed=9, couple_channels=False, scale_by_keep=True)
    assert implicit.couple_channels is False and implicit.scale_by_keep is True
    for _ in range(2):
        np.testing.assert_array_equal(
            numpy(implicit(x, training=True)), numpy(explicit(x, training=True))
        )
    np.testing.assert_array_equal(
        numpy(drop_block(x, 0.3, 3, 9)),
        numpy(drop_block(x, 0.3, 3, 9, couple_channels=False, scale_by_keep=True)),
    )


@pytest.mark.parametrize("couple_channels", [False, True])
@pytest.mark.parametrize("scale_by_keep", [False, True])
def test_unchecked_twin_takes_the_options(couple_channels, scale_by_keep):
    x = np.random.default_rng(5).uniform(0.5, 1.5, (2, 3, 9, 7)).astype("float32")
    options = {"couple_channels": couple_channels, "scale_by_keep": scale_by_keep}
    checked = numpy(drop_block(x, 0.3, (2, 3), 11, "channels_first", **options))
    unchecked = numpy(
        functional.unchecked.drop_block(
            x, np.float32(0.3), (2, 3), 11, "channels_first", **options
        )
    )
    assert np.any(checked == 0)
    np.testing.assert_array_equal(unchecked, checked)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        DropBlock2D(0.3, 3, None, 1, False, True)
    with pytest.raises(TypeError):
        drop_block(
            np.ones((1, 6, 6, 1), "float32"), 0.3, 3, 0, "channels_last", None, True
        )


@pytest.mark.parametrize("cls", [DropBlock1D, DropBlock2D, DropBlock3D])
def test_options_config_round_trip(cls):
    layer = cls(0.2, 2, seed=3, couple_channels=True, scale_by_keep=False)
    config = layer.get_config()
    assert config["couple_channels"] is True and config["scale_by_keep"] is False
    clone = cls.from_config(config)
    assert clone.couple_channels is True and clone.scale_by_keep is False
    assert clone.get_config() == config
    defaults = cls(0.2, 2).get_config()
    assert defaults["couple_channels"] is False and defaults["scale_by_keep"] is True


def test_options_survive_keras_file_save_load(tmp_path):
    inputs = keras.Input((12, 12, 3))
    layer = DropBlock2D(0.3, 3, seed=2, couple_channels=True, scale_by_keep=False)
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True).layers[-1]
    assert type(loaded) is DropBlock2D
    assert loaded.couple_channels is True and loaded.scale_by_keep is False
    x = np.random.default_rng(6).uniform(0.5, 1.5, (2, 12, 12, 3)).astype("float32")
    out = numpy(loaded(x, training=True))
    dropped = out == 0
    assert dropped.any()
    np.testing.assert_array_equal(out[~dropped], x[~dropped])
    for c in range(1, 3):
        np.testing.assert_array_equal(dropped[..., c], dropped[..., 0])


@pytest.mark.parametrize("name", ["couple_channels", "scale_by_keep"])
@pytest.mark.parametrize("value", [1, 0, "yes", None, np.bool_(True)])
def test_bad_option_message(name, value):
    x = np.ones((2, 6, 6, 3), "float32")
    for make in (
        lambda: DropBlock2D(0.2, 2, **{name: value}),
        lambda: drop_block(x, 0.2, 2, 0, **{name: value}),
    ):
        with pytest.raises(ValueError, match=f"`{name}`") as info:
            make()
        message = str(info.value)
        assert "True or False" in message and f"{name}={value!r}" in message
