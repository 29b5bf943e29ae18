"""DropBlock: drop contiguous square (or box) regions of feature maps.

`DropBlock2D`'s docstring describes all three layers; `DropBlock1D` and
`DropBlock3D` give what differs (the input shape) and an example.
"""

import keras

from keras_dropout import _validation
from keras_dropout import functional
from keras_dropout._base import BaseDropout
from keras_dropout._base import FeatureMaps


class _DropBlock(FeatureMaps, BaseDropout):
    """The shared part of the three DropBlock layers (see `DropBlock2D`)."""

    draws_per_row = True
    consistent_noise = "multiplicative"

    def __init__(
        self,
        rate,
        block_size,
        data_format=None,
        seed=None,
        mc=False,
        *,
        couple_channels=False,
        scale_by_keep=True,
        **kwargs,
    ):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        block = _validation.check_block_size(block_size, self.rank - 2)
        self.block_size = block_size if isinstance(block_size, int) else block
        self._block = block  # one side per spatial axis, for the unchecked call
        self.data_format = _validation.check_data_format(data_format)
        self.couple_channels = _validation.check_bool(
            couple_channels, "couple_channels"
        )
        self.scale_by_keep = _validation.check_bool(scale_by_keep, "scale_by_keep")

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.drop_block(
            inputs,
            rate,
            self._block,
            seed,
            data_format=self.data_format,
            couple_channels=self.couple_channels,
            scale_by_keep=self.scale_by_keep,
        )

    def get_config(self):
        config = super().get_config()
        block_size = self.block_size
        config["block_size"] = (
            block_size if isinstance(block_size, int) else list(block_size)
        )
        config["data_format"] = self.data_format
        config["couple_channels"] = self.couple_channels
        config["scale_by_keep"] = self.scale_by_keep
        return config


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropBlock1D(_DropBlock):
    """Drops contiguous runs of steps of each 1D feature map.

    `DropBlock2D` for sequences: each block is a run of `block_size`
    steps of one channel. The arguments, how the blocks are drawn and
    rescaled, and how far the dropped fraction falls below `rate` are
    those of `DropBlock2D` (see there); `block_size` is an int or a tuple
    of one int. Inference is the identity.

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
    `block_size` x `block_size` regions instead. `DropBlock1D` (sequences)
    and `DropBlock3D` (volumes) work as described here, with the same
    arguments.

    Seeds are drawn independently for each sample, channel and position
    where a whole block fits (for each sample and position only, with
    `couple_channels=True`), with probability
    `gamma = rate / prod(block) * prod(size) / prod(size - block + 1)`
    (the paper's formula, each block side clipped to its axis, so a block
    larger than the map still works: it then covers that whole axis). Each
    seed zeroes the block whose top-left corner it is. Kept units are
    multiplied by `count / count_kept`, both counted over the whole batch
    (as in the paper and in timm), so the batch's mean activation is
    unchanged whatever the overlap of the blocks; a batch with nothing kept
    gives zeros, never NaN. `scale_by_keep=False` leaves the kept units
    unscaled. Inference is the identity.

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
        couple_channels: bool, keyword-only. `False` (the default): each
            channel of a sample draws its own blocks. `True`: one block mask
            per sample, shared by all its channels, so a block zeroes every
            channel at its position (samples still differ). timm calls it
            `couple_channels` (its default there is `True`; here `False`
            keeps the masks of earlier versions).
        scale_by_keep: bool, keyword-only. `True` (the default): kept units
            are multiplied by `count / count_kept` as described above.
            `False`: kept units are the inputs unchanged and dropped ones 0,
            so the mean activation falls by the dropped fraction. timm
            calls it `scale_by_keep` too.
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

        One mask for all channels of a sample, kept units not rescaled:

        >>> layer = keras_dropout.DropBlock2D(
        ...     0.2, 3, seed=0, couple_channels=True, scale_by_keep=False)
        >>> y = np.asarray(layer(np.ones((2, 12, 12, 4), "float32"), training=True))
        >>> bool(np.all(y == y[..., :1])), sorted(np.unique(y).tolist())
        (True, [0.0, 1.0])

    Reference:
        - [Ghiasi et al., 2018](https://arxiv.org/abs/1810.12890):
          DropBlock: a regularization method for convolutional networks.
    """

    rank = 4
    spatial = "rows, cols"


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropBlock3D(_DropBlock):
    """Drops contiguous boxes of each 3D feature map.

    `DropBlock2D` for volumes: each block is a `block_size` box of one
    channel. The arguments, how the blocks are drawn and rescaled, and how
    far the dropped fraction falls below `rate` (further than in 2D, as
    boxes overlap more) are those of `DropBlock2D` (see there);
    `block_size` is an int or a tuple of three ints. Inference is the
    identity.

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
