"""The harness's checks, re-implemented for the sequence layers.

`tests/test_harness.py` feeds floats through `Dense(4)` and calls the layer
on one tensor; `EmbeddingDropout` takes token ids and `ZoneoutCell` is an
RNN cell, so these checks run each case the way it is used (see
`tests/cases_sequence.py`): the embedding wrapper on integer ids, the cell
in `keras.layers.RNN(cell, return_sequences=True)`.
"""

import keras
import numpy as np
import pytest

import keras_dropout
from tests.cases_sequence import CASES
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import numpy

pytestmark = pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)


def _input(case, shape=None):
    shape = case.input_shape[1:] if shape is None else shape
    return keras.Input(shape, dtype=case.input_dtype)


def _train_outputs(layer, x, calls=1):
    return [numpy(layer(x, training=True)) for _ in range(calls)]


def _inference(case, layer, x):
    """The expected inference output, computed without the pack layer."""
    inner = case.inner(layer)
    if case.rnn:
        reference = keras.layers.RNN(_ExpectedZoneout(inner), return_sequences=True)
        return numpy(reference(x))
    return numpy(inner.embedding(x))


class _ExpectedZoneout(keras.layers.Layer):
    """A reference cell: `rate * previous + (1 - rate) * new`, in numpy terms."""

    def __init__(self, zoneout):
        super().__init__()
        self.zoneout = zoneout
        self.state_size = zoneout.state_size
        self.output_size = zoneout.output_size

    def build(self, input_shape):
        self.built = True  # the wrapped cell is already built

    def call(self, inputs, states):
        output, new = self.zoneout.cell(inputs, list(states))
        rate = self.zoneout.rate
        rates = rate if isinstance(rate, list) else [rate] * len(new)
        mixed = [
            r * s + (1.0 - r) * n for r, s, n in zip(rates, states, new, strict=True)
        ]
        return mixed[0], mixed


# --- serialization --------------------------------------------------------


def test_get_config_round_trip(case):
    layer = case.make()
    config = layer.get_config()
    clone = case.cls.from_config(config)
    assert clone.get_config() == config
    rate = case.kwargs["rate"]
    assert config["rate"] == (list(rate) if isinstance(rate, (list, tuple)) else rate)
    assert config["seed"] == case.kwargs["seed"]


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
    inputs = _input(case)
    model = keras.Model(inputs, case.layer()(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-6)
    layer = case.inner(loaded.layers[-1])
    assert type(layer) is case.cls
    assert layer.rate == case.inner(model.layers[-1]).rate


def test_changed_rate_is_saved(case):
    layer = case.make()
    layer.rate = 0.125
    assert case.cls.from_config(layer.get_config()).rate == 0.125


# --- shapes and modes -----------------------------------------------------


def test_symbolic_call_with_none_dims(case):
    shape = case.input_shape[1:]
    symbolic = (None,) * len(shape) if case.ids else (None,) + shape[1:]
    inputs = _input(case, symbolic)
    outputs = case.layer()(inputs)
    assert outputs.shape[:2] == (None, None)
    model = keras.Model(inputs, outputs)
    x = case.inputs()
    assert numpy(model(x, training=True)).shape[:2] == x.shape[:2]


def test_inference_behaviour(case):
    layer = case.layer()
    x = case.inputs()
    expected = _inference(case, layer, x)
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        numpy(layer(x, training=False)), expected, rtol=1e-5, atol=1e-7
    )


def test_training_is_random(case):
    layer = case.layer()
    x = case.inputs()
    out = numpy(layer(x, training=True))
    assert out.dtype == np.float32
    assert not np.allclose(out, _inference(case, layer, x))


def test_weights_and_summary(case):
    layer = case.make()
    wrapper = keras.layers.RNN(layer) if case.rnn else layer
    wrapper(case.inputs())
    assert len(layer.weights) == case.weights
    assert any(v is layer.rate_variable for v in layer.non_trainable_variables)
    assert all(w is not layer.rate_variable for w in layer.weights)


@pytest.mark.compat
@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
@pytest.mark.parametrize("style", ["sequential", "functional"])
def test_fit_step(case, style, mode):
    keras.utils.set_random_seed(0)
    head = [keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)]
    if style == "sequential":
        model = keras.Sequential([_input(case), case.layer(), *head])
    else:
        inputs = _input(case)
        hidden = case.layer()(inputs)
        for layer in head:
            hidden = layer(hidden)
        model = keras.Model(inputs, hidden)
    x = case.inputs()
    y = np.ones((len(x), 1), "float32")
    loss, changed = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss) and changed


