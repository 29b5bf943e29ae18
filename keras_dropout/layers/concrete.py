"""Concrete dropout: a wrapper that learns its own dropout rate."""

import math
import numbers

import keras
import numpy as np
from keras import ops

from keras_dropout import _validation
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout._base import WrapperMixin

# Keeps log(u) and log(1 - u) finite for u in [0, 1).
_EPSILON = 1e-7


def _check_open_rate(value, name):
    """A probability strictly between 0 and 1 (its logit must be finite)."""
    expected = (
        "a float in the range (0, 1), exclusive: the probability of dropping "
        "a unit (not of keeping it)"
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _validation.invalid(name, expected, value)
    number = float(value)
    if math.isnan(number) or not 0.0 < number < 1.0:
        raise _validation.invalid(name, expected, value)
    return number


def _check_positive(value, name, allow_zero=False):
    expected = "a non-negative float" if allow_zero else "a positive float"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _validation.invalid(name, expected, value)
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise _validation.invalid(name, expected, value)
    return number


def _logit(p):
    return float(math.log(p) - math.log1p(-p))


def concrete_regularizers(n_samples, length_scale=1e-2, tau=1.0):
    """The two regularizer strengths of concrete dropout, from the data.

    Returns `(weight_regularizer, dropout_regularizer)` =
    `(length_scale**2 / (tau * n_samples), 2 / (tau * n_samples))`, the
    values used in the concrete dropout paper's code: a prior length scale
    `length_scale` on the weights and a model precision `tau`, for a
    training set of `n_samples` examples.

    Args:
        n_samples: positive int, the number of training examples.
        length_scale: positive float, the prior length scale.
        tau: positive float, the model precision (inverse observation noise).

    Examples:
        >>> import keras_dropout
        >>> wd, dd = keras_dropout.concrete_regularizers(1000)
        >>> print(f"{wd:.1e} {dd:.1e}")
        1.0e-07 2.0e-03
    """
    n_samples = _validation.check_positive_int(n_samples, "n_samples")
    length_scale = _check_positive(length_scale, "length_scale")
    tau = _check_positive(tau, "tau")
    scale = tau * int(n_samples)
    return length_scale**2 / scale, 2.0 / scale


class _ConcreteRegularizer(keras.regularizers.Regularizer):
    """The paper's penalty, as the regularizer of the `p_logit` weight.

    A weight regularizer is read with the variables' current values
    wherever Keras collects `model.losses` (inside JAX's stateless train
    step too), outside any `cond` branch of the layer's call, on every
    backend: the penalty is part of the loss in `fit` and `evaluate`, as in
    the paper's code, and it is always built from the current kernel.
    """

    def __init__(self, kernels, input_dim, weight_regularizer, dropout_regularizer):
        self.kernels = kernels
        self.input_dim = input_dim
        self.weight_regularizer = weight_regularizer
        self.dropout_regularizer = dropout_regularizer

    def __call__(self, p_logit):
        z = ops.cast(p_logit, "float32")
        # With p = sigmoid(z): log p = -softplus(-z), log(1 - p) =
        # -softplus(z) and 1 / (1 - p) = 1 + exp(z), all finite.
        p = ops.sigmoid(z)
        squares = sum(
            ops.sum(ops.square(ops.cast(k.value, "float32"))) for k in self.kernels
        )
        weight_term = self.weight_regularizer * squares * (1.0 + ops.exp(z))
        neg_entropy = -(p * ops.softplus(-z) + (1.0 - p) * ops.softplus(z))
        dropout_term = self.dropout_regularizer * self.input_dim * neg_entropy
        return weight_term + dropout_term


@keras.saving.register_keras_serializable(package="keras_dropout")
class ConcreteDropout(WrapperMixin, BaseDropout):
    """Dropout on a wrapped layer's inputs, with a learned rate.

    The drop probability `p` is a weight, `p_logit` (`p = sigmoid(p_logit)`),
    trained by gradient descent with the rest of the model. To make the mask
    differentiable in `p`, training uses the concrete (relaxed Bernoulli)
    distribution: with `u ~ U(0, 1)`,
    `drop = sigmoid((logit(p) + log u - log(1 - u)) / temperature)`, and
    the wrapped layer receives `inputs * (1 - drop) / (1 - p)`. At a low
    `temperature` the mask is nearly binary. At inference the layer gets the
    unscaled inputs: `ConcreteDropout(layer)(x)` equals `layer(x)`.

    The layer adds the paper's penalty to `model.losses`, as the
    regularizer of `p_logit` (so it counts in `fit` and `evaluate`):
    `weight_regularizer * sum(kernel**2) / (1 - p)` plus
    `dropout_regularizer * input_dim * (p log p + (1 - p) log(1 - p))`.
    `kernel` is every weight of the wrapped layer whose name ends in
    `kernel` (`recurrent_kernel` excepted: the mask does not reach it), and
    `input_dim` the size of the dropped axis: the last one, or the channels
    with `spatial=True`. The second term is the negative entropy of the
    mask; it pushes `p` toward 0.5 and the first toward 0. Use
    `keras_dropout.concrete_regularizers(n_samples)` for the paper's values.
    The wrapped layer's own regularizers (such as `kernel_regularizer`) add
    to this; leave them unset to get exactly the paper's objective.

    `layer.rate` reads the learned rate as a Python float. Setting it
    (`layer.rate = 0.2`) restarts learning from that value: it sets
    `p_logit` and becomes the `init_rate` saved in the config. The learned
    value itself is saved with the weights. `layer.rate_variable` (from
    `BaseDropout`) holds the initial or last set rate, not the learned one.

    Compared with the paper's reference code (Keras 2, TensorFlow only),
    this wrapper runs on TensorFlow, JAX and PyTorch with XLA, draws its
    noise from the pack's portable generator, computes the penalty in a
    numerically stable form, supports channels-first spatial dropout, MC
    sampling via `mc=True` or `keras_dropout.mc_dropout()`, mixed
    precision, and saves to `.keras` files. Keras and keras-hub have no
    learned-rate dropout.

    Args:
        layer: the `keras.layers.Layer` to wrap; it must have a weight
            named `kernel` (or ending in `kernel`). Built by the wrapper.
        weight_regularizer: non-negative float, the weight penalty's factor
            (the paper's `l**2 / (tau * N)`).
        dropout_regularizer: non-negative float, the entropy penalty's
            factor (the paper's `2 / (tau * N)`).
        init_rate: float in `(0, 1)`, the drop probability training starts
            from.
        temperature: positive float, the relaxation's temperature; the
            paper uses 0.1.
        spatial: if `True`, drop whole channels of each sample (as
            `SpatialDropout`), for inputs `(batch, ..., channels)` or
            `(batch, channels, ...)`.
        data_format: `"channels_last"` or `"channels_first"`, where the
            channels are with `spatial=True`; defaults to
            `keras.config.image_data_format()`.
        seed: optional int for the layer's seed generator.
        mc: if `True`, apply the relaxed mask at inference too (Monte Carlo
            dropout). See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor, the wrapped layer's input.
        training: Python bool; `True` applies the relaxed dropout mask.

    Input shape:
        That of the wrapped layer.

    Output shape:
        That of the wrapped layer.

    The layer's weights are the wrapped layer's plus one scalar, `p_logit`.
    The wrapped layer is called as by `DropConnect`: with the wrapper's
    `training` value, its state updates and added losses kept in training
    calls only.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> wd, dd = keras_dropout.concrete_regularizers(n_samples=1000)
        >>> layer = keras_dropout.ConcreteDropout(
        ...     keras.layers.Dense(2), weight_regularizer=wd,
        ...     dropout_regularizer=dd, init_rate=0.2, seed=0)
        >>> x = np.ones((4, 3), "float32")
        >>> tuple(layer(x, training=True).shape)
        (4, 2)
        >>> round(layer.rate, 4)  # learned during fit; starts at init_rate
        0.2
        >>> [w.name for w in layer.weights]
        ['p_logit', 'kernel', 'bias']
        >>> len(layer.losses)  # the penalty
        1

    Reference:
        - [Gal, Hron & Kendall, 2017](https://arxiv.org/abs/1705.07832):
          Concrete Dropout.
        - [Maddison et al., 2016](https://arxiv.org/abs/1611.00712) and
          [Jang et al., 2016](https://arxiv.org/abs/1611.01144): the
          concrete (Gumbel-softmax) relaxation.
    """

    draws_per_row = True
    consistent_noise = "custom"

    def __init__(
        self,
        layer,
        weight_regularizer=1e-6,
        dropout_regularizer=1e-5,
        init_rate=0.1,
        temperature=0.1,
        spatial=False,
        data_format=None,
        seed=None,
        mc=False,
        **kwargs,
    ):
        init_rate = _check_open_rate(init_rate, "init_rate")
        super().__init__(init_rate, seed=seed, mc=mc, **kwargs)
        if not isinstance(layer, keras.layers.Layer):
            raise _validation.invalid("layer", "a `keras.layers.Layer` instance", layer)
        self.layer = layer
        self.init_rate = init_rate
        self.weight_regularizer = _check_positive(
            weight_regularizer, "weight_regularizer", allow_zero=True
        )
        self.dropout_regularizer = _check_positive(
            dropout_regularizer, "dropout_regularizer", allow_zero=True
        )
        self.temperature = _check_positive(temperature, "temperature")
        self.spatial = _validation.check_bool(spatial, "spatial")
        self.data_format = _validation.check_data_format(data_format)
        self.p_logit = None

    @property
    def rate(self):
        """The learned drop probability, as a Python float.

        Before the layer is built, `init_rate`. Setting it validates the
        value (in `(0, 1)`) and restarts learning from it.
        """
        if self.p_logit is None:
            return self.init_rate
        logit = float(ops.convert_to_numpy(ops.cast(self.p_logit, "float32")))
        return float(1.0 / (1.0 + math.exp(-logit)))

    @rate.setter
    def rate(self, value):
        value = _check_open_rate(value, "rate")
        self.init_rate = value
        self._rate = value
        self._state.rate.assign(value)
        if self.p_logit is not None:
            self.p_logit.assign(np.asarray(_logit(value), self.p_logit.dtype))

    def _channel_axis(self, rank):
        return 1 if self.data_format == "channels_first" and rank > 2 else rank - 1

    def build(self, input_shape):
        self._build_wrapped(input_shape)
        kernels = [
            v
            for v in self.layer.weights
            if v.name.endswith("kernel") and v.name != "recurrent_kernel"
        ]
        if not kernels:
            raise _validation.invalid(
                "layer",
                "a layer with a weight named `kernel` (Dense, EinsumDense, "
                "Conv*, ...) for the weight penalty; the wrapped layer has "
                f"{tuple(v.name for v in self.layer.weights)}",
                self.layer,
            )
        if self.spatial:
            input_dim = input_shape[self._channel_axis(len(input_shape))]
        else:
            input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer `{self.name}` (ConcreteDropout) needs the size of the "
                f"dropped axis of its inputs to be known. Received: "
                f"input_shape={tuple(input_shape)}"
            )
        self.p_logit = self.add_weight(
            name="p_logit",
            shape=(),
            initializer=keras.initializers.Constant(_logit(self.init_rate)),
            trainable=True,
            regularizer=_ConcreteRegularizer(
                kernels,
                int(input_dim),
                self.weight_regularizer,
                self.dropout_regularizer,
            ),
        )
        super().build(input_shape)

    def _noise_shape(self, inputs):
        shape = ops.shape(inputs)
        rank = len(shape)
        if not self.spatial or rank <= 2:
            return shape
        channel_axis = self._channel_axis(rank)
        return tuple(shape[i] if i in (0, channel_axis) else 1 for i in range(rank))

    def _scale(self, inputs, seed):
        # The relaxed keep mask divided by 1 - p, for the shape of `inputs`.
        logit = ops.cast(self.p_logit, "float32")
        u = kd_random.uniform(self._noise_shape(inputs), seed)
        noise = ops.log(u + _EPSILON) - ops.log(1.0 - u + _EPSILON)
        drop = ops.sigmoid((logit + noise) / self.temperature)
        keep_prob = ops.sigmoid(-logit)  # 1 - p
        return ops.cast((1.0 - drop) / keep_prob, inputs.dtype)

    def dropout(self, inputs, rate, seed):
        # `rate` (the base's rate variable) is not used: p is learned.
        return self._call_wrapped(ops.multiply(inputs, self._scale(inputs, seed)))

    def dropout_shared(self, inputs, rate, seed):
        scale = self._scale(inputs[:1], seed)  # one row's noise for all
        return self._call_wrapped(ops.multiply(inputs, scale))

    def get_config(self):
        config = super().get_config()
        del config["rate"]  # learned: saved with the weights as `p_logit`
        config.update(
            {
                "weight_regularizer": self.weight_regularizer,
                "dropout_regularizer": self.dropout_regularizer,
                "init_rate": self.init_rate,
                "temperature": self.temperature,
                "spatial": self.spatial,
                "data_format": self.data_format,
            }
        )
        return config
