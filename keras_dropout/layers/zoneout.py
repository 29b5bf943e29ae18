"""Zoneout: recurrent state units randomly keep their previous value."""

import keras
from keras import ops

from keras_dropout import _compat
from keras_dropout import _validation
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout._base import WrapperMixin

# Keras's mixin for RNN cells with dropout (see `_compat`): `keras.layers.RNN`
# calls its `get_dropout_mask` / `reset_dropout_mask` before and after its
# loop, where ZoneoutCell draws its seed once per sequence. If it cannot be
# found, a stand-in base and a seed per step.
_DropoutRNNCell = _compat.dropout_rnn_cell_class()

# Salts that give each state of a cell, and each step, its own random stream.
_STATE_SALT = 0x85EBCA6B
_STEP_SALT = 0xC2B2AE35


def _flat_state_size(cell):
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _check_cell(cell):
    if not isinstance(cell, keras.layers.Layer) or not hasattr(cell, "state_size"):
        raise _validation.invalid(
            "cell",
            "a Keras RNN cell: a `keras.layers.Layer` with a `state_size`, "
            "such as `keras.layers.LSTMCell(64)`",
            cell,
        )
    return cell


def _check_rates(rate, count):
    """One rate, or one per state; returned as a tuple of `count` floats."""
    if isinstance(rate, (list, tuple)):
        if len(rate) != count:
            raise _validation.invalid(
                "rate",
                f"a float in the range [0, 1) or a list of {count} such "
                "floats (one per state of the wrapped cell)",
                rate,
            )
        try:
            return tuple(_validation.check_rate(r) for r in rate)
        except ValueError:
            raise _validation.invalid(
                "rate",
                f"a float in the range [0, 1) or a list of {count} floats in "
                "the range [0, 1) (the probability that a state unit keeps "
                "its previous value)",
                rate,
            ) from None
    return (_validation.check_rate(rate),) * count


