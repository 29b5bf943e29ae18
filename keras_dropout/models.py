"""Functions over whole models: Monte Carlo prediction and conversion.

`mc_predict` samples a model's MC-dropout predictive distribution batch by
batch and returns its mean and standard deviation; `convert` swaps the
dropout layers of a Keras model for the pack's equivalents, so that
`mc_dropout()`, `mc_predict` and `RateScheduler` work on it; `pack_layers`
lists a model's keras_dropout layers.
"""

import numbers

import keras
import numpy as np

from keras_dropout import _validation
from keras_dropout._base import live_layers
from keras_dropout._base import mc_dropout
from keras_dropout.layers.dropout import Dropout
from keras_dropout.layers.noise import AlphaDropout
from keras_dropout.layers.noise import GaussianDropout
from keras_dropout.layers.spatial import SpatialDropout1D
from keras_dropout.layers.spatial import SpatialDropout2D
from keras_dropout.layers.spatial import SpatialDropout3D

STRATEGIES = ("auto", "loop", "vectorized")

# The automatic strategy repeats a batch `samples` times in one call while
# the repeated batch has at most this many rows, and loops otherwise
# (see benchmarks/mc_predict.py: one call of many rows beats many calls of
# few rows on every backend, until the repeated batch stops fitting caches).
_MAX_VECTORIZED_ROWS = 16384


def pack_layers(model):
    """The keras_dropout layers of `model`, nested ones included, in order.

    A layer belongs to the model when its rate variable is one of
    `model.variables` (which Keras collects from every sub-layer, however
    deeply nested). The order is that of `model.variables`.
    """
    positions = {id(v): i for i, v in enumerate(model.variables)}
    found = [layer for layer in live_layers() if id(layer.rate_variable) in positions]
    return sorted(found, key=lambda layer: positions[id(layer.rate_variable)])


class MCPrediction:
    """The result of `mc_predict`: the MC mean and spread of a model's output.

    Attributes:
        mean: numpy array `(N, ...)`, the mean of the sampled predictions.
        std: numpy array `(N, ...)`, their standard deviation (the
            population one, `ddof=0`).
        samples: numpy array `(samples, N, ...)` of every sampled
            prediction when `mc_predict(..., return_samples=True)`, else
            `None`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout import MCPrediction
        >>> p = MCPrediction(mean=np.zeros((4, 3)), std=np.ones((4, 3)))
        >>> p
        MCPrediction(mean=(4, 3), std=(4, 3))
        >>> p.mean.argmax(axis=-1).shape
        (4,)
    """

    def __init__(self, mean, std, samples=None):
        self.mean = mean
        self.std = std
        self.samples = samples

    def __repr__(self):
        with_samples = "" if self.samples is None else f", samples={self.samples.shape}"
        return (
            f"MCPrediction(mean={self.mean.shape}, std={self.std.shape}{with_samples})"
        )


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise _validation.invalid(name, "a positive int (1 or more)", value)
    return int(value)


def _as_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    return np.asarray(keras.ops.convert_to_numpy(value))


def _num_rows(x):
    sizes = {int(np.shape(a)[0]) if np.ndim(a) else 0 for a in keras.tree.flatten(x)}
    if len(sizes) != 1 or 0 in sizes:
        raise _validation.invalid(
            "x",
            "an array (or a structure of arrays) with the same, non-zero "
            "number of rows along axis 0",
            f"<rows {sorted(sizes)}>",
        )
    return sizes.pop()


class _Welford:
    """Running mean and sum of squared deviations over samples (float64)."""

    def __init__(self):
        self.count = 0
        self.mean = None
        self.m2 = None

    def add(self, value):
        value = np.asarray(value, dtype="float64")
        self.count += 1
        if self.mean is None:
            self.mean = value.copy()
            self.m2 = np.zeros_like(value)
            return
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)

    def std(self):
        return np.sqrt(self.m2 / self.count)


