"""`mc_predict`'s prefix cache and consistent MC dropout (issue #18).

Prefix cache: on a functional model, the deterministic part before the
first stochastic layer runs once per batch and gives the same samples as
running the whole model. Consistent mode: sample k is one sub-network for
every row and every batch, so results do not depend on the batch size.
"""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout import models
from keras_dropout.models import mc_predict
from tests.harness import assert_binomial

L = keras.layers


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _stochastic(model):
    return models.pack_layers(model) + models.mc_layers(model)


def _split(model):
    return models._prefix_split(model, _stochastic(model))


def _sequential(*layers, shape=(12, 6)):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(shape), *layers])


def _cnn_with_head_dropout():
    return _sequential(
        L.Conv1D(8, 3, activation="relu"),
        L.BatchNormalization(),
        L.GlobalAveragePooling1D(),
        L.Dropout(0.5),
        L.Dense(3),
    )


def _branches():
    # The trunk's output feeds both a dropout branch and a skip connection.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 6))
    trunk = L.Dense(8, "relu")(inputs)
    dropped = keras_dropout.SpatialDropout1D(0.5)(L.Dense(8)(trunk))
    merged = L.Concatenate()([dropped, trunk])
    return keras.Model(inputs, L.Dense(3)(L.Flatten()(merged)))


def _nested():
    keras.utils.set_random_seed(0)
    inner_inputs = keras.Input((12, 8))
    inner = keras.Model(inner_inputs, L.Dropout(0.5)(L.Dense(4)(inner_inputs)))
    return _sequential(L.Dense(8), inner, L.Flatten(), L.Dense(3))


def _attention():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 6))
    h = L.Dense(8)(inputs)
    attended = L.MultiHeadAttention(2, 4, dropout=0.5)(h, h)
    model = keras.Model(inputs, L.Dense(3)(L.Flatten()(L.Add()([attended, h]))))
    model(_x((2, 12, 6)))
    return model


def _keras_layers():
    # Every Keras layer mc_dropout(model) reaches, after a BatchNormalization.
    return _sequential(
        L.Dense(8, "selu"),
        L.BatchNormalization(),
        L.Dropout(0.2),
        L.SpatialDropout1D(0.2),
        L.GaussianDropout(0.2),
        L.AlphaDropout(0.2),
        L.LSTM(5, dropout=0.3, recurrent_dropout=0.3, return_sequences=True),
        L.Flatten(),
        L.Dense(3),
    )


def _pack_layers():
    # Every pack layer whose noise `consistent=True` can share (ZoneoutCell
    # cannot, EmbeddingDropout needs integer inputs: tested elsewhere).
    keras.utils.set_random_seed(0)
    kd = keras_dropout
    inputs = keras.Input((12, 6))
    h = L.Dense(8, "selu")(inputs)
    for layer in (
        kd.Dropout(0.2),
        kd.Dropout(0.2, noise_shape=(None, 1, None), scaling="classic"),
        kd.SpatialDropout1D(0.2),
        kd.VariationalDropout(0.2),
        kd.GaussianDropout(0.2),
        kd.AlphaDropout(0.1),
        kd.DropBlock1D(0.2, 3),
        kd.DropPath(0.2),
    ):
        h = layer(h)
    h = kd.StochasticDepth(0.3)([h, L.Dense(8)(h)])
    h = kd.StochasticDepth(0.3, mode="batch")([h, L.Dense(8)(h)])
    h = kd.ConcreteDropout(L.Dense(8))(h)
    h = kd.DropConnect(L.Dense(8), 0.3)(h)
    return keras.Model(inputs, L.Dense(3)(L.Flatten()(h)))


MODELS = {
    "keras head dropout": _cnn_with_head_dropout,
    "keras layers": _keras_layers,
    "pack layers": _pack_layers,
    "branches": _branches,
    "nested model": _nested,
    "attention": _attention,
}


def _samples(model, x, **kwargs):
    kwargs = {"samples": 4, "batch_size": 5, "seed": 1, **kwargs}
    return mc_predict(model, x, verbose=0, return_samples=True, **kwargs).samples


