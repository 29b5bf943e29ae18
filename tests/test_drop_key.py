"""DropKeyMultiHeadAttention: DropKey (Li et al.) on Keras's MultiHeadAttention.

It takes two inputs, so the single-input harness (`tests/cases.py`) cannot
drive it: its equivalents of the harness checks are here (drop fractions,
inference, seeds, MC, gradients, `fit` with and without jit, dtype policies,
configs, `.keras` files), with what is particular to it: the key mask is
ANDed with Keras's attention mask before the softmax, rows whose keys are
all dropped fall back to the masks alone, and inference is
MultiHeadAttention's own computation. The drop fraction is read from
`return_attention_scores=True`, where a dropped key has probability 0.
"""

import hashlib

import keras
import numpy as np
import pytest
from keras import ops

import keras_dropout as kd
from keras_dropout.layers.attention import DropKeyMultiHeadAttention
from tests.harness import assert_binomial
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import input_gradient
from tests.harness import numpy

FEATURES = 8


def _x(batch=3, tokens=5, features=FEATURES, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, tokens, features)).astype("float32")


def _pair(num_heads=2, key_dim=4, rate=0.3, seed=1, query=None, value=None, **kw):
    """A DropKey layer and a MultiHeadAttention with the same weights."""
    query = _x() if query is None else query
    value = query if value is None else value
    layer = DropKeyMultiHeadAttention(num_heads, key_dim, rate=rate, seed=seed, **kw)
    plain = keras.layers.MultiHeadAttention(num_heads, key_dim, seed=seed, **kw)
    layer(query, value)
    plain(query, value)
    plain.set_weights(layer.get_weights())
    return layer, plain


def _scores(layer, query, value=None, **kwargs):
    value = query if value is None else value
    _, scores = layer(query, value, return_attention_scores=True, **kwargs)
    return numpy(ops.cast(scores, "float32"))


def _padding_mask(batch, queries, keys):
    """(B, T, S): query t of sample b may not attend to the last b keys."""
    mask = np.ones((batch, queries, keys), bool)
    for b in range(batch):
        if b:
            mask[b, :, keys - b :] = False
    return mask


# --- inference: MultiHeadAttention's computation -------------------------------


def _mask_kwargs(kind, x):
    batch, tokens = x.shape[:2]
    if kind == "attention_mask":
        return {"attention_mask": _padding_mask(batch, tokens, tokens)}
    if kind == "value_mask":
        return {"value_mask": np.arange(tokens)[None, :] < np.array([[5], [4], [2]])}
    return {}


@pytest.mark.compat
@pytest.mark.parametrize("kind", ["none", "attention_mask", "value_mask"])
def test_inference_and_rate_zero_are_multi_head_attention(kind):
    x = _x()
    kwargs = _mask_kwargs(kind, x)
    layer, plain = _pair()
    expected = numpy(plain(x, x, **kwargs))
    np.testing.assert_array_equal(numpy(layer(x, x, **kwargs)), expected)
    np.testing.assert_array_equal(
        numpy(layer(x, x, training=False, **kwargs)), expected
    )
    layer.rate = 0.0
    np.testing.assert_array_equal(numpy(layer(x, x, training=True, **kwargs)), expected)
    _, scores = layer(x, x, return_attention_scores=True, training=True, **kwargs)
    _, plain_scores = plain(x, x, return_attention_scores=True, **kwargs)
    np.testing.assert_array_equal(numpy(scores), numpy(plain_scores))


@pytest.mark.compat
def test_inference_with_a_causal_mask():
    # Keras 3.15's MultiHeadAttention gives a causal-only call to the
    # backend's causal kernel (`is_causal=True`); a layer that overrides
    # `_compute_attention` gets the causal mask materialized instead: the
    # same values up to float rounding.
    x = _x()
    layer, plain = _pair()
    np.testing.assert_allclose(
        numpy(layer(x, x, use_causal_mask=True)),
        numpy(plain(x, x, use_causal_mask=True)),
        rtol=1e-6,
        atol=1e-6,
    )


# --- training: which keys are dropped ------------------------------------------


@pytest.mark.compat
def test_drop_fraction_independence_and_renormalisation():
    batch, queries, keys, heads, rate = 4, 16, 32, 4, 0.3
    query, value = _x(batch, queries), _x(batch, keys, seed=1)
    layer, plain = _pair(heads, 8, rate, seed=3, query=query, value=value)
    p = _scores(layer, query, value, training=True)
    assert p.shape == (batch, heads, queries, keys)
    dropped = p == 0
    # P(a row is all dropped) = 0.3 ** 32: no fallback row in practice.
    assert_binomial(dropped.sum(), dropped.size, rate)
    # Independent across batch elements, heads and queries: two entries that
    # differ in one of them are both dropped with probability rate ** 2.
    for axis in (0, 1, 2):
        a = np.take(dropped, range(dropped.shape[axis] - 1), axis=axis)
        b = np.take(dropped, range(1, dropped.shape[axis]), axis=axis)
        assert_binomial((a & b).sum(), a.size, rate**2)
    # Kept keys: MultiHeadAttention's probabilities renormalised over them.
    full = _scores(plain, query, value)
    kept = full * ~dropped
    expected = kept / kept.sum(-1, keepdims=True)
    np.testing.assert_allclose(p, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)


