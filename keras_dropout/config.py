"""Package-wide settings.

Only one setting so far: which random number generator draws dropout masks.
See `keras_dropout.random` for what the two generators are and
`docs/guides/rng.md` for the measurements behind the default.
"""

RNG_CHOICES = ("portable", "native")

# The default, chosen from measurements (docs/guides/rng.md): "portable" is
# 25-300x faster than the backends' generators under jax.jit and XLA on a
# CPU, a few times slower on the op in eager mode, within noise in whole fit
# steps on TensorFlow and JAX; and the only one whose masks are identical on
# TensorFlow, JAX and PyTorch.
_DEFAULT_RNG = "portable"
_rng = _DEFAULT_RNG


def set_rng(name):
    """Choose the generator every keras_dropout layer draws its masks with.

    Args:
        name: `"portable"`: a counter-based integer hash written in
            `keras.ops`; the same seed and call sequence give bit-identical
            masks on TensorFlow, JAX and PyTorch. `"native"`: the backend's
            own generator through `keras.random` (masks differ per backend).

    The choice is read when a layer's `call` is traced, so set it before you
    build and compile a model; a function that is already compiled keeps
    the generator it was traced with.

    Examples:
        >>> import keras_dropout
        >>> keras_dropout.config.set_rng("native")
        >>> keras_dropout.config.get_rng()
        'native'
        >>> keras_dropout.config.set_rng("portable")
    """
    global _rng
    if not isinstance(name, str) or name not in RNG_CHOICES:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{RNG_CHOICES}. Received: name={name!r}"
        )
    _rng = name


def get_rng():
    """Return the name of the generator in use: `"portable"` or `"native"`."""
    return _rng
