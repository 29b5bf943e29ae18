"""Dropout-rate schedules for `keras_dropout.callbacks.RateScheduler`.

A schedule is any callable `schedule(step, base_rate) -> rate`: `step` is
the epoch (or the batch, counted over the whole run) and `base_rate` the
layer's rate when training began. The ones here validate their arguments
and clip nothing: they return rates in `[0, 1)` by construction.
"""

import math
import numbers

from keras_dropout import _validation


def _check_step(step):
    if not _validation.is_int(step) or step < 0:
        raise _validation.invalid("step", "a non-negative int", step)
    return int(step)


def _rate_or_base(rate, base_rate):
    """`rate`, or the layer's `base_rate` (checked) when `rate` is None."""
    if rate is not None:
        return rate
    return _validation.check_rate(base_rate, "base_rate")


EARLY_KINDS = ("constant", "linear")


class linear:  # noqa: N801 - a schedule factory, used like a function
    """Moves the rate linearly from `start` to `end` over `steps` steps.

    `rate(t) = start + (end - start) * min(t, steps) / steps`: `start` at
    step 0, `end` from step `steps` on. The base rate is ignored.

    Args:
        start: float in `[0, 1)`, the rate at step 0.
        end: float in `[0, 1)`, the rate from step `steps` on.
        steps: positive int, the length of the ramp.

    Examples:
        >>> from keras_dropout import schedules
        >>> ramp = schedules.linear(0.0, 0.5, steps=4)
        >>> rates = [ramp(t, base_rate=0.1) for t in range(6)]
        >>> rates
        [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]
    """

    def __init__(self, start, end, steps):
        self.start = _validation.check_rate(start, "start")
        self.end = _validation.check_rate(end, "end")
        self.steps = _validation.check_positive_int(
            steps, "steps", "a positive int (1 or more)"
        )

    def __call__(self, step, base_rate=None):
        fraction = min(_check_step(step), self.steps) / self.steps
        return self.start + (self.end - self.start) * fraction

    def __repr__(self):
        return f"linear(start={self.start}, end={self.end}, steps={self.steps})"


class curriculum:  # noqa: N801 - a schedule factory, used like a function
    """Curriculum dropout: the rate rises from 0 towards `final_rate`.

    `rate(t) = final_rate * (1 - exp(-gamma * t))`: no dropout at step 0,
    then more and more, as in Morerio et al. (2017), who start training on
    the easy, noise-free problem and make it harder over time. The rate
    reaches 99% of `final_rate` after `log(100) / gamma` (about
    `4.6 / gamma`) steps. The base rate is ignored.

    Args:
        final_rate: float in `[0, 1)`, the rate approached as `t` grows.
        gamma: positive float, how fast it is approached (per step).

    Examples:
        >>> from keras_dropout import schedules
        >>> schedule = schedules.curriculum(0.5, gamma=1.0)
        >>> rates = [round(schedule(t, base_rate=0.5), 4) for t in (0, 1, 10)]
        >>> rates
        [0.0, 0.3161, 0.5]

    Reference:
        - [Morerio et al., 2017](https://arxiv.org/abs/1703.06229):
          Curriculum dropout.
    """

    def __init__(self, final_rate, gamma):
        self.final_rate = _validation.check_rate(final_rate, "final_rate")
        if (
            isinstance(gamma, bool)
            or not isinstance(gamma, numbers.Real)
            or not math.isfinite(gamma)
            or gamma <= 0
        ):
            raise _validation.invalid("gamma", "a finite float > 0", gamma)
        self.gamma = float(gamma)

    def __call__(self, step, base_rate=None):
        return self.final_rate * (1.0 - math.exp(-self.gamma * _check_step(step)))

    def __repr__(self):
        return f"curriculum(final_rate={self.final_rate}, gamma={self.gamma})"


