"""`keras_dropout.uncertainty`: the calibration, OOD, selective-prediction
and regression measures, temperature scaling, and the streaming metrics.

Each measure is checked on arrays small enough to work out by hand, and
against scikit-learn or SciPy where they compute the same thing. The
streaming metrics run on the backend of the session (the suite runs once
per backend).
"""

import itertools
import math
import sys

import keras
import numpy as np
import pytest
import scipy.special
import scipy.stats
from sklearn import metrics as skm

from keras_dropout import uncertainty as u
from tests.harness import numpy


def _softmax(logits):
    return scipy.special.softmax(logits, axis=-1)


def _classifier_data(n=200, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    probs = _softmax(rng.normal(size=(n, classes)) * 2.0)
    labels = rng.integers(0, classes, size=n)
    return probs, labels


def _sample_labels(probs, rng):
    """One draw per row from Categorical(probs)."""
    return (probs.cumsum(-1) < rng.uniform(size=(len(probs), 1))).sum(-1)


# --- negative log-likelihood and Brier score ---------------------------------


def test_nll_hand_computed():
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    expected = -(math.log(0.5) + math.log(0.1) + math.log(0.8)) / 3
    assert u.negative_log_likelihood(probs, [1, 1, 1]) == pytest.approx(expected)
    one_hot = np.eye(2)[[1, 1, 1]]
    assert u.negative_log_likelihood(probs, one_hot) == pytest.approx(expected)


def test_nll_matches_sklearn_log_loss():
    probs, labels = _classifier_data()
    expected = skm.log_loss(labels, probs, labels=range(4))
    assert u.negative_log_likelihood(probs, labels) == pytest.approx(expected, 1e-12)


def test_nll_clips_zero_probabilities():
    probs = np.array([[1.0, 0.0], [1.0, 0.0]])
    # the first label has probability 0: -log(1e-12) / 2, finite
    nll = u.negative_log_likelihood(probs, [1, 0])
    assert math.isfinite(nll)
    assert nll == pytest.approx(-math.log(1e-12) / 2)
    assert u.negative_log_likelihood(probs, [0, 0]) == 0.0


def test_brier_hand_computed():
    probs = np.array([[0.8, 0.2, 0.0], [0.1, 0.3, 0.6]])
    first = 0.2**2 + 0.2**2 + 0.0
    second = 0.1**2 + 0.7**2 + 0.6**2  # label 1
    assert u.brier_score(probs, [0, 1]) == pytest.approx((first + second) / 2)
    assert u.brier_score(np.eye(3), [0, 1, 2]) == 0.0
    assert u.brier_score(np.eye(3), [1, 2, 0]) == pytest.approx(2.0)


def test_brier_binary_is_twice_sklearn_brier_score_loss():
    probs, labels = _classifier_data(classes=2)
    binary = skm.brier_score_loss(labels, probs[:, 1])
    assert u.brier_score(probs, labels) == pytest.approx(2 * binary, 1e-12)


def test_brier_multiclass_matches_sklearn_unscaled():
    probs, labels = _classifier_data(classes=4)
    try:
        expected = skm.brier_score_loss(
            labels, probs, labels=range(4), scale_by_half=False
        )
    except TypeError:  # scikit-learn < 1.7: binary only
        rows = np.arange(len(labels))
        one_hot = np.zeros_like(probs)
        one_hot[rows, labels] = 1.0
        expected = np.mean(np.sum((probs - one_hot) ** 2, axis=1))
    assert u.brier_score(probs, labels) == pytest.approx(expected, 1e-12)


# --- variation ratio ---------------------------------------------------------


def test_variation_ratio_hand_computed():
    # 5 samples, 2 examples, 3 classes. Example 0 votes 0, 0, 1, 2, 0 (mode
    # 3 of 5); example 1 votes 2 every time.
    votes = np.array([[0, 2], [0, 2], [1, 2], [2, 2], [0, 2]])
    samples = np.eye(3)[votes] * 0.7 + 0.1  # rows (0.8, 0.1, 0.1) and so on
    np.testing.assert_allclose(u.variation_ratio(samples), [0.4, 0.0])


def test_variation_ratio_bound_and_shape():
    # 4 samples each voting for another class: 1 - 1/4, the largest value.
    samples = np.eye(4)[:, None, None, :] * np.ones((4, 2, 3, 4))
    result = u.variation_ratio(samples)
    assert result.shape == (2, 3) and result.dtype == np.float64
    np.testing.assert_allclose(result, 0.75)


# --- calibration: ECE, adaptive ECE, reliability diagram ---------------------


def test_ece_zero_when_accuracy_equals_confidence_in_every_bin():
    # 10 predictions at confidence 0.8, 8 right; 4 at 0.5, 2 right.
    probs = np.array([[0.8, 0.2]] * 10 + [[0.5, 0.5]] * 4)
    labels = np.array([0] * 8 + [1] * 2 + [0] * 2 + [1] * 2)
    assert u.expected_calibration_error(probs, labels, bins=10) == pytest.approx(
        0.0, abs=1e-15
    )
    assert u.adaptive_calibration_error(probs, labels, bins=1) == pytest.approx(
        0.0, abs=1e-15
    )
    # the same confidences, all right: gap 0.2 on 10 and 0.5 on 4.
    wrong = u.expected_calibration_error(probs, np.zeros(14, int), bins=10)
    assert wrong == pytest.approx((10 * 0.2 + 4 * 0.5) / 14)


def test_adaptive_ece_hand_computed():
    # confidences 0.55, 0.6, 0.7, 0.8, 0.95, 0.99 (given out of order)
    conf = np.array([0.8, 0.55, 0.99, 0.6, 0.95, 0.7])
    probs = np.stack([conf, 1 - conf], axis=1)
    labels = np.array([0, 1, 0, 0, 1, 0])  # wrong at 0.55 and 0.95
    # 3 bins of 2: {0.55, 0.6} acc 1/2 conf 0.575; {0.7, 0.8} acc 1 conf
    # 0.75; {0.95, 0.99} acc 1/2 conf 0.97.
    expected = (abs(0.5 - 0.575) + abs(1 - 0.75) + abs(0.5 - 0.97)) / 3
    result = u.adaptive_calibration_error(probs, labels, bins=3)
    assert result == pytest.approx(expected)
    # 4 bins of sizes 2, 2, 1, 1: {0.55, 0.6}, {0.7, 0.8}, {0.95}, {0.99}
    expected = (2 * 0.075 + 2 * 0.25 + 0.95 + 0.01) / 6
    assert u.adaptive_calibration_error(probs, labels, bins=4) == pytest.approx(
        expected
    )
    # more bins than predictions: one per prediction
    per_prediction = np.mean(np.abs((labels == 0) - conf))
    assert u.adaptive_calibration_error(probs, labels, bins=50) == pytest.approx(
        per_prediction
    )


def test_adaptive_ece_does_not_depend_on_input_order():
    probs, labels = _classifier_data(n=101)
    order = np.random.default_rng(1).permutation(101)
    assert u.adaptive_calibration_error(probs, labels, 7) == pytest.approx(
        u.adaptive_calibration_error(probs[order], labels[order], 7), abs=1e-15
    )


def test_one_bin_ece_is_the_gap_of_the_means():
    probs, labels = _classifier_data()
    gap = abs((probs.argmax(1) == labels).mean() - probs.max(1).mean())
    assert u.expected_calibration_error(probs, labels, 1) == pytest.approx(gap)
    assert u.adaptive_calibration_error(probs, labels, 1) == pytest.approx(gap)


def test_reliability_diagram_equal_width():
    probs = np.array([[0.9, 0.1], [0.95, 0.05], [0.7, 0.3], [0.3, 0.7]])
    diagram = u.reliability_diagram(probs, [0, 1, 0, 0], bins=4)
    np.testing.assert_allclose(diagram.lower, [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(diagram.upper, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(diagram.count, [0, 0, 2, 2])
    np.testing.assert_allclose(diagram.confidence, [np.nan, np.nan, 0.7, 0.925])
    np.testing.assert_allclose(diagram.accuracy, [np.nan, np.nan, 0.5, 0.5])


def test_reliability_diagram_adaptive_edges_are_bin_extremes():
    conf = np.array([0.8, 0.55, 0.99, 0.6, 0.95, 0.7])
    probs = np.stack([conf, 1 - conf], axis=1)
    diagram = u.reliability_diagram(probs, [0] * 6, bins=3, adaptive=True)
    np.testing.assert_allclose(diagram.lower, [0.55, 0.7, 0.95])
    np.testing.assert_allclose(diagram.upper, [0.6, 0.8, 0.99])
    np.testing.assert_allclose(diagram.confidence, [0.575, 0.75, 0.97])
    np.testing.assert_array_equal(diagram.count, [2, 2, 2])
    np.testing.assert_allclose(diagram.accuracy, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("adaptive", [False, True])
def test_reliability_diagram_gives_the_ece(adaptive):
    probs, labels = _classifier_data(n=300, seed=3)
    diagram = u.reliability_diagram(probs, labels, bins=10, adaptive=adaptive)
    assert diagram.count.sum() == 300
    full = diagram.count > 0
    gap = diagram.count[full] * abs(diagram.accuracy - diagram.confidence)[full]
    measure = u.adaptive_calibration_error if adaptive else u.expected_calibration_error
    assert gap.sum() / 300 == pytest.approx(measure(probs, labels, bins=10))


def test_plot_reliability_diagram():
    from matplotlib.figure import Figure

    probs, labels = _classifier_data(n=100)
    ax = Figure().subplots()
    assert u.plot_reliability_diagram(probs, labels, bins=10, ax=ax) is ax
    ece = u.expected_calibration_error(probs, labels, bins=10)
    assert ax.get_title() == f"ECE {ece:.3f}"
    full = u.reliability_diagram(probs, labels, bins=10).count > 0
    assert len(ax.patches) == full.sum()
    ax = Figure().subplots()
    u.plot_reliability_diagram(probs, labels, bins=5, adaptive=True, ax=ax)
    assert ax.get_title().startswith("adaptive ECE") and len(ax.patches) == 5


def test_plot_reliability_diagram_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        u.plot_reliability_diagram(np.eye(2), [0, 1])


# --- OOD: AUROC and FPR at 95% TPR -------------------------------------------


def test_auroc_hand_computed():
    # pairs (in, out): (1, 2) right, (1, 0) wrong, (3, 2) wrong, (3, 0)
    # wrong: 1 of 4; with a tie (2, 2) counting 1/2.
    assert u.auroc([1.0, 3.0], [2.0, 0.0]) == 0.25
    assert u.auroc([1.0, 2.0], [2.0, 3.0]) == pytest.approx(3.5 / 4)
    assert u.auroc([0.0, 0.1], [0.5, 0.9, 2.0]) == 1.0
    assert u.auroc([1.0, 1.0], [1.0]) == 0.5


@pytest.mark.parametrize("seed", range(5))
def test_auroc_and_fpr95_match_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    # integer scores: many ties within and across the two sets
    inside = rng.integers(0, 8, size=int(rng.integers(5, 60))).astype(float)
    outside = rng.integers(2, 10, size=int(rng.integers(5, 60))).astype(float)
    y = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
    scores = np.r_[inside, outside]
    assert u.auroc(inside, outside) == pytest.approx(skm.roc_auc_score(y, scores))
    fpr, tpr, _ = skm.roc_curve(y, scores, drop_intermediate=False)
    expected = fpr[np.searchsorted(tpr, 0.95, side="left")]
    assert u.fpr_at_95_tpr(inside, outside) == pytest.approx(expected)


def test_auroc_and_fpr95_match_sklearn_continuous():
    rng = np.random.default_rng(7)
    inside, outside = rng.normal(size=500), rng.normal(1.0, size=400)
    y = np.r_[np.zeros(500), np.ones(400)]
    scores = np.r_[inside, outside]
    assert u.auroc(inside, outside) == pytest.approx(skm.roc_auc_score(y, scores))
    fpr, tpr, _ = skm.roc_curve(y, scores, drop_intermediate=False)
    expected = fpr[np.searchsorted(tpr, 0.95, side="left")]
    assert u.fpr_at_95_tpr(inside, outside) == pytest.approx(expected)


def test_auroc_is_antisymmetric_even_with_ties():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 5, size=40).astype(float)
    b = rng.integers(1, 6, size=30).astype(float)
    assert u.auroc(a, b) == pytest.approx(1.0 - u.auroc(b, a), abs=1e-15)
    assert u.auroc(a, b) > 0.5  # b scores higher on average


def test_fpr95_hand_computed():
    outside = np.arange(1.0, 21.0)  # 20 scores: 19 flagged at threshold 2
    assert u.fpr_at_95_tpr([0.5, 1.5, 2.5, 3.0], outside) == 0.5
    assert u.fpr_at_95_tpr([1.99, 0.0], outside) == 0.0
    assert u.fpr_at_95_tpr([2.0, 0.0], outside) == 0.5  # ">=" flags ties
    # 10 scores: 95% needs all 10, threshold 1.
    assert u.fpr_at_95_tpr([0.5, 1.0], np.arange(1.0, 11.0)) == 0.5


# --- selective prediction: AURC ----------------------------------------------


def test_aurc_hand_computed():
    # sorted by confidence: right, wrong, right. Risks 0, 1/2, 1/3.
    assert u.aurc([0.7, 0.9, 0.8], [1, 1, 0]) == pytest.approx((0 + 0.5 + 1 / 3) / 3)
    assert u.aurc([0.9, 0.8, 0.7], [True, True, True]) == 0.0
    assert u.aurc([0.9, 0.8], [0, 0]) == 1.0
    # errors least confident: risks 0, 0, 1/3; most confident: 1, 1/2, 1/3
    assert u.aurc([0.9, 0.8, 0.1], [1, 1, 0]) == pytest.approx(1 / 9)
    assert u.aurc([0.1, 0.8, 0.9], [1, 1, 0]) == pytest.approx((1 + 0.5 + 1 / 3) / 3)


def test_aurc_averages_over_the_orders_of_tied_predictions():
    confidence = np.array([0.9, 0.5, 0.5, 0.5, 0.2])
    correct = np.array([1, 0, 1, 1, 0])

    def plain(order):  # the definition without ties, in a given order
        errors = 1.0 - correct[list(order)]
        return np.mean(np.cumsum(errors) / np.arange(1, 6))

    tied_orders = [(0, *p, 4) for p in itertools.permutations([1, 2, 3])]
    expected = np.mean([plain(order) for order in tied_orders])
    assert u.aurc(confidence, correct) == pytest.approx(expected)
    assert u.aurc(confidence[::-1], correct[::-1]) == pytest.approx(expected)
    # not the value of any one order: the tie matters
    assert (
        min(plain(o) for o in tied_orders)
        < expected
        < max(plain(o) for o in tied_orders)
    )


# --- regression ----------------------------------------------------------------


def test_gaussian_nll_matches_scipy():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(20, 3))
    variance = rng.uniform(0.1, 3.0, size=(20, 3))
    targets = rng.normal(size=(20, 3))
    expected = -scipy.stats.norm.logpdf(targets, mean, np.sqrt(variance)).mean()
    assert u.gaussian_nll(mean, variance, targets) == pytest.approx(expected, 1e-12)


def test_gaussian_nll_hand_computed():
    # y - mean = 2, variance 4: 0.5 log(8 pi) + 4 / 8
    expected = 0.5 * math.log(8 * math.pi) + 0.5
    assert u.gaussian_nll([1.0], [4.0], [3.0]) == pytest.approx(expected)


@pytest.mark.parametrize(
    "p", [1e-300, 1e-12, 1e-4, 0.01, 0.02425, 0.025, 0.2, 0.5, 0.8, 0.975, 1 - 1e-9]
)
def test_normal_quantile_matches_scipy(p):
    assert u._normal_quantile(p) == pytest.approx(
        scipy.stats.norm.ppf(p), rel=1e-13, abs=1e-14
    )


def test_interval_coverage_hand_computed():
    # 95%: mean +- 1.95996 std. Inside: -1.9, 0, 1.95; outside: -2, 1.97.
    targets = [-2.0, -1.9, 0.0, 1.95, 1.97]
    assert u.interval_coverage(np.zeros(5), np.ones(5), targets) == 0.6
    # 68.27% (one std): mean 10, std 2 -> [8, 12]
    level = math.erf(1 / math.sqrt(2))
    result = u.interval_coverage([10.0] * 4, [2.0] * 4, [7.9, 8.1, 11.9, 12.1], level)
    assert result == 0.5


def test_interval_coverage_of_calibrated_predictions_is_the_level():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=200_000)
    std = rng.uniform(0.5, 2.0, size=200_000)
    targets = rng.normal(mean, std)
    for level in (0.5, 0.9, 0.95):
        coverage = u.interval_coverage(mean, std, targets, level)
        assert coverage == pytest.approx(level, abs=0.005)


def test_variance_decomposition_hand_computed():
    means = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 0.0]])
    variances = np.array([[0.5, 1.0], [1.5, 1.0], [1.0, 1.0]])
    parts = u.variance_decomposition(means, variances)
    np.testing.assert_allclose(parts.aleatoric, [1.0, 1.0])
    np.testing.assert_allclose(parts.epistemic, [2 / 3, 0.0])  # ddof 0
    np.testing.assert_allclose(parts.total, [5 / 3, 1.0])


