"""The drop-in contract: code written for Keras's layers keeps working with ours.

For `Dropout`, `SpatialDropout1D/2D/3D`, `GaussianDropout` and `AlphaDropout`
(README, "Drop-in replacement"):

- Keras's own layer tests (`keras/src/layers/regularization/*_test.py`)
  pass with our class swapped in, through `keras.src.testing.TestCase.
  run_layer_test` with Keras's expectations (built at instantiation, no
  weights, one seed generator, masking, symbolic and eager calls, a compiled
  training step, mixed precision, serialization).
- Keras's positional arguments, in Keras's order, with Keras's defaults;
  ours come after them, keyword-only.
- For each bad argument Keras refuses, ours raises an error of the same type
  whose message starts with Keras's words; the arguments Keras accepts and
  we refuse are exactly the documented ones.
- The same `compute_output_shape`, symbolic outputs, `built` state and
  `get_config` values for Keras's keys.

Every test runs Keras's layer next to ours, so a change in Keras (a new
argument, new wording) fails here rather than in a user's code.
"""

import inspect
import os
import re

import keras
import numpy as np
import pytest
from keras.src import testing

import keras_dropout as kd
from tests.harness import numpy

PAIRS = {
    "Dropout": (keras.layers.Dropout, kd.Dropout),
    "SpatialDropout1D": (keras.layers.SpatialDropout1D, kd.SpatialDropout1D),
    "SpatialDropout2D": (keras.layers.SpatialDropout2D, kd.SpatialDropout2D),
    "SpatialDropout3D": (keras.layers.SpatialDropout3D, kd.SpatialDropout3D),
    "GaussianDropout": (keras.layers.GaussianDropout, kd.GaussianDropout),
    "AlphaDropout": (keras.layers.AlphaDropout, kd.AlphaDropout),
}
# An input shape each layer accepts (channels last).
SHAPES = {
    "Dropout": (2, 3, 4),
    "SpatialDropout1D": (2, 3, 4),
    "SpatialDropout2D": (2, 3, 4, 5),
    "SpatialDropout3D": (2, 3, 4, 4, 5),
    "GaussianDropout": (2, 3, 4),
    "AlphaDropout": (2, 3, 4),
}
ids = list(PAIRS)


# --- Keras's own layer tests, with our classes --------------------------------


