"""Uncertainty and calibration measures for classifiers and regressors.

NumPy in, float64 out: feed them `keras_dropout.mc_predict(...).samples` or
`.mean` of a softmax model (or the sampled mean and variance of a
regression head). Entropies and log-likelihoods are in nats (natural
logarithm). Summaries over a data set (NLL, Brier score, ECE, AUROC, ...)
are Python floats; per-example measures are float64 arrays.

`NegativeLogLikelihood`, `BrierScore` and `ExpectedCalibrationError` are
the streaming forms of three of them, `keras.metrics.Metric`s written in
`keras.ops` for `model.compile(metrics=[...])` on every backend.
"""

import math
import numbers
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from keras_dropout import _validation

_SUM_TOLERANCE = 1e-3

# The smallest probability `negative_log_likelihood` (and its metric) takes
# the log of: a label given probability 0 costs -log(1e-12) ~ 27.6 nats.
_EPSILON = 1e-12

# `fit_temperature` searches log T in [-_LOG_T_BOUND, _LOG_T_BOUND], T in
# [0.01, 100] (symmetric, so logits that carry no information give T = 1),
# by bisection down to an interval of width _LOG_T_TOLERANCE.
_LOG_T_BOUND = math.log(100.0)
_LOG_T_TOLERANCE = 1e-10


# --- argument checks ---------------------------------------------------------


def _check_probs(probs, name, min_ndim):
    array = np.asarray(probs, dtype="float64")
    expected = (
        f"an array of probabilities with at least {min_ndim} dimension(s), "
        "each in [0, 1], summing to 1 over the last axis"
    )
    if array.ndim < min_ndim or array.shape[-1] == 0 or array.size == 0:
        raise _validation.invalid(name, expected, f"<array of shape {array.shape}>")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array > 1):
        raise _validation.invalid(
            name, expected, f"<array with values in [{array.min()}, {array.max()}]>"
        )
    sums = array.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=_SUM_TOLERANCE):
        worst = float(sums.flat[np.argmax(np.abs(sums - 1.0))])
        raise _validation.invalid(
            name, expected, f"<array with a row summing to {worst}>"
        )
    return array


def _check_probs_2d(probs, name="probs"):
    """Probabilities of shape `(N, classes)`, as for the calibration measures."""
    array = _check_probs(probs, name, 2)
    if array.ndim != 2:
        raise _validation.invalid(
            name, "an array of shape (N, classes)", f"<array of shape {array.shape}>"
        )
    return array


def _check_labels(labels, n, classes, name="labels"):
    """Class indices `(n,)` in `[0, classes)`, or one-hot rows `(n, classes)`.

    Returns the class indices as an int64 array of shape `(n,)`.
    """
    array = np.asarray(labels)
    expected = (
        f"an int array of shape ({n},) with values in [0, {classes}), "
        f"or a one-hot array of shape ({n}, {classes})"
    )
    if array.shape == (n, classes):
        numeric = np.issubdtype(array.dtype, np.number) or array.dtype == bool
        if not (
            numeric
            and np.all((array == 0) | (array == 1))
            and np.all(array.sum(axis=-1) == 1)
        ):
            raise _validation.invalid(
                name,
                expected,
                f"<array of shape {array.shape} whose rows are not all one-hot>",
            )
        return array.argmax(axis=-1)
    if array.shape != (n,):
        raise _validation.invalid(name, expected, f"<array of shape {array.shape}>")
    if not np.issubdtype(array.dtype, np.integer):
        raise _validation.invalid(
            name, expected, f"<array of shape {array.shape} and dtype {array.dtype}>"
        )
    if np.any(array < 0) or np.any(array >= classes):
        raise _validation.invalid(
            name,
            expected,
            f"<array of shape {array.shape} with values in "
            f"[{array.min()}, {array.max()}]>",
        )
    return array.astype("int64")


def _check_bins(bins):
    return _validation.check_positive_int(bins, "bins", "a positive int (1 or more)")


def _check_real(values, name, ndim=None):
    """A non-empty array of finite real numbers (of rank `ndim` if given)."""
    array = np.asarray(values)
    rank = "an array" if ndim is None else f"a {ndim}-D array"
    expected = f"{rank} of finite real numbers, not empty"
    numeric = np.issubdtype(array.dtype, np.number) or array.dtype == bool
    if not numeric or np.iscomplexobj(array):
        raise _validation.invalid(name, expected, f"<array of dtype {array.dtype}>")
    if array.size == 0 or (ndim is not None and array.ndim != ndim):
        raise _validation.invalid(name, expected, f"<array of shape {array.shape}>")
    array = array.astype("float64")
    if not np.all(np.isfinite(array)):
        raise _validation.invalid(
            name, expected, f"<array with values in [{array.min()}, {array.max()}]>"
        )
    return array


def _check_positive(array, name):
    """`array` (already real and finite) is > 0 everywhere."""
    if np.any(array <= 0):
        raise _validation.invalid(
            name,
            "an array of positive numbers (every value > 0)",
            f"<array with smallest value {array.min()}>",
        )
    return array


def _check_same_shape(array, name, reference, reference_name):
    if array.shape != reference.shape:
        raise _validation.invalid(
            name,
            f"an array of shape {reference.shape}, the shape of `{reference_name}`",
            f"<array of shape {array.shape}>",
        )
    return array