def test_variance_decomposition_total_is_the_mixture_variance():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(30, 5, 2))
    variances = rng.uniform(0.1, 1.0, size=(30, 5, 2))
    parts = u.variance_decomposition(means, variances)
    assert parts.total.shape == (5, 2)
    # Var of the equal mixture: E[var + mean^2] - E[mean]^2
    mixture = (variances + means**2).mean(0) - means.mean(0) ** 2
    np.testing.assert_allclose(parts.total, mixture, rtol=1e-12)


# --- temperature scaling ---------------------------------------------------------


def test_fit_temperature_recovers_the_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(20_000, 5))
    labels = _sample_labels(_softmax(true_logits), rng)
    for factor in (3.0, 0.5):
        # logits `factor` times too large: T = factor undoes it
        temperature = u.fit_temperature(factor * true_logits, labels)
        assert temperature == pytest.approx(factor, rel=0.05)


def test_fit_temperature_minimises_the_nll():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(500, 3)) * 4.0
    labels = _sample_labels(_softmax(logits / 2.0), rng)

    def nll(log_t):
        probs = u.apply_temperature(logits, math.exp(log_t))
        return u.negative_log_likelihood(probs, labels)

    temperature = u.fit_temperature(logits, labels)
    reference = scipy.optimize.minimize_scalar(
        nll, bounds=(-3.0, 3.0), method="bounded", options={"xatol": 1e-9}
    )
    assert math.log(temperature) == pytest.approx(reference.x, abs=1e-4)
    assert nll(math.log(temperature)) <= reference.fun + 1e-12
    for step in (1e-3, -1e-3):
        assert nll(math.log(temperature)) < nll(math.log(temperature) + step)
    one_hot = np.eye(3)[labels]
    assert u.fit_temperature(logits, one_hot) == temperature


