"""`GaussianDropout` and `AlphaDropout`: their noise, measured."""

import math

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout import AlphaDropout
from keras_dropout import GaussianDropout
from keras_dropout import functional
from tests.harness import assert_binomial
from tests.harness import numpy

RNGS = ["portable", "native"]


def _alpha_affine(rate):
    """Keras's (and the paper's) a, b and the dropped units' output a*alpha'+b."""
    alpha_p = functional.ALPHA_PRIME
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    return a, b, a * alpha_p + b


# --- the normal draws -------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
def test_standard_normal_moments_and_tails(rng):
    n = 512 * 512
    z = numpy(keras_dropout.random.normal((512, 512), seed=1, rng=rng)).ravel()
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    assert abs(z.mean()) < 4.5 / math.sqrt(n)
    assert abs(z.var() - 1) < 4.5 * math.sqrt(2 / n)
    # The fraction within 1 and 2 sd of the mean, and the tails' end.
    for k, p in ((1, 0.6826894921), (2, 0.9544997361)):
        assert_binomial(int((np.abs(z) < k).sum()), n, p)
    assert np.abs(z).max() < 5.8
    # Neighbours are independent: no correlation between z[i] and z[i + 1].
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 4.5 / math.sqrt(n)


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("as_tensor", [False, True])
def test_normal_mean_and_stddev(rng, as_tensor):
    """`mean` and `stddev` shift and scale the draws, as numbers or as
    float32 scalar tensors (what GaussianDropout passes)."""
    mean, stddev = 1.0, 0.75
    if as_tensor:
        mean = keras.ops.convert_to_tensor(mean, "float32")
        stddev = keras.ops.convert_to_tensor(stddev, "float32")
    n = 512 * 512
    z = numpy(
        keras_dropout.random.normal((512, 512), 2, rng=rng, mean=mean, stddev=stddev)
    ).ravel()
    standard = numpy(keras_dropout.random.normal((512, 512), 2, rng=rng)).ravel()
    assert z.dtype == np.float32
    assert abs(z.mean() - 1.0) < 4.5 * 0.75 / math.sqrt(n)
    assert abs(z.var() / 0.75**2 - 1) < 4.5 * math.sqrt(2 / n)
    if rng == "portable":  # the same draws, moved: 1 + 0.75 z, to the last bit
        np.testing.assert_array_equal(z, np.float32(1.0) + standard * np.float32(0.75))


# --- GaussianDropout --------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.8])
def test_gaussian_noise_mean_and_variance(rate, rng):
    keras_dropout.config.set_rng(rng)
    x = np.random.default_rng(0).uniform(0.5, 1.5, (256, 256)).astype("float32")
    ratio = numpy(GaussianDropout(rate, seed=1)(x, training=True)) / x
    n, variance = ratio.size, rate / (1 - rate)
    assert abs(ratio.mean() - 1) < 4.5 * math.sqrt(variance / n)
    assert abs(ratio.var() - variance) < 4.5 * variance * math.sqrt(2 / n)


def test_gaussian_rate_zero_is_identity_in_training():
    x = np.random.default_rng(1).normal(size=(16, 16)).astype("float32")
    np.testing.assert_array_equal(numpy(GaussianDropout(0.0)(x, training=True)), x)


def test_gaussian_rate_change_to_zero_is_identity():
    x = np.random.default_rng(1).normal(size=(16, 16)).astype("float32")
    layer = GaussianDropout(0.5, seed=2)
    assert not np.allclose(numpy(layer(x, training=True)), x)
    layer.rate = 0.0
    np.testing.assert_array_equal(numpy(layer(x, training=True)), x)


def test_gaussian_noise_shape_shares_the_noise():
    x = np.random.default_rng(2).uniform(0.5, 1.5, (6, 9, 16)).astype("float32")
    layer = GaussianDropout(0.4, noise_shape=(None, 1, None), seed=3)
    ratio = numpy(layer(x, training=True)) / x
    np.testing.assert_allclose(
        ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-6
    )
    assert not np.allclose(ratio[0, 0], ratio[1, 0])
    assert not np.allclose(ratio[0, 0, 0], ratio[0, 0, 1])


def test_gaussian_noise_shape_fixed_dims():
    x = np.ones((4, 3, 8), "float32")
    out = numpy(GaussianDropout(0.5, noise_shape=(1, 1, 8), seed=4)(x, training=True))
    np.testing.assert_array_equal(out, np.broadcast_to(out[:1, :1], out.shape))


def test_gaussian_noise_shape_rank_mismatch_is_reported():
    layer = GaussianDropout(0.5, noise_shape=(None, 1))
    with pytest.raises(ValueError, match="`noise_shape`.*length 3"):
        layer(np.ones((2, 3, 4), "float32"), training=True)


