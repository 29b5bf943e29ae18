"""Functions over whole models: Monte Carlo prediction and conversion.

`mc_predict` samples a model's MC-dropout predictive distribution batch by
batch and returns its mean and standard deviation; `convert` swaps the
dropout layers of a Keras model for the pack's equivalents, so that
`mc_dropout()`, `mc_predict` and `RateScheduler` work on it, and `revert`
undoes that; `pack_layers` lists a model's keras_dropout layers.
"""

import contextlib
import numbers
import weakref

import keras
import numpy as np

from keras_dropout import _compat
from keras_dropout import _validation
from keras_dropout._base import batch_shared_noise
from keras_dropout._base import keras_dropout_classes
from keras_dropout._base import live_layers
from keras_dropout._base import mc_dropout
from keras_dropout._base import mc_layers
from keras_dropout._base import rnn_cells
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


def _seed_generators(layer):
    """The seed generators a stochastic layer draws its noise from."""
    if isinstance(layer, keras.layers.RNN):  # Keras's: its cells draw
        found = [getattr(cell, "seed_generator", None) for cell in rnn_cells(layer)]
    else:
        found = [getattr(layer, "seed_generator", None)]
    return [g for g in found if isinstance(g, keras.random.SeedGenerator)]


def _reseed(layers, seed):
    """Give each layer's seed generators distinct states derived from `seed`.

    Returns the old states, for `_restore`.
    """
    generators = [g for layer in layers for g in _seed_generators(layer)]
    words = np.random.SeedSequence(seed).generate_state(max(len(generators), 1))
    old = []
    for generator, word in zip(generators, words, strict=False):
        state = generator.state
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
    *,
    consistent=False,
    cache_prefix=True,
):
    """Monte Carlo (MC) dropout predictions: mean and spread over samples.

    Runs `model` on `x` `samples` times inside
    `keras_dropout.mc_dropout(model)`, so every keras_dropout layer and
    every Keras dropout layer of the model (`keras.layers.Dropout` and its
    relatives, `MultiHeadAttention`'s attention dropout, RNN `dropout` and
    `recurrent_dropout`: see `mc_dropout`) draws a fresh mask on each pass,
    while every other layer (`BatchNormalization` included) stays in
    inference mode and no state is updated. A plain Keras model therefore
    needs no `convert` first. It works batch by batch and keeps running moments
    (Welford's algorithm), so memory holds one batch times `samples`
    predictions, not all of them, unless `return_samples=True`.

    Two strategies give samples from the same distribution:

    * `"loop"`: `samples` compiled predict calls per batch.
    * `"vectorized"`: one call per batch on the batch repeated `samples`
      times along axis 0; each row draws its own mask. Only valid when every
      stochastic layer draws per-row masks (not `DropConnect`,
      `EmbeddingDropout`, a `noise_shape` whose first entry is 1, or a
      stateful Keras RNN).

    `"auto"` (default) vectorizes when that is valid and the repeated batch
    has at most 16384 rows, and loops otherwise.

    Prefix cache (`cache_prefix=True`, default): on a functional or
    Sequential model, the deterministic part of the graph, from the inputs
    up to the tensors the stochastic layers are computed from, runs once per
    batch, and only the rest runs `samples` times. A CNN whose dropout is
    in its head then costs one pass of the convolutional trunk per batch
    instead of `samples`. The same layers draw the same noise either way, so
    with a `seed` the result is the same as with `cache_prefix=False` (up to
    float rounding of the compiled code). Subclassed models, models where a
    model input feeds a stochastic layer directly, and models carrying Keras
    masks are run whole.

    Consistent MC dropout (`consistent=True`): sample `k` is the same
    sub-network for every input and every batch. Each stochastic layer
    draws one noise per call, shared by every row of the batch, and its
    seed generator restarts from a state derived from `(seed, k)` for
    sample `k` of each batch, so a row's prediction does not depend on the
    batch size or on the other rows. It runs `samples` calls per batch
    (the `"loop"` strategy). Layers whose noise cannot be shared over the
    batch (`ZoneoutCell`) are refused. Without a `seed`, one is drawn per
    call.

    A model with no dropout at all (no keras_dropout layer and no Keras
    dropout layer with a non-zero rate) is refused: its samples would all be
    equal.

    Args:
        model: a Keras model with a single output, with at least one
            keras_dropout layer or Keras dropout layer (rate above 0).
        x: input array, or a structure of arrays as `model.predict` takes,
            all with the same number of rows.
        samples: positive int, the number of stochastic passes.
        batch_size: positive int or `None` (32): rows of `x` per batch.
        seed: optional int. With a seed, the same model and inputs give the
            same result: the seed generator of each stochastic layer (pack
            and Keras ones) is reseeded with a distinct value derived from
            `seed`, and restored afterwards.
        return_samples: bool; also return every sample, shape
            `(samples, N, ...)`.
        verbose: `"auto"` (same as 1), 0 (silent), 1 (progress bar) or 2
            (one line at the end): a `keras.utils.Progbar` over batches.
        strategy: `"auto"`, `"loop"` or `"vectorized"`, see above.
        consistent: keyword-only bool; the same `samples` sub-networks for
            every input (see above). Not with `strategy="vectorized"`.
        cache_prefix: keyword-only bool; run the deterministic prefix of a
            functional model once per batch (see above).

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

        Keras's own dropout layers are sampled too:

        >>> plain = keras.Sequential([
        ...     keras.Input((4,)), keras.layers.Dense(8),
        ...     keras.layers.Dropout(0.5), keras.layers.Dense(1)])
        >>> spread = keras_dropout.mc_predict(plain, x, samples=20, verbose=0).std
        >>> bool(np.all(spread > 0))
        True

        Consistent samples do not depend on the batch size:

        >>> a = keras_dropout.mc_predict(model, x, samples=5, batch_size=3,
        ...     seed=0, consistent=True, verbose=0, return_samples=True)
        >>> b = keras_dropout.mc_predict(model, x, samples=5, batch_size=10,
        ...     seed=0, consistent=True, verbose=0, return_samples=True)
        >>> bool(np.allclose(a.samples, b.samples, atol=1e-6))
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
    consistent = _validation.check_bool(consistent, "consistent")
    cache_prefix = _validation.check_bool(cache_prefix, "cache_prefix")
    if consistent and strategy == "vectorized":
        raise ValueError(
            'Invalid value received for argument `strategy`. "vectorized" '
            "draws one noise per row of the repeated batch, while "
            "consistent=True shares one noise over the batch per sample: "
            f'use strategy="loop" or "auto". Received: strategy={strategy!r}'
        )

    x = keras.tree.map_structure(_as_numpy, x)
    rows = _num_rows(x)
    layers = pack_layers(model) + mc_layers(model)
    if not layers:
        raise _validation.invalid(
            "model",
            "a model with at least one dropout layer: a keras_dropout layer, "
            "or a Keras Dropout, SpatialDropout, GaussianDropout, "
            "AlphaDropout, MultiHeadAttention or RNN layer with a rate above 0",
            f"<{type(model).__name__} name={model.name!r}>",
            "Without one every sample is the same prediction",
        )
    if consistent:
        unsupported = [
            layer.name
            for layer in layers
            if getattr(layer, "consistent_noise", "keras") is None
        ]
        if unsupported:
            raise ValueError(
                "Invalid value received for argument `consistent`. "
                f"consistent=True needs every stochastic layer to share its "
                f"noise over the batch; {unsupported} cannot (their "
                "`consistent_noise` is None). Received: consistent=True"
            )
    per_row = all(_draws_per_row(layer) for layer in layers)
    if strategy == "vectorized" and not per_row:
        shared = [layer.name for layer in layers if not _draws_per_row(layer)]
        raise ValueError(
            'Invalid value received for argument `strategy`. "vectorized" '
            "needs every stochastic layer to draw one mask per row; "
            f"{shared} share theirs across the batch. Use "
            f'strategy="loop" or "auto". Received: strategy={strategy!r}'
        )
    if consistent:
        vectorize = False
    elif strategy == "auto":
        vectorize = per_row and min(batch_size, rows) * samples <= _MAX_VECTORIZED_ROWS
    else:
        vectorize = strategy == "vectorized"

    split = _prefix_split(model, layers) if cache_prefix else None
    if consistent and seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % 2**31)
    # Consistent mode: sample k restarts every generator from a state
    # derived from (seed, k), in every batch.
    sample_seeds = (
        [int(w % 2**31) for w in np.random.SeedSequence(seed).generate_state(samples)]
        if consistent
        else None
    )

    steps = -(-rows // batch_size)
    progbar = keras.utils.Progbar(steps, verbose=verbose) if verbose else None
    means, stds, kept = [], [], []
    old_states = _reseed(layers, seed) if seed is not None else []
    shared_noise = batch_shared_noise(model) if consistent else contextlib.nullcontext()
    try:
        with _compat.torch_global_rng_seeded(seed), mc_dropout(model), shared_noise:
            runner = model
            if split is not None:
                runner = split.suffix
                traced = (consistent, _keras_rates(layers))
                if split.traced != traced:
                    # The suffix's compiled predict function keeps the
                    # Python-level behaviour it was traced with (batch-shared
                    # noise, Keras layers' rates): retrace it when that changed.
                    _compat.reset_compiled_inference(runner)
                    split.traced = traced
            for step in range(steps):
                start, stop = step * batch_size, min((step + 1) * batch_size, rows)
                part = slice(start, stop)
                batch = keras.tree.map_structure(lambda a, part=part: a[part], x)
                if split is not None:
                    batch = split.prefix.predict_on_batch(batch)
                draws = _sample_batch(
                    runner, batch, samples, vectorize, layers, sample_seeds
                )
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


class _Split:
    """A functional model cut in two where its deterministic part ends."""

    def __init__(self, key, prefix, suffix):
        self.key = key
        self.prefix = prefix
        self.suffix = suffix
        # What the suffix's compiled predict function was traced with: see
        # `mc_predict`.
        self.traced = None


def _keras_rates(layers):
    """The rates Keras's stochastic layers hold as Python floats."""
    rates = []
    for layer in layers:
        for holder in [layer] + rnn_cells(layer):
            for name in ("rate", "dropout", "recurrent_dropout"):
                value = getattr(holder, name, None)
                if isinstance(value, numbers.Real):
                    rates.append((id(holder), name, float(value)))
    return tuple(rates)


