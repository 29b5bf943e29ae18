"""The one place dropout masks are drawn.

Every layer of the pack gets its randomness from `uniform` (or `keep_mask`,
built on it). Two generators stand behind that function; which one is used
is `keras_dropout.config.get_rng()` unless `rng=` names one:

* `"portable"`: a counter-based hash in `keras.ops` int32 arithmetic. Its
  inputs are the two words of a Keras seed (seed, call counter) and each
  element's flat index; its output is 24 uniform bits per element. Because it
  is plain integer arithmetic with two's-complement wrap-around, TensorFlow,
  JAX and PyTorch compute the same bits, so the same seed and call sequence
  give bit-identical masks on all three. It keeps no Python-side state and
  traces under `jax.jit` and XLA.
* `"native"`: the backend's own generator through `keras.random`.

`"auto"` (the default) picks one per call: "portable" in code compiled by
XLA (`jax.jit`, TensorFlow's `jit_compile=True`), where it is the faster,
and "native" elsewhere (eager code, plain `tf.function` graphs).

A *seed* here is what `keras.random.SeedGenerator.next()` returns (a tensor of
two integers), a `SeedGenerator` (advanced once), or a Python int.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_dropout import _compat
from keras_dropout import config

_TWO_POW_MINUS_24 = 1.0 / 16777216.0
_TWO_POW_23 = 1 << 23
# The portable generator's uniforms are multiples of 2**-24, so `1 - u` is at
# least this; the guard keeps `log` finite for any generator.
_SMALLEST_UNIFORM = 2.0**-24


def _int32(value):
    """A Python int of up to 32 bits, as the int32 with the same bits."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


_GOLDEN = _int32(0x9E3779B9)
_MIX_1 = _int32(0x7FEB352D)
_MIX_2 = _int32(0x846CA68B)
_KEY_SALT = _int32(0x632BE5AB)
_COUNTER_SALT = _int32(0x2C1B3C6D)


def _shift_right(x, bits):
    # Logical shift on int32: the arithmetic shift, then clear the sign copies.
    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def _mix(x):
    # A 32-bit avalanche mixer (xor-shift-multiply, constants from
    # Wellons' "lowbias32"); wrap-around multiplication is defined on all
    # three backends for int32.
    x = ops.bitwise_xor(x, _shift_right(x, 16))
    x = ops.multiply(x, ops.convert_to_tensor(_MIX_1, "int32"))
    x = ops.bitwise_xor(x, _shift_right(x, 15))
    x = ops.multiply(x, ops.convert_to_tensor(_MIX_2, "int32"))
    return ops.bitwise_xor(x, _shift_right(x, 16))


def _check_seed(seed):
    if isinstance(seed, bool) or seed is None or isinstance(seed, (float, str)):
        raise ValueError(
            "Invalid value received for argument `seed`. Expected an int, a "
            "`keras.random.SeedGenerator` or a seed tensor of two integers "
            f"(from `SeedGenerator.next()`). Received: seed={seed!r}"
        )


def _seed_words(seed):
    """Any accepted seed as a tensor of two int32 words."""
    _check_seed(seed)
    if isinstance(seed, keras.random.SeedGenerator):
        seed = seed.next()
    elif isinstance(seed, int):
        seed = [_int32(seed), 0]
    return ops.cast(ops.convert_to_tensor(seed), "int32")


def _portable_key(seed):
    """One int32 key from the seed's two words (scalar work, done once)."""
    seed = _seed_words(seed)
    key_0 = _mix(ops.bitwise_xor(seed[0], _KEY_SALT))
    return _mix(ops.bitwise_xor(key_0, _mix(ops.add(seed[1], _COUNTER_SALT))))


def _portable_hash(shape, seed):
    """A 32-bit hash of (seed, call counter, flat index) per element, int32.

    `h >> 8` (arithmetic) is then uniform on `[-2**23, 2**23)`; adding `2**23`
    gives 24 uniform bits.

    Per element this is one round of the mixer over `index * golden ^ key`:
    16 elementwise int32 operations in all, which matters in eager mode,
    where each is a pass over memory. The key is xor-ed in, not added, so
    two calls' masks are not shifted copies of one sequence (with `+ key`,
    a call's mask would equal another's moved by `(key_2 - key_1) / golden`
    elements).
    """
    key = _portable_key(seed)
    size = 1
    for dim in shape:
        size = size * dim
    index = ops.arange(size, dtype="int32")
    bits = _mix(ops.bitwise_xor(ops.multiply(index, _GOLDEN), key))
    return ops.reshape(ops.right_shift(bits, 8), shape)


