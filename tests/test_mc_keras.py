"""`mc_dropout(model)` and `mc_predict` on models made of Keras's own layers.

Issue #18: MC dropout for unmodified models. The model-aware scope makes
Keras's dropout layers, `MultiHeadAttention`'s attention dropout and RNN
dropout stochastic at inference, leaves every other layer alone, follows
compiled predict functions and restores everything on exit.
"""

import os

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout import mc_dropout
from keras_dropout._base import mc_layers
from keras_dropout.models import _draws_per_row
from keras_dropout.models import mc_predict
from tests.harness import BACKEND
from tests.harness import assert_binomial
from tests.harness import numpy


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _predict(model, x):
    return model.predict(x, verbose=0, batch_size=len(x))


def _mlp(rate=0.5, batchnorm=False):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((6,)), keras.layers.Dense(16, "relu")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Dropout(rate, seed=1), keras.layers.Dense(2)]
    return keras.Sequential(layers)


def _no_shadows(model):
    return not [la.name for la in model._flatten_layers() if "call" in vars(la)]


# -- Keras's dropout layers ----------------------------------------------------


def test_dropout_zeroes_rate_of_units_and_scales_kept_ones():
    rate = 0.3
    model = keras.Sequential([keras.Input((200,)), keras.layers.Dropout(rate, seed=2)])
    x = np.ones((50, 200), "float32")
    assert np.array_equal(_predict(model, x), x)
    with mc_dropout(model):
        out = _predict(model, x)
    dropped = int(np.sum(out == 0))
    assert_binomial(dropped, out.size, rate)
    np.testing.assert_allclose(out[out != 0], 1.0 / (1.0 - rate), rtol=1e-6)
    assert np.array_equal(_predict(model, x), x)


def test_spatial_gaussian_and_alpha_dropout_are_reached():
    inputs = keras.Input((4, 4, 8))
    spatial = keras.layers.SpatialDropout2D(0.5, seed=1)(inputs)
    flat = keras.layers.Reshape((16, 8))(inputs)
    outputs = [
        spatial,
        keras.layers.SpatialDropout1D(0.5, seed=2)(flat),
        keras.layers.GaussianDropout(0.5, seed=3)(inputs),
        keras.layers.AlphaDropout(0.5, seed=4)(inputs),
    ]
    model = keras.Model(inputs, outputs)
    x = np.ones((6, 4, 4, 8), "float32")
    with mc_dropout(model):
        spatial2d, spatial1d, gaussian, alpha = model.predict(x, verbose=0)
    # Spatial: one draw per sample and channel, constant over positions.
    for out in (spatial2d.reshape(6, 16, 8), spatial1d):
        assert np.all(out == out[:, :1, :])
        assert set(np.unique(out)) == {0.0, 2.0}
    assert np.std(gaussian) > 0.1
    assert not np.allclose(alpha, x)
    outside = model.predict(x, verbose=0)
    for out in outside:
        np.testing.assert_array_equal(out, np.ones_like(out))


