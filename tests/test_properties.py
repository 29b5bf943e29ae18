"""Property-based tests: invariants over shapes, rates, seeds and dtypes.

Hypothesis draws the input shape (ranks the layer accepts, sizes from 1:
size-1 and tiny tensors included), the rate (0, 0.5 and 0.999 always among
the candidates), the seed, the generator and the dtype (float32, float16,
bfloat16), and checks what must hold for every draw:

* training output: the input's shape and dtype, finite for finite input;
  every unit of a dropout layer either 0 or the input divided by
  `1 - rate`;
* inference: the identity where the docstring says so (the wrapped layer's
  output for wrappers, `x * (1 - rate)` for classic scaling);
* the number of dropped units (or channels, rows, ...) is a plausible
  Binomial(n, rate) draw: its two-sided tail probability is at least 1e-9
  (about 6 standard deviations), computed exactly, so tiny tensors and
  rates near 1 get no false alarms;
* the same seed gives the same output;
* gradients with respect to the inputs are finite.

The examples are derandomized (the same ones on every run, so CI is
reproducible) and no example database is written. `pytest
--hypothesis-show-statistics` prints how many ran.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_dropout as kd
from keras_dropout import functional
from tests.harness import BACKEND
from tests.harness import input_gradient
from tests.harness import numpy

DTYPES = ["float32", "float16", "bfloat16"]
# Relative error of a kept unit, x / (1 - rate): the rounding of 1 - rate
# to the dtype plus that of the division (2 ulps), with some room.
RTOL = {"float32": 1e-5, "float16": 3e-3, "bfloat16": 2e-2}

RATES = st.one_of(
    st.sampled_from([0.0, 0.5, 0.999]),
    st.floats(0.0, 0.999, allow_nan=False, allow_infinity=False),
)
SEEDS = st.integers(0, 2**31 - 1)
RNGS = st.sampled_from(["portable", "native"])


# JAX compiles every op for every new shape and dtype (about 0.3 s per new
# layer configuration on a 2-core CPU), TensorFlow and PyTorch run ops
# eagerly: they afford four times the examples in less time.
EXAMPLE_FACTOR = 1 if BACKEND == "jax" else 4


def _settings(examples):
    return settings(
        max_examples=examples * EXAMPLE_FACTOR,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def shapes(min_rank, max_rank, sides=(1, 2, 7)):
    """Shapes of `min_rank` to `max_rank` axes, each side one of `sides`.

    Few distinct sides keep the number of distinct shapes small: JAX and
    TensorFlow compile each op once per shape, and that dominates the time.
    """
    sizes = st.sampled_from(sides)
    return st.lists(sizes, min_size=min_rank, max_size=max_rank).map(tuple)


def _inputs(shape, dtype, seed=0):
    """Inputs in +-[0.5, 1.5]: away from 0, so a dropped unit shows as 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return keras.ops.cast(x.astype("float32"), dtype)


def _f32(x):
    return numpy(keras.ops.cast(x, "float32")).astype("float64")


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def binomial_tail(k, n, p):
    """min(P[X <= k], P[X >= k]) for X ~ Binomial(n, p), computed exactly."""
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    logs = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
        for i in range(n + 1)
    ]
    pmf = np.exp(np.array(logs) - max(logs))
    pmf /= pmf.sum()
    return float(min(pmf[: k + 1].sum(), pmf[k:].sum()))


def assert_plausible_binomial(k, n, p):
    tail = binomial_tail(k, n, p)
    assert tail >= 1e-9, f"{k} of {n} dropped at rate {p}: tail {tail:.2e}"


# --- the layers -----------------------------------------------------------------


def _dense_kernel():
    return keras.initializers.GlorotUniform(seed=0)


