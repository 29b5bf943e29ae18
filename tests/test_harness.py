"""The harness: every check on every layer case in `tests/cases.py`."""

import keras
import numpy as np
import pytest

import keras_dropout
from tests.cases import CASES
from tests.harness import BACKEND
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import input_gradient
from tests.harness import numpy

pytestmark = pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)


def _train_outputs(layer, x, calls=1):
    return [numpy(layer(x, training=True)) for _ in range(calls)]


# --- serialization --------------------------------------------------------


def test_get_config_round_trip(case):
    layer = case.make()
    config = layer.get_config()
    clone = case.cls.from_config(config)
    assert clone.get_config() == config
    for key, value in case.kwargs.items():
        if isinstance(value, (bool, int, float, str, tuple, type(None))):
            expected = list(value) if isinstance(value, tuple) else value
            assert config[key] == expected


def test_serialize_round_trip(case):
    layer = case.make()
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is case.cls
    assert restored.get_config() == layer.get_config()


@pytest.mark.compat
def test_keras_file_save_load(case, tmp_path):
    x = case.inputs()
    inputs = keras.Input(case.input_shape[1:])
    hidden = keras.layers.Dense(case.input_shape[-1])(inputs)
    model = keras.Model(inputs, case.make()(hidden))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))
    layer = loaded.layers[-1]
    assert type(layer) is case.cls
    assert layer.rate == pytest.approx(case.rate)


def test_changed_rate_is_saved(case):
    layer = case.make()
    layer.rate = 0.125
    assert case.cls.from_config(layer.get_config()).rate == 0.125


# --- shapes and modes -----------------------------------------------------


def test_symbolic_call_with_none_dims(case):
    shape = case.input_shape[1:]
    # Unknown batch, and unknown time/space dims wherever the rank allows.
    symbolic = tuple(None for _ in shape[:-1]) + shape[-1:]
    inputs = keras.Input(symbolic)
    outputs = case.make()(inputs)
    assert tuple(outputs.shape) == (None,) + symbolic
    model = keras.Model(inputs, outputs)
    x = case.inputs()
    assert numpy(model(x, training=True)).shape == x.shape


def test_inference_behaviour(case):
    layer = case.make()
    x = case.inputs()
    expected = case.inference(layer, x)
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-6)
    np.testing.assert_allclose(numpy(layer(x, training=False)), expected, rtol=1e-6)


def test_training_drops_units(case):
    layer = case.make()
    x = case.inputs()
    out = numpy(layer(x, training=True))
    assert out.dtype == x.dtype
    assert not np.allclose(out, case.inference(layer, x))
    if case.zeros:
        assert np.any(out == 0) and np.any(out != 0)


def test_weights_and_summary_unchanged(case):
    layer = case.make()
    layer(case.inputs())
    assert len(layer.weights) == case.weights
    if case.weights == 0:
        assert layer.count_params() == 0
    # The rate and MC switch are state, like the seed generator's.
    assert any(v is layer.rate_variable for v in layer.non_trainable_variables)


@pytest.mark.compat
@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
@pytest.mark.parametrize("style", ["sequential", "functional"])
def test_fit_step(case, style, mode):
    keras.utils.set_random_seed(0)
    shape = case.input_shape[1:]
    if style == "sequential":
        model = keras.Sequential(
            [
                keras.Input(shape),
                keras.layers.Dense(4),
                case.make(),
                keras.layers.Dense(1),
            ]
        )
    else:
        inputs = keras.Input(shape)
        hidden = case.make()(keras.layers.Dense(4)(inputs))
        model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    x = case.inputs()
    y = np.ones(x.shape[:-1] + (1,), "float32")
    loss, changed = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss)
    assert changed


def test_subclassed_model(case):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(4)
            self.drop = case.make()
            self.out = keras.layers.Dense(1)

        def call(self, x, training=False):
            return self.out(self.drop(self.dense(x), training=training))

    model = Net()
    x = case.inputs()
    model(x)  # build, so that the weights exist before `fit`
    y = np.ones(x.shape[:-1] + (1,), "float32")
    loss, changed = fit_one_step(model, x, y, jit_compile=False, run_eagerly=False)
    assert np.isfinite(loss) and changed
    assert any(v is model.drop.rate_variable for v in model.non_trainable_variables)
    first, second = numpy(model(x)), numpy(model(x))
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "policy", ["float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]
)
def test_dtype_policies(case, policy):
    layer = case.make(dtype=policy)
    compute = keras.DTypePolicy(policy).compute_dtype
    x = case.inputs()
    for out in (layer(x, training=True), layer(x), case.make(dtype=policy, mc=True)(x)):
        assert keras.backend.standardize_dtype(out.dtype) == compute
        values = numpy(keras.ops.cast(out, "float32"))
        assert np.all(np.isfinite(values))
    dropped = numpy(keras.ops.cast(layer(x, training=True), "float32"))
    if case.zeros:
        assert np.any(dropped == 0) and np.any(dropped != 0)


# --- seeds ----------------------------------------------------------------


def test_same_seed_same_masks(case):
    x = case.inputs()
    a = _train_outputs(case.make(), x, calls=3)
    b = _train_outputs(case.make(), x, calls=3)
    for first, second in zip(a, b, strict=True):
        np.testing.assert_array_equal(first, second)


