"""The mask sampler: both generators, and the portable one's golden digest."""

import hashlib

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout import random as kd_random
from tests.harness import BACKEND
from tests.harness import assert_binomial
from tests.harness import numpy

# Recorded once and identical on TensorFlow, JAX and PyTorch: a change here
# means masks drawn with the same seed are no longer what they were.
GOLDEN_MASK = "5d1e5c0eb643b23338c4f0b8b0a07ce516cbf318a827f911dd71d428a817ca29"
GOLDEN_LAYER = "3a6bf6f7671ae6cfd42523f8fbc601e9d91e7594e51168ebee158e90b2596082"


def _digest(bits):
    return hashlib.sha256(np.packbits(np.asarray(bits, bool)).tobytes()).hexdigest()


@pytest.mark.compat
def test_portable_golden_mask():
    mask = kd_random.keep_mask((16, 33, 7), 0.5, [1234, 0], rng="portable")
    assert _digest(numpy(mask)) == GOLDEN_MASK


@pytest.mark.compat
def test_portable_golden_layer_sequence():
    keras_dropout.config.set_rng("portable")
    layer = keras_dropout.Dropout(0.3, seed=42)
    x = np.ones((8, 64), "float32")
    dropped = [numpy(layer(x, training=True)) == 0 for _ in range(3)]
    assert _digest(np.stack(dropped)) == GOLDEN_LAYER


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_drop_fraction_is_binomial(rng, rate):
    mask = numpy(kd_random.keep_mask((200, 500), rate, [5, 1], rng=rng))
    assert_binomial(int((~mask).sum()), mask.size, rate)


@pytest.mark.parametrize("rng", ["portable", "native"])
def test_uniform_range_and_moments(rng):
    u = numpy(kd_random.uniform((400, 500), 3, rng=rng))
    assert u.dtype == np.float32
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 4.5 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.002


def test_portable_bits_are_independent():
    """Neighbouring elements and consecutive calls are uncorrelated."""
    gen = keras.random.SeedGenerator(9)
    first = numpy(kd_random.uniform((200_000,), gen, rng="portable"))
    second = numpy(kd_random.uniform((200_000,), gen, rng="portable"))
    bound = 4.5 / np.sqrt(first.size)
    assert abs(np.corrcoef(first[:-1], first[1:])[0, 1]) < bound
    assert abs(np.corrcoef(first, second)[0, 1]) < bound
    # Equal-frequency bins over 2**24 levels: a chi-square sanity check.
    counts = np.bincount((first * 64).astype(int), minlength=64)
    chi2 = (((counts - first.size / 64) ** 2) / (first.size / 64)).sum()
    assert chi2 < 63 + 4.5 * np.sqrt(2 * 63)


