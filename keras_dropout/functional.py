"""Each technique as a pure function of a tensor, a rate and a seed.

The layers are thin wrappers around these; the functions are also usable on
their own, inside custom layers or training loops. `seed` is what
`keras_dropout.random.uniform` accepts: an int, a
`keras.random.SeedGenerator`, or a seed tensor from `SeedGenerator.next()`.
"""

from keras import ops

from keras_dropout import _validation
from keras_dropout import random as kd_random

SCALINGS = ("inverted", "classic")


def resolve_noise_shape(inputs, noise_shape):
    """The mask shape: `noise_shape` with `None` entries taken from `inputs`.

    `None` means the mask has the inputs' own shape.
    """
    shape = ops.shape(inputs)
    if noise_shape is None:
        return shape
    if len(noise_shape) != len(shape):
        raise ValueError(
            "Invalid value received for argument `noise_shape`. Expected a "
            f"tuple of length {len(shape)} (the rank of the inputs). "
            f"Received: noise_shape={tuple(noise_shape)}"
        )
    return tuple(shape[i] if dim is None else dim for i, dim in enumerate(noise_shape))


def dropout(inputs, rate, seed, noise_shape=None, scaling="inverted", rng=None):
    """Training-time dropout: zero each unit with probability `rate`.

    Args:
        inputs: a floating-point tensor.
        rate: drop probability in `[0, 1)`: a Python float or a float32
            scalar tensor.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        noise_shape: optional mask shape that broadcasts to the inputs
            (`None` entries are filled from the inputs); for example
            `(batch, 1, features)` shares the mask over timesteps.
        scaling: `"inverted"` divides kept units by `1 - rate` (so inference
            is the identity); `"classic"` keeps them unscaled (so inference
            multiplies by `1 - rate`, see `classic_inference`).
        rng: `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Example:

    >>> import numpy as np
    >>> from keras_dropout.functional import dropout
    >>> y = np.asarray(dropout(np.ones((2, 4), "float32"), 0.5, seed=0))
    >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    """
    if isinstance(rate, (int, float)):
        _validation.check_rate(rate)
    _validation.check_choice(scaling, "scaling", SCALINGS)
    keep = kd_random.keep_mask(
        resolve_noise_shape(inputs, noise_shape), rate, seed, rng=rng
    )
    if scaling == "inverted":
        keep_prob = ops.cast(ops.subtract(1.0, rate), inputs.dtype)
        inputs = ops.divide(inputs, keep_prob)
    return ops.where(keep, inputs, ops.zeros_like(inputs))


def classic_inference(inputs, rate):
    """Inference for `scaling="classic"`: outputs times `1 - rate`."""
    return ops.multiply(inputs, ops.cast(ops.subtract(1.0, rate), inputs.dtype))
