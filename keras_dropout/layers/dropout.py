import keras

from keras_dropout import _validation
from keras_dropout import functional
from keras_dropout._base import NoiseShapeDropout


@keras.saving.register_keras_serializable(package="keras_dropout")
class Dropout(NoiseShapeDropout):
    """Randomly zeroes input units during training.

    Each unit is set to 0 with probability `rate` at each training step.
    With the default `scaling="inverted"`, kept units are divided by
    `1 - rate`, so the expected output equals the input and inference is the
    identity: the same maths as `keras.layers.Dropout`. With
    `scaling="classic"` (the 2014 paper's formulation) kept units are left
    unscaled during training and, at inference, every output is multiplied
    by `1 - rate`; both give the same expected output.

    `rate` is the probability of *dropping* a unit, not of keeping it.

    Args:
        rate: float in `[0, 1)`, fraction of the input units to drop. Can be
            changed during training (`layer.rate = 0.2`) without recompiling.
        noise_shape: optional tuple, the shape of the binary mask that is
            broadcast over the inputs; `None` entries take the input's size.
            For inputs `(batch, timesteps, features)`,
            `noise_shape=(None, 1, None)` uses one mask for all timesteps.
        seed: optional int for the layer's seed generator.
        scaling: keyword-only; `"inverted"` (default) or `"classic"`, see
            above.
        mc: keyword-only; if `True`, drop units at inference too (Monte
            Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of any rank. A Keras mask passes
            through unchanged.
        training: Python bool; `True` applies dropout. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.Dropout(0.5, seed=0)
        >>> x = np.ones((2, 6), "float32")
        >>> y = np.asarray(layer(x, training=True))
        >>> sorted(set(y.ravel().tolist()))  # dropped units, kept units * 2
        [0.0, 2.0]
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Srivastava et al., 2014](https://jmlr.org/papers/v15/srivastava14a.html):
          Dropout: a simple way to prevent neural networks from overfitting.
        - [Hinton et al., 2012](https://arxiv.org/abs/1207.0580).
    """

    draws_per_row = True
    consistent_noise = "multiplicative"

    def __init__(
        self,
        rate,
        noise_shape=None,
        seed=None,
        *,
        scaling="inverted",
        mc=False,
        **kwargs,
    ):
        super().__init__(rate, noise_shape=noise_shape, seed=seed, mc=mc, **kwargs)
        self.scaling = _validation.check_choice(scaling, "scaling", functional.SCALINGS)

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.dropout(
            inputs, rate, seed, noise_shape=self.noise_shape, scaling=self.scaling
        )

    def inference(self, inputs, rate):
        if self.scaling == "classic":
            return functional.unchecked.classic_inference(inputs, rate)
        return inputs

    def get_config(self):
        config = super().get_config()
        config["scaling"] = self.scaling
        return config