def test_which_layers_are_reached():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 6))
    h = keras.layers.GaussianNoise(0.5)(inputs)  # not dropout: left alone
    h = keras.layers.Dropout(0.0)(h)  # rate 0: nothing to sample
    h = keras.layers.MultiHeadAttention(2, 4, dropout=0.2, name="mha")(h, h)
    h = keras.layers.MultiHeadAttention(2, 4, name="mha0")(h, h)
    h = keras.layers.Bidirectional(
        keras.layers.LSTM(3, recurrent_dropout=0.2, return_sequences=True),
        name="bi",
    )(h)
    h = keras.layers.SimpleRNN(3, return_sequences=True, name="plain_rnn")(h)
    h = keras.layers.GRU(3, dropout=0.2, name="gru")(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras_dropout.Dropout(0.2, name="pack")(h)
    model = keras.Model(inputs, h)
    reached = mc_layers(model)
    names = [la.name for la in reached]
    mha = model.get_layer("mha")
    assert mha._dropout_layer in reached  # the attention dropout
    assert model.get_layer("bi").forward_layer in reached
    assert model.get_layer("bi").backward_layer in reached
    assert model.get_layer("gru") in reached
    assert len(reached) == 4, names  # not rate 0, noise, plain RNN, BN, pack


# -- RNNs and attention --------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.layers.LSTM(4, dropout=0.5),
        lambda: keras.layers.GRU(4, recurrent_dropout=0.5),
        lambda: keras.layers.SimpleRNN(4, dropout=0.5),
        lambda: keras.layers.Bidirectional(keras.layers.LSTM(4, dropout=0.5)),
        lambda: keras.layers.RNN(
            keras.layers.StackedRNNCells(
                [keras.layers.GRUCell(4), keras.layers.GRUCell(4, dropout=0.5)]
            )
        ),
    ],
    ids=["lstm", "gru", "simple_rnn", "bidirectional", "stacked_cells"],
)
def test_rnn_samples_differ_and_batchnorm_stays_in_inference(make):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 6))
    hidden = make()(inputs)
    bn = keras.layers.BatchNormalization()
    model = keras.Model(inputs, [hidden, bn(hidden)])
    x = _x((16, 5, 6)) * 3 + 2
    model.compile("sgd", ["mse", "mse"])
    model.fit(x, [np.zeros((16, hidden.shape[-1]))] * 2, epochs=2, verbose=0)
    stats = [numpy(v).copy() for v in bn.non_trainable_weights]
    base = model.predict(x, verbose=0)
    with mc_dropout(model):
        (h1, n1), (h2, n2) = (model.predict(x, verbose=0) for _ in range(2))
        h3, n3 = (numpy(t) for t in model(x))
    assert not np.allclose(h1, h2)
    assert not np.allclose(h1, h3)
    # BatchNormalization after the RNN normalizes with its moving statistics.
    gamma, beta = (numpy(w) for w in bn.trainable_weights)
    mean, var = (numpy(v) for v in bn.non_trainable_weights)
    for h, n in ((h1, n1), (h2, n2), (h3, n3)):
        expected = (h - mean) / np.sqrt(var + bn.epsilon) * gamma + beta
        np.testing.assert_allclose(n, expected, rtol=1e-4, atol=1e-4)
    for before, v in zip(stats, bn.non_trainable_weights, strict=True):
        np.testing.assert_array_equal(before, numpy(v))
    after = model.predict(x, verbose=0)
    for b, a in zip(base, after, strict=True):
        np.testing.assert_array_equal(b, a)


def test_multi_head_attention_dropout_is_active():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 8))
    outputs = keras.layers.MultiHeadAttention(2, 4, dropout=0.5, seed=3)(inputs, inputs)
    model = keras.Model(inputs, outputs)
    x = _x((4, 6, 8))
    base = _predict(model, x)
    np.testing.assert_array_equal(base, _predict(model, x))
    with mc_dropout(model):
        first, second = _predict(model, x), _predict(model, x)
    assert not np.allclose(first, second)
    assert not np.allclose(first, base)
    np.testing.assert_array_equal(base, _predict(model, x))


# -- compiled functions, restoration, nesting -----------------------------------


def test_predict_compiled_before_follows_the_scope_and_is_restored():
    model = _mlp(batchnorm=True)
    model.compile("sgd", "mse")
    x = _x((32, 6))
    model.fit(x * 2 + 1, np.zeros((32, 2)), epochs=1, verbose=0)  # BN moves
    base = model.predict(x, verbose=0)  # compiles predict
    assert model.predict_function is not None
    with mc_dropout(model):
        # Repeated predicts (and batches of one call) carry the seed state.
        samples = [model.predict(x, verbose=0, batch_size=8) for _ in range(3)]
    assert not np.allclose(samples[0], samples[1])
    assert not np.allclose(samples[1], samples[2])
    rows = samples[0][:8]
    assert not np.allclose(rows, samples[0][8:16])
    np.testing.assert_array_equal(model.predict(x, verbose=0), base)
    np.testing.assert_array_equal(model.predict(x, verbose=0), base)
    assert _no_shadows(model)