class KerasLayerTests(testing.TestCase):
    """Keras's `*_test.py` for these layers, our class in place of Keras's."""

    def basics(self, cls):
        self.run_layer_test(
            cls,
            init_kwargs={"rate": 0.2},
            input_shape=(2, 3),
            call_kwargs={"training": True},
            expected_output_shape=(2, 3),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=True,
            assert_built_after_instantiation=True,
        )

    def test_dropout_basics(self):
        self.basics(kd.Dropout)

    def test_gaussian_dropout_basics(self):
        self.basics(kd.GaussianDropout)

    def test_alpha_dropout_basics(self):
        self.basics(kd.AlphaDropout)

    def test_spatial_dropout_1d(self):
        for training in (True, False):
            self.run_layer_test(
                kd.SpatialDropout1D,
                init_kwargs={"rate": 0.5},
                call_kwargs={"training": training},
                input_shape=(2, 3, 4),
                assert_built_after_instantiation=True,
            )

    def test_spatial_dropout_2d_and_3d(self):
        for cls, shape in (
            (kd.SpatialDropout2D, (2, 3, 4, 5)),
            (kd.SpatialDropout3D, (2, 3, 4, 4, 5)),
        ):
            for kwargs in (
                {"rate": 0.5},
                {"rate": 0.5, "data_format": "channels_first"},
            ):
                self.run_layer_test(
                    cls,
                    init_kwargs=kwargs,
                    call_kwargs={"training": True},
                    input_shape=shape,
                    assert_built_after_instantiation=True,
                )

    def test_dropout_rescaling(self):
        outputs = numpy(kd.Dropout(0.5, seed=1337)(np.ones((20, 500)), training=True))
        self.assertAllClose(np.mean(outputs), 1.0, atol=0.02)
        self.assertAllClose(np.max(outputs), 2.0)

    def test_partial_noise_shape(self):
        for cls in (kd.Dropout, kd.AlphaDropout):
            for noise_shape in ((None, 1, None), (20, 1, 10)):
                layer = cls(0.5, noise_shape=noise_shape)
                outputs = numpy(layer(np.ones((20, 5, 10)), training=True))
                self.assertAllClose(outputs[:, 0, :], outputs[:, 1, :])

    def test_rate_out_of_range(self):
        for cls in (kd.Dropout, kd.AlphaDropout, kd.GaussianDropout):
            for rate in (-0.5, 1.5):
                with self.assertRaisesRegex(
                    ValueError,
                    "Invalid value received for argument `rate`. "
                    "Expected a float value between 0 and 1.",
                ):
                    cls(rate=rate)

    def test_validate_noise_shape(self):
        self.assertIsNone(kd.Dropout(0.5, noise_shape=None).noise_shape)
        self.assertEqual(
            kd.Dropout(0.5, noise_shape=(20, 1, 10)).noise_shape, (20, 1, 10)
        )
        layer = kd.Dropout(0.5, noise_shape=[20, 1, 10])
        self.assertEqual(layer.noise_shape, (20, 1, 10))
        self.assertIsInstance(layer.noise_shape, tuple)
        self.assertEqual(
            kd.Dropout(0.5, noise_shape=(None, 1, None)).noise_shape, (None, 1, None)
        )
        for value, words in (
            ("Invalid", "Expected a tuple or list of integers."),
            ((20, 1.5, 10), "Expected all elements to be integers or None."),
            ((20, -1, 10), "Expected all dimensions to be positive integers or None."),
            ((20, 0, 10), "Expected all dimensions to be positive integers or None."),
        ):
            with self.assertRaisesRegex(
                ValueError,
                "Invalid value received for argument `noise_shape`. " + words,
            ):
                kd.Dropout(0.5, noise_shape=value)

    def test_gaussian_dropout_correctness(self):
        layer = kd.GaussianDropout(0.3, seed=1337)
        outputs = numpy(layer(np.ones((20, 500)), training=True))
        self.assertAllClose(np.std(outputs), np.sqrt(0.3 / (1 - 0.3)), atol=0.02)

    def test_alpha_dropout_correctness(self):
        layer = kd.AlphaDropout(0.3, seed=1337)
        outputs = numpy(layer(np.ones((20, 500)).astype("float32"), training=True))
        self.assertAllClose(np.std(outputs), 1.0, atol=1e-1)

    def test_spatial_dropout_correctness_and_dynamic(self):
        kd.SpatialDropout1D(0.5)(keras.layers.Input((3, 2)), training=True)
        kd.SpatialDropout2D(0.5)(keras.layers.Input((3, 2, 4)), training=True)
        kd.SpatialDropout3D(0.5)(keras.layers.Input((3, 2, 4, 2)), training=True)
        out = numpy(kd.SpatialDropout1D(0.5)(np.ones((10, 3, 10)), training=True))
        self.assertAllClose(out[:, 0, :], out[:, 1, :])
        out = numpy(kd.SpatialDropout2D(0.5)(np.ones((10, 3, 3, 10)), training=True))
        self.assertAllClose(out[:, 0, 0, :], out[:, 1, 1, :])
        out = numpy(kd.SpatialDropout3D(0.5)(np.ones((10, 3, 3, 3, 10)), training=True))
        self.assertAllClose(out[:, 0, 0, 0, :], out[:, 1, 1, 1, :])


# --- positional arguments -------------------------------------------------------


