"""Embedding dropout: drop whole words (rows of an embedding matrix)."""

import keras
from keras import ops

from keras_dropout import _validation
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout._base import WrapperMixin


def _check_embedding(embedding):
    if not isinstance(embedding, keras.layers.Embedding):
        raise _validation.invalid(
            "embedding", "a `keras.layers.Embedding` instance", embedding
        )
    return embedding


@keras.saving.register_keras_serializable(package="keras_dropout")
class EmbeddingDropout(WrapperMixin, BaseDropout):
    """Drops whole words of a wrapped `Embedding` during training.

    At each training call every row of the embedding matrix (one per token
    *type*, i.e. per vocabulary entry) is dropped with probability `rate`:
    every occurrence of a dropped token in the batch is looked up as a zero
    vector, and the rows that are kept are divided by `1 - rate`. So equal
    token ids within a batch always share their fate, unlike ordinary
    dropout on the embedded sequence, which drops each occurrence (and each
    feature) independently. At inference the layer is the wrapped
    `Embedding`.

    One Bernoulli draw is made per vocabulary entry (a mask of shape
    `(input_dim, 1)`). Rather than multiplying the whole
    `(input_dim, output_dim)` matrix by it and looking the ids up in the
    result, the layer looks the ids up in the mask and multiplies the
    ordinary lookup by those values: the result is the same, but the work
    per call is `input_dim + batch * length * output_dim` instead of
    `input_dim * output_dim + batch * length * output_dim`, and no masked
    copy of the matrix is made. Gradients reach the embedding matrix through
    the lookup; the rows of dropped words get zero gradient at that step.

    The wrapped layer's weights are the only weights; its `mask_zero`
    masking is kept (`compute_mask` is the embedding's).

    Args:
        embedding: the `keras.layers.Embedding` to wrap. It is built by the
            wrapper. Give it the same `dtype` policy as the wrapper.
        rate: float in `[0, 1)`, the probability of dropping each word type
            (not of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop words at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: integer token ids (floating-point ids are cast to int32, as
            `Embedding` does), any shape.
        training: Python bool; `True` drops words. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        Any shape `(batch_size, ...)` of token ids in `[0, input_dim)`.

    Output shape:
        The input shape followed by `output_dim`.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> to_numpy = keras.ops.convert_to_numpy
        >>> embedding = keras.layers.Embedding(10, 3)
        >>> layer = keras_dropout.EmbeddingDropout(embedding, rate=0.5, seed=0)
        >>> ids = np.array([[1, 2, 1, 3, 2, 1]])
        >>> out = to_numpy(layer(ids, training=True))[0]
        >>> table = to_numpy(embedding.embeddings)
        >>> all(np.array_equal(out[i], out[j]) for i in range(6) for j in range(6)
        ...     if ids[0, i] == ids[0, j])  # equal words share their fate
        True
        >>> bool(np.all([(v == 0).all() or np.allclose(v, 2 * table[t])
        ...              for v, t in zip(out, ids[0])]))
        True
        >>> bool(np.array_equal(to_numpy(layer(ids)), to_numpy(embedding(ids))))
        True

    Reference:
        - [Gal & Ghahramani, 2016](https://arxiv.org/abs/1512.05287):
          A theoretically grounded application of dropout in recurrent
          neural networks (section 4.1, word embedding dropout).
        - [Merity et al., 2017](https://arxiv.org/abs/1708.02182):
          Regularizing and optimizing LSTM language models
          (`embedded_dropout`).
    """

    wrapped_key = "embedding"
    consistent_noise = "per_call"  # one draw over the vocabulary per call

    def __init__(self, embedding, rate, seed=None, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.embedding = _check_embedding(embedding)
        # Token ids must reach the embedding unchanged: no float16 ids.
        self.autocast = False

    def build(self, input_shape):
        self._build_wrapped(input_shape)
        super().build(input_shape)

    def _check_inputs(self, inputs):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if dtype == "bool" or not (
            "int" in dtype or keras.backend.is_float_dtype(dtype)
        ):
            raise ValueError(
                f"Invalid input to layer `{self.name}` "
                f"({type(self).__name__}): expected integer token ids. "
                f"Received: inputs.dtype={dtype}."
            )

    def dropout(self, inputs, rate, seed):
        outputs = self.embedding(inputs)
        ids = inputs
        if keras.backend.standardize_dtype(ids.dtype) not in ("int32", "int64"):
            ids = ops.cast(ids, "int32")
        keep = kd_random.keep_mask((self.embedding.input_dim,), rate, seed)
        scale = ops.divide(1.0, ops.subtract(1.0, rate))
        row_scale = ops.where(keep, scale, ops.zeros_like(scale))
        factor = ops.take(row_scale, ids, axis=0)
        factor = ops.cast(ops.expand_dims(factor, -1), outputs.dtype)
        return ops.multiply(outputs, factor)

    def inference(self, inputs, rate):
        # A lookup updates no state: no stateless scope needed.
        return self.embedding(inputs)