@pytest.mark.parametrize("rng", ["portable", "native"])
def test_seed_forms_agree(rng):
    """A SeedGenerator, its drawn tensor and an int seed are all accepted."""
    a = numpy(kd_random.uniform((50,), keras.random.SeedGenerator(4), rng=rng))
    b = numpy(kd_random.uniform((50,), keras.random.SeedGenerator(4).next(), rng=rng))
    np.testing.assert_array_equal(a, b)
    c = numpy(kd_random.uniform((50,), 4, rng=rng))
    assert c.shape == (50,)
    if rng == "portable":
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("seed", [None, 1.5, "3", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="`seed`"):
        kd_random.uniform((3,), seed)


def test_bad_rng_name():
    with pytest.raises(ValueError, match="`rng`"):
        kd_random.uniform((3,), 1, rng="fast")
    with pytest.raises(ValueError, match="`name`.*Received: name='fast'"):
        keras_dropout.config.set_rng("fast")


def test_set_and_get_rng():
    keras_dropout.config.set_rng("native")
    assert keras_dropout.config.get_rng() == "native"
    keras_dropout.config.set_rng("portable")
    assert keras_dropout.config.get_rng() == "portable"


def test_default_is_auto():
    assert keras_dropout.config._DEFAULT_RNG == "auto"


def test_auto_is_portable_under_xla_and_native_elsewhere():
    seed = np.array([8, 2], "int32")
    auto = numpy(kd_random.uniform((33, 17), seed, rng="auto"))
    native = numpy(kd_random.uniform((33, 17), seed, rng="native"))
    portable = numpy(kd_random.uniform((33, 17), seed, rng="portable"))
    assert not np.array_equal(native, portable)  # else the test tells nothing
    np.testing.assert_array_equal(auto, native)
    if BACKEND == "jax":
        import jax

        fn = jax.jit(lambda s: kd_random.uniform((33, 17), s, rng="auto"))
        np.testing.assert_array_equal(numpy(fn(seed)), portable)
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        def draw(s):
            return kd_random.uniform((33, 17), s, rng="auto")

        seed_tensor = tf.constant(seed)
        xla = tf.function(draw, jit_compile=True)(seed_tensor)
        np.testing.assert_array_equal(numpy(xla), portable)
        graph = tf.function(draw)(seed_tensor)
        np.testing.assert_array_equal(numpy(graph), native)
        # A jit-compiled function called from a plain one is still compiled
        # by XLA; a plain one called from a jit-compiled one is too.
        inner_xla = tf.function(draw, jit_compile=True)
        outer = tf.function(lambda s: inner_xla(s))(seed_tensor)
        np.testing.assert_array_equal(numpy(outer), portable)
        inner_plain = tf.function(draw)
        nested = tf.function(lambda s: inner_plain(s), jit_compile=True)
        np.testing.assert_array_equal(numpy(nested(seed_tensor)), portable)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_auto_in_fit_follows_the_compiler(jit_compile):
    """Inside `fit`, "auto" draws the portable masks where XLA compiles the
    step (JAX always; TensorFlow with `jit_compile=True`) and the native
    ones elsewhere (PyTorch's eager `fit`, TensorFlow's plain graph)."""
    if BACKEND == "jax" and not jit_compile:
        pytest.skip("JAX's fit always compiles with XLA")
    if BACKEND == "torch" and jit_compile:
        pytest.skip("PyTorch's jit_compile is torch.compile, not XLA (slow here)")
    masks = {}
    for rng in ("auto", "portable", "native"):
        keras_dropout.config.set_rng(rng)
        keras.utils.set_random_seed(0)
        inputs = keras.Input((32,))
        outputs = keras_dropout.Dropout(0.3, seed=3)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(loss="mse", jit_compile=jit_compile)
        x = np.arange(1, 129, dtype="float32").reshape(4, 32)
        model.train_on_batch(x, x)
        # The loss of the step is a function of the mask it drew: a dropped
        # x_i adds x_i**2, a kept one (x_i * 3 / 7)**2.
        masks[rng] = model.train_on_batch(x, x)
    assert masks["native"] != masks["portable"]  # the loss tells them apart
    compiled_by_xla = BACKEND == "jax" or (BACKEND == "tensorflow" and jit_compile)
    assert masks["auto"] == masks["portable" if compiled_by_xla else "native"]


def test_rng_choice_reaches_layers():
    x = np.ones((64, 64), "float32")
    masks = {}
    for rng in ("portable", "native"):
        keras_dropout.config.set_rng(rng)
        masks[rng] = numpy(keras_dropout.Dropout(0.5, seed=1)(x, training=True)) == 0
    assert not np.array_equal(masks["portable"], masks["native"])


def test_portable_under_jit_equals_eager():
    eager = numpy(kd_random.uniform((33, 17), [8, 2], rng="portable"))
    if BACKEND == "jax":
        import jax

        fn = jax.jit(lambda s: kd_random.uniform((33, 17), s, rng="portable"))
        compiled = numpy(fn(np.array([8, 2], "int32")))
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        fn = tf.function(
            lambda s: kd_random.uniform((33, 17), s, rng="portable"),
            jit_compile=True,
        )
        compiled = numpy(fn(tf.constant([8, 2], tf.int32)))
    else:
        pytest.skip("torch runs eagerly")
    np.testing.assert_array_equal(eager, compiled)


def test_dynamic_shape_in_tf_graph():
    if BACKEND != "tensorflow":
        pytest.skip("dynamic shapes inside a graph are a TensorFlow matter")
    import tensorflow as tf

    fn = tf.function(
        lambda x: kd_random.keep_mask(tf.shape(x), 0.5, [1, 1], rng="portable"),
        input_signature=[tf.TensorSpec([None, 8])],
    )
    mask = numpy(fn(tf.ones((5, 8))))
    assert mask.shape == (5, 8)
    eager = numpy(kd_random.keep_mask((5, 8), 0.5, [1, 1], rng="portable"))
    np.testing.assert_array_equal(mask, eager)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.5, 0.999])
def test_portable_mask_is_uniform_threshold(rate):
    """keep_mask's integer comparison decides exactly as uniform() >= rate."""
    u = numpy(kd_random.uniform((300, 70), [11, 4], rng="portable"))
    mask = numpy(kd_random.keep_mask((300, 70), rate, [11, 4], rng="portable"))
    np.testing.assert_array_equal(mask, u >= np.float32(rate))


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("rate", [0.0, 0.004, 0.3, 0.999])
def test_drop_mask_is_the_complement_of_keep_mask(rng, rate):
    """drop_mask draws the same bits as keep_mask and negates the decision."""
    rate_tensor = keras.ops.convert_to_tensor(rate, "float32")
    for r in (rate, rate_tensor):
        drop = numpy(kd_random.drop_mask((300, 70), r, [11, 4], rng=rng))
        keep = numpy(kd_random.keep_mask((300, 70), r, [11, 4], rng=rng))
        assert drop.dtype == np.bool_
        np.testing.assert_array_equal(drop, ~keep)
    if rate in (0.0, 0.999):  # the edges: nothing / almost everything dropped
        assert drop.sum() == 0 if rate == 0.0 else drop.mean() > 0.99


def test_no_element_is_fixed_across_seeds():
    """No element's draw is the same for every seed (a past defect made
    element 0 of each first call 0.5 whatever the seed)."""
    draws = np.stack(
        [
            numpy(kd_random.uniform((64,), [seed, 0], rng="portable"))
            for seed in range(6)
        ]
    )
    assert not np.any(np.all(draws == draws[:1], axis=0))