def _check_positive_number(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _validation.invalid(name, "a finite number > 0", value)
    return float(value)


# --- classification: uncertainty of sampled predictions ----------------------


def _entropy(probs):
    """-sum p log p over the last axis, with 0 log 0 = 0."""
    logs = np.log(np.where(probs > 0, probs, 1.0))
    return 0.0 - np.sum(probs * logs, axis=-1)  # 0.0 - 0.0 is +0.0


def predictive_entropy(probs):
    """The entropy of a categorical distribution, over the last axis.

    `H[p] = -sum_c p_c log p_c` in nats, with `0 log 0 = 0`. On the MC mean
    of sampled probabilities it measures the total predictive uncertainty
    (data noise plus model uncertainty).

    Args:
        probs: array `(..., classes)` of probabilities (each row sums to 1
            within 1e-3), such as `mc_predict(...).mean`.

    Returns:
        A float64 array of shape `probs.shape[:-1]`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import predictive_entropy
        >>> predictive_entropy(np.array([[0.5, 0.5], [1.0, 0.0]])).round(4)
        array([0.6931, 0.    ])
    """
    return _entropy(_check_probs(probs, "probs", 1))


def mutual_information(sample_probs):
    """BALD: the mutual information between the prediction and the weights.

    `I = H[mean_s p_s] - mean_s H[p_s]` over the samples axis 0: the total
    predictive entropy minus the expected entropy of single samples. It is
    0 when all samples agree and large when they are each confident but
    disagree, i.e. the part of the uncertainty due to the model (epistemic),
    as used by Bayesian active learning by disagreement (BALD).

    Args:
        sample_probs: array `(samples, ..., classes)` of sampled
            probabilities, such as `mc_predict(..., return_samples=True)
            .samples` of a softmax model.

    Returns:
        A float64 array of shape `sample_probs.shape[1:-1]`, never negative.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import mutual_information
        >>> agree = np.array([[[0.5, 0.5]], [[0.5, 0.5]]])
        >>> disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> mutual_information(agree), mutual_information(disagree).round(4)
        (array([0.]), array([0.6931]))

    Reference:
        - [Houlsby et al., 2011](https://arxiv.org/abs/1112.5745):
          Bayesian active learning for classification and preference learning.
        - [Gal et al., 2017](https://arxiv.org/abs/1703.02910):
          Deep Bayesian active learning with image data.
    """
    probs = _check_probs(sample_probs, "sample_probs", 2)
    total = _entropy(probs.mean(axis=0))
    expected = _entropy(probs).mean(axis=0)
    return np.maximum(total - expected, 0.0)


def variation_ratio(sample_probs):
    """The variation ratio: how often the samples disagree with their mode.

    Each sample votes for its most probable class (the first one on ties);
    `variation ratio = 1 - (votes for the modal class) / samples` over the
    samples axis 0. It is 0 when every sample predicts the same class and
    at most `1 - 1/classes`.

    Args:
        sample_probs: array `(samples, ..., classes)` of sampled
            probabilities, such as `mc_predict(..., return_samples=True)
            .samples` of a softmax model.

    Returns:
        A float64 array of shape `sample_probs.shape[1:-1]`, in
        `[0, 1 - 1/classes]`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import variation_ratio
        >>> # 4 samples of one example: votes 0, 0, 0, 1; the mode has 3.
        >>> samples = np.array([[[0.9, 0.1]], [[0.8, 0.2]], [[0.6, 0.4]],
        ...                     [[0.3, 0.7]]])
        >>> variation_ratio(samples)
        array([0.25])

    Reference:
        - Freeman, 1965: Elementary applied statistics (the variation ratio).
        - [Gal et al., 2017](https://arxiv.org/abs/1703.02910):
          Deep Bayesian active learning with image data.
    """
    probs = _check_probs(sample_probs, "sample_probs", 2)
    samples, classes = probs.shape[0], probs.shape[-1]
    votes = np.eye(classes, dtype="int64")[probs.argmax(axis=-1)].sum(axis=0)
    return 1.0 - votes.max(axis=-1) / samples


# --- classification: proper scores and calibration ---------------------------


def negative_log_likelihood(probs, labels):
    """The mean negative log-likelihood (log loss) of the labels, in nats.

    `NLL = -(1/N) sum_i log max(p_i[y_i], 1e-12)`: the probability given to
    each label is clipped at `1e-12` first, so a label given probability 0
    costs `-log(1e-12) ~ 27.63` nats instead of infinity. Lower is better;
    0 for confident, correct predictions. Unclipped, it equals
    scikit-learn's `log_loss(labels, probs)` (which clips at the float64
    machine epsilon instead).

    Args:
        probs: array `(N, classes)` of probabilities.
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.

    Returns:
        The mean NLL, a finite Python float `>= 0`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import negative_log_likelihood
        >>> probs = np.array([[0.5, 0.5], [0.9, 0.1]])
        >>> # (-log 0.5 - log 0.1) / 2
        >>> round(negative_log_likelihood(probs, [0, 1]), 4)
        1.4979
    """
    probs = _check_probs_2d(probs)
    n, classes = probs.shape
    labels = _check_labels(labels, n, classes)
    chosen = probs[np.arange(n), labels]
    return float(-np.mean(np.log(np.maximum(chosen, _EPSILON))))


def brier_score(probs, labels):
    """The multi-class Brier score: the mean squared error of the probabilities.

    `Brier = (1/N) sum_i sum_c (p_ic - y_ic)^2` with `y_i` the one-hot label,
    in `[0, 2]`; lower is better. This is Brier's original definition, summed
    over all classes. scikit-learn's binary `brier_score_loss(y, p)` scores
    only the probability `p` of the positive class, `(1/N) sum_i (p_i - y_i)^2`,
    which is half of this score for two classes:
    `brier_score(probs, labels) == 2 * brier_score_loss(labels, probs[:, 1])`.
    (scikit-learn 1.7+ also takes multi-class probabilities; with
    `scale_by_half=False` it gives this score.)

    Args:
        probs: array `(N, classes)` of probabilities.
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.

    Returns:
        The Brier score, a Python float in `[0, 2]`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import brier_score
        >>> probs = np.array([[0.8, 0.2], [0.4, 0.6]])
        >>> # ((0.2^2 + 0.2^2) + (0.4^2 + 0.4^2)) / 2 = (0.08 + 0.32) / 2
        >>> round(brier_score(probs, [0, 1]), 4)
        0.2

    Reference:
        - Brier, 1950: Verification of forecasts expressed in terms of
          probability. Monthly Weather Review 78(1), 1-3.
    """
    probs = _check_probs_2d(probs)
    n, classes = probs.shape
    one_hot = np.eye(classes)[_check_labels(labels, n, classes)]
    return float(np.mean(np.sum((probs - one_hot) ** 2, axis=-1)))


class ReliabilityDiagram(NamedTuple):
    """Per-bin data of a reliability diagram (`reliability_diagram`).

    Every field is a float64 array (int64 for `count`) with one entry per
    bin, in order of increasing confidence.

    Attributes:
        lower: lower edge of each bin. Equal-width bins: `b / bins`.
            Equal-mass (adaptive) bins: the smallest confidence in the bin.
        upper: upper edge of each bin. Equal-width bins: `(b + 1) / bins`.
            Equal-mass bins: the largest confidence in the bin.
        confidence: mean confidence (largest probability) in each bin, NaN
            for an empty bin.
        accuracy: fraction of correct predictions in each bin, NaN for an
            empty bin.
        count: number of predictions in each bin.
    """

    lower: np.ndarray
    upper: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def _confidence_and_correct(probs, labels):
    probs = _check_probs_2d(probs)
    labels = _check_labels(labels, *probs.shape)
    return probs.max(axis=-1), (probs.argmax(axis=-1) == labels).astype("float64")


def _equal_width_bins(confidence, bins):
    """The bin of each confidence: `(0, 1/bins], ..., ((bins-1)/bins, 1]`."""
    return np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)


