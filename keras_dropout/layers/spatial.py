"""Spatial dropout: drop whole feature maps (channels), not single units."""

import keras

from keras_dropout import _validation
from keras_dropout import functional
from keras_dropout._base import BaseDropout
from keras_dropout._base import FeatureMaps


class _SpatialDropout(FeatureMaps, BaseDropout):
    """The shared part of the three spatial layers: the mask's shape.

    The mask has one entry per sample and channel, broadcast over every
    spatial position: `(batch, 1, ..., 1, channels)` for `"channels_last"`,
    `(batch, channels, 1, ..., 1)` for `"channels_first"`. In both layouts
    the mask's entries are in (sample, channel) order, so for the same seed
    a `"channels_first"` layer drops the same channels as a
    `"channels_last"` one.

    The arguments come in Keras's order (`SpatialDropout2D(rate,
    data_format, seed, name, dtype)`); the pack's own (`mc`) are
    keyword-only.
    """

    draws_per_row = True
    consistent_noise = "multiplicative"

    def __init__(
        self,
        rate,
        data_format=None,
        seed=None,
        name=None,
        dtype=None,
        *,
        mc=False,
        **kwargs,
    ):
        super().__init__(rate, seed=seed, mc=mc, name=name, dtype=dtype, **kwargs)
        self.data_format = _validation.check_data_format(data_format)

    @property
    def noise_shape(self):
        """The mask shape; `None` entries take the input's size."""
        ones = (1,) * (self.rank - 2)
        if self.data_format == "channels_last":
            return (None,) + ones + (None,)
        return (None, None) + ones

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.dropout(
            inputs, rate, seed, noise_shape=self.noise_shape
        )

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


@keras.saving.register_keras_serializable(package="keras_dropout")
class SpatialDropout1D(_SpatialDropout):
    """Drops entire 1D feature maps (channels) of a sequence.

    For each sample, each channel is either zeroed at every step (with
    probability `rate`) or kept at every step and divided by `1 - rate`.
    Neighbouring steps of a feature map are usually strongly correlated
    (as after a `Conv1D`), so dropping single units barely regularizes:
    their neighbours carry the same information. Dropping the whole map does.

    Compared with `keras.layers.SpatialDropout1D`, it adds `mc` and the
    `keras_dropout.mc_dropout()` scope; a rate that can change during
    training without recompiling; masks that are the same on TensorFlow,
    JAX and PyTorch for the same seed (with the default `"portable"`
    generator); and a check that the input has the right rank. It also
    takes `data_format`, for `(batch, channels, steps)` sequences (Keras's
    layer is always channels-last): keyword-only, so the positional
    arguments are Keras's (`SpatialDropout1D(rate, seed, name, dtype)`).
    Inference is the identity, as in Keras.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a channel (not
            of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        seed: optional int for the layer's seed generator.
        name: optional name of the layer.
        dtype: optional dtype or dtype policy of the layer.
        data_format: keyword-only; `"channels_last"` or
            `"channels_first"`: where the channels axis is. `None` (the
            default) uses `keras.config.image_data_format()`, which is
            `"channels_last"` unless configured otherwise.
        mc: keyword-only; if `True`, drop channels at inference too (Monte
            Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 3. The batch and spatial
            sizes may be unknown until call time.
        training: Python bool; `True` applies dropout. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        3D tensor `(batch, steps, channels)` with `"channels_last"`, or
        `(batch, channels, steps)` with `"channels_first"`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.SpatialDropout1D(0.5, seed=0)
        >>> x = np.ones((2, 5, 8), "float32")  # (batch, steps, channels)
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.all(y == y[:, :1, :]))  # one decision per sample and channel
        True
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Tompson et al., 2014](https://arxiv.org/abs/1411.4280):
          Efficient object localization using convolutional networks.
    """

    rank = 3
    spatial = "steps"

    def __init__(
        self,
        rate,
        seed=None,
        name=None,
        dtype=None,
        *,
        data_format=None,
        mc=False,
        **kwargs,
    ):
        super().__init__(
            rate,
            data_format=data_format,
            seed=seed,
            name=name,
            dtype=dtype,
            mc=mc,
            **kwargs,
        )


