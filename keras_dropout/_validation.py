"""Argument checks shared by every layer: one message format everywhere.

Messages follow Keras's own form: "Invalid value received for argument
`rate`. Expected ... Received: rate=1.5".
"""

import math
import numbers


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