def _diagram(confidence, correct, bins, adaptive):
    if adaptive:
        order = np.argsort(confidence, kind="stable")
        groups = np.array_split(order, min(bins, len(order)))
        lower = np.array([confidence[g].min() for g in groups])
        upper = np.array([confidence[g].max() for g in groups])
        which = np.empty(len(order), dtype=int)
        for b, group in enumerate(groups):
            which[group] = b
        bins = len(groups)
    else:
        lower = np.arange(bins) / bins
        upper = np.arange(1, bins + 1) / bins
        which = _equal_width_bins(confidence, bins)
    count = np.bincount(which, minlength=bins)
    confidence_sum = np.bincount(which, weights=confidence, minlength=bins)
    correct_sum = np.bincount(which, weights=correct, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.where(count > 0, confidence_sum / count, np.nan)
        accuracy = np.where(count > 0, correct_sum / count, np.nan)
    return ReliabilityDiagram(lower, upper, mean_confidence, accuracy, count)


def _calibration_error(diagram):
    """`sum_b (n_b / N) |accuracy_b - confidence_b|` over non-empty bins."""
    full = diagram.count > 0
    gaps = np.abs(diagram.accuracy[full] - diagram.confidence[full])
    return float(np.sum(diagram.count[full] * gaps) / np.sum(diagram.count))


def expected_calibration_error(probs, labels, bins=15):
    """Expected calibration error (ECE) of classifier probabilities.

    The confidence of a prediction is its largest probability and it is
    correct when that class is the label. Confidences are grouped in
    `bins` equal-width bins `(0, 1/bins], ..., ((bins-1)/bins, 1]`, and
    `ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b|`.

    Args:
        probs: array `(N, classes)` of probabilities.
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.
        bins: positive int, the number of confidence bins.

    Returns:
        The ECE, a Python float in `[0, 1]`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import expected_calibration_error
        >>> probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.7, 0.3], [0.7, 0.3]])
        >>> # bin (0.8, 1]: accuracy 1/2 at confidence 0.9; bin (0.6, 0.8]:
        >>> # accuracy 1 at confidence 0.7. ECE = 0.5 * 0.4 + 0.5 * 0.3
        >>> round(expected_calibration_error(probs, [0, 1, 0, 0], bins=5), 4)
        0.35

    Reference:
        - [Guo et al., 2017](https://arxiv.org/abs/1706.04599):
          On calibration of modern neural networks.
    """
    return _calibration_error(reliability_diagram(probs, labels, bins))


def adaptive_calibration_error(probs, labels, bins=15):
    """ECE over equal-mass bins: adaptive (top-label) calibration error.

    As `expected_calibration_error`, but the bins hold (nearly) equal
    numbers of predictions instead of equal widths of confidence: the
    predictions are sorted by confidence (ties in input order) and split
    into `min(bins, N)` consecutive groups whose sizes differ by at most
    one (`numpy.array_split`). Then
    `ACE = sum_b (n_b / N) |accuracy_b - mean confidence_b|`. Every bin has
    data, so it is less sensitive to the choice of `bins` where confidences
    crowd near 1. Nixon et al. also average over every class's probability;
    this is the top-label version, on the largest probability only.

    Args:
        probs: array `(N, classes)` of probabilities.
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.
        bins: positive int, the number of bins (at most `N` are used).

    Returns:
        The adaptive ECE, a Python float in `[0, 1]`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import adaptive_calibration_error
        >>> probs = np.array([[0.6, 0.4], [0.7, 0.3], [0.8, 0.2], [0.9, 0.1]])
        >>> # bins {0.6, 0.7}: accuracy 1/2, confidence 0.65;
        >>> # {0.8, 0.9}: accuracy 1, confidence 0.85. ACE = (0.15 + 0.15) / 2
        >>> round(adaptive_calibration_error(probs, [1, 0, 0, 0], bins=2), 4)
        0.15

    Reference:
        - [Nixon et al., 2019](https://arxiv.org/abs/1904.01685):
          Measuring calibration in deep learning.
    """
    return _calibration_error(reliability_diagram(probs, labels, bins, adaptive=True))


def reliability_diagram(probs, labels, bins=15, adaptive=False):
    """The data of a reliability diagram: accuracy against confidence per bin.

    Confidence (largest probability) is binned in `bins` equal-width bins
    `(0, 1/bins], ..., ((bins-1)/bins, 1]` (those of
    `expected_calibration_error`; empty bins are kept, with NaN confidence
    and accuracy), or with `adaptive=True` in `min(bins, N)` equal-mass
    bins (those of `adaptive_calibration_error`; none is empty). A
    calibrated model has `accuracy ~ confidence` in every bin.
    `plot_reliability_diagram` draws it.

    Args:
        probs: array `(N, classes)` of probabilities.
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.
        bins: positive int, the number of bins.
        adaptive: bool, equal-mass bins instead of equal-width ones.

    Returns:
        A `ReliabilityDiagram` namedtuple of per-bin arrays `lower`,
        `upper`, `confidence`, `accuracy` and `count`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import reliability_diagram
        >>> probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.7, 0.3], [0.7, 0.3]])
        >>> diagram = reliability_diagram(probs, [0, 1, 0, 0], bins=5)
        >>> diagram.count
        array([0, 0, 0, 2, 2])
        >>> diagram.accuracy
        array([nan, nan, nan, 1. , 0.5])
        >>> diagram.lower[3:].tolist(), diagram.confidence[3:].tolist()
        ([0.6, 0.8], [0.7, 0.9])

    Reference:
        - [Guo et al., 2017](https://arxiv.org/abs/1706.04599):
          On calibration of modern neural networks.
        - [Nixon et al., 2019](https://arxiv.org/abs/1904.01685):
          Measuring calibration in deep learning.
    """
    confidence, correct = _confidence_and_correct(probs, labels)
    bins = _check_bins(bins)
    adaptive = _validation.check_bool(adaptive, "adaptive")
    return _diagram(confidence, correct, bins, adaptive)


def plot_reliability_diagram(probs, labels, bins=15, adaptive=False, ax=None):
    """Draws a reliability diagram with matplotlib; returns the Axes.

    One bar per non-empty bin of `reliability_diagram`, spanning the bin's
    edges with the bin's accuracy as height, a marker at (mean confidence,
    accuracy), the diagonal of perfect calibration, and the (adaptive) ECE
    in the title. matplotlib is not a dependency of keras_dropout: it is
    imported here, and a clear `ImportError` says to install it.

    Args:
        probs: array `(N, classes)` of probabilities.
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.
        bins: positive int, the number of bins.
        adaptive: bool, equal-mass bins instead of equal-width ones.
        ax: optional matplotlib Axes to draw on; by default the current
            Axes of `matplotlib.pyplot` (`plt.gca()`).

    Returns:
        The matplotlib Axes drawn on.

    Examples:
        >>> import numpy as np
        >>> from matplotlib.figure import Figure
        >>> from keras_dropout.uncertainty import plot_reliability_diagram
        >>> probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.7, 0.3], [0.7, 0.3]])
        >>> ax = Figure().subplots()
        >>> ax = plot_reliability_diagram(probs, [0, 1, 0, 0], bins=5, ax=ax)
        >>> ax.get_title(), len(ax.patches)
        ('ECE 0.350', 2)
    """
    diagram = reliability_diagram(probs, labels, bins, adaptive)
    try:
        import matplotlib  # noqa: F401

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
    except ImportError as error:
        raise ImportError(
            "`keras_dropout.uncertainty.plot_reliability_diagram` needs "
            "matplotlib, which keras_dropout does not install. Install it "
            "with `pip install matplotlib`, or plot the data of "
            "`reliability_diagram(...)` yourself."
        ) from error
    full = diagram.count > 0
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="calibrated")
    ax.bar(
        diagram.lower[full],
        diagram.accuracy[full],
        width=(diagram.upper - diagram.lower)[full],
        align="edge",
        alpha=0.4,
        edgecolor="C0",
        label="accuracy per bin",
    )
    ax.plot(
        diagram.confidence[full],
        diagram.accuracy[full],
        marker="o",
        color="C0",
        label="at mean confidence",
    )
    name = "adaptive ECE" if adaptive else "ECE"
    ax.set_title(f"{name} {_calibration_error(diagram):.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    return ax


# --- out-of-distribution detection and selective prediction ------------------


def _check_scores(scores, name):
    return _check_real(scores, name, ndim=1)


def auroc(in_scores, out_scores):
    """Area under the ROC curve for telling out-of-distribution data apart.

    Scores are uncertainty scores (such as `predictive_entropy` or
    `mutual_information`): higher means more likely out-of-distribution,
    and out-of-distribution is the positive class. AUROC is the probability
    that a random out-of-distribution example scores higher than a random
    in-distribution one, ties counting 1/2 (the Mann-Whitney U statistic
    with average ranks): the value of scikit-learn's
    `roc_auc_score([0] * len(in_scores) + [1] * len(out_scores),
    concatenate([in_scores, out_scores]))`. 0.5 is chance, 1 a perfect
    separation; `auroc(a, b) == 1 - auroc(b, a)`.

    Args:
        in_scores: 1-D array of the scores of in-distribution examples.
        out_scores: 1-D array of the scores of out-of-distribution examples.

    Returns:
        The AUROC, a Python float in `[0, 1]`.

    Examples:
        >>> from keras_dropout.uncertainty import auroc
        >>> # pairs (in, out) ranked right: 0.1<0.2, 0.1<0.9, 0.3<0.9;
        >>> # 0.3>0.2 is wrong: 3 of 4.
        >>> auroc([0.1, 0.3], [0.2, 0.9])
        0.75

    Reference:
        - [Hendrycks & Gimpel, 2017](https://arxiv.org/abs/1610.02136):
          A baseline for detecting misclassified and out-of-distribution
          examples in neural networks.
    """
    inside = _check_scores(in_scores, "in_scores")
    outside = _check_scores(out_scores, "out_scores")
    scores = np.concatenate([inside, outside])
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse.reshape(-1)]  # 1-based averages
    n_in, n_out = len(inside), len(outside)
    u = ranks[n_in:].sum() - n_out * (n_out + 1) / 2.0
    return float(u / (n_in * n_out))


