"""The base layer every dropout-like layer of the pack derives from.

It owns what they share: validating `rate`, the layer's seed generator,
resolving `training` and Monte Carlo (MC) mode, and holding the rate in a
variable so that it can change during training without recompiling.
Subclasses only say how the training-time noise is drawn and applied
(`dropout`) and, where it is not the identity, what inference does
(`inference`).

The rate and the MC flag live in two scalar variables that count as layer
*state* (like a `SeedGenerator`'s) but not as *weights*: they appear in
`layer.variables` / `non_trainable_variables` (so compiled JAX and
TensorFlow steps read their current value), never in `layer.weights`, so
`model.summary()` parameter counts and weight files are the same as with
`keras.layers.Dropout`. The rate is saved through `get_config`.

As Keras's stateless layers are, a pack layer is built when it is made,
unless it (or a user's subclass) has a `build` of its own that creates
state: its shape checks (`_check_input_shape`) run in `build`,
`compute_output_shape` and every call instead.
"""

import inspect
import weakref

import keras
import numpy as np
from keras import ops

from keras_dropout import _compat
from keras_dropout import _validation

# Every live pack layer, so that `mc_dropout()` can switch all of them.
_LIVE_LAYERS = weakref.WeakSet()


def live_layers():
    """Every pack layer alive in this process (a list)."""
    return list(_LIVE_LAYERS)


# One entry per open `mc_dropout` scope: whether it enables MC mode.
_MC_SCOPES = []


def mc_scope_enabled():
    """Whether the innermost open `mc_dropout` scope enables MC mode."""
    return bool(_MC_SCOPES and _MC_SCOPES[-1])


def _sync_mc_flags():
    enabled = mc_scope_enabled()
    for layer in live_layers():
        layer._state.mc.assign(enabled)


class mc_dropout:  # noqa: N801 - used like a function: `with mc_dropout():`
    """A scope in which dropout is stochastic at inference (MC dropout).

    Inside `with keras_dropout.mc_dropout():`, calls made in inference mode
    (`model.predict`, `model(x)`, `model(x, training=False)`) apply each pack
    layer's training-time noise, so repeated predictions sample the
    MC-dropout posterior. Every other layer, `BatchNormalization` included,
    keeps its inference behaviour. Outside the scope nothing changes.

    Without `model`, the scope reaches every keras_dropout layer of the
    process and works on functions that were compiled before it was
    entered: each layer reads the switch from a state variable, not from
    Python. It is process-wide (not per thread).

    With `model` (`mc_dropout(model)`), it *also* reaches Keras's own
    stochastic layers inside that model, however deeply nested (Sequential,
    functional, subclassed, loaded from a `.keras` file), each with a
    non-zero rate:

    * `keras.layers.Dropout`, `SpatialDropout1D`/`2D`/`3D`,
      `GaussianDropout` and `AlphaDropout`;
    * the attention dropout of `keras.layers.MultiHeadAttention` (its inner
      `Dropout`; the layer must have been built, i.e. called once);
    * `SimpleRNN`, `LSTM`, `GRU` (also inside `Bidirectional`), `ConvLSTM*`
      and `keras.layers.RNN` over Keras cells, with `dropout` or
      `recurrent_dropout` above 0.

    Each such layer runs its call with `training=True` (they have no other
    training-dependent behaviour); the scope restores them on exit, also
    when an exception leaves it. `GaussianNoise`, preprocessing and
    augmentation layers and every other layer keep their inference
    behaviour. As Python-level behaviour changed, the compiled `predict`
    and `evaluate` functions of `model` (and of the models nested in it) are
    reset on entry and exit, so `model.predict` follows the scope. A
    function *you* compiled (`tf.function`, `jax.jit`, `torch.compile` of
    `model.__call__`) before entering keeps what it traced: call it from
    inside the scope only if it was made there. Pass the model whose
    `predict` you call: an enclosing model's compiled functions are not
    reset.

    Scopes nest and restore the enclosing state on exit.
    `mc_dropout(enabled=False)` switches the pack layers off inside an
    enabling scope; `mc_dropout(model, enabled=False)` also switches off
    that model's Keras layers that an enclosing scope switched on.

    Args:
        model: optional `keras.Model` or `keras.layers.Layer` whose Keras
            dropout layers the scope reaches too (see above).
        enabled: whether the scope turns MC mode on (default) or off.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> model = keras.Sequential([keras.Input((4,)),
        ...                           keras_dropout.Dropout(0.5, seed=1)])
        >>> x = np.ones((1, 4), "float32")
        >>> bool(np.all(model.predict(x, verbose=0) == 1.0))
        True
        >>> with keras_dropout.mc_dropout():
        ...     samples = [model.predict(x, verbose=0) for _ in range(20)]
        >>> bool(np.std(samples) > 0)
        True

        A model made of Keras's own layers only: pass it to the scope.

        >>> plain = keras.Sequential([keras.Input((4,)),
        ...                           keras.layers.Dropout(0.5, seed=1)])
        >>> with keras_dropout.mc_dropout(plain):
        ...     samples = [plain.predict(x, verbose=0) for _ in range(20)]
        >>> sorted({float(v) for v in np.ravel(samples)})
        [0.0, 2.0]
        >>> bool(np.all(plain.predict(x, verbose=0) == 1.0))  # restored
        True
    """

    def __init__(self, model=None, *, enabled=True):
        if model is not None and not isinstance(model, keras.layers.Layer):
            raise _validation.invalid(
                "model",
                "None, a keras.Model or a keras.layers.Layer",
                type(model).__name__,
            )
        self.model = model
        self.enabled = _validation.check_bool(enabled, "enabled")
        # One list of (layer, previous `call` entry) per open use of `self`.
        self._shadowed = []

    def __enter__(self):
        shadowed = []
        try:
            if self.model is not None:
                _shadow_calls(mc_layers(self.model), self.enabled, shadowed)
        except BaseException:
            _unshadow(shadowed)
            raise
        self._shadowed.append(shadowed)
        if shadowed or _traces_mc_scope(self.model):
            _reset_compiled_functions(self.model)
        _MC_SCOPES.append(self.enabled)
        _sync_mc_flags()
        return self

    def __exit__(self, *exc_info):
        _MC_SCOPES.pop()
        _sync_mc_flags()
        shadowed = self._shadowed.pop()
        changed = bool(shadowed) or _traces_mc_scope(self.model)
        _unshadow(shadowed)
        if changed:
            _reset_compiled_functions(self.model)
        return False


