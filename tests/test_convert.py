"""`keras_dropout.models.convert`: Keras dropout layers become pack layers."""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.models import convert
from keras_dropout.models import mc_predict


def _x(shape=(8, 6)):
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def _sequential():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, "relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.3, noise_shape=(None, 16), seed=4),
            keras.layers.Dense(16, "selu"),
            keras.layers.AlphaDropout(0.1, seed=5),
            keras.layers.GaussianDropout(0.2, seed=6),
            keras.layers.Dense(2),
        ]
    )


def test_sequential_layers_are_pack_classes_with_same_arguments():
    model = _sequential()
    converted = convert(model)
    kinds = [type(layer) for layer in converted.layers]
    assert kinds[2] is keras_dropout.Dropout
    assert kinds[4] is keras_dropout.AlphaDropout
    assert kinds[5] is keras_dropout.GaussianDropout
    drop = converted.layers[2]
    assert (drop.rate, drop.seed, drop.noise_shape) == (0.3, 4, (None, 16))
    assert converted.layers[4].rate == pytest.approx(0.1)
    assert converted.layers[5].seed == 6
    assert [la.name for la in converted.layers] == [la.name for la in model.layers]
    assert converted is not model
    assert type(model.layers[2]) is keras.layers.Dropout  # original untouched


def test_inference_equals_original_and_weights_are_kept():
    model = _sequential()
    model.compile("sgd", "mse")
    model.fit(_x((32, 6)), np.ones((32, 2)), epochs=1, verbose=0)  # BN stats move
    converted = convert(model)
    x = _x()
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )
    for a, b in zip(converted.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mc_scope_works_on_converted_model():
    model = _sequential()
    x = _x()
    # Issue #18: mc_predict reaches Keras's own dropout layers too now.
    assert np.all(mc_predict(model, x, samples=20, verbose=0).std > 0)
    converted = convert(model)
    assert np.all(mc_predict(converted, x, samples=20, verbose=0).std > 0)


def test_functional_nested_and_spatial():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential(
        [keras.Input((5, 5, 3)), keras.layers.SpatialDropout2D(0.4, seed=1)]
    )
    inputs = keras.Input((5, 5, 3))
    hidden = keras.layers.Conv2D(3, 3, padding="same")(inputs)
    hidden = inner(hidden)
    seq = keras.layers.Reshape((25, 3))(hidden)
    seq = keras.layers.SpatialDropout1D(0.2)(seq)
    vol = keras.layers.Reshape((5, 5, 1, 3))(hidden)
    vol = keras.layers.SpatialDropout3D(0.1)(vol)
    outputs = keras.layers.Concatenate()(
        [keras.layers.Flatten()(seq), keras.layers.Flatten()(vol)]
    )
    model = keras.Model(inputs, outputs)
    converted = convert(model)
    classes = {type(la) for la in converted._flatten_layers()}
    assert keras_dropout.SpatialDropout1D in classes
    assert keras_dropout.SpatialDropout2D in classes
    assert keras_dropout.SpatialDropout3D in classes
    assert not any(
        isinstance(la, keras.layers.SpatialDropout2D)
        for la in converted._flatten_layers()
    )
    x = _x((2, 5, 5, 3))
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )


def test_custom_mapping():
    model = _sequential()
    mapping = {keras.layers.GaussianDropout: lambda layer: keras_dropout.Dropout(0.5)}
    converted = convert(model, mapping=mapping)
    assert type(converted.layers[5]) is keras_dropout.Dropout
    assert converted.layers[5].rate == 0.5
    assert type(converted.layers[2]) is keras_dropout.Dropout  # defaults kept


def test_subclassed_model_is_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)
            self.drop = keras.layers.Dropout(0.5)

        def call(self, x):
            return self.drop(self.dense(x))

    net = Net()
    net(_x())
    with pytest.raises(ValueError, match="subclassed"):
        convert(net)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`model`"):
        convert(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="`mapping`"):
        convert(_sequential(), mapping={"Dropout": keras_dropout.Dropout})


# -- issue #18: nested and subclassed layers, in place, revert ------------------