@pytest.mark.parametrize(
    "policy", ["float16", "bfloat16", "mixed_float16", "mixed_bfloat16"]
)
def test_dtype_policies(case, policy):
    compute = keras.DTypePolicy(policy).compute_dtype
    x = case.inputs()
    layer = case.layer(dtype=policy)
    mc = case.layer(dtype=policy, mc=True)
    for out in (layer(x, training=True), layer(x), mc(x)):
        assert keras.backend.standardize_dtype(out.dtype) == compute
        assert np.all(np.isfinite(numpy(keras.ops.cast(out, "float32"))))


# --- seeds ----------------------------------------------------------------


def test_same_seed_same_outputs(case):
    x = case.inputs()
    a = _train_outputs(case.layer(), x, calls=3)
    b = _train_outputs(case.layer(), x, calls=3)
    for first, second in zip(a, b, strict=True):
        np.testing.assert_array_equal(first, second)


def test_consecutive_calls_differ(case):
    outs = _train_outputs(case.layer(), case.inputs(), calls=2)
    assert not np.array_equal(outs[0], outs[1])


def test_different_seeds_differ(case):
    x = case.inputs()
    a = _train_outputs(case.layer(seed=1), x)[0]
    b = _train_outputs(case.layer(seed=2), x)[0]
    assert not np.array_equal(a, b)


# --- Monte Carlo mode -----------------------------------------------------


def test_mc_flag(case):
    layer = case.layer(mc=True)
    x = case.inputs()
    first, second = numpy(layer(x)), numpy(layer(x, training=False))
    assert not np.allclose(first, _inference(case, layer, x))
    assert not np.array_equal(first, second)


@pytest.mark.compat
def test_mc_scope_with_compiled_predict(case):
    inputs = _input(case)
    layer = case.layer()
    model = keras.Model(inputs, layer(inputs))
    x = case.inputs()
    baseline = model.predict(x, verbose=0)  # compiled outside the scope
    with keras_dropout.mc_dropout():
        first = model.predict(x, verbose=0)
        second = model.predict(x, verbose=0)
        eager = numpy(model(x))
        with keras_dropout.mc_dropout(enabled=False):
            np.testing.assert_allclose(model.predict(x, verbose=0), baseline, rtol=1e-6)
    assert not np.array_equal(first, second)
    assert not np.allclose(eager, baseline)
    np.testing.assert_allclose(model.predict(x, verbose=0), baseline, rtol=1e-6)
    np.testing.assert_allclose(numpy(model(x)), baseline, rtol=1e-5, atol=1e-6)


@pytest.mark.compat
def test_layer_created_inside_scope(case):
    x = case.inputs()
    with keras_dropout.mc_dropout():
        layer = case.layer()
        assert not np.allclose(numpy(layer(x)), _inference(case, layer, x))
    np.testing.assert_allclose(
        numpy(layer(x)), _inference(case, layer, x), rtol=1e-5, atol=1e-7
    )


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
    assert layer.rate == case.kwargs["rate"] or layer.rate == list(case.kwargs["rate"])


# --- gradients ------------------------------------------------------------


def test_gradients_reach_the_weights(case):
    layer = case.layer()
    x = case.inputs()
    layer(x)
    inner = case.inner(layer)
    wrapped = inner.embedding if case.ids else inner.cell
    grads = _gradients(lambda: keras.ops.sum(layer(x, training=True)), wrapped)
    assert len(grads) == case.weights
    for grad in grads:
        assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def _gradients(loss_fn, layer):
    """d loss / d each trainable weight of `layer`, as numpy arrays."""
    backend = keras.backend.backend()
    weights = layer.trainable_weights
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        return [numpy(g) for g in tape.gradient(loss, [w.value for w in weights])]
    if backend == "torch":
        loss = loss_fn()
        loss.backward()
        return [w.value.grad.detach().cpu().numpy() for w in weights]
    import jax

    def stateless_loss(values):
        mapping = list(zip(weights, values, strict=True))
        with keras.StatelessScope(state_mapping=mapping):
            return loss_fn()

    return [np.asarray(g) for g in jax.grad(stateless_loss)([w.value for w in weights])]