def _traces_mc_scope(model):
    """Whether `model` holds a pack layer that reads the MC scope in Python
    while a function is traced (`traces_mc_scope`, e.g. `PatchDropout`, whose
    two branches differ in shape): its compiled functions must be retraced
    when the scope changes."""
    if model is None:
        return False
    return any(getattr(la, "traces_mc_scope", False) for la in _compat.sublayers(model))


def keras_dropout_classes():
    """Keras's own dropout layer classes, which `mc_dropout(model)` reaches."""
    kl = keras.layers
    # SpatialDropout1D/2D/3D derive from Dropout.
    return (kl.Dropout, kl.GaussianDropout, kl.AlphaDropout)


def rnn_cells(layer):
    """The Keras cells of an RNN layer (stacked ones flattened), or `[]`."""
    cell = getattr(layer, "cell", None)
    cells = getattr(cell, "cells", None)
    return list(cells) if isinstance(cells, (list, tuple)) else [cell]


def _nonzero(value):
    try:
        return float(value or 0.0) > 0.0
    except (TypeError, ValueError):
        return False


def is_keras_mc_layer(layer):
    """Whether `mc_dropout(model)` makes `layer` (a Keras layer) stochastic.

    True for Keras's dropout layers with a non-zero rate (the inner
    `Dropout` of `MultiHeadAttention` included) and for Keras RNN layers
    with a Keras cell whose `dropout` or `recurrent_dropout` is non-zero
    (unless `_compat.can_keep_call_context()` is False). Never for a
    keras_dropout layer (those follow the scope through their MC variable).
    """
    if isinstance(layer, BaseDropout):
        return False
    if isinstance(layer, keras_dropout_classes()):
        return _nonzero(getattr(layer, "rate", 0.0))
    if isinstance(layer, keras.layers.RNN) and _compat.can_keep_call_context():
        cell_class = _compat.dropout_rnn_cell_class()
        return any(
            isinstance(cell, cell_class)
            and not isinstance(cell, BaseDropout)
            and (
                _nonzero(getattr(cell, "dropout", 0.0))
                or _nonzero(getattr(cell, "recurrent_dropout", 0.0))
            )
            for cell in rnn_cells(layer)
        )
    return False


def mc_layers(model):
    """The Keras layers of `model` that `mc_dropout(model)` reaches, in order.

    `model` itself included when it is one; each layer once. See
    `is_keras_mc_layer`.
    """
    return [la for la in _compat.sublayers(model) if is_keras_mc_layer(la)]