# model -> its `_Split` (or a `_Split` with `prefix=None` when it has none),
# so that repeated `mc_predict` calls reuse the compiled prefix and suffix.
_SPLITS = weakref.WeakKeyDictionary()


def _prefix_split(model, layers):
    """`model` as a deterministic prefix and a stochastic suffix, or `None`.

    See `_compat.deterministic_frontier`. The two models share `model`'s
    layers (no weights are copied); they are cached per model and rebuilt
    when its stochastic layers change (`convert(..., in_place=True)`).
    """
    if not _is_functional(model):
        return None
    key = tuple(id(layer) for layer in layers)
    found = _SPLITS.get(model)
    if found is not None and found.key == key:
        return found if found.prefix is not None else None
    stochastic = set(key)

    def is_stochastic(operation):
        if not isinstance(operation, keras.layers.Layer):
            return False  # a keras.ops operation in a functional graph
        return any(id(la) in stochastic for la in _compat.sublayers(operation))

    frontier = _compat.deterministic_frontier(model, is_stochastic)
    if frontier is None:
        _SPLITS[model] = _Split(key, None, None)
        return None
    inputs = model.inputs[0] if isinstance(model, keras.Sequential) else model.input
    outputs = frontier[0] if len(frontier) == 1 else frontier
    split = _Split(
        key,
        keras.Model(inputs, outputs, name=f"{model.name}_mc_prefix"),
        keras.Model(outputs, model.outputs[0], name=f"{model.name}_mc_suffix"),
    )
    _SPLITS[model] = split
    return split