class constant:  # noqa: N801 - a schedule factory, used like a function
    """The same rate at every step: `rate`, or each layer's base rate.

    Args:
        rate: optional float in `[0, 1)`. `None` (default) keeps each
            layer's rate from the start of training.

    Examples:
        >>> from keras_dropout import schedules
        >>> schedules.constant(0.2)(7, base_rate=0.5), schedules.constant()(7, 0.5)
        (0.2, 0.5)
    """

    def __init__(self, rate=None):
        self.rate = None if rate is None else _validation.check_rate(rate)

    def __call__(self, step, base_rate=None):
        _check_step(step)
        if self.rate is not None:
            return self.rate
        return _validation.check_rate(base_rate, "base_rate")

    def __repr__(self):
        return f"constant(rate={self.rate})"


class early:  # noqa: N801 - a schedule factory, used like a function
    """Early dropout: dropout for the first `cutoff` steps, then none.

    Liu et al. (2023) found that dropout used only at the start of training
    helps models that *underfit*: it lowers the variance of mini-batch
    gradients early on, then the model trains without it. `kind="constant"`
    keeps the rate until the cutoff; `kind="linear"` lowers it linearly to
    0 at the cutoff: `rate * (1 - t / cutoff)`. From step `cutoff` on the
    rate is 0. The paper counts steps in iterations: use it with
    `RateScheduler(..., update="batch")`.

    With `rate=None` (default) each layer keeps its own rate until the
    cutoff, so a model's drop-path rates (which grow with depth, see
    `drop_path_rates`) are scaled together and keep their ratios.

    Args:
        rate: optional float in `[0, 1)`; `None` uses each layer's base
            rate.
        cutoff: positive int, the first step without dropout.
        kind: `"constant"` (default) or `"linear"`.

    Examples:
        >>> from keras_dropout import schedules
        >>> schedule = schedules.early(0.1, cutoff=3)
        >>> [schedule(t, base_rate=0.5) for t in range(5)]
        [0.1, 0.1, 0.1, 0.0, 0.0]
        >>> ramp = schedules.early(cutoff=4, kind="linear")  # the layer's rate
        >>> [round(ramp(t, base_rate=0.2), 4) for t in range(5)]
        [0.2, 0.15, 0.1, 0.05, 0.0]

    Reference:
        - [Liu et al., 2023](https://arxiv.org/abs/2303.01500):
          Dropout reduces underfitting.
    """

    def __init__(self, rate=None, cutoff=None, kind="constant"):
        self.rate = None if rate is None else _validation.check_rate(rate)
        self.cutoff = _validation.check_positive_int(cutoff, "cutoff")
        self.kind = _validation.check_choice(kind, "kind", EARLY_KINDS)

    def __call__(self, step, base_rate=None):
        step = _check_step(step)
        rate = _rate_or_base(self.rate, base_rate)
        if step >= self.cutoff:
            return 0.0
        if self.kind == "linear":
            return rate * (1.0 - step / self.cutoff)
        return rate

    def __repr__(self):
        return f"early(rate={self.rate}, cutoff={self.cutoff}, kind={self.kind!r})"


class late:  # noqa: N801 - a schedule factory, used like a function
    """Late dropout: no dropout for the first `cutoff` steps, then `rate`.

    The counterpart of `early` for models that *overfit* (Liu et al.,
    2023): training starts without regularization and dropout (or
    stochastic depth) is switched on from step `cutoff` on. With
    `rate=None` (default) each layer gets its own base rate back, so a
    model's drop-path rates keep their depth ratios.

    Args:
        rate: optional float in `[0, 1)`; `None` uses each layer's base
            rate.
        cutoff: positive int, the first step with dropout.

    Examples:
        >>> from keras_dropout import schedules
        >>> schedule = schedules.late(cutoff=2)
        >>> [schedule(t, base_rate=0.3) for t in range(4)]
        [0.0, 0.0, 0.3, 0.3]

    Reference:
        - [Liu et al., 2023](https://arxiv.org/abs/2303.01500):
          Dropout reduces underfitting.
    """

    def __init__(self, rate=None, cutoff=None):
        self.rate = None if rate is None else _validation.check_rate(rate)
        self.cutoff = _validation.check_positive_int(cutoff, "cutoff")

    def __call__(self, step, base_rate=None):
        step = _check_step(step)
        rate = _rate_or_base(self.rate, base_rate)
        return rate if step >= self.cutoff else 0.0

    def __repr__(self):
        return f"late(rate={self.rate}, cutoff={self.cutoff})"
