"""The site's one verdict rule, as the tutorials apply it.

Every tutorial that decides a claim of the dropout article pastes the code
below (everything after this docstring) into one code cell tagged
`verdict-rule`, so that a reader who downloads a single notebook has it, and
`tests/test_verdict_rule.py` checks that every copy is this text. The
Evidence page states the rule in words and shows this code.
"""

import numpy as np


def paired_difference(a, b):
    # The mean over seeds of the differences a[i] - b[i], where a[i] and b[i]
    # come from the same seed, and its standard error (nan with one seed).
    diff = np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")
    if diff.size < 2:
        return float(diff.mean()), float("nan")
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))


def paired(a, b, direction):
    # The claim: a - b has the sign of `direction` (+1 or -1), seed by seed.
    # Returns the mean difference over seeds, its standard error and the
    # verdict: "held" when the mean goes the claimed way by more than 2
    # standard errors, "did not hold" when it goes the other way by more
    # than 2, "inconclusive" in between (and always with a single seed,
    # which has no standard error).
    mean, se = paired_difference(a, b)
    if np.isnan(se):
        return mean, se, "inconclusive"
    if direction * mean > 2 * se:
        return mean, se, "held"
    if direction * mean < -2 * se:
        return mean, se, "did not hold"
    return mean, se, "inconclusive"


def equivalent(a, b, margin):
    # The claim: a and b do not differ by more than `margin`. "held" when the
    # mean paired difference is within the margin by at least 2 standard
    # errors, "did not hold" when it is beyond the margin by more than 2,
    # "inconclusive" otherwise (and always with a single seed).
    mean, se = paired_difference(a, b)
    if np.isnan(se):
        return mean, se, "inconclusive"
    if abs(mean) + 2 * se <= margin:
        return mean, se, "held"
    if abs(mean) - 2 * se > margin:
        return mean, se, "did not hold"
    return mean, se, "inconclusive"


def combine(verdicts):
    # A claim tested in several settings, or made of several parts: "held"
    # when every one held, "partly" when some held, "did not hold" when none
    # held and at least one did not hold, "inconclusive" when all were.
    verdicts = list(verdicts)
    if verdicts and all(v == "held" for v in verdicts):
        return "held"
    if "held" in verdicts:
        return "partly"
    if "did not hold" in verdicts:
        return "did not hold"
    return "inconclusive"