def _draws_per_row(layer):
    """Whether `layer` draws independently for each row of the batch.

    A pack layer's class says so (`draws_per_row`, see `BaseDropout`).
    Keras's dropout layers draw per row (per unit, or per sample and
    channel for the spatial ones), and so do its RNNs (one input and one
    recurrent mask per sequence, `ones_like` of a step's batch) unless they
    are stateful (their batch size is fixed). For all, a `noise_shape` that
    shares the mask over the batch axis overrides it.
    """
    if isinstance(layer, keras.layers.RNN):
        return not getattr(layer, "stateful", False)
    keras_layer = isinstance(layer, keras_dropout_classes())
    if not keras_layer and not getattr(layer, "draws_per_row", False):
        return False
    noise_shape = getattr(layer, "noise_shape", None)
    return noise_shape is None or noise_shape[0] is None


def _sample_batch(model, batch, samples, vectorize, layers, sample_seeds):
    """`samples` predictions of one batch: an array `(samples, B, ...)`.

    With `sample_seeds` (consistent mode), sample `k` restarts the seed
    generators of `layers` (and torch's global generator) from
    `sample_seeds[k]`.
    """
    if sample_seeds is not None:
        draws = []
        for k in range(samples):
            _reseed(layers, sample_seeds[k])
            with _compat.torch_global_rng_seeded(sample_seeds[k]):
                draws.append(_single_output(model.predict_on_batch(batch)))
        return draws
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


