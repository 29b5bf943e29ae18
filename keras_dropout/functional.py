"""Each technique as a pure function of a tensor, a rate and a seed.

The layers are thin wrappers around these; the functions are also usable on
their own, inside custom layers or training loops. `seed` is what
`keras_dropout.random.uniform` accepts: an int, a
`keras.random.SeedGenerator`, or a seed tensor from `SeedGenerator.next()`.

Each function checks its arguments, then calls its unchecked twin, which
`unchecked` exposes: the layers check their arguments once (when they are
made, built or called) and call `unchecked`, so nothing is checked twice.
"""

import numbers

import keras
import numpy as np
from keras import ops

from keras_dropout import _validation
from keras_dropout import random as kd_random

SCALINGS = ("inverted", "classic")

# SELU's constants (Klambauer et al., 2017): selu(x) -> -SCALE * ALPHA as
# x -> -inf, the value alpha dropout sets dropped units to.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
ALPHA_PRIME = -SELU_SCALE * SELU_ALPHA

# The portable generator's uniforms are multiples of 2**-24, so `1 - u` is at
# least this; the guard keeps `log` finite for any generator.
_SMALLEST_UNIFORM = 2.0**-24

# Whether `_select_kept` writes out the gradient of `where` (see there).
_OWN_SELECT_GRADIENT = keras.backend.backend() == "tensorflow"


def resolve_noise_shape(inputs, noise_shape):
    """The mask shape: `noise_shape` with `None` entries taken from `inputs`.

    Args:
        inputs: the tensor the mask will multiply.
        noise_shape: `None` (the mask has the inputs' own shape) or a tuple
            of the inputs' rank whose `None` entries take the inputs' size.

    Returns:
        A tuple of sizes (entries may be scalar tensors for dynamic dims).

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import resolve_noise_shape
        >>> shape = resolve_noise_shape(np.ones((2, 5, 3)), (None, 1, None))
        >>> tuple(int(d) for d in shape)
        (2, 1, 3)
    """
    return _mask_shape(inputs, _check_noise_shape_for(inputs, noise_shape))


def _mask_shape(inputs, noise_shape):
    """`resolve_noise_shape` without checks (`noise_shape` fits `inputs`)."""
    shape = ops.shape(inputs)
    if noise_shape is None:
        return shape
    return tuple(shape[i] if dim is None else dim for i, dim in enumerate(noise_shape))


def _check_noise_shape_for(inputs, noise_shape):
    """`noise_shape`, checked against `inputs` (`None` passes)."""
    if noise_shape is None:
        return None
    noise_shape = _validation.check_noise_shape(noise_shape)
    _validation.check_noise_shape_fits(noise_shape, ops.shape(inputs))
    return noise_shape


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
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import dropout
        >>> y = np.asarray(dropout(np.ones((2, 4), "float32"), 0.5, seed=0))
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    rate = _check_functional_rate(rate, inputs)
    scaling = _validation.check_choice(scaling, "scaling", SCALINGS)
    noise_shape = _check_noise_shape_for(inputs, noise_shape)
    return _dropout(inputs, rate, seed, noise_shape, scaling, rng)


def _dropout(inputs, rate, seed, noise_shape=None, scaling="inverted", rng=None):
    keep = kd_random.keep_mask(_mask_shape(inputs, noise_shape), rate, seed, rng=rng)
    keep_prob = _scalar_ops(rate).subtract(1.0, rate)
    if _is_shared(noise_shape, inputs.shape):
        # The mask is smaller than the inputs (shared over some axes): scale
        # it, then make one pass over the inputs. The backward pass keeps
        # this small float mask, not a tensor of the inputs' size.
        factor = ops.cast(keep, "float32")
        if scaling == "inverted":
            factor = ops.divide(factor, keep_prob)
        return ops.multiply(inputs, ops.cast(factor, inputs.dtype))
    divisor = keep_prob if scaling == "inverted" else None
    return _select_kept(keep, inputs, 0.0, divisor)