def test_rows_all_dropped_fall_back_to_the_masks():
    batch, tokens, keys = 8, 6, 2
    query, value = _x(batch, tokens), _x(batch, keys, seed=1)
    layer, plain = _pair(4, 4, 0.9, seed=2, query=query, value=value)
    # Even queries may only attend to key 0.
    mask = np.ones((batch, tokens, keys), bool)
    mask[:, ::2, 1] = False
    for kwargs in ({}, {"attention_mask": mask}):
        out = numpy(layer(query, value, training=True, **kwargs))
        assert np.all(np.isfinite(out))
        p = _scores(layer, query, value, training=True, **kwargs)
        full = _scores(plain, query, value, **kwargs)
        assert np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
        some_dropped = (p == 0).any(-1) & (full > 0).all(-1)
        # rate 0.9 over 2 keys: 81% of the rows lose both, 18% lose one.
        assert 0 < some_dropped.mean() < 0.5
        fallback = ~(p == 0).any(-1) | ~(full > 0).all(-1)
        np.testing.assert_allclose(p[fallback], full[fallback], rtol=1e-5, atol=1e-6)
        if kwargs:  # a forbidden key never gets any weight
            assert np.all(p[:, :, ::2, 1] == 0)
            np.testing.assert_allclose(p[:, :, ::2, 0], 1.0, rtol=1e-6)


@pytest.mark.compat
def test_masks_are_kept_in_training():
    x = _x(3, 6)
    layer = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=4)
    mask = _padding_mask(3, 6, 6)
    p = _scores(layer, x, training=True, attention_mask=mask)
    assert np.all(p[~np.broadcast_to(mask[:, None], p.shape)] == 0)
    causal = _scores(layer, x, training=True, use_causal_mask=True)
    assert np.all(causal[..., np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0)
    np.testing.assert_allclose(causal[..., 0, 0], 1.0)  # query 0 sees key 0 only
    allowed = [np.broadcast_to(mask[:, None], p.shape), np.tril(np.ones((6, 6), bool))]
    for scores, ok in zip((p, causal), allowed, strict=True):
        np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)
        ok = np.broadcast_to(ok, scores.shape)
        assert ((scores == 0) & ok).sum() > 0.25 * ok.sum()  # keys were dropped


def test_keras_masks_of_the_inputs():
    ids = np.array([[1, 2, 3, 4], [5, 6, 0, 0]], "int32")
    embedding = keras.layers.Embedding(10, FEATURES, mask_zero=True)
    layer = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=1)
    # MultiHeadAttention removes the Keras masks from its inputs: embed anew.
    out = numpy(layer(embedding(ids), embedding(ids), training=True))
    assert np.all(np.isfinite(out))
    p = _scores(layer, embedding(ids), embedding(ids), training=True)
    assert np.all(p[1, :, :, 2:] == 0)  # padded keys
    np.testing.assert_allclose(p[1, :, :2].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(p[1, :, 2:], 0.0)  # padded queries


@pytest.mark.parametrize(
    "shape, axes, scores_shape",
    [
        ((2, 3, 4, FEATURES), None, (2, 2, 3, 4, 3, 4)),
        ((2, 3, 4, FEATURES), (2,), (2, 3, 2, 4, 4)),
        ((2, 5, FEATURES), (-2,), (2, 2, 5, 5)),
    ],
)
def test_other_attention_axes(shape, axes, scores_shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer, plain = _pair(2, 4, 0.4, seed=5, query=x, attention_axes=axes)
    np.testing.assert_array_equal(numpy(layer(x, x)), numpy(plain(x, x)))
    p = _scores(layer, x, training=True)
    assert p.shape == scores_shape
    n_axes = len(axes) if axes else len(shape) - 2  # the attention axes
    key_axes = tuple(range(len(scores_shape) - n_axes, len(scores_shape)))
    np.testing.assert_allclose(p.sum(key_axes), 1.0, atol=1e-5)
    dropped = p == 0
    assert 0.2 < dropped.mean() < 0.6


# --- seeds and streams -------------------------------------------------------------


def test_seeds_and_a_stream_distinct_from_the_attention_dropout():
    x = _x(4, 16)
    a = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=7)
    b = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=7)
    a(x, x)
    b(x, x)
    b.set_weights(a.get_weights())
    first = [_scores(a, x, training=True) == 0 for _ in range(2)]
    np.testing.assert_array_equal(first[0], _scores(b, x, training=True) == 0)
    assert not np.array_equal(first[0], first[1])  # a new mask per call
    # MultiHeadAttention's own attention dropout draws from the same seed: its
    # mask (that of a Keras Dropout seeded alike) is not the key mask.
    keras_mask = numpy(
        keras.layers.Dropout(0.5, seed=7)(
            np.ones(first[0].shape, "float32"), training=True
        )
    )
    both = (keras_mask == 0) & first[0]
    assert_binomial(both.sum(), both.size, 0.25)


