"""Package-wide settings.

Only one setting so far: which random number generator draws dropout masks.
See `keras_dropout.random` for what the two generators are and
`docs/guides/rng.md` for the measurements behind the default.
"""

RNG_CHOICES = ("auto", "portable", "native")

# The default, chosen from measurements (docs/guides/performance.md and
# docs/guides/rng.md): "auto" takes, per call, whichever generator is faster
# where the call runs. Code compiled by XLA (under `jax.jit`, or
# `tf.function(jit_compile=True)`) gets "portable": there the backends'
# generators are 10-1000x slower on a CPU than the hash, which compiles to
# one fused loop. Eager code (PyTorch's default `fit`, direct layer calls)
# and plain `tf.function` graphs get "native": there the hash costs one
# kernel per elementwise op, the backend's generator one kernel in all.
_DEFAULT_RNG = "auto"
_rng = _DEFAULT_RNG


def set_rng(name):
    """Choose the generator every keras_dropout layer draws its masks with.

    Args:
        name: `"auto"` (the default): `"portable"` where XLA compiles
            (`jax.jit`, so every JAX `fit`; `jit_compile=True` on
            TensorFlow), `"native"` elsewhere (eager code such as
            PyTorch's default `fit`, plain `tf.function` graphs such as
            TensorFlow's `fit` on a CPU); each is the faster one there. `"portable"`: a
            counter-based integer hash written in `keras.ops`; the same seed
            and call sequence give bit-identical masks on TensorFlow, JAX and
            PyTorch, eager or compiled. `"native"`: the backend's own
            generator through `keras.random` (masks differ per backend).

    The choice is read when a layer's `call` is traced, so set it before you
    build and compile a model; a function that is already compiled keeps
    the generator it was traced with. Choose `"portable"` when masks must be
    identical across backends or between eager and compiled calls.

    Examples:
        >>> import keras_dropout
        >>> keras_dropout.config.set_rng("portable")
        >>> keras_dropout.config.get_rng()
        'portable'
        >>> keras_dropout.config.set_rng("auto")
    """
    global _rng
    if not isinstance(name, str) or name not in RNG_CHOICES:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{RNG_CHOICES}. Received: name={name!r}"
        )
    _rng = name


def get_rng():
    """Return the configured generator: `"auto"`, `"portable"` or `"native"`.

    Examples:
        >>> import keras_dropout
        >>> keras_dropout.config.get_rng()
        'auto'
    """
    return _rng
