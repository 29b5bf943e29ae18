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
    assert np.all(mc_predict(model, x, samples=5, verbose=0).std == 0)
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
