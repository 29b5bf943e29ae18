"""DropPath, StochasticDepth, `drop_path` and `drop_path_rates`.

The harness passes one tensor, so it cannot drive `StochasticDepth`
(called on `[shortcut, residual]`); the harness checks that apply to it are
re-implemented here with two inputs.
"""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.functional import drop_path
from keras_dropout.layers.droppath import DropPath
from keras_dropout.layers.droppath import StochasticDepth
from keras_dropout.layers.droppath import drop_path_rates
from tests.cases import BAD_RATES
from tests.harness import BACKEND
from tests.harness import assert_binomial
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import numpy

# --- drop_path / DropPath -------------------------------------------------


@pytest.mark.parametrize("shape", [(400,), (400, 3), (400, 2, 3, 2)])
def test_drop_path_is_per_sample(shape):
    rate = 0.3
    x = np.random.default_rng(0).uniform(0.5, 1.5, shape).astype("float32")
    out = numpy(drop_path(x, rate, seed=1))
    flat_out, flat_x = out.reshape(len(x), -1), x.reshape(len(x), -1)
    dropped = np.all(flat_out == 0, axis=1)
    kept = np.all(np.isclose(flat_out, flat_x / (1 - rate), rtol=1e-6), axis=1)
    assert np.all(dropped ^ kept)
    assert_binomial(dropped.sum(), len(x), rate)


def test_drop_path_rate_zero_is_the_identity():
    x = np.ones((4, 3), "float32")
    np.testing.assert_array_equal(numpy(drop_path(x, 0.0, seed=0)), x)


def test_drop_path_layer_residual_usage():
    inputs = keras.Input((None, 8))
    branch = keras.layers.Dense(8)(inputs)
    outputs = keras.layers.Add()([inputs, DropPath(0.5, seed=2)(branch)])
    model = keras.Model(inputs, outputs)
    x = np.ones((16, 5, 8), "float32")
    np.testing.assert_allclose(
        numpy(model(x)), x + numpy(model.layers[1](x)), rtol=1e-6
    )
    train = numpy(model(x, training=True))
    skipped = np.all(train == x, axis=(1, 2))
    assert skipped.any() and not skipped.all()


# --- drop_path_rates ------------------------------------------------------


def test_drop_path_rates_values():
    assert drop_path_rates(0.2, 5) == [0.0, 0.05, 0.1, 0.15, 0.2]
    assert drop_path_rates(0.1, 2) == [0.0, 0.1]
    assert drop_path_rates(0.1, 1) == [0.0]  # as timm's linspace(0, r, 1)
    assert drop_path_rates(0.0, 3) == [0.0, 0.0, 0.0]
    assert drop_path_rates(0.3, [1, 2, 1]) == [[0.0], [0.1, 0.2], [0.3]]
    assert drop_path_rates(0.3, (4,)) == [[0.0, 0.1, 0.2, 0.3]]


def test_drop_path_rates_match_linspace():
    # ConvNeXt-T: depths (3, 3, 9, 3), drop_path_rate 0.1.
    rates = drop_path_rates(0.1, [3, 3, 9, 3])
    assert [len(stage) for stage in rates] == [3, 3, 9, 3]
    flat = [r for stage in rates for r in stage]
    np.testing.assert_allclose(flat, np.linspace(0, 0.1, 18), rtol=1e-10, atol=0)
    assert flat[0] == 0.0 and flat[-1] == 0.1
    assert flat == drop_path_rates(0.1, 18)
    np.testing.assert_allclose(
        drop_path_rates(0.5, 12),
        np.linspace(0, 0.5, 12, dtype="float32"),  # timm's float32 values
        rtol=1e-7,
    )