def test_fit_temperature_limits():
    # no information (equal logits in each row): T = 1
    assert u.fit_temperature(np.ones((4, 3)), [0, 1, 2, 0]) == 1.0
    flat = np.array([[0.7] * 3, [-2.1] * 3, [1e3] * 3, [0.1] * 3])
    assert u.fit_temperature(flat, [0, 1, 2, 0]) == 1.0
    # separable and right: sharper is always better, the lower bound
    logits = np.array([[2.0, 0.0], [0.0, 2.0]])
    assert u.fit_temperature(logits, [0, 1]) == pytest.approx(0.01, rel=1e-8)
    # always wrong: flatter is always better, the upper bound
    assert u.fit_temperature(logits, [1, 0]) == pytest.approx(100.0, rel=1e-8)


def test_apply_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 7, 5)) * 10
    for temperature in (0.3, 1.0, 4.0):
        probs = u.apply_temperature(logits, temperature)
        np.testing.assert_allclose(probs, _softmax(logits / temperature), rtol=1e-12)
        np.testing.assert_array_equal(probs.argmax(-1), logits.argmax(-1))
    # large logits do not overflow
    probs = u.apply_temperature(np.array([[1000.0, 0.0]]), 0.01)
    np.testing.assert_array_equal(probs, [[1.0, 0.0]])


