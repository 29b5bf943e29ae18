"""The layer-test harness: every public layer passes these checks.

A layer enters the harness through a `LayerCase` in `tests/cases.py`;
`tests/test_harness.py` runs every check on every case. The helpers at the
bottom (`assert_binomial`, `numpy`) serve the layer-specific tests too.
"""

import dataclasses
import math
from collections.abc import Callable

import keras
import numpy as np

BACKEND = keras.backend.backend()


@dataclasses.dataclass
class LayerCase:
    """How to build and exercise one layer configuration.

    Attributes:
        cls: the layer class.
        kwargs: constructor arguments (a `rate` and `seed` among them).
        input_shape: a concrete input shape, batch first.
        inference: `f(layer, x) -> expected inference output` (numpy);
            the identity by default.
        bad_kwargs: `(kwargs_update, argument_name)` pairs that must raise a
            `ValueError` naming `argument_name`.
        build: optional `f(**kwargs) -> layer` (for wrappers, whose wrapped
            layer must be fresh for every instance).
        zeros: whether training sets dropped units to exactly 0 (False for
            multiplicative-noise, alpha and weight-dropping layers).
        mask_gradient: whether d sum(out) / dx equals out / x (true for a
            multiplicative mask on the inputs).
        weights: how many weights the layer has once built (those of a
            wrapped layer included); the pack's own state never counts.
        rate_arg: the constructor argument `layer.rate` starts from
            (`"init_rate"` for `ConcreteDropout`).
        atol: absolute tolerance of compiled-versus-eager comparisons. XLA
            fuses multiply-adds and reorders sums (a wrapped layer's matrix
            products): outputs near 0 then differ by more than rtol allows.
    """

    cls: type
    kwargs: dict
    input_shape: tuple
    inference: Callable = lambda layer, x: x
    bad_kwargs: list = dataclasses.field(default_factory=list)
    build: Callable | None = None
    zeros: bool = True
    mask_gradient: bool = True
    weights: int = 0
    rate_arg: str = "rate"
    atol: float = 1e-6

    @property
    def rate(self):
        return self.kwargs[self.rate_arg]

    @property
    def id(self):
        args = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.cls.__name__}({args})"

    def make(self, **overrides):
        kwargs = {**self.kwargs, **overrides}
        return (self.build or self.cls)(**kwargs)

    def inputs(self, seed=0, dtype="float32"):
        rng = np.random.default_rng(seed)
        # Bounded away from zero so a dropped unit is always visible as 0.
        x = rng.uniform(0.5, 1.5, size=self.input_shape)
        return x.astype(dtype)


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def assert_binomial(dropped, total, rate, sigmas=4.5):
    """`dropped` of `total` Bernoulli(rate) draws lies within `sigmas` sd."""
    mean = total * rate
    sd = math.sqrt(total * rate * (1.0 - rate))
    bound = sigmas * sd + 1e-9
    assert abs(dropped - mean) <= bound, (
        f"dropped {dropped} of {total} units; expected {mean:.1f} +- "
        f"{bound:.1f} at rate {rate}"
    )


def fit_one_step(model, x, y, jit_compile, run_eagerly):
    """Compile and run one `fit` epoch; return the loss and weight change."""
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss="mse",
        jit_compile=jit_compile,
        run_eagerly=run_eagerly,
    )
    before = [numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    after = [numpy(w) for w in model.trainable_weights]
    changed = any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    return history.history["loss"][-1], changed


def compile_modes():
    """(jit_compile, run_eagerly) pairs this backend supports in `fit`."""
    if BACKEND == "torch":
        return [(False, True), (False, False)]
    return [(True, False), (False, True)]


def input_gradient(layer, x):
    """d sum(layer(x, training=True)) / dx as a float64 NumPy array.

    `x` is a NumPy array or a backend tensor; the sum is taken in float32, so
    half-precision outputs do not overflow it.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(tf.cast(layer(x, training=True), "float32"))
        grad = tape.gradient(total, x)
    elif BACKEND == "jax":
        import jax

        layer.build(x.shape)
        weights = [v.value for v in layer.trainable_variables]
        state = [v.value for v in layer.non_trainable_variables]

        def total(x):
            out, _ = layer.stateless_call(weights, state, x, training=True)
            return out.astype("float32").sum()

        grad = jax.grad(total)(x)
    else:
        import torch

        x = torch.as_tensor(x).detach().clone().requires_grad_(True)
        layer(x, training=True).float().sum().backward()
        grad = x.grad
    grad = keras.ops.convert_to_numpy(keras.ops.cast(grad, "float32"))
    return grad.astype("float64")