class Block(keras.layers.Layer):
    """A custom layer holding Keras dropout layers in attributes and a list."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(8)
        self.drops = [
            keras.layers.Dropout(0.5, seed=1),
            keras.layers.GaussianDropout(0.3),
        ]
        self.attention = keras.layers.MultiHeadAttention(2, 4, dropout=0.2, seed=2)

    def call(self, x):
        x = self.dense(x)
        for drop in self.drops:
            x = drop(x)
        return self.attention(x, x)


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = Block()
        self.head = keras.Sequential(
            [keras.layers.Dropout(0.4, seed=3), keras.layers.Dense(2)]
        )

    def call(self, x):
        return self.head(self.block(x))


def _net():
    keras.utils.set_random_seed(0)
    net = Net()
    net(_x((4, 3, 6)))
    return net


def _keras_dropouts(model):
    classes = (
        keras.layers.Dropout,
        keras.layers.GaussianDropout,
        keras.layers.AlphaDropout,
    )
    return [la for la in model._flatten_layers() if isinstance(la, classes)]


def test_in_place_converts_a_subclassed_model():
    net = _net()
    x = _x((4, 3, 6))
    net.compile("sgd", "mse")
    net.fit(x, np.zeros((4, 3, 2)), verbose=0)  # compiles train and predict
    base = net.predict(x, verbose=0)
    weights = [w.copy() for w in net.get_weights()]
    old = net.block.drops[0]
    assert convert(net, in_place=True) is net
    assert not _keras_dropouts(net)
    assert type(net.block.drops[0]) is keras_dropout.Dropout
    assert (net.block.drops[0].rate, net.block.drops[0].seed) == (0.5, 1)
    assert type(net.block.drops[1]) is keras_dropout.GaussianDropout
    assert type(net.block.attention._dropout_layer) is keras_dropout.Dropout
    assert type(net.head.layers[0]) is keras_dropout.Dropout
    # The parent tracks the new layer where the old one was.
    assert old not in net.block._layers
    assert net.block.drops[0] in net.block._layers
    assert len(keras_dropout.models.pack_layers(net)) == 4
    for a, b in zip(net.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(net.predict(x, verbose=0), base, rtol=1e-5, atol=1e-6)
    assert np.all(mc_predict(net, x, samples=10, verbose=0).std > 0)
    net.fit(x, np.zeros((4, 3, 2)), verbose=0)  # recompiled train step
    rate = net.block.drops[0].rate_variable
    assert any(v is rate for v in net.variables)


def test_revert_in_place_restores_keras_layers():
    net = _net()
    x = _x((4, 3, 6))
    base = net.predict(x, verbose=0)
    convert(net, in_place=True)
    net.block.drops[0].rate = 0.25  # a scheduled rate is kept
    assert keras_dropout.models.revert(net, in_place=True) is net
    assert not keras_dropout.models.pack_layers(net)
    drop = net.block.drops[0]
    assert type(drop) is keras.layers.Dropout
    assert (drop.rate, drop.seed) == (0.25, 1)
    assert type(net.block.attention._dropout_layer) is keras.layers.Dropout
    assert type(net.head.layers[0]) is keras.layers.Dropout
    np.testing.assert_allclose(net.predict(x, verbose=0), base, rtol=1e-5, atol=1e-6)


def test_copy_recurses_into_custom_layers_of_a_functional_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3, 6))
    outputs = keras.layers.Dropout(0.1)(Block()(inputs))
    model = keras.Model(inputs, outputs)
    converted = convert(model)
    assert not _keras_dropouts(converted)
    assert len(keras_dropout.models.pack_layers(converted)) == 4
    assert len(_keras_dropouts(model)) == 4  # the original is untouched
    x = _x((2, 3, 6))
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )
    reverted = keras_dropout.models.revert(converted)
    assert len(_keras_dropouts(reverted)) == 4
    assert not keras_dropout.models.pack_layers(reverted)


def test_in_place_refuses_functional_graph_nodes_before_any_change():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3, 6))
    outputs = keras.layers.Dropout(0.1)(Block()(inputs))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match="`in_place`"):
        convert(model, in_place=True)
    assert len(_keras_dropouts(model)) == 4


def test_in_place_on_sequential_and_saving(tmp_path):
    model = _sequential()
    x = _x()
    base = model.predict(x, verbose=0)
    assert convert(model, in_place=True) is model
    kinds = [type(layer) for layer in model.layers]
    assert kinds[2] is keras_dropout.Dropout
    assert model.layers[2].noise_shape == (None, 16)
    assert kinds[4] is keras_dropout.AlphaDropout
    np.testing.assert_allclose(model.predict(x, verbose=0), base, rtol=1e-6)
    path = str(tmp_path / "converted.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[2]) is keras_dropout.Dropout
    np.testing.assert_allclose(loaded.predict(x, verbose=0), base, rtol=1e-6)


def test_revert_refuses_layers_keras_cannot_express():
    for layer in (
        keras_dropout.Dropout(0.3, mc=True),
        keras_dropout.Dropout(0.3, scaling="classic"),
        keras_dropout.GaussianDropout(0.3, noise_shape=(1, 4)),
    ):
        model = keras.Sequential([keras.Input((4,)), layer])
        with pytest.raises(ValueError, match="`model`.*" + layer.name):
            keras_dropout.models.revert(model, in_place=True)
        assert model.layers[0] is layer  # nothing changed


def test_subclassed_copy_is_refused_and_in_place_is_checked():
    with pytest.raises(ValueError, match="in_place=True"):
        convert(_net())
    with pytest.raises(ValueError, match="`in_place`"):
        convert(_sequential(), in_place=1)
    with pytest.raises(ValueError, match="`model`"):
        keras_dropout.models.revert(keras.layers.Dropout(0.2))
