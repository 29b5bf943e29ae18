"""The Keras internals keras_dropout relies on, each behind a guard.

Keras's public API does not cover everything a drop-in replacement for its
own layers needs. Each use of a Keras internal lives here, in one function
or constant with a documented fallback: if a Keras release renames or drops
the internal, the pack degrades to the fallback (never an import error).
`tests/test_compat.py` checks each internal still means what this module
assumes, so a change fails there loudly instead of degrading silently.
"""

import contextlib
import sys

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


# ---------------------------------------------------------------------------
# Walking a model's layers and resetting its compiled functions: used by
# `mc_dropout(model)`, `mc_predict` and `convert`/`revert` (issue #18).
# ---------------------------------------------------------------------------


def sublayers(layer):
    """`layer` and every layer nested in it, each once, parents first.

    Uses `Layer._flatten_layers` (Keras >= 3.0), which walks the tracked
    sub-layers of every layer (`_layers`): those of functional graphs,
    of `Sequential`, of subclassed models and of Keras's own composite
    layers (`MultiHeadAttention`'s inner `Dropout`, `Bidirectional`'s
    RNNs, an RNN's cell). Fallback (Keras renames or changes it):
    `walk_sublayers`, a walk over the layers held in attributes, lists,
    tuples and dicts, which finds the same layers through public Python.
    """
    flatten = getattr(layer, "_flatten_layers", None)
    if callable(flatten):
        try:
            found = list(flatten(include_self=True, recursive=True))
        except TypeError:  # pragma: no cover - depends on Keras internals
            found = None
        if found and found[0] is layer:
            return found
    return walk_sublayers(layer)  # pragma: no cover - depends on Keras


def layers_in(value, depth=0):
    """The layers held in `value`: a layer, or containers of layers."""
    if isinstance(value, keras.layers.Layer):
        return [value]
    if depth > 3:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [la for v in value for la in layers_in(v, depth + 1)]
    return []


def walk_sublayers(layer):
    """`sublayers` through public Python only: attributes, lists, dicts.

    The fallback of `sublayers`; tests/test_compat.py checks that both
    find the same layers.
    """
    found, seen, queue = [], set(), [layer]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        children = []
        for value in layer_attributes(current).values():
            children.extend(layers_in(value))
        queue[:0] = children  # depth first, as `_flatten_layers`
    return found


def reset_compiled_inference(model):
    """Makes `model` recompile its predict and evaluate functions.

    Keras's trainers keep their compiled step functions in
    `model.predict_function` and `model.test_function` and rebuild one
    when it is `None` (`make_predict_function(force=False)`); a traced
    step keeps the Python-level behaviour it saw, which `mc_dropout(model)`
    changes. Fallback (Keras renames the attributes): nothing is reset,
    and a function compiled before the scope keeps its old behaviour;
    tests/test_compat.py notices.
    """
    for name in ("predict_function", "test_function"):
        if getattr(model, name, None) is not None:
            setattr(model, name, None)