def test_consecutive_calls_differ(case):
    outs = _train_outputs(case.make(), case.inputs(), calls=2)
    assert not np.array_equal(outs[0], outs[1])
    if case.zeros:
        assert not np.array_equal(outs[0] == 0, outs[1] == 0)


def test_different_seeds_differ(case):
    x = case.inputs()
    a = _train_outputs(case.make(seed=1), x)[0]
    b = _train_outputs(case.make(seed=2), x)[0]
    assert not np.array_equal(a, b)


# --- Monte Carlo mode -----------------------------------------------------


def test_mc_flag(case):
    layer = case.make(mc=True)
    x = case.inputs()
    first, second = numpy(layer(x)), numpy(layer(x, training=False))
    assert not np.allclose(first, case.inference(layer, x))
    assert not np.array_equal(first, second)


@pytest.mark.compat
def test_mc_scope_with_compiled_predict(case):
    shape = case.input_shape[1:]
    inputs = keras.Input(shape)
    norm = keras.layers.BatchNormalization()
    hidden = case.make()(norm(keras.layers.Dense(shape[-1])(inputs)))
    model = keras.Model(inputs, hidden)
    x = case.inputs()
    baseline = model.predict(x, verbose=0)  # compiled outside the scope
    moving = [numpy(v).copy() for v in norm.non_trainable_weights]
    with keras_dropout.mc_dropout():
        # Several draws: a layer with few mask entries (a spatial mask over
        # 6 channels) can repeat its mask in two draws by chance.
        draws = [model.predict(x, verbose=0) for _ in range(4)]
        eager = numpy(model(x))
        with keras_dropout.mc_dropout(enabled=False):
            np.testing.assert_allclose(model.predict(x, verbose=0), baseline, rtol=1e-6)
    assert any(not np.array_equal(draws[0], draw) for draw in draws[1:])
    assert not np.allclose(eager, baseline)
    for before, var in zip(moving, norm.non_trainable_weights, strict=True):
        np.testing.assert_array_equal(before, numpy(var))
    np.testing.assert_allclose(model.predict(x, verbose=0), baseline, rtol=1e-6)
    np.testing.assert_allclose(numpy(model(x)), baseline, rtol=1e-5, atol=1e-6)


@pytest.mark.compat
def test_layer_created_inside_scope(case):
    with keras_dropout.mc_dropout():
        layer = case.make()
        x = case.inputs()
        assert not np.allclose(numpy(layer(x)), case.inference(layer, x))
    np.testing.assert_allclose(numpy(layer(x)), case.inference(layer, x), rtol=1e-6)


# --- arguments ------------------------------------------------------------


def test_bad_arguments(case):
    for update, name in case.bad_kwargs:
        with pytest.raises(ValueError, match=f"`{name}`") as info:
            case.make(**update)
        message = str(info.value)
        assert "Expected" in message and "Received" in message, message


def test_rate_setter_validates(case):
    layer = case.make()
    for bad in (1.0, -0.5, float("nan"), "x", True):
        with pytest.raises(ValueError, match="`rate`"):
            layer.rate = bad
    assert layer.rate == pytest.approx(case.rate)


def test_integer_inputs_refused(case):
    x = np.ones(case.input_shape, "int32")
    with pytest.raises(ValueError, match="floating-point"):
        case.make()(x, training=True)


# --- compiled functions ---------------------------------------------------


def test_compiled_call_matches_eager(case):
    """A jitted call draws the same masks as an eager one with the same seed.

    With the portable generator; the default ("auto") draws eager masks with
    the backend's generator instead (tested in test_random.py).
    """
    keras_dropout.config.set_rng("portable")
    x = case.inputs()
    eager = _train_outputs(case.make(), x, calls=2)
    if BACKEND == "jax":
        import jax

        layer = case.make()
        layer.build(x.shape)

        @jax.jit
        def step(trainable, non_trainable, x):
            return layer.stateless_call(trainable, non_trainable, x, training=True)

        trainable = [v.value for v in layer.trainable_variables]
        state = [v.value for v in layer.non_trainable_variables]
        compiled = []
        for _ in range(2):
            out, state = step(trainable, state, x)
            compiled.append(numpy(out))
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        layer = case.make()
        fn = tf.function(lambda x: layer(x, training=True), jit_compile=True)
        compiled = [numpy(fn(x)) for _ in range(2)]
    else:
        pytest.skip("torch has no jit_compile mode for layers; eager is its path")
    for a, b in zip(eager, compiled, strict=True):
        # atol too (see LayerCase.atol): where an output is near 0, the
        # last bits of a fused multiply-add or a reordered sum are a large
        # relative error. Inputs lie in [0.5, 1.5]: 1e-6 is ~8 ulps.
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=case.atol)
    assert not np.array_equal(compiled[0], compiled[1])


def test_gradients(case):
    layer = case.make()
    x = case.inputs()
    out = numpy(case.make()(x, training=True))
    grad = input_gradient(layer, x)
    assert np.all(np.isfinite(grad))
    if case.mask_gradient:
        # Dropped units pass no gradient; kept units pass out/x (their scale).
        np.testing.assert_allclose(grad, out / x, rtol=1e-5, atol=1e-7)