# --- streaming metrics -------------------------------------------------------------

METRICS = [
    (u.NegativeLogLikelihood, {}, u.negative_log_likelihood),
    (u.BrierScore, {}, u.brier_score),
    (u.ExpectedCalibrationError, {"bins": 10}, u.expected_calibration_error),
]
METRIC_IDS = ["NegativeLogLikelihood", "BrierScore", "ExpectedCalibrationError"]


def _reference(function, kwargs, probs, labels):
    return function(probs.astype("float64"), labels, **kwargs)


def _float32_data(n=90, classes=4, seed=0):
    probs, labels = _classifier_data(n, classes, seed)
    probs = probs.astype("float32")
    # a few predictions with probability 0 on the label: the NLL's clip
    probs[:3] = np.eye(classes, dtype="float32")[(labels[:3] + 1) % classes]
    return probs, labels


@pytest.mark.parametrize("labels_as", ["sparse", "sparse_column", "one_hot"])
@pytest.mark.parametrize("cls, kwargs, function", METRICS, ids=METRIC_IDS)
def test_metric_over_batches_equals_numpy_on_all_data(cls, kwargs, function, labels_as):
    probs, labels = _float32_data()
    targets = {
        "sparse": labels.astype("int32"),
        "sparse_column": labels.reshape(-1, 1),
        "one_hot": np.eye(4, dtype="float32")[labels],
    }[labels_as]
    metric = cls(**kwargs)
    for rows in (slice(0, 7), slice(7, 50), slice(50, 90)):
        metric.update_state(targets[rows], probs[rows])
    expected = _reference(function, kwargs, probs, labels)
    assert float(numpy(metric.result())) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    metric.reset_state()
    assert float(numpy(metric.result())) == 0.0
    metric.update_state(targets[:10], probs[:10])
    expected = _reference(function, kwargs, probs[:10], labels[:10])
    assert float(numpy(metric.result())) == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("cls, kwargs, function", METRICS, ids=METRIC_IDS)
