"""`keras_dropout.models.mc_predict`: MC mean and spread, seeds, strategies."""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.models import MCPrediction
from keras_dropout.models import mc_predict
from keras_dropout.models import pack_layers


def _mlp(dropout=True, batchnorm=False, seed=3):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((6,)), keras.layers.Dense(16, "relu")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras_dropout.Dropout(0.5, seed=seed))
    layers.append(keras.layers.Dense(2))
    return keras.Sequential(layers)


def _x(rows=20):
    return np.random.default_rng(0).normal(size=(rows, 6)).astype("float32")


@pytest.mark.parametrize("strategy", ["loop", "vectorized"])
def test_model_without_dropout_is_refused(strategy):
    # Issue #18: such a model used to give std 0 silently.
    model = _mlp(dropout=False)
    with pytest.raises(ValueError, match="`model`.*dropout"):
        mc_predict(model, _x(), samples=5, verbose=0, strategy=strategy)


@pytest.mark.parametrize("strategy", ["loop", "vectorized"])
def test_pack_layers_give_positive_std(strategy):
    result = mc_predict(_mlp(), _x(), samples=20, verbose=0, strategy=strategy)
    assert isinstance(result, MCPrediction)
    assert result.mean.shape == result.std.shape == (20, 2)
    assert result.samples is None
    assert np.all(result.std > 0)


def test_inference_outside_is_deterministic_again():
    model = _mlp()
    x = _x()
    mc_predict(model, x, samples=3, verbose=0)
    np.testing.assert_array_equal(
        model.predict(x, verbose=0), model.predict(x, verbose=0)
    )


@pytest.mark.parametrize("strategy", ["loop", "vectorized"])
def test_same_seed_same_result(strategy):
    model = _mlp()
    x = _x()
    kwargs = dict(samples=8, batch_size=7, verbose=0, strategy=strategy)
    first = mc_predict(model, x, seed=11, **kwargs)
    mc_predict(model, x, **kwargs)  # advances the generators in between
    second = mc_predict(model, x, seed=11, **kwargs)
    other = mc_predict(model, x, seed=12, **kwargs)
    np.testing.assert_array_equal(first.mean, second.mean)
    np.testing.assert_array_equal(first.std, second.std)
    assert not np.array_equal(first.mean, other.mean)


def test_seed_restores_generator_state():
    model = _mlp()
    layer = pack_layers(model)[0]
    before = keras.ops.convert_to_numpy(layer.seed_generator.state.value).copy()
    mc_predict(model, _x(), samples=4, seed=5, verbose=0)
    after = keras.ops.convert_to_numpy(layer.seed_generator.state.value)
    np.testing.assert_array_equal(before, after)


def test_batchnorm_moving_statistics_untouched():
    model = _mlp(batchnorm=True)
    x = _x(64) * 5 + 3
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((64, 2)), epochs=1, verbose=0)
    bn = model.layers[1]
    before = [keras.ops.convert_to_numpy(v).copy() for v in bn.non_trainable_weights]
    result = mc_predict(model, x, samples=10, verbose=0)
    after = [keras.ops.convert_to_numpy(v) for v in bn.non_trainable_weights]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(b, a)
    assert np.all(result.std > 0)