def _revert_mapping():
    kl = keras.layers

    def common(layer):
        if layer.mc:
            raise _no_keras_equivalent(layer, "mc=True")
        return {"seed": layer.seed, "name": layer.name, "dtype": layer.dtype_policy}

    def dropout(layer):
        if layer.scaling != "inverted":
            raise _no_keras_equivalent(layer, f"scaling={layer.scaling!r}")
        return kl.Dropout(layer.rate, noise_shape=layer.noise_shape, **common(layer))

    def gaussian(layer):
        if layer.noise_shape is not None:
            raise _no_keras_equivalent(layer, f"noise_shape={layer.noise_shape}")
        return kl.GaussianDropout(layer.rate, **common(layer))

    def spatial_1d(layer):
        if layer.data_format != "channels_last":
            raise _no_keras_equivalent(layer, f"data_format={layer.data_format!r}")
        return kl.SpatialDropout1D(layer.rate, **common(layer))

    return {
        Dropout: dropout,
        GaussianDropout: gaussian,
        AlphaDropout: lambda layer: kl.AlphaDropout(
            layer.rate, noise_shape=layer.noise_shape, **common(layer)
        ),
        SpatialDropout1D: spatial_1d,
        SpatialDropout2D: lambda layer: kl.SpatialDropout2D(
            layer.rate, data_format=layer.data_format, **common(layer)
        ),
        SpatialDropout3D: lambda layer: kl.SpatialDropout3D(
            layer.rate, data_format=layer.data_format, **common(layer)
        ),
    }


def _no_keras_equivalent(layer, setting):
    return ValueError(
        "Invalid value received for argument `model`. Expected keras_dropout "
        "layers that have a keras.layers equivalent. Received: layer "
        f"{layer.name!r} ({type(layer).__name__}) with {setting}, which "
        "keras.layers cannot express. Change that layer first, or keep the "
        "converted model."
    )


def _check_model(model, in_place):
    if not isinstance(model, keras.Model):
        raise _validation.invalid("model", "a keras.Model", type(model).__name__)
    in_place = _validation.check_bool(in_place, "in_place")
    if not in_place and not _is_functional(model):
        raise ValueError(
            "Invalid value received for argument `model`. Expected a "
            "Sequential or functional Keras model: a subclassed model has no "
            "layer graph that can be copied. Pass `in_place=True` to change "
            "the model itself. Received: "
            f"model=<{type(model).__name__} name={model.name!r}>"
        )
    return in_place


def _replace_in(value, memo):
    """`value` with the layers in `memo` (id -> new layer) replaced.

    Lists and dicts are changed in place (Keras's tracked ones included);
    tuples are rebuilt. Returns `(value, changed)`.
    """
    if isinstance(value, keras.layers.Layer):
        new = memo.get(id(value))
        return (value, False) if new is None else (new, True)
    if isinstance(value, (list, dict)):
        changed = False
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in list(entries):
            new, hit = _replace_in(item, memo)
            if hit:
                if new is not item:
                    value[key] = new
                changed = True
        return value, changed
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        items = [_replace_in(item, memo) for item in value]
        if any(hit for _, hit in items):
            return type(value)(new for new, _ in items), True
    return value, False


