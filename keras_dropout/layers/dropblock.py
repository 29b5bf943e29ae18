"""DropBlock: drop contiguous square (or box) regions of feature maps."""

import numbers

import keras
from keras import ops

from keras_dropout import _validation
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout.functional import _check_functional_rate
from keras_dropout.layers.spatial import _check_data_format
from keras_dropout.layers.spatial import _FeatureMaps


def _check_block_size(block_size, spatial_rank):
    """An int, or a tuple of `spatial_rank` ints, all >= 1, as a tuple."""
    expected = (
        f"a positive int or a tuple of {spatial_rank} positive ints (one per "
        "spatial axis)"
    )

    def is_int(value):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    if is_int(block_size):
        if block_size < 1:
            raise _validation.invalid("block_size", expected, block_size)
        return (int(block_size),) * spatial_rank
    if isinstance(block_size, (tuple, list)):
        if len(block_size) != spatial_rank or not all(
            is_int(b) and b >= 1 for b in block_size
        ):
            raise _validation.invalid("block_size", expected, block_size)
        return tuple(int(b) for b in block_size)
    raise _validation.invalid("block_size", expected, block_size)


def _seed_probability(rate, spatial, block):
    """gamma: the paper's seed rate, corrected for the valid seed region.

    `rate / prod(b) * prod(size) / prod(size - b + 1)` with each block side
    `b` clipped to its axis' `size` (which may be a dynamic scalar).
    """
    gamma = rate
    for size, side in zip(spatial, block, strict=True):
        size = ops.cast(size, "float32")
        side = ops.minimum(size, float(side))
        gamma = ops.multiply(
            gamma, ops.divide(size, ops.multiply(side, size - side + 1.0))
        )
    return ops.clip(gamma, 0.0, 1.0)