# -- prefix cache ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cache_gives_the_samples_of_the_whole_model(name):
    model = MODELS[name]()
    x = _x((10, 12, 6))
    split = _split(model)
    assert split is not None
    prefix_layers = {id(la) for la in split.prefix._flatten_layers()}
    assert not any(id(la) in prefix_layers for la in _stochastic(model))
    whole = _samples(model, x, cache_prefix=False, strategy="loop")
    cached = _samples(model, x, strategy="loop")
    assert np.std(whole, axis=0).max() > 0
    np.testing.assert_allclose(cached, whole, rtol=1e-5, atol=1e-5)


def test_cache_vectorized_gives_the_samples_of_the_whole_model():
    model = _branches()
    x = _x((11, 12, 6))
    whole = _samples(model, x, cache_prefix=False, strategy="vectorized")
    cached = _samples(model, x, strategy="vectorized")
    np.testing.assert_allclose(cached, whole, rtol=1e-5, atol=1e-5)


@pytest.mark.compat
def test_the_prefix_runs_once_per_batch(monkeypatch):
    model = _cnn_with_head_dropout()
    split = _split(model)
    calls = {"prefix": 0, "suffix": 0}
    for part in calls:
        sub = getattr(split, part)
        original = sub.predict_on_batch

        def counted(batch, part=part, original=original):
            calls[part] += 1
            return original(batch)

        monkeypatch.setattr(sub, "predict_on_batch", counted)
    monkeypatch.setattr(model, "predict_on_batch", None)  # never called whole
    mc_predict(model, _x((10, 12, 6)), samples=7, batch_size=4, verbose=0)
    assert calls == {"prefix": 3, "suffix": 3}  # vectorized: one call a batch
    calls.update(prefix=0, suffix=0)
    mc_predict(model, _x((10, 12, 6)), samples=7, batch_size=4, verbose=0,
               strategy="loop")  # fmt: skip
    assert calls == {"prefix": 3, "suffix": 21}


def test_prefix_holds_the_trunk_and_suffix_the_head():
    model = _cnn_with_head_dropout()
    split = _split(model)
    names = lambda m: {la.name for la in m.layers}  # noqa: E731
    trunk = {la.name for la in model.layers[:3]}
    assert trunk <= names(split.prefix)
    assert not trunk & names(split.suffix)
    assert {model.layers[3].name, model.layers[4].name} <= names(split.suffix)
    assert _split(model) is split  # cached with the model


def test_models_that_are_run_whole():
    keras.utils.set_random_seed(0)
    first = _sequential(L.Dropout(0.5), L.Dense(3), shape=(6,))
    assert _split(first) is None  # nothing before the first dropout
    inputs = keras.Input((6,))
    skip = L.Concatenate()([L.Dropout(0.5)(L.Dense(4)(inputs)), inputs])
    assert _split(keras.Model(inputs, L.Dense(2)(skip))) is None  # input feeds it

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(4)
            self.dropout = L.Dropout(0.5)

        def call(self, x):
            return self.dropout(self.dense(x))

    subclassed = Subclassed()
    x = _x((5, 6))
    subclassed(x)
    assert _split(subclassed) is None
    for model in (first, subclassed):
        assert np.std(_samples(model, x), axis=0).max() > 0


def test_suffix_follows_a_keras_rate_change():
    model = _sequential(L.Dense(300), L.Dropout(0.2), shape=(4,))
    x = np.ones((4, 4), "float32")
    mc_predict(model, x, samples=2, verbose=0)
    model.layers[-1].rate = 0.6
    out = _samples(model, x, samples=1, batch_size=4)
    dense = model.predict(x, verbose=0)
    assert_binomial(int(np.sum(out == 0) - np.sum(dense == 0)), out.size, 0.6)


def test_cache_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = _cnn_with_head_dropout()
        x = _x((6, 12, 6))
        whole = _samples(model, x, cache_prefix=False)
        cached = _samples(model, x)
    finally:
        keras.config.set_dtype_policy(previous)
    assert _split(model) is not None
    np.testing.assert_allclose(cached, whole, rtol=1e-2, atol=1e-2)


# -- consistent MC dropout --------------------------------------------------------