def test_rows_of_one_predict_call_differ():
    model = _mlp()
    x = np.repeat(_x((1, 6)), 64, axis=0)
    with mc_dropout(model):
        out = model.predict(x, verbose=0, batch_size=16)
    assert len({tuple(row.round(5)) for row in out}) > 32


def test_exception_inside_the_scope_restores_everything():
    model = _mlp()
    x = _x((8, 6))
    base = _predict(model, x)
    with pytest.raises(RuntimeError, match="boom"):
        with mc_dropout(model):
            _predict(model, x)
            raise RuntimeError("boom")
    assert _no_shadows(model)
    assert not keras_dropout._base.mc_scope_enabled()
    np.testing.assert_array_equal(_predict(model, x), base)


def test_nested_scopes_and_enabled_false():
    model = _mlp()
    x = _x((8, 6))
    base = _predict(model, x)
    with mc_dropout(model):
        with mc_dropout(model):  # nesting the same model: still on
            assert not np.allclose(_predict(model, x), base)
        assert not np.allclose(_predict(model, x), base)
        with mc_dropout(model, enabled=False):
            np.testing.assert_array_equal(_predict(model, x), base)
        with mc_dropout(enabled=False):  # pack layers only
            assert not np.allclose(_predict(model, x), base)
        assert not np.allclose(_predict(model, x), base)
    np.testing.assert_array_equal(_predict(model, x), base)
    with mc_dropout(model, enabled=False):  # nothing was on: no change
        np.testing.assert_array_equal(_predict(model, x), base)
    assert _no_shadows(model)


def test_scope_object_can_be_reentered():
    model = _mlp()
    x = _x((8, 6))
    base = _predict(model, x)
    scope = mc_dropout(model)
    for _ in range(2):
        with scope:
            assert not np.allclose(_predict(model, x), base)
        np.testing.assert_array_equal(_predict(model, x), base)


def test_scope_without_model_leaves_keras_layers_alone():
    model = _mlp()
    x = _x((8, 6))
    base = _predict(model, x)
    with mc_dropout():
        np.testing.assert_array_equal(_predict(model, x), base)


def test_pack_layers_follow_the_model_scope_too():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras_dropout.Dropout(0.5), keras.layers.Dense(2)]
    )
    x = _x((8, 6))
    base = _predict(model, x)
    with mc_dropout(model):
        assert not np.allclose(_predict(model, x), base)
    np.testing.assert_array_equal(_predict(model, x), base)


@pytest.mark.parametrize("bad", ["model", 3, np.ones(3)])
def test_model_must_be_a_layer(bad):
    with pytest.raises(ValueError, match="`model`"):
        mc_dropout(bad)
    with pytest.raises(ValueError, match="`enabled`"):
        mc_dropout(_mlp(), enabled=1)


# -- model kinds ---------------------------------------------------------------