def test_metric_sample_weight_counts_rows(cls, kwargs, function):
    probs, labels = _float32_data(n=30)
    weights = np.random.default_rng(0).integers(0, 4, size=30)
    metric = cls(**kwargs)
    metric.update_state(labels, probs, sample_weight=weights.astype("float32"))
    # weight w is the same as the row repeated w times
    repeated = np.repeat(np.arange(30), weights)
    expected = _reference(function, kwargs, probs[repeated], labels[repeated])
    assert float(numpy(metric.result())) == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("cls, kwargs, function", METRICS, ids=METRIC_IDS)
def test_metric_config_round_trips(cls, kwargs, function):
    metric = cls(name="mine", **kwargs)
    config = metric.get_config()
    assert config["name"] == "mine"
    again = cls.from_config(config)
    assert again.get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert type(restored) is cls and restored.get_config() == config
    if kwargs:
        assert config["bins"] == kwargs["bins"]


def test_metrics_in_compile_and_evaluate():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = rng.integers(0, 3, size=40)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        metrics=[
            u.NegativeLogLikelihood(),
            u.BrierScore(),
            u.ExpectedCalibrationError(bins=5),
        ],
    )
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    probs = model.predict(x, batch_size=8, verbose=0).astype("float64")
    probs /= probs.sum(-1, keepdims=True)
    expected = {
        "negative_log_likelihood": u.negative_log_likelihood(probs, y),
        "brier_score": u.brier_score(probs, y),
        "expected_calibration_error": u.expected_calibration_error(probs, y, 5),
    }
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    # the NLL of the probabilities is the sparse cross-entropy loss
    assert logs["loss"] == pytest.approx(expected["negative_log_likelihood"], 1e-5)