def fpr_at_95_tpr(in_scores, out_scores):
    """False-positive rate at 95% true-positive rate (FPR95).

    Scores are uncertainty scores, higher meaning more likely
    out-of-distribution (the positive class); an example is flagged when
    its score is at least a threshold. The threshold is the largest one
    that flags at least 95% of the out-of-distribution examples (`k / n_out
    >= 0.95`); FPR95 is the fraction of in-distribution examples flagged
    with it. This is the first point of scikit-learn's `roc_curve` (with
    `drop_intermediate=False`) whose TPR reaches 0.95. Lower is better.

    Args:
        in_scores: 1-D array of the scores of in-distribution examples.
        out_scores: 1-D array of the scores of out-of-distribution examples.

    Returns:
        The FPR95, a Python float in `[0, 1]`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import fpr_at_95_tpr
        >>> out_scores = np.arange(1.0, 21.0)  # 1, ..., 20
        >>> # 19 of 20 flagged at threshold 2: 95%. In-distribution
        >>> # scores >= 2: 2.5 and 3, 2 of 4.
        >>> fpr_at_95_tpr([0.5, 1.5, 2.5, 3.0], out_scores)
        0.5

    Reference:
        - [Hendrycks & Gimpel, 2017](https://arxiv.org/abs/1610.02136):
          A baseline for detecting misclassified and out-of-distribution
          examples in neural networks.
    """
    inside = _check_scores(in_scores, "in_scores")
    outside = _check_scores(out_scores, "out_scores")
    n_out = len(outside)
    flagged = np.arange(1, n_out + 1)
    k = int(np.argmax(flagged / n_out >= 0.95)) + 1  # fewest to flag
    threshold = np.sort(outside)[::-1][k - 1]
    return float(np.mean(inside >= threshold))