def _select_kept(keep, inputs, fill, divisor=None):
    """`where(keep, inputs / divisor, fill)` for a scalar `fill`,
    differentiated in `inputs` only (`divisor=None`: no division).

    A scalar fill, not `full_like`: one tensor of the inputs' size fewer to
    allocate and fill; the backward pass keeps only the boolean mask (1 byte
    per unit). On TensorFlow the gradient is written out,
    `where(keep, upstream / divisor, 0)`: in eager code TensorFlow's own
    gradients of `where` and of a division also compute the gradients of
    the fill and the divisor (constants here), four passes over the inputs'
    size and two sums, all thrown away. JAX and PyTorch compute only what
    is needed.
    """
    fill = ops.cast(fill, inputs.dtype)
    if divisor is not None:
        divisor = _scalar_for(divisor, inputs)

    def select(values, fill):
        if divisor is not None:
            values = ops.divide(values, divisor)
        return ops.where(keep, values, fill)

    if not _OWN_SELECT_GRADIENT:
        return select(inputs, fill)

    @ops.custom_gradient
    def select_with_gradient(values):
        def grad(upstream):
            return select(upstream, ops.cast(0.0, upstream.dtype))

        return select(values, fill), grad

    return select_with_gradient(inputs)


def _is_shared(noise_shape, input_shape):
    """Whether a mask of `noise_shape` is shared over some axis of the inputs.

    True when an entry is 1 where the input's size is unknown or larger
    (known statically, so the choice is made once when tracing).
    """
    if noise_shape is None:
        return False
    return any(
        mask == 1 and size != 1
        for mask, size in zip(noise_shape, input_shape, strict=False)
    )


def classic_inference(inputs, rate):
    """Inference for `scaling="classic"`: outputs times `1 - rate`.

    Args:
        inputs: a floating-point tensor.
        rate: the drop probability the units were trained with, in `[0, 1)`.

    Returns:
        `inputs * (1 - rate)`, in the inputs' dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import classic_inference
        >>> np.asarray(classic_inference(np.ones((1, 3), "float32"), 0.25))
        array([[0.75, 0.75, 0.75]], dtype=float32)
    """
    return _classic_inference(inputs, _check_functional_rate(rate, inputs))


def _classic_inference(inputs, rate):
    keep_prob = _scalar_ops(rate).subtract(1.0, rate)
    return ops.multiply(inputs, _scalar_for(keep_prob, inputs))


def _check_functional_rate(rate, inputs=None):
    """`rate` as a float32 tensor, after checking it (and float `inputs`).

    A number must lie in `[0, 1)`. A tensor (such as a layer's rate
    variable) must be a floating-point scalar; its value is not read (that
    would sync compiled code), except for a NumPy array.
    """
    if inputs is not None:
        _validation.check_float_inputs(inputs)
    if rate is None or isinstance(rate, (numbers.Real, str, bytes)):
        _validation.check_rate(rate)
    else:
        shape = getattr(rate, "shape", None)
        dtype = getattr(rate, "dtype", None)
        try:
            floating = keras.backend.is_float_dtype(
                keras.backend.standardize_dtype(dtype)
            )
        except (TypeError, ValueError):
            floating = False
        if shape is None or len(shape) != 0 or not floating:
            raise _validation.invalid(
                "rate",
                "a float in the range [0, 1), or a floating-point scalar tensor",
                rate,
            )
        if isinstance(rate, np.ndarray):
            _validation.check_rate(float(rate))
            return np.float32(rate)
        return ops.cast(rate, "float32")
    return np.float32(rate)


def _scalar_ops(rate):
    """The ops for arithmetic on `rate`: numpy for a number, else `keras.ops`.

    A rate given as a number (eager layer calls pass one) is a NumPy float32
    scalar here: arithmetic on it is float32 arithmetic, as on a scalar
    tensor (each operation correctly rounded), without a tensor op each.
    """
    return np if isinstance(rate, np.floating) else ops


def _scalar_for(value, inputs):
    """A float32 scalar (number or tensor) in a form that operates on `inputs`.

    A number stays a Python float (exact, and weakly typed, so the result
    keeps the inputs' dtype) for float32 inputs; otherwise it is cast to the
    inputs' dtype first, as a tensor would be.
    """
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    if isinstance(value, np.floating) and dtype == "float32":
        return float(value)
    return ops.cast(value, dtype)


