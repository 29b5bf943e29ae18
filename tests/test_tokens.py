"""PatchDropout, DropHead, `functional.patch_dropout` and `functional.drop_head`.

DropHead keeps its input shape: the harness (`tests/cases.py`) runs every
generic check on it; here are the checks particular to it (whole heads,
the paper's scaling, both layouts). PatchDropout removes tokens, so its
training output has fewer tokens than its input, and it refuses an unknown
token count: the harness cannot drive it, and its equivalents of the
harness checks are here, with a small ViT trained by `fit` on every backend.
"""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_dropout
from keras_dropout import functional
from keras_dropout.layers.tokens import DropHead
from keras_dropout.layers.tokens import PatchDropout
from tests.cases import BAD_RATES
from tests.harness import BACKEND
from tests.harness import assert_binomial
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import input_gradient
from tests.harness import numpy


def _num_keep(tokens, prefix, rate):
    """The issue's formula, in Python."""
    return max(1, int(round((1 - rate) * (tokens - prefix))))


def _tokens(batch, tokens, features=3):
    """Tokens whose rows are all distinct: x[b, t, 0] = 1000 * b + t."""
    b = np.arange(batch)[:, None, None]
    t = np.arange(tokens)[None, :, None]
    f = np.arange(features)[None, None, :]
    return (1000.0 * b + t + f / 8.0).astype("float32")


def _kept_indices(out, x):
    """Which input token each output token is, per sample (and checks it)."""
    batch = x.shape[0]
    index = np.rint(out[..., 0] - 1000.0 * np.arange(batch)[:, None]).astype(int)
    assert np.all((index >= 0) & (index < x.shape[1]))
    # Every output token is exactly that input token's row.
    np.testing.assert_array_equal(out, x[np.arange(batch)[:, None], index])
    return index


# --- PatchDropout: what it keeps ---------------------------------------------


@pytest.mark.parametrize(
    "tokens, prefix, rate, ordered",
    [
        (9, 1, 0.5, False),
        (9, 1, 0.5, True),
        (17, 1, 0.75, False),
        (12, 0, 0.3, True),
        (14, 4, 0.25, False),
        (6, 1, 0.9, False),  # one patch kept: max(1, ...)
        (6, 1, 0.3, True),  # round(3.5) is 4 (half to even)
        (8, 2, 0.25, False),  # round(4.5) is 4
    ],
)
def test_patch_dropout_keeps_prefix_and_num_keep_distinct_tokens(
    tokens, prefix, rate, ordered
):
    x = _tokens(16, tokens)
    layer = PatchDropout(rate, num_prefix_tokens=prefix, ordered=ordered, seed=3)
    out = numpy(layer(x, training=True))
    keep = _num_keep(tokens, prefix, rate)
    assert out.shape == (16, prefix + keep, 3)
    assert out.dtype == x.dtype
    index = _kept_indices(out, x)
    np.testing.assert_array_equal(
        index[:, :prefix], np.tile(np.arange(prefix), (16, 1))
    )
    patches = index[:, prefix:]
    assert np.all(patches >= prefix)
    for row in patches:
        assert len(set(row.tolist())) == keep  # distinct tokens
    if ordered:
        assert np.all(np.diff(patches, axis=1) > 0)
    # Each sample draws its own selection.
    assert len({tuple(sorted(row)) for row in patches.tolist()}) > 1


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("ordered", [False, True])
def test_patch_dropout_selection_is_uniform(rng, ordered):
    keras_dropout.config.set_rng(rng)
    samples, patches, rate = 3000, 10, 0.3
    keep = _num_keep(1 + patches, 1, rate)  # 7
    x = _tokens(samples, 1 + patches, features=1)
    out = numpy(PatchDropout(rate, ordered=ordered, seed=5)(x, training=True))
    index = _kept_indices(out, x)[:, 1:] - 1  # patch numbers 0..9
    kept = np.zeros((samples, patches), bool)
    kept[np.arange(samples)[:, None], index] = True
    # Each patch is kept by each sample with probability keep / patches,
    # independently across samples.
    for t in range(patches):
        assert_binomial(samples - kept[:, t].sum(), samples, 1 - keep / patches)
    # Every one of the C(10, 7) = 120 subsets turns up.
    assert len({tuple(row) for row in kept.tolist()}) == 120
    if ordered:
        assert np.all(np.diff(index, axis=1) > 0)
    else:
        # Unordered: the first kept slot holds any patch with chance 1/10.
        for t in range(patches):
            assert_binomial(np.sum(index[:, 0] == t), samples, 1 / patches)