@pytest.mark.parametrize("strategy", ["loop", "vectorized"])
def test_return_samples_shape_and_moments(strategy):
    x = _x(13)
    result = mc_predict(
        _mlp(),
        x,
        samples=6,
        batch_size=5,
        return_samples=True,
        verbose=0,
        strategy=strategy,
    )
    assert result.samples.shape == (6, 13, 2)
    np.testing.assert_allclose(
        result.mean, result.samples.mean(0), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(result.std, result.samples.std(0), rtol=1e-4, atol=1e-6)


def test_samples_of_one_row_are_independent_across_samples():
    result = mc_predict(
        _mlp(),
        _x(1),
        samples=10,
        return_samples=True,
        verbose=0,
        strategy="vectorized",
    )
    assert len({tuple(s.ravel().round(5)) for s in result.samples}) > 1


def test_vectorized_matches_loop_in_distribution():
    model = _mlp()
    x = _x(10)
    loop = mc_predict(model, x, samples=400, seed=1, verbose=0, strategy="loop")
    vec = mc_predict(model, x, samples=400, seed=2, verbose=0, strategy="vectorized")
    spread = np.sqrt((loop.std**2 + vec.std**2) / 400)
    assert np.all(np.abs(loop.mean - vec.mean) <= 5 * spread + 1e-6)
    np.testing.assert_allclose(loop.std, vec.std, rtol=0.25, atol=1e-3)


def test_vectorized_refused_for_batch_shared_masks():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras_dropout.DropConnectDense(4, rate=0.5),
            keras.layers.Dense(1),
        ]
    )
    with pytest.raises(ValueError, match="`strategy`"):
        mc_predict(model, _x(), samples=2, verbose=0, strategy="vectorized")
    result = mc_predict(model, _x(), samples=20, verbose=0)  # auto: loop
    assert np.all(result.std > 0)


# One draw per call (on weights, a vocabulary or a step), not per batch row.
SHARED_DRAWS = ("DropConnect", "DropConnectDense", "EmbeddingDropout", "ZoneoutCell")
# Draws that are neither per row nor shared: a fixed number of rows is
# chosen together (so repeating a batch does not give independent samples).
JOINT_DRAWS = ("SubsetDropPath",)


def test_every_layer_says_whether_it_draws_per_row():
    classes = {
        name: getattr(keras_dropout, name)
        for name in keras_dropout.__all__
        if isinstance(getattr(keras_dropout, name), type)
        and issubclass(getattr(keras_dropout, name), keras_dropout.BaseDropout)
    }
    assert set(SHARED_DRAWS) <= set(classes)
    for name, cls in classes.items():
        assert isinstance(cls.draws_per_row, bool), name
    assert not keras_dropout.BaseDropout.draws_per_row  # the safe default
    per_row = {name for name, cls in classes.items() if cls.draws_per_row}
    not_per_row = set(SHARED_DRAWS) | set(JOINT_DRAWS) | {"BaseDropout"}
    assert per_row == set(classes) - not_per_row
    # How each shares one noise over the batch (mc_predict(consistent=True)).
    allowed = {"multiplicative", "per_call", "custom", None}
    for name, cls in classes.items():
        assert cls.consistent_noise in allowed, name
    unsupported = {n for n, cls in classes.items() if cls.consistent_noise is None}
    assert unsupported == {"BaseDropout", "ZoneoutCell", "SubsetDropPath"}


def test_noise_shape_shared_over_the_batch_draws_once():
    from keras_dropout.models import _draws_per_row

    assert _draws_per_row(keras_dropout.Dropout(0.5))
    assert not _draws_per_row(keras_dropout.Dropout(0.5, noise_shape=(1, None)))
    assert not _draws_per_row(keras_dropout.DropConnectDense(4, rate=0.5))


def test_nested_and_functional_models():
    inner = _mlp()
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    assert pack_layers(model) == pack_layers(inner)
    assert np.all(mc_predict(model, _x(), samples=10, verbose=0).std > 0)


def test_progress_bar(capsys):
    mc_predict(_mlp(), _x(10), samples=2, batch_size=5, verbose=1)
    assert "2/2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"samples": 0}, "samples"),
        ({"samples": 2.5}, "samples"),
        ({"batch_size": 0}, "batch_size"),
        ({"seed": "a"}, "seed"),
        ({"return_samples": 1}, "return_samples"),
        ({"verbose": 3}, "verbose"),
        ({"strategy": "fast"}, "strategy"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        mc_predict(_mlp(), _x(), **kwargs)


def test_bad_model_and_inputs():
    with pytest.raises(ValueError, match="`model`"):
        mc_predict("model", _x())
    with pytest.raises(ValueError, match="`x`"):
        mc_predict(_mlp(), np.zeros((0, 6), "float32"))