def gaussian_dropout(inputs, rate, seed, noise_shape=None, rng=None):
    """Multiplies the inputs by Gaussian noise of mean 1, variance r/(1-r).

    That variance is the one inverted Bernoulli dropout at rate `r` gives
    each unit, so both have the same first two moments. `rate=0` returns the
    inputs unchanged.

    Args:
        inputs: a floating-point tensor.
        rate: float in `[0, 1)` or a float32 scalar tensor.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        noise_shape: optional shape of the noise, broadcast over the inputs
            (`None` entries are filled from the inputs).
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import gaussian_dropout
        >>> y = np.asarray(gaussian_dropout(np.ones((200, 500), "float32"), 0.2, 0))
        >>> bool(abs(y.mean() - 1) < 0.01), bool(abs(y.var() - 0.2 / 0.8) < 0.01)
        (True, True)
    """
    rate = _check_functional_rate(rate, inputs)
    noise_shape = _check_noise_shape_for(inputs, noise_shape)
    return _gaussian_dropout(inputs, rate, seed, noise_shape, rng)


def _gaussian_dropout(inputs, rate, seed, noise_shape=None, rng=None):
    xp = _scalar_ops(rate)
    stddev = xp.sqrt(xp.divide(rate, xp.subtract(1.0, rate)))
    shape = _mask_shape(inputs, noise_shape)
    noise = kd_random.normal(shape, seed, rng=rng, mean=1.0, stddev=stddev)
    return ops.multiply(inputs, ops.cast(noise, inputs.dtype))


def alpha_dropout(inputs, rate, seed, noise_shape=None, rng=None):
    """Alpha dropout: keeps zero mean and unit variance for SELU networks.

    Each unit is set, with probability `rate`, to SELU's negative saturation
    value `alpha' = -scale * alpha`, then every unit goes through the affine
    map `a * x + b` with `a = ((1 - rate) * (1 + rate * alpha'**2))**-0.5`
    and `b = -a * alpha' * rate`: for inputs of mean 0 and variance 1 the
    outputs keep mean 0 and variance 1. `rate=0` returns the inputs.

    Args:
        inputs: a floating-point tensor.
        rate: float in `[0, 1)` or a float32 scalar tensor.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        noise_shape: optional shape of the mask, broadcast over the inputs
            (`None` entries are filled from the inputs).
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import alpha_dropout
        >>> x = np.random.default_rng(0).normal(size=(200, 500)).astype("float32")
        >>> y = np.asarray(alpha_dropout(x, 0.1, seed=0))
        >>> bool(abs(y.mean()) < 0.01), bool(abs(y.var() - 1) < 0.02)
        (True, True)
    """
    rate = _check_functional_rate(rate, inputs)
    noise_shape = _check_noise_shape_for(inputs, noise_shape)
    return _alpha_dropout(inputs, rate, seed, noise_shape, rng)


def _alpha_dropout(inputs, rate, seed, noise_shape=None, rng=None):
    keep = kd_random.keep_mask(_mask_shape(inputs, noise_shape), rate, seed, rng=rng)
    # a * x + b, computed as (x + b / a) * a with b / a = -alpha' * rate: no
    # multiply feeds an add, so XLA has no multiply-add to fuse into an FMA,
    # rounding stays relative to the output even near 0, and compiled and
    # eager calls agree to an ulp. Likewise 1 / a**2 is computed as
    # (1 - rate) * (rate + alpha'**-2) * alpha'**2. At rate 0, a is exactly 1
    # and b / a is 0 (in float32, alpha'**-2 * alpha'**2 rounds to 1).
    xp = _scalar_ops(rate)
    variance = xp.multiply(
        xp.multiply(xp.subtract(1.0, rate), xp.add(rate, np.float32(ALPHA_PRIME**-2))),
        np.float32(ALPHA_PRIME**2),
    )
    scale = xp.divide(1.0, xp.sqrt(variance))
    shift = xp.multiply(rate, np.float32(-ALPHA_PRIME))
    outputs = _select_kept(keep, inputs, ALPHA_PRIME)
    outputs = ops.add(outputs, _scalar_for(shift, inputs))
    return ops.multiply(outputs, _scalar_for(scale, inputs))


def drop_path(inputs, rate, seed, rng=None):
    """Training-time drop path: zero whole samples, scale the others.

    Each sample (the first axis) is zeroed with probability `rate` or kept
    and divided by `1 - rate`; the mask has shape
    `(batch,) + (1,) * (ndim - 1)`. `rate=0` returns the inputs.

    Args:
        inputs: a floating-point tensor of rank >= 1, batch first.
        rate: float in `[0, 1)` or a float32 scalar tensor.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import drop_path
        >>> y = np.asarray(drop_path(np.ones((8, 3), "float32"), 0.5, seed=0))
        >>> sorted(set(np.unique(y, axis=0)[:, 0].tolist()))
        [0.0, 2.0]
    """
    rate = _check_functional_rate(rate, inputs)
    _validation.check_batched(inputs.shape)
    return _drop_path(inputs, rate, seed, rng)


