"""Uncertainty measures for sampled (MC dropout) class probabilities.

NumPy in, NumPy out: feed them `keras_dropout.mc_predict(...).samples` or
`.mean` of a softmax model. Entropies are in nats (natural logarithm).
"""

import numbers

import numpy as np

from keras_dropout import _validation

_SUM_TOLERANCE = 1e-3


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
    probs = _check_probs(probs, "probs", 2)
    if probs.ndim != 2:
        raise _validation.invalid(
            "probs", "an array of shape (N, classes)", f"<array of shape {probs.shape}>"
        )
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise _validation.invalid("bins", "a positive int (1 or more)", bins)
    n, classes = probs.shape
    labels = np.asarray(labels)
    if labels.shape == probs.shape:
        labels = labels.argmax(axis=-1)
    expected = (
        f"an int array of shape ({n},) with values in [0, {classes}), "
        f"or a one-hot array of shape ({n}, {classes})"
    )
    if (
        labels.shape != (n,)
        or not np.issubdtype(labels.dtype, np.integer)
        or np.any(labels < 0)
        or np.any(labels >= classes)
    ):
        raise _validation.invalid(
            "labels", expected, f"<array of shape {labels.shape}>"
        )
    confidence = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        if count:
            gap = abs(correct[members].mean() - confidence[members].mean())
            ece += count / n * gap
    return float(ece)