def aurc(confidence, correct):
    """Area under the risk-coverage curve (AURC) of selective prediction.

    A selective classifier answers only its most confident predictions.
    With the `N` predictions sorted by decreasing confidence, the risk at
    coverage `k / N` is the error rate of the `k` most confident ones, and
    `AURC = (1/N) sum_{k=1..N} risk(k)`, where
    `risk(k) = (1/k) sum_{i<=k} (1 - correct_i)`. Predictions of equal
    confidence are taken in every order with equal probability: `risk(k)`
    counts the tied group at the cut with its mean error rate, so the
    result does not depend on the order of the inputs. Lower is better;
    the smallest value for a given accuracy comes when every error is less
    confident than every correct prediction.

    Args:
        confidence: 1-D array of confidence scores, higher meaning more
            confident (e.g. the largest probability, or minus an
            uncertainty score).
        correct: 1-D array of the same length: whether each prediction is
            right (bools, or 0 and 1).

    Returns:
        The AURC, a Python float in `[0, 1]`.

    Examples:
        >>> from keras_dropout.uncertainty import aurc
        >>> # risks at k = 1, 2, 3: 0, 1/2, 1/3; their mean is 5/18.
        >>> round(aurc([0.9, 0.8, 0.7], [True, False, True]), 4)
        0.2778

    Reference:
        - [Geifman & El-Yaniv, 2017](https://arxiv.org/abs/1705.08500):
          Selective classification for deep neural networks (the
          risk-coverage curve).
        - [Geifman et al., 2019](https://arxiv.org/abs/1805.08206):
          Bias-reduced uncertainty estimation for deep neural classifiers
          (AURC).
    """
    confidence = _check_scores(confidence, "confidence")
    correct_array = np.asarray(correct)
    n = len(confidence)
    if (
        correct_array.shape != (n,)
        or not (
            np.issubdtype(correct_array.dtype, np.number) or correct_array.dtype == bool
        )
        or not np.all((correct_array == 0) | (correct_array == 1))
    ):
        raise _validation.invalid(
            "correct",
            f"a 1-D array of shape ({n},) (as `confidence`) of bools or 0 and 1",
            f"<array of shape {correct_array.shape} and dtype {correct_array.dtype}>",
        )
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    errors = 1.0 - correct_array[order].astype("float64")
    new_group = np.concatenate([[True], ranked[1:] != ranked[:-1]])
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, n))
    group = np.cumsum(new_group) - 1
    errors_before = np.concatenate([[0.0], np.cumsum(errors)])
    group_rate = (errors_before[starts + sizes] - errors_before[starts]) / sizes
    k = np.arange(1, n + 1)
    start = starts[group]
    risk = (errors_before[start] + (k - start) * group_rate[group]) / k
    return float(risk.mean())


# --- regression --------------------------------------------------------------


def gaussian_nll(mean, variance, targets):
    """The mean negative log-likelihood of targets under Gaussians, in nats.

    `NLL = (1/N) sum_i [0.5 log(2 pi var_i) + (y_i - mean_i)^2 / (2 var_i)]`
    over every element, the constant `0.5 log(2 pi)` included (so it equals
    minus the mean of `scipy.stats.norm.logpdf(y, mean, sqrt(var))`).

    Args:
        mean: array of predicted means, any shape.
        variance: array of the same shape of predicted variances, each > 0.
        targets: array of the same shape of observed values.

    Returns:
        The mean NLL, a Python float.

    Examples:
        >>> import math
        >>> from keras_dropout.uncertainty import gaussian_nll
        >>> # a target 1 standard deviation from the mean: 0.5 log(2 pi) + 0.5
        >>> gaussian_nll([0.0], [1.0], [1.0]) == 0.5 * math.log(2 * math.pi) + 0.5
        True

    Reference:
        - [Nix & Weigend, 1994](https://doi.org/10.1109/ICNN.1994.374138):
          Estimating the mean and variance of the target probability
          distribution.
        - [Kendall & Gal, 2017](https://arxiv.org/abs/1703.04977): What
          uncertainties do we need in Bayesian deep learning for computer
          vision?
    """
    mean = _check_real(mean, "mean")
    variance = _check_same_shape(
        _check_real(variance, "variance"), "variance", mean, "mean"
    )
    _check_positive(variance, "variance")
    targets = _check_same_shape(
        _check_real(targets, "targets"), "targets", mean, "mean"
    )
    terms = 0.5 * np.log(2 * np.pi * variance) + (targets - mean) ** 2 / (2 * variance)
    return float(np.mean(terms))


