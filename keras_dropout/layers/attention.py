"""Dropout on attention keys: DropKeyMultiHeadAttention."""

import keras
import numpy as np
from keras import ops

from keras_dropout import _compat
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout._base import mc_scope_enabled

# Folded into each drawn seed: the key mask gets a stream of its own, distinct
# from that of MultiHeadAttention's attention dropout, which is seeded with
# the same `seed`.
_KEY_SALT = 0x27D4EB2F


class KeyDrop(BaseDropout):
    """Zeroes entries of a 0/1 mask of allowed keys, each with probability
    `rate`: the random part of `DropKeyMultiHeadAttention`, which owns one.

    A pack layer in its own right, so that `mc_dropout()`, `mc_predict`
    (per-row and consistent sampling) and `RateScheduler` reach it; it is
    made by `DropKeyMultiHeadAttention` (not exported, not saved on its own:
    the attention layer's config rebuilds it). Nothing is rescaled: the
    mask goes into the softmax, which renormalises over the kept keys.
    """

    draws_per_row = True
    # The mask is multiplied by the noise: consistent MC dropout draws it for
    # one row and shares it over the batch.
    consistent_noise = "multiplicative"

    def dropout(self, inputs, rate, seed):
        seed = kd_random.fold_in(seed, _KEY_SALT)
        keep = kd_random.keep_mask(ops.shape(inputs), rate, seed)
        return ops.multiply(inputs, ops.cast(keep, inputs.dtype))


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropKeyMultiHeadAttention(keras.layers.MultiHeadAttention):
    """`keras.layers.MultiHeadAttention` with DropKey: keys dropped before
    the softmax.

    In training, each key is masked out of each query's attention logits
    with probability `rate`, independently for every batch element, head
    and query (Li et al.): a boolean keep mask of the attention scores'
    shape, `(B, N, T, S)` for the default attention axes, is ANDed with the
    attention mask Keras computes from `attention_mask`,
    `use_causal_mask=True` and the query/value/key masks. Nothing is
    rescaled: the softmax renormalises each row over its kept keys. A
    dropped key gets probability exactly 0 (as a masked one does).

    If every key a query may attend to (among those the masks allow) is
    dropped, that row falls back to the masks alone, as at inference: no
    NaN, and no weight on a forbidden key.

    The keys are dropped through the mask, so with MultiHeadAttention's own
    `dropout=0` the layer stays on Keras's fused path
    (`keras.ops.dot_product_attention`) in training as at inference; with
    `return_attention_scores=True` (or `dropout > 0`) Keras computes the
    scores explicitly, as MultiHeadAttention does. At inference (outside
    `keras_dropout.mc_dropout()` and with `mc=False`) and with `rate=0`, an
    eager call is exactly MultiHeadAttention's computation; in a compiled
    function the keys are kept through a mask of ones, which gives the same
    values.

    The attention axes can be any (`attention_axes`, or inputs of rank
    above 3): the mask then has the scores' shape `(B, ..., N, <query
    attention dims>, <key attention dims>)`, and a "row" is one query
    position over all key positions.

    It is a drop-in replacement: MultiHeadAttention's arguments in its
    order and its call signature; `rate` and `mc` are keyword-only. The
    layer owns a pack layer (`KeyDrop`) that draws the key mask from its
    own `keras.random.SeedGenerator`, seeded with `seed`, with a salt folded
    into each drawn seed (`keras_dropout.random.fold_in`): the key mask and
    MultiHeadAttention's attention-probability dropout (also seeded with
    `seed`) are not correlated. `mc_dropout()`, `mc_predict` (also with
    `consistent=True`) and `callbacks.RateScheduler` reach that layer; the
    rate can change during training without recompiling. Like
    MultiHeadAttention it takes two inputs, so it fits functional and
    subclassed models, not `Sequential`.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each attention head for query and key.
        *args: MultiHeadAttention's other arguments, in its order
            (`value_dim`, `dropout`, `use_bias`, `output_shape`,
            `attention_axes`, ..., `seed`; they differ slightly between
            Keras versions).
        rate: keyword-only float in `[0, 1)`, the probability of dropping a
            key, per batch element, head and query (not of keeping it).
            Can be changed during training (`layer.rate = 0.2`) without
            recompiling.
        mc: keyword-only; if `True`, drop keys at inference too (Monte
            Carlo dropout).
        **kwargs: MultiHeadAttention's keyword arguments (`seed`,
            `dropout`, ...) and the base layer's (`name`, `dtype`, ...).

    Call arguments:
        MultiHeadAttention's: `query`, `value`, `key`, `query_mask`,
        `value_mask`, `key_mask`, `attention_mask`,
        `return_attention_scores`, `training`, `use_causal_mask`.
        `training=True` drops keys.

    Input shape:
        As MultiHeadAttention: `query` `(B, T, dim)`, `value` and `key`
        `(B, S, dim)` (or more attention dimensions).

    Output shape:
        As MultiHeadAttention: `(B, T, E)`, and the attention scores
        `(B, N, T, S)` with `return_attention_scores=True`.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> layer = keras_dropout.DropKeyMultiHeadAttention(2, 4, rate=0.5, seed=0)
        >>> x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
        >>> out, scores = layer(x, x, return_attention_scores=True, training=True)
        >>> tuple(out.shape), tuple(scores.shape)
        ((2, 6, 8), (2, 2, 6, 6))
        >>> # dropped keys get probability 0; each row still sums to 1
        >>> p = keras.ops.convert_to_numpy(scores)
        >>> bool((p == 0).mean() > 0.3), bool(np.allclose(p.sum(-1), 1, atol=1e-5))
        (True, True)
        >>> plain = keras.layers.MultiHeadAttention(2, 4)  # inference: the same
        >>> _ = plain(x, x)
        >>> plain.set_weights(layer.get_weights())
        >>> ours, theirs = layer(x, x), plain(x, x)
        >>> bool(np.array_equal(*map(keras.ops.convert_to_numpy, (ours, theirs))))
        True

    Reference:
        - [Li et al., 2023](https://arxiv.org/abs/2208.02646): DropKey for
          Vision Transformer (CVPR 2023).
    """

    def __init__(self, num_heads, key_dim, *args, rate, mc=False, **kwargs):
        if not _compat.mha_attention_hook():
            raise ValueError(  # pragma: no cover - depends on Keras internals
                "DropKeyMultiHeadAttention needs keras.layers.MultiHeadAttention"
                "._compute_attention(query, key, value, attention_mask, "
                f"training, ...), which Keras {keras.__version__} does not have."
            )
        super().__init__(num_heads, key_dim, *args, **kwargs)
        # Checks `rate`, `seed` and `mc` (the pack's messages).
        self.key_drop = KeyDrop(
            rate, seed=self.seed, mc=mc, dtype=self.dtype_policy, name="key_drop"
        )

    @property
    def rate(self):
        """The probability of dropping a key, as a Python float.

        Setting it (`layer.rate = 0.2`) validates the value and updates the
        rate variable compiled functions read: no recompilation is needed.
        """
        return self.key_drop.rate

    @rate.setter
    def rate(self, value):
        self.key_drop.rate = value

    @property
    def mc(self):
        """Whether keys are dropped at inference too (Monte Carlo)."""
        return self.key_drop.mc

    def _compute_attention(
        self, query, key, value, attention_mask=None, training=None, *args, **kwargs
    ):
        # Keras passes `return_attention_scores` (and, for some versions and
        # calls, `use_causal_mask`) after `training`: forwarded as received.
        causal = bool(kwargs.get("use_causal_mask", False))
        attention_mask = self._drop_keys(query, key, attention_mask, training, causal)
        return super()._compute_attention(
            query, key, value, attention_mask, training, *args, **kwargs
        )

    def _drop_keys(self, query, key, attention_mask, training, causal):
        """The attention mask with keys dropped (or `attention_mask` itself)."""
        drop = self.key_drop
        if _compat.is_concrete(drop.rate_variable.value):
            # Eager: decided in Python, so that inference and rate 0 run
            # exactly MultiHeadAttention's computation (no mask of ones).
            noisy = training or drop.mc or mc_scope_enabled()
            if drop.rate == 0.0 or not noisy:
                return attention_mask
        allowed = self._allowed_keys(query, key, attention_mask, causal)
        # KeyDrop resolves training, MC mode and consistent sampling.
        kept = drop(ops.cast(allowed, drop.compute_dtype), training=training)
        kept = ops.greater(kept, 0)
        # Rows whose allowed keys were all dropped keep the masks alone.
        key_axes = tuple(range(-len(self.attention_axes), 0))
        empty = ops.logical_not(ops.any(kept, axis=key_axes, keepdims=True))
        return ops.logical_or(kept, ops.logical_and(empty, allowed))

    def _allowed_keys(self, query, key, attention_mask, causal):
        """A boolean mask of the attention scores' shape: the keys the masks
        allow each query (all of them without a mask)."""
        rank = len(query.shape)
        axes = tuple(self.attention_axes)
        q_shape, k_shape = ops.shape(query), ops.shape(key)
        # (<batch dims>, num_heads, <query attention dims>, <key attention
        # dims>): MultiHeadAttention's einsum equations, axis for axis.
        batch = np.delete(np.arange(rank), axes + (rank - 1,))
        shape = (
            tuple(q_shape[i] for i in batch)
            + tuple(q_shape[a] for a in axes)
            + tuple(k_shape[a] for a in axes)
        )
        mask = None if attention_mask is None else ops.cast(attention_mask, "bool")
        if causal:
            causal_mask = _causal_mask(q_shape[1], k_shape[1])
            mask = causal_mask if mask is None else ops.logical_and(mask, causal_mask)
        if mask is None:
            return ops.ones(shape, dtype="bool")
        # Broadcast over the heads (and other batch dims) as Keras does.
        while len(mask.shape) < len(shape):
            mask = ops.expand_dims(mask, -2 * len(axes) - 1)
        return ops.broadcast_to(mask, shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "mc": self.mc})
        return config


def _causal_mask(queries, keys):
    """`(1, T, S)`, True where key index <= query index (Keras's causal mask)."""
    rows = ops.expand_dims(ops.arange(queries, dtype="int32"), -1)
    cols = ops.expand_dims(ops.arange(keys, dtype="int32"), 0)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)
