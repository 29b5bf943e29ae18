"""Token and attention-head dropout for transformers: PatchDropout, DropHead."""

import warnings

import keras
import numpy as np
from keras import ops

from keras_dropout import _compat
from keras_dropout import _validation
from keras_dropout import functional
from keras_dropout._base import BaseDropout
from keras_dropout._base import mc_scope_enabled


def _where(layer):
    return f" of layer `{layer.name}` ({type(layer).__name__})"


@keras.saving.register_keras_serializable(package="keras_dropout")
class PatchDropout(BaseDropout):
    """Removes a random subset of a vision transformer's patch tokens.

    Called on tokens `(batch, tokens, features)`, of which the first
    `num_prefix_tokens` are prefix tokens (a CLS token, register tokens)
    and the others patch tokens, it keeps, in training, every prefix token
    (in front) and `num_keep = max(1, round((1 - rate) * patches))` of the
    `patches = tokens - num_prefix_tokens` patch tokens, chosen uniformly at
    random and independently for each sample. The output has
    `num_prefix_tokens + num_keep` tokens: fewer tokens make each training
    step cheaper, and regularize like dropout. Nothing is rescaled (tokens
    are removed, not zeroed). Inference is the identity.

    **The token count differs between training and inference.** As in
    timm, the layer suits models whose later layers do not depend on the
    number of tokens: attention blocks, then the CLS token or a pooling
    over tokens (not a `Flatten`, nor positional embeddings added after
    it). Keras computes a layer's output shape once, symbolically:
    `compute_output_shape` gives the inference shape (the input's), and
    `model.fit` (also with `jit_compile=True`: the training shape is static
    too) runs with the smaller training shape.

    Compared with timm's `PatchDropout`: `num_keep` is rounded (timm
    truncates, `int((1 - rate) * patches)`); seeded draws, the same on
    TensorFlow, JAX and PyTorch with the `"portable"` generator; and `mc`.
    `rate=0` (or `num_keep == patches`) returns the inputs unchanged.

    Because the token count is a static shape:

    * `rate` can be changed (`layer.rate = 0.3`), but a compiled function
      (`model.fit`'s train step once traced, `jax.jit`) keeps the count it
      was traced with: a warning says so when that happens. Recompile the
      model (`model.compile(...)`) to use the new rate there.
    * In MC mode (`mc=True` or the `keras_dropout.mc_dropout()` scope),
      `predict` returns the training shape. As the two shapes cannot meet
      in one compiled function, the scope is read when a function is
      traced: `mc_dropout(model)` (and so `mc_predict`) retraces `model`'s
      compiled functions on entry and exit; `mc_dropout()` without a model
      reaches eager calls and functions traced inside it.
    * Masks are not propagated (the tokens are reordered and removed):
      Keras warns when a masked input reaches the layer.

    Args:
        rate: float in `[0, 1)`, the fraction of patch tokens to remove
            (not to keep).
        num_prefix_tokens: non-negative int, how many leading tokens are
            always kept; 1 (a CLS token) by default, 0 for none.
        ordered: bool; `True` keeps the kept patch tokens in their input
            order, `False` (the default, as timm) in random order. Order
            does not matter to attention without positional information
            added later.
        seed: optional int for the layer's seed generator.
        mc: keyword-only; if `True`, remove tokens at inference too (Monte
            Carlo dropout).
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor `(batch, tokens, *features)` whose
            number of tokens is known (more than `num_prefix_tokens`); the
            batch size may be unknown.
        training: Python bool; `True` removes tokens.

    Input shape:
        `(batch, tokens, *features)`, `tokens` known.

    Output shape:
        Training (and MC mode): `(batch, num_prefix_tokens + num_keep,
        *features)`. Inference, and `compute_output_shape`: the input shape.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.PatchDropout(0.5, seed=0)
        >>> x = np.random.default_rng(0).normal(size=(2, 1 + 8, 4)).astype("float32")
        >>> y = np.asarray(layer(x, training=True))
        >>> y.shape  # CLS + round(0.5 * 8) patches
        (2, 5, 4)
        >>> bool(np.all(y[:, 0] == x[:, 0]))  # the CLS token, first
        True
        >>> bool(all(any(np.all(row == x[0], axis=1)) for row in y[0]))  # input rows
        True
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Liu et al., 2022](https://arxiv.org/abs/2208.07220): PatchDropout:
          economizing vision transformers using patch dropout.
        - [Li et al., 2022](https://arxiv.org/abs/2212.00794): Scaling
          language-image pre-training via masking (FLIP).
    """

    draws_per_row = True
    # One selection of kept token positions for the whole batch, gathered
    # from every row (`dropout_shared`): every row then goes through the
    # same sub-network, which is what consistent MC dropout needs. The
    # noise is not multiplicative (tokens are removed), hence "custom".
    consistent_noise = "custom"

    def __init__(
        self,
        rate,
        num_prefix_tokens=1,
        ordered=False,
        seed=None,
        *,
        mc=False,
        **kwargs,
    ):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        if not _validation.is_int(num_prefix_tokens) or num_prefix_tokens < 0:
            raise _validation.invalid(
                "num_prefix_tokens",
                "a non-negative int (the leading tokens always kept)",
                num_prefix_tokens,
            )
        self.num_prefix_tokens = int(num_prefix_tokens)
        self.ordered = _validation.check_bool(ordered, "ordered")
        # Tokens are reordered and removed: no mask can follow them.
        self.supports_masking = False
        # The rate a compiled function was traced with (see `rate`).
        self._traced_rate = None

    @property
    def rate(self):
        """The fraction of patch tokens removed, as a Python float.

        Setting it validates the value; eager calls use it at once. The
        kept count is a static shape, so a compiled function keeps the
        rate it was traced with (a warning says so).
        """
        return self._rate

    @rate.setter
    def rate(self, value):
        BaseDropout.rate.fset(self, value)
        if self._traced_rate is not None and self._traced_rate != self._rate:
            warnings.warn(
                f"Layer `{self.name}` (PatchDropout): the rate changed to "
                f"{self._rate} after a function was compiled with rate "
                f"{self._traced_rate}. The number of kept tokens is a static "
                "shape: compiled functions keep the old one until they are "
                "traced again (call `model.compile(...)` again for `fit`).",
                stacklevel=2,
            )

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        if len(shape) < 3 or shape[1] is None or shape[1] <= self.num_prefix_tokens:
            raise ValueError(
                f"Invalid value received for argument `inputs`{_where(self)}. "
                "Expected a tensor (batch, tokens, *features) of rank >= 3 "
                "whose tokens axis (axis 1) is known and holds more than "
                f"num_prefix_tokens={self.num_prefix_tokens} tokens: the "
                "number of kept tokens is a static shape. Received: "
                f"inputs.shape={shape}"
            )

    # The MC scope is read in Python when a function is traced (see
    # `_branch`): `mc_dropout(model)` retraces the model's compiled functions.
    traces_mc_scope = True

    def _branch(self, training, noisy, clean):
        # The two branches have different shapes: no `cond` can join them.
        # Eager calls follow the MC scope (the base class branches in
        # Python); traced ones follow `training`, `mc` and the scope as it
        # is while tracing.
        if training or self.mc or _compat.is_concrete(self.rate_variable.value):
            return super()._branch(training, noisy, clean)
        return noisy() if mc_scope_enabled() else clean()

    def dropout(self, inputs, rate, seed):
        # The Python rate, not the traced variable: it sets a static shape.
        if not isinstance(rate, np.floating):
            self._traced_rate = self._rate
        return functional.unchecked.patch_dropout(
            inputs, self._rate, seed, self.num_prefix_tokens, self.ordered
        )

    def dropout_shared(self, inputs, rate, seed):
        # One selection for the batch: drop tokens from a single row of token
        # positions, then gather those positions from every row.
        tokens = inputs.shape[1]
        positions = ops.reshape(ops.arange(tokens, dtype="float32"), (1, tokens, 1))
        kept = ops.cast(self.dropout(positions, rate, seed), "int32")
        kept = ops.reshape(kept, (1, -1) + (1,) * (len(inputs.shape) - 2))
        return ops.take_along_axis(inputs, kept, axis=1)

    def get_config(self):
        config = super().get_config()
        config["num_prefix_tokens"] = self.num_prefix_tokens
        config["ordered"] = self.ordered
        return config


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropHead(BaseDropout):
    """Drops whole attention heads, per sample (DropHead).

    The axis `head_axis` of the input holds `num_heads` heads. By default
    (`head_axis=-1`) it is the last axis of `(batch, ..., num_heads *
    head_dim)` tensors, split into `num_heads` contiguous groups of
    `head_dim` units: the per-head outputs of an attention block
    concatenated head by head, before the output projection (in Keras,
    `MultiHeadAttention` keeps that tensor inside; a hand-written attention
    block, or the per-head outputs of a custom one, exposes it). With
    `head_axis=1`, a per-head tensor `(batch, heads, ...)`: each head is one
    entry of that axis, and every other axis is shared.

    In training, each sample drops each head with probability `rate`,
    zeroing all its units at every position (the mask has shape
    `(batch, 1, ..., num_heads, ..., 1)`, broadcast over `head_dim`), and,
    as in the paper, multiplies the kept heads by `num_heads / kept`, where
    `kept` is that sample's number of kept heads: each sample keeps the
    scale of its full set of heads exactly, not only in expectation (as
    `1 / (1 - rate)` would). A sample whose heads are all dropped (chance
    `rate ** num_heads`) gives zeros, not NaN. Inference is the identity.

    Compared with the paper's code: seeded draws, the same on TensorFlow,
    JAX and PyTorch with the `"portable"` generator; `mc` and the
    `keras_dropout.mc_dropout()` scope; and a rate that can change during
    training without recompiling, for the paper's V-shaped schedule
    (`keras_dropout.callbacks.RateScheduler`).

    Args:
        rate: float in `[0, 1)`, the probability of dropping a head (not of
            keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        num_heads: positive int, the number of heads; it must divide the
            size of `head_axis` (checked when the layer is built).
        seed: optional int for the layer's seed generator.
        head_axis: keyword-only int, the axis holding the heads: `-1` (the
            default) for `(batch, ..., heads * head_dim)`, `1` for
            `(batch, heads, ...)`; any axis but the batch axis 0.
        mc: keyword-only; if `True`, drop heads at inference too (Monte
            Carlo dropout).
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of rank >= 2, batch first; the size
            of `head_axis` must be known, the other sizes may not be.
        training: Python bool; `True` drops heads.

    Input shape:
        Arbitrary, batch first, rank >= 2.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.DropHead(0.5, num_heads=4, seed=0)
        >>> x = np.ones((8, 3, 4 * 2), "float32")  # 4 heads of 2 units
        >>> y = np.asarray(layer(x, training=True)).reshape(8, 3, 4, 2)
        >>> bool(np.all(y == y[:, :1, :, :1]))  # whole heads, every token
        True
        >>> heads = y[:, 0, :, 0]  # per sample, 4 / kept heads or 0
        >>> kept = np.maximum((heads > 0).sum(axis=1, keepdims=True), 1)
        >>> bool(np.all((heads == 0) | (heads == np.float32(4) / kept.astype("f4"))))
        True
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True

    Reference:
        - [Zhou et al., 2020](https://arxiv.org/abs/2004.13342): Scheduled
          DropHead: a regularization method for transformer models.
    """

    draws_per_row = True
    consistent_noise = "multiplicative"

    def __init__(self, rate, num_heads, seed=None, *, head_axis=-1, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.num_heads = _validation.check_positive_int(num_heads, "num_heads")
        if not _validation.is_int(head_axis) or head_axis == 0:
            raise _validation.invalid(
                "head_axis", "an int other than the batch axis 0", head_axis
            )
        self.head_axis = int(head_axis)

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        rank = len(shape)
        axis = self.head_axis
        if rank < 2:
            raise ValueError(
                f"Invalid value received for argument `inputs`{_where(self)}. "
                "Expected a tensor of rank >= 2, batch first, with a heads "
                f"axis. Received: inputs.shape={shape} (rank {rank})"
            )
        if not -rank < axis < rank:
            raise _validation.invalid(
                "head_axis",
                f"an axis of the inputs{_where(self)} other than the batch "
                f"axis 0: in [1, {rank - 1}] or [{1 - rank}, -1] for "
                f"inputs.shape={shape}",
                axis,
            )
        size = shape[axis]
        if size is None:
            raise ValueError(
                f"Invalid value received for argument `inputs`{_where(self)}. "
                f"Expected a known size on axis {axis}, the heads axis. "
                f"Received: inputs.shape={shape}"
            )
        if size % self.num_heads:
            raise _validation.invalid(
                "num_heads",
                f"a divisor of {size}, the size of axis {axis} (the heads "
                f"axis) of the inputs{_where(self)}, inputs.shape={shape}",
                self.num_heads,
            )

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.drop_head(
            inputs, rate, self.num_heads, seed, self.head_axis
        )

    def get_config(self):
        config = super().get_config()
        config["num_heads"] = self.num_heads
        config["head_axis"] = self.head_axis
        return config