# Acklam's rational approximation of the standard normal quantile (relative
# error below 1.2e-9), for p in (0, 0.5]; one Halley step with math.erfc
# then brings it to full double precision.
_ACKLAM_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_ACKLAM_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_ACKLAM_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_ACKLAM_D = (
    7.784695709041462e-03,
    3.224671290700398e-01,
    2.445134137142996e00,
    3.754408661907416e00,
)


def _polynomial(coefficients, x):
    value = 0.0
    for c in coefficients:
        value = value * x + c
    return value


def _normal_quantile(p):
    """The standard normal quantile `Phi^-1(p)` for a float `p` in (0, 1)."""
    if p > 0.5:
        return -_normal_quantile(1.0 - p)
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = _polynomial(_ACKLAM_C, q) / (_polynomial(_ACKLAM_D, q) * q + 1.0)
    else:
        q = p - 0.5
        r = q * q
        x = _polynomial(_ACKLAM_A, r) * q / (_polynomial(_ACKLAM_B, r) * r + 1.0)
    # Halley's step on Phi(x) - p.
    error = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    u = error * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def interval_coverage(mean, std, targets, level=0.95):
    """The fraction of targets inside the central Gaussian prediction interval.

    The interval at `level` is `mean +- z * std` with
    `z = Phi^-1((1 + level) / 2)` (1.96 at 0.95), ends included. A
    calibrated Gaussian predictor covers about `level` of the targets; less
    means overconfident, more underconfident. The quantile is computed in
    NumPy alone (Acklam's approximation refined with one Halley step,
    accurate to about 1e-15).

    Args:
        mean: array of predicted means, any shape.
        std: array of the same shape of predicted standard deviations,
            each > 0.
        targets: array of the same shape of observed values.
        level: float in `(0, 1)`, the nominal coverage of the interval.

    Returns:
        The empirical coverage, a Python float in `[0, 1]`.

    Examples:
        >>> from keras_dropout.uncertainty import interval_coverage
        >>> # the 95% interval is [-1.96, 1.96]: 1.9 is in, 2.0 is not.
        >>> interval_coverage([0.0, 0.0], [1.0, 1.0], [1.9, 2.0], level=0.95)
        0.5

    Reference:
        - [Kuleshov et al., 2018](https://arxiv.org/abs/1807.00263):
          Accurate uncertainties for deep learning using calibrated
          regression.
    """
    mean = _check_real(mean, "mean")
    std = _check_same_shape(_check_real(std, "std"), "std", mean, "mean")
    _check_positive(std, "std")
    targets = _check_same_shape(
        _check_real(targets, "targets"), "targets", mean, "mean"
    )
    if (
        isinstance(level, bool)
        or not isinstance(level, numbers.Real)
        or not 0.0 < level < 1.0
    ):
        raise _validation.invalid("level", "a float strictly between 0 and 1", level)
    z = -_normal_quantile((1.0 - float(level)) / 2.0)
    return float(np.mean(np.abs(targets - mean) <= z * std))


class VarianceDecomposition(NamedTuple):
    """The split of predictive variance (`variance_decomposition`).

    Attributes:
        aleatoric: the mean of the sampled variances: noise in the data.
        epistemic: the variance of the sampled means: the model's
            uncertainty, which more data reduces.
        total: `aleatoric + epistemic`, the variance of the predictive
            mixture.
    """

    aleatoric: np.ndarray
    epistemic: np.ndarray
    total: np.ndarray


def variance_decomposition(sample_means, sample_variances):
    """Aleatoric and epistemic parts of the predictive variance (regression).

    For a head that predicts a mean and a variance, sampled `S` times with
    MC dropout (axis 0), the predictive distribution is the mixture of the
    `S` Gaussians and its variance splits by the law of total variance:
    `aleatoric = mean_s var_s`, `epistemic = mean_s mean_s^2 -
    (mean_s mean_s)^2` (the variance of the means over axis 0, divided by
    `S`, not `S - 1`), `total = aleatoric + epistemic`.

    Args:
        sample_means: array `(samples, ...)` of sampled predicted means.
        sample_variances: array of the same shape of sampled predicted
            variances, each >= 0.

    Returns:
        A `VarianceDecomposition` namedtuple of float64 arrays `aleatoric`,
        `epistemic` and `total`, each of shape `sample_means.shape[1:]`.

    Examples:
        >>> from keras_dropout.uncertainty import variance_decomposition
        >>> # two samples: means 1 and 3 (variance 1), variances 0.5 and 1.5
        >>> parts = variance_decomposition([[1.0], [3.0]], [[0.5], [1.5]])
        >>> parts.aleatoric, parts.epistemic, parts.total
        (array([1.]), array([1.]), array([2.]))

    Reference:
        - [Kendall & Gal, 2017](https://arxiv.org/abs/1703.04977): What
          uncertainties do we need in Bayesian deep learning for computer
          vision?
    """
    means = _check_real(sample_means, "sample_means")
    if means.ndim < 1:
        raise _validation.invalid(
            "sample_means",
            "an array (samples, ...) with the samples on axis 0",
            f"<array of shape {means.shape}>",
        )
    variances = _check_same_shape(
        _check_real(sample_variances, "sample_variances"),
        "sample_variances",
        means,
        "sample_means",
    )
    if np.any(variances < 0):
        raise _validation.invalid(
            "sample_variances",
            "an array of non-negative numbers (every value >= 0)",
            f"<array with smallest value {variances.min()}>",
        )
    aleatoric = variances.mean(axis=0)
    epistemic = means.var(axis=0)
    return VarianceDecomposition(aleatoric, epistemic, aleatoric + epistemic)