def test_patch_dropout_inference_and_nothing_to_drop_are_the_identity():
    x = _tokens(4, 9)
    layer = PatchDropout(0.5, seed=1)
    for out in (layer(x), layer(x, training=False)):
        np.testing.assert_array_equal(numpy(out), x)
    # rate 0, or a rate too small to drop one of 5 patches: unchanged.
    for rate in (0.0, 0.05):
        out = PatchDropout(rate, seed=1)(x[:, :6], training=True)
        np.testing.assert_array_equal(numpy(out), x[:, :6])


def test_patch_dropout_features_of_any_rank():
    x = np.random.default_rng(0).normal(size=(3, 7, 2, 4)).astype("float32")
    out = numpy(PatchDropout(0.5, num_prefix_tokens=0, seed=2)(x, training=True))
    assert out.shape == (3, 4, 2, 4)
    for b in range(3):
        for token in out[b]:
            assert any(np.array_equal(token, row) for row in x[b])


def test_patch_dropout_empty_batch():
    x = np.zeros((0, 9, 3), "float32")
    layer = PatchDropout(0.5, seed=1)
    assert numpy(layer(x, training=True)).shape == (0, 5, 3)
    assert numpy(layer(x)).shape == (0, 9, 3)


def test_functional_patch_dropout_and_its_twin():
    x = _tokens(8, 9)
    out = numpy(functional.patch_dropout(x, 0.5, 11, ordered=True))
    twin = numpy(functional.unchecked.patch_dropout(x, 0.5, 11, 1, True))
    np.testing.assert_array_equal(out, twin)
    assert out.shape == (8, 5, 3)
    # The layer draws the same selection as the function with its seed.
    keras_dropout.config.set_rng("portable")
    layer = PatchDropout(0.5, ordered=True, seed=4)
    seed = keras.random.SeedGenerator(4).next()
    np.testing.assert_array_equal(
        numpy(layer(x, training=True)),
        numpy(functional.patch_dropout(x, 0.5, seed, ordered=True)),
    )


# --- PatchDropout: in models -----------------------------------------------------


class ClsToken(keras.layers.Layer):
    """Prepends a learned CLS token."""

    def build(self, input_shape):
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer="random_normal", name="cls"
        )

    def call(self, x):
        return ops.concatenate([ops.zeros_like(x[:, :1]) + self.token, x], axis=1)

    def compute_output_shape(self, shape):
        return (shape[0], None if shape[1] is None else shape[1] + 1, shape[2])


class TakeToken(keras.layers.Layer):
    """Token 0 (the CLS token); records the token count it was given."""

    tokens_seen = None

    def call(self, x):
        self.tokens_seen = int(x.shape[1])
        return x[:, 0]

    def compute_output_shape(self, shape):
        return (shape[0], shape[2])


PATCHES, PATCH_FEATURES, WIDTH = 16, 12, 8


def _vit(rate=0.5, ordered=False, mc=False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((PATCHES, PATCH_FEATURES))
    x = keras.layers.Dense(WIDTH)(inputs)  # the patch embedding
    x = ClsToken()(x)
    x = PatchDropout(rate, ordered=ordered, seed=1, mc=mc)(x)
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    x = keras.layers.LayerNormalization()(keras.layers.Add()([x, attended]))
    outputs = keras.layers.Dense(1)(TakeToken()(x))
    return keras.Model(inputs, outputs)


def _patch_data(rows=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, PATCHES, PATCH_FEATURES)).astype("float32")
    return x, rng.normal(size=(rows, 1)).astype("float32")