def _single_output(outputs):
    if isinstance(outputs, (list, tuple, dict)):
        raise ValueError(
            "`mc_predict` supports models with a single output. Received a "
            f"model whose output is a {type(outputs).__name__}. Wrap the "
            "model to select one output, e.g. "
            "`keras.Model(model.inputs, model.outputs[0])`."
        )
    return np.asarray(outputs)


def _reseed(layers, seed):
    """Give each layer's seed generator a distinct state derived from `seed`.

    Returns the old states, for `_restore`.
    """
    words = np.random.SeedSequence(seed).generate_state(max(len(layers), 1))
    old = []
    for layer, word in zip(layers, words, strict=False):
        state = layer.seed_generator.state
        before = _as_numpy(state.value)
        old.append((state, before))
        state.assign(np.asarray([int(word) % 2**31, 0], dtype=before.dtype))
    return old


def _restore(old):
    for state, value in old:
        state.assign(value)


def mc_predict(
    model,
    x,
    samples=30,
    batch_size=None,
    seed=None,
    return_samples=False,
    verbose="auto",
    strategy="auto",
):
    """Monte Carlo (MC) dropout predictions: mean and spread over samples.

    Runs `model` on `x` `samples` times inside `keras_dropout.mc_dropout()`,
    so every keras_dropout layer draws a fresh mask on each pass while every
    other layer (`BatchNormalization` included) stays in inference mode and
    no state is updated. It works batch by batch and keeps running moments
    (Welford's algorithm), so memory holds one batch times `samples`
    predictions, not all of them, unless `return_samples=True`.

    Two strategies give samples from the same distribution:

    * `"loop"`: `samples` compiled predict calls per batch.
    * `"vectorized"`: one call per batch on the batch repeated `samples`
      times along axis 0; each row draws its own mask. Only valid when every
      pack layer draws per-row masks (not `DropConnect`,
      `EmbeddingDropout`, or a `noise_shape` whose first entry is 1).

    `"auto"` (default) vectorizes when that is valid and the repeated batch
    has at most 16384 rows, and loops otherwise.

    Models without keras_dropout layers are deterministic here (their std
    is exactly zero); convert Keras dropout layers first with
    `keras_dropout.convert(model)`.

    Args:
        model: a Keras model with a single output.
        x: input array, or a structure of arrays as `model.predict` takes,
            all with the same number of rows.
        samples: positive int, the number of stochastic passes.
        batch_size: positive int or `None` (32): rows of `x` per batch.
        seed: optional int. With a seed, the same model and inputs give the
            same result: each pack layer's seed generator is reseeded with a
            distinct value derived from `seed`, and restored afterwards.
        return_samples: bool; also return every sample, shape
            `(samples, N, ...)`.
        verbose: `"auto"` (same as 1), 0 (silent), 1 (progress bar) or 2
            (one line at the end): a `keras.utils.Progbar` over batches.
        strategy: `"auto"`, `"loop"` or `"vectorized"`, see above.

    Returns:
        An `MCPrediction` with `.mean` and `.std` (numpy arrays of shape
        `(N, ...)`, the model's output dtype) and `.samples` (`None` unless
        `return_samples=True`).

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> model = keras.Sequential([
        ...     keras.Input((4,)), keras.layers.Dense(8),
        ...     keras_dropout.Dropout(0.5), keras.layers.Dense(1)])
        >>> x = np.ones((10, 4), "float32")
        >>> result = keras_dropout.mc_predict(model, x, samples=20, seed=0, verbose=0)
        >>> result.mean.shape, result.std.shape
        ((10, 1), (10, 1))
        >>> again = keras_dropout.mc_predict(model, x, samples=20, seed=0, verbose=0)
        >>> bool(np.array_equal(result.mean, again.mean))
        True

    Reference:
        - [Gal & Ghahramani, 2016](https://arxiv.org/abs/1506.02142):
          Dropout as a Bayesian approximation.
    """
    if not isinstance(model, keras.Model):
        raise _validation.invalid("model", "a keras.Model", type(model).__name__)
    samples = _check_positive_int(samples, "samples")
    batch_size = (
        32 if batch_size is None else _check_positive_int(batch_size, "batch_size")
    )
    seed = _validation.check_seed(seed)
    return_samples = _validation.check_bool(return_samples, "return_samples")
    if verbose == "auto":
        verbose = 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise _validation.invalid("verbose", '"auto", 0, 1 or 2', verbose)
    strategy = _validation.check_choice(strategy, "strategy", STRATEGIES)

    x = keras.tree.map_structure(_as_numpy, x)
    rows = _num_rows(x)
    layers = pack_layers(model)
    per_row = all(_draws_per_row(layer) for layer in layers)
    if strategy == "vectorized" and not per_row:
        shared = [layer.name for layer in layers if not _draws_per_row(layer)]
        raise ValueError(
            'Invalid value received for argument `strategy`. "vectorized" '
            "needs every keras_dropout layer to draw one mask per row; "
            f"{shared} share theirs across the batch. Use "
            f'strategy="loop" or "auto". Received: strategy={strategy!r}'
        )
    if strategy == "auto":
        vectorize = per_row and min(batch_size, rows) * samples <= _MAX_VECTORIZED_ROWS
    else:
        vectorize = strategy == "vectorized"

    steps = -(-rows // batch_size)
    progbar = keras.utils.Progbar(steps, verbose=verbose) if verbose else None
    means, stds, kept = [], [], []
    old_states = _reseed(layers, seed) if seed is not None else []
    try:
        with mc_dropout():
            for step in range(steps):
                start, stop = step * batch_size, min((step + 1) * batch_size, rows)
                part = slice(start, stop)
                batch = keras.tree.map_structure(lambda a, part=part: a[part], x)
                draws = _sample_batch(model, batch, samples, vectorize)
                moments = _Welford()
                batch_samples = []
                for draw in draws:
                    moments.add(draw)
                    if return_samples:
                        batch_samples.append(draw)
                dtype = draws[0].dtype if isinstance(draws, list) else draws.dtype
                means.append(moments.mean.astype(dtype))
                stds.append(moments.std().astype(dtype))
                if return_samples:
                    kept.append(np.stack(batch_samples))
                if progbar is not None:
                    progbar.update(step + 1)
    finally:
        _restore(old_states)
    return MCPrediction(
        np.concatenate(means),
        np.concatenate(stds),
        np.concatenate(kept, axis=1) if return_samples else None,
    )


def _draws_per_row(layer):
    """Whether `layer` draws independently for each row of the batch.

    The layer's class says so (`draws_per_row`, see `BaseDropout`); a
    `noise_shape` that shares the mask over the batch axis overrides it.
    """
    if not getattr(layer, "draws_per_row", False):
        return False
    noise_shape = getattr(layer, "noise_shape", None)
    return noise_shape is None or noise_shape[0] is None


def _sample_batch(model, batch, samples, vectorize):
    """`samples` predictions of one batch: an array `(samples, B, ...)`."""
    if not vectorize:
        return [_single_output(model.predict_on_batch(batch)) for _ in range(samples)]
    repeated = keras.tree.map_structure(
        lambda a: np.concatenate([a] * samples, axis=0), batch
    )
    outputs = _single_output(model.predict_on_batch(repeated))
    return outputs.reshape((samples, -1) + outputs.shape[1:])


# Keras layer class -> function building the pack's equivalent from it.
def _noise_shape(layer):
    shape = getattr(layer, "noise_shape", None)
    return None if shape is None else tuple(shape)


def _common(layer):
    return {
        "seed": getattr(layer, "seed", None),
        "name": layer.name,
        "dtype": layer.dtype_policy,
    }


def _default_mapping():
    kl = keras.layers
    mapping = {
        kl.Dropout: lambda layer: Dropout(
            layer.rate, noise_shape=_noise_shape(layer), **_common(layer)
        ),
        kl.GaussianDropout: lambda layer: GaussianDropout(layer.rate, **_common(layer)),
        kl.AlphaDropout: lambda layer: AlphaDropout(
            layer.rate, noise_shape=_noise_shape(layer), **_common(layer)
        ),
        kl.SpatialDropout1D: lambda layer: SpatialDropout1D(
            layer.rate, data_format="channels_last", **_common(layer)
        ),
        kl.SpatialDropout2D: lambda layer: SpatialDropout2D(
            layer.rate, data_format=layer.data_format, **_common(layer)
        ),
        kl.SpatialDropout3D: lambda layer: SpatialDropout3D(
            layer.rate, data_format=layer.data_format, **_common(layer)
        ),
    }
    return mapping


def _is_functional(model):
    # Functional models (and Sequential ones) are graphs of layers with
    # symbolic inputs; subclassed models have no such graph.
    if isinstance(model, keras.Sequential):
        return True
    try:
        inputs = model.inputs
    except AttributeError:
        return False
    return bool(inputs) and all(
        isinstance(t, keras.KerasTensor) for t in keras.tree.flatten(inputs)
    )


def convert(model, mapping=None):
    """A copy of a Keras model with its dropout layers swapped for the pack's.

    Replaces `keras.layers.Dropout`, `SpatialDropout1D`/`2D`/`3D`,
    `GaussianDropout` and `AlphaDropout` (in nested models too) by the
    keras_dropout layer of the same name, with the same rate, seed,
    `noise_shape`/`data_format`, name and dtype policy. Every other layer is
    cloned and keeps its weights. The original model is not modified.

    The converted model computes the same training and inference
    maths; on top, its dropout rates can change during training without
    recompiling (`keras_dropout.callbacks.RateScheduler`), and
    `keras_dropout.mc_dropout()` / `keras_dropout.mc_predict` make them
    stochastic at inference.

    Args:
        model: a Sequential or functional `keras.Model`. Subclassed models
            have no layer graph to rebuild: build them with pack layers
            instead.
        mapping: optional dict from a Keras layer class to a function
            `f(layer) -> new layer`; it extends (and overrides) the default
            mapping. Layers are matched by exact class.

    Returns:
        A new, uncompiled model (compile it as the original was).

    Examples:
        >>> import numpy as np, keras, keras_dropout
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
        ...                           keras.layers.Dropout(0.5)])
        >>> converted = keras_dropout.convert(model)
        >>> type(converted.layers[-1]).__name__, converted.layers[-1].rate
        ('Dropout', 0.5)
        >>> isinstance(converted.layers[-1], keras_dropout.BaseDropout)
        True
        >>> x = np.ones((2, 4), "float32")
        >>> before, after = model.predict(x, verbose=0), converted.predict(x, verbose=0)
        >>> bool(np.allclose(before, after))
        True
    """
    if not isinstance(model, keras.Model):
        raise _validation.invalid("model", "a keras.Model", type(model).__name__)
    if not _is_functional(model):
        raise ValueError(
            "Invalid value received for argument `model`. Expected a "
            "Sequential or functional Keras model: a subclassed model has no "
            "layer graph that can be rebuilt. Create its dropout layers from "
            "keras_dropout instead. Received: "
            f"model=<{type(model).__name__} name={model.name!r}>"
        )
    table = _default_mapping()
    if mapping is not None:
        if not isinstance(mapping, dict) or not all(
            isinstance(k, type) and callable(v) for k, v in mapping.items()
        ):
            raise _validation.invalid(
                "mapping",
                "None or a dict from a layer class to a function `f(layer) -> layer`",
                mapping,
            )
        table.update(mapping)

    def clone_function(layer):
        build = table.get(type(layer))
        if build is not None:
            return build(layer)
        return layer.__class__.from_config(layer.get_config())

    converted = keras.models.clone_model(
        model, clone_function=clone_function, recursive=True
    )
    converted.set_weights(model.get_weights())
    return converted