@keras.saving.register_keras_serializable(package="keras_dropout")
class ZoneoutCell(WrapperMixin, BaseDropout, _DropoutRNNCell):
    """Zoneout for any Keras RNN cell: state units keep their old value.

    At each training step, each unit of each state of the wrapped cell keeps
    its previous value with probability `rate` instead of taking the value
    the cell computed (Krueger et al.), with a fresh draw per step, sample
    and unit:

        h_t = m * h_{t-1} + (1 - m) * cell(x_t, h_{t-1}),  m ~ Bernoulli(rate)

    At inference the layer uses the expectation,
    `rate * h_{t-1} + (1 - rate) * cell(x_t, h_{t-1})`, or in Monte Carlo
    mode (`mc=True` or `keras_dropout.mc_dropout()`) the training-time
    draws. Unlike dropout, nothing is zeroed or rescaled: a zoned-out unit
    passes its previous value on, so gradients and information flow through
    time as through an identity connection.

    Use it inside `keras.layers.RNN`:
    `keras.layers.RNN(ZoneoutCell(keras.layers.LSTMCell(64), rate=0.1))`.
    Masked timesteps (`Embedding(mask_zero=True)`) keep the whole state, as
    with any cell.

    The output of the step: when the wrapped cell's output *is* its first
    state (`SimpleRNNCell`, `GRUCell` and `LSTMCell` all return `h`), the
    output is the zoned-out first state, so the output sequence is the `h`
    the next step starts from (for LSTM, zoneout on both `h` and `c`, as in
    the paper). Otherwise the cell's output is returned unchanged.

    Randomness: when the cell runs in `keras.layers.RNN`, one seed is drawn
    from the layer's seed generator per RNN call, before the loop (the loop
    of JAX's backend is a `lax.scan`, where a seed generator cannot advance);
    each step mixes that seed with a hash of the step's inputs and previous
    states, so every step draws a new mask and the whole call is jit-safe.
    Called directly, outside an RNN, every step draws its own seed.

    Args:
        cell: the RNN cell to wrap (`SimpleRNNCell`, `GRUCell`, `LSTMCell`
            or any cell with a `state_size`). It is built by the wrapper.
        rate: float in `[0, 1)`, the probability that a state unit keeps its
            previous value; or a list with one such rate per state (for
            `LSTMCell`: `[rate_h, rate_c]`). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        seed: optional int for the layer's seed generator.
        mc: if `True`, apply random zoneout at inference too (Monte Carlo).
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: the step's input, `(batch_size, input_dim)`.
        states: the list of previous states.
        training: Python bool; `True` applies random zoneout, `False` the
            expectation. `keras.layers.RNN` passes it on.

    Input shape:
        `(batch_size, input_dim)` per step; `(batch_size, timesteps,
        input_dim)` for the enclosing `keras.layers.RNN`.

    Output shape:
        That of the wrapped cell: `(batch_size, output_size)` and the states.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> cell = keras_dropout.ZoneoutCell(keras.layers.LSTMCell(4), rate=0.2,
        ...                                  seed=0)
        >>> rnn = keras.layers.RNN(cell, return_sequences=True)
        >>> x = np.ones((2, 5, 3), "float32")
        >>> tuple(rnn(x, training=True).shape)
        (2, 5, 4)
        >>> cell.state_size
        [4, 4]

    Reference:
        - [Krueger et al., 2017](https://arxiv.org/abs/1606.01305):
          Zoneout: regularizing RNNs by randomly preserving hidden
          activations.
    """

    wrapped_key = "cell"

    def __init__(self, cell, rate, seed=None, mc=False, **kwargs):
        cell = _check_cell(cell)
        count = len(_flat_state_size(cell))
        rates = _check_rates(rate, count)
        super().__init__(rates[0], seed=seed, mc=mc, **kwargs)
        self.cell = cell
        self._count = count
        self._set_rates(rate, rates)
        self._call_seed = None

    # --- rate: one float, or one per state ----------------------------------

    def _set_rates(self, rate, rates):
        self._rate = list(rates) if isinstance(rate, (list, tuple)) else rates[0]
        if getattr(self, "_rates_vector", False):
            self._state.rate.assign(list(rates))
            return
        # Replaces the base's scalar rate variable, once: a vector with one
        # rate per state, which compiled functions read at every step.
        with keras.name_scope(self.name):
            self._state.rate = keras.Variable(
                list(rates),
                dtype="float32",
                trainable=False,
                autocast=False,
                name="rate",
            )
        self._rates_vector = True

    @property
    def rate(self):
        """The zoneout probability: a float, or a list with one per state.

        Setting it validates the value and updates the layer's rate
        variable (one entry per state), read by compiled functions at every
        step: no recompilation is needed.
        """
        return self._rate

    @rate.setter
    def rate(self, value):
        self._set_rates(value, _check_rates(value, self._count))

    # --- the RNN cell API ---------------------------------------------------

    @property
    def state_size(self):
        return self.cell.state_size

    @property
    def output_size(self):
        size = getattr(self.cell, "output_size", None)
        return _flat_state_size(self.cell)[0] if size is None else size

    def get_initial_state(self, batch_size=None):
        get_initial_state = getattr(self.cell, "get_initial_state", None)
        if get_initial_state is not None:
            return get_initial_state(batch_size=batch_size)
        return [
            ops.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in _flat_state_size(self.cell)
        ]

    def build(self, input_shape):
        self._build_wrapped(input_shape)
        self.built = True

    # Called by `keras.layers.RNN` before and after its loop.

    def get_dropout_mask(self, step_input):
        self._call_seed = self.seed_generator.next()
        if isinstance(self.cell, _DropoutRNNCell):
            return self.cell.get_dropout_mask(step_input)
        return None

    def get_recurrent_dropout_mask(self, step_input):
        if isinstance(self.cell, _DropoutRNNCell):
            return self.cell.get_recurrent_dropout_mask(step_input)
        return None

    def reset_dropout_mask(self):
        self._call_seed = None
        if isinstance(self.cell, _DropoutRNNCell):
            self.cell.reset_dropout_mask()

    def reset_recurrent_dropout_mask(self):
        if isinstance(self.cell, _DropoutRNNCell):
            self.cell.reset_recurrent_dropout_mask()

    # --- the step -----------------------------------------------------------

    def _step_seed(self, inputs, states):
        if self._call_seed is None:  # called directly: a seed per step
            return self.seed_generator.next()
        key = kd_random.hash_values([inputs, *states])
        return kd_random.fold_in(kd_random.fold_in(self._call_seed, key), _STEP_SALT)

    def _zoneout(self, previous, new, rates, seed):
        seed = ops.cast(seed, "int32")
        zoned = []
        for i, (old, fresh) in enumerate(zip(previous, new, strict=True)):
            state_seed = kd_random.fold_in(seed, _STATE_SALT * (i + 1)) if i else seed
            take_new = kd_random.keep_mask(ops.shape(fresh), rates[i], state_seed)
            zoned.append(ops.where(take_new, fresh, ops.cast(old, fresh.dtype)))
        return zoned

    def _expectation(self, previous, new, rates):
        return [
            ops.add(
                ops.multiply(
                    ops.cast(rates[i], fresh.dtype), ops.cast(old, fresh.dtype)
                ),
                ops.multiply(ops.cast(1.0 - rates[i], fresh.dtype), fresh),
            )
            for i, (old, fresh) in enumerate(zip(previous, new, strict=True))
        ]

    def call(self, inputs, states, training=None):
        # An RNN cell's call takes `states`, so this replaces BaseDropout's
        # `call`; training / MC resolution is the base's `_branch`.
        nested = isinstance(states, (list, tuple))
        previous = list(states) if nested else [states]
        output, new_states = self.cell(
            inputs, states if nested else previous, training=training
        )
        new_nested = isinstance(new_states, (list, tuple))
        new = list(new_states) if new_nested else [new_states]
        output_is_state = output is new[0]

        rates = [self._state.rate.value[i] for i in range(self._count)]
        seed = self._step_seed(inputs, previous)

        def zoneout():
            return self._zoneout(previous, new, rates, seed)

        def expectation():
            return self._expectation(previous, new, rates)

        result = self._branch(training, zoneout, expectation)
        if output_is_state:
            output = result[0]
        return output, (result if new_nested else result[0])