@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
@pytest.mark.parametrize("ordered", [False, True])
def test_patch_dropout_vit_trains_with_fit(mode, ordered):
    model = _vit(ordered=ordered)
    probe = model.layers[-2]
    assert isinstance(probe, TakeToken)
    # The symbolic shape is the inference one.
    assert tuple(model.layers[3].output.shape) == (None, 1 + PATCHES, WIDTH)
    x, y = _patch_data()
    loss, changed = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss) and changed
    # The training step saw CLS + round(0.5 * 16) tokens.
    assert probe.tokens_seen == 1 + _num_keep(1 + PATCHES, 1, 0.5)
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == (len(x), 1)
    assert probe.tokens_seen == 1 + PATCHES  # inference keeps every token
    np.testing.assert_allclose(model.predict(x, verbose=0), predictions, rtol=1e-6)


@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
def test_patch_dropout_sequential_with_pooling(mode):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((PATCHES, PATCH_FEATURES)),
            keras.layers.Dense(WIDTH),
            PatchDropout(0.5, num_prefix_tokens=0, seed=2),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1),
        ]
    )
    x, y = _patch_data()
    loss, changed = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss) and changed


def test_patch_dropout_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.embed = keras.layers.Dense(WIDTH)
            self.drop = PatchDropout(0.5, num_prefix_tokens=0, seed=3)
            self.pool = keras.layers.GlobalAveragePooling1D()
            self.out = keras.layers.Dense(1)

        def call(self, x, training=False):
            hidden = self.drop(self.embed(x), training=training)
            return self.out(self.pool(hidden))

    model = Net()
    x, y = _patch_data()
    model(x)
    loss, changed = fit_one_step(model, x, y, jit_compile=False, run_eagerly=False)
    assert np.isfinite(loss) and changed
    np.testing.assert_array_equal(numpy(model(x)), numpy(model(x)))


def test_patch_dropout_symbolic_shapes():
    outputs = PatchDropout(0.5)(keras.Input((9, 4)))
    assert tuple(outputs.shape) == (None, 9, 4)  # the inference shape
    with pytest.raises(ValueError, match="`inputs`.*tokens axis") as info:
        PatchDropout(0.5)(keras.Input((None, 4)))
    assert "Received: inputs.shape=(None, None, 4)" in str(info.value)


def test_patch_dropout_does_not_propagate_masks():
    layer = PatchDropout(0.5)
    assert not layer.supports_masking


def test_patch_dropout_config_and_serialization():
    layer = PatchDropout(0.25, num_prefix_tokens=2, ordered=True, seed=7, mc=True)
    config = layer.get_config()
    assert config["rate"] == 0.25 and config["num_prefix_tokens"] == 2
    assert config["ordered"] is True and config["seed"] == 7 and config["mc"] is True
    assert PatchDropout.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is PatchDropout and restored.get_config() == config
    layer.rate = 0.125
    assert PatchDropout.from_config(layer.get_config()).rate == 0.125


@pytest.mark.compat
def test_patch_dropout_keras_file_save_load(tmp_path):
    inputs = keras.Input((9, 4))
    hidden = PatchDropout(0.5, num_prefix_tokens=0, seed=4)(
        keras.layers.Dense(4)(inputs)
    )
    model = keras.Model(
        inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(hidden))
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = _tokens(3, 9, features=4)
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))
    layer = loaded.layers[2]
    assert type(layer) is PatchDropout
    assert layer.get_config() == model.layers[2].get_config()
    # Saved with the seed state: the loaded layer draws the same selection.
    np.testing.assert_allclose(
        numpy(loaded(x, training=True)), numpy(model(x, training=True)), rtol=1e-6
    )


def test_patch_dropout_weights_and_state():
    layer = PatchDropout(0.5)
    layer(_tokens(2, 9))
    assert layer.weights == [] and layer.count_params() == 0
    assert any(v is layer.rate_variable for v in layer.non_trainable_variables)