# --- temperature scaling -----------------------------------------------------


def _check_logits(logits, name="logits", ndim=None):
    array = _check_real(logits, name, ndim)
    if array.ndim < 1:
        raise _validation.invalid(
            name, "an array (..., classes) of logits", f"<array of shape {array.shape}>"
        )
    return array


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_temperature(logits, labels):
    """Fits the temperature that minimises the NLL of `softmax(logits / T)`.

    Temperature scaling calibrates a classifier with one parameter, fitted
    on held-out (validation) logits: `T > 1` softens overconfident
    predictions, `T < 1` sharpens underconfident ones; the predicted class
    does not change. The NLL is a convex function of `1 / T`, so its
    derivative changes sign once: the search bisects on that sign in
    `log T`, over `T` in `[0.01, 100]`, until the bracket is `1e-10` wide in
    `log T` (a relative precision of about `1e-10` in `T`). Deterministic,
    with no starting point or learning rate to choose. When the NLL is
    still decreasing at a bound (e.g. perfectly separated training logits
    want `T -> 0`), the result is that bound; logits that carry no
    information about the labels (equal within each row) give `T = 1`.

    Args:
        logits: array `(N, classes)` of logits (pre-softmax outputs).
        labels: integer array `(N,)` of class indices in `[0, classes)`, or
            one-hot array `(N, classes)`.

    Returns:
        The temperature, a Python float in `[0.01, 100]`; pass it to
        `apply_temperature`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import apply_temperature
        >>> from keras_dropout.uncertainty import fit_temperature
        >>> rng = np.random.default_rng(0)
        >>> true_logits = rng.normal(size=(5000, 4))
        >>> p = apply_temperature(true_logits, 1.0)
        >>> labels = (p.cumsum(-1) < rng.uniform(size=(5000, 1))).sum(-1)
        >>> # a model three times too confident
        >>> round(fit_temperature(3.0 * true_logits, labels), 1)
        3.0

    Reference:
        - [Guo et al., 2017](https://arxiv.org/abs/1706.04599):
          On calibration of modern neural networks.
    """
    logits = _check_logits(logits, ndim=2)
    n, classes = logits.shape
    labels = _check_labels(labels, n, classes)
    # Shifting a row changes no softmax; rows of equal logits become exact
    # zeros, whose slope is exactly 0 at every T.
    logits = logits - logits.max(axis=-1, keepdims=True)
    label_logits = logits[np.arange(n), labels]

    def slope(log_t):
        """The sign of d NLL / d log T at T = exp(log_t)."""
        probs = _softmax(logits * math.exp(-log_t))
        # d NLL / d beta at beta = 1 / T; d NLL / d log T = -beta * that.
        return -np.mean(np.sum(probs * logits, axis=-1) - label_logits)

    low, high = -_LOG_T_BOUND, _LOG_T_BOUND
    while high - low > _LOG_T_TOLERANCE:
        middle = (low + high) / 2.0
        direction = slope(middle)
        if direction == 0:
            return math.exp(middle)
        if direction > 0:
            high = middle
        else:
            low = middle
    return math.exp((low + high) / 2.0)


def apply_temperature(logits, temperature):
    """Calibrated probabilities: `softmax(logits / temperature)`.

    Args:
        logits: array `(..., classes)` of logits.
        temperature: float > 0, such as the result of `fit_temperature`.

    Returns:
        A float64 array of probabilities of the shape of `logits`.

    Examples:
        >>> import numpy as np
        >>> from keras_dropout.uncertainty import apply_temperature
        >>> apply_temperature(np.log([[1.0, 3.0]]), 1.0)
        array([[0.25, 0.75]])
        >>> apply_temperature(np.log([[1.0, 4.0]]), 2.0)  # softer: 1:2
        array([[0.33333333, 0.66666667]])

    Reference:
        - [Guo et al., 2017](https://arxiv.org/abs/1706.04599):
          On calibration of modern neural networks.
    """
    logits = _check_logits(logits)
    temperature = _check_positive_number(temperature, "temperature")
    return _softmax(logits / temperature)


# --- streaming metrics -------------------------------------------------------