def _positional(cls):
    return [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


@pytest.mark.parametrize("name", ids)
def test_keras_positional_arguments_come_first_in_keras_order(name):
    theirs, ours = PAIRS[name]
    keras_params = [(p.name, p.default) for p in _positional(theirs)]
    our_params = [(p.name, p.default) for p in _positional(ours)]
    assert our_params == keras_params
    extra = set(inspect.signature(ours.__init__).parameters) - {
        "self",
        "kwargs",
        *(p for p, _ in keras_params),
    }
    for param in extra:
        kind = inspect.signature(ours.__init__).parameters[param].kind
        assert kind is inspect.Parameter.KEYWORD_ONLY, param


# Keras-style calls with every Keras argument positional, and the attributes
# they must set.
POSITIONAL_CALLS = [
    ("Dropout", (0.3, (None, 1, None), 42), {"noise_shape": (None, 1, None)}),
    ("SpatialDropout1D", (0.3, 42, "drop"), {"name": "drop"}),
    ("SpatialDropout2D", (0.3, "channels_first", 42, "drop"), {"name": "drop"}),
    (
        "SpatialDropout3D",
        (0.3, "channels_first", 42),
        {"data_format": "channels_first"},
    ),
    ("GaussianDropout", (0.3, 42), {}),
    ("AlphaDropout", (0.3, (None, 1, None), 42), {"noise_shape": (None, 1, None)}),
]


@pytest.mark.parametrize(
    "name, args, attributes",
    POSITIONAL_CALLS,
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_keras_style_positional_calls_read_the_same(name, args, attributes):
    theirs, ours = (cls(*args) for cls in PAIRS[name])
    for attribute, value in {"rate": 0.3, "seed": 42, **attributes}.items():
        assert getattr(ours, attribute) == getattr(theirs, attribute) == value


# --- errors -------------------------------------------------------------------

# Bad constructor arguments; each runs on Keras's layer and on ours.
BAD_ARGUMENTS = [
    {"rate": -0.1},
    {"rate": 1.5},
    {"rate": float("nan")},
    {"rate": "0.5"},
    {"rate": None},
    {"rate": [0.5]},
    {"rate": 0.1, "seed": "x"},
    {"rate": 0.1, "seed": 1.5},
    {"rate": 0.1, "noise_shape": "abc"},
    {"rate": 0.1, "noise_shape": 3},
    {"rate": 0.1, "noise_shape": (None, 1.5, None)},
    {"rate": 0.1, "noise_shape": (None, 0, None)},
    {"rate": 0.1, "noise_shape": (-1, 1, None)},
    {"rate": 0.1, "data_format": "nhwc"},
]
# What Keras accepts and we refuse (with a ValueError), on purpose: see the
# README's drop-in contract.
STRICTER = [
    {"rate": 1.0},
    {"rate": 1},
    {"rate": True},
    {"rate": 0.1, "noise_shape": (None, True, None)},
    {"rate": 0.1, "seed": -1},
    {"rate": 0.1, "seed": 2**31},
]


def _takes(cls, kwargs):
    params = inspect.signature(cls.__init__).parameters
    return all(name in params for name in kwargs)


def _error(make):
    try:
        make()
    except Exception as error:  # noqa: BLE001 - what Keras raises is the point
        return error
    return None


@pytest.mark.parametrize("name", ids)
@pytest.mark.parametrize("kwargs", BAD_ARGUMENTS, ids=repr)
def test_bad_arguments_raise_keras_error_type_and_words(name, kwargs):
    theirs, ours = PAIRS[name]
    if not _takes(theirs, kwargs):
        pytest.skip(f"keras.layers.{name} has no such argument")
    keras_error = _error(lambda: theirs(**kwargs))
    if keras_error is None:  # AlphaDropout: Keras does not check noise_shape
        assert isinstance(_error(lambda: ours(**kwargs)), ValueError)
        return
    with pytest.raises(type(keras_error)) as info:
        ours(**kwargs)
    if isinstance(keras_error, ValueError):
        assert isinstance(info.value, ValueError)
        keras_words = str(keras_error).split(" Received")[0]
        assert str(info.value).startswith(keras_words), (str(info.value), keras_words)
    else:  # a TypeError from a comparison: ours is both
        assert isinstance(info.value, (TypeError, ValueError))
        assert isinstance(info.value, ValueError)
        assert "`rate`" in str(info.value)


@pytest.mark.parametrize("name", ids)
@pytest.mark.parametrize("kwargs", STRICTER, ids=repr)
def test_documented_stricter_checks(name, kwargs):
    theirs, ours = PAIRS[name]
    if not _takes(theirs, kwargs):
        pytest.skip(f"keras.layers.{name} has no such argument")
    with pytest.raises(ValueError) as info:
        ours(**kwargs)
    argument = next(k for k in kwargs if k != "rate") if len(kwargs) > 1 else "rate"
    assert f"`{argument}`" in str(info.value)


def test_rate_message_keeps_keras_sentence_then_says_what_we_accept():
    with pytest.raises(ValueError) as info:
        kd.Dropout(1.0)
    message = str(info.value)
    assert message.startswith(
        "Invalid value received for argument `rate`. Expected a float value "
        "between 0 and 1. Received: rate=1.0"
    )
    assert "[0, 1)" in message and "dropping" in message


def test_every_stricter_check_is_in_the_readme():
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    contract = readme.split("### Drop-in replacement", 1)[1].split("\n## ", 1)[0]
    for words in ("rate=1", "seed", "bool"):
        assert words in contract, words


# --- shapes, symbolic calls, build state, config ---------------------------------


@pytest.mark.parametrize("name", ids)
@pytest.mark.parametrize("batch", [2, None])
def test_same_output_shapes_and_symbolic_outputs(name, batch):
    theirs, ours = (cls(0.3) for cls in PAIRS[name])
    shape = (batch,) + SHAPES[name][1:]
    assert ours.compute_output_shape(shape) == theirs.compute_output_shape(shape)
    for training in (None, True, False):
        x = keras.Input(batch_shape=shape)
        mine, reference = ours(x, training=training), theirs(x, training=training)
        assert mine.shape == reference.shape
        assert mine.dtype == reference.dtype
    spec = keras.KerasTensor(shape, dtype="float16")
    assert (
        ours.compute_output_spec(spec).shape == theirs.compute_output_spec(spec).shape
    )


@pytest.mark.parametrize("name", ids)
def test_built_at_instantiation_and_config_values(name):
    theirs, ours = (cls(0.3, seed=5) for cls in PAIRS[name])
    assert ours.built == theirs.built is True
    assert len(ours.weights) == len(theirs.weights) == 0
    keras_config, our_config = theirs.get_config(), ours.get_config()
    for key in set(keras_config) - {"name", "dtype"}:
        mine, reference = our_config[key], keras_config[key]
        if key == "noise_shape" and reference is not None:
            mine, reference = tuple(mine), tuple(reference)
        assert mine == reference, key
    # A Keras config builds our layer (a model file's config, class swapped).
    rebuilt = PAIRS[name][1].from_config(keras_config)
    assert (rebuilt.rate, rebuilt.seed) == (0.3, 5)


@pytest.mark.parametrize("name", ids)
def test_same_inference_and_expected_value_in_a_model(name):
    # Keras-style model code, only the class swapped: inference is the
    # identity for both; in training both give the same mean output.
    x = np.random.default_rng(0).normal(size=(64,) + SHAPES[name][1:]).astype("float32")
    theirs, ours = PAIRS[name]
    outputs = []
    for cls in (theirs, ours):
        inputs = keras.Input(SHAPES[name][1:])
        model = keras.Model(inputs, cls(0.2, seed=3)(inputs))
        outputs.append(model.predict(x, verbose=0))
    np.testing.assert_array_equal(outputs[0], x)
    np.testing.assert_array_equal(outputs[1], x)
    ones = np.ones((4000,) + SHAPES[name][1:], "float32")
    means = [numpy(cls(0.2, seed=3)(ones, training=True)).mean() for cls in PAIRS[name]]
    assert abs(means[0] - means[1]) < 0.05, means


def test_error_messages_match_keras_regexes_used_in_the_wild():
    # The patterns of Keras's own tests, as user code copies them.
    pattern = re.compile(
        r"Invalid value received for argument `rate`\. "
        r"Expected a float value between 0 and 1\."
    )
    for cls in (kd.Dropout, kd.SpatialDropout2D, kd.GaussianDropout, kd.AlphaDropout):
        with pytest.raises(ValueError, match=pattern):
            cls(rate=-0.5)