@pytest.mark.parametrize(
    "policy", ["float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]
)
def test_patch_dropout_dtype_policies(policy):
    x = _tokens(4, 9)
    compute = keras.DTypePolicy(policy).compute_dtype
    layer = PatchDropout(0.5, seed=1, dtype=policy)
    mc = PatchDropout(0.5, seed=1, dtype=policy, mc=True)
    for result in (layer(x), mc(x)):
        assert keras.backend.standardize_dtype(result.dtype) == compute
    out = layer(x, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == compute
    assert tuple(out.shape) == (4, 5, 3)
    # The kept tokens are the input's rows, in the compute dtype.
    values = numpy(ops.cast(out, "float32"))
    rows = numpy(ops.cast(ops.cast(x, compute), "float32"))
    for b in range(4):
        for token in values[b]:
            assert any(np.array_equal(token, row) for row in rows[b])


# --- PatchDropout: seeds, MC, compiled calls, gradients -------------------------


def _train(layer, x, calls=1):
    return [numpy(layer(x, training=True)) for _ in range(calls)]


def test_patch_dropout_seeds():
    x = _tokens(6, 11)
    a = _train(PatchDropout(0.5, seed=5), x, calls=3)
    b = _train(PatchDropout(0.5, seed=5), x, calls=3)
    for first, second in zip(a, b, strict=True):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a[0], a[1])
    c = _train(PatchDropout(0.5, seed=6), x)[0]
    assert not np.array_equal(a[0], c)


def test_patch_dropout_mc_flag_and_eager_scope():
    x = _tokens(6, 11)
    layer = PatchDropout(0.5, seed=5, mc=True)
    first, second = numpy(layer(x)), numpy(layer(x, training=False))
    assert first.shape == (6, 6, 3)
    assert not np.array_equal(first, second)
    plain = PatchDropout(0.5, seed=5)
    with keras_dropout.mc_dropout():
        assert numpy(plain(x)).shape == (6, 6, 3)
        with keras_dropout.mc_dropout(enabled=False):
            np.testing.assert_array_equal(numpy(plain(x)), x)
    np.testing.assert_array_equal(numpy(plain(x)), x)


def test_patch_dropout_compiled_predict():
    """`mc=True` samples through `predict`; `mc_dropout()` leaves a compiled
    `predict` (JAX, TensorFlow) as it was traced, without failing, and
    `mc_dropout(model)` retraces it."""
    x, _ = _patch_data()
    model = _vit(mc=True)
    samples = [model.predict(x, verbose=0) for _ in range(3)]
    assert samples[0].shape == (len(x), 1)
    assert not np.allclose(samples[0], samples[1])
    plain = _vit()
    baseline = plain.predict(x, verbose=0)
    with keras_dropout.mc_dropout():
        inside = plain.predict(x, verbose=0)
        eager = numpy(plain(x))
    assert not np.allclose(eager, baseline)  # eager calls follow the scope
    if BACKEND == "torch":  # PyTorch's predict runs eagerly
        assert not np.allclose(inside, baseline)
    else:
        np.testing.assert_allclose(inside, baseline, rtol=1e-6)
    np.testing.assert_allclose(plain.predict(x, verbose=0), baseline, rtol=1e-6)
    with keras_dropout.mc_dropout(plain):  # retraces the model's predict
        scoped = plain.predict(x, verbose=0)
    assert not np.allclose(scoped, baseline)
    np.testing.assert_allclose(plain.predict(x, verbose=0), baseline, rtol=1e-6)


@pytest.mark.parametrize("mc", [True, False])
def test_patch_dropout_mc_predict(mc):
    x, _ = _patch_data(6)
    model = _vit(mc=mc)
    model.predict(x, verbose=0)  # a compiled predict from before
    result = keras_dropout.mc_predict(model, x, samples=8, seed=0, verbose=0)
    assert result.mean.shape == (6, 1) and np.all(result.std > 0)


def test_patch_dropout_shared_noise_keeps_the_same_tokens_in_every_row():
    x = np.tile(_tokens(1, 11), (5, 1, 1)) + 1000.0 * np.arange(5)[:, None, None]
    x = x.astype("float32")
    layer = PatchDropout(0.5, seed=2)
    seed = keras.random.SeedGenerator(2).next()
    out = numpy(layer.dropout_shared(x, np.float32(0.5), seed))
    assert out.shape == (5, 6, 3)
    index = _kept_indices(out, x)
    assert np.all(index == index[:1])
    assert layer.consistent_noise == "custom" and layer.draws_per_row


def test_patch_dropout_consistent_mc_predict():
    inputs = keras.Input((11, 3))
    model = keras.Model(inputs, PatchDropout(0.5, seed=1, mc=True)(inputs))
    x = np.tile(_tokens(1, 11), (4, 1, 1))  # four equal rows
    result = keras_dropout.mc_predict(
        model, x, samples=4, seed=0, consistent=True, return_samples=True, verbose=0
    )
    samples = result.samples
    assert samples.shape == (4, 4, 6, 3)
    for sample in samples:  # one selection per sample, shared by the rows
        np.testing.assert_array_equal(sample, np.broadcast_to(sample[:1], sample.shape))
    assert not np.array_equal(samples[0], samples[1])


def test_patch_dropout_rate_change_applies_eagerly_and_warns_when_compiled():
    x = _tokens(2, 11)
    layer = PatchDropout(0.5, seed=1)
    assert numpy(layer(x, training=True)).shape[1] == 6
    layer.rate = 0.8
    assert numpy(layer(x, training=True)).shape[1] == 3
    if BACKEND == "torch":
        return  # no traced call: nothing to warn about
    if BACKEND == "jax":
        import jax

        state = [v.value for v in layer.non_trainable_variables]
        jax.jit(lambda s, x: layer.stateless_call([], s, x, training=True))(state, x)
    else:
        import tensorflow as tf

        tf.function(lambda x: layer(x, training=True))(x)
    with pytest.warns(UserWarning, match="static shape"):
        layer.rate = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer.rate = 0.8  # back to the traced rate: nothing to say


def test_patch_dropout_compiled_call_matches_eager():
    keras_dropout.config.set_rng("portable")
    x = _tokens(4, 11)
    eager = _train(PatchDropout(0.5, seed=9), x, calls=2)
    layer = PatchDropout(0.5, seed=9)
    if BACKEND == "jax":
        import jax

        step = jax.jit(lambda s, x: layer.stateless_call([], s, x, training=True))
        state = [v.value for v in layer.non_trainable_variables]
        compiled = []
        for _ in range(2):
            out, state = step(state, x)
            compiled.append(numpy(out))
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda x: layer(x, training=True), jit_compile=True)
        compiled = [numpy(fn(x)) for _ in range(2)]
    else:
        pytest.skip("torch has no jit_compile mode for layers; eager is its path")
    for a, b in zip(eager, compiled, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(compiled[0], compiled[1])


def test_patch_dropout_gradients_reach_only_kept_tokens():
    x = _tokens(6, 11)
    out = numpy(PatchDropout(0.5, seed=4)(x, training=True))
    index = _kept_indices(out, x)
    grad = input_gradient(PatchDropout(0.5, seed=4), x)
    expected = np.zeros_like(grad)
    expected[np.arange(6)[:, None], index] = 1.0
    np.testing.assert_array_equal(grad, expected)


def test_patch_dropout_bad_arguments():
    bad = BAD_RATES + [
        ({"num_prefix_tokens": -1}, "num_prefix_tokens"),
        ({"num_prefix_tokens": 1.5}, "num_prefix_tokens"),
        ({"ordered": "yes"}, "ordered"),
    ]
    for update, name in bad:
        with pytest.raises(ValueError, match=f"`{name}`") as info:
            PatchDropout(**{"rate": 0.5, "seed": 1, **update})
        assert "Expected" in str(info.value) and "Received" in str(info.value)
    layer = PatchDropout(0.5)
    for value in (1.0, -0.5, float("nan"), "x", True):
        with pytest.raises(ValueError, match="`rate`"):
            layer.rate = value
    assert layer.rate == 0.5
    with pytest.raises(ValueError, match="floating-point"):
        layer(np.ones((2, 9, 3), "int32"), training=True)


# --- DropHead ---------------------------------------------------------------


def _heads_input(shape):
    rng = np.random.default_rng(0)
    return rng.uniform(0.5, 1.5, size=shape).astype("float32")


@pytest.mark.parametrize(
    "shape, num_heads, head_axis",
    [
        ((64, 5, 4 * 3), 4, -1),  # (batch, tokens, heads * head_dim)
        ((64, 4 * 3), 4, -1),  # (batch, heads * head_dim)
        ((64, 4, 5, 3), 4, 1),  # (batch, heads, tokens, head_dim)
        ((64, 5, 4, 3), 4, 2),  # (batch, tokens, heads, head_dim)
        ((64, 6, 5, 5), 6, 1),  # attention scores (batch, heads, q, k)
    ],
)
def test_drop_head_zeroes_whole_heads_scaled_exactly(shape, num_heads, head_axis):
    x = _heads_input(shape)
    out = numpy(DropHead(0.5, num_heads, seed=2, head_axis=head_axis)(x, training=True))
    axis = head_axis % len(shape)
    # Heads on their own axis: (batch, heads, every other unit of the head).
    moved = np.moveaxis(out, axis, 1)
    heads = moved.reshape(shape[0], num_heads, -1)
    units = np.moveaxis(x, axis, 1).reshape(shape[0], num_heads, -1)
    dropped = np.all(heads == 0, axis=2)
    assert not np.any(heads[~dropped] == 0)  # a head is dropped whole or kept
    kept = (num_heads - dropped.sum(axis=1)).astype("float32")
    scale = np.float32(num_heads) / np.maximum(kept, np.float32(1))
    expected = np.where(dropped[..., None], 0, units * scale[:, None, None])
    np.testing.assert_array_equal(heads, expected.astype("float32"))
    assert dropped.any() and not dropped.all()


@pytest.mark.parametrize("rng", ["portable", "native"])
def test_drop_head_fraction_within_binomial_bounds(rng):
    keras_dropout.config.set_rng(rng)
    rate, batch, heads = 0.3, 2000, 8
    x = np.ones((batch, 3, heads * 2), "float32")
    out = numpy(DropHead(rate, heads, seed=1)(x, training=True))
    dropped = np.all(out.reshape(batch, 3, heads, 2) == 0, axis=(1, 3))
    assert_binomial(dropped.sum(), dropped.size, rate)
    for h in range(heads):  # and for each head alone
        assert_binomial(dropped[:, h].sum(), batch, rate)


def test_drop_head_same_heads_in_both_layouts():
    """The mask is drawn in (sample, head) order whatever the layout."""
    keras_dropout.config.set_rng("portable")
    merged = _heads_input((8, 5, 4 * 3))
    per_head = np.moveaxis(merged.reshape(8, 5, 4, 3), 2, 1)  # (8, 4, 5, 3)
    a = numpy(DropHead(0.5, 4, seed=3)(merged, training=True))
    b = numpy(DropHead(0.5, 4, seed=3, head_axis=1)(per_head, training=True))
    np.testing.assert_array_equal(np.moveaxis(a.reshape(8, 5, 4, 3), 2, 1), b)


def test_drop_head_all_heads_dropped_gives_zeros_not_nan():
    x = _heads_input((400, 2, 2))
    out = numpy(DropHead(0.9, 2, seed=0)(x, training=True))
    assert np.all(np.isfinite(out))
    all_dropped = np.all(out == 0, axis=(1, 2))
    assert all_dropped.any()


def test_drop_head_gradients_only_through_kept_heads():
    x = _heads_input((16, 5, 4 * 2))
    out = numpy(DropHead(0.5, 4, seed=6)(x, training=True))
    grad = input_gradient(DropHead(0.5, 4, seed=6), x)
    heads = out.reshape(16, 5, 4, 2)
    dropped = np.all(heads == 0, axis=(1, 3))
    kept = 4 - dropped.sum(axis=1)
    scale = np.float32(4) / np.maximum(kept, 1).astype("float32")
    expected = np.where(dropped[:, None, :, None], 0.0, scale[:, None, None, None])
    np.testing.assert_array_equal(
        grad.reshape(16, 5, 4, 2), np.broadcast_to(expected, (16, 5, 4, 2))
    )


def test_drop_head_inference_identity_and_rate_zero():
    x = _heads_input((4, 5, 6))
    layer = DropHead(0.5, 3, seed=1)
    np.testing.assert_array_equal(numpy(layer(x)), x)
    out = numpy(DropHead(0.0, 3, seed=1)(x, training=True))
    np.testing.assert_array_equal(out, x)


def test_drop_head_config_round_trip():
    layer = DropHead(0.2, 4, seed=3, head_axis=1, mc=True)
    config = layer.get_config()
    assert config["num_heads"] == 4 and config["head_axis"] == 1
    assert DropHead.from_config(config).get_config() == config
    assert layer.consistent_noise == "multiplicative" and layer.draws_per_row


def test_drop_head_shared_noise_is_one_mask_for_the_batch():
    x = _heads_input((6, 5, 8))
    layer = DropHead(0.5, 4, seed=2)
    seed = keras.random.SeedGenerator(2).next()
    out = numpy(layer.dropout_shared(x, np.float32(0.5), seed))
    np.testing.assert_allclose(out / x, np.broadcast_to((out / x)[:1], x.shape))


@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
def test_drop_head_in_a_hand_written_attention_block(mode):
    """DropHead on the concatenated heads, before the output projection."""

    class Heads(keras.layers.Layer):
        """Multi-head self-attention up to the concatenated head outputs."""

        def __init__(self, num_heads, head_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_heads, self.head_dim = num_heads, head_dim
            self.qkv = keras.layers.Dense(3 * num_heads * head_dim)

        def build(self, input_shape):
            self.qkv.build(input_shape)

        def call(self, x):
            tokens = x.shape[1]
            qkv = ops.reshape(
                self.qkv(x), (-1, tokens, 3, self.num_heads, self.head_dim)
            )
            q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
            scores = ops.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(self.head_dim)
            heads = ops.einsum("bhqk,bkhd->bqhd", ops.softmax(scores, axis=-1), v)
            return ops.reshape(heads, (-1, tokens, self.num_heads * self.head_dim))

        def compute_output_shape(self, shape):
            return (shape[0], shape[1], self.num_heads * self.head_dim)

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 8))
    heads = Heads(4, 2)(inputs)
    dropped = DropHead(0.25, num_heads=4, seed=1)(heads)
    outputs = keras.layers.Dense(8)(dropped)  # the output projection
    model = keras.Model(
        inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(outputs))
    )
    x = _heads_input((8, 6, 8))
    y = np.ones((8, 1), "float32")
    loss, changed = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss) and changed