def test_with_attention_dropout_too():
    x = _x(3, 6)
    layer = DropKeyMultiHeadAttention(2, 4, dropout=0.3, rate=0.3, seed=2)
    out = numpy(layer(x, x, training=True))
    assert np.all(np.isfinite(out))
    assert layer.dropout == 0.3  # MultiHeadAttention's attribute, unchanged
    with kd.mc_dropout(layer):  # both dropouts sample at inference
        assert not np.array_equal(numpy(layer(x, x)), numpy(layer(x, x)))


# Which keys the portable generator drops, from the first call of a layer
# seeded 7: the same bits on TensorFlow, JAX and PyTorch.
GOLDEN_KEYS = "132ecc2fe8a3"


@pytest.mark.compat
def test_portable_masks_are_the_same_on_every_backend():
    kd.config.set_rng("portable")
    x = _x(2, 6)
    layer = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=7)
    dropped = _scores(layer, x, training=True) == 0
    digest = hashlib.sha256(np.packbits(dropped).tobytes()).hexdigest()[:12]
    assert digest == GOLDEN_KEYS


# --- MC dropout ------------------------------------------------------------------


def _model(layer, tokens=None, features=FEATURES):
    inputs = keras.Input((tokens, features))
    hidden = layer(inputs, inputs)
    pooled = keras.layers.GlobalAveragePooling1D()(hidden)
    return keras.Model(inputs, keras.layers.Dense(1)(pooled))


def _twin_models(**kwargs):
    """A model with DropKey and the same model with MultiHeadAttention."""
    layer = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=3, **kwargs)
    model = _model(layer)
    plain = _model(keras.layers.MultiHeadAttention(2, 4))
    plain.set_weights(model.get_weights())
    return model, plain


def test_mc_flag_and_scope():
    x = _x()
    layer, plain = _pair(rate=0.5)
    expected = numpy(plain(x, x))
    with kd.mc_dropout():
        first, second = numpy(layer(x, x)), numpy(layer(x, x))
        assert not np.array_equal(first, second)
        with kd.mc_dropout(enabled=False):
            np.testing.assert_array_equal(numpy(layer(x, x)), expected)
    np.testing.assert_array_equal(numpy(layer(x, x)), expected)
    mc = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=1, mc=True)
    assert mc.mc and not layer.mc
    assert not np.array_equal(numpy(mc(x, x)), numpy(mc(x, x)))


@pytest.mark.compat
def test_compiled_predict_follows_the_scope():
    """A `predict` compiled before `mc_dropout()` samples inside it (the
    keys are chosen by a `cond` on the MC variable), and is
    MultiHeadAttention's prediction outside."""
    x = _x(6, 5)
    model, plain = _twin_models()
    expected = plain.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)
    with kd.mc_dropout():
        samples = [model.predict(x, verbose=0) for _ in range(2)]
    assert not np.allclose(samples[0], samples[1])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)


@pytest.mark.compat
def test_mc_predict_reaches_the_layer():
    x = _x(10, 5)
    model, _ = _twin_models()
    layer = model.layers[1]
    assert kd.models.pack_layers(model) == [layer.key_drop]
    result = kd.mc_predict(model, x, samples=8, seed=0, verbose=0)
    assert result.mean.shape == (10, 1) and np.all(result.std > 0)
    again = kd.mc_predict(model, x, samples=8, seed=0, verbose=0)
    np.testing.assert_array_equal(result.mean, again.mean)
    # Consistent samples: one sub-network per sample, whatever the batch.
    a, b = (
        kd.mc_predict(
            model, x, samples=4, batch_size=size, seed=0, consistent=True, verbose=0
        )
        for size in (3, 10)
    )
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-5, atol=1e-6)
    assert np.all(a.std > 0)