def _drop_path(inputs, rate, seed, rng=None):
    # Dropout with one mask entry per sample, shared over every other axis.
    noise_shape = (None,) + (1,) * (len(inputs.shape) - 1)
    return _dropout(inputs, rate, seed, noise_shape=noise_shape, rng=rng)


def drop_block(
    inputs,
    rate,
    block_size,
    seed,
    data_format="channels_last",
    rng=None,
    *,
    couple_channels=False,
    scale_by_keep=True,
):
    """Training-time DropBlock: zero whole blocks of each feature map.

    Block seeds are drawn independently per sample, channel and position
    (with probability `gamma`, see `keras_dropout.DropBlock2D`), only where
    a full block fits (its top-left corner at least `block_size - 1`
    positions from the bottom/right edges; a block larger than its axis
    covers the axis). Each seed zeroes the `block_size` window whose
    top-left corner it is; the kept units are then multiplied by
    `count / count_kept` over the whole tensor (0 kept units give zeros,
    not NaN). `couple_channels=True` draws one block mask per sample,
    shared by all its channels; `scale_by_keep=False` leaves the kept
    units as they are (see `keras_dropout.DropBlock2D`).

    Args:
        inputs: a floating-point tensor of rank 3, 4 or 5: a batch of 1D,
            2D or 3D feature maps.
        rate: the target fraction of dropped units, in `[0, 1)`: a Python
            float or a float32 scalar tensor.
        block_size: a positive int, or one positive int per spatial axis.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        data_format: `"channels_last"` or `"channels_first"`.
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).
        couple_channels: bool, keyword-only. `True`: one block mask per
            sample, the same for every channel (timm's `couple_channels`).
            `False` (the default): each channel draws its own blocks.
        scale_by_keep: bool, keyword-only. `True` (the default): kept units
            are multiplied by `count / count_kept`. `False`: kept units are
            the inputs unchanged (timm's `scale_by_keep`).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import drop_block
        >>> x = np.ones((1, 6, 6, 1), "float32")
        >>> y = np.asarray(drop_block(x, 0.3, 3, seed=0))
        >>> y.shape
        (1, 6, 6, 1)
        >>> x = np.ones((2, 8, 8, 3), "float32")
        >>> y = np.asarray(drop_block(
        ...     x, 0.3, 3, seed=0, couple_channels=True, scale_by_keep=False))
        >>> sorted(np.unique(y).tolist())  # not rescaled: 0 or the input
        [0.0, 1.0]
        >>> bool(np.all(y == y[..., :1]))  # every channel has the same mask
        True
    """
    rate = _check_functional_rate(rate, inputs)
    data_format = _validation.check_data_format(data_format)
    _validation.check_bool(couple_channels, "couple_channels")
    _validation.check_bool(scale_by_keep, "scale_by_keep")
    rank = len(inputs.shape)
    if rank not in (3, 4, 5):
        raise ValueError(
            "Invalid value received for argument `inputs`. Expected a tensor "
            "of rank 3, 4 or 5 (a batch of 1D, 2D or 3D feature maps). "
            f"Received: inputs.shape={tuple(inputs.shape)}"
        )
    block = _validation.check_block_size(block_size, rank - 2)
    return _drop_block(
        inputs,
        rate,
        block,
        seed,
        data_format,
        rng,
        couple_channels=couple_channels,
        scale_by_keep=scale_by_keep,
    )


def _drop_block(
    inputs,
    rate,
    block_size,
    seed,
    data_format="channels_last",
    rng=None,
    *,
    couple_channels=False,
    scale_by_keep=True,
):
    # `block_size`: one int per spatial axis. The steps below are private
    # functions so that benchmarks/profiles.py can time each of them.
    batch, channels, spatial = _feature_map_axes(ops.shape(inputs), data_format)
    if couple_channels:
        # One seed map per sample: the mask keeps a channels axis of size 1,
        # which the last step broadcasts over the inputs' channels.
        channels = 1
    seeds = _block_seeds(batch, channels, spatial, block_size, rate, seed, rng)
    seeds = _where_blocks_fit(seeds, spatial, block_size)
    pool_format = _block_pool_format()
    dropped = _to_pool_layout(seeds, pool_format)
    for axis, side in enumerate(block_size):
        dropped = _grow_blocks_along(dropped, axis, side, pool_format)
    keep = _block_keep_mask(dropped, pool_format, data_format)
    return _apply_block_mask(inputs, keep, dropped, scale_by_keep)


