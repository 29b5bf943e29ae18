"""Schedules and `RateScheduler`: rates change inside a compiled `fit`."""

import math

import keras
import numpy as np
import pytest

import keras_dropout
from keras_dropout import schedules
from keras_dropout.callbacks import RateScheduler


def _zero_fraction(y_true, y_pred):
    return keras.ops.mean(keras.ops.cast(keras.ops.equal(y_pred, 0.0), "float32"))


def _model(rate=0.0):
    layer = keras_dropout.Dropout(rate, seed=1)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, kernel_initializer="ones"),
            layer,
        ]
    )
    model.compile("sgd", "mse", metrics=[_zero_fraction])
    return model, layer


class _Functions(keras.callbacks.Callback):
    """Records the train function object at every epoch end."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.model.train_function)


def test_linear():
    ramp = schedules.linear(0.1, 0.5, steps=4)
    assert [ramp(t, 0.9) for t in range(6)] == pytest.approx(
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.5]
    )
    down = schedules.linear(0.5, 0.0, steps=2)
    assert [down(t, 0.0) for t in range(3)] == [0.5, 0.25, 0.0]


def test_curriculum_follows_the_paper():
    schedule = schedules.curriculum(0.5, gamma=0.1)
    for t in (0, 1, 5, 50):
        assert schedule(t, 0.0) == pytest.approx(0.5 * (1 - math.exp(-0.1 * t)))
    assert schedule(0, 0.3) == 0.0
    assert schedule(10_000, 0.3) == pytest.approx(0.5)


def test_constant():
    assert schedules.constant(0.25)(3, 0.5) == 0.25
    assert schedules.constant()(3, 0.5) == 0.5


def test_early_constant_and_linear():
    constant = schedules.early(0.2, cutoff=4)
    assert [constant(t, 0.5) for t in range(6)] == [0.2] * 4 + [0.0] * 2
    linear = schedules.early(0.2, cutoff=4, kind="linear")
    got = [linear(t, 0.5) for t in range(6)]
    np.testing.assert_allclose(got, [0.2, 0.15, 0.1, 0.05, 0.0, 0.0], atol=1e-12)


def test_late_switches_on_at_the_cutoff():
    schedule = schedules.late(0.3, cutoff=3)
    assert [schedule(t, 0.1) for t in range(5)] == [0.0, 0.0, 0.0, 0.3, 0.3]


def test_early_and_late_keep_each_layers_ratio():
    # rate=None: each layer's own base rate, so drop-path rates that grow
    # with depth are scaled together.
    bases = keras_dropout.drop_path_rates(0.3, 4)
    early = schedules.early(cutoff=10, kind="linear")
    late = schedules.late(cutoff=10)
    for step in (0, 2, 5, 9):
        scaled = [early(step, b) for b in bases]
        factor = 1 - step / 10
        np.testing.assert_allclose(scaled, [b * factor for b in bases], atol=1e-12)
        assert [late(step, b) for b in bases] == [0.0] * 4
    assert [late(10, b) for b in bases] == bases
    assert [early(10, b) for b in bases] == [0.0] * 4


def test_early_dropout_inside_fit_stops_dropping_at_the_cutoff():
    model, layer = _model(0.5)
    x = np.ones((64, 64), "float32")
    scheduler = RateScheduler(schedules.early(cutoff=2), update="batch")
    history = model.fit(x, x, batch_size=16, epochs=1, verbose=0, callbacks=[scheduler])
    # 4 batches: the logged rate is the one of the last batch (0 after the
    # cutoff), and the layer ends at 0 while its config's base was 0.5.
    assert history.history["dropout_rate"] == [0.0]
    assert layer.rate == 0.0
    zero = model.predict(x, verbose=0)
    with keras_dropout.mc_dropout():
        assert np.array_equal(model.predict(x, verbose=0), zero)


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: schedules.linear(1.0, 0.5, 3), "start"),
        (lambda: schedules.linear(0.0, -0.1, 3), "end"),
        (lambda: schedules.linear(0.0, 0.5, 0), "steps"),
        (lambda: schedules.curriculum(1.2, 1.0), "final_rate"),
        (lambda: schedules.curriculum(0.5, 0.0), "gamma"),
        (lambda: schedules.curriculum(0.5, float("inf")), "gamma"),
        (lambda: schedules.constant(1.0), "rate"),
        (lambda: schedules.linear(0.0, 0.5, 3)(-1, 0.0), "step"),
        (lambda: schedules.early(0.1, cutoff=0), "cutoff"),
        (lambda: schedules.early(0.1, cutoff=2.5), "cutoff"),
        (lambda: schedules.early(0.1), "cutoff"),
        (lambda: schedules.early(1.0, cutoff=3), "rate"),
        (lambda: schedules.early(0.1, cutoff=3, kind="cosine"), "kind"),
        (lambda: schedules.early(cutoff=3)(0, None), "base_rate"),
        (lambda: schedules.late(0.1, cutoff=-1), "cutoff"),
        (lambda: schedules.late(-0.1, cutoff=2), "rate"),
        (lambda: schedules.late(cutoff=2)(True, 0.1), "step"),
        (lambda: RateScheduler("linear"), "schedule"),
        (lambda: RateScheduler(schedules.constant(), update="step"), "update"),
        (lambda: RateScheduler(schedules.constant(), layers=[1]), "layers"),
        (lambda: RateScheduler(schedules.constant(), verbose=2), "verbose"),
    ],
)
def test_bad_arguments(build, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        build()


def test_epoch_schedule_changes_drop_fraction_without_recompiling():
    model, layer = _model(0.0)
    x = np.ones((64, 64), "float32")
    functions = _Functions()
    scheduler = RateScheduler(lambda step, base: 0.0 if step == 0 else 0.5)
    history = model.fit(
        x, x, batch_size=16, epochs=3, verbose=0, callbacks=[scheduler, functions]
    )
    fractions = history.history["_zero_fraction"]
    assert fractions[0] == 0.0
    assert 0.4 < fractions[1] < 0.6 and 0.4 < fractions[2] < 0.6
    assert history.history["dropout_rate"] == [0.0, 0.5, 0.5]
    assert functions.seen[0] is functions.seen[1] is functions.seen[2]
    assert layer.rate == 0.5
    assert scheduler.base_rates == [0.0]


def test_batch_schedule():
    model, layer = _model(0.0)
    x = np.ones((64, 64), "float32")
    # 4 batches per epoch: rate 0 for batches 0-3 (epoch 1), 0.8 from batch 4.
    scheduler = RateScheduler(
        lambda step, base: 0.0 if step < 4 else 0.8, update="batch"
    )
    history = model.fit(x, x, batch_size=16, epochs=2, verbose=0, callbacks=[scheduler])
    fractions = history.history["_zero_fraction"]
    assert fractions[0] == 0.0
    assert 0.7 < fractions[1] < 0.9
    assert history.history["dropout_rate"] == [0.0, pytest.approx(0.8)]
    assert scheduler._batches == 8


def test_ramp_within_an_epoch_in_batch_mode():
    model, _ = _model(0.0)
    x = np.ones((64, 64), "float32")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((logs["dropout_rate"], float(logs["_zero_fraction"])))

    scheduler = RateScheduler(schedules.linear(0.0, 0.6, steps=3), update="batch")
    model.fit(x, x, batch_size=16, epochs=1, verbose=0, callbacks=[scheduler, Record()])
    assert [r for r, _ in seen] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    # The metric is a running mean over the epoch's batches: it grows.
    assert seen[0][1] == 0.0 and seen[-1][1] > seen[1][1] > 0.0


def test_base_rate_and_given_layers():
    keras.utils.set_random_seed(0)
    a = keras_dropout.Dropout(0.2, seed=1)
    b = keras_dropout.Dropout(0.4, seed=2)
    model = keras.Sequential([keras.Input((8,)), a, keras.layers.Dense(8), b])
    model.compile("sgd", "mse")
    x = np.ones((8, 8), "float32")
    halve = RateScheduler(lambda step, base: base / 2)
    history = model.fit(x, x, epochs=1, verbose=0, callbacks=[halve])
    assert (a.rate, b.rate) == (0.1, 0.2)
    assert history.history["dropout_rate"] == [pytest.approx(0.15)]
    only_b = RateScheduler(schedules.constant(0.0), layers=[b])
    model.fit(x, x, epochs=1, verbose=0, callbacks=[only_b])
    assert (a.rate, b.rate) == (0.1, 0.0)


def test_invalid_schedule_output_and_no_pack_layers():
    model, _ = _model(0.0)
    x = np.ones((16, 64), "float32")
    with pytest.raises(ValueError, match="rate=1.5"):
        model.fit(x, x, verbose=0, callbacks=[RateScheduler(lambda s, b: 1.5)])
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    plain.compile("sgd", "mse")
    with pytest.raises(ValueError, match="no keras_dropout layer"):
        plain.fit(
            np.ones((4, 4)),
            np.ones((4, 4)),
            verbose=0,
            callbacks=[RateScheduler(schedules.constant())],
        )
