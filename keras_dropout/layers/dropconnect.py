"""DropConnect: drop a wrapped layer's weights instead of its activations."""

import math

import keras
from keras import ops

from keras_dropout import _validation
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout._base import WrapperMixin


def _check_layer(layer):
    if not isinstance(layer, keras.layers.Layer):
        raise _validation.invalid("layer", "a `keras.layers.Layer` instance", layer)
    return layer


def _check_weight_names(weights):
    """`None` (the kernel), a name, or a non-empty sequence of names."""
    if weights is None:
        return ("kernel",)
    expected = (
        "a weight name or a non-empty tuple of weight names of the wrapped "
        "layer, such as ('kernel',) or ('recurrent_kernel',)"
    )
    names = (weights,) if isinstance(weights, str) else weights
    try:
        names = tuple(names)
    except TypeError:
        raise _validation.invalid("weights", expected, weights) from None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise _validation.invalid("weights", expected, weights)
    return names


def _matches(variable, name):
    """Whether `name` is the variable's name or ends its path."""
    return variable.name == name or variable.path.endswith("/" + name)


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropConnect(WrapperMixin, BaseDropout):
    """Randomly drops the weights of a wrapped layer during training.

    DropConnect zeroes *weights* rather than activations: at each training
    call every entry of the named weights of `layer` (by default its
    `kernel`) is set to 0 with probability `rate`, the kept entries are
    divided by `1 - rate` (inverted scaling), and `layer` is applied with
    those weights. One mask is drawn per call and used for the whole batch
    and, for recurrent layers, for every timestep. At inference the layer
    runs with its full weights, so `DropConnect(layer)(x)` equals `layer(x)`.

    Wrapping `LSTM` or `GRU` with `weights=("recurrent_kernel",)` is the
    weight drop of AWD-LSTM (Merity et al.): it regularizes the recurrent
    connections without touching the fused recurrent kernels. Wrapping
    `Embedding` with `weights=("embeddings",), variational=True` drops whole
    words (embedding dropout).

    Compared with `keras.layers.Dropout`, which masks a layer's outputs, the
    mask here is on the connections; compared with AWD-LSTM's `WeightDrop`
    (PyTorch only, patches module attributes), this is an ordinary Keras
    wrapper: it works on TensorFlow, JAX and PyTorch, under `jit_compile`,
    wraps any layer whose weights are named, is saved in `.keras` files, and
    supports MC dropout (`mc=True` or `keras_dropout.mc_dropout()`).

    The wrapped layer's weights are the only weights (`layer.weights` of the
    wrapper are those of `layer`); gradients reach them through the mask,
    so dropped entries get zero gradient at that step. The wrapped layer is
    called in a `keras.StatelessScope` in which the named weights hold
    their masked values. It gets the wrapper's `training` value, so in MC
    mode at inference only the weights are random: the wrapped layer itself
    stays in inference mode. In training calls its state updates (the seed
    of its own dropout, `BatchNormalization` statistics) are written back
    and the losses it adds (`add_loss`, activity regularizers) are kept; in
    inference calls both are discarded (so that MC mode works in compiled
    `predict`), which leaves Keras layers' inference results unchanged.

    Args:
        layer: the `keras.layers.Layer` to wrap. It is built by the wrapper.
        rate: float in `[0, 1)`, the probability of dropping each weight
            entry (not of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        weights: the names of the weights to drop, matched against each
            weight's name or the end of its path (`"kernel"`,
            `"recurrent_kernel"`, `"lstm_cell/kernel"`, ...). Every weight
            matching a name is dropped, with its own mask. Default:
            `("kernel",)`.
        variational: if `True`, drop whole rows: one draw per index of the
            weight's first axis (the input unit of `Dense`/`EinsumDense`/RNN
            kernels, the word of an `Embedding`; for convolutions the first
            spatial axis of the kernel), shared by the row's entries.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop weights at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.
            The wrapper's `dtype` is not passed on to `layer`: give it the
            same policy.

    Call arguments:
        inputs: the wrapped layer's input: a floating-point tensor (integer
            indices for a wrapped `Embedding`).
        training: Python bool; `True` drops weights. Set automatically by
            `fit` (True) and `predict`/`evaluate` (False).

    Input shape:
        That of the wrapped layer.

    Output shape:
        That of the wrapped layer.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> to_numpy = keras.ops.convert_to_numpy
        >>> dense = keras.layers.Dense(3, use_bias=False)
        >>> layer = keras_dropout.DropConnect(dense, rate=0.5, seed=0)
        >>> x = np.eye(4, dtype="float32")  # rows of the output = rows of W
        >>> masked = to_numpy(layer(x, training=True))
        >>> kernel = to_numpy(dense.kernel)
        >>> bool(np.all((masked == 0) | np.isclose(masked, 2 * kernel)))
        True
        >>> bool(np.allclose(to_numpy(layer(x)), kernel))  # inference: full W
        True
        >>> len(layer.weights)  # the wrapped layer's weights only
        1

    Reference:
        - [Wan et al., 2013](http://proceedings.mlr.press/v28/wan13.html):
          Regularization of neural networks using DropConnect.
        - [Merity et al., 2017](https://arxiv.org/abs/1708.02182):
          Regularizing and optimizing LSTM language models (weight drop).
        - [Gal & Ghahramani, 2016](https://arxiv.org/abs/1512.05287):
          A theoretically grounded application of dropout in recurrent
          neural networks (variational and embedding dropout).
    """

    consistent_noise = "per_call"  # one mask on the weights per call

    def __init__(
        self,
        layer,
        rate,
        weights=None,
        variational=False,
        seed=None,
        mc=False,
        **kwargs,
    ):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.layer = _check_layer(layer)
        # Not `self.weights`: that is the Layer property listing variables.
        self.weight_names = _check_weight_names(weights)
        self.variational = _validation.check_bool(variational, "variational")

    def build(self, input_shape):
        self._build_wrapped(input_shape)
        available = [v for v in self.layer.weights if _floating(v)]
        missing = [
            name
            for name in self.weight_names
            if not any(_matches(v, name) for v in available)
        ]
        if missing:
            names = tuple(dict.fromkeys(v.name for v in available))
            raise _validation.invalid(
                "weights",
                f"names of floating-point weights of the wrapped layer "
                f"`{self.layer.name}` ({type(self.layer).__name__}), "
                f"among {names}; not found: {tuple(missing)}",
                self.weight_names,
            )
        super().build(input_shape)

    def _targets(self):
        return [
            v
            for v in self.layer.weights
            if _floating(v) and any(_matches(v, n) for n in self.weight_names)
        ]

    def _mask_shape(self, variable):
        if self.variational:
            return (variable.shape[0],) + (1,) * (len(variable.shape) - 1)
        return tuple(variable.shape)

    def _check_inputs(self, inputs):
        # An Embedding takes integer indices; everything else floats.
        if not isinstance(self.layer, keras.layers.Embedding):
            super()._check_inputs(inputs)

    def dropout(self, inputs, rate, seed):
        targets = self._targets()
        shapes = [self._mask_shape(v) for v in targets]
        sizes = [math.prod(shape) for shape in shapes]
        # One draw for all dropped weights, split between them.
        noise = kd_random.uniform((sum(sizes),), seed)
        keep_prob = ops.subtract(1.0, rate)
        masked = {}
        offset = 0
        for variable, shape, size in zip(targets, shapes, sizes, strict=True):
            draws = noise if len(targets) == 1 else noise[offset : offset + size]
            offset += size
            keep = ops.greater_equal(ops.reshape(draws, shape), rate)
            value = variable.value
            scaled = ops.divide(value, ops.cast(keep_prob, value.dtype))
            masked[id(variable)] = ops.where(keep, scaled, ops.zeros_like(scaled))
        return self._call_wrapped(inputs, masked)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "weights": list(self.weight_names),
                "variational": self.variational,
            }
        )
        return config