@pytest.mark.parametrize(
    "max_rate, depth, name",
    [
        (1.0, 4, "max_rate"),
        (-0.1, 4, "max_rate"),
        ("0.1", 4, "max_rate"),
        (float("nan"), 4, "max_rate"),
        (0.1, 0, "depth"),
        (0.1, -2, "depth"),
        (0.1, 2.0, "depth"),
        (0.1, True, "depth"),
        (0.1, None, "depth"),
        (0.1, [], "depth"),
        (0.1, [2, 0], "depth"),
        (0.1, [2, 1.5], "depth"),
        (0.1, "4", "depth"),
    ],
)
def test_drop_path_rates_bad_arguments(max_rate, depth, name):
    with pytest.raises(ValueError, match=f"`{name}`") as info:
        drop_path_rates(max_rate, depth)
    assert "Expected" in str(info.value) and "Received" in str(info.value)


# --- StochasticDepth: the harness checks, with two inputs -----------------

MODES = ["row", "batch"]
SHAPE = (8, 5, 6)


def _pair(seed=0, shape=SHAPE, dtype="float32"):
    rng = np.random.default_rng(seed)
    shortcut = rng.uniform(0.5, 1.5, shape).astype(dtype)
    residual = rng.uniform(0.5, 1.5, shape).astype(dtype)
    return shortcut, residual


def _expected_inference(layer, shortcut, residual):
    if layer.mode == "row":
        return shortcut + residual
    return shortcut + (1 - layer.rate) * residual


def _residual_part(out, shortcut):
    return out - shortcut


def _make(mode, **overrides):
    kwargs = {"rate": 0.5, "mode": mode, "seed": 7, **overrides}
    return StochasticDepth(**kwargs)


def _train(layer, pair, calls=1):
    return [numpy(layer(list(pair), training=True)) for _ in range(calls)]


@pytest.mark.parametrize("mode", MODES)
def test_sd_get_config_and_serialize_round_trip(mode):
    layer = _make(mode)
    config = layer.get_config()
    assert config["mode"] == mode and config["rate"] == 0.5 and config["seed"] == 7
    assert StochasticDepth.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is StochasticDepth
    assert restored.get_config() == config
    layer.rate = 0.125
    assert StochasticDepth.from_config(layer.get_config()).rate == 0.125


@pytest.mark.compat
@pytest.mark.parametrize("mode", MODES)
def test_sd_keras_file_save_load(mode, tmp_path):
    inputs = keras.Input(SHAPE[1:])
    residual = keras.layers.Dense(SHAPE[-1])(inputs)
    model = keras.Model(inputs, _make(mode)([inputs, residual]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = _pair()[0]
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))
    assert type(loaded.layers[-1]) is StochasticDepth
    assert loaded.layers[-1].mode == mode


@pytest.mark.parametrize("mode", MODES)
def test_sd_symbolic_call_with_none_dims(mode):
    a, b = keras.Input((None, 6)), keras.Input((None, 6))
    outputs = _make(mode)([a, b])
    assert tuple(outputs.shape) == (None, None, 6)
    model = keras.Model([a, b], outputs)
    shortcut, residual = _pair()
    assert numpy(model([shortcut, residual], training=True)).shape == SHAPE


@pytest.mark.parametrize("mode", MODES)
def test_sd_inference(mode):
    layer = _make(mode)
    shortcut, residual = _pair()
    expected = _expected_inference(layer, shortcut, residual)
    np.testing.assert_allclose(numpy(layer([shortcut, residual])), expected, rtol=1e-6)
    out = numpy(layer((shortcut, residual), training=False))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_sd_row_training_is_per_sample_and_scaled():
    layer = _make("row", rate=0.25)
    shortcut, residual = _pair(shape=(400, 3))
    part = _residual_part(_train(layer, (shortcut, residual))[0], shortcut)
    dropped = np.all(np.abs(part) < 1e-6, axis=1)
    kept = np.all(np.isclose(part, residual / 0.75, rtol=1e-5), axis=1)
    assert np.all(dropped ^ kept)
    assert_binomial(dropped.sum(), 400, 0.25)