def drop_block(inputs, rate, block_size, seed, data_format="channels_last", rng=None):
    """Training-time DropBlock: zero whole blocks of each feature map.

    Block seeds are drawn independently per sample, channel and position
    (with probability `gamma`, see `DropBlock2D`), only where a full block
    fits (its top-left corner at least `block_size - 1` positions from the
    bottom/right edges; a block larger than its axis covers the axis).
    Each seed zeroes the `block_size` window whose top-left corner it is;
    the kept units are then multiplied by `count / count_kept` over the
    whole tensor (0 kept units give zeros, not NaN).

    Args:
        inputs: a floating-point tensor of rank 3, 4 or 5: a batch of 1D,
            2D or 3D feature maps.
        rate: the target fraction of dropped units, in `[0, 1)`: a Python
            float or a float32 scalar tensor.
        block_size: a positive int, or one positive int per spatial axis.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        data_format: `"channels_last"` or `"channels_first"`.
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.layers.dropblock import drop_block
        >>> x = np.ones((1, 6, 6, 1), "float32")
        >>> y = np.asarray(drop_block(x, 0.3, 3, seed=0))
        >>> y.shape
        (1, 6, 6, 1)
    """
    rate = _check_functional_rate(rate, inputs)
    data_format = _check_data_format(data_format)
    rank = len(inputs.shape)
    if rank not in (3, 4, 5):
        raise ValueError(
            "Invalid value received for argument `inputs`. Expected a tensor "
            "of rank 3, 4 or 5 (a batch of 1D, 2D or 3D feature maps). "
            f"Received: inputs.shape={tuple(inputs.shape)}"
        )
    n = rank - 2
    block = _check_block_size(block_size, n)
    shape = ops.shape(inputs)
    if data_format == "channels_last":
        batch, spatial, channels = shape[0], tuple(shape[1:-1]), shape[-1]
    else:
        batch, channels, spatial = shape[0], shape[1], tuple(shape[2:])

    # Seeds, drawn in (sample, channel, *spatial) order whatever the layout,
    # so that both data formats drop the same blocks for the same seed.
    gamma = _seed_probability(rate, spatial, block)
    seeds = kd_random.drop_mask((batch, channels) + spatial, gamma, seed, rng=rng)
    for axis, (size, side) in enumerate(zip(spatial, block, strict=True)):
        # Valid top-left corners: 0 .. size - side (only 0 if side > size).
        last = ops.maximum(ops.subtract(size, side), 0)
        valid = ops.less_equal(ops.arange(size, dtype="int32"), last)
        target = [1] * (n + 2)
        target[axis + 2] = -1
        seeds = ops.logical_and(seeds, ops.reshape(valid, target))

    # Grow each seed into its block: pad `side - 1` zeros before each spatial
    # axis, then a stride-1 "valid" max-pool of the block's size, so output
    # position i sees the seeds at i - side + 1 .. i: a seed at p covers
    # p .. p + side - 1 (clipped to the map), for even and odd sides alike.
    # A max over a box is a max over each of its sides in turn, so the pool
    # runs one axis at a time: `sum(block)` comparisons per unit instead of
    # `prod(block)` (10 instead of 25 for 5x5; measured 11x faster under
    # `jax.jit`, benchmarks/layers.py's "max_pool" row).
    # Each axis is padded just before its pool (XLA folds such a pad into
    # the pooling window; one pad of all axes up front measured 2-4x slower
    # under `jax.jit`).
    # The pooling layout is the one the backend pools in without
    # transposing: channels-first on PyTorch (where the seeds already are;
    # Keras would transpose a channels-last input twice per pool), and
    # channels-last elsewhere (TensorFlow's CPU pooling has no other).
    # benchmarks/profiles.py times each step.
    pool_format = (
        "channels_first" if keras.backend.backend() == "torch" else "channels_last"
    )
    first_spatial = 2
    if pool_format == "channels_last":
        # Moved while boolean: a quarter of the bytes of the float map.
        seeds = ops.transpose(seeds, (0, *range(2, n + 2), 1))
        first_spatial = 1
    dropped = ops.cast(seeds, "float32")
    for axis, side in enumerate(block):
        if side == 1:
            continue
        pad = [(0, 0)] * (n + 2)
        pad[axis + first_spatial] = (side - 1, 0)
        window = [1] * n
        window[axis] = side
        dropped = ops.max_pool(
            ops.pad(dropped, pad),
            pool_size=tuple(window),
            strides=1,
            padding="valid",
            data_format=pool_format,
        )
    # A boolean mask (1 byte per unit) is all the backward pass keeps.
    keep = ops.less(dropped, 0.5)
    if pool_format != data_format:
        if data_format == "channels_first":
            keep = ops.transpose(keep, (0, n + 1, *range(1, n + 1)))
        else:
            keep = ops.transpose(keep, (0, *range(2, n + 2), 1))
    total = 1
    for dim in shape:
        total = ops.multiply(total, dim)
    total = ops.cast(total, "float32")
    # `dropped` holds 0s and 1s, so its sum counts the dropped units (no
    # cast of the mask to sum).
    kept = ops.maximum(ops.subtract(total, ops.sum(dropped)), 1.0)
    scale = ops.cast(ops.divide(total, kept), inputs.dtype)
    return ops.where(keep, ops.multiply(inputs, scale), ops.cast(0.0, inputs.dtype))