def _feature_map_axes(shape, data_format):
    """`(batch, channels, spatial)` of a feature-map `shape`, any layout."""
    if data_format == "channels_last":
        return shape[0], shape[-1], tuple(shape[1:-1])
    return shape[0], shape[1], tuple(shape[2:])


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


def _block_seeds(batch, channels, spatial, block, rate, seed, rng=None):
    """DropBlock's step 1: boolean block seeds, `(batch, channels, *spatial)`.

    Drawn in (sample, channel, *spatial) order whatever the layout, so that
    both data formats drop the same blocks for the same seed.
    """
    gamma = _seed_probability(rate, spatial, block)
    return kd_random.drop_mask((batch, channels) + spatial, gamma, seed, rng=rng)


def _where_blocks_fit(seeds, spatial, block):
    """Step 2: keeps the seeds only where a whole block fits."""
    n = len(spatial)
    for axis, (size, side) in enumerate(zip(spatial, block, strict=True)):
        # Valid top-left corners: 0 .. size - side (only 0 if side > size).
        last = ops.maximum(ops.subtract(size, side), 0)
        valid = ops.less_equal(ops.arange(size, dtype="int32"), last)
        target = [1] * (n + 2)
        target[axis + 2] = -1
        seeds = ops.logical_and(seeds, ops.reshape(valid, target))
    return seeds


# Each seed grows into its block by a pad of `side - 1` zeros before each
# spatial axis, then a stride-1 "valid" max-pool of the block's size, so
# output position i sees the seeds at i - side + 1 .. i: a seed at p covers
# p .. p + side - 1 (clipped to the map), for even and odd sides alike.
# A max over a box is a max over each of its sides in turn, so the pool
# runs one axis at a time: `sum(block)` comparisons per unit instead of
# `prod(block)` (10 instead of 25 for 5x5; measured 11x faster under
# `jax.jit`, benchmarks/layers.py's "max_pool" row).
# Each axis is padded just before its pool (XLA folds such a pad into the
# pooling window; one pad of all axes up front measured 2-4x slower under
# `jax.jit`).
# The pooling layout is the one the backend pools in without transposing:
# channels-first on PyTorch (where the seeds already are; Keras would
# transpose a channels-last input twice per pool), and channels-last
# elsewhere (TensorFlow's CPU pooling has no other).
# benchmarks/profiles.py times each step.


def _block_pool_format():
    """The data format DropBlock pools in on this backend."""
    if keras.backend.backend() == "torch":
        return "channels_first"
    return "channels_last"


def _to_pool_layout(seeds, pool_format):
    """Step 3: the `(batch, channels, *spatial)` seeds as float32 0s and 1s,
    in `pool_format`."""
    if pool_format == "channels_last":
        # Moved while boolean: a quarter of the bytes of the float map.
        n = len(seeds.shape) - 2
        seeds = ops.transpose(seeds, (0, *range(2, n + 2), 1))
    return ops.cast(seeds, "float32")


def _grow_blocks_along(dropped, axis, side, pool_format):
    """Step 4, once per spatial `axis`: pad, then max-pool `side` wide."""
    if side == 1:
        return dropped
    n = len(dropped.shape) - 2
    first_spatial = 1 if pool_format == "channels_last" else 2
    pad = [(0, 0)] * (n + 2)
    pad[axis + first_spatial] = (side - 1, 0)
    window = [1] * n
    window[axis] = side
    return ops.max_pool(
        ops.pad(dropped, pad),
        pool_size=tuple(window),
        strides=1,
        padding="valid",
        data_format=pool_format,
    )


def _block_keep_mask(dropped, pool_format, data_format):
    """Step 5: the boolean keep mask, in the inputs' `data_format`.

    A boolean mask (1 byte per unit) is all the backward pass keeps.
    """
    keep = ops.less(dropped, 0.5)
    if pool_format == data_format:
        return keep
    n = len(keep.shape) - 2
    if data_format == "channels_first":
        return ops.transpose(keep, (0, n + 1, *range(1, n + 1)))
    return ops.transpose(keep, (0, *range(2, n + 2), 1))


