"""Variational ("locked") dropout: one mask for every timestep."""

import keras

from keras_dropout import _validation
from keras_dropout import functional
from keras_dropout._base import BaseDropout


def _check_time_axis(time_axis, rank=None):
    """An int axis other than the batch axis 0; in range once `rank` is known."""
    if rank is None:
        expected = "an int axis of the inputs other than the batch axis 0"
        if not _validation.is_int(time_axis) or time_axis == 0:
            raise _validation.invalid("time_axis", expected, time_axis)
        return int(time_axis)
    if not (-rank <= time_axis < rank) or time_axis % rank == 0:
        raise _validation.invalid(
            "time_axis",
            f"an axis of the rank-{rank} inputs other than the batch axis 0: "
            f"in [1, {rank - 1}] or [{-rank + 1}, -1]",
            time_axis,
        )
    return time_axis % rank


@keras.saving.register_keras_serializable(package="keras_dropout")
class VariationalDropout(BaseDropout):
    """Dropout with the same mask at every timestep of a sequence.

    Each sample draws one dropout mask over its features and applies it at
    every timestep: a unit dropped at step 1 stays dropped until the end of
    the sequence (kept units are divided by `1 - rate`). Masks differ from
    sample to sample and from call to call. This is the dropout of Gal &
    Ghahramani (2016), who derive it as approximate variational inference
    in RNNs and find it regularizes them better than a new mask at every
    step (what plain `Dropout` draws), and AWD-LSTM's "locked dropout".

    Relation to Keras's RNN arguments: `keras.layers.LSTM(dropout=...)` and
    `recurrent_dropout=...` (likewise `GRU`, `SimpleRNN`) already reuse one
    mask across the timesteps of a sequence, for the cell's *inputs* and
    its *recurrent state* respectively; use those for dropout inside a
    recurrent layer. Use `VariationalDropout` for what they do not reach:

    - between stacked RNN layers, on the full `return_sequences=True`
      output, and after the last one, before a per-step head;
    - on embeddings (AWD-LSTM applies it to the embedding output and
      between every LSTM layer);
    - on the inputs of layers with no dropout argument of their own
      (`Conv1D`, attention and transformer blocks, `Bidirectional` wrappers
      of third-party cells);
    - in front of a cuDNN-friendly `LSTM` or `GRU` with `dropout=0` and
      `recurrent_dropout=0`: on TensorFlow with a GPU any nonzero
      `recurrent_dropout` rules out the fast cuDNN kernel, so locked
      dropout on the layer's inputs and outputs is the usual replacement;
    - for Monte Carlo dropout at prediction time (`mc=True` or
      `keras_dropout.mc_dropout()`), which the RNN arguments do not offer.

    Compared with Keras (which has no such layer; the nearest is
    `keras.layers.Dropout(rate, noise_shape=(None, 1, None))`), it takes the
    time axis instead of a rank-specific `noise_shape`, so it works on
    inputs of any rank `>= 3` with unknown batch and sequence lengths, and
    adds `mc`, a rate that can change during training without recompiling,
    and masks that are the same on TensorFlow, JAX and PyTorch for the same
    seed. Inference is the identity. A Keras mask (from
    `Embedding(mask_zero=True)` or `Masking`) passes through unchanged.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a unit (not of
            keeping it). Can be changed during training (`layer.rate = 0.2`)
            without recompiling.
        time_axis: int, the axis the mask is shared along (default 1, as in
            `(batch, timesteps, features)`). Negative values count from the
            end; it cannot be the batch axis 0.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop units at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank 3 or more, such as
            `(batch, timesteps, features)`.
        training: Python bool; `True` applies dropout. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        A tensor of rank `>= 3`, with the time axis at `time_axis`.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.VariationalDropout(0.5, seed=0)
        >>> x = np.ones((2, 4, 6), "float32")  # (batch, timesteps, features)
        >>> y = np.asarray(layer(x, training=True))
        >>> bool(np.all(y == y[:, :1, :]))  # the same mask at every timestep
        True
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Gal & Ghahramani, 2016](https://arxiv.org/abs/1512.05287):
          A theoretically grounded application of dropout in recurrent
          neural networks.
        - [Merity et al., 2017](https://arxiv.org/abs/1708.02182):
          Regularizing and optimizing LSTM language models (AWD-LSTM).
    """

    draws_per_row = True
    consistent_noise = "multiplicative"

    def __init__(self, rate, time_axis=1, seed=None, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.time_axis = _check_time_axis(time_axis)

    def _check_input_shape(self, shape):
        self._noise_shape(shape)  # validates the rank and the axis

    def _noise_shape(self, input_shape):
        rank = len(input_shape)
        if rank < 3:
            raise ValueError(
                f"Invalid input to layer `{self.name}` (VariationalDropout): "
                "expected `inputs` of rank 3 or more, such as (batch, "
                f"timesteps, features). Received: inputs.shape="
                f"{tuple(input_shape)} (rank {rank}). 2D inputs have no time "
                "axis: use `keras_dropout.Dropout` there."
            )
        axis = _check_time_axis(self.time_axis, rank)
        return tuple(1 if i == axis else None for i in range(rank))

    def dropout(self, inputs, rate, seed):
        noise_shape = self._noise_shape(inputs.shape)
        return functional.unchecked.dropout(inputs, rate, seed, noise_shape=noise_shape)

    def get_config(self):
        config = super().get_config()
        config["time_axis"] = self.time_axis
        return config