@keras.saving.register_keras_serializable(package="keras_dropout")
class SpatialDropout2D(_SpatialDropout):
    """Drops entire 2D feature maps (channels) of an image.

    For each sample, each channel is either zeroed at every pixel (with
    probability `rate`) or kept at every pixel and divided by `1 - rate`.
    Neighbouring pixels of a convolutional feature map are strongly
    correlated, so dropping single pixels barely regularizes; dropping
    whole maps makes the channels independent of each other.

    Compared with `keras.layers.SpatialDropout2D`, it adds `mc` and the
    `keras_dropout.mc_dropout()` scope; a rate that can change during
    training without recompiling; masks that are the same on TensorFlow,
    JAX and PyTorch for the same seed (with the default `"portable"`
    generator); and a check that the input has the right rank. Inference is
    the identity, as in Keras.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a channel (not
            of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        data_format: `"channels_last"` or `"channels_first"`: where the
            channels axis is. `None` (the default) uses
            `keras.config.image_data_format()`, which is `"channels_last"`
            unless configured otherwise.
        seed: optional int for the layer's seed generator.
        name: optional name of the layer.
        dtype: optional dtype or dtype policy of the layer.
        mc: keyword-only; if `True`, drop channels at inference too (Monte
            Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 4. The batch and spatial
            sizes may be unknown until call time.
        training: Python bool; `True` applies dropout. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        4D tensor `(batch, rows, cols, channels)` with `"channels_last"`,
        or `(batch, channels, rows, cols)` with `"channels_first"`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.SpatialDropout2D(0.5, seed=0)
        >>> x = np.ones((2, 3, 4, 8), "float32")  # (batch, rows, cols, channels)
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.all(y == y[:, :1, :1, :]))  # one decision per sample and channel
        True
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Tompson et al., 2014](https://arxiv.org/abs/1411.4280):
          Efficient object localization using convolutional networks.
    """

    rank = 4
    spatial = "rows, cols"


@keras.saving.register_keras_serializable(package="keras_dropout")
class SpatialDropout3D(_SpatialDropout):
    """Drops entire 3D feature maps (channels) of a volume.

    For each sample, each channel is either zeroed at every voxel (with
    probability `rate`) or kept at every voxel and divided by `1 - rate`.
    Neighbouring voxels of a convolutional feature map are strongly
    correlated, so dropping single voxels barely regularizes; dropping
    whole maps makes the channels independent of each other.

    Compared with `keras.layers.SpatialDropout3D`, it adds `mc` and the
    `keras_dropout.mc_dropout()` scope; a rate that can change during
    training without recompiling; masks that are the same on TensorFlow,
    JAX and PyTorch for the same seed (with the default `"portable"`
    generator); and a check that the input has the right rank. Inference is
    the identity, as in Keras.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a channel (not
            of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        data_format: `"channels_last"` or `"channels_first"`: where the
            channels axis is. `None` (the default) uses
            `keras.config.image_data_format()`, which is `"channels_last"`
            unless configured otherwise.
        seed: optional int for the layer's seed generator.
        name: optional name of the layer.
        dtype: optional dtype or dtype policy of the layer.
        mc: keyword-only; if `True`, drop channels at inference too (Monte
            Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 5. The batch and spatial
            sizes may be unknown until call time.
        training: Python bool; `True` applies dropout. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        5D tensor `(batch, dim1, dim2, dim3, channels)` with
        `"channels_last"`, or `(batch, channels, dim1, dim2, dim3)` with
        `"channels_first"`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.SpatialDropout3D(
        ...     0.5, data_format="channels_first", seed=0)
        >>> x = np.ones((2, 8, 2, 3, 4), "float32")  # (batch, channels, d1, d2, d3)
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.all(y == y[:, :, :1, :1, :1]))  # per sample and channel
        True
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Tompson et al., 2014](https://arxiv.org/abs/1411.4280):
          Efficient object localization using convolutional networks.
    """

    rank = 5
    spatial = "dim1, dim2, dim3"
