"""EmbeddingDropout: what the generic checks do not cover.

The harness-style checks (config, saving, fit, dtype policies, seeds, MC
mode, bad arguments, gradients) run in `tests/test_harness_sequence.py`.
"""

import keras
import numpy as np
import pytest

from keras_dropout.layers.embedding import EmbeddingDropout
from tests.cases_sequence import embedding
from tests.harness import assert_binomial
from tests.harness import numpy


def _rows(layer, ids):
    """Training output, the table, and per-position dropped flags."""
    out = numpy(layer(ids, training=True))
    table = numpy(layer.embedding.embeddings)
    dropped = np.all(out == 0, axis=-1)
    return out, table, dropped


def test_equal_ids_share_their_fate():
    layer = EmbeddingDropout(embedding(), rate=0.5, seed=1)
    ids = np.tile(np.arange(1, 12), (6, 3)).astype("int32")  # each id 18 times
    out, _, dropped = _rows(layer, ids)
    assert dropped.any() and not dropped.all()
    for token in range(1, 12):
        where = ids == token
        assert len(set(dropped[where].tolist())) == 1
        vectors = out[where]
        np.testing.assert_array_equal(
            vectors, np.broadcast_to(vectors[0], vectors.shape)
        )


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_kept_rows_are_scaled_embeddings(rate):
    layer = EmbeddingDropout(embedding(), rate=rate, seed=4)
    ids = np.arange(12, dtype="int32").reshape(3, 4)
    out, table, dropped = _rows(layer, ids)
    kept = ~dropped
    np.testing.assert_allclose(out[kept], table[ids][kept] / (1.0 - rate), rtol=1e-6)
    assert np.all(out[dropped] == 0)


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_fraction_of_dropped_word_types(rate):
    vocab = 4000
    layer = EmbeddingDropout(
        embedding(input_dim=vocab, output_dim=2), rate=rate, seed=3
    )
    ids = np.arange(vocab, dtype="int32").reshape(40, 100)  # each type once
    _, _, dropped = _rows(layer, ids)
    assert_binomial(int(dropped.sum()), vocab, rate)


def test_rate_zero_is_the_embedding():
    layer = EmbeddingDropout(embedding(), rate=0.0, seed=0)
    ids = np.arange(12, dtype="int32").reshape(2, 6)
    np.testing.assert_array_equal(
        numpy(layer(ids, training=True)), numpy(layer.embedding(ids))
    )


def test_float_ids_are_accepted_bool_refused():
    layer = EmbeddingDropout(embedding(), rate=0.5, seed=0)
    ids = np.arange(12).reshape(2, 6)
    np.testing.assert_array_equal(
        numpy(layer(ids.astype("float32"))), numpy(layer(ids.astype("int32")))
    )
    with pytest.raises(ValueError, match="integer token ids"):
        layer(ids.astype(bool))


def test_mask_zero_propagates():
    inner = embedding(mask_zero=True)
    layer = EmbeddingDropout(inner, rate=0.5, seed=0)
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0]], "int32")
    np.testing.assert_array_equal(numpy(layer.compute_mask(ids)), ids != 0)
    inputs = keras.Input((None,), dtype="int32")
    outputs = layer(inputs)
    assert outputs._keras_mask is not None
    # Downstream: an LSTM skips the padded steps, so padding is invisible.
    rnn = keras.layers.LSTM(3)
    model = keras.Model(inputs, rnn(outputs))
    short = np.array([[3, 4]], "int32")
    padded = np.array([[3, 4, 0, 0]], "int32")
    np.testing.assert_allclose(numpy(model(short)), numpy(model(padded)), rtol=1e-6)


def test_only_the_embedding_weights():
    layer = EmbeddingDropout(embedding(), rate=0.3)
    layer(np.zeros((1, 2), "int32"))
    assert len(layer.weights) == 1
    assert layer.weights[0] is layer.embedding.embeddings
    assert layer.count_params() == layer.embedding.count_params()


def test_dropped_rows_get_no_gradient():
    import tests.test_harness_sequence as generic

    layer = EmbeddingDropout(embedding(), rate=0.5, seed=5)
    ids = np.arange(12, dtype="int32").reshape(2, 6)
    layer(ids)
    # The same seed sequence on a twin gives the mask the gradient sees.
    twin = EmbeddingDropout(embedding(), rate=0.5, seed=5)
    twin(ids)  # every call draws a seed: keep the twin in step
    _, _, dropped = _rows(twin, ids)
    (grad,) = generic._gradients(
        lambda: keras.ops.sum(layer(ids, training=True)), layer
    )
    dropped_ids = ids[dropped]
    kept_ids = ids[~dropped]
    assert np.all(grad[dropped_ids] == 0)
    np.testing.assert_allclose(grad[kept_ids], 2.0, rtol=1e-6)


def test_output_shape_any_rank():
    layer = EmbeddingDropout(embedding(), rate=0.3)
    assert layer.compute_output_shape((2, 3, 4)) == (2, 3, 4, 5)
    out = layer(np.ones((2, 3, 4), "int32"), training=True)
    assert tuple(out.shape) == (2, 3, 4, 5)