def _apply_block_mask(inputs, keep, dropped, scale_by_keep=True):
    """Step 6: zero the dropped units and, with `scale_by_keep`, scale the
    kept ones by `count / count_kept` over the whole tensor (0 kept: zeros,
    not NaN). A mask shared by the channels (a channels axis of size 1)
    broadcasts over them, and its counts give the same ratio."""
    if not scale_by_keep:
        return _select_kept(keep, inputs, 0.0)
    total = 1
    for dim in ops.shape(dropped):
        total = ops.multiply(total, dim)
    total = ops.cast(total, "float32")
    # `dropped` holds 0s and 1s, so its sum counts the dropped units (no
    # cast of the mask to sum).
    kept = ops.maximum(ops.subtract(total, ops.sum(dropped)), 1.0)
    scale = ops.cast(ops.divide(total, kept), inputs.dtype)
    return _select_kept(keep, ops.multiply(inputs, scale), 0.0)


def patch_dropout(inputs, rate, seed, num_prefix_tokens=1, ordered=False, rng=None):
    """Training-time patch dropout: keep a random subset of each sample's tokens.

    `inputs` are `(batch, tokens, *features)`, the first `num_prefix_tokens`
    tokens (a CLS token, register tokens) being prefix tokens and the others
    patch tokens. Each sample keeps its prefix tokens, in front, then
    `num_keep = max(1, round((1 - rate) * patches))` of its `patches`
    patch tokens (Python's `round`), chosen uniformly at random without
    replacement, independently per sample: the first `num_keep` of a random
    permutation (the `argsort` of uniform noise). The output has
    `num_prefix_tokens + num_keep` tokens; nothing is rescaled (tokens are
    removed, not zeroed). When `num_keep` equals `patches` (`rate=0`, or
    too few patches to drop one) the inputs are returned unchanged.

    The token count is part of the output shape, so `rate` must be a
    number (not a tensor) and the tokens axis must be known.

    Args:
        inputs: a floating-point tensor `(batch, tokens, *features)`, with a
            known number of tokens, more than `num_prefix_tokens`.
        rate: float in `[0, 1)`, the fraction of patch tokens to remove.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        num_prefix_tokens: non-negative int, how many leading tokens are
            always kept (default 1, a CLS token).
        ordered: bool; `True` keeps the kept patch tokens in their input
            order, `False` (the default) in random order (as timm).
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor `(batch, num_prefix_tokens + num_keep, *features)` of the
        inputs' dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import patch_dropout
        >>> x = np.arange(2 * 9, dtype="float32").reshape(2, 9, 1)  # CLS + 8
        >>> y = np.asarray(patch_dropout(x, 0.5, seed=0, ordered=True))
        >>> y.shape  # CLS + round(0.5 * 8) patches
        (2, 5, 1)
        >>> y[:, 0, 0].tolist()  # the CLS tokens, first
        [0.0, 9.0]
        >>> bool(np.all(np.diff(y[:, 1:, 0], axis=1) > 0))  # in input order
        True

    Reference:
        - [Liu et al., 2022](https://arxiv.org/abs/2208.07220): PatchDropout:
          economizing vision transformers using patch dropout.
        - [Li et al., 2022](https://arxiv.org/abs/2212.00794): Scaling
          language-image pre-training via masking (FLIP).
    """
    _validation.check_float_inputs(inputs)
    rate = _check_number_rate(rate)
    if not _validation.is_int(num_prefix_tokens) or num_prefix_tokens < 0:
        raise _validation.invalid(
            "num_prefix_tokens", "a non-negative int", num_prefix_tokens
        )
    _validation.check_bool(ordered, "ordered")
    shape = tuple(inputs.shape)
    if len(shape) < 3 or shape[1] is None or shape[1] <= num_prefix_tokens:
        raise ValueError(
            "Invalid value received for argument `inputs`. Expected a tensor "
            "(batch, tokens, *features) of rank >= 3 with a known number of "
            f"tokens, more than num_prefix_tokens={num_prefix_tokens}. "
            f"Received: inputs.shape={shape}"
        )
    return _patch_dropout(inputs, rate, seed, int(num_prefix_tokens), ordered, rng)