# --- bad input ----------------------------------------------------------------------

P = np.array([[0.9, 0.1], [0.2, 0.8]])
Y = [0, 1]
ONE = np.ones(3)


@pytest.mark.parametrize(
    "call, name",
    [
        # probabilities
        (lambda: u.negative_log_likelihood([[0.9, 0.2], [0.2, 0.8]], Y), "probs"),
        (lambda: u.negative_log_likelihood([[1.5, -0.5], [0.2, 0.8]], Y), "probs"),
        (lambda: u.negative_log_likelihood([0.5, 0.5], Y), "probs"),
        (lambda: u.brier_score(np.zeros((0, 2)), []), "probs"),
        (lambda: u.brier_score(np.ones((2, 2, 1)), Y), "probs"),
        (lambda: u.variation_ratio([0.5, 0.5]), "sample_probs"),
        (lambda: u.variation_ratio([[0.5, 0.6]]), "sample_probs"),
        (lambda: u.adaptive_calibration_error([[np.nan, 1.0]], [0]), "probs"),
        # labels
        (lambda: u.negative_log_likelihood(P, [0, 2]), "labels"),
        (lambda: u.negative_log_likelihood(P, [0, -1]), "labels"),
        (lambda: u.brier_score(P, [0.0, 1.0]), "labels"),
        (lambda: u.brier_score(P, [0]), "labels"),
        (lambda: u.brier_score(P, [[0], [1]]), "labels"),
        (lambda: u.reliability_diagram(P, [[0.5, 0.5], [0.0, 1.0]]), "labels"),
        (lambda: u.expected_calibration_error(P, [[1, 1], [0, 1]]), "labels"),
        (lambda: u.fit_temperature(P, [0, 3]), "labels"),
        # bins and flags
        (lambda: u.adaptive_calibration_error(P, Y, bins=0), "bins"),
        (lambda: u.reliability_diagram(P, Y, bins=True), "bins"),
        (lambda: u.reliability_diagram(P, Y, adaptive="yes"), "adaptive"),
        (lambda: u.plot_reliability_diagram(P, Y, bins=-1), "bins"),
        (lambda: u.ExpectedCalibrationError(bins=0), "bins"),
        # scores
        (lambda: u.auroc([], [1.0]), "in_scores"),
        (lambda: u.auroc([1.0], [[1.0]]), "out_scores"),
        (lambda: u.auroc([1.0, np.inf], [1.0]), "in_scores"),
        (lambda: u.fpr_at_95_tpr([1.0], ["a"]), "out_scores"),
        (lambda: u.fpr_at_95_tpr([np.nan], [1.0]), "in_scores"),
        (lambda: u.aurc([0.9, 0.8], [1, 0, 1]), "correct"),
        (lambda: u.aurc([0.9, 0.8], [1, 2]), "correct"),
        (lambda: u.aurc([], []), "confidence"),
        # regression
        (lambda: u.gaussian_nll(ONE, [1.0, 0.0, 1.0], ONE), "variance"),
        (lambda: u.gaussian_nll(ONE, [1.0, -1.0, 1.0], ONE), "variance"),
        (lambda: u.gaussian_nll(ONE, ONE, np.ones(2)), "targets"),
        (lambda: u.gaussian_nll(ONE, np.ones(4), ONE), "variance"),
        (lambda: u.gaussian_nll([], [], []), "mean"),
        (lambda: u.gaussian_nll([np.nan], [1.0], [0.0]), "mean"),
        (lambda: u.interval_coverage(ONE, [1.0, 0.0, 1.0], ONE), "std"),
        (lambda: u.interval_coverage(ONE, ONE, ONE, level=1.0), "level"),
        (lambda: u.interval_coverage(ONE, ONE, ONE, level=0.0), "level"),
        (lambda: u.interval_coverage(ONE, ONE, ONE, level=95), "level"),
        (lambda: u.interval_coverage(ONE, ONE, ONE, level="0.9"), "level"),
        (lambda: u.interval_coverage(ONE, ONE, [1.0]), "targets"),
        (lambda: u.variance_decomposition(ONE, [1.0, -1.0, 1.0]), "sample_variances"),
        (lambda: u.variance_decomposition(ONE, np.ones((3, 1))), "sample_variances"),
        (lambda: u.variance_decomposition(1.0, 1.0), "sample_means"),
        # temperature
        (lambda: u.fit_temperature(np.ones(3), [0]), "logits"),
        (lambda: u.fit_temperature([[np.inf, 0.0]], [0]), "logits"),
        (lambda: u.apply_temperature(P, 0.0), "temperature"),
        (lambda: u.apply_temperature(P, -1.0), "temperature"),
        (lambda: u.apply_temperature(P, math.nan), "temperature"),
        (lambda: u.apply_temperature(P, np.array([1.0, 2.0])), "temperature"),
        (lambda: u.apply_temperature(np.zeros((2, 0)), 1.0), "logits"),
        # streaming metrics: shapes known before any value is read
        (lambda: u.BrierScore().update_state(Y, np.ones((2, 2, 2))), "y_pred"),
        (lambda: u.BrierScore().update_state(np.ones((2, 3)), P), "y_true"),
    ],
)
def test_bad_inputs(call, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        call()


def test_label_error_says_what_was_received():
    with pytest.raises(ValueError, match=r"values in \[0, 3\]"):
        u.negative_log_likelihood(P, [0, 3])
    with pytest.raises(ValueError, match="dtype float64"):
        u.negative_log_likelihood(P, [0.0, 1.0])
    with pytest.raises(ValueError, match="not all one-hot"):
        u.brier_score(P, [[0.5, 0.5], [0.0, 1.0]])
