"""The Keras internals in `keras_dropout._compat` still mean what it assumes.

Each internal has a fallback that keeps the package importable and correct;
these tests fail loudly when a Keras (or TensorFlow) release changes one, so
that the fallback is a choice, not a silent slowdown or a changed mask.
They run on every backend and in the Keras version matrix (`make compat`).
"""

import keras
import numpy as np
import pytest

import keras_dropout as kd
from keras_dropout import _compat
from tests.harness import BACKEND
from tests.harness import numpy


def test_build_at_init_builds_stateless_pack_layers():
    # Keras marks its default `build`; our shape-checking `build` carries the
    # same mark, so the layer is built (and locked) when made, as Keras's are.
    assert getattr(keras.layers.Layer.build, "_is_default", False)
    assert hasattr(keras.layers.Layer, "_build_at_init")
    assert kd.Dropout(0.2).built
    assert keras.layers.Dropout(0.2).built


def test_a_subclass_with_its_own_build_is_not_built_early():
    class WithBuild(kd.Dropout):
        def build(self, input_shape):
            self.extra = self.add_weight(shape=(), initializer="zeros")

    layer = WithBuild(0.2)
    assert not layer.built
    layer(np.ones((2, 3), "float32"))
    assert layer.built and len(layer.weights) == 1


def test_state_variables_are_state_not_weights_nor_torch_params():
    layer = kd.Dropout(0.2)
    own = {id(layer.rate_variable), id(layer._state.mc)}
    assert own <= {id(v) for v in layer.variables}
    assert own <= {id(v) for v in layer.non_trainable_variables}
    assert not own & {id(v) for v in layer.weights}
    if BACKEND == "torch":
        # Keras's PyTorch layer registers module parameters in
        # `_track_variables`: only the seed state, as for keras.layers.Dropout.
        assert hasattr(keras.layers.Layer, "_track_variables")
        params = {id(p) for p in layer.torch_params.values()}
        assert len(params) == len(keras.layers.Dropout(0.2).torch_params) == 1
        assert not params & {id(layer.rate_variable.value), id(layer._state.mc.value)}


def test_dropout_rnn_cell_is_keras_mixin():
    cls = _compat.dropout_rnn_cell_class()
    assert cls is not _compat.MissingDropoutRNNCell
    assert isinstance(keras.layers.LSTMCell(2), cls)
    assert isinstance(keras.layers.GRUCell(2), cls)
    for name in ("get_dropout_mask", "reset_dropout_mask"):
        assert callable(getattr(cls, name))


def test_dropout_rnn_cell_masks_are_drawn_through_the_mixin():
    # keras.layers.RNN calls get_dropout_mask before its loop: ZoneoutCell
    # draws its one seed per sequence there.
    cell = kd.ZoneoutCell(keras.layers.LSTMCell(3), 0.3, seed=1)
    rnn = keras.layers.RNN(cell)
    calls = []
    original = cell.get_dropout_mask

    def spy(step_input):
        calls.append(1)
        return original(step_input)

    cell.get_dropout_mask = spy
    rnn(np.ones((2, 4, 3), "float32"), training=True)
    assert calls


def test_random_seed_dtype_is_keras_seed_dtype():
    seed = keras.random.SeedGenerator(1).next()
    assert keras.backend.standardize_dtype(seed.dtype) == _compat.random_seed_dtype()


def test_drawn_seed_is_read_through_next_only():
    # keras.random takes a SeedGenerator and calls its `next()`: a wrapped
    # tensor then draws exactly what a generator in that state draws.
    generator = keras.random.SeedGenerator(5)
    state = keras.ops.convert_to_tensor(
        numpy(generator.state.value), dtype=generator.state.dtype
    )  # a copy: the generator's state advances in place below
    expected = numpy(keras.random.uniform((3, 4), seed=generator))
    drawn = _compat.DrawnSeed(state)
    np.testing.assert_array_equal(
        numpy(keras.random.uniform((3, 4), seed=drawn)), expected
    )


@pytest.mark.skipif(BACKEND != "jax", reason="a JAX helper")
def test_in_jax_trace_tells_tracers_from_arrays():
    import jax

    seen = []

    @jax.jit
    def traced(x):
        seen.append(_compat.in_jax_trace(x))
        return x

    traced(np.ones(2, "float32"))
    assert seen == [True]
    assert _compat.in_jax_trace(keras.ops.ones(2)) is False