def _check_number_rate(rate):
    """A rate that sets a static shape: a number (or 0-d array) in [0, 1),
    returned as a Python float."""
    if isinstance(rate, np.ndarray) and rate.ndim == 0:
        rate = rate.item()
    if rate is None or isinstance(rate, (numbers.Real, str, bytes)):
        return _validation.check_rate(rate)
    raise _validation.invalid(
        "rate",
        "a float in the range [0, 1), as a number: it sets the number of "
        "kept tokens, a static shape, so a tensor cannot",
        rate,
    )


def _patches_kept(patches, rate):
    return max(1, int(round((1.0 - float(rate)) * patches)))


def _patch_dropout(inputs, rate, seed, num_prefix_tokens=1, ordered=False, rng=None):
    # `rate`: a number (the kept count is a static shape), used as a Python
    # float: `round` then sees the rate as given, not its float32 rounding.
    rank = len(inputs.shape)
    patches = inputs.shape[1] - num_prefix_tokens
    num_keep = _patches_kept(patches, rate)
    if num_keep >= patches:
        return inputs
    batch = ops.shape(inputs)[0]
    # The first `num_keep` entries of a uniformly random permutation per
    # sample. Ties between two draws (24-bit uniforms with the portable
    # generator) are left to each backend's sort: rare, and still a valid
    # draw.
    noise = kd_random.uniform((batch, patches), seed, rng=rng)
    keep = ops.argsort(noise, axis=-1)[:, :num_keep]
    if ordered:
        keep = ops.sort(keep, axis=-1)
    keep = ops.add(ops.cast(keep, "int32"), num_prefix_tokens)
    if num_prefix_tokens:
        prefix = ops.arange(num_prefix_tokens, dtype="int32")
        prefix = ops.add(ops.zeros_like(keep[:, :1]), prefix)  # (batch, prefix)
        keep = ops.concatenate([prefix, keep], axis=1)
    # One gather of whole token rows: broadcast over the feature axes.
    keep = ops.reshape(keep, ops.shape(keep) + (1,) * (rank - 2))
    return ops.take_along_axis(inputs, keep, axis=1)


def drop_head(inputs, rate, num_heads, seed, head_axis=-1, rng=None):
    """Training-time DropHead: zero whole attention heads per sample.

    The axis `head_axis` of `inputs` holds `num_heads` heads of
    `head_dim = size // num_heads` contiguous units each, head-major (the
    layout of attention outputs `(batch, tokens, heads * head_dim)`
    with `head_axis=-1`, the default), or one unit each (a per-head tensor
    `(batch, heads, ...)` with `head_axis=1`). Each sample draws one
    keep/drop decision per head (probability `rate` of dropping), shared by
    every unit of the head and every other axis (the tokens): the mask has
    shape `(batch, 1, ..., num_heads, ..., 1)`. As in the paper, the kept
    heads are multiplied by `num_heads / kept_heads`, the sample's own
    number of kept heads (not `1 / (1 - rate)`), so each sample's output
    keeps the scale of all heads; a sample whose heads are all dropped
    gives zeros, not NaN.

    Args:
        inputs: a floating-point tensor of rank >= 2, batch first, whose
            `head_axis` has a known size divisible by `num_heads`.
        rate: float in `[0, 1)` or a float32 scalar tensor: the probability
            of dropping a head.
        num_heads: positive int, the number of heads on `head_axis`.
        seed: int, `keras.random.SeedGenerator`, or drawn seed tensor.
        head_axis: int, the axis holding the heads (not the batch axis 0);
            negative values count from the end.
        rng: `"auto"`, `"portable"`, `"native"` or `None` (the configured default).

    Returns:
        A tensor of the inputs' shape and dtype.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.functional import drop_head
        >>> x = np.ones((3, 5, 4 * 2), "float32")  # 4 heads of 2 units
        >>> y = np.asarray(drop_head(x, 0.5, 4, seed=1))
        >>> heads = y.reshape(3, 5, 4, 2)
        >>> bool(np.all(heads == heads[:, :1, :, :1]))  # whole heads, all tokens
        True
        >>> kept = (heads[:, 0, :, 0] > 0).sum(axis=1)
        >>> bool(np.allclose(heads[:, 0, :, 0].max(axis=1), 4 / kept))
        True

    Reference:
        - [Zhou et al., 2020](https://arxiv.org/abs/2004.13342): Scheduled
          DropHead: a regularization method for transformer models.
    """
    rate = _check_functional_rate(rate, inputs)
    num_heads = _validation.check_positive_int(num_heads, "num_heads")
    if not _validation.is_int(head_axis) or head_axis == 0:
        raise _validation.invalid(
            "head_axis", "an int other than the batch axis 0", head_axis
        )
    shape = tuple(inputs.shape)
    rank = len(shape)
    if rank < 2:
        raise ValueError(
            "Invalid value received for argument `inputs`. Expected a tensor "
            "of rank >= 2, batch first, with a heads axis. Received: "
            f"inputs.shape={shape} (rank {rank})"
        )
    if not -rank < head_axis < rank:
        raise _validation.invalid(
            "head_axis",
            f"an axis of the inputs other than the batch axis 0: in "
            f"[1, {rank - 1}] or [{1 - rank}, -1] for inputs.shape={shape}",
            head_axis,
        )
    size = shape[head_axis]
    if size is None:
        raise ValueError(
            "Invalid value received for argument `inputs`. Expected a known "
            f"size on axis {head_axis}, the heads axis. Received: "
            f"inputs.shape={shape}"
        )
    if size % num_heads:
        raise _validation.invalid(
            "num_heads",
            f"a divisor of {size}, the size of axis {head_axis} (the heads "
            f"axis) of the inputs, inputs.shape={shape}",
            num_heads,
        )
    return _drop_head(inputs, rate, num_heads, seed, int(head_axis), rng)


