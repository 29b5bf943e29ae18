"""Argument checks shared by every layer: one message format everywhere.

Messages follow Keras's own form: "Invalid value received for argument
`rate`. Expected ... Received: rate=1.5".
"""

import math
import numbers

import keras


def invalid(name, expected, received):
    """The `ValueError` for argument `name`."""
    return ValueError(
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received!r}"
    )


def check_rate(rate, name="rate"):
    """A drop probability: a real number in `[0, 1)`, returned as float."""
    expected = (
        "a float in the range [0, 1): the probability of dropping a unit "
        "(not of keeping it)"
    )
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise invalid(name, expected, rate)
    value = float(rate)
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise invalid(name, expected, rate)
    return value


def check_bool(value, name):
    if not isinstance(value, bool):
        raise invalid(name, "a Python bool (True or False)", value)
    return value


def check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise invalid("seed", "a Python int or None", seed)
    return int(seed)


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise invalid(name, f"one of {tuple(choices)}", value)
    return value


def check_noise_shape(noise_shape):
    """`None`, or a tuple of positive ints and `None`s (as in Keras)."""
    if noise_shape is None:
        return None
    expected = "None or a tuple of positive integers and None entries"
    if isinstance(noise_shape, (str, bytes)):
        raise invalid("noise_shape", expected, noise_shape)
    try:
        dims = tuple(noise_shape)
    except TypeError:
        raise invalid("noise_shape", expected, noise_shape) from None
    for dim in dims:
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise invalid("noise_shape", expected, noise_shape)
        if dim <= 0:
            raise invalid("noise_shape", expected, noise_shape)
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