def test_gaussian_matches_keras():
    """Keras's layer: identity at inference, the same noise variance."""
    x = np.ones((256, 256), "float32")
    ours, theirs = GaussianDropout(0.2, seed=1), keras.layers.GaussianDropout(0.2)
    np.testing.assert_array_equal(numpy(ours(x)), numpy(theirs(x)))
    for out in (ours(x, training=True), theirs(x, training=True)):
        ratio = numpy(out)
        assert abs(ratio.var() - 0.25) < 4.5 * 0.25 * math.sqrt(2 / ratio.size)


# --- AlphaDropout -----------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("rate", [0.05, 0.1, 0.2, 0.5])
def test_alpha_keeps_zero_mean_and_unit_variance(rate, rng):
    keras_dropout.config.set_rng(rng)
    x = np.random.default_rng(3).normal(size=(512, 1024)).astype("float32")
    out = numpy(AlphaDropout(rate, seed=1)(x, training=True))
    assert abs(out.mean()) < 0.02
    assert abs(out.var() - 1) < 0.05


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_alpha_dropped_and_kept_values(rate):
    """Dropped units become a * alpha' + b, kept ones a * x + b; the dropped
    fraction is binomial."""
    x = np.random.default_rng(4).normal(size=(128, 256)).astype("float32")
    a, b, dropped_value = _alpha_affine(rate)
    out = numpy(AlphaDropout(rate, seed=2)(x, training=True))
    kept = np.isclose(out, a * x + b, rtol=1e-5, atol=1e-6)
    dropped = np.isclose(out, dropped_value, rtol=1e-5, atol=1e-6) & ~kept
    assert np.all(kept | dropped)
    assert_binomial(int(dropped.sum()), x.size, rate)


def test_alpha_rate_zero_is_identity_in_training():
    x = np.random.default_rng(5).normal(size=(16, 16)).astype("float32")
    np.testing.assert_array_equal(numpy(AlphaDropout(0.0)(x, training=True)), x)


def test_alpha_noise_shape_shares_the_mask():
    x = np.random.default_rng(6).normal(size=(6, 9, 16)).astype("float32")
    _, _, dropped_value = _alpha_affine(0.5)
    layer = AlphaDropout(0.5, noise_shape=(None, 1, None), seed=3)
    out = numpy(layer(x, training=True))
    dropped = np.isclose(out, dropped_value, rtol=1e-6)
    np.testing.assert_array_equal(
        dropped, np.broadcast_to(dropped[:, :1], dropped.shape)
    )
    assert not np.array_equal(dropped[0, 0], dropped[1, 0])


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_alpha_matches_keras(rate):
    """Keras's layer: the same inference (identity) and the same training
    maths (checked on each layer's own mask)."""
    x = np.random.default_rng(7).normal(size=(64, 128)).astype("float32")
    ours, theirs = AlphaDropout(rate, seed=1), keras.layers.AlphaDropout(rate, seed=1)
    np.testing.assert_array_equal(numpy(ours(x)), numpy(theirs(x)))
    np.testing.assert_array_equal(numpy(ours(x, training=False)), x)
    a, b, dropped_value = _alpha_affine(rate)
    for out in (ours(x, training=True), theirs(x, training=True)):
        out = numpy(out)
        kept = np.isclose(out, a * x + b, rtol=1e-5, atol=1e-6)
        assert np.all(kept | np.isclose(out, dropped_value, rtol=1e-5))


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_alpha_compiled_matches_eager_near_zero(rate):
    """Outputs near 0 (inputs near -b / a) agree to rtol 1e-6 between XLA and
    eager: (x + b / a) * a leaves no multiply-add for XLA to fuse."""
    if keras.backend.backend() == "torch":
        pytest.skip("no XLA compilation on torch")
    keras_dropout.config.set_rng("portable")  # "auto" is native when eager
    a, b, _ = _alpha_affine(rate)
    jitter = np.random.default_rng(8).normal(scale=1e-3, size=(64, 64))
    x = (-b / a + jitter).astype("float32")
    seed = np.array([5, 1], "int32")
    rate = np.float32(rate)
    eager = numpy(functional.alpha_dropout(x, rate, seed))
    if keras.backend.backend() == "jax":
        import jax

        compiled = jax.jit(functional.alpha_dropout)(x, rate, seed)
    else:
        import tensorflow as tf

        compiled = tf.function(functional.alpha_dropout, jit_compile=True)(
            x, rate, seed
        )
    assert np.abs(eager).min() < 1e-5  # the test does reach outputs near 0
    np.testing.assert_allclose(numpy(compiled), eager, rtol=1e-6, atol=0)


# --- both -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [GaussianDropout, AlphaDropout])
def test_functional_forms_validate_the_rate(cls):
    function = {
        GaussianDropout: functional.gaussian_dropout,
        AlphaDropout: functional.alpha_dropout,
    }[cls]
    with pytest.raises(ValueError, match="`rate`"):
        function(np.ones((2, 2), "float32"), 1.0, seed=1)


@pytest.mark.parametrize("cls", [GaussianDropout, AlphaDropout])
def test_keras_mask_passes_through(cls):
    inputs = keras.Input((5,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    assert cls(0.2, seed=1)(embedded)._keras_mask is not None
