"""`keras_dropout.uncertainty`: exact values on hand-computed examples."""

import math

import numpy as np
import pytest

from keras_dropout.uncertainty import expected_calibration_error
from keras_dropout.uncertainty import mutual_information
from keras_dropout.uncertainty import predictive_entropy


def test_predictive_entropy_hand_computed():
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(predictive_entropy(probs), [math.log(2), 0.0])
    three = np.array([0.25, 0.25, 0.5])
    expected = -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5))  # 1.5 log 2
    assert predictive_entropy(three) == pytest.approx(expected)
    assert predictive_entropy(three) == pytest.approx(1.5 * math.log(2))
    assert predictive_entropy(np.full((4,), 0.25)) == pytest.approx(math.log(4))


def test_predictive_entropy_keeps_leading_shape_and_is_never_negative():
    probs = np.zeros((3, 5, 4))
    probs[..., 1] = 1.0
    result = predictive_entropy(probs)
    assert result.shape == (3, 5)
    assert np.all(result == 0.0) and not np.any(np.signbit(result))


def test_mutual_information_hand_computed():
    # Two confident samples that disagree: H[mean] = log 2, mean H = 0.
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(mutual_information(disagree), [math.log(2)])
    # Identical samples: no model uncertainty, whatever their entropy.
    agree = np.array([[[0.3, 0.7]], [[0.3, 0.7]]])
    np.testing.assert_array_equal(mutual_information(agree), [0.0])
    # Mixed: samples (0.5, 0.5) and (1, 0): mean (0.75, 0.25).
    mixed = np.array([[0.5, 0.5], [1.0, 0.0]])
    total = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    expected = total - 0.5 * (math.log(2) + 0.0)
    assert mutual_information(mixed) == pytest.approx(expected)


def test_mutual_information_shape():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(10, 7, 3))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    result = mutual_information(probs)
    assert result.shape == (7,)
    assert np.all(result >= 0)
    assert np.all(result <= predictive_entropy(probs.mean(0)) + 1e-12)


def test_ece_hand_computed():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.7, 0.3], [0.7, 0.3]])
    labels = np.array([0, 1, 0, 0])
    # bins of width 0.2: (0.8, 1]: acc 0.5, conf 0.9; (0.6, 0.8]: acc 1, conf 0.7.
    assert expected_calibration_error(probs, labels, bins=5) == pytest.approx(0.35)
    # one bin: acc 0.75, mean confidence 0.8.
    assert expected_calibration_error(probs, labels, bins=1) == pytest.approx(0.05)
    one_hot = np.eye(2)[labels]
    assert expected_calibration_error(probs, one_hot, bins=5) == pytest.approx(0.35)


def test_ece_perfectly_calibrated_and_confident():
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert expected_calibration_error(probs, [0, 2]) == 0.0
    assert expected_calibration_error(probs, [1, 1]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: predictive_entropy(np.array([0.5, 0.6])), "probs"),
        (lambda: predictive_entropy(np.array([1.5, -0.5])), "probs"),
        (lambda: predictive_entropy(np.array([np.nan, 1.0])), "probs"),
        (lambda: mutual_information(np.array([0.5, 0.5])), "sample_probs"),
        (lambda: expected_calibration_error(np.array([0.5, 0.5]), [0]), "probs"),
        (lambda: expected_calibration_error(np.eye(2), [0, 2]), "labels"),
        (lambda: expected_calibration_error(np.eye(2), [0.0, 1.0]), "labels"),
        (lambda: expected_calibration_error(np.eye(2), [0]), "labels"),
        (lambda: expected_calibration_error(np.eye(2), [0, 1], bins=0), "bins"),
        (lambda: expected_calibration_error(np.eye(2), [0, 1], bins=2.0), "bins"),
    ],
)
def test_bad_inputs(call, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        call()