def _call_context_state():
    """Keras's global-state module, or `None` if it cannot be found."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - depends on Keras internals
        return None
    if not callable(getattr(global_state, "get_global_attribute", None)):
        return None  # pragma: no cover - depends on Keras internals
    return global_state


def can_keep_call_context():
    """Whether `kept_call_context` can do its job with this Keras."""
    return _call_context_state() is not None


@contextlib.contextmanager
def kept_call_context():
    """Restores the `training` value of Keras's layer call context on exit.

    Keras resolves a layer's `training` argument from the call context of
    the outermost layer call (`current_call_ctx` in its global state), and
    each nested `Layer.__call__` writes the value it resolved back into it.
    When `mc_dropout(model)` runs an RNN with `training=True`, the RNN calls
    its cell with `training=True`, which would leak into every layer the
    model calls afterwards (`BatchNormalization` would then train). This
    puts the outer value back. Fallback (`can_keep_call_context()` is False
    when Keras moves its global state): `mc_dropout(model)` leaves RNN
    layers alone (the Dropout-like layers need no guard: they call no
    sub-layer).
    """
    state = _call_context_state()
    context = None if state is None else state.get_global_attribute("current_call_ctx")
    getter = getattr(context, "get_value", None)
    before = getter("training") if callable(getter) else None
    try:
        yield
    finally:
        if callable(getter):
            context.set_value("training", before)


def layer_attributes(layer):
    """The instance attributes of `layer`, by name.

    `vars(layer)`, plus, on PyTorch, the sub-modules that
    `torch.nn.Module.__setattr__` keeps in `_modules` instead of the
    instance dict (Keras layers are torch modules there). Fallback
    (`_modules` missing): `vars(layer)` only.
    """
    found = dict(vars(layer))
    modules = found.pop("_modules", None)
    if isinstance(modules, dict):
        for name, value in modules.items():
            found.setdefault(name, value)
    return found


def replace_sublayers(parent, replacements):
    """Makes `parent` track `replacements[id(old)]` in place of each `old`.

    A Keras layer lists its sub-layers in `_layers` through its attribute
    tracker (`Layer._tracker`), which refuses new state once the layer is
    built. `Tracker.replace_tracked_value` (Keras >= 3.0) swaps one tracked
    layer for another at the same position, so assigning the new one to
    the attribute afterwards adds nothing and `model.layers`, `variables`
    and saving see the new layer where the old one was. Fallback (Keras
    changes the tracker): the old layer leaves `_layers` and the new one is
    appended with the tracker unlocked, or, failing that, nothing is done
    and assigning the attribute raises Keras's own error.
    """
    tracker = getattr(parent, "_tracker", None)
    tracked = getattr(parent, "_layers", None)
    if tracker is None or not isinstance(tracked, list):
        return  # pragma: no cover - depends on Keras internals
    for old in [la for la in tracked if id(la) in replacements]:
        new = replacements[id(old)]
        replace = getattr(tracker, "replace_tracked_value", None)
        if callable(replace):
            replace("layers", old, new)
            continue
        try:  # pragma: no cover - depends on Keras internals
            locked = tracker.locked
            tracker.unlock()
            tracker.untrack(old)
            tracker.track(new)
            if locked:
                tracker.lock()
        except AttributeError:  # pragma: no cover - depends on Keras internals
            return


def reset_compiled_training(model):
    """Makes `model` recompile its train function (`model.train_function`).

    As `reset_compiled_inference`, for `fit` after layers were swapped.
    """
    if getattr(model, "train_function", None) is not None:
        model.train_function = None


def refresh_torch_params(model):
    """Re-registers the PyTorch parameters of `model` and its layers.

    On PyTorch, a Keras layer registers its variables (those of its
    sub-layers included) as module parameters once (`_track_variables`,
    kept in `_torch_params`); after sub-layers were swapped that list is
    stale. Rebuilds it where it was built. Fallback (Keras renames them):
    nothing; `model.parameters()` then lists the old layers' seed states
    (which Keras's trainers do not read).
    """
    if keras.backend.backend() != "torch":
        return
    for layer in sublayers(model):
        track = getattr(layer, "_track_variables", None)
        if callable(track) and "_torch_params" in layer_attributes(layer):
            track()


@contextlib.contextmanager
def torch_global_rng_seeded(seed):
    """On PyTorch, seeds torch's global generator, restoring it on exit.

    Keras's PyTorch `dropout` ignores the seed generator of a layer made
    without a seed (`SeedGenerator(None)`) and draws from torch's global
    generator instead (its "unseeded fast path"), so `mc_predict(seed=)`
    only reproduces such Keras layers if that generator is seeded too.
    `torch.random.fork_rng` saves and restores its state (CPU and CUDA).
    torch is taken from `sys.modules`: on the PyTorch backend Keras has
    imported it already, and the package imports no backend itself.
    Elsewhere, or with `seed=None`: nothing. Fallback (Keras seeds that
    path from the generator one day): seeding is harmless.
    """
    torch = sys.modules.get("torch")
    if seed is None or torch is None or keras.backend.backend() != "torch":
        yield
        return
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


# ---------------------------------------------------------------------------
# A functional model's graph: where its deterministic part ends. Used by
# `mc_predict`'s prefix cache (issue #18).
# ---------------------------------------------------------------------------


def _producer(tensor):
    """The operation and node that made a symbolic tensor, or `None`."""
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None)
    if operation is None:
        return None
    return operation, operation._inbound_nodes[history.node_index]


def deterministic_frontier(model, is_stochastic):
    """The tensors of a functional model where its deterministic part ends.

    Walks the graph from `model.outputs` back to `model.inputs` through each
    symbolic tensor's `_keras_history` (the operation and node that made
    it) and each node's `input_tensors`. A tensor is stochastic when the
    operation that made it satisfies `is_stochastic(operation)` or one of
    its inputs is stochastic. The frontier is the deterministic tensors
    that stochastic ones are computed from: `keras.Model(inputs, frontier)`
    and `keras.Model(frontier, outputs)` split the model in two.

    Returns the frontier as a list in graph order, or `None` when the model
    cannot be split usefully: an output does not depend on any stochastic
    operation, a model input feeds a stochastic operation directly (so
    nothing would be cached on that path), or a frontier tensor carries a
    Keras mask. Fallback (Keras changes the graph attributes): `None`, and
    `mc_predict` runs the whole model each time, as it did before.
    """
    try:
        inputs = list(model.inputs)
        outputs = list(model.outputs)
        input_ids = {id(t) for t in inputs}
        # Post-order walk (parents before children), iterative: deep models
        # would overflow Python's recursion limit.
        order, parents, seen = [], {}, set()
        stack = [(t, False) for t in reversed(outputs)]
        while stack:
            tensor, expanded = stack.pop()
            if expanded:
                order.append(tensor)
                continue
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            stack.append((tensor, True))
            if id(tensor) in input_ids:
                continue
            produced = _producer(tensor)
            if produced is None:
                return None
            operation, node = produced
            parents[id(tensor)] = (operation, list(node.input_tensors))
            stack.extend((p, False) for p in reversed(parents[id(tensor)][1]))
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    stochastic = {}
    for tensor in order:
        if id(tensor) in input_ids:
            stochastic[id(tensor)] = False
            continue
        operation, node_inputs = parents[id(tensor)]
        stochastic[id(tensor)] = bool(is_stochastic(operation)) or any(
            stochastic[id(p)] for p in node_inputs
        )
    if not all(stochastic[id(t)] for t in outputs):
        return None
    frontier_ids = set()
    for tensor in order:
        if stochastic[id(tensor)] and id(tensor) not in input_ids:
            for parent in parents[id(tensor)][1]:
                if not stochastic[id(parent)]:
                    frontier_ids.add(id(parent))
    frontier = [t for t in order if id(t) in frontier_ids]
    if not frontier or frontier_ids & input_ids:
        return None
    if any(getattr(t, "_keras_mask", None) is not None for t in frontier):
        return None
    return frontier


@contextlib.contextmanager
def attribute_set(obj, name, value):
    """Sets `obj.<name>` to `value` for the duration, in the instance dict.

    Used to share a Keras `AlphaDropout`'s noise over the batch: its `call`
    reads `self.noise_shape` (a constructor argument it keeps as an
    attribute). Written to `__dict__` directly, so that no Keras or
    PyTorch attribute tracking sees the change. Fallback (a layer without
    the attribute): a `ValueError` naming it, raised before any change.
    """
    if name not in getattr(obj, "__dict__", {}):
        raise ValueError(
            f"{type(obj).__name__} has no attribute `{name}` to override; "
            "this Keras version is not supported by this feature."
        )
    previous = obj.__dict__[name]
    obj.__dict__[name] = value
    try:
        yield
    finally:
        obj.__dict__[name] = previous


# ---------------------------------------------------------------------------
# MultiHeadAttention's attention hook: used by DropKeyMultiHeadAttention.
# ---------------------------------------------------------------------------

# The leading parameters of the hook, as Keras 3.0-3.15 define and call it.
_MHA_HOOK_PARAMETERS = ["self", "query", "key", "value", "attention_mask", "training"]


def mha_attention_hook():
    """Whether `keras.layers.MultiHeadAttention` computes its attention in
    `_compute_attention(query, key, value, attention_mask, training, ...)`.

    Keras documents that method as the one to override for a custom
    attention (Keras 3.0-3.15): `call` projects the inputs, merges every
    mask (`attention_mask`, the causal mask, the query/value/key masks) into
    one boolean `attention_mask` of shape `(B, T, S)`, and passes it
    positionally with `training`, then `return_attention_scores`. Keras
    3.15 also passes `use_causal_mask=True`, with no mask, when causal
    masking is the only mask, but only to a layer that does not override
    the method. `DropKeyMultiHeadAttention` overrides it to AND its key mask
    into `attention_mask`. Fallback (Keras renames the method or changes
    its leading parameters): False, and `DropKeyMultiHeadAttention` refuses
    to be made, rather than silently dropping nothing.
    """
    import inspect

    method = getattr(keras.layers.MultiHeadAttention, "_compute_attention", None)
    if not callable(method):
        return False  # pragma: no cover - depends on Keras internals
    try:
        names = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):  # pragma: no cover - depends on Keras
        return False
    return names[: len(_MHA_HOOK_PARAMETERS)] == _MHA_HOOK_PARAMETERS
