"""Argument checks shared by every layer: one message format everywhere.

Messages follow Keras's own form: "Invalid value received for argument
`rate`. Expected ... Received: rate=1.5". Where Keras validates the same
argument of its own layer (`rate`, `noise_shape`, `seed`, `data_format`),
our message starts with Keras's sentence, word for word, and our detail
follows: code that matches Keras's message with a regex keeps working.
Where Keras raises a `TypeError` (a `rate` that is not a number), ours is
an `InvalidArgumentError`, both a `ValueError` and a `TypeError`.
"""

import math
import numbers

import keras


class InvalidArgumentError(ValueError, TypeError):
    """An argument of the wrong type.

    Both a `ValueError` (as every bad argument of the pack) and a
    `TypeError` (what Keras's own layers raise for it), so that `except`
    clauses written for either keep working.
    """


def invalid(name, expected, received, detail=None, error=ValueError):
    """The error for argument `name`: Keras's sentence, then `detail`."""
    message = (
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received!r}"
    )
    if detail:
        message += f". {detail}"
    return error(message)


# Keras's words for a bad rate ("Expected a float value between 0 and 1."),
# then what the pack accepts: it also refuses rate=1, which Keras accepts
# (and turns into a division by zero).
_RATE_DETAIL = (
    "The rate must lie in [0, 1): it is the probability of dropping a unit "
    "(not of keeping it), and rate=1 would drop every unit"
)


def check_rate(rate, name="rate"):
    """A drop probability: a real number in `[0, 1)`, returned as float."""
    expected = "a float value between 0 and 1"
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise invalid(name, expected, rate, _RATE_DETAIL, InvalidArgumentError)
    value = float(rate)
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise invalid(name, expected, rate, _RATE_DETAIL)
    return value


def check_bool(value, name):
    if not isinstance(value, bool):
        raise invalid(name, "a Python bool (True or False)", value)
    return value


# Layer seeds every backend's generator takes: JAX refuses negative seeds,
# PyTorch seeds of 2**31 and more (each with its own error).
SEED_LIMIT = 2**31


def check_seed(seed):
    """`None` or an int in `[0, 2**31)`; Keras's sentence first otherwise."""
    if seed is None:
        return None
    if not is_int(seed) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(
            f"Argument `seed` must be an integer. Received: seed={seed!r}. "
            "Expected a Python int or None; an int in [0, 2**31), the seeds "
            "every backend's generator takes"
        )
    return int(seed)


DATA_FORMATS = ("channels_last", "channels_first")


def check_data_format(data_format):
    """`None` (the Keras config's `image_data_format`) or one of the two.

    Case-insensitive, as in Keras; Keras's sentence first when refused.
    """
    if data_format is None:
        return keras.config.image_data_format()
    if isinstance(data_format, str) and data_format.lower() in DATA_FORMATS:
        return data_format.lower()
    raise ValueError(
        "The `data_format` argument must be one of "
        "{'channels_first', 'channels_last'}. "
        f'Received: data_format={data_format!r}. Expected "channels_last" '
        '(channels on the last axis), "channels_first" or None (the value '
        "of `keras.config.image_data_format()`)"
    )


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise invalid(name, f"one of {tuple(choices)}", value)
    return value


def check_noise_shape(noise_shape):
    """`None`, or a tuple of positive ints and `None`s (as in Keras).

    Each refusal starts with the sentence `keras.layers.Dropout` uses for
    it, then gives the whole value received.
    """
    if noise_shape is None:
        return None

    def refuse(keras_words):
        return ValueError(
            f"Invalid value received for argument `noise_shape`. {keras_words}. "
            "Expected None or a tuple of positive integers and None entries. "
            f"Received: noise_shape={noise_shape!r}"
        )

    if isinstance(noise_shape, (str, bytes)):
        raise refuse("Expected a tuple or list of integers")
    try:
        dims = tuple(noise_shape)
    except TypeError:
        raise refuse(
            "Expected an iterable of integers (e.g., a tuple or list)"
        ) from None
    for i, dim in enumerate(dims):
        if dim is None:
            continue
        if not is_int(dim):
            raise refuse(
                "Expected all elements to be integers or None. Received "
                f"element at index {i}: {dim!r} (type: {type(dim).__name__})"
            )
        if dim <= 0:
            raise refuse(
                "Expected all dimensions to be positive integers or None. "
                f"Received negative or zero value at index {i}: {dim}"
            )
    return tuple(None if d is None else int(d) for d in dims)


def check_noise_shape_fits(noise_shape, shape):
    """`noise_shape` (already checked) broadcasts to inputs of `shape`.

    Entries of `shape` that are not Python ints (unknown until run time, or
    dynamic scalar tensors) are not checked.
    """
    fits = len(noise_shape) == len(shape) and all(
        dim is None
        or dim == 1
        or not isinstance(size, numbers.Integral)
        or dim == int(size)
        for dim, size in zip(noise_shape, shape, strict=True)
    )
    if not fits:
        known = tuple(s if isinstance(s, numbers.Integral) else None for s in shape)
        raise invalid(
            "noise_shape",
            f"a tuple of length {len(shape)} (the rank of the inputs, shape "
            f"{known}) whose entries are None, 1 or the inputs' size on that "
            "axis",
            tuple(noise_shape),
        )


def check_float_inputs(inputs, name="inputs"):
    """A tensor or array of a floating-point dtype (not int, bool, a list)."""
    dtype = getattr(inputs, "dtype", None)
    if dtype is not None:
        try:
            dtype = keras.backend.standardize_dtype(dtype)
        except (TypeError, ValueError):  # strings, objects: not a Keras dtype
            dtype = str(dtype)
    if dtype is None or not keras.backend.is_float_dtype(dtype):
        received = (
            f"{name}.dtype={dtype}"
            if dtype is not None
            else f"{name} of type {type(inputs).__name__}"
        )
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a "
            "floating-point tensor (cast it first, e.g. "
            f"`keras.ops.cast(x, 'float32')`). Received: {received}"
        )


def is_int(value):
    """Whether `value` is an integer (Python or NumPy); a bool is not."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_positive_int(value):
    """Whether `value` is an integer >= 1 (a bool is not)."""
    return is_int(value) and value >= 1


def check_positive_int(value, name, expected="a positive int"):
    """`value` as a Python int >= 1; `expected` words the error."""
    if not is_positive_int(value):
        raise invalid(name, expected, value)
    return int(value)


def check_block_size(block_size, spatial_rank):
    """An int, or a tuple of `spatial_rank` ints, all >= 1, as a tuple."""
    expected = (
        f"a positive int or a tuple of {spatial_rank} positive ints (one per "
        "spatial axis)"
    )
    if is_int(block_size):
        return (check_positive_int(block_size, "block_size", expected),) * spatial_rank
    if isinstance(block_size, (tuple, list)):
        if len(block_size) != spatial_rank or not all(
            is_positive_int(b) for b in block_size
        ):
            raise invalid("block_size", expected, block_size)
        return tuple(int(b) for b in block_size)
    raise invalid("block_size", expected, block_size)


def check_batched(shape, layer=None):
    """Inputs of `shape` have a batch axis (rank >= 1), for per-sample draws.

    `layer`, if given, is named in the message.
    """
    if len(shape) == 0:
        where = ""
        if layer is not None:
            where = f" of layer `{layer.name}` ({type(layer).__name__})"
        raise ValueError(
            f"Invalid value received for argument `inputs`{where}. Expected a "
            "tensor of rank >= 1 whose first axis is the batch. Received: "
            f"inputs.shape={tuple(shape)} (rank 0)"
        )