def _swap_in_place(model, table):
    """Replaces every layer of `model` whose exact class is in `table`.

    The layers held by attributes, lists, tuples and dicts of their parents
    (subclassed models and layers, Keras's composite layers) and those of a
    `Sequential` are replaced; a layer that is a node of a functional graph
    cannot be, and is refused before anything changes. Returns the number
    of layers replaced.
    """
    parents = _compat.sublayers(model)
    found, graph_nodes = {}, []
    for parent in parents:
        if isinstance(parent, keras.Sequential):
            children = list(parent.layers)
        elif _is_functional(parent):
            graph_nodes += [la for la in parent.layers if type(la) in table]
            continue
        else:
            children = [
                la
                for value in _compat.layer_attributes(parent).values()
                if value is not getattr(parent, "_layers", None)
                for la in _compat.layers_in(value)
            ]
        for child in children:
            if type(child) in table:
                found[id(child)] = child
    if graph_nodes:
        raise ValueError(
            "Invalid value received for argument `in_place`. A layer that is "
            "a node of a functional model's graph cannot be replaced in "
            "place: "
            f"{sorted({la.name for la in graph_nodes})}. Use "
            "`in_place=False` (the default), which returns a converted copy. "
            "Received: in_place=True"
        )
    memo = {key: table[type(old)](old) for key, old in found.items()}
    if not memo:
        return 0
    for parent in parents:
        if isinstance(parent, keras.Sequential):
            _replace_in_sequential(parent, memo)
            continue
        if _is_functional(parent):
            continue
        # The parent tracks the new layers in the old ones' places first, so
        # that assigning them adds no state to a built (locked) layer.
        _compat.replace_sublayers(parent, memo)
        for name, value in _compat.layer_attributes(parent).items():
            if value is getattr(parent, "_layers", None):
                continue
            new, hit = _replace_in(value, memo)
            if hit and new is not value:
                setattr(parent, name, new)
    for parent in parents:
        if isinstance(parent, keras.Model):
            _compat.reset_compiled_inference(parent)
            _compat.reset_compiled_training(parent)
    _compat.refresh_torch_params(model)
    return len(memo)


def _replace_in_sequential(model, memo):
    """Swaps layers of a Sequential through its public `pop` and `add`."""
    layers = list(model.layers)
    hits = [i for i, la in enumerate(layers) if id(la) in memo]
    if not hits:
        return
    tail = layers[hits[0] :]
    for _ in tail:
        model.pop(rebuild=False)
    for i, layer in enumerate(tail):
        model.add(memo.get(id(layer), layer), rebuild=i == len(tail) - 1)


def _mapping_table(default, mapping):
    table = default
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
    return table


def _convert_with(model, table, in_place):
    if in_place:
        _swap_in_place(model, table)
        return model

    def clone_function(layer):
        build = table.get(type(layer))
        if build is not None:
            return build(layer)
        return layer.__class__.from_config(layer.get_config())

    converted = keras.models.clone_model(
        model, clone_function=clone_function, recursive=True
    )
    converted.set_weights(model.get_weights())
    # Layers held inside custom layers are no graph nodes: swap them in the
    # copy (which nobody else holds yet).
    _swap_in_place(converted, table)
    return converted


