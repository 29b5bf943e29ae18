"""Dropout as continuous noise: Gaussian dropout and alpha dropout (SELU).

Thin layers over `keras_dropout.functional.gaussian_dropout` and
`keras_dropout.functional.alpha_dropout`.
"""

import keras

from keras_dropout import functional
from keras_dropout._base import NoiseShapeDropout


@keras.saving.register_keras_serializable(package="keras_dropout")
class GaussianDropout(NoiseShapeDropout):
    """Multiplies the inputs by 1-centred Gaussian noise during training.

    Each unit is multiplied by a draw from N(1, rate / (1 - rate)): the mean
    and variance that inverted Bernoulli dropout at `rate` gives it, without
    the zeros (Srivastava et al., 2014, section 10; Wang & Manning, 2013).
    Inference is the identity. `rate=0` leaves the inputs unchanged. As in
    Keras, a factor is negative with probability `Phi(-sqrt((1 - rate) /
    rate))`: about 0.1% at rate 0.1, 16% at rate 0.5.

    Compared with `keras.layers.GaussianDropout`, it adds `noise_shape`
    (Keras's layer has none), for example one noise factor per channel and
    sample with `noise_shape=(None, 1, 1, None)`; `mc` and the
    `keras_dropout.mc_dropout()` scope; a rate that can change during
    training without recompiling; noise that is the same on TensorFlow, JAX
    and PyTorch for the same seed (with the default `"portable"` generator);
    and rejection of `rate=1`, for which the noise would be infinite. The
    positional arguments are Keras's (`GaussianDropout(rate, seed)`);
    `noise_shape` and `mc` are keyword-only.

    The normal draws come from uniform ones (Box-Muller, see
    `keras_dropout.random.normal`); with the portable generator their tails stop at
    about 5.8 standard deviations.

    Args:
        rate: float in `[0, 1)`. The noise has standard deviation
            `sqrt(rate / (1 - rate))`. Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        seed: optional int for the layer's seed generator.
        noise_shape: keyword-only; optional tuple, the shape of the noise
            broadcast over the inputs; `None` entries take the input's size.
            For inputs `(batch, timesteps, features)`,
            `noise_shape=(None, 1, None)` uses the same noise at every
            timestep.
        mc: keyword-only; if `True`, apply the noise at inference too
            (Monte Carlo).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of any rank. A Keras mask passes
            through unchanged.
        training: Python bool; `True` applies the noise. Set automatically
            by `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.GaussianDropout(0.2, noise_shape=(None, 1), seed=0)
        >>> x = np.ones((3, 4), "float32")
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.all(y == y[:, :1]))  # one noise factor per sample
        True
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Srivastava et al., 2014](https://jmlr.org/papers/v15/srivastava14a.html):
          Dropout: a simple way to prevent neural networks from overfitting
          (section 10, multiplicative Gaussian noise).
        - [Wang & Manning, 2013](https://proceedings.mlr.press/v28/wang13a.html):
          Fast dropout training.
        - [Kingma et al., 2015](https://arxiv.org/abs/1506.02557):
          Variational dropout and the local reparameterization trick.
    """

    draws_per_row = True
    consistent_noise = "multiplicative"

    def __init__(self, rate, seed=None, *, noise_shape=None, mc=False, **kwargs):
        super().__init__(rate, noise_shape=noise_shape, seed=seed, mc=mc, **kwargs)

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.gaussian_dropout(
            inputs, rate, seed, noise_shape=self.noise_shape
        )


@keras.saving.register_keras_serializable(package="keras_dropout")
class AlphaDropout(NoiseShapeDropout):
    """Dropout for self-normalizing (SELU) networks.

    Plain dropout sets units to 0, which shifts the mean and variance of
    SELU activations and breaks their self-normalization. Alpha dropout
    sets each dropped unit to SELU's negative saturation value
    `alpha' = -scale * alpha` (about -1.7581) instead, then applies the
    affine map `a * x + b` with `a = ((1 - rate) * (1 + rate * alpha'**2))**-0.5`
    and `b = -a * alpha' * rate`, so that inputs of mean 0 and variance 1
    keep mean 0 and variance 1. Inference is the identity. Use it with
    `activation="selu"` and `kernel_initializer="lecun_normal"`; rates of
    0.05 to 0.1 are usual.

    Compared with `keras.layers.AlphaDropout` (same arguments, same
    training and inference maths), it adds `mc` and the
    `keras_dropout.mc_dropout()` scope; a rate that can change during
    training without recompiling; masks that are the same on TensorFlow,
    JAX and PyTorch for the same seed (with the default `"portable"`
    generator); and rejection of `rate=1`, which Keras accepts and turns
    into a division by zero.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a unit (not of
            keeping it). Can be changed during training (`layer.rate = 0.2`)
            without recompiling.
        noise_shape: optional tuple, the shape of the mask broadcast over the
            inputs; `None` entries take the input's size. For inputs
            `(batch, timesteps, features)`, `noise_shape=(None, 1, None)`
            uses one mask for all timesteps.
        seed: optional int for the layer's seed generator.
        mc: keyword-only; if `True`, drop units at inference too (Monte
            Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of any rank. A Keras mask passes
            through unchanged.
        training: Python bool; `True` applies alpha dropout. Set
            automatically by `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.AlphaDropout(0.1, seed=0)
        >>> x = np.random.default_rng(0).normal(size=(200, 500)).astype("float32")
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(abs(y.mean()) < 0.01), bool(abs(y.var() - 1) < 0.02)  # 0 and 1
        (True, True)
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Klambauer et al., 2017](https://arxiv.org/abs/1706.02515):
          Self-normalizing neural networks.
    """

    draws_per_row = True
    consistent_noise = "custom"  # affine, not multiplicative

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.alpha_dropout(
            inputs, rate, seed, noise_shape=self.noise_shape
        )

    def dropout_shared(self, inputs, rate, seed):
        shape = self.noise_shape or (None,) * len(inputs.shape)
        return functional.unchecked.alpha_dropout(
            inputs, rate, seed, noise_shape=(1,) + tuple(shape[1:])
        )
