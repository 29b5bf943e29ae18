"""`DropConnect` and `DropConnectDense`: what they compute, measured.

Most checks read the masked weights back from the outputs with one-hot
probes: a bias-free linear layer applied to the rows of an identity matrix
returns its (masked) kernel, row by row.
"""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.layers.dropconnect import DropConnect
from keras_dropout.layers.dropconnect import DropConnectDense
from tests.harness import BACKEND
from tests.harness import assert_binomial
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import numpy


def _init(seed):
    return keras.initializers.GlorotUniform(seed=seed)


def _probe(kernel_shape):
    """One-hot inputs covering a kernel's input positions (all but the last
    axis): a bias-free linear layer maps them to the kernel's rows."""
    *window, _ = kernel_shape
    size = int(np.prod(window))
    return np.eye(size, dtype="float32").reshape((size, *window))


# Each maker returns a fresh bias-free layer whose single-window output on
# `_probe(kernel.shape)` is its kernel, flattened to (rows, units).
LINEAR_LAYERS = {
    "Dense": lambda: keras.layers.Dense(5, use_bias=False, kernel_initializer=_init(0)),
    "EinsumDense": lambda: keras.layers.EinsumDense(
        "ab,bc->ac", output_shape=5, kernel_initializer=_init(0)
    ),
    "Conv1D": lambda: keras.layers.Conv1D(
        5, 3, use_bias=False, kernel_initializer=_init(0)
    ),
    "Conv2D": lambda: keras.layers.Conv2D(
        5, (2, 3), use_bias=False, kernel_initializer=_init(0)
    ),
    "Conv3D": lambda: keras.layers.Conv3D(
        4, 2, use_bias=False, kernel_initializer=_init(0)
    ),
}
KERNEL_SHAPES = {
    "Dense": (6, 5),
    "EinsumDense": (6, 5),
    "Conv1D": (3, 4, 5),
    "Conv2D": (2, 3, 3, 5),
    "Conv3D": (2, 2, 2, 2, 4),
}


def _masked_kernel(layer, kernel_shape):
    """The kernel the wrapped layer used in one training call."""
    out = numpy(layer(_probe(kernel_shape), training=True))
    return out.reshape(kernel_shape)