class _DropBlock(_FeatureMaps, BaseDropout):
    """The shared part of the three DropBlock layers."""

    def __init__(
        self, rate, block_size, data_format=None, seed=None, mc=False, **kwargs
    ):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        block = _check_block_size(block_size, self.rank - 2)
        self.block_size = block_size if isinstance(block_size, int) else block
        self.data_format = _check_data_format(data_format)

    def dropout(self, inputs, rate, seed):
        self._check_rank(inputs.shape)
        return drop_block(
            inputs, rate, self.block_size, seed, data_format=self.data_format
        )

    def get_config(self):
        config = super().get_config()
        block_size = self.block_size
        config["block_size"] = (
            block_size if isinstance(block_size, int) else list(block_size)
        )
        config["data_format"] = self.data_format
        return config


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropBlock1D(_DropBlock):
    """Drops contiguous runs of steps of each 1D feature map.

    Seeds are drawn independently for each sample, channel and position
    where a whole block fits, with probability
    `gamma = rate / prod(block) * prod(size) / prod(size - block + 1)`
    (the paper's formula, each block side clipped to its axis, so a block
    larger than the map still works: it then covers that whole axis). Each
    seed zeroes the block whose top-left corner it is. Kept units are
    multiplied by `count / count_kept`, both counted over the whole batch
    (as in the paper and in timm), so the batch's mean activation is
    unchanged whatever the overlap of the blocks; a batch with nothing kept
    gives zeros, never NaN. Inference is the identity.

    `rate` is the *target* fraction of dropped units. Overlapping blocks
    drop a unit only once, so the measured fraction is below `rate`, the
    more so for larger rates and blocks and in 3D. Measured on 64-step,
    16x16 to 32x32 and 8x8x8 maps with blocks of 3 to 7: 4-9 % below at
    `rate=0.1`, 8-15 % below at `rate=0.2`, 11-20 % below at `rate=0.3`
    and 20-28 % below at `rate=0.5` (`rate=0.3` drops about 25 %).

    Compared with timm's `DropBlock2d` and keras-cv's `DropBlock2D`, it adds
    1D and 3D layers; non-square blocks and maps (height and width are
    never mixed up); both data formats, with the same blocks for the same
    seed in either layout; unknown batch and spatial sizes (the seed
    region is computed from the dynamic shape); exact block alignment for
    even and odd sizes (seeds only where a whole block fits, no blocks cut
    by the edge); `mc` and the `keras_dropout.mc_dropout()` scope; a rate
    that can change during training without recompiling; and masks that
    are the same on TensorFlow, JAX and PyTorch for the same seed (with the
    default `"portable"` generator).

    Args:
        rate: float in `[0, 1)`, the target fraction of dropped units (not
            of kept ones). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        block_size: positive int, or a tuple of one positive int per
            spatial axis: the size of each dropped block.
        data_format: `"channels_last"` or `"channels_first"`: where the
            channels axis is. `None` (the default) uses
            `keras.config.image_data_format()`.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop blocks at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 3. The batch and step
            sizes may be unknown until call time.
        training: Python bool; `True` applies DropBlock.

    Input shape:
        3D tensor `(batch, steps, channels)` with `"channels_last"`, or
        `(batch, channels, steps)` with `"channels_first"`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.DropBlock1D(0.3, block_size=4, seed=1)
        >>> x = np.ones((2, 32, 3), "float32")  # (batch, steps, channels)
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.any(y == 0)), bool(np.all(np.asarray(layer(x)) == x))
        (True, True)

    Reference:
        - [Ghiasi et al., 2018](https://arxiv.org/abs/1810.12890):
          DropBlock: a regularization method for convolutional networks.
    """

    rank = 3
    spatial = "steps"


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropBlock2D(_DropBlock):
    """Drops contiguous blocks of each 2D feature map.

    Neighbouring pixels of a convolutional feature map are correlated, so
    dropping single pixels barely regularizes: the next layer recovers the
    information from the neighbours. DropBlock drops whole
    `block_size` x `block_size` regions instead.

    Seeds are drawn independently for each sample, channel and position
    where a whole block fits, with probability
    `gamma = rate / prod(block) * prod(size) / prod(size - block + 1)`
    (the paper's formula, each block side clipped to its axis, so a block
    larger than the map still works: it then covers that whole axis). Each
    seed zeroes the block whose top-left corner it is. Kept units are
    multiplied by `count / count_kept`, both counted over the whole batch
    (as in the paper and in timm), so the batch's mean activation is
    unchanged whatever the overlap of the blocks; a batch with nothing kept
    gives zeros, never NaN. Inference is the identity.

    `rate` is the *target* fraction of dropped units. Overlapping blocks
    drop a unit only once, so the measured fraction is below `rate`, the
    more so for larger rates and blocks and in 3D. Measured on 64-step,
    16x16 to 32x32 and 8x8x8 maps with blocks of 3 to 7: 4-9 % below at
    `rate=0.1`, 8-15 % below at `rate=0.2`, 11-20 % below at `rate=0.3`
    and 20-28 % below at `rate=0.5` (`rate=0.3` drops about 25 %).

    Compared with timm's `DropBlock2d` and keras-cv's `DropBlock2D`, it adds
    1D and 3D layers; non-square blocks and maps (height and width are
    never mixed up); both data formats, with the same blocks for the same
    seed in either layout; unknown batch and spatial sizes (the seed
    region is computed from the dynamic shape); exact block alignment for
    even and odd sizes (seeds only where a whole block fits, no blocks cut
    by the edge); `mc` and the `keras_dropout.mc_dropout()` scope; a rate
    that can change during training without recompiling; and masks that
    are the same on TensorFlow, JAX and PyTorch for the same seed (with the
    default `"portable"` generator).

    Args:
        rate: float in `[0, 1)`, the target fraction of dropped units (not
            of kept ones). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        block_size: positive int, or a tuple of one positive int per
            spatial axis: the size of each dropped block.
        data_format: `"channels_last"` or `"channels_first"`: where the
            channels axis is. `None` (the default) uses
            `keras.config.image_data_format()`.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop blocks at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 4. The batch and spatial
            sizes may be unknown until call time.
        training: Python bool; `True` applies DropBlock.

    Input shape:
        4D tensor `(batch, rows, cols, channels)` with `"channels_last"`,
        or `(batch, channels, rows, cols)` with `"channels_first"`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.DropBlock2D(0.2, block_size=3, seed=0)
        >>> x = np.ones((1, 12, 12, 1), "float32")
        >>> y = np.asarray(layer(x, training=True))[0, :, :, 0]
        >>> bool(np.any(y == 0))
        True
        >>> float(y.sum())  # kept units rescaled: the sum is unchanged
        144.0
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Ghiasi et al., 2018](https://arxiv.org/abs/1810.12890):
          DropBlock: a regularization method for convolutional networks.
    """

    rank = 4
    spatial = "rows, cols"


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropBlock3D(_DropBlock):
    """Drops contiguous boxes of each 3D feature map.

    Seeds are drawn independently for each sample, channel and position
    where a whole block fits, with probability
    `gamma = rate / prod(block) * prod(size) / prod(size - block + 1)`
    (the paper's formula, each block side clipped to its axis, so a block
    larger than the map still works: it then covers that whole axis). Each
    seed zeroes the block whose top-left corner it is. Kept units are
    multiplied by `count / count_kept`, both counted over the whole batch
    (as in the paper and in timm), so the batch's mean activation is
    unchanged whatever the overlap of the blocks; a batch with nothing kept
    gives zeros, never NaN. Inference is the identity.

    `rate` is the *target* fraction of dropped units. Overlapping blocks
    drop a unit only once, so the measured fraction is below `rate`, the
    more so for larger rates and blocks and in 3D. Measured on 64-step,
    16x16 to 32x32 and 8x8x8 maps with blocks of 3 to 7: 4-9 % below at
    `rate=0.1`, 8-15 % below at `rate=0.2`, 11-20 % below at `rate=0.3`
    and 20-28 % below at `rate=0.5` (`rate=0.3` drops about 25 %).

    Compared with timm's `DropBlock2d` and keras-cv's `DropBlock2D`, it adds
    1D and 3D layers; non-square blocks and maps (height and width are
    never mixed up); both data formats, with the same blocks for the same
    seed in either layout; unknown batch and spatial sizes (the seed
    region is computed from the dynamic shape); exact block alignment for
    even and odd sizes (seeds only where a whole block fits, no blocks cut
    by the edge); `mc` and the `keras_dropout.mc_dropout()` scope; a rate
    that can change during training without recompiling; and masks that
    are the same on TensorFlow, JAX and PyTorch for the same seed (with the
    default `"portable"` generator).

    Args:
        rate: float in `[0, 1)`, the target fraction of dropped units (not
            of kept ones). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        block_size: positive int, or a tuple of one positive int per
            spatial axis: the size of each dropped block.
        data_format: `"channels_last"` or `"channels_first"`: where the
            channels axis is. `None` (the default) uses
            `keras.config.image_data_format()`.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop blocks at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 5. The batch and spatial
            sizes may be unknown until call time.
        training: Python bool; `True` applies DropBlock.

    Input shape:
        5D tensor `(batch, dim1, dim2, dim3, channels)` with
        `"channels_last"`, or `(batch, channels, dim1, dim2, dim3)` with
        `"channels_first"`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.DropBlock3D(
        ...     0.3, block_size=(2, 3, 3), data_format="channels_first", seed=0)
        >>> x = np.ones((2, 2, 8, 8, 8), "float32")  # (batch, channels, d1, d2, d3)
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.any(y == 0)), bool(np.all(np.asarray(layer(x)) == x))
        (True, True)

    Reference:
        - [Ghiasi et al., 2018](https://arxiv.org/abs/1810.12890):
          DropBlock: a regularization method for convolutional networks.
    """

    rank = 5
    spatial = "dim1, dim2, dim3"
