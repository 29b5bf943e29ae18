"""`SubsetDropPath`: stochastic depth that runs the branch on a subset of rows.

Issue #19: compute-saving stochastic depth (DINOv2's
`drop_add_residual_stochastic_depth`). Exactly `k = max(floor(B * (1 -
rate)), 1)` distinct rows get `x + branch(x) * B / k`, the others `x`; the
branch only ever sees `k` rows; inference is `x + branch(x)`.
"""

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout.layers.droppath import SubsetDropPath
from tests.harness import BACKEND
from tests.harness import numpy

L = keras.layers


class _RowCounter(L.Layer):
    """A branch that returns ones and records how many rows it was given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows = []

    def call(self, x):
        self.rows.append(x.shape[0])
        return keras.ops.ones_like(x)

    def compute_output_shape(self, input_shape):
        return input_shape


def _rows(x):
    # Distinct rows, so that each output row says which input row it was.
    return (np.arange(x[0])[:, None] * np.ones(x, "float32")).astype("float32")


@pytest.mark.parametrize("batch,rate", [(8, 0.5), (10, 0.3), (7, 0.9), (5, 0.0)])
def test_exactly_k_rows_get_the_scaled_branch(batch, rate):
    layer = SubsetDropPath(_RowCounter(), rate, seed=3)
    x = _rows((batch, 4))
    y = numpy(layer(x, training=True))
    k = max(int(batch * (1 - rate)), 1)
    delta = y - x
    chosen = np.all(np.isclose(delta, batch / k), axis=1)
    skipped = np.all(delta == 0, axis=1)
    assert int(chosen.sum()) == k
    assert np.all(chosen | skipped)
    assert layer.layer.rows[-1] == k  # the branch saw k rows only


def test_inference_is_the_whole_residual_block():
    layer = SubsetDropPath(L.Dense(4, kernel_initializer="ones"), 0.5, seed=0)
    x = _rows((6, 4)) + 1.0  # no zero row: every branch output is non-zero
    expected = x + x.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-6)
    with keras_dropout.mc_dropout():
        y = numpy(layer(x))
    assert int(np.sum(np.all(y == x, axis=1))) == 3  # MC: training behaviour


def test_rows_are_chosen_uniformly():
    layer = SubsetDropPath(_RowCounter(), 0.75, seed=1)
    x = np.zeros((8, 1), "float32")
    counts = np.zeros(8)
    draws = 400
    for _ in range(draws):
        counts += numpy(layer(x, training=True))[:, 0] > 0
    # Each row is chosen with probability k / B = 2 / 8.
    expected, sd = draws * 0.25, np.sqrt(draws * 0.25 * 0.75)
    assert np.all(np.abs(counts - expected) < 4.5 * sd), counts


def test_expectation_matches_the_residual_block():
    dense = L.Dense(3)
    layer = SubsetDropPath(dense, 0.4, seed=2)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    full = numpy(layer(x))
    mean = np.mean([numpy(layer(x, training=True)) for _ in range(600)], axis=0)
    branch = full - x
    # Per row: x + branch * B/k with probability k/B: variance
    # branch**2 * (B/k - 1).
    sd = np.abs(branch) * np.sqrt(5 / 3 - 1) / np.sqrt(600)
    assert np.all(np.abs(mean - full) <= 4.5 * sd + 1e-5)


def test_gradients_reach_only_the_chosen_rows_through_the_branch():
    layer = SubsetDropPath(L.Dense(2, kernel_initializer="ones"), 0.5, seed=4)
    x = _rows((6, 2))
    layer.build(x.shape)
    state = numpy(layer.seed_generator.state.value)
    y = numpy(layer(x, training=True))
    chosen = np.any(y != x, axis=1)
    grads = _input_gradient(layer, x, state)
    # d(sum y)/dx = 1 (identity path) + (B/k) * 2 (the ones kernel) if chosen.
    np.testing.assert_allclose(grads[~chosen], 1.0)
    np.testing.assert_allclose(grads[chosen], 1.0 + 2.0 * 2.0, rtol=1e-6)


def _input_gradient(layer, x, state):
    # The same draw as the call above: restart the layer's generator.
    layer.seed_generator.state.assign(state)
    if BACKEND == "jax":
        import jax

        def f(value):
            layer.seed_generator.state.assign(state)
            return keras.ops.sum(layer(value, training=True))

        return np.asarray(jax.grad(f)(x))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        value = tf.Variable(x)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(layer(value, training=True))
        return tape.gradient(total, value).numpy()
    import torch

    value = torch.tensor(x, requires_grad=True)
    keras.ops.sum(layer(value, training=True)).backward()
    return value.grad.numpy()


def test_fit_with_jit_and_none_batch_then_save_and_load(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    block = SubsetDropPath(
        keras.Sequential([L.Dense(8, "relu"), L.Dense(4)]), 0.3, seed=1
    )
    model = keras.Model(inputs, L.Dense(1)(block(inputs)))
    model.compile("adam", "mse", jit_compile=BACKEND != "torch")
    x = np.random.default_rng(0).normal(size=(70, 4)).astype("float32")
    history = model.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "subset.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )
    config = block.get_config()
    again = SubsetDropPath.from_config(config)
    assert again.rate == pytest.approx(0.3) and again.seed == 1


def test_exported_and_bad_input():
    assert keras_dropout.SubsetDropPath is SubsetDropPath
    with pytest.raises(ValueError, match="`layer`"):
        SubsetDropPath("dense", 0.3)
    with pytest.raises(ValueError, match="`rate`"):
        SubsetDropPath(L.Dense(2), 1.0)
    layer = SubsetDropPath(L.Dense(2), 0.3)
    with pytest.raises(ValueError):
        layer(np.float32(1.0))  # no batch axis
    with pytest.raises(ValueError, match="`layer`.*residual branch"):
        SubsetDropPath(L.Dense(2), 0.3)(np.ones((4, 3), "float32"))
