"""Keras callbacks for keras_dropout layers."""

import numbers

import keras

from keras_dropout import _validation
from keras_dropout._base import BaseDropout
from keras_dropout.models import pack_layers

UPDATES = ("epoch", "batch")


class RateScheduler(keras.callbacks.Callback):
    """Sets the dropout rate of keras_dropout layers on a schedule.

    Before each epoch (`update="epoch"`) or each training batch
    (`update="batch"`, counted over the whole run from 0), every targeted
    layer gets `layer.rate = schedule(step, base_rate)`, where `base_rate`
    is that layer's rate when training began. The rate lives in a state
    variable that the compiled train step reads at every call, so the new
    rate applies from the next step on and `model.train_function` is never
    recompiled.

    The mean rate of the targeted layers is logged as `"dropout_rate"` at
    the end of each epoch (and batch), so it appears in `History`.

    Args:
        schedule: a callable `(step, base_rate) -> rate` returning a float
            in `[0, 1)`, such as `keras_dropout.schedules.linear(...)`.
        layers: optional list of keras_dropout layers to schedule. `None`
            (default) targets every keras_dropout layer of the model,
            nested ones included.
        update: `"epoch"` (default) or `"batch"`.
        verbose: 0 (silent) or 1 (print the rates when they change, per
            epoch).

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> from keras_dropout import schedules
        >>> from keras_dropout.callbacks import RateScheduler
        >>> model = keras.Sequential([
        ...     keras.Input((4,)), keras.layers.Dense(4),
        ...     keras_dropout.Dropout(0.0), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> x = np.ones((8, 4), "float32")
        >>> scheduler = RateScheduler(schedules.linear(0.0, 0.3, steps=3))
        >>> history = model.fit(x, x[:, :1], epochs=4, verbose=0, callbacks=[scheduler])
        >>> rates = [round(r, 2) for r in history.history["dropout_rate"]]
        >>> rates
        [0.0, 0.1, 0.2, 0.3]
    """

    def __init__(self, schedule, layers=None, update="epoch", verbose=0):
        super().__init__()
        if not callable(schedule):
            raise _validation.invalid(
                "schedule", "a callable `(step, base_rate) -> rate`", schedule
            )
        self.schedule = schedule
        if layers is not None:
            layers = list(layers)
            if not layers or not all(isinstance(la, BaseDropout) for la in layers):
                raise _validation.invalid(
                    "layers", "None or a non-empty list of keras_dropout layers", layers
                )
        self._given_layers = layers
        self.update = _validation.check_choice(update, "update", UPDATES)
        if isinstance(verbose, bool) or verbose not in (0, 1):
            raise _validation.invalid("verbose", "0 or 1", verbose)
        self.verbose = verbose
        self.targets = []
        self.base_rates = []
        self._batches = 0

    def on_train_begin(self, logs=None):
        model = self.model
        if self._given_layers is not None:
            self.targets = list(self._given_layers)
        else:
            self.targets = pack_layers(model)
        if not self.targets:
            raise ValueError(
                "RateScheduler found no keras_dropout layer in model "
                f"{model.name!r}. Build the model with keras_dropout layers, "
                "or convert its Keras dropout layers with "
                "`keras_dropout.convert(model)`."
            )
        self.base_rates = [layer.rate for layer in self.targets]
        self._batches = 0

    def _apply(self, step):
        # Reading `self.model` first syncs the JAX trainer's state into the
        # variables, so the assignment below is not overwritten.
        self.model  # noqa: B018
        changed = False
        for layer, base in zip(self.targets, self.base_rates, strict=True):
            rate = self.schedule(step, base)
            if (
                isinstance(rate, bool)
                or not isinstance(rate, numbers.Real)
                or not 0.0 <= float(rate) < 1.0
            ):
                raise ValueError(
                    f"The schedule {self.schedule!r} returned an invalid rate "
                    f"at step {step} for layer `{layer.name}`. Expected a "
                    f"float in the range [0, 1). Received: rate={rate!r}"
                )
            if float(rate) != layer.rate:
                layer.rate = float(rate)
                changed = True
        return changed

    def mean_rate(self):
        """The mean rate of the scheduled layers (a float), once training began.

        Examples:
            >>> import keras
            >>> import keras_dropout
            >>> drops = [keras_dropout.Dropout(0.2), keras_dropout.Dropout(0.4)]
            >>> model = keras.Sequential([keras.Input((4,)), *drops])
            >>> cb = keras_dropout.callbacks.RateScheduler(
            ...     lambda step, base_rate: base_rate, layers=drops
            ... )
            >>> cb.set_model(model)
            >>> cb.on_train_begin()
            >>> round(cb.mean_rate(), 2)
            0.3
        """
        return sum(layer.rate for layer in self.targets) / len(self.targets)

    def on_epoch_begin(self, epoch, logs=None):
        if self.update == "epoch":
            changed = self._apply(epoch)
            if changed and self.verbose:
                rates = ", ".join(f"{la.name}={la.rate:.4g}" for la in self.targets)
                print(f"\nEpoch {epoch + 1}: RateScheduler set {rates}.")

    def on_train_batch_begin(self, batch, logs=None):
        if self.update == "batch":
            self._apply(self._batches)
            self._batches += 1

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None and self.update == "batch":
            logs["dropout_rate"] = self.mean_rate()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["dropout_rate"] = self.mean_rate()