@pytest.mark.skipif(BACKEND != "tensorflow", reason="a TensorFlow helper")
def test_in_tf_xla_graph_tells_xla_from_plain_graphs():
    import tensorflow as tf

    seen = {}

    def probe(x):
        seen[len(seen)] = _compat.in_tf_xla_graph(x)
        return x

    tf.function(probe)(tf.ones(2))
    tf.function(probe, jit_compile=True)(tf.ones(2))
    assert seen == {0: False, 1: True}
    assert _compat.in_tf_xla_graph(tf.ones(2)) is False


# -- issue #18: walking models, call context, compiled functions, tracking ---


def _composite_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 6))
    h = keras.layers.MultiHeadAttention(2, 3, dropout=0.2)(inputs, inputs)
    h = keras.layers.Bidirectional(keras.layers.LSTM(3, dropout=0.2))(h)
    inner = keras.Sequential([keras.layers.Dense(3), keras.layers.Dropout(0.2)])
    return keras.Model(inputs, inner(h))


def test_sublayers_is_flatten_layers_and_the_fallback_finds_the_same():
    model = _composite_model()
    found = _compat.sublayers(model)
    assert found == model._flatten_layers(include_self=True, recursive=True)
    assert found[0] is model
    mha = model.layers[1]
    assert mha._dropout_layer in found  # a layer Keras's own layer holds
    bidirectional = model.layers[2]
    assert bidirectional.forward_layer.cell in found
    # The fallback finds the same layers (plus, at most, the functional
    # model a Sequential builds internally, which holds the same layers).
    walked = {id(la): la for la in _compat.walk_sublayers(model)}
    assert {id(la) for la in found} <= set(walked)
    extra = [la for key, la in walked.items() if key not in {id(f) for f in found}]
    assert all(isinstance(la, keras.Model) for la in extra)


def test_kept_call_context_restores_training_written_by_nested_calls():
    # Keras resolves `training` from the call context, which each nested
    # `Layer.__call__` overwrites: an RNN forced to train would leak it.
    assert _compat.can_keep_call_context()
    seen = {}

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            cell = keras.layers.Dropout(0.5)
            with _compat.kept_call_context():
                cell(x, training=True)
            return x

    class Reader(keras.layers.Layer):
        def call(self, x, training=None):
            seen["training"] = training
            return x

    probe, reader = Probe(), Reader()
    inputs = keras.Input((3,))
    model = keras.Model(inputs, reader(probe(inputs)))
    model(np.ones((2, 3), "float32"), training=False)
    assert seen["training"] is False


def test_reset_compiled_inference_makes_predict_recompile():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.predict(np.ones((2, 3), "float32"), verbose=0)
    before = model.predict_function
    assert before is not None and hasattr(model, "test_function")
    _compat.reset_compiled_inference(model)
    assert model.predict_function is None
    model.predict(np.ones((2, 3), "float32"), verbose=0)
    assert model.predict_function is not None and model.predict_function is not before
    model.compile("sgd", "mse")
    model.fit(np.ones((2, 3)), np.ones((2, 2)), verbose=0)
    assert model.train_function is not None
    _compat.reset_compiled_training(model)
    assert model.train_function is None