# name -> (make(rate, seed, dtype), input shapes, units per mask decision,
# what training does: "zeros" (drop to 0, scale the rest by 1 / (1 - rate)),
# "blocks" (drop to 0, rescale by the kept fraction), "noise" (no zeros),
# inference: "identity", "classic" or "wrapped").
LAYERS = {
    "Dropout": (
        lambda r, s, d: kd.Dropout(r, seed=s, dtype=d),
        shapes(1, 4),
        "zeros",
        "identity",
    ),
    "Dropout(classic)": (
        lambda r, s, d: kd.Dropout(r, seed=s, scaling="classic", dtype=d),
        shapes(1, 3),
        "unscaled",
        "classic",
    ),
    "SpatialDropout1D": (
        lambda r, s, d: kd.SpatialDropout1D(r, seed=s, dtype=d),
        shapes(3, 3),
        "zeros",
        "identity",
    ),
    "SpatialDropout2D": (
        lambda r, s, d: kd.SpatialDropout2D(r, "channels_first", seed=s, dtype=d),
        shapes(4, 4),
        "zeros",
        "identity",
    ),
    "VariationalDropout": (
        lambda r, s, d: kd.VariationalDropout(r, seed=s, dtype=d),
        shapes(3, 4),
        "zeros",
        "identity",
    ),
    "GaussianDropout": (
        lambda r, s, d: kd.GaussianDropout(r, seed=s, dtype=d),
        shapes(1, 3),
        "noise",
        "identity",
    ),
    "AlphaDropout": (
        lambda r, s, d: kd.AlphaDropout(r, seed=s, dtype=d),
        shapes(1, 3),
        "noise",
        "identity",
    ),
    "DropBlock2D": (
        lambda r, s, d: kd.DropBlock2D(r, block_size=2, seed=s, dtype=d),
        shapes(4, 4),
        "blocks",
        "identity",
    ),
    "DropPath": (
        lambda r, s, d: kd.DropPath(r, seed=s, dtype=d),
        shapes(1, 3),
        "zeros",
        "identity",
    ),
    "DropConnectDense": (
        lambda r, s, d: kd.DropConnectDense(
            3, r, seed=s, dtype=d, kernel_initializer=_dense_kernel()
        ),
        shapes(2, 3),
        "noise",
        "wrapped",
    ),
    "ConcreteDropout": (
        lambda r, s, d: kd.ConcreteDropout(
            keras.layers.Dense(3, kernel_initializer=_dense_kernel(), dtype=d),
            init_rate=min(max(r, 0.01), 0.99),
            seed=s,
            dtype=d,
        ),
        shapes(2, 3),
        "noise",
        "wrapped",
    ),
}


def _cases(draw_dtype=True):
    """(layer name, shape, rate, seed, rng, dtype), one per example."""

    @st.composite
    def draw(draw_):
        name = draw_(st.sampled_from(sorted(LAYERS)))
        shape = draw_(LAYERS[name][1])
        dtype = draw_(st.sampled_from(DTYPES)) if draw_dtype else "float32"
        return name, shape, draw_(RATES), draw_(SEEDS), draw_(RNGS), dtype

    return draw()


@_settings(16)
@given(_cases())
def test_training_output(case):
    name, shape, rate, seed, rng, dtype = case
    make, _, kind, _ = LAYERS[name]
    kd.config.set_rng(rng)
    layer = make(rate, seed, dtype)
    x = _inputs(shape, dtype, seed % 1000)
    out = layer(x, training=True)
    expected_shape = shape[:-1] + (3,) if kind == "noise" and _wraps(name) else shape
    assert tuple(out.shape) == expected_shape
    assert _dtype(out) == dtype
    values, inputs = _f32(out), _f32(x)
    assert np.all(np.isfinite(values)), (name, rate, dtype)
    if kind in ("zeros", "unscaled"):
        scale = 1.0 / (1.0 - rate) if kind == "zeros" else 1.0
        kept = values != 0
        np.testing.assert_allclose(
            values[kept], inputs[kept] * scale, rtol=RTOL[dtype], atol=0
        )
    elif kind == "blocks":
        # Kept units are all scaled by the same factor, at least 1.
        kept = values != 0
        if kept.any():
            ratios = values[kept] / inputs[kept]
            assert ratios.min() >= 1.0 - RTOL[dtype]
            np.testing.assert_allclose(ratios, ratios[0], rtol=2 * RTOL[dtype])


def _wraps(name):
    return LAYERS[name][3] == "wrapped"


@_settings(20)
@given(_cases())
def test_inference(case):
    name, shape, rate, seed, rng, dtype = case
    make, _, _, inference = LAYERS[name]
    kd.config.set_rng(rng)
    layer = make(rate, seed, dtype)
    x = _inputs(shape, dtype, seed % 1000)
    out = layer(x)
    assert _dtype(out) == dtype
    if inference == "identity":
        np.testing.assert_array_equal(_f32(out), _f32(x))
    elif inference == "classic":
        np.testing.assert_allclose(
            _f32(out), _f32(x) * (1.0 - rate), rtol=RTOL[dtype], atol=0
        )
    else:
        np.testing.assert_array_equal(_f32(out), _f32(layer.layer(x)))


@_settings(8)
@given(_cases(draw_dtype=False))
def test_same_seed_same_output(case):
    name, shape, rate, seed, rng, dtype = case
    make = LAYERS[name][0]
    kd.config.set_rng(rng)
    x = _inputs(shape, dtype)
    first = [_f32(make(rate, seed, dtype)(x, training=True)) for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])


# --- the drop fraction -----------------------------------------------------------

