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


class _DrawnSeed(keras.random.SeedGenerator):
    """A seed already drawn, handed to `keras.random` as it accepts seeds.

    `keras.random` takes an int or a `SeedGenerator`; the layers draw their
    seed once per call (so that the MC-dropout branch works under `jax.jit`),
    and this wraps that tensor. It owns no variable.
    """

    def __init__(self, value):  # noqa: D107 - deliberately no super().__init__
        self._value = value
        self.name = "drawn_seed"

    def next(self, ordered=True):
        return self._value


def _in_xla_graph(tensor):
    """Whether TensorFlow is tracing `tensor`'s graph for XLA compilation.

    `tf.function(jit_compile=True)` (and so `fit` with `jit_compile=True`)
    traces its function inside an XLA control-flow context entered on the
    calling graph; a nested function's graph reaches it through its
    `outer_graph` chain. The walk reads only attributes of the graph
    objects, so the package imports no backend. Any surprise (a TensorFlow
    that moved these internals) answers `True`: the portable generator is
    correct everywhere and the backends' generators are what is slow under
    XLA.
    """
    try:
        if tensor is None or not hasattr(tensor, "graph"):
            tensor = ops.zeros(())  # a constant of the graph being traced
        graph = tensor.graph
        while graph is not None:
            context = graph._get_control_flow_context()
            while context is not None:
                if context.IsXLAContext():
                    return True
                context = context.outer_context
            graph = getattr(graph, "outer_graph", None)
        return False
    except Exception:  # pragma: no cover - depends on TensorFlow internals
        return True


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
    try:
        if backend == "jax":
            from keras.src.utils.jax_utils import is_in_jax_tracing_scope

            return "portable" if is_in_jax_tracing_scope(tensor) else "native"
        if backend == "tensorflow":
            from keras.src.utils.backend_utils import in_tf_graph

            if in_tf_graph() and _in_xla_graph(tensor):
                return "portable"
            return "native"
    except ImportError:  # pragma: no cover - depends on Keras internals
        return "portable"
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
        seed = _DrawnSeed(ops.cast(seed, _backend_seed_dtype()))
    return seed


def _backend_seed_dtype():
    try:
        from keras.src.backend import random_seed_dtype

        return random_seed_dtype()
    except ImportError:  # pragma: no cover - depends on Keras internals
        return "uint32" if keras.backend.backend() == "jax" else "int32"


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
    rate = ops.cast(rate, "float32")
    if _resolve_rng(rng, seed) == "portable":
        return compare(_portable_hash(shape, seed), _threshold(rate))
    return compare(uniform(shape, seed, rng="native"), rate)


def _threshold(rate):
    """The portable hash's integer threshold for a float32 `rate`.

    The same decision as `uniform(...) >= rate`, in integers (two fewer
    passes over the mask): u = (h + 2**23) / 2**24 >= rate exactly when
    h >= ceil(rate * 2**24) - 2**23 (rate * 2**24 is exact in float32).
    """
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
            # tensor's value is at hand.
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


def _as_float(value):
    """A Python float from a number or a concrete scalar tensor."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(ops.convert_to_numpy(value))