@pytest.mark.parametrize("name", list(LINEAR_LAYERS))
def test_training_applies_the_masked_kernel(name):
    kernel_shape = KERNEL_SHAPES[name]
    rate = 0.4
    probe_layer = DropConnect(LINEAR_LAYERS[name](), rate, seed=3)
    masked = _masked_kernel(probe_layer, kernel_shape)
    kernel = numpy(probe_layer.layer.kernel)
    dropped = masked == 0
    assert dropped.any() and (~dropped).any()
    # Kept weights are scaled by 1 / (1 - rate) (to the last bit, up to
    # XLA computing the division as a product with the reciprocal).
    np.testing.assert_allclose(
        masked[~dropped], kernel[~dropped] / np.float32(1.0 - rate), rtol=1e-6
    )
    # A twin (same seed, same initial kernel) on other inputs computes the
    # plain layer with that masked kernel.
    twin = DropConnect(LINEAR_LAYERS[name](), rate, seed=3)
    rng = np.random.default_rng(0)
    if name.startswith("Conv"):  # several windows per sample
        spatial = tuple(size + 3 for size in kernel_shape[:-2])
        x = rng.normal(size=(3, *spatial, kernel_shape[-2]))
    else:
        x = rng.normal(size=(3, kernel_shape[0]))
    x = x.astype("float32")
    plain = LINEAR_LAYERS[name]()
    plain.build(x.shape)
    plain.kernel.assign(masked)
    np.testing.assert_allclose(
        numpy(twin(x, training=True)), numpy(plain(x)), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", list(LINEAR_LAYERS))
def test_inference_is_the_wrapped_layer(name):
    layer = DropConnect(LINEAR_LAYERS[name](), 0.5, seed=1)
    kernel_shape = KERNEL_SHAPES[name]
    x = _probe(kernel_shape)
    expected = numpy(layer.layer(x))
    np.testing.assert_array_equal(numpy(layer(x)), expected)
    np.testing.assert_array_equal(numpy(layer(x, training=False)), expected)
    np.testing.assert_allclose(
        expected.reshape(kernel_shape), numpy(layer.layer.kernel), rtol=1e-6
    )


@pytest.mark.parametrize("rng", ["portable", "native"])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_drop_fraction_and_bias_untouched(rng, rate):
    keras_dropout.config.set_rng(rng)
    dense = keras.layers.Dense(
        96, kernel_initializer=_init(1), bias_initializer="random_uniform"
    )
    layer = DropConnect(dense, rate, seed=5)
    x = np.eye(128, dtype="float32")
    out = numpy(layer(x, training=True))
    bias = numpy(dense.bias)
    masked = out - bias  # a dropped weight gives exactly 0
    dropped = masked == 0
    assert_binomial(int(dropped.sum()), dropped.size, rate)
    kernel = numpy(dense.kernel)
    np.testing.assert_allclose(
        masked[~dropped], (kernel / np.float32(1 - rate))[~dropped], atol=1e-6
    )


def test_masks_change_between_calls_and_follow_the_rate_variable():
    layer = DropConnect(keras.layers.Dense(32, use_bias=False), 0.5, seed=2)
    x = np.eye(32, dtype="float32")
    first = numpy(layer(x, training=True)) == 0
    second = numpy(layer(x, training=True)) == 0
    assert not np.array_equal(first, second)
    layer.rate = 0.0
    np.testing.assert_array_equal(
        numpy(layer(x, training=True)), numpy(layer.layer.kernel)
    )


def test_variational_drops_whole_rows():
    rate = 0.3
    dense = keras.layers.Dense(7, use_bias=False, kernel_initializer=_init(2))
    layer = DropConnect(dense, rate, variational=True, seed=4)
    x = np.eye(400, dtype="float32")
    masked = numpy(layer(x, training=True))
    rows = masked == 0
    whole = rows.all(axis=1)
    np.testing.assert_array_equal(rows, np.broadcast_to(whole[:, None], rows.shape))
    assert_binomial(int(whole.sum()), len(whole), rate)
    kernel = numpy(dense.kernel)
    np.testing.assert_allclose(
        masked[~whole], kernel[~whole] / np.float32(1 - rate), rtol=1e-6
    )


def test_variational_embedding_drops_whole_words():
    embedding = keras.layers.Embedding(50, 4, embeddings_initializer=_init(3))
    layer = DropConnect(
        embedding, 0.5, weights=("embeddings",), variational=True, seed=6
    )
    tokens = np.array([[1, 2, 3, 1], [3, 2, 1, 4]], "int32")
    out = numpy(layer(tokens, training=True))
    table = numpy(embedding.embeddings)
    zero = (out == 0).all(axis=-1)
    for word in (1, 2, 3, 4):
        at = tokens == word
        # One decision per word, shared by all its occurrences in the call.
        assert zero[at].all() or not zero[at].any()
        if not zero[at].any():
            np.testing.assert_allclose(
                out[at], np.broadcast_to(table[word] * 2, out[at].shape)
            )
    np.testing.assert_array_equal(numpy(layer(tokens)), table[tokens])


def _simple_rnn(units):
    return keras.layers.SimpleRNN(
        units,
        activation="linear",
        use_bias=False,
        return_sequences=True,
        kernel_initializer="identity",
        recurrent_initializer=keras.initializers.Orthogonal(seed=0),
    )


def test_recurrent_kernel_mask_is_constant_over_timesteps():
    """A linear RNN with identity input kernel, fed one-hot inputs at t=0:
    h_1 = e_i, h_2 = row i of the masked recurrent kernel U', and then
    h_{t+1} = h_t U' with the *same* U' at every step."""
    units, steps, rate = 12, 5, 0.4
    rnn = _simple_rnn(units)
    layer = DropConnect(rnn, rate, weights=("recurrent_kernel",), seed=9)
    x = np.zeros((units, steps, units), "float32")
    x[:, 0, :] = np.eye(units)
    out = numpy(layer(x, training=True))
    np.testing.assert_array_equal(out[:, 0], np.eye(units))  # kernel untouched
    masked = out[:, 1]
    recurrent = numpy(rnn.cell.recurrent_kernel)
    dropped = masked == 0
    assert dropped.any() and (~dropped).any()
    np.testing.assert_allclose(
        masked[~dropped], recurrent[~dropped] / (1 - rate), rtol=1e-6
    )
    for t in range(2, steps):
        np.testing.assert_allclose(out[:, t], out[:, t - 1] @ masked, atol=1e-5)
    # Full weights at inference.
    np.testing.assert_allclose(numpy(layer(x))[:, 1], recurrent, rtol=1e-6)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_weight_drop_on_gated_rnns(cls):
    rnn = getattr(keras.layers, cls)(6, return_sequences=True)
    layer = DropConnect(rnn, 0.5, weights=("recurrent_kernel",), seed=1)
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    train = numpy(layer(x, training=True))
    np.testing.assert_allclose(numpy(layer(x)), numpy(rnn(x)), rtol=1e-6)
    assert train.shape == (2, 7, 6) and not np.allclose(train, numpy(rnn(x)))
    assert len(layer.weights) == len(rnn.weights) == 3


def _kernel_gradient(layer, x):
    """(output, d sum(output) / d kernel) for one training call."""
    layer.build(x.shape)
    kernel = layer.layer.kernel
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = layer(x, training=True)
            total = tf.reduce_sum(out)
        return numpy(out), numpy(tape.gradient(total, kernel.value))
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        state = [v.value for v in layer.non_trainable_variables]
        index = [i for i, v in enumerate(layer.trainable_variables) if v is kernel]

        def total(trainable):
            out, _ = layer.stateless_call(trainable, state, x, training=True)
            return out.sum(), out

        (_, out), grads = jax.value_and_grad(total, has_aux=True)(trainable)
        return numpy(out), numpy(grads[index[0]])
    out = layer(x, training=True)
    out.sum().backward()
    return numpy(out), kernel.value.grad.numpy()


def test_gradients_reach_kept_weights_only():
    rate = 0.5
    dense = keras.layers.Dense(8, use_bias=False, kernel_initializer=_init(4))
    layer = DropConnect(dense, rate, seed=7)
    out, grad = _kernel_gradient(layer, np.eye(10, dtype="float32"))
    kept = out != 0  # `out` is the masked kernel
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(grad, kept / np.float32(1 - rate), rtol=1e-6)


def _fit_model(name):
    if name == "Dense":
        inputs = keras.Input((6,))
        wrapped = DropConnect(keras.layers.Dense(8), 0.5, seed=1)
        hidden = wrapped(inputs)
    elif name == "Conv2D":
        inputs = keras.Input((6, 6, 2))
        wrapped = DropConnect(keras.layers.Conv2D(4, 3), 0.5, seed=1)
        hidden = keras.layers.Flatten()(wrapped(inputs))
    else:
        inputs = keras.Input((5, 3))
        # The LSTM's own dropout too: its seed state must be written back.
        lstm = keras.layers.LSTM(4, dropout=0.2)
        wrapped = DropConnect(lstm, 0.5, weights=("recurrent_kernel",), seed=1)
        hidden = wrapped(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    return model, wrapped


def _lstm_seed_advances():
    lstm = keras.layers.LSTM(2, dropout=0.5)
    x = np.ones((1, 2, 2), "float32")
    lstm(x, training=True)
    before = numpy(lstm.cell.seed_generator.state).copy()
    lstm(x, training=True)
    return not np.array_equal(before, numpy(lstm.cell.seed_generator.state))


@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
@pytest.mark.parametrize("name", ["Dense", "Conv2D", "LSTM"])
def test_fit(name, mode):
    keras.utils.set_random_seed(0)
    model, wrapped = _fit_model(name)
    x = np.random.default_rng(0).normal(size=(8, *model.input_shape[1:]))
    x = x.astype("float32")
    y = np.ones((8, 1), "float32")
    before = [numpy(w).copy() for w in wrapped.layer.weights]
    states = [numpy(v).copy() for v in wrapped.layer.non_trainable_variables]
    loss, _ = fit_one_step(model, x, y, *mode)
    assert np.isfinite(loss)
    # Every weight of the wrapped layer trained, dropped or not.
    for old, new in zip(before, wrapped.layer.weights, strict=True):
        assert not np.array_equal(old, numpy(new)), new.path
    # The wrapped layer's own state (the LSTM's dropout seed) moved on, as
    # it does without the wrapper (on torch, Keras's seed stays put).
    if states and _lstm_seed_advances():
        for old, new in zip(states, wrapped.layer.non_trainable_variables, strict=True):
            assert not np.array_equal(old, numpy(new)), new.path
    np.testing.assert_allclose(
        numpy(model(x)), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_wrapped_state_updates_and_losses_are_kept():
    norm = keras.layers.BatchNormalization(activity_regularizer="l2")
    layer = DropConnect(norm, 0.5, weights=("gamma",), seed=2)
    x = np.random.default_rng(1).normal(3.0, 1.0, (16, 4)).astype("float32")
    layer(x, training=True)
    assert not np.allclose(numpy(norm.moving_mean), 0.0)
    assert len(layer.losses) == 1
    assert np.isfinite(numpy(layer.losses[0]))
    moving = numpy(norm.moving_mean).copy()
    layer(x)  # inference: no update
    np.testing.assert_array_equal(numpy(norm.moving_mean), moving)


def test_mc_mode_drops_weights_at_inference():
    layer = DropConnect(keras.layers.Dense(16, use_bias=False), 0.5, seed=3, mc=True)
    x = np.eye(8, dtype="float32")
    first, second = numpy(layer(x)), numpy(layer(x))
    assert (first == 0).any() and not np.array_equal(first, second)
    plain = DropConnect(keras.layers.Dense(16), 0.5, seed=3)
    with keras_dropout.mc_dropout():
        assert not np.allclose(numpy(plain(x)), numpy(plain.layer(x)))
    np.testing.assert_array_equal(numpy(plain(x)), numpy(plain.layer(x)))


def test_unknown_weight_name_lists_the_available_ones():
    layer = DropConnect(keras.layers.LSTM(3), 0.2, weights=("recurrent",))
    with pytest.raises(ValueError, match="`weights`") as info:
        layer(np.ones((1, 2, 3), "float32"))
    message = str(info.value)
    for name in ("kernel", "recurrent_kernel", "bias", "Received: weights="):
        assert name in message


def test_weights_match_names_and_paths():
    lstm = keras.layers.LSTM(3)
    layer = DropConnect(lstm, 0.2, weights=("lstm_cell/recurrent_kernel", "bias"))
    layer.build((None, 2, 3))
    assert [v.name for v in layer._targets()] == ["recurrent_kernel", "bias"]


def test_integer_inputs_refused_by_a_dense_wrapper():
    layer = DropConnect(keras.layers.Dense(3), 0.2)
    with pytest.raises(ValueError, match="floating-point"):
        layer(np.ones((2, 3), "int32"), training=True)


def test_no_weights_of_its_own():
    dense = keras.layers.Dense(4)
    model = keras.Sequential([keras.Input((3,)), DropConnect(dense, 0.3)])
    reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    assert model.count_params() == reference.count_params() == 16
    assert len(model.weights) == 2
    assert model.layers[0].weights == dense.weights


def test_dropconnect_dense_equals_wrapping_dense():
    short = DropConnectDense(5, 0.4, seed=8, kernel_initializer=_init(5))
    long = DropConnect(keras.layers.Dense(5, kernel_initializer=_init(5)), 0.4, seed=8)
    x = np.random.default_rng(2).normal(size=(3, 6)).astype("float32")
    np.testing.assert_array_equal(
        numpy(short(x, training=True)), numpy(long(x, training=True))
    )
    config = short.get_config()
    assert "layer" not in config and config["units"] == 5
    assert config["kernel_initializer"]["config"]["seed"] == 5
    clone = DropConnectDense.from_config(config)
    assert clone.get_config() == config


def test_dropconnect_dense_dtype_reaches_the_dense():
    layer = DropConnectDense(4, 0.2, dtype="mixed_float16")
    out = layer(np.ones((2, 3), "float32"), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert layer.layer.dtype_policy.name == "mixed_float16"


def test_output_shape_is_the_wrapped_layers():
    inputs = keras.Input((None, 3))
    layer = DropConnect(keras.layers.LSTM(5), 0.2, weights="recurrent_kernel")
    assert tuple(layer(inputs).shape) == (None, 5)
    assert layer.compute_output_shape((2, 7, 3)) == (2, 5)


def test_keras_file_round_trip_keeps_the_wrapped_weights(tmp_path):
    inputs = keras.Input((4, 3))
    wrapped = DropConnect(
        keras.layers.GRU(5), 0.3, weights=("recurrent_kernel",), seed=4
    )
    model = keras.Model(inputs, wrapped(inputs))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(3).normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_array_equal(numpy(loaded(x)), numpy(model(x)))
    layer = loaded.layers[-1]
    assert isinstance(layer.layer, keras.layers.GRU)
    assert layer.weight_names == ("recurrent_kernel",)
    np.testing.assert_array_equal(
        numpy(layer(x, training=True)), numpy(wrapped(x, training=True))
    )
