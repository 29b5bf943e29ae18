"""The Keras internals keras_dropout relies on, each behind a guard.

Keras's public API does not cover everything a drop-in replacement for its
own layers needs. Each use of a Keras internal lives here, in one function
or constant with a documented fallback: if a Keras release renames or drops
the internal, the pack degrades to the fallback (never an import error).
`tests/test_compat.py` checks each internal still means what this module
assumes, so a change fails there loudly instead of degrading silently.
"""

import keras


def mark_build_as_default(method):
    """Marks a `build` that only checks shapes as "no build needed".

    Keras builds its stateless layers (`Dropout`, `GaussianDropout`, ...)
    when they are made, unless a subclass overrides `build`: it tells the two
    apart by an attribute `keras.layers.Layer.build` carries. A pack layer
    whose `build` only validates the input shape carries it too, so the layer
    is built at instantiation like Keras's, while an explicit
    `layer.build(shape)` still validates, and a user subclass that overrides
    `build` again is not built early (as in Keras).

    Fallback: if Keras stops marking its default `build`, the attribute is
    harmless and layers are built at their first call, as before.
    """
    method._is_default = True
    return method


def build_at_init(layer):
    """Marks `layer` built now if its `build` is a default one (see above).

    Uses `Layer._build_at_init` (Keras >= 3.9), which also tracks the
    layer's variables (PyTorch) and locks its state. Fallback: nothing, and
    the layer is built at its first call.
    """
    finish = getattr(layer, "_build_at_init", None)
    if callable(finish):
        finish()


class TorchParamsWithoutState:
    """Mixin: a layer's own state variables stay out of `torch_params`.

    Keras's PyTorch layer registers everything in `layer.variables` as
    module parameters (`_track_variables` builds `torch_params`), and Keras
    expects those to be the weights and the seed generators' states only
    (its layer tests count them). The pack's layers list their rate and MC
    variables in `variables` (compiled JAX and TensorFlow steps carry state
    through it), so while `torch_params` is built, `listing_torch_params`
    is true and the layer leaves them out. Fallback (Keras renames
    `_track_variables`): they are registered too, which is harmless (they
    are not trainable); tests/test_compat.py notices.
    """

    listing_torch_params = False

    def _track_variables(self):
        self.listing_torch_params = True
        try:
            super()._track_variables()
        finally:
            self.listing_torch_params = False


class MissingDropoutRNNCell:
    """Stands in for Keras's `DropoutRNNCell` if it cannot be found."""


def dropout_rnn_cell_class():
    """Keras's `DropoutRNNCell` mixin, or a stand-in if it cannot be found.

    Keras's RNN layer draws the dropout masks of cells deriving from it
    before its loop (`get_dropout_mask`) and clears them after it
    (`reset_dropout_mask`); `ZoneoutCell` uses those two calls to draw its
    seed once per sequence. Found through `LSTMCell`'s bases, not by
    importing `keras.src`. Fallback: `MissingDropoutRNNCell`, which no
    Keras cell derives from; `keras.layers.RNN` then never calls
    `get_dropout_mask`, and `ZoneoutCell` draws a seed at each step instead
    (still correct; the masks differ).
    """
    for cls in keras.layers.LSTMCell.__mro__:
        if cls.__name__ == "DropoutRNNCell" and hasattr(cls, "get_dropout_mask"):
            return cls
    return MissingDropoutRNNCell


def random_seed_dtype():
    """The dtype of the seed tensors Keras's backend generator takes.

    Fallback: uint32 on JAX (its key data), int32 elsewhere: what Keras
    3.10-3.15 use.
    """
    try:
        from keras.src.backend import random_seed_dtype as seed_dtype

        return seed_dtype()
    except ImportError:  # pragma: no cover - depends on Keras internals
        return "uint32" if keras.backend.backend() == "jax" else "int32"


class DrawnSeed(keras.random.SeedGenerator):
    """A seed tensor already drawn, in the form `keras.random` takes.

    `keras.random.uniform(..., seed=)` takes an int or a `SeedGenerator`
    and asks the latter for `next()`. The pack's layers draw their seed once
    per call (outside any `cond`, for JAX), so this wraps that tensor. It
    owns no variable: deliberately, `SeedGenerator.__init__` (which creates
    one) is not called. Fallback: none needed while `keras.random` reads a
    generator through `next()` only, which tests/test_compat.py checks.
    """

    def __init__(self, value):  # deliberately no super().__init__()
        self._value = value
        self.name = "drawn_seed"

    def next(self, ordered=True):
        return self._value


def in_jax_trace(tensor):
    """Whether `tensor` is a JAX tracer (code being compiled by `jax.jit`).

    Fallback (Keras moved the helper): `True`, so "auto" picks the portable
    generator, which is correct everywhere.
    """
    try:
        from keras.src.utils.jax_utils import is_in_jax_tracing_scope
    except ImportError:  # pragma: no cover - depends on Keras internals
        return True
    return bool(is_in_jax_tracing_scope(tensor))


def is_concrete(tensor):
    """Whether `tensor` holds a value now (eager code), not a traced one.

    False for a JAX tracer and inside a TensorFlow graph (`tf.function`,
    Keras's compiled steps); True for PyTorch (eager; `torch.compile`
    guards on the Python values a layer reads). Fallback (Keras moved its
    TensorFlow helper): False, the traced path, correct everywhere.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return not in_jax_trace(tensor)
    if backend == "tensorflow":
        try:
            from keras.src.utils.backend_utils import in_tf_graph
        except ImportError:  # pragma: no cover - depends on Keras internals
            return False
        return not in_tf_graph()
    return True


def in_tf_xla_graph(tensor):
    """Whether TensorFlow is tracing `tensor`'s graph for XLA compilation.

    `tf.function(jit_compile=True)` (and so `fit` with `jit_compile=True`)
    traces its function inside an XLA control-flow context entered on the
    calling graph; a nested function's graph reaches it through its
    `outer_graph` chain. The walk reads only attributes of the graph
    objects, so the package imports no backend. Outside a graph (eager):
    `False`. Fallback (Keras or TensorFlow moved these internals): `True`,
    so "auto" picks the portable generator, which is correct everywhere.
    """
    try:
        from keras.src.utils.backend_utils import in_tf_graph

        if not in_tf_graph():
            return False
        from keras import ops

        if tensor is None or not hasattr(tensor, "graph"):
            tensor = ops.zeros(())  # a constant of the graph being traced
        graph = tensor.graph
        while graph is not None:
            context = graph._get_control_flow_context()
            while context is not None:
                if context.IsXLAContext():
                    return True
                context = context.outer_context
            graph = getattr(graph, "outer_graph", None)
        return False
    except Exception:  # pragma: no cover - depends on TensorFlow internals
        return True