def test_sd_batch_training_is_one_draw_unscaled():
    layer = _make("batch", rate=0.5)
    shortcut, residual = _pair()
    outcomes = set()
    for out in _train(layer, (shortcut, residual), calls=12):
        if np.allclose(out, shortcut, rtol=1e-6):
            outcomes.add("dropped")
        else:
            np.testing.assert_allclose(out, shortcut + residual, rtol=1e-6)
            outcomes.add("kept")
    assert outcomes == {"dropped", "kept"}
    fraction = np.mean(
        [
            np.allclose(out, shortcut)
            for out in _train(_make("batch", rate=0.3), (shortcut, residual), 400)
        ]
    )
    assert_binomial(fraction * 400, 400, 0.3)


@pytest.mark.parametrize("mode", MODES)
def test_sd_weights_and_state(mode):
    layer = _make(mode)
    layer(list(_pair()))
    assert layer.weights == [] and layer.count_params() == 0
    assert any(v is layer.rate_variable for v in layer.non_trainable_variables)


@pytest.mark.compat
@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
@pytest.mark.parametrize("sd_mode", MODES)
def test_sd_fit_step(sd_mode, mode):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(SHAPE[1:])
    hidden = keras.layers.Dense(4)(inputs)
    residual = keras.layers.Dense(4)(hidden)
    out = _make(sd_mode)([hidden, residual])
    model = keras.Model(inputs, keras.layers.Dense(1)(out))
    x = _pair()[0]
    y = np.ones(x.shape[:-1] + (1,), "float32")
    loss, changed = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss) and changed


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("policy", ["float16", "bfloat16", "mixed_float16"])
def test_sd_dtype_policies(mode, policy):
    compute = keras.DTypePolicy(policy).compute_dtype
    pair = list(_pair())
    layer = _make(mode, dtype=policy)
    for out in (
        layer(pair, training=True),
        layer(pair),
        _make(mode, dtype=policy, mc=True)(pair),
    ):
        assert keras.backend.standardize_dtype(out.dtype) == compute
        assert np.all(np.isfinite(numpy(keras.ops.cast(out, "float32"))))


@pytest.mark.parametrize("mode", MODES)
def test_sd_seeds(mode):
    pair = _pair()
    a = _train(_make(mode), pair, calls=6)
    b = _train(_make(mode), pair, calls=6)
    for first, second in zip(a, b, strict=True):
        np.testing.assert_array_equal(first, second)
    assert any(not np.array_equal(a[0], other) for other in a[1:])
    c = _train(_make(mode, seed=8), pair, calls=6)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("mode", MODES)
def test_sd_mc_flag_and_scope(mode):
    pair = list(_pair())
    layer = _make(mode, mc=True)
    expected = _expected_inference(layer, *pair)
    outs = [numpy(layer(pair)) for _ in range(6)]
    assert any(not np.allclose(o, expected) for o in outs)
    plain = _make(mode)
    with keras_dropout.mc_dropout():
        outs = [numpy(plain(pair)) for _ in range(6)]
        inside = _make(mode)
        assert any(not np.allclose(numpy(inside(pair)), expected) for _ in range(6))
    assert any(not np.allclose(o, expected) for o in outs)
    np.testing.assert_allclose(numpy(plain(pair)), expected, rtol=1e-6)
    np.testing.assert_allclose(numpy(inside(pair)), expected, rtol=1e-6)


@pytest.mark.compat
@pytest.mark.parametrize("mode", MODES)
def test_sd_mc_scope_with_compiled_predict(mode):
    inputs = keras.Input(SHAPE[1:])
    residual = keras.layers.Dense(SHAPE[-1])(inputs)
    model = keras.Model(inputs, _make(mode)([inputs, residual]))
    x = _pair()[0]
    baseline = model.predict(x, verbose=0)
    with keras_dropout.mc_dropout():
        samples = [model.predict(x, verbose=0) for _ in range(6)]
    assert any(not np.allclose(s, baseline) for s in samples)
    np.testing.assert_allclose(model.predict(x, verbose=0), baseline, rtol=1e-6)