class Block(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(8)
        self.drops = [keras.layers.Dropout(0.5), keras.layers.GaussianDropout(0.3)]

    def call(self, x):
        x = self.dense(x)
        for drop in self.drops:
            x = drop(x)
        return x


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = Block()
        self.head = keras.Sequential([keras.layers.Dropout(0.5), keras.layers.Dense(2)])

    def call(self, x):
        return self.head(self.block(x))


def test_subclassed_and_nested_models():
    keras.utils.set_random_seed(0)
    net = Net()
    x = _x((8, 6))
    net(x)
    assert len(mc_layers(net)) == 3
    base = _predict(net, x)
    with mc_dropout(net):
        assert not np.allclose(_predict(net, x), _predict(net, x))
        assert not np.allclose(numpy(net(x)), numpy(net(x)))
    np.testing.assert_array_equal(_predict(net, x), base)
    # Passing an inner layer reaches only that layer's dropout.
    with mc_dropout(net.head):
        eager = [numpy(net(x)) for _ in range(2)]
    assert not np.allclose(*eager)


def test_saving_inside_and_after_the_scope_round_trips(tmp_path):
    model = _mlp()
    x = _x((8, 6))
    base = _predict(model, x)
    inside = os.path.join(tmp_path, "inside.keras")
    with mc_dropout(model):
        model.save(inside)
    after = os.path.join(tmp_path, "after.keras")
    model.save(after)
    for path in (inside, after):
        loaded = keras.saving.load_model(path)
        assert _no_shadows(loaded)
        np.testing.assert_allclose(_predict(loaded, x), base, rtol=1e-6)
        np.testing.assert_array_equal(_predict(loaded, x), _predict(loaded, x))
        with mc_dropout(loaded):
            assert not np.allclose(_predict(loaded, x), _predict(loaded, x))
        np.testing.assert_allclose(_predict(loaded, x), base, rtol=1e-6)


def test_model_loaded_from_keras_file(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 6))
    h = keras.layers.LSTM(4, dropout=0.3, return_sequences=True)(inputs)
    h = keras.layers.MultiHeadAttention(2, 4, dropout=0.3)(h, h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dropout(0.3)(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    path = os.path.join(tmp_path, "plain.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _x((4, 5, 6))
    base = _predict(loaded, x)
    assert len(mc_layers(loaded)) == 3
    result = mc_predict(loaded, x, samples=8, verbose=0)
    assert np.all(result.std > 0)
    np.testing.assert_array_equal(_predict(loaded, x), base)


# -- mc_predict ----------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["loop", "vectorized"])
def test_mc_predict_on_a_plain_keras_model(strategy):
    model = _mlp(batchnorm=True)
    x = _x((10, 6))
    base = _predict(model, x)
    result = mc_predict(model, x, samples=30, verbose=0, strategy=strategy)
    assert np.all(result.std > 0)
    np.testing.assert_array_equal(_predict(model, x), base)
    assert _no_shadows(model)


def test_mc_predict_seed_reseeds_keras_layers():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5, 6)),
            keras.layers.GRU(4, dropout=0.3, return_sequences=True),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.4),
            keras.layers.Dense(2),
        ]
    )
    x = _x((6, 5, 6))
    first = mc_predict(model, x, samples=5, seed=3, verbose=0)
    mc_predict(model, x, samples=5, verbose=0)
    second = mc_predict(model, x, samples=5, seed=3, verbose=0)
    np.testing.assert_array_equal(first.mean, second.mean)
    assert not np.array_equal(
        first.mean, mc_predict(model, x, samples=5, seed=4, verbose=0).mean
    )


def test_vectorized_needs_per_row_draws_for_keras_layers_too():
    keras.utils.set_random_seed(0)
    shared = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dropout(0.5, noise_shape=(1, 6))]
    )
    with pytest.raises(ValueError, match="`strategy`"):
        mc_predict(shared, _x((4, 6)), samples=2, verbose=0, strategy="vectorized")
    assert np.all(mc_predict(shared, _x((4, 6)), samples=30, verbose=0).std > 0)
    assert _draws_per_row(keras.layers.Dropout(0.5))
    assert _draws_per_row(keras.layers.SpatialDropout2D(0.5))
    assert _draws_per_row(keras.layers.GaussianDropout(0.5))
    assert not _draws_per_row(keras.layers.AlphaDropout(0.5, noise_shape=(1, 3)))
    assert _draws_per_row(keras.layers.LSTM(2, dropout=0.5))
    assert not _draws_per_row(keras.layers.LSTM(2, dropout=0.5, stateful=True))


def test_vectorized_rnn_and_attention_match_loop_in_distribution():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 3))
    h = keras.layers.LSTM(4, dropout=0.3, recurrent_dropout=0.3)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    x = _x((3, 4, 3))
    loop = mc_predict(model, x, samples=300, seed=1, verbose=0, strategy="loop")
    vec = mc_predict(model, x, samples=300, seed=2, verbose=0, strategy="vectorized")
    spread = np.sqrt((loop.std**2 + vec.std**2) / 300)
    assert np.all(np.abs(loop.mean - vec.mean) <= 5 * spread + 1e-6)
    np.testing.assert_allclose(loop.std, vec.std, rtol=0.3, atol=1e-3)


