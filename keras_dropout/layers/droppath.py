"""Drop path / stochastic depth: drop whole residual branches per sample."""

import keras
from keras import ops

from keras_dropout import _validation
from keras_dropout import functional
from keras_dropout import random as kd_random
from keras_dropout._base import BaseDropout
from keras_dropout._base import WrapperMixin

MODES = ("row", "batch")
_EXPECTED_INPUTS = (
    "a list or tuple [shortcut, residual] of two tensors of the same shape"
)


def drop_path_rates(max_rate, depth):
    """The linearly increasing drop-path rates of ViT, DeiT, Swin, ConvNeXt.

    Block `i` of `n` gets `max_rate * i / (n - 1)`: 0 for the first block,
    `max_rate` for the last, as timm's `torch.linspace(0, max_rate, n)`
    (a single block gets `[0.0]`). The values are Python floats rounded to
    12 decimals (so `0.15` prints as `0.15`); timm's float32 `linspace`
    differs from them by float32 rounding (about 1e-8).

    Args:
        max_rate: float in `[0, 1)`, the rate of the deepest block.
        depth: a positive int, the number of blocks; or a list of positive
            ints, the number of blocks in each stage: the same rates over
            the total depth are then split by stage.

    Returns:
        A list of floats, or (for a list `depth`) a list of lists.

    Examples:
        >>> import keras_dropout
        >>> keras_dropout.drop_path_rates(0.2, 5)
        [0.0, 0.05, 0.1, 0.15, 0.2]
        >>> keras_dropout.drop_path_rates(0.3, [1, 2, 1])
        [[0.0], [0.1, 0.2], [0.3]]
    """
    max_rate = _validation.check_rate(max_rate, "max_rate")
    expected = "a positive int or a non-empty list of positive ints (per stage)"
    is_count = _validation.is_positive_int
    if is_count(depth):
        stages = None
        total = int(depth)
    elif (
        isinstance(depth, (list, tuple))
        and len(depth) > 0
        and all(is_count(d) for d in depth)
    ):
        stages = [int(d) for d in depth]
        total = sum(stages)
    else:
        raise _validation.invalid("depth", expected, depth)
    if total == 1:
        rates = [0.0]
    else:
        # Rounded so that 0.2 * 3 / 4 is 0.15, not 0.15000000000000002.
        rates = [round(max_rate * i / (total - 1), 12) for i in range(total)]
    if stages is None:
        return rates
    split, start = [], 0
    for count in stages:
        split.append(rates[start : start + count])
        start += count
    return split


@keras.saving.register_keras_serializable(package="keras_dropout")
class DropPath(BaseDropout):
    """Drops a residual branch for whole samples (drop path).

    For each sample, the input is either zeroed (with probability `rate`)
    or divided by `1 - rate`: the mask has shape
    `(batch,) + (1,) * (ndim - 1)`. Applied to the branch of a residual
    block, `x + DropPath(rate)(branch(x))`, it skips the branch for a
    random subset of the samples: stochastic depth as used in timm and in
    ViT, DeiT, Swin and ConvNeXt (see `drop_path_rates` for the usual
    per-block rates). Inference is the identity.

    Compared with timm's `DropPath`, it adds `mc` and the
    `keras_dropout.mc_dropout()` scope; a rate that can change during
    training without recompiling (for rate schedules); seeds, with masks
    that are the same on TensorFlow, JAX and PyTorch (with the default
    `"portable"` generator); and one implementation for the three
    backends, in place of the copies with differing semantics scattered
    in keras-hub.

    Args:
        rate: float in `[0, 1)`, the probability of dropping a sample's
            branch (not of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a floating-point tensor of any rank >= 1, batch first.
        training: Python bool; `True` applies drop path.

    Input shape:
        Arbitrary, batch first.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.DropPath(0.5, seed=0)
        >>> branch = np.ones((8, 4), "float32")
        >>> y = np.asarray(layer(branch, training=True))
        >>> bool(np.all(y == y[:, :1]))  # one decision per sample
        True
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> bool(np.all(np.asarray(layer(branch)) == branch))  # inference
        True

    Reference:
        - [Huang et al., 2016](https://arxiv.org/abs/1603.09382): Deep
          networks with stochastic depth.
        - [Larsson et al., 2016](https://arxiv.org/abs/1605.07648):
          FractalNet (the name "drop path").
    """

    draws_per_row = True
    consistent_noise = "multiplicative"

    def _check_input_shape(self, shape):
        _validation.check_batched(shape, self)

    def dropout(self, inputs, rate, seed):
        return functional.unchecked.drop_path(inputs, rate, seed)