def test_functional_drop_head_and_its_twin():
    x = _heads_input((4, 5, 6))
    out = numpy(functional.drop_head(x, 0.5, 3, 11))
    twin = numpy(functional.unchecked.drop_head(x, np.float32(0.5), 3, 11))
    np.testing.assert_array_equal(out, twin)
    assert not np.array_equal(out, x)
    keras_dropout.config.set_rng("portable")
    layer = DropHead(0.5, 3, seed=4)
    seed = keras.random.SeedGenerator(4).next()
    np.testing.assert_array_equal(
        numpy(layer(x, training=True)), numpy(functional.drop_head(x, 0.5, 3, seed))
    )


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda: PatchDropout(0.5, seed=1), _tokens(2, 9)),
        (lambda: DropHead(0.5, 2, seed=1), _heads_input((2, 3, 4))),
    ],
    ids=["PatchDropout", "DropHead"],
)
@pytest.mark.parametrize("training", [True, False])
def test_layer_calls_check_arguments_once(make, x, training, monkeypatch):
    """The arguments were checked when the layer was made: a call checks
    none again (it calls `functional.unchecked`)."""
    from keras_dropout import _validation

    layer = make()
    layer(x, training=True)
    calls = []
    for name in (
        "check_rate",
        "check_float_inputs",
        "check_bool",
        "check_positive_int",
    ):
        original = getattr(_validation, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_validation, name, counted)
    layer(x, training=training)
    assert calls == []