def test_replace_sublayers_keeps_the_tracked_position():
    class Parent(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.first = keras.layers.Dense(2)
            self.drop = keras.layers.Dropout(0.2)
            self.last = keras.layers.Dense(2)

        def call(self, x):
            return self.last(self.drop(self.first(x)))

    parent = Parent()
    parent(np.ones((1, 3), "float32"))  # built: the tracker is locked
    old, new = parent.drop, kd.Dropout(0.2)
    position = parent._layers.index(old)
    _compat.replace_sublayers(parent, {id(old): new})
    parent.drop = new  # adds no state: already tracked
    assert parent._layers[position] is new
    assert old not in parent._layers
    assert "drop" in _compat.layer_attributes(parent)
    if BACKEND == "torch":
        # Sub-layers live in torch's `_modules`, not the instance dict.
        assert parent._modules["drop"] is new
        _compat.refresh_torch_params(parent)
        assert "_torch_params" in _compat.layer_attributes(parent)


@pytest.mark.skipif(BACKEND != "torch", reason="a PyTorch helper")
def test_unseeded_keras_dropout_draws_from_torch_global_generator():
    # Keras's torch `dropout` skips the generator of an unseeded layer: only
    # seeding torch's global generator makes its masks reproducible.
    layer = keras.layers.Dropout(0.5)
    x = np.ones((4, 64), "float32")
    draws = []
    for _ in range(2):
        with _compat.torch_global_rng_seeded(7):
            draws.append(numpy(layer(x, training=True)))
    np.testing.assert_array_equal(draws[0], draws[1])


def test_producer_is_the_layer_and_node_that_made_a_tensor():
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2)
    hidden = dense(inputs)
    operation, node = _compat._producer(hidden)
    assert operation is dense
    assert list(node.input_tensors) == [inputs]
    assert _compat._producer(np.ones(3)) is None


def test_deterministic_frontier_is_where_the_stochastic_part_starts():
    inputs = keras.Input((3,))
    trunk = keras.layers.Dense(4)(inputs)
    head = keras.layers.Dense(4)(trunk)
    dropped = keras.layers.Dropout(0.5)(head)
    outputs = keras.layers.Concatenate()([dropped, trunk])
    model = keras.Model(inputs, outputs)

    def is_dropout(operation):
        return isinstance(operation, keras.layers.Dropout)

    assert _compat.deterministic_frontier(model, is_dropout) == [trunk, head]
    # Keras builds a model from intermediate tensors (the suffix).
    suffix = keras.Model([trunk, head], outputs)
    x = np.ones((2, 4), "float32")
    assert suffix.predict_on_batch([x, x]).shape == (2, 8)
    deterministic = keras.Model(inputs, trunk)
    assert _compat.deterministic_frontier(deterministic, is_dropout) is None


def test_attribute_set_overrides_keras_alpha_dropout_noise_shape():
    layer = keras.layers.AlphaDropout(0.5, noise_shape=None, seed=1)
    x = np.ones((6, 40), "float32")
    with _compat.attribute_set(layer, "noise_shape", (1, None)):
        y = numpy(layer(x, training=True))
    assert np.all(y == y[:1])  # one mask for every row
    assert layer.noise_shape is None
    y = numpy(layer(x, training=True))
    assert not np.all(y == y[:1])
    with pytest.raises(ValueError, match="no attribute `missing`"):
        with _compat.attribute_set(layer, "missing", 1):
            pass


def test_mha_attention_hook_gets_every_mask():
    # DropKeyMultiHeadAttention ANDs its key mask into the `attention_mask`
    # that MultiHeadAttention.call merges from every mask and passes to
    # `_compute_attention`, positionally with `training` and
    # `return_attention_scores`; a causal mask arrives there too when the
    # method is overridden (Keras 3.15 skips it only for its own method,
    # sending `use_causal_mask=True` instead, which the layer also handles).
    assert _compat.mha_attention_hook()
    seen = {}

    class Probe(keras.layers.MultiHeadAttention):
        def _compute_attention(
            self, query, key, value, attention_mask=None, training=None, *args, **kw
        ):
            seen.update(mask=attention_mask, training=training, args=args, kw=kw)
            return super()._compute_attention(
                query, key, value, attention_mask, training, *args, **kw
            )

    layer = Probe(2, 4)
    x = np.ones((2, 3, 4), "float32")
    layer(x, x, use_causal_mask=True, training=True)
    assert seen["training"] is True
    if seen["kw"].get("use_causal_mask"):  # pragma: no cover - a future Keras
        assert seen["mask"] is None
    else:
        mask = np.broadcast_to(numpy(seen["mask"]), (2, 3, 3))
        np.testing.assert_array_equal(
            mask, np.broadcast_to(np.tril(np.ones((3, 3))), (2, 3, 3))
        )
    layer(x, x, attention_mask=np.ones((2, 3, 3), bool), return_attention_scores=True)
    assert seen["args"] == (True,) and numpy(seen["mask"]).shape == (2, 3, 3)
    # The attention axes the einsum equations use, after build.
    assert tuple(layer.attention_axes) == (1,)