@keras.saving.register_keras_serializable(package="keras_dropout")
class StochasticDepth(BaseDropout):
    """A residual connection whose branch is randomly skipped in training.

    Called on `[shortcut, residual]`, it returns
    `shortcut + dropped(residual)`. Two formulations:

    * `mode="row"` (default, timm's and modern vision models'): each
      sample's residual is zeroed with probability `rate` or divided by
      `1 - rate`; inference returns `shortcut + residual`. The same as
      `shortcut + DropPath(rate)(residual)`.
    * `mode="batch"` (the original paper's and TensorFlow Addons'): one
      draw for the whole batch keeps the residual unscaled or drops it for
      every sample; inference returns `shortcut + (1 - rate) * residual`.

    Both give the same expected output in training and at inference.

    Compared with keras-cv's `StochasticDepth` (batch mode only, no
    seed), it adds per-sample mode, seeds with masks that are the same on
    TensorFlow, JAX and PyTorch, `mc` and the `keras_dropout.mc_dropout()`
    scope, a rate that can change during training without recompiling,
    and a check that the inputs are two tensors of the same shape.

    Args:
        rate: float in `[0, 1)`, the probability of dropping the residual
            (not of keeping it). Can be changed during training
            (`layer.rate = 0.2`) without recompiling.
        mode: `"row"` or `"batch"`, see above.
        seed: optional int for the layer's seed generator.
        mc: if `True`, drop at inference too (Monte Carlo dropout).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: a list or tuple `[shortcut, residual]` of two
            floating-point tensors of the same shape, batch first.
        training: Python bool; `True` applies stochastic depth.

    Input shape:
        Two tensors of the same shape, batch first.

    Output shape:
        That shape.

    Examples:
        >>> import numpy as np, keras_dropout
        >>> layer = keras_dropout.StochasticDepth(0.5, seed=0)
        >>> shortcut = np.zeros((8, 3), "float32")
        >>> residual = np.ones((8, 3), "float32")
        >>> y = np.asarray(layer([shortcut, residual], training=True))
        >>> sorted(set(y.ravel().tolist()))  # per sample: dropped or scaled
        [0.0, 2.0]
        >>> np.asarray(layer([shortcut, residual]))[0].tolist()  # inference
        [1.0, 1.0, 1.0]
        >>> batch = keras_dropout.StochasticDepth(0.5, mode="batch", seed=0)
        >>> np.asarray(batch([shortcut, residual]))[0].tolist()
        [0.5, 0.5, 0.5]

    Reference:
        - [Huang et al., 2016](https://arxiv.org/abs/1603.09382): Deep
          networks with stochastic depth.
    """

    draws_per_row = True
    consistent_noise = "custom"

    def __init__(self, rate, mode="row", seed=None, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        self.mode = _validation.check_choice(mode, "mode", MODES)
        # "batch" makes one draw per call, shared by every row.
        self.draws_per_row = self.mode == "row"

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # two inputs of one shape
        super().build(input_shape)

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            received = (
                f"a {type(inputs).__name__} of length {len(inputs)}"
                if isinstance(inputs, (list, tuple))
                else f"a single tensor of shape {getattr(inputs, 'shape', None)}"
            )
            raise ValueError(
                f"Invalid value received for argument `inputs` of layer "
                f"`{self.name}` (StochasticDepth). Expected {_EXPECTED_INPUTS}. "
                f"Received: {received}"
            )
        self._check_shapes([tuple(t.shape) for t in inputs])
        for tensor in inputs:
            super()._check_inputs(tensor)

    def _check_shapes(self, shapes):
        first, second = (tuple(shape) for shape in shapes)
        if len(first) != len(second) or any(
            a is not None and b is not None and a != b
            for a, b in zip(first, second, strict=True)
        ):
            raise ValueError(
                f"Invalid value received for argument `inputs` of layer "
                f"`{self.name}` (StochasticDepth). Expected {_EXPECTED_INPUTS}. "
                f"Received: shapes {first} and {second}"
            )

    def dropout(self, inputs, rate, seed):
        shortcut, residual = inputs
        if self.mode == "row":
            dropped = functional.unchecked.drop_path(residual, rate, seed)
            return ops.add(shortcut, dropped)
        keep = kd_random.keep_mask((1,) * len(residual.shape), rate, seed)
        return ops.add(shortcut, ops.multiply(residual, ops.cast(keep, residual.dtype)))

    def dropout_shared(self, inputs, rate, seed):
        if self.mode == "batch":  # one draw per call already
            return self.dropout(inputs, rate, seed)
        shortcut, residual = inputs
        noise = functional.unchecked.drop_path(ops.ones_like(residual[:1]), rate, seed)
        return ops.add(shortcut, ops.multiply(residual, noise))

    def inference(self, inputs, rate):
        shortcut, residual = inputs
        if self.mode == "row":
            return ops.add(shortcut, residual)
        keep = ops.cast(ops.subtract(1.0, rate), residual.dtype)
        return ops.add(shortcut, ops.multiply(residual, keep))

    def compute_output_shape(self, input_shape):
        if not (
            isinstance(input_shape, (list, tuple))
            and len(input_shape) == 2
            and all(isinstance(s, (list, tuple)) for s in input_shape)
        ):
            raise ValueError(
                f"Invalid value received for argument `inputs` of layer "
                f"`{self.name}` (StochasticDepth). Expected {_EXPECTED_INPUTS}. "
                f"Received: inputs of shape {input_shape}"
            )
        self._check_shapes(input_shape)
        return tuple(input_shape[0])

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


def _subset_size(batch, keep):
    """`max(floor(batch * keep), 1)`: a Python int when the batch size is
    known (static shapes for XLA), else a scalar int32 tensor."""
    if isinstance(batch, int):
        return max(int(batch * keep), 1)
    size = ops.floor(ops.multiply(ops.cast(batch, "float32"), keep))
    return ops.maximum(ops.cast(size, "int32"), 1)


@keras.saving.register_keras_serializable(package="keras_dropout")
class SubsetDropPath(WrapperMixin, BaseDropout):
    """A residual block that skips its branch for a random part of the batch,
    and saves the compute.

    Called on `x`, it returns `x + layer(x)` at inference. In training it
    picks `k = max(floor(batch * (1 - rate)), 1)` distinct rows of the
    batch at random, runs `layer` on those `k` rows only, and adds the
    result, multiplied by `batch / k`, to them; the other rows pass through
    unchanged. The branch's cost falls by about `rate`, unlike
    `x + DropPath(rate)(layer(x))`, which runs the branch on every row and
    then zeroes some. Each row's output has the same expectation as with
    `DropPath` (`x + layer(x)` when `layer` treats rows independently);
    the number of rows skipped is exactly `batch - k` instead of binomial.
    This is DINOv2's `drop_add_residual_stochastic_depth` (its blocks use it
    when `sample_drop_ratio > 0.1`).

    `k` depends only on the batch size and `rate`, so shapes stay static
    under `jit_compile` / `jax.jit`; the layer reads `rate` when a function
    is traced, so a new rate takes effect when the training function is
    next compiled (unlike the other layers, whose rate lives in the
    compiled graph: `model.make_train_function(force=True)` after changing
    it). `layer` must map `(rows, ...)` to the same shape (a residual
    branch), treat rows independently (no batch statistics: a
    `BatchNormalization` in the branch would see only the `k` rows), and
    is built and saved with the wrapper.

    Args:
        layer: a `keras.layers.Layer`, the residual branch.
        rate: float in `[0, 1)`, the fraction of rows whose branch is
            skipped (not kept).
        seed: optional int for the layer's seed generator.
        mc: if `True`, skip branches at inference too (Monte Carlo).
            See also the `keras_dropout.mc_dropout()` scope.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: the residual stream, a floating-point tensor, batch first.
        training: Python bool; `True` runs the branch on a random subset.

    Input shape:
        Arbitrary, batch first; `layer`'s output shape must equal it.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> block = keras_dropout.SubsetDropPath(
        ...     keras.layers.Dense(4, kernel_initializer="ones"), 0.5, seed=0)
        >>> x = np.ones((8, 4), "float32")
        >>> y = keras.ops.convert_to_numpy(block(x, training=True))
        >>> sorted(set(y[:, 0].tolist()))  # 4 rows skipped, 4 get 1 + 4 * 8/4
        [1.0, 9.0]
        >>> int(np.sum(y[:, 0] == 9.0))
        4
        >>> keras.ops.convert_to_numpy(block(x))[0].tolist()  # x + layer(x)
        [5.0, 5.0, 5.0, 5.0]

    Reference:
        - [Huang et al., 2016](https://arxiv.org/abs/1603.09382): Deep
          networks with stochastic depth.
        - [Oquab et al., 2023](https://arxiv.org/abs/2304.07193): DINOv2
          (stochastic depth on a subset of the batch, to save compute).
    """

    # A fixed number of rows, drawn without replacement: rows are not
    # independent, and a shared draw makes no sense (it would keep all or no
    # rows).
    draws_per_row = False
    consistent_noise = None

    def __init__(self, layer, rate, seed=None, mc=False, **kwargs):
        super().__init__(rate, seed=seed, mc=mc, **kwargs)
        if not isinstance(layer, keras.layers.Layer):
            raise _validation.invalid("layer", "a keras.layers.Layer", layer)
        self.layer = layer

    def build(self, input_shape):
        _validation.check_batched(input_shape, self)
        self._build_wrapped(input_shape)
        branch_shape = tuple(self.layer.compute_output_shape(input_shape))
        if branch_shape[1:] != tuple(input_shape)[1:]:
            raise ValueError(
                f"Invalid value received for argument `layer` of "
                f"`{self.name}` (SubsetDropPath): expected a residual branch "
                f"whose output shape is its input shape {tuple(input_shape)}. "
                f"Received: {type(self.layer).__name__} with output shape "
                f"{branch_shape}"
            )
        super().build(input_shape)

    def _check_input_shape(self, shape):
        _validation.check_batched(shape, self)

    def dropout(self, inputs, rate, seed):
        # `rate` (a traced variable in compiled code) cannot set a static
        # shape: the subset size uses the Python value.
        batch = ops.shape(inputs)[0]
        size = _subset_size(batch, 1.0 - self._rate)
        order = ops.argsort(kd_random.uniform((batch,), seed))
        rows = order[:size]
        branch = self._call_wrapped(ops.take(inputs, rows, axis=0))
        scale = ops.divide(ops.cast(batch, "float32"), ops.cast(size, "float32"))
        branch = ops.multiply(branch, ops.cast(scale, branch.dtype))
        # Into zeros shaped like the inputs (not `ops.scatter`, whose new
        # zeros Keras < 3.15 puts on the CPU, off PyTorch's "meta" device).
        added = ops.scatter_update(
            ops.zeros_like(inputs),
            ops.expand_dims(rows, -1),
            ops.cast(branch, inputs.dtype),
        )
        return ops.add(inputs, added)

    def inference(self, inputs, rate):
        return ops.add(inputs, self._call_wrapped(inputs))

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return mask
