"""The masked select of the mask-style functions, and its gradient.

`dropout`, `alpha_dropout` and `drop_block` apply their boolean keep mask
with one select, `where(keep, inputs [/ keep_prob], fill)`; on TensorFlow
its gradient is written out (`functional._select_kept`), because
TensorFlow's own would also compute the unused gradients of the fill and
the divisor. These tests pin what that gradient must be on every backend,
eager and compiled, for any upstream gradient (not only the ones of a
sum): the upstream times the kept units' scale, and exactly 0 where a unit
was dropped. They also pin the values the select gives where a multiply by
the mask would not: a dropped inf or NaN becomes the fill, not NaN.
"""

import numpy as np
import pytest

from keras_dropout import functional
from keras_dropout.functional import ALPHA_PRIME
from tests.harness import BACKEND
from tests.harness import numpy

RATE = 0.3
SHAPE = (4, 6, 6, 3)
X = np.random.default_rng(0).uniform(0.5, 1.5, size=SHAPE).astype("float32")
# A non-uniform upstream gradient: d sum(f(x) * W) / dx.
W = np.random.default_rng(1).normal(size=SHAPE).astype("float32")

FUNCTIONS = {
    "dropout": lambda x: functional.dropout(x, RATE, 7),
    "dropout classic": lambda x: functional.dropout(x, RATE, 7, scaling="classic"),
    "alpha_dropout": lambda x: functional.alpha_dropout(x, RATE, 7),
    "alpha_dropout noise_shape": lambda x: functional.alpha_dropout(
        x, RATE, 7, noise_shape=(None, 1, 1, None)
    ),
    "drop_block": lambda x: functional.drop_block(x, 0.2, 3, 7),
    "drop_block unscaled": lambda x: functional.drop_block(
        x, 0.2, 3, 7, scale_by_keep=False
    ),
    "drop_block coupled": lambda x: functional.drop_block(
        x, 0.4, 3, 7, couple_channels=True
    ),
}

MODES = {
    "tensorflow": ["eager", "tf.function", "XLA"],
    "jax": ["grad", "jit"],
    "torch": ["eager"],
}[BACKEND]


def _output_and_gradient(fn, x, w, mode):
    """`fn(x)` and d sum(fn(x) * w) / dx, both from one call in `mode`."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = fn(x)
                total = tf.reduce_sum(tf.cast(out, "float32") * w)
            return out, tape.gradient(total, x)

        if mode != "eager":
            run = tf.function(run, jit_compile=mode == "XLA")
        out, grad = run(tf.convert_to_tensor(x))
    elif BACKEND == "jax":
        import jax

        def total(x):
            out = fn(x)
            return (out.astype("float32") * w).sum(), out

        run = jax.grad(total, has_aux=True)
        if mode == "jit":
            run = jax.jit(run)
        grad, out = run(x)
    else:
        import torch

        x = torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x)
        x = x.detach().clone().requires_grad_(True)
        out = fn(x)
        (out.float() * torch.tensor(w)).sum().backward()
        grad = x.grad
    return numpy(out), numpy(grad)


def _alpha_scale():
    keep = 1.0 - RATE
    return (keep * (1.0 + RATE * ALPHA_PRIME**2)) ** -0.5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradient_is_the_upstream_times_the_kept_scale(name, mode):
    out, grad = _output_and_gradient(FUNCTIONS[name], X, W, mode)
    assert grad.shape == X.shape
    if name.startswith("alpha"):
        # Dropped units all take one value; kept ones are a * x + b.
        dropped_value = np.min(out)
        kept = out != dropped_value
        expected = np.where(kept, W * _alpha_scale(), 0.0)
    else:
        # Inputs lie in [0.5, 1.5]: a dropped unit is exactly 0, and a kept
        # one is x times its scale.
        kept = out != 0
        expected = np.where(kept, W * out / X, 0.0)
    assert 0.05 < 1 - kept.mean() < 0.6  # some units dropped, most kept
    np.testing.assert_allclose(grad, expected, rtol=2e-6, atol=1e-7)
    # Exactly zero, not merely small, where a unit was dropped.
    assert np.all(grad[~kept] == 0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "drop_block"])
def test_half_precision_gradient(name, dtype):
    import keras

    x = keras.ops.cast(X, dtype)
    out, grad = _output_and_gradient(FUNCTIONS[name], x, W, MODES[0])
    assert keras.backend.standardize_dtype(grad.dtype) in (dtype, "float32")
    assert np.all(np.isfinite(grad.astype("float32")))
    out = out.astype("float32")
    kept = out != (np.min(out) if name.startswith("alpha") else 0)
    assert np.all(grad.astype("float32")[~kept] == 0)
    assert np.all(grad.astype("float32")[kept] != 0)


@pytest.mark.parametrize(
    "name, fill",
    [("dropout", 0.0), ("dropout classic", 0.0), ("drop_block unscaled", 0.0)],
)
def test_dropped_non_finite_inputs_become_the_fill(name, fill):
    """A select, not a multiply by the mask: a dropped inf or NaN gives the
    fill (inf * 0 would be NaN), and the gradient there is 0."""
    x = X.copy()
    x[..., 0] = np.inf
    x[..., 1] = np.nan
    out, grad = _output_and_gradient(FUNCTIONS[name], x, W, MODES[0])
    reference, _ = _output_and_gradient(FUNCTIONS[name], X, W, MODES[0])
    dropped = reference == 0  # the same seed drops the same units
    assert dropped[..., :2].any()
    np.testing.assert_array_equal(out[dropped], fill)
    assert np.all(grad[dropped] == 0)
    assert np.all(np.isinf(out[..., 0][~dropped[..., 0]]))
    assert np.all(np.isnan(out[..., 1][~dropped[..., 1]]))