def _forward(layer, original, training):
    """`original` (a layer's `call`) with `training=True` forced, if asked.

    Marked with the call it wraps, so that nested scopes find the
    original one.
    """
    try:
        names = list(inspect.signature(original).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins only
        names = []
    position = names.index("training") if "training" in names else None

    def call(*args, **kwargs):
        if not training:
            return original(*args, **kwargs)
        if position is not None and len(args) > position:
            args = args[:position] + (True,) + args[position + 1 :]
        else:
            kwargs["training"] = True
        # Sub-layers called with `training=True` (an RNN's cell) write it
        # into Keras's call context: put the caller's value back after.
        with _compat.kept_call_context():
            return original(*args, **kwargs)

    call._keras_dropout_original = original
    return call


_MISSING = object()


def _shadow_calls(layers, enabled, shadowed):
    """Shadows each layer's `call` with one that forces `training=enabled`.

    Records `(layer, "call", previous instance entry)` in `shadowed`, for
    `_unshadow`. With `enabled=False`, only layers an enclosing scope
    switched on are touched.
    """
    for layer in layers:
        previous = layer.__dict__.get("call", _MISSING)
        original = getattr(previous, "_keras_dropout_original", None)
        if original is None:
            if not enabled:
                continue  # never switched on: nothing to switch off
            original = layer.call
        _shadow(layer, "call", _forward(layer, original, enabled), shadowed)


def _shadow(obj, name, function, shadowed):
    """Puts `function` in `obj`'s instance dict as `name`, recording the
    previous entry in `shadowed` for `_unshadow`.

    Straight into the instance dict: no Keras or PyTorch attribute
    tracking sees a function, and nothing reaches the saved config.
    """
    shadowed.append((obj, name, obj.__dict__.get(name, _MISSING)))
    obj.__dict__[name] = function


def _unshadow(shadowed):
    for obj, name, previous in reversed(shadowed):
        if previous is _MISSING:
            obj.__dict__.pop(name, None)
        else:
            obj.__dict__[name] = previous
    shadowed.clear()


def _reset_compiled_functions(model):
    """Drops the compiled predict/evaluate functions of `model`'s models."""
    for layer in _compat.sublayers(model):
        if isinstance(layer, keras.Model):
            _compat.reset_compiled_inference(layer)


# One entry per open `batch_shared_noise` scope.
_BATCH_SHARED_NOISE = []


class batch_shared_noise:  # noqa: N801 - used like a function, as mc_dropout
    """A scope in which each stochastic layer draws one noise per call, shared
    by every row of the batch (consistent MC dropout, see `mc_predict`).

    Every row of a batch then goes through the same sub-network, so a
    prediction no longer depends on which other rows share its batch.
    Reaches the pack's layers (through `BaseDropout.dropout_shared`; a
    layer whose `consistent_noise` is `None` is refused by `mc_predict`
    before the scope opens) and, in `model`, the Keras layers that
    `mc_dropout(model)` reaches: `Dropout`, `SpatialDropout*` and
    `GaussianDropout` (their noise multiplies the input, so it is drawn on
    one row of ones), `AlphaDropout` (its `noise_shape` gets a batch entry
    of 1 for the call) and RNN cells (their input and recurrent masks are
    drawn for one row and broadcast). Private: `mc_predict(consistent=True)`
    opens it inside `mc_dropout(model)`, and resets `model`'s compiled
    predict functions on entry and exit, as the behaviour is Python-level.
    """

    def __init__(self, model):
        self.model = model
        self._shadowed = []

    def __enter__(self):
        shadowed = []
        try:
            for layer in mc_layers(self.model):
                _share_keras_noise(layer, shadowed)
        except BaseException:
            _unshadow(shadowed)
            raise
        self._shadowed.append(shadowed)
        _BATCH_SHARED_NOISE.append(True)
        _reset_compiled_functions(self.model)
        return self

    def __exit__(self, *exc_info):
        _BATCH_SHARED_NOISE.pop()
        _unshadow(self._shadowed.pop())
        _reset_compiled_functions(self.model)
        return False


def _first_row(tensor):
    return tensor[:1]


def _share_keras_noise(layer, shadowed):
    """Makes one Keras layer draw its noise for one row, for every row."""
    if isinstance(layer, keras.layers.RNN):
        for cell in rnn_cells(layer):
            for name in ("get_dropout_mask", "get_recurrent_dropout_mask"):
                original = getattr(cell, name, None)
                if callable(original):

                    def for_one_row(step_input, original=original):
                        return original(_first_row(step_input))

                    _shadow(cell, name, for_one_row, shadowed)
        return
    previous = layer.call
    if isinstance(layer, keras.layers.AlphaDropout):
        # Affine in its input: draw a batch-wide mask through noise_shape.

        def call(inputs, *args, **kwargs):
            rank = len(inputs.shape)
            shape = layer.noise_shape or (None,) * rank
            with _compat.attribute_set(layer, "noise_shape", (1,) + tuple(shape[1:])):
                return previous(inputs, *args, **kwargs)

    else:  # Dropout, SpatialDropout*, GaussianDropout: multiplicative noise

        def call(inputs, *args, **kwargs):
            noise = previous(ops.ones_like(_first_row(inputs)), *args, **kwargs)
            return ops.multiply(inputs, noise)

    _shadow(layer, "call", call, shadowed)


def _concrete_bool(value):
    """`bool(value)` when it is a concrete tensor, `None` while tracing."""
    try:
        return bool(ops.convert_to_numpy(value))
    except Exception:  # a JAX tracer or a symbolic TensorFlow tensor
        return None


class _State:
    """Holds the layer's scalar variables out of Keras's weight tracking."""

    def __init__(self, rate, mc):
        self.rate = rate
        self.mc = mc


class BaseDropout(_compat.TorchParamsWithoutState, keras.layers.Layer):
    """Base class of every dropout-like layer in keras_dropout.

    Subclasses implement `dropout(inputs, rate, seed)` (the training-time
    behaviour) and, if inference is not the identity,
    `inference(inputs, rate)`. They must not override `call`.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a unit (not of
            keeping it). Can be changed later with `layer.rate = value`,
            also during training, without recompiling.
        seed: optional int seeding the layer's
            `keras.random.SeedGenerator`.
        mc: if `True`, the layer applies its training-time behaviour at
            inference too (Monte Carlo dropout).
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Examples:
        A toy subclass (it scales instead of dropping): rate validation,
        seeding, the `training` flag and MC mode come from the base class.

        >>> import numpy as np
        >>> from keras import ops
        >>> import keras_dropout
        >>> class Shrink(keras_dropout.BaseDropout):
        ...     def dropout(self, inputs, rate, seed):
        ...         return ops.multiply(inputs, ops.cast(1.0 - rate, inputs.dtype))
        >>> layer = Shrink(0.25)
        >>> np.asarray(layer(np.ones((1, 2), "float32"), training=True))
        array([[0.75, 0.75]], dtype=float32)
        >>> np.asarray(layer(np.ones((1, 2), "float32")))  # inference: identity
        array([[1., 1.]], dtype=float32)
    """

    # Whether each row (sample) of a batch gets its own independent draw, so
    # that a batch repeated k times gives k independent MC samples per
    # example (`mc_predict` vectorizes over samples only then). False for
    # layers with one draw per call (a mask on weights or a vocabulary), and
    # the safe default for subclasses.
    draws_per_row = False
    # How `dropout_shared` gives every row of a batch the same noise (for
    # `mc_predict(consistent=True)`): "multiplicative" (the noise multiplies
    # the input, so it can be drawn on one row of ones), "per_call" (one draw
    # per call already, e.g. a mask on weights), "custom" (the layer
    # overrides `dropout_shared`), or None: not supported (the safe default
    # for subclasses; `mc_predict` refuses `consistent=True` then).
    consistent_noise = None

    def __init__(self, rate, seed=None, mc=False, **kwargs):
        super().__init__(**kwargs)
        rate = _validation.check_rate(rate)
        self._rate = rate
        self.seed = _validation.check_seed(seed)
        self.mc = _validation.check_bool(mc, "mc")
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        with keras.name_scope(self.name):
            self._state = _State(
                rate=keras.Variable(
                    rate,
                    dtype="float32",
                    trainable=False,
                    autocast=False,
                    name="rate",
                ),
                mc=keras.Variable(
                    mc_scope_enabled(),
                    dtype="bool",
                    trainable=False,
                    autocast=False,
                    name="mc_scope",
                ),
            )
        self.supports_masking = True
        _LIVE_LAYERS.add(self)
        _compat.build_at_init(self)

    @property
    def rate(self):
        """The drop probability, as a Python float.

        Setting it (`layer.rate = 0.2`) validates the value and updates the
        layer's rate variable, which compiled train and predict functions
        read at every step: no recompilation is needed.
        """
        return self._rate

    @rate.setter
    def rate(self, value):
        value = _validation.check_rate(value)
        self._state.rate.assign(value)
        self._rate = value

    @property
    def rate_variable(self):
        """The float32 variable compiled functions read the rate from.

        Read-only in spirit: change the rate through `layer.rate`, which
        validates it and keeps `get_config()` in step.
        """
        return self._state.rate

    @property
    def variables(self):
        # Extends Keras's list (weights, seed states, sub-layers) with the
        # rate and MC variables: compiled steps then carry their current
        # values, while `weights` (and so weight files) stay free of them.
        variables = super().variables
        if self.listing_torch_params:  # see _compat.TorchParamsWithoutState
            return variables
        seen = {id(v) for v in variables}
        own = [self._state.rate, self._state.mc]
        return variables + [v for v in own if id(v) not in seen]

    @_compat.mark_build_as_default
    def build(self, input_shape):
        """Checks the input shape; the layer itself needs no build.

        Marked as Keras's default `build`, so the layer is built at
        instantiation. A subclass whose `build` creates state overrides it
        (and calls `super().build(input_shape)`).
        """
        self._check_input_shape(input_shape)
        self.built = True

    def _check_input_shape(self, shape):
        """Raises a `ValueError` if inputs of `shape` do not suit the layer.

        Runs in `build`, `compute_output_shape` and each call; the default
        accepts any shape.
        """

    def _check_inputs(self, inputs):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if not keras.backend.is_float_dtype(dtype):
            raise ValueError(
                f"Invalid input to layer `{self.name}` "
                f"({type(self).__name__}): expected a floating-point tensor. "
                f"Received: inputs.dtype={dtype}. Cast the input with "
                "`keras.ops.cast(x, 'float32')` first."
            )
        self._check_input_shape(inputs.shape)

    def call(self, inputs, training=None):
        self._check_inputs(inputs)
        # Whether this call trains (read while tracing): wrappers pass it to
        # the wrapped layer and keep its state updates only then, never
        # inside the `cond` below.
        self._training_call = bool(training)
        rate = self._state.rate.value
        if _compat.is_concrete(rate):
            # Eager: the rate as a number (the `rate` setter keeps it in step
            # with the variable), so scalar arithmetic costs no tensor ops.
            # Traced code reads the variable: compiled functions follow
            # rate changes without retracing.
            rate = np.float32(self._rate)
        # One seed per call, drawn outside any branch: JAX cannot update the
        # seed generator's state from inside `cond`.
        seed = self.seed_generator.next()
        noisy = self.dropout_shared if _BATCH_SHARED_NOISE else self.dropout
        return self._branch(
            training,
            lambda: noisy(inputs, rate, seed),
            lambda: self.inference(inputs, rate),
        )

    def _branch(self, training, noisy, clean):
        """`noisy()` when training or in MC mode, else `clean()`.

        The one place training and MC mode are resolved; layers whose call is
        not `call(inputs, training)` (RNN cells) use it directly.
        """
        if training or self.mc:
            return noisy()
        mc = self._state.mc.value
        known = _concrete_bool(mc)
        if known is not None:  # eager: branch in Python, no `cond` to trace
            return noisy() if known else clean()
        return ops.cond(mc, noisy, clean)

    def dropout(self, inputs, rate, seed):
        """Training-time behaviour. `seed`: a seed tensor; `rate`: float32,
        a NumPy scalar in eager calls and a scalar tensor in traced ones.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `dropout()`.")

    def inference(self, inputs, rate):
        """Inference-time behaviour; the identity unless overridden."""
        return inputs

    def dropout_shared(self, inputs, rate, seed):
        """`dropout` with one noise for every row of the batch.

        What `mc_predict(consistent=True)` calls (inside
        `batch_shared_noise`), so that each MC sample is one sub-network
        applied to every row. How depends on `consistent_noise`:
        `"multiplicative"` draws the noise on one row of ones and multiplies
        the inputs by it; `"per_call"` is `dropout` itself (its one draw
        already serves the whole batch). Layers whose noise is neither
        override this method.
        """
        if self.consistent_noise == "per_call":
            return self.dropout(inputs, rate, seed)
        if self.consistent_noise == "multiplicative":
            noise = self.dropout(ops.ones_like(inputs[:1]), rate, seed)
            return ops.multiply(inputs, noise)
        raise NotImplementedError(
            f"{type(self).__name__} does not support one noise per batch "
            "(its `consistent_noise` is None)."
        )

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "mc": self.mc})
        return config


class NoiseShapeDropout(BaseDropout):
    """A dropout layer with Keras's `noise_shape` argument.

    `noise_shape` is checked when the layer is made (Keras's checks and
    wording first) and, against the input shape, when it is built or called.
    """

    def __init__(self, rate, noise_shape=None, seed=None, *, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.noise_shape = _validation.check_noise_shape(noise_shape)

    def _check_input_shape(self, shape):
        if self.noise_shape is not None:
            _validation.check_noise_shape_fits(self.noise_shape, shape)

    def get_config(self):
        config = super().get_config()
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        config["noise_shape"] = noise_shape
        return config


class FeatureMaps:
    """Shared by the layers on `(batch, *spatial, channels)` feature maps
    (or channels first): the input rank is checked when the layer is built
    or called (or its output shape computed), with an error that names the
    expected layout. Subclasses set `rank` and `spatial` (a description of
    the spatial axes, for that message).
    """

    # The input rank (batch included) and how its axes read, per subclass.
    rank = None
    spatial = None

    def _check_input_shape(self, shape):
        if len(shape) == self.rank:
            return
        layout = (
            f"(batch, {self.spatial}, channels)"
            if self.data_format == "channels_last"
            else f"(batch, channels, {self.spatial})"
        )
        raise ValueError(
            f"Invalid input to layer `{self.name}` ({type(self).__name__}): "
            f"expected `inputs` of rank {self.rank}, {layout} for "
            f'data_format="{self.data_format}". Received: '
            f"inputs.shape={tuple(shape)} (rank {len(shape)})"
        )


class WrapperMixin:
    """The base of the pack's wrappers: layers that hold another layer.

    `DropConnect`, `ConcreteDropout`, `EmbeddingDropout` and `ZoneoutCell`
    take the wrapped layer (or cell) as their first argument and keep it
    in the attribute `wrapped_key` names (`"layer"`, `"embedding"`,
    `"cell"`); the mixin builds it, serializes it in `get_config` under that
    key and rebuilds it in `from_config`, and passes output shapes and
    masks through it.

    It also calls the wrapped layer safely. `BaseDropout.call` may trace
    `dropout` and `inference` as the two branches of a `cond` (MC mode in a
    compiled `predict`), where JAX cannot update state. So `_call_wrapped`
    runs the wrapped layer in a nested `keras.StatelessScope`, and its
    state updates (seed generators, moving statistics) and added losses are
    kept only in training calls, which never run inside that `cond`.
    Inference-mode calls of a Keras layer update no state that matters
    (Keras RNNs advance their dropout seed even then).
    """

    # The constructor argument and attribute holding the wrapped layer.
    wrapped_key = "layer"

    @property
    def wrapped(self):
        """The wrapped layer (or cell)."""
        return getattr(self, self.wrapped_key)

    def _build_wrapped(self, input_shape):
        if not self.wrapped.built:
            self.wrapped.build(input_shape)

    def _call_wrapped(self, inputs, replaced=None):
        """`self.layer(inputs)`, with some variables' values replaced.

        `replaced` maps `id(variable)` to the value the wrapped layer sees.
        """
        replaced = replaced or {}
        training = getattr(self, "_training_call", False)
        layer = self.wrapped
        variables = layer.variables
        # Every variable's *current* value (a traced one inside an enclosing
        # stateless scope, as under JAX's `fit`), not only the replaced ones:
        # variables missing from a nested scope would read their stale value.
        mapping = [(v, replaced.get(id(v), v.value)) for v in variables]
        scope = keras.StatelessScope(state_mapping=mapping, collect_losses=True)
        before = {id(v): scope.get_current_value(v) for v in variables}
        with scope:
            outputs = layer(inputs, training=training)
        if training:
            for v in variables:
                if id(v) in replaced:
                    continue  # never write masked weights back
                value = scope.get_current_value(v)
                if value is not before[id(v)]:
                    v.assign(value)
            for loss in scope.losses:
                layer.add_loss(loss)
        return outputs

    def inference(self, inputs, rate):
        return self._call_wrapped(inputs)

    def compute_output_shape(self, input_shape):
        return self.wrapped.compute_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return self.wrapped.compute_mask(inputs, mask)

    def get_config(self):
        config = super().get_config()
        config[self.wrapped_key] = keras.saving.serialize_keras_object(self.wrapped)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        wrapped = keras.saving.deserialize_keras_object(
            config.pop(cls.wrapped_key), custom_objects=custom_objects
        )
        return cls(wrapped, **config)