def _floating(variable):
    return keras.backend.is_float_dtype(variable.dtype)


# `Dense` arguments that belong to the wrapper instead (or to both).
_WRAPPER_KWARGS = ("name", "trainable")


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropConnectDense(DropConnect):
    """A `Dense` layer whose kernel is dropped during training (DropConnect).

    Shorthand for `DropConnect(keras.layers.Dense(units, ...), rate)` with
    its own flat config: `DropConnectDense(64, 0.5, activation="relu")`.
    Each kernel entry is zeroed with probability `rate` at every training
    call and the kept entries are scaled by `1 / (1 - rate)`; inference uses
    the full kernel. Add `"bias"` to `weights` to drop the bias too.

    Compared with `keras.layers.Dense` followed by `keras.layers.Dropout`,
    the units still receive every input, through a random subset of their
    connections (the DropConnect paper's fully connected layer).

    Args:
        units: positive int, the output dimension.
        rate: float in `[0, 1)`, the probability of dropping each weight.
        weights: names of the `Dense` weights to drop, default `("kernel",)`.
        variational: if `True`, drop whole kernel rows (input units).
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop weights at inference too (Monte Carlo dropout).
        **kwargs: `keras.layers.Dense` arguments (`activation`, `use_bias`,
            initializers, regularizers, constraints) and base layer
            arguments (`name`, `dtype`, `trainable`); `dtype` applies to
            both the wrapper and its `Dense`.

    Call arguments:
        inputs: a floating-point tensor `(..., input_dim)`.
        training: Python bool; `True` drops weights.

    Input shape:
        N-D tensor `(batch_size, ..., input_dim)`.

    Output shape:
        N-D tensor `(batch_size, ..., units)`.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> layer = keras_dropout.DropConnectDense(8, 0.3, activation="relu", seed=1)
        >>> x = np.ones((2, 4), "float32")
        >>> tuple(layer(x, training=True).shape)
        (2, 8)
        >>> to_numpy = keras.ops.convert_to_numpy
        >>> bool(np.allclose(to_numpy(layer(x)), to_numpy(layer.layer(x))))
        True

    Reference:
        - [Wan et al., 2013](http://proceedings.mlr.press/v28/wan13.html):
          Regularization of neural networks using DropConnect.
    """

    def __init__(
        self,
        units,
        rate,
        weights=None,
        variational=False,
        seed=None,
        mc=False,
        **kwargs,
    ):
        base_kwargs = {k: kwargs.pop(k) for k in _WRAPPER_KWARGS if k in kwargs}
        if "dtype" in kwargs:
            base_kwargs["dtype"] = kwargs["dtype"]
        units = _validation.check_positive_int(units, "units")
        dense = keras.layers.Dense(units, **kwargs)
        super().__init__(
            dense,
            rate,
            weights=weights,
            variational=variational,
            seed=seed,
            mc=mc,
            **base_kwargs,
        )

    def get_config(self):
        config = super().get_config()
        del config["layer"]
        dense = self.layer.get_config()
        for key in ("name", "trainable", "dtype"):
            dense.pop(key, None)
        return {**dense, **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