def _drop_head(inputs, rate, num_heads, seed, head_axis=-1, rng=None):
    rank = len(inputs.shape)
    axis = head_axis % rank
    head_dim = inputs.shape[axis] // num_heads
    shape = [ops.shape(inputs)[0]] + [1] * (rank - 1)
    shape[axis] = num_heads
    # Drawn in (sample, head) order whatever the layout: the same seed drops
    # the same heads with `head_axis=1` as with `head_axis=-1`.
    keep = ops.cast(kd_random.keep_mask(tuple(shape), rate, seed, rng=rng), "float32")
    kept = ops.sum(keep, axis=axis, keepdims=True)
    scale = ops.divide(float(num_heads), ops.maximum(kept, 1.0))
    factor = ops.cast(ops.multiply(keep, scale), inputs.dtype)
    if head_dim == 1:
        return ops.multiply(inputs, factor)
    # Split the head axis into (heads, head_dim) and broadcast the factor over
    # head_dim (no `repeat`: Keras < 3.15 builds its repeat counts on the CPU,
    # which fails on PyTorch's "meta" device during a model's symbolic build).
    full = ops.shape(inputs)
    split = tuple(full[:axis]) + (num_heads, head_dim) + tuple(full[axis + 1 :])
    grouped = ops.reshape(inputs, split)
    outputs = ops.multiply(grouped, ops.expand_dims(factor, axis + 1))
    return ops.reshape(outputs, full)


class unchecked:  # noqa: N801 - a namespace, used like a module
    """This module's functions without their argument checks.

    Same arguments and results as the checked functions, for callers that
    checked their arguments once already, as the pack's layers do (when
    they are made, built and called): `rate` a float32 number or scalar
    tensor in `[0, 1)`, float `inputs`, `noise_shape` `None` or a tuple
    that fits the inputs, `scaling` one of `SCALINGS`, `block_size` a
    tuple of positive ints, one per spatial axis, and `couple_channels` and
    `scale_by_keep` Python bools. Anything else gives undefined results,
    not an error.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import functional
        >>> x = np.ones((2, 4), "float32")
        >>> a = np.asarray(functional.dropout(x, 0.5, seed=3))
        >>> b = np.asarray(functional.unchecked.dropout(x, np.float32(0.5), seed=3))
        >>> bool(np.array_equal(a, b))
        True
    """

    dropout = staticmethod(_dropout)
    classic_inference = staticmethod(_classic_inference)
    resolve_noise_shape = staticmethod(_mask_shape)
    gaussian_dropout = staticmethod(_gaussian_dropout)
    alpha_dropout = staticmethod(_alpha_dropout)
    drop_path = staticmethod(_drop_path)
    drop_block = staticmethod(_drop_block)
    # `patch_dropout`: `rate` a number, `num_prefix_tokens` an int below the
    # (known) token count, `ordered` a bool. `drop_head`: `num_heads` an int
    # dividing the (known) size of `head_axis`, an int axis other than 0.
    patch_dropout = staticmethod(_patch_dropout)
    drop_head = staticmethod(_drop_head)
