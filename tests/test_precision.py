"""Precision: float16 and bfloat16 policies, and mixed-precision training.

The harness (`test_dtype_policies` in `tests/test_harness.py` and
`tests/test_harness_sequence.py`) already runs every layer case under
`float16`, `bfloat16`, `mixed_float16` and `mixed_bfloat16` and checks the
output dtype (the policy's compute dtype), finite outputs in training,
inference and MC mode, and that some units are dropped and some kept. This
file adds what it does not check:

* the scale of kept units, `1 / (1 - rate)`, is right and does not
  overflow at rate 0.999 (a factor of 1000) in float16, nor for inputs
  near the top of float16's range at rate 0.5;
* the drop fraction stays within binomial bounds when the inputs and the
  layer are float16 or bfloat16;
* the rate and MC variables stay float32 and bool under every policy;
* `fit` under the global `mixed_float16` and `mixed_bfloat16` policies, on a
  model with a layer of every family, gives finite losses and weights.
"""

import keras
import numpy as np
import pytest

import keras_dropout as kd
from tests.harness import assert_binomial
from tests.harness import numpy

POLICIES = ["float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]
# Relative error of x / (1 - rate) in the compute dtype: the rounding of
# 1 - rate to it, then of the division.
RTOL = {"float16": 2e-3, "bfloat16": 1.6e-2}


def _compute(policy):
    return keras.DTypePolicy(policy).compute_dtype


def _f64(x):
    return numpy(keras.ops.cast(x, "float32")).astype("float64")


def _signed(shape, low, high, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype("float32")


# Layers whose kept units are the inputs times 1 / (1 - rate):
# name -> (make(rate, dtype), input shape).
SCALED = {
    "Dropout": (lambda r, d: kd.Dropout(r, seed=1, dtype=d), (64, 128)),
    "SpatialDropout1D": (
        lambda r, d: kd.SpatialDropout1D(r, seed=1, dtype=d),
        (64, 2, 128),
    ),
    "SpatialDropout2D": (
        lambda r, d: kd.SpatialDropout2D(r, seed=1, dtype=d),
        (64, 2, 1, 128),
    ),
    "VariationalDropout": (
        lambda r, d: kd.VariationalDropout(r, seed=1, dtype=d),
        (64, 2, 128),
    ),
    "DropPath": (lambda r, d: kd.DropPath(r, seed=1, dtype=d), (8192, 1)),
}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", sorted(SCALED))
def test_kept_units_scaled_without_overflow_at_rate_0999(name, policy):
    """Inputs up to 60: kept units up to 60000, inside float16's 65504.

    Each layer makes 8192 drop decisions.
    """
    make, shape = SCALED[name]
    x = _signed(shape, 30.0, 60.0)
    out = make(0.999, policy)(x, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == _compute(policy)
    values = _f64(out)
    assert np.all(np.isfinite(values))
    kept = values != 0
    # At rate 0.999 about 8 of these 8192 units (channels, rows) survive.
    assert 0 < kept.sum() < values.size
    reference = _f64(keras.ops.cast(x, _compute(policy))) * 1000.0
    np.testing.assert_allclose(
        values[kept], reference[kept], rtol=RTOL[_compute(policy)]
    )


def _large_value(dtype):
    """Half of the largest finite value: doubling it (rate 0.5) still fits."""
    return float(np.finfo(np.float16).max) / 2 if dtype == "float16" else 1e38


# Every zeroing or noise layer, at rate 0.5, on inputs near the top of the
# range: name -> make(dtype).
LARGE = {
    "Dropout": lambda d: kd.Dropout(0.5, seed=2, dtype=d),
    "Dropout(classic)": lambda d: kd.Dropout(0.5, scaling="classic", dtype=d),
    "SpatialDropout1D": lambda d: kd.SpatialDropout1D(0.5, seed=2, dtype=d),
    "VariationalDropout": lambda d: kd.VariationalDropout(0.5, seed=2, dtype=d),
    "AlphaDropout": lambda d: kd.AlphaDropout(0.5, seed=2, dtype=d),
    "DropBlock1D": lambda d: kd.DropBlock1D(0.1, 2, seed=2, dtype=d),
    "DropPath": lambda d: kd.DropPath(0.5, seed=2, dtype=d),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(LARGE))
def test_large_inputs_do_not_overflow(name, dtype):
    """Inputs of half the dtype's maximum: the scaled outputs are finite.

    The scale is computed in float32 and applied once, so no intermediate
    value is larger than the output. (A scale whose product with the input
    exceeds the dtype's range cannot be represented, whatever the code.)
    """
    value = _large_value(dtype)
    x = keras.ops.cast(np.full((4, 16, 8), value, "float32"), dtype)
    x = keras.ops.multiply(x, keras.ops.cast(_signed((4, 16, 8), 1, 1), dtype))
    layer = LARGE[name](dtype)
    for out in (layer(x, training=True), layer(x)):
        values = _f64(out)
        assert np.all(np.isfinite(values)), (name, dtype)
        assert np.abs(values).max() <= 2.0 * value * (1 + RTOL[dtype])


def test_float16_scale_at_the_largest_representable_product():
    """x * 1 / (1 - 0.5) = 65504, float16's largest finite value, exactly."""
    x = keras.ops.cast(np.full((64,), 32752.0, "float32"), "float16")
    values = _f64(kd.Dropout(0.5, seed=0, dtype="float16")(x, training=True))
    assert set(np.unique(values)) <= {0.0, 65504.0}
    assert 65504.0 in values


# Independent drop decisions per layer, under a low-precision policy:
# name -> (make(rate, policy), inputs, dropped decisions(outputs, inputs)).
def _dropped_units(out, x):
    return int((out == 0).sum()), out.size


def _dropped_channels(out, x):
    # (batch, steps, channels): a channel is dropped at every step or none.
    channels = (out == 0).all(axis=1)
    assert np.array_equal(channels, (out == 0).any(axis=1))
    return int(channels.sum()), channels.size


def _dropped_rows(out, x):
    rows = (out.reshape(len(out), -1) == 0).all(axis=1)
    return int(rows.sum()), rows.size


def _dropped_words(out, x):
    # Every vocabulary id appears once: a dropped word is a zero vector.
    return _dropped_rows(out, x)


def _stochastic_rows(out, x):
    # The shortcut is 0: a dropped residual leaves a zero row.
    return _dropped_rows(out, x)


VOCAB = 2048
FRACTIONS = {
    "Dropout": (
        lambda r, p: kd.Dropout(r, seed=3, dtype=p),
        lambda: _signed((32, 128), 0.5, 1.5),
        _dropped_units,
    ),
    "SpatialDropout1D": (
        lambda r, p: kd.SpatialDropout1D(r, seed=3, dtype=p),
        lambda: _signed((32, 4, 64), 0.5, 1.5),
        _dropped_channels,
    ),
    "VariationalDropout": (
        lambda r, p: kd.VariationalDropout(r, seed=3, dtype=p),
        lambda: _signed((32, 4, 64), 0.5, 1.5),
        _dropped_channels,
    ),
    "DropPath": (
        lambda r, p: kd.DropPath(r, seed=3, dtype=p),
        lambda: _signed((2048, 3), 0.5, 1.5),
        _dropped_rows,
    ),
    "EmbeddingDropout": (
        lambda r, p: kd.EmbeddingDropout(
            keras.layers.Embedding(
                VOCAB,
                4,
                embeddings_initializer=keras.initializers.RandomUniform(0.5, 1.5),
                dtype=p,
            ),
            r,
            seed=3,
            dtype=p,
        ),
        lambda: np.arange(VOCAB, dtype="int32").reshape(64, 32),
        lambda out, x: _dropped_rows(out.reshape(-1, out.shape[-1]), x),
    ),
}


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", sorted(FRACTIONS))
def test_drop_fraction_in_low_precision(name, policy, rate):
    make, inputs, count = FRACTIONS[name]
    x = inputs()
    out = _f64(make(rate, policy)(x, training=True))
    dropped, total = count(out, x)
    assert total >= 1024
    assert_binomial(dropped, total, rate, sigmas=6)


@pytest.mark.parametrize("policy", POLICIES)
def test_stochastic_depth_fraction_in_low_precision(policy):
    layer = kd.StochasticDepth(0.3, seed=4, dtype=policy)
    shortcut = np.zeros((2048, 3), "float32")
    residual = _signed((2048, 3), 0.5, 1.5)
    out = _f64(layer([shortcut, residual], training=True))
    dropped, total = _dropped_rows(out, None)
    assert_binomial(dropped, total, 0.3, sigmas=6)


@pytest.mark.parametrize("policy", POLICIES)
def test_state_variables_keep_their_dtypes(policy):
    layers = [
        kd.Dropout(0.3, dtype=policy),
        kd.DropConnectDense(4, 0.3, dtype=policy),
        kd.ConcreteDropout(keras.layers.Dense(4, dtype=policy), dtype=policy),
        kd.StochasticDepth(0.3, dtype=policy),
    ]
    for layer in layers:
        assert keras.backend.standardize_dtype(layer.rate_variable.dtype) == "float32"
        assert keras.backend.standardize_dtype(layer._state.mc.dtype) == "bool"


# --- mixed-precision fit --------------------------------------------------------


@pytest.fixture
def global_policy(request):
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy("float32")


STEPS = 6


def _every_family(rate):
    """A functional model with a layer of every family (built under the
    global policy): sequences of token ids and of features in, one float
    out."""
    ids = keras.Input((STEPS,), dtype="int32", name="ids")
    feats = keras.Input((STEPS, 6), name="feats")
    embedded = kd.EmbeddingDropout(keras.layers.Embedding(50, 6), rate, seed=1)(ids)
    h = keras.layers.Concatenate()([embedded, feats])
    h = kd.Dropout(rate, seed=2)(h)
    h = kd.SpatialDropout1D(rate, seed=3)(h)
    h = kd.VariationalDropout(rate, seed=4)(h)
    h = kd.GaussianDropout(rate, seed=5)(h)
    h = kd.DropBlock1D(rate, 3, seed=6)(h)
    h = kd.ConcreteDropout(keras.layers.Dense(8), init_rate=rate, seed=7)(h)
    h = kd.AlphaDropout(rate, seed=8)(keras.layers.Activation("selu")(h))
    branch = kd.DropConnectDense(8, rate, seed=9, activation="tanh")(h)
    h = kd.StochasticDepth(rate, seed=10)([h, branch])
    h = kd.DropPath(rate, seed=11)(h)
    h = keras.layers.RNN(kd.ZoneoutCell(keras.layers.GRUCell(8), rate, seed=12))(h)
    out = keras.layers.Dense(1, dtype="float32")(h)
    return keras.Model({"ids": ids, "feats": feats}, out)


@pytest.mark.slow
@pytest.mark.parametrize(
    "global_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True
)
def test_mixed_precision_fit_stays_finite(global_policy):
    keras.utils.set_random_seed(0)
    model = _every_family(rate=0.5)
    rng = np.random.default_rng(0)
    x = {
        "ids": rng.integers(0, 50, size=(64, STEPS)).astype("int32"),
        # Large inputs: float16 activations, float32 weights and loss.
        "feats": rng.normal(scale=100.0, size=(64, STEPS, 6)).astype("float32"),
    }
    y = rng.normal(size=(64, 1)).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    if global_policy == "mixed_float16":
        # Keras wraps the optimizer to scale the loss, as for any model.
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)), losses
    for weight in model.weights:
        assert keras.backend.standardize_dtype(weight.dtype) == "float32"
        assert np.all(np.isfinite(numpy(weight))), weight.path
    compute = keras.DTypePolicy(global_policy).compute_dtype
    drop = next(la for la in model.layers if isinstance(la, kd.Dropout))
    assert drop.compute_dtype == compute
