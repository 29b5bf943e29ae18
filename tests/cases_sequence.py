"""Cases for the sequence layers: EmbeddingDropout and ZoneoutCell.

The generic harness (`tests/test_harness.py`) cannot drive them: it feeds
floating-point inputs through `Dense(4)` and expects integer inputs to be
refused, while `EmbeddingDropout` takes integer token ids, and
`ZoneoutCell` is an RNN cell (`call(inputs, states)`), used inside
`keras.layers.RNN`. So each case here says how to feed it
(`SequenceCase.inputs`, `Input` dtype) and how to run it as a layer on a
sequence (`SequenceCase.layer`: the wrapper itself, or an `RNN` around the
cell); `tests/test_harness_sequence.py` re-implements the applicable
harness checks on these cases.
"""

import dataclasses

import keras
import numpy as np

from keras_dropout.layers.embedding import EmbeddingDropout
from keras_dropout.layers.zoneout import ZoneoutCell
from tests.cases import BAD_RATES
from tests.harness import LayerCase

VOCAB = 12


def _seeded(name, seed):
    return keras.initializers.get({"class_name": name, "config": {"seed": seed}})


def embedding(dtype=None, mask_zero=False, input_dim=VOCAB, output_dim=5):
    return keras.layers.Embedding(
        input_dim,
        output_dim,
        embeddings_initializer=_seeded("RandomUniform", 0),
        mask_zero=mask_zero,
        dtype=dtype,
    )


def cell(kind, units=6, dtype=None):
    """A seeded Keras cell (`"lstm"`, `"gru"` or `"simple"`)."""
    cls = {
        "lstm": keras.layers.LSTMCell,
        "gru": keras.layers.GRUCell,
        "simple": keras.layers.SimpleRNNCell,
    }[kind]
    return cls(
        units,
        kernel_initializer=_seeded("GlorotUniform", 0),
        # Not the default Orthogonal: JAX has no float16 QR on CPU.
        recurrent_initializer=_seeded("GlorotUniform", 1),
        bias_initializer=_seeded("RandomUniform", 2),
        dtype=dtype,
    )


_NOT_GIVEN = object()


def _embedding_factory(mask_zero=False):
    def build(embedding_=_NOT_GIVEN, dtype=None, **kwargs):
        if embedding_ is _NOT_GIVEN:
            embedding_ = embedding(dtype, mask_zero=mask_zero)
        return EmbeddingDropout(embedding_, dtype=dtype, **kwargs)

    return build


def _zoneout_factory(kind):
    def build(cell_=_NOT_GIVEN, dtype=None, **kwargs):
        if cell_ is _NOT_GIVEN:
            cell_ = cell(kind, dtype=dtype)
        return ZoneoutCell(cell_, dtype=dtype, **kwargs)

    return build


@dataclasses.dataclass
class SequenceCase(LayerCase):
    """A `LayerCase` for a layer that is not fed floats or is an RNN cell.

    `ids`: the inputs are integer token ids in `[1, VOCAB)`.
    `rnn`: the layer is a cell, run as `keras.layers.RNN(cell,
    return_sequences=True)`.
    """

    ids: bool = False
    rnn: bool = False

    @property
    def rate(self):
        rate = self.kwargs["rate"]
        return rate[0] if isinstance(rate, (list, tuple)) else rate

    def inputs(self, seed=0, dtype="float32"):
        if self.ids:
            rng = np.random.default_rng(seed)
            return rng.integers(1, VOCAB, size=self.input_shape).astype("int32")
        return super().inputs(seed, dtype)

    @property
    def input_dtype(self):
        return "int32" if self.ids else "float32"

    def layer(self, **overrides):
        """The layer to put in a model: the wrapper, or an RNN on the cell."""
        made = self.make(**overrides)
        if self.rnn:
            dtype = overrides.get("dtype")
            return keras.layers.RNN(made, return_sequences=True, dtype=dtype)
        return made

    def inner(self, layer):
        """The pack layer inside what `layer()` returned."""
        return layer.cell if self.rnn else layer


BAD_EMBEDDING = BAD_RATES + [
    ({"embedding_": "embedding"}, "embedding"),
    ({"embedding_": keras.layers.Dense(3)}, "embedding"),
]

BAD_ZONEOUT = BAD_RATES + [
    ({"cell_": "lstm"}, "cell"),
    ({"cell_": keras.layers.Dense(3)}, "cell"),
    ({"rate": [0.1]}, "rate"),
    ({"rate": [0.1, 0.2, 0.3]}, "rate"),
    ({"rate": [0.1, 1.0]}, "rate"),
    ({"rate": (0.1, "x")}, "rate"),
    ({"rate": []}, "rate"),
]

CASES = [
    SequenceCase(
        EmbeddingDropout,
        {"rate": 0.4, "seed": 7},
        input_shape=(4, 9),
        build=_embedding_factory(),
        bad_kwargs=BAD_EMBEDDING,
        weights=1,
        ids=True,
    ),
    SequenceCase(
        EmbeddingDropout,
        {"rate": 0.5, "seed": 3},
        input_shape=(3, 8),
        build=_embedding_factory(mask_zero=True),
        weights=1,
        ids=True,
    ),
    SequenceCase(
        ZoneoutCell,
        {"rate": 0.3, "seed": 7},
        input_shape=(3, 5, 4),
        build=_zoneout_factory("lstm"),
        bad_kwargs=BAD_ZONEOUT,
        zeros=False,
        mask_gradient=False,
        weights=3,
        rnn=True,
    ),
    SequenceCase(
        ZoneoutCell,
        {"rate": [0.2, 0.5], "seed": 5},
        input_shape=(3, 5, 4),
        build=_zoneout_factory("lstm"),
        zeros=False,
        mask_gradient=False,
        weights=3,
        rnn=True,
    ),
    SequenceCase(
        ZoneoutCell,
        {"rate": 0.4, "seed": 2},
        input_shape=(3, 5, 4),
        build=_zoneout_factory("gru"),
        zeros=False,
        mask_gradient=False,
        weights=3,
        rnn=True,
    ),
    SequenceCase(
        ZoneoutCell,
        {"rate": 0.25, "seed": 9},
        input_shape=(3, 5, 4),
        build=_zoneout_factory("simple"),
        zeros=False,
        mask_gradient=False,
        weights=3,
        rnn=True,
    ),
]
