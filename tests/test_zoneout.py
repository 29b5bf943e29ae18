"""ZoneoutCell: what the generic checks do not cover.

The harness-style checks (config, saving, fit under jit, dtype policies,
seeds, MC mode, bad arguments, gradients) run in
`tests/test_harness_sequence.py`.
"""

import keras
import numpy as np
import pytest

from keras_dropout.layers.zoneout import ZoneoutCell
from tests.cases_sequence import cell
from tests.harness import BACKEND
from tests.harness import assert_binomial
from tests.harness import compile_modes
from tests.harness import fit_one_step
from tests.harness import numpy


def _inputs(shape=(8, 6, 4), seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype("float32")


def _step_by_step(zoneout, x, training):
    """Run the cell over `x` in Python; per step: previous, new, zoned states."""
    states = zoneout.get_initial_state(batch_size=x.shape[0])
    records = []
    for t in range(x.shape[1]):
        step = x[:, t]
        _, new = zoneout.cell(step, states)
        output, zoned = zoneout(step, states, training=training)
        records.append(([numpy(s) for s in states], [numpy(s) for s in new], zoned))
        np.testing.assert_array_equal(numpy(output), numpy(zoned[0]))
        states = zoned
    return [(p, n, [numpy(z) for z in zs]) for p, n, zs in records]


def _zoned_fraction(previous, new, zoned, atol=0.0):
    """Check each unit is its old or its new value; return (zoned, total).

    `atol`: a compiled loop (JAX's `lax.scan`) may round the cell's maths
    differently from an eager step, by a few 1e-8.
    """
    took_old = np.abs(zoned - previous) <= atol
    took_new = np.abs(zoned - new) <= atol
    assert np.all(took_old | took_new)
    differs = np.abs(previous - new) > 2 * atol  # where the choice is visible
    return int((took_old & differs).sum()), int(differs.sum())


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple"])
def test_each_unit_keeps_its_old_value_or_takes_the_new(kind):
    rate = 0.3
    zoneout = ZoneoutCell(cell(kind, units=32), rate=rate, seed=1)
    records = _step_by_step(zoneout, _inputs((16, 6, 4)), training=True)
    counts = np.zeros(2, int)
    patterns = []
    for previous, new, zoned in records:
        for p, n, z in zip(previous, new, zoned, strict=True):
            counts += _zoned_fraction(p, n, z)
        patterns.append(zoned[0] == previous[0])
    assert_binomial(counts[0], counts[1], rate)
    # A fresh mask at every step.
    assert all(
        not np.array_equal(a, b)
        for a, b in zip(patterns[:-1], patterns[1:], strict=True)
    )


@pytest.mark.parametrize("kind", ["gru", "simple"])
def test_inside_rnn_each_unit_is_old_or_new(kind):
    """In `keras.layers.RNN` (JAX: `lax.scan`); the output is the state h."""
    rate = 0.4
    zoneout = ZoneoutCell(cell(kind, units=32), rate=rate, seed=2)
    rnn = keras.layers.RNN(zoneout, return_sequences=True)
    x = _inputs((16, 8, 4))
    outputs = numpy(rnn(x, training=True))
    previous = numpy(zoneout.get_initial_state(batch_size=16)[0])
    counts = np.zeros(2, int)
    patterns = []
    for t in range(x.shape[1]):
        _, new = zoneout.cell(x[:, t], [previous])
        new = numpy(new[0])
        counts += _zoned_fraction(previous, new, outputs[:, t], atol=1e-6)
        patterns.append(np.abs(outputs[:, t] - previous) <= 1e-6)
        previous = outputs[:, t]
    assert_binomial(counts[0], counts[1], rate)
    assert all(
        not np.array_equal(a, b)
        for a, b in zip(patterns[:-1], patterns[1:], strict=True)
    )


def test_inference_is_the_expectation_per_state():
    rates = [0.2, 0.7]
    zoneout = ZoneoutCell(cell("lstm"), rate=rates, seed=0)
    for previous, new, out in _step_by_step(zoneout, _inputs(), training=False):
        for r, p, n, o in zip(rates, previous, new, out, strict=True):
            np.testing.assert_allclose(o, r * p + (1 - r) * n, rtol=1e-5, atol=1e-7)


def test_per_state_rates():
    zoneout = ZoneoutCell(cell("lstm", units=32), rate=[0.0, 0.6], seed=3)
    h_counts, c_counts = np.zeros(2, int), np.zeros(2, int)
    for previous, new, zoned in _step_by_step(zoneout, _inputs((16, 6, 4)), True):
        h_counts += _zoned_fraction(previous[0], new[0], zoned[0])
        c_counts += _zoned_fraction(previous[1], new[1], zoned[1])
    assert h_counts[0] == 0
    assert_binomial(c_counts[0], c_counts[1], 0.6)


def test_rate_zero_is_the_cell():
    zoneout = ZoneoutCell(cell("lstm"), rate=0.0, seed=0)
    for _, new, zoned in _step_by_step(zoneout, _inputs(), training=True):
        for n, z in zip(new, zoned, strict=True):
            np.testing.assert_array_equal(n, z)


def test_rate_setter_per_state():
    zoneout = ZoneoutCell(cell("lstm"), rate=0.1)
    zoneout.rate = [0.2, 0.3]
    assert zoneout.rate == [0.2, 0.3]
    np.testing.assert_allclose(numpy(zoneout.rate_variable), [0.2, 0.3])
    zoneout.rate = 0.4
    np.testing.assert_allclose(numpy(zoneout.rate_variable), [0.4, 0.4])
    for bad in ([0.1], [0.1, 1.0], [0.1, 0.2, 0.3]):
        with pytest.raises(ValueError, match="`rate`"):
            zoneout.rate = bad
    assert zoneout.rate == 0.4


def test_cell_api():
    inner = cell("lstm", units=5)
    zoneout = ZoneoutCell(inner, rate=0.1)
    assert zoneout.state_size == inner.state_size
    assert zoneout.output_size == 5
    states = zoneout.get_initial_state(batch_size=3)
    assert [tuple(s.shape) for s in states] == [(3, 5), (3, 5)]
    zoneout.build((None, 4))
    assert inner.built


def test_return_sequences_and_state():
    zoneout = ZoneoutCell(cell("lstm"), rate=0.3, seed=0)
    rnn = keras.layers.RNN(zoneout, return_sequences=True, return_state=True)
    x = _inputs((2, 5, 4))
    seq, h, c = rnn(x, training=True)
    assert tuple(seq.shape) == (2, 5, 6)
    np.testing.assert_array_equal(numpy(seq)[:, -1], numpy(h))
    assert tuple(c.shape) == (2, 6)


def test_masked_steps_keep_the_state():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    zoneout = ZoneoutCell(cell("gru"), rate=0.3, seed=0)
    outputs = keras.layers.RNN(zoneout, return_sequences=True)(hidden)
    model = keras.Model(inputs, outputs)
    padded = np.array([[3, 4, 5, 0, 0], [6, 0, 0, 0, 0]], "int32")
    for training in (True, False):
        out = numpy(model(padded, training=training))
        np.testing.assert_array_equal(out[0, 3], out[0, 2])
        np.testing.assert_array_equal(out[0, 4], out[0, 2])
        np.testing.assert_array_equal(out[1, 1:], np.broadcast_to(out[1, 0], (4, 6)))
    # At inference padding changes nothing.
    short = np.array([[3, 4, 5]], "int32")
    np.testing.assert_allclose(
        numpy(model(short))[0, -1], numpy(model(padded[:1]))[0, -1], rtol=1e-6
    )


@pytest.mark.parametrize(
    "mode", compile_modes(), ids=lambda m: f"jit{m[0]}-eager{m[1]}"
)
def test_fit_with_masking_and_stacked_cells(mode):
    keras.utils.set_random_seed(0)
    cells = [
        ZoneoutCell(cell("lstm"), rate=[0.1, 0.2], seed=0),
        ZoneoutCell(cell("gru"), rate=0.3, seed=1),
    ]
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(10, 4, mask_zero=True),
            keras.layers.RNN(cells),
            keras.layers.Dense(1),
        ]
    )
    x = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0], [1, 2, 3, 4, 5]], "int32")
    loss, changed = fit_one_step(model, x, np.ones((3, 1), "float32"), *mode)
    assert np.isfinite(loss) and changed


def test_wrapped_cell_dropout_still_works():
    inner = keras.layers.LSTMCell(6, dropout=0.5, recurrent_dropout=0.5, seed=0)
    rnn = keras.layers.RNN(ZoneoutCell(inner, rate=0.2, seed=0))
    x = _inputs((4, 5, 4))
    out = numpy(rnn(x, training=True))
    assert np.all(np.isfinite(out))
    assert inner._dropout_mask is None  # reset after the call, as in Keras


def test_rate_change_without_recompiling():
    zoneout = ZoneoutCell(cell("gru"), rate=0.0, seed=0)
    model = keras.Sequential([keras.Input((5, 4)), keras.layers.RNN(zoneout)])
    model.compile(jit_compile=BACKEND != "torch")
    x = _inputs((2, 5, 4))
    before = model.predict(x, verbose=0)
    zoneout.rate = 0.5
    after = model.predict(x, verbose=0)
    assert not np.allclose(before, after)