@pytest.mark.skipif(BACKEND == "torch", reason="keeps what tf.function/jit traced")
def test_user_compiled_function_keeps_what_it_traced():
    # Documented limitation: the scope changes Python-level behaviour.
    model = _mlp()
    x = _x((8, 6))
    if BACKEND == "jax":
        import jax

        state = (model.trainable_variables, model.non_trainable_variables)
        compiled = jax.jit(
            lambda t, n, x: model.stateless_call(t, n, x, training=False)[0]
        )
        run = lambda: np.asarray(compiled(*[[v.value for v in s] for s in state], x))
    else:
        import tensorflow as tf

        compiled = tf.function(lambda x: model(x, training=False))
        run = lambda: compiled(x).numpy()
    base = run()
    with mc_dropout(model):
        np.testing.assert_array_equal(run(), base)


# -- keras-hub architectures (random weights, built from config, offline) -----


def _keras_hub():
    """keras_hub, or a skip; under `make test` (KERAS_DROPOUT_REQUIRE_HUB=1)
    a missing keras_hub fails instead, so CI cannot skip these silently."""
    if os.environ.get("KERAS_DROPOUT_REQUIRE_HUB") == "1":
        import keras_hub

        return keras_hub
    return pytest.importorskip("keras_hub")


def _check_backbone(model, x, expected_layers):
    assert len(mc_layers(model)) == expected_layers
    base = _predict(model, x)
    with mc_dropout(model):
        first, second = _predict(model, x), _predict(model, x)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(_predict(model, x), base)
    result = mc_predict(model, x, samples=4, verbose=0)
    assert np.mean(result.std > 0) > 0.5
    return base


def test_keras_hub_vit_backbone():
    keras_hub = _keras_hub()
    keras.utils.set_random_seed(0)
    vit = keras_hub.models.ViTBackbone(
        image_shape=(8, 8, 3),
        patch_size=4,
        num_layers=2,
        num_heads=2,
        hidden_dim=8,
        mlp_dim=16,
        dropout_rate=0.2,
        attention_dropout=0.2,
    )
    x = _x((2, 8, 8, 3))
    # Per block: attention output, MLP and attention-score dropout; and the
    # encoder's own. All inside custom layers: no functional graph node.
    base = _check_backbone(vit, x, 7)
    assert keras_dropout.convert(vit, in_place=True) is vit
    assert len(keras_dropout.models.pack_layers(vit)) == 7
    np.testing.assert_allclose(_predict(vit, x), base, rtol=1e-5, atol=1e-6)
    keras_dropout.models.revert(vit, in_place=True)
    assert not keras_dropout.models.pack_layers(vit)


def test_keras_hub_efficientnet_backbone():
    keras_hub = _keras_hub()
    keras.utils.set_random_seed(0)
    net = keras_hub.models.EfficientNetBackbone(
        stackwise_kernel_sizes=[3, 3, 3],
        stackwise_num_repeats=[2, 2, 2],
        stackwise_input_filters=[8, 8, 8],
        stackwise_output_filters=[8, 8, 8],
        stackwise_expansion_ratios=[1, 2, 1],
        stackwise_squeeze_and_excite_ratios=[0.0, 0.25, 0.25],
        stackwise_strides=[1, 2, 1],
        stackwise_block_types=["fused", "unfused", "v1"],
        stackwise_width_coefficients=[1.0] * 3,
        stackwise_depth_coefficients=[1.0] * 3,
        dropout=0.5,
        input_shape=(16, 16, 3),
        depth_divisor=4,
        min_depth=4,
    )
    bn = [
        la
        for la in net._flatten_layers()
        if isinstance(la, keras.layers.BatchNormalization)
    ]
    stats = [numpy(v).copy() for la in bn for v in la.non_trainable_weights]
    x = _x((2, 16, 16, 3))
    base = _check_backbone(net, x, 5)  # the first block of each stack has none
    after = [numpy(v) for la in bn for v in la.non_trainable_weights]
    for b, a in zip(stats, after, strict=True):
        np.testing.assert_array_equal(b, a)
    converted = keras_dropout.convert(net)  # graph nodes: a copy
    assert len(keras_dropout.models.pack_layers(converted)) == 5
    np.testing.assert_allclose(_predict(converted, x), base, rtol=1e-5, atol=1e-5)