def test_sd_bad_arguments():
    for update, name in BAD_RATES + [
        ({"mode": "bogus"}, "mode"),
        ({"mode": 1}, "mode"),
    ]:
        with pytest.raises(ValueError, match=f"`{name}`") as info:
            StochasticDepth(**{"rate": 0.5, "seed": 7, **update})
        assert "Expected" in str(info.value) and "Received" in str(info.value)
    layer = _make("row")
    for bad in (1.0, -0.5, float("nan"), "x", True):
        with pytest.raises(ValueError, match="`rate`"):
            layer.rate = bad


@pytest.mark.parametrize(
    "inputs",
    [
        "single",
        "three",
        "one_in_list",
        "shapes",
    ],
)
def test_sd_bad_inputs(inputs):
    a, b = _pair()
    value = {
        "single": a,
        "three": [a, b, b],
        "one_in_list": [a],
        "shapes": [a, b[:, :3]],
    }[inputs]
    with pytest.raises(ValueError, match="`inputs`") as info:
        _make("row")(value, training=True)
    assert "Expected" in str(info.value) and "Received" in str(info.value)


def test_sd_bad_symbolic_shapes():
    with pytest.raises(ValueError, match="`inputs`"):
        _make("row")([keras.Input((4,)), keras.Input((5,))])


def test_sd_integer_inputs_refused():
    a = np.ones(SHAPE, "int32")
    with pytest.raises(ValueError, match="floating-point"):
        _make("row")([a, a], training=True)


@pytest.mark.parametrize("mode", MODES)
def test_sd_compiled_call_matches_eager(mode):
    keras_dropout.config.set_rng("portable")  # "auto" is native when eager
    pair = list(_pair())
    eager = _train(_make(mode), pair, calls=4)
    if BACKEND == "jax":
        import jax

        layer = _make(mode)
        layer.build([p.shape for p in pair])

        @jax.jit
        def step(trainable, non_trainable, pair):
            return layer.stateless_call(trainable, non_trainable, pair, training=True)

        trainable = [v.value for v in layer.trainable_variables]
        state = [v.value for v in layer.non_trainable_variables]
        compiled = []
        for _ in range(4):
            out, state = step(trainable, state, pair)
            compiled.append(numpy(out))
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        layer = _make(mode)
        fn = tf.function(lambda a, b: layer([a, b], training=True), jit_compile=True)
        compiled = [numpy(fn(*pair)) for _ in range(4)]
    else:
        pytest.skip("torch has no jit_compile mode for layers; eager is its path")
    for a, b in zip(eager, compiled, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_sd_gradients(mode):
    shortcut, residual = _pair()
    out = _train(_make(mode), (shortcut, residual))[0]
    scale = (out - shortcut) / residual  # 0, or the residual's factor
    g_short, g_res = _gradients(_make(mode), shortcut, residual)
    np.testing.assert_allclose(g_short, np.ones_like(shortcut), rtol=1e-6)
    np.testing.assert_allclose(g_res, scale, rtol=1e-4, atol=1e-5)


def _gradients(layer, a, b):
    if BACKEND == "tensorflow":
        import tensorflow as tf

        a, b = tf.constant(a), tf.constant(b)
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            total = tf.reduce_sum(layer([a, b], training=True))
        return [g.numpy() for g in tape.gradient(total, [a, b])]
    if BACKEND == "jax":
        import jax

        layer.build([a.shape, b.shape])
        weights = [v.value for v in layer.trainable_variables]
        state = [v.value for v in layer.non_trainable_variables]

        def total(a, b):
            out, _ = layer.stateless_call(weights, state, [a, b], training=True)
            return out.sum()

        return [np.asarray(g) for g in jax.grad(total, argnums=(0, 1))(a, b)]
    import torch

    a = torch.tensor(a, requires_grad=True)
    b = torch.tensor(b, requires_grad=True)
    layer([a, b], training=True).sum().backward()
    return [a.grad.numpy(), b.grad.numpy()]