def test_consistent_noise_is_one_mask_for_the_batch():
    x = np.tile(_x(1, 6), (4, 1, 1))
    model, _ = _twin_models()
    samples = kd.mc_predict(
        model, x, samples=3, seed=1, consistent=True, verbose=0, return_samples=True
    ).samples
    # Identical rows give identical predictions in a consistent sample.
    np.testing.assert_allclose(
        samples, np.broadcast_to(samples[:, :1], samples.shape), rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(samples[0], samples[1])


# --- models, compiled steps, gradients, dtypes --------------------------------------


@pytest.mark.compat
@pytest.mark.parametrize("jit_compile, run_eagerly", compile_modes())
def test_fit_and_predict_with_unknown_batch_and_tokens(jit_compile, run_eagerly):
    x, y = _x(8, 5), np.ones((8, 1), "float32")
    model, plain = _twin_models()
    loss, changed = fit_one_step(model, x, y, jit_compile, run_eagerly)
    assert np.isfinite(loss) and changed
    plain.set_weights(model.get_weights())
    plain.compile(loss="mse", jit_compile=jit_compile, run_eagerly=run_eagerly)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=1e-5
    )
    # Another number of tokens, through the same model.
    assert model.predict(_x(8, 7), verbose=0).shape == (8, 1)


def test_rate_changes_without_recompiling():
    x, y = _x(8, 5), np.ones((8, 1), "float32")
    model, plain = _twin_models()
    fit_one_step(model, x, y, *compile_modes()[0])
    layer = model.layers[1]
    layer.rate = 0.2
    assert layer.key_drop.rate == 0.2 and layer.get_config()["rate"] == 0.2
    assert float(numpy(layer.key_drop.rate_variable)) == np.float32(0.2)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


class _Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = DropKeyMultiHeadAttention(2, 4, rate=0.3, seed=1)
        self.head = keras.layers.Dense(1)

    def call(self, x, training=None):
        hidden = self.attention(x, x, training=training)
        return self.head(ops.mean(hidden, axis=1))


def test_subclassed_model():
    x, y = _x(8, 5), np.ones((8, 1), "float32")
    model = _Encoder(name="encoder")  # the class name is no valid TF scope
    model(x)  # built, so that fit_one_step sees its weights before the step
    for jit_compile, run_eagerly in compile_modes():
        loss, changed = fit_one_step(model, x, y, jit_compile, run_eagerly)
        assert np.isfinite(loss) and changed
    result = kd.mc_predict(model, x, samples=4, seed=0, verbose=0)
    assert np.all(result.std > 0)


def test_gradients_are_finite():
    x = _x(4, 6)
    inputs = keras.Input((6, FEATURES))
    layer = DropKeyMultiHeadAttention(2, 4, rate=0.9, seed=1)
    model = keras.Model(inputs, layer(inputs, inputs, use_causal_mask=True))
    grad = input_gradient(model, x)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


@pytest.mark.parametrize(
    "policy", ["float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]
)
def test_dtype_policies(policy):
    x = _x(3, 6)
    compute = keras.DTypePolicy(policy).compute_dtype
    layer = DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=1, dtype=policy)
    for training in (False, True):
        out = layer(x, x, training=training)
        assert keras.backend.standardize_dtype(out.dtype) == compute
        assert np.all(np.isfinite(numpy(ops.cast(out, "float32"))))
    p = _scores(layer, x, training=True, attention_mask=_padding_mask(3, 6, 6))
    assert 0.3 < (p == 0).mean() < 0.8
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=2e-2)


# --- configs and files -------------------------------------------------------------


@pytest.mark.compat
def test_config_round_trip():
    layer = DropKeyMultiHeadAttention(
        4, 8, 6, 0.1, rate=0.25, seed=7, mc=True, name="att"
    )
    config = layer.get_config()
    assert config["rate"] == 0.25 and config["mc"] is True and config["seed"] == 7
    assert config["value_dim"] == 6 and config["dropout"] == 0.1
    assert DropKeyMultiHeadAttention.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is DropKeyMultiHeadAttention
    assert restored.get_config() == config
    assert keras.saving.get_registered_name(DropKeyMultiHeadAttention) == (
        "keras_dropout>DropKeyMultiHeadAttention"
    )


@pytest.mark.compat
def test_keras_file_save_load(tmp_path):
    x = _x(4, 5)
    model, _ = _twin_models()
    model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    layer = loaded.layers[1]
    assert type(layer) is DropKeyMultiHeadAttention
    assert layer.get_config() == model.layers[1].get_config()
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))
    # As for keras.layers.Dropout, a .keras file holds no seed state: the
    # loaded layer draws the keys a new layer with the same seed draws.
    fresh, _ = _twin_models()
    fresh.set_weights(model.get_weights())
    trained = numpy(loaded(x, training=True))
    np.testing.assert_allclose(trained, numpy(fresh(x, training=True)), rtol=1e-6)
    assert not np.allclose(trained, numpy(loaded(x)))  # keys were dropped