def _no_shadows(model):
    found = []
    for layer in model._flatten_layers():
        for obj in [layer, getattr(layer, "cell", None)]:
            shadows = {"call", "get_dropout_mask", "get_recurrent_dropout_mask"}
            found += sorted(shadows & set(vars(obj))) if obj is not None else []
    return not found


@pytest.mark.parametrize("name", sorted(MODELS))
def test_consistent_samples_do_not_depend_on_the_batch_size(name):
    model = MODELS[name]()
    x = _x((8, 12, 6))
    small = _samples(model, x, batch_size=4, consistent=True)
    large = _samples(model, x, batch_size=8, consistent=True)
    np.testing.assert_allclose(small, large, rtol=1e-5, atol=1e-5)
    assert np.std(small, axis=0).max() > 0  # samples are different networks
    assert _no_shadows(model)
    if name in ("pack layers", "keras head dropout"):
        alone = _samples(model, x[5:6], batch_size=1, consistent=True)
        np.testing.assert_allclose(alone[:, 0], small[:, 5], rtol=1e-5, atol=1e-5)


def test_each_sample_is_one_network_for_every_row():
    model = _sequential(keras_dropout.Dropout(0.5), shape=(40,))
    rows = np.arange(1, 7, dtype="float32")[:, None] * np.ones((6, 40), "float32")
    out = _samples(model, rows, samples=20, batch_size=4, consistent=True)
    # Row i is i * (the sample's mask): every row saw the same mask.
    masks = out / rows[None]
    np.testing.assert_allclose(masks, np.broadcast_to(masks[:, :1], masks.shape))
    assert set(np.unique(masks)) == {0.0, 2.0}
    assert_binomial(int(np.sum(masks[:, 0] == 0)), masks[:, 0].size, 0.5)
    free = _samples(model, rows, samples=20, batch_size=4)
    assert not np.allclose(free / rows[None], (free / rows[None])[:, :1])


def test_consistent_without_seed_shares_networks_across_batches():
    model = _cnn_with_head_dropout()
    x = np.concatenate([_x((1, 12, 6))] * 6)  # the same row six times
    out = mc_predict(model, x, samples=5, batch_size=2, verbose=0,
                     return_samples=True, consistent=True).samples  # fmt: skip
    np.testing.assert_allclose(out, np.broadcast_to(out[:, :1], out.shape), atol=1e-6)
    again = mc_predict(model, x, samples=5, batch_size=2, verbose=0,
                       return_samples=True, consistent=True).samples  # fmt: skip
    assert not np.allclose(out, again)  # a new set of networks per call


@pytest.mark.compat
def test_consistent_restores_layers_and_generators():
    model = _keras_layers()
    x = _x((4, 12, 6))
    before = model.predict(x, verbose=0)
    states = [np.asarray(g.state.value) for g in _generators(model)]
    assert len(states) == 5
    _samples(model, x, consistent=True)
    after = [np.asarray(g.state.value) for g in _generators(model)]
    for old, new in zip(states, after, strict=True):
        np.testing.assert_array_equal(old, new)
    assert _no_shadows(model)
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)


def _generators(model):
    return [g for la in _stochastic(model) for g in models._seed_generators(la)]


def test_consistent_refuses_what_it_cannot_share():
    keras.utils.set_random_seed(0)
    zoneout = keras.Sequential(
        [
            keras.Input((5, 3)),
            L.RNN(keras_dropout.ZoneoutCell(L.LSTMCell(4), 0.3)),
            L.Dense(2),
        ]
    )
    with pytest.raises(ValueError, match="`consistent`.*zoneout"):
        mc_predict(zoneout, _x((3, 5, 3)), samples=2, verbose=0, consistent=True)
    model = _cnn_with_head_dropout()
    with pytest.raises(ValueError, match="`strategy`"):
        mc_predict(model, _x((3, 12, 6)), verbose=0, consistent=True,
                   strategy="vectorized")  # fmt: skip
    for name in ("consistent", "cache_prefix"):
        with pytest.raises(ValueError, match=f"`{name}`"):
            mc_predict(model, _x((3, 12, 6)), verbose=0, **{name: "yes"})