def convert(model, mapping=None, *, in_place=False):
    """Swaps a Keras model's dropout layers for the pack's (a copy by default).

    Replaces `keras.layers.Dropout`, `SpatialDropout1D`/`2D`/`3D`,
    `GaussianDropout` and `AlphaDropout`, wherever they are nested (nested
    models, subclassed layers and models, Keras's composite layers such as
    `MultiHeadAttention`'s attention dropout), by the keras_dropout layer of
    the same name, with the same rate, seed, `noise_shape`/`data_format`,
    name and dtype policy. RNN `dropout`/`recurrent_dropout` have no pack
    equivalent and stay; `mc_dropout(model)` reaches them.

    The converted model computes the same training and inference maths; on
    top, its dropout rates can change during training without recompiling
    (`keras_dropout.callbacks.RateScheduler`), and
    `keras_dropout.mc_dropout()` / `keras_dropout.mc_predict` make them
    stochastic at inference. `revert` undoes it.

    Two modes:

    * `in_place=False` (default): returns a converted copy of a Sequential
      or functional model (`keras.models.clone_model`, then the layers
      inside its custom layers); every other layer is cloned and keeps its
      weights. The original model is not modified.
    * `in_place=True`: changes `model` itself, subclassed ones included:
      each parent layer's attribute (or list, tuple, dict entry) that holds
      a Keras dropout layer now holds the pack layer, which the parent
      tracks instead. A dropout layer that is a node of a functional graph
      cannot be replaced in place (`ValueError` before anything changes:
      use the copy). The pack layers bring new state variables (rate, MC
      flag), so the model's compiled train, evaluate and predict functions
      are reset and recompile at their next use; a function you compiled
      yourself must be made again. Layers that a custom layer creates in
      its `build` or from its config (`MultiHeadAttention`'s dropout, for
      one) are Keras layers again when the model is loaded from a file;
      graph nodes of a converted copy stay converted.

    Args:
        model: a `keras.Model`; Sequential or functional unless
            `in_place=True`.
        mapping: optional dict from a Keras layer class to a function
            `f(layer) -> new layer`; it extends (and overrides) the default
            mapping. Layers are matched by exact class.
        in_place: bool, see above.

    Returns:
        The converted model: a new, uncompiled one (compile it as the
        original was), or `model` itself when `in_place=True`.

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

        A subclassed model, changed in place:

        >>> class Net(keras.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.dense = keras.layers.Dense(2)
        ...         self.drop = keras.layers.Dropout(0.5)
        ...     def call(self, x):
        ...         return self.drop(self.dense(x))
        >>> net = Net()
        >>> _ = net(x)
        >>> keras_dropout.convert(net, in_place=True) is net
        True
        >>> isinstance(net.drop, keras_dropout.Dropout)
        True
        >>> _ = keras_dropout.models.revert(net, in_place=True)
        >>> type(net.drop) is keras.layers.Dropout
        True
    """
    in_place = _check_model(model, in_place)
    table = _mapping_table(_default_mapping(), mapping)
    return _convert_with(model, table, in_place)


def revert(model, *, in_place=False):
    """Undoes `convert`: the pack's dropout layers become Keras's again.

    Maps `keras_dropout.Dropout`, `SpatialDropout1D`/`2D`/`3D`,
    `GaussianDropout` and `AlphaDropout` back to the `keras.layers` class
    of the same name, with the same (current) rate, seed,
    `noise_shape`/`data_format`, name and dtype policy, wherever they are
    nested; other pack layers (DropBlock, DropConnect, ...) stay. A pack
    layer that Keras cannot express (`mc=True`, `scaling="classic"`, a
    `GaussianDropout` with a `noise_shape`, a channels-first
    `SpatialDropout1D`) is refused with a `ValueError` naming it, before
    anything changes. The modes are those of `convert`.

    Args:
        model: a `keras.Model`; Sequential or functional unless
            `in_place=True`.
        in_place: bool: change `model` itself (`True`) or return a copy.

    Returns:
        The reverted model (`model` itself when `in_place=True`).

    Examples:
        >>> import keras, keras_dropout
        >>> model = keras.Sequential([keras.Input((4,)),
        ...                           keras_dropout.Dropout(0.25, seed=3)])
        >>> plain = keras_dropout.models.revert(model)
        >>> layer = plain.layers[-1]
        >>> type(layer) is keras.layers.Dropout, layer.rate, layer.seed
        (True, 0.25, 3)
    """
    in_place = _check_model(model, in_place)
    table = _revert_mapping()
    # Refuse what Keras cannot express before changing anything.
    for layer in _compat.sublayers(model):
        build = table.get(type(layer))
        if build is not None:
            build(layer)
    return _convert_with(model, table, in_place)