def _metric_targets(y_true, y_pred, dtype):
    """`(one_hot, y_pred)` in `dtype` for a streaming metric's update.

    `y_pred`: `(batch, classes)` probabilities. `y_true`: class indices
    `(batch,)` or `(batch, 1)`, or one-hot `(batch, classes)`.
    """
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), dtype)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) != 2:
        raise _validation.invalid(
            "y_pred",
            "a tensor of probabilities of shape (batch, classes)",
            f"<tensor of shape {tuple(y_pred.shape)}>",
        )
    classes = y_pred.shape[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == classes:
        return ops.cast(y_true, dtype), y_pred
    if len(y_true.shape) == 1 or (len(y_true.shape) == 2 and y_true.shape[-1] == 1):
        indices = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        return ops.one_hot(indices, classes, dtype=dtype), y_pred
    raise _validation.invalid(
        "y_true",
        f"class indices of shape (batch,) or (batch, 1), or one-hot labels of "
        f"shape (batch, {classes})",
        f"<tensor of shape {tuple(y_true.shape)}>",
    )


def _metric_weights(sample_weight, like, dtype):
    """Per-example weights `(batch,)`: ones, or `sample_weight` flattened."""
    if sample_weight is None:
        return ops.ones_like(like)
    return ops.reshape(ops.cast(sample_weight, dtype), (-1,))


class _MeanMetric(keras.metrics.Metric):
    """A weighted mean of a per-example score over every batch seen."""

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        one_hot, y_pred = _metric_targets(y_true, y_pred, self.dtype)
        scores = self._scores(one_hot, y_pred)
        weights = _metric_weights(sample_weight, scores, self.dtype)
        self.total.assign_add(ops.sum(weights * scores))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


@keras.saving.register_keras_serializable(package="keras_dropout")
class NegativeLogLikelihood(_MeanMetric):
    """Streaming `negative_log_likelihood`: the mean NLL of the labels.

    `-log max(p[y], 1e-12)` averaged over every example seen since the
    last reset (weighted by `sample_weight` if given), for
    `model.compile(metrics=[...])`. On the same data it equals
    `negative_log_likelihood` up to the float32 rounding of the metric.
    `y_pred` must be probabilities (a softmax output); they are not
    checked.

    Args:
        name: the metric's name.
        dtype: the dtype of the metric's computation and result.

    Examples:
        >>> from keras_dropout.uncertainty import NegativeLogLikelihood
        >>> metric = NegativeLogLikelihood()
        >>> metric.update_state([0], [[0.5, 0.5]])
        >>> metric.update_state([1], [[0.9, 0.1]])
        >>> round(float(metric.result()), 4)  # (-log 0.5 - log 0.1) / 2
        1.4979
    """

    def __init__(self, name="negative_log_likelihood", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _scores(self, one_hot, y_pred):
        chosen = ops.sum(one_hot * y_pred, axis=-1)
        return -ops.log(ops.maximum(chosen, _EPSILON))


@keras.saving.register_keras_serializable(package="keras_dropout")
class BrierScore(_MeanMetric):
    """Streaming `brier_score`: the mean over examples of `sum_c (p_c - y_c)^2`.

    Averaged over every example seen since the last reset (weighted by
    `sample_weight` if given), for `model.compile(metrics=[...])`. On the
    same data it equals `brier_score` up to float32 rounding.

    Args:
        name: the metric's name.
        dtype: the dtype of the metric's computation and result.

    Examples:
        >>> from keras_dropout.uncertainty import BrierScore
        >>> metric = BrierScore()
        >>> metric.update_state([0, 1], [[0.8, 0.2], [0.4, 0.6]])
        >>> round(float(metric.result()), 4)
        0.2

    Reference:
        - Brier, 1950: Verification of forecasts expressed in terms of
          probability. Monthly Weather Review 78(1), 1-3.
    """

    def __init__(self, name="brier_score", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _scores(self, one_hot, y_pred):
        return ops.sum(ops.square(y_pred - one_hot), axis=-1)


@keras.saving.register_keras_serializable(package="keras_dropout")
class ExpectedCalibrationError(keras.metrics.Metric):
    """Streaming `expected_calibration_error` over equal-width bins.

    Keeps three accumulators per bin (count, sum of confidences, sum of
    correct predictions) over every batch seen since the last reset, so
    the result is the ECE of all the data, not a mean of per-batch ECEs:
    `ECE = (1/N) sum_b |correct_b - confidence sum_b|`, the same as
    `expected_calibration_error` on the concatenated batches. The bins are
    computed in the metric's dtype (float32 by default), so a confidence
    lying exactly on a bin edge may fall in the other bin than in the
    float64 NumPy function. `sample_weight`, if given, weights each
    example.

    Args:
        bins: positive int, the number of confidence bins.
        name: the metric's name.
        dtype: the dtype of the metric's computation and result.

    Examples:
        >>> from keras_dropout.uncertainty import ExpectedCalibrationError
        >>> metric = ExpectedCalibrationError(bins=5)
        >>> metric.update_state([0, 1], [[0.9, 0.1], [0.9, 0.1]])
        >>> metric.update_state([0, 0], [[0.7, 0.3], [0.7, 0.3]])
        >>> round(float(metric.result()), 4)  # as expected_calibration_error
        0.35

    Reference:
        - [Guo et al., 2017](https://arxiv.org/abs/1706.04599):
          On calibration of modern neural networks.
    """

    def __init__(self, bins=15, name="expected_calibration_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.bins = _check_bins(bins)
        self.counts = self.add_variable(
            shape=(self.bins,), initializer="zeros", name="counts"
        )
        self.confidence_sums = self.add_variable(
            shape=(self.bins,), initializer="zeros", name="confidence_sums"
        )
        self.correct_sums = self.add_variable(
            shape=(self.bins,), initializer="zeros", name="correct_sums"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        one_hot, y_pred = _metric_targets(y_true, y_pred, self.dtype)
        confidence = ops.max(y_pred, axis=-1)
        correct = ops.cast(
            ops.equal(ops.argmax(y_pred, axis=-1), ops.argmax(one_hot, axis=-1)),
            self.dtype,
        )
        weights = _metric_weights(sample_weight, confidence, self.dtype)
        which = ops.cast(ops.ceil(confidence * self.bins), "int32") - 1
        which = ops.clip(which, 0, self.bins - 1)
        members = ops.one_hot(which, self.bins, dtype=self.dtype)
        members = members * ops.expand_dims(weights, -1)
        self.counts.assign_add(ops.sum(members, axis=0))
        self.confidence_sums.assign_add(
            ops.sum(members * ops.expand_dims(confidence, -1), axis=0)
        )
        self.correct_sums.assign_add(
            ops.sum(members * ops.expand_dims(correct, -1), axis=0)
        )

    def result(self):
        gaps = ops.sum(ops.abs(self.correct_sums - self.confidence_sums))
        return ops.divide_no_nan(gaps, ops.sum(self.counts))

    def get_config(self):
        return {**super().get_config(), "bins": self.bins}