def _auto_rng(tensor):
    """What "auto" resolves to where `tensor` is computed.

    "portable" where the code is being compiled by XLA: under a JAX trace
    (`jax.jit`, every JAX `fit`) and in a TensorFlow graph traced for XLA
    (`jit_compile=True`); there the backends' generators cost 10-1000x the
    hash on a CPU. "native" everywhere else: eager code (PyTorch's default
    `fit`, direct calls) and plain TensorFlow graphs (`tf.function`, and
    `fit` on a CPU-only machine, where Keras's "auto" `jit_compile` is
    off); there the hash costs one kernel per elementwise op, the backend's
    generator one kernel in all. Keras's own backend helpers tell traced
    from eager code without this package importing a backend; were they
    ever to move, "auto" falls back to "portable", which is correct
    everywhere and only slower outside XLA.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return "portable" if _compat.in_jax_trace(tensor) else "native"
    if backend == "tensorflow":
        return "portable" if _compat.in_tf_xla_graph(tensor) else "native"
    return "native"


def _resolve_rng(rng, seed=None):
    """The generator to use: `rng`, or the configured one; "auto" resolved."""
    rng = config.get_rng() if rng is None else rng
    if not isinstance(rng, str) or rng not in config.RNG_CHOICES:
        raise ValueError(
            "Invalid value received for argument `rng`. Expected one of "
            f"{config.RNG_CHOICES}. Received: rng={rng!r}"
        )
    if rng == "auto":
        _check_seed(seed)
        if not ops.is_tensor(seed):
            seed = None
        return _auto_rng(seed)
    return rng


def uniform(shape, seed, rng=None):
    """Uniform float32 draws in `[0, 1)`.

    Args:
        shape: the output shape; entries may be scalar tensors (dynamic dims).
        seed: a seed tensor from `SeedGenerator.next()`, a `SeedGenerator`,
            or an int.
        rng: `"auto"`, `"portable"`, `"native"`, or `None` for the
            configured default (see `keras_dropout.config.set_rng`).

    The portable generator yields multiples of `2**-24`, so comparisons with
    a float32 threshold are exact and identical on every backend.

    Returns:
        A float32 tensor of `shape`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import random
        >>> u = np.asarray(random.uniform((2, 3), seed=7, rng="portable"))
        >>> u.shape, bool(((u >= 0) & (u < 1)).all())
        ((2, 3), True)
        >>> bool((u * 2**24 == np.round(u * 2**24)).all())  # multiples of 2**-24
        True
    """
    if _resolve_rng(rng, seed) == "portable":
        bits = ops.add(_portable_hash(shape, seed), _TWO_POW_23)
        return ops.multiply(ops.cast(bits, "float32"), _TWO_POW_MINUS_24)
    return keras.random.uniform(shape, dtype="float32", seed=_native_seed(seed))


def _native_seed(seed):
    """Any accepted seed in a form `keras.random` takes."""
    _check_seed(seed)
    if isinstance(seed, (list, tuple, np.ndarray)):
        # Two plain integers: as uint32 words, which every backend accepts.
        words = np.asarray(seed, dtype=np.int64) & 0xFFFFFFFF
        seed = ops.convert_to_tensor(words.astype(np.uint32))
    if not isinstance(seed, (int, keras.random.SeedGenerator)):
        # A tensor seed in the dtype the backend's generator takes (JAX:
        # uint32 key data); one drawn from a SeedGenerator already has it,
        # one computed in int32 (ZoneoutCell's per-step seeds) is recast.
        seed = _compat.DrawnSeed(ops.cast(seed, _compat.random_seed_dtype()))
    return seed


def keep_mask(shape, rate, seed, rng=None):
    """A boolean mask of `shape`: each entry is `False` with probability `rate`.

    Args:
        shape: the mask's shape; entries may be scalar tensors.
        rate: the drop probability, a Python float or float32 scalar tensor.
        seed: a seed tensor from `SeedGenerator.next()`, a `SeedGenerator`,
            or an int.
        rng: `"auto"`, `"portable"`, `"native"`, or `None` for the configured
            default.

    Returns:
        A boolean tensor of `shape`, `True` where the unit is kept.

    `rate` may be a Python float or a float32 scalar tensor (for example a
    layer's rate variable); `rate=0` keeps everything.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import random
        >>> keep = np.asarray(random.keep_mask((1000, 100), 0.3, seed=0))
        >>> keep.dtype, bool(abs(keep.mean() - 0.7) < 0.01)
        (dtype('bool'), True)
    """
    return _decide(shape, rate, seed, rng, ops.greater_equal)


def _decide(shape, rate, seed, rng, compare):
    """`compare(draw, rate)` per element: `greater_equal` keeps, `less` drops."""
    if isinstance(rate, np.floating):  # a number stays one (see _threshold)
        rate = np.float32(rate)
    else:
        rate = ops.cast(rate, "float32")
    if _resolve_rng(rng, seed) == "portable":
        return compare(_portable_hash(shape, seed), _threshold(rate))
    if isinstance(rate, np.floating):
        rate = float(rate)  # exact; weakly typed, so compared in float32
    return compare(uniform(shape, seed, rng="native"), rate)


def _threshold(rate):
    """The portable hash's integer threshold for a float32 `rate`.

    The same decision as `uniform(...) >= rate`, in integers (two fewer
    passes over the mask): u = (h + 2**23) / 2**24 >= rate exactly when
    h >= ceil(rate * 2**24) - 2**23 (rate * 2**24 is exact in float32).
    """
    if isinstance(rate, np.floating):  # a float32 number: exact in Python
        return math.ceil(float(rate) * 16777216.0) - _TWO_POW_23
    return ops.subtract(
        ops.cast(ops.ceil(ops.multiply(rate, 16777216.0)), "int32"), _TWO_POW_23
    )


def drop_mask(shape, rate, seed, rng=None):
    """`logical_not(keep_mask(shape, rate, seed, rng))`, one pass cheaper.

    `True` where the unit is dropped: what DropBlock needs for its block
    seeds. Same arguments as `keep_mask`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import random
        >>> drop = np.asarray(random.drop_mask((50, 40), 0.3, seed=5))
        >>> keep = np.asarray(random.keep_mask((50, 40), 0.3, seed=5))
        >>> bool(np.array_equal(drop, ~keep))
        True
    """
    return _decide(shape, rate, seed, rng, ops.less)


def normal(shape, seed, rng=None, mean=0.0, stddev=1.0):
    """Normal float32 draws (standard normal by default).

    With the native generator, `keras.random.normal`. With the portable one,
    Box-Muller: one uniform draw of shape `(2, *shape)` gives `u` and `v`,
    and `sqrt(-2 log(1 - u)) * cos(2 pi v)` is N(0, 1). `1 - u` lies in
    `(0, 1]`, so the log is finite; with the portable generator's 24-bit
    uniforms the tails end at about 5.8 standard deviations.

    Args:
        shape: the output shape; entries may be scalar tensors.
        seed: a seed tensor from `SeedGenerator.next()`, a `SeedGenerator`,
            or an int.
        rng: `"auto"`, `"portable"`, `"native"`, or `None` for the configured
            default.
        mean: the mean of the draws: a float or a float32 scalar tensor.
        stddev: their standard deviation: a float or a float32 scalar
            tensor. With the native generator both go to the backend's
            sampler, which applies them in the same kernel where it can
            (PyTorch).

    Returns:
        A float32 tensor of `shape`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import random
        >>> z = np.asarray(random.normal((200, 500), seed=3))
        >>> bool(abs(z.mean()) < 0.01), bool(abs(z.std() - 1) < 0.01)
        (True, True)
    """
    if _resolve_rng(rng, seed) == "native":
        # The backend's own normal sampler: one kernel, not Box-Muller's six
        # passes over two uniform draws.
        if keras.backend.backend() == "torch":
            # `torch.normal` takes the moments as numbers (then it scales
            # and shifts in its own kernel); PyTorch runs eagerly, so a
            # tensor's value is at hand, except while Keras infers output
            # shapes on the data-less "meta" device: there a standard normal
            # is scaled and shifted instead.
            if _on_meta_device(mean) or _on_meta_device(stddev):
                z = keras.random.normal(shape, dtype="float32", seed=_native_seed(seed))
                return ops.add(ops.multiply(z, stddev), mean)
            mean, stddev = _as_float(mean), _as_float(stddev)
        return keras.random.normal(
            shape, mean=mean, stddev=stddev, dtype="float32", seed=_native_seed(seed)
        )
    draws = uniform((2,) + tuple(shape), seed, rng="portable")
    one_minus_u = ops.maximum(ops.subtract(1.0, draws[0]), _SMALLEST_UNIFORM)
    radius = ops.sqrt(ops.multiply(-2.0, ops.log(one_minus_u)))
    z = ops.multiply(radius, ops.cos(ops.multiply(2.0 * math.pi, draws[1])))
    # No pass for a number that changes nothing (the standard normal).
    if not (isinstance(stddev, (int, float)) and stddev == 1):
        z = ops.multiply(z, stddev)
    if not (isinstance(mean, (int, float)) and mean == 0):
        z = ops.add(z, mean)
    return z


def _on_meta_device(value):
    """Whether `value` is a PyTorch tensor on the data-less "meta" device."""
    return getattr(getattr(value, "device", None), "type", None) == "meta"


def _as_float(value):
    """A Python float from a number or a concrete scalar tensor."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(ops.convert_to_numpy(value))


def fold_in(seed, word):
    """A seed derived from `seed` and `word`: a new, independent stream.

    The seed's first word is xor-ed with `word`; its counter word is kept.
    Layers that need several streams from one drawn seed (one per state, one
    per time step) fold a different constant or data hash into it.

    Args:
        seed: a seed tensor of two integers (from `SeedGenerator.next()`).
        word: a Python int (any 32 bits; wrapped to int32) or an int32 scalar
            tensor, such as `hash_values(...)`.

    Returns:
        An int32 seed tensor of two words, accepted wherever a seed is.

    Examples:
        >>> import numpy as np, keras
        >>> from keras_dropout import random
        >>> seed = keras.random.SeedGenerator(3).next()
        >>> a = np.asarray(random.uniform((4,), random.fold_in(seed, 1), "portable"))
        >>> b = np.asarray(random.uniform((4,), random.fold_in(seed, 2), "portable"))
        >>> bool(np.any(a != b))
        True
    """
    seed = ops.cast(seed, "int32")
    if isinstance(word, int):
        word = _int32(word)
    return ops.stack([ops.bitwise_xor(seed[0], word), seed[1]])


def hash_values(tensors):
    """A 32-bit hash of the values of `tensors`, as an int32 scalar.

    For seeds that depend on data (pass it to `fold_in`). Each value is
    quantized to a multiple of `2**-20` in `[-1023, 1023]` (plain
    arithmetic, unlike a bit cast, so it traces on every backend with
    unknown dimensions), mixed, and summed with wrap-around: the same
    values give the same hash on every backend.

    Args:
        tensors: a list of numeric tensors of any shapes.

    Returns:
        An int32 scalar tensor.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import random
        >>> x = np.ones((2, 3), "float32")
        >>> int(random.hash_values([x])) == int(random.hash_values([x]))
        True
        >>> int(random.hash_values([x])) == int(random.hash_values([2 * x]))
        False
    """
    key = ops.convert_to_tensor(0, "int32")
    for i, tensor in enumerate(tensors):
        fixed = ops.multiply(
            ops.clip(ops.cast(tensor, "float32"), -1023.0, 1023.0), 2.0**20
        )
        bits = ops.cast(ops.round(fixed), "int32")
        total = ops.cast(ops.sum(_mix(bits)), "int32")
        key = _mix(ops.add(ops.bitwise_xor(key, total), i))
    return key