# name -> (make(rate, seed, dtype), shapes, decisions(shape) -> (n, axes):
# the number of independent drop decisions and the axes a decision spans).
FRACTION = {
    "Dropout": (
        lambda r, s, d: kd.Dropout(r, seed=s, dtype=d),
        shapes(1, 3, sides=(1, 5, 24)),
        lambda shape: (),
    ),
    "SpatialDropout1D": (
        lambda r, s, d: kd.SpatialDropout1D(r, seed=s, dtype=d),
        shapes(3, 3, sides=(1, 3, 12)),
        lambda shape: (1,),
    ),
    "VariationalDropout": (
        lambda r, s, d: kd.VariationalDropout(r, seed=s, dtype=d),
        shapes(3, 3, sides=(1, 3, 12)),
        lambda shape: (1,),
    ),
    "DropPath": (
        lambda r, s, d: kd.DropPath(r, seed=s, dtype=d),
        shapes(2, 3, sides=(1, 5, 24)),
        lambda shape: tuple(range(1, len(shape))),
    ),
    "functional.dropout": (
        lambda r, s, d: lambda x, training: functional.dropout(x, r, s),
        shapes(1, 3, sides=(1, 5, 24)),
        lambda shape: (),
    ),
}


@_settings(16)
@given(
    st.sampled_from(sorted(FRACTION)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            FRACTION[name][1],
            RATES,
            SEEDS,
            RNGS,
            st.sampled_from(DTYPES),
        )
    )
)
def test_drop_fraction(case):
    name, shape, rate, seed, rng, dtype = case
    make, _, shared_axes = FRACTION[name]
    kd.config.set_rng(rng)
    x = _inputs(shape, dtype, seed % 1000)
    zeros = _f32(make(rate, seed, dtype)(x, training=True)) == 0
    axes = shared_axes(shape)
    if axes:
        # One decision spans these axes: all of its units share it.
        decisions = zeros.all(axis=axes)
        assert np.array_equal(decisions, zeros.any(axis=axes))
    else:
        decisions = zeros
    assert_plausible_binomial(int(decisions.sum()), decisions.size, rate)


# --- StochasticDepth: two inputs -------------------------------------------------


@_settings(10)
@given(
    shapes(1, 3),
    RATES,
    SEEDS,
    RNGS,
    st.sampled_from(DTYPES),
    st.sampled_from(["row", "batch"]),
)
def test_stochastic_depth(shape, rate, seed, rng, dtype, mode):
    kd.config.set_rng(rng)
    layer = kd.StochasticDepth(rate, mode=mode, seed=seed, dtype=dtype)
    shortcut, residual = _inputs(shape, dtype, 1), _inputs(shape, dtype, 2)
    out = layer([shortcut, residual], training=True)
    assert tuple(out.shape) == shape and _dtype(out) == dtype
    values, a, b = _f32(out), _f32(shortcut), _f32(residual)
    assert np.all(np.isfinite(values))
    # Each row (each batch, in batch mode) is either the shortcut alone or
    # the shortcut plus the (scaled) residual.
    scale = 1.0 / (1.0 - rate) if mode == "row" else 1.0
    rows = values.reshape(shape[0], -1)
    a_rows, b_rows = a.reshape(rows.shape), b.reshape(rows.shape)
    tol = 4 * RTOL[dtype] * (np.abs(a_rows) + scale * np.abs(b_rows)) + 1e-6
    dropped = np.all(np.abs(rows - a_rows) <= tol, axis=1)
    kept = np.all(np.abs(rows - (a_rows + scale * b_rows)) <= tol, axis=1)
    assert np.all(dropped | kept)
    if mode == "batch":
        assert dropped.all() or kept.all()
    inference = _f32(layer([shortcut, residual]))
    factor = 1.0 if mode == "row" else 1.0 - rate
    np.testing.assert_allclose(
        inference, a + factor * b, rtol=4 * RTOL[dtype], atol=4 * RTOL[dtype]
    )


# --- gradients -----------------------------------------------------------------

GRADIENT_LAYERS = [
    "Dropout",
    "SpatialDropout2D",
    "GaussianDropout",
    "AlphaDropout",
    "DropBlock2D",
    "DropPath",
    "ConcreteDropout",
]


@_settings(8)
@given(
    st.sampled_from(GRADIENT_LAYERS).flatmap(
        lambda name: st.tuples(
            st.just(name),
            LAYERS[name][1],
            RATES,
            SEEDS,
            RNGS,
            st.sampled_from(DTYPES),
        )
    )
)
def test_gradients_are_finite(case):
    name, shape, rate, seed, rng, dtype = case
    kd.config.set_rng(rng)
    layer = LAYERS[name][0](rate, seed, dtype)
    x = _inputs(shape, dtype, seed % 1000)
    grad = input_gradient(layer, x)
    assert grad.shape == shape
    assert np.all(np.isfinite(grad)), (name, rate, dtype)


@pytest.mark.parametrize("rate", [0.0, 0.999])
def test_extreme_rates_on_a_single_unit(rate):
    """The smallest tensor at the extreme rates: 0 or x / (1 - rate)."""
    x = _inputs((1,), "float16")
    out = _f32(kd.Dropout(rate, seed=3, dtype="float16")(x, training=True))
    assert out[0] == 0 or math.isclose(
        out[0], _f32(x)[0] / (1 - rate), rel_tol=RTOL["float16"]
    )
