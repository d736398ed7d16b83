"""The checkers of chapter 5's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from lrcourse.exercises.ch5 import (
    balanced_accuracy_reference,
    check_balanced_accuracy,
    check_window_width,
    window_width_reference,
)

# ---------------------------------------------------------------- balanced accuracy


def good_balanced(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.mean([np.mean(y_pred[y_true == c] == c) for c in range(n_classes) if np.any(y_true == c)])


def test_balanced_accuracy_reference_is_scikit_learns():
    rng = np.random.default_rng(0)
    for _ in range(10):
        y_true = rng.integers(0, 5, size=80)
        y_pred = rng.integers(0, 5, size=80)
        assert balanced_accuracy_reference(y_true, y_pred, 5) == pytest.approx(
            balanced_accuracy_score(y_true, y_pred), abs=1e-15)


def test_balanced_accuracy_right_answers_pass():
    assert check_balanced_accuracy(good_balanced)
    with warnings.catch_warnings():  # scikit-learn warns when y_pred has a class absent from y_true
        warnings.simplefilter("ignore", UserWarning)
        assert check_balanced_accuracy(lambda t, p, n: balanced_accuracy_score(t, p))  # scikit-learn's own


@pytest.mark.parametrize("wrong, what", [
    (lambda t, p, n: np.mean(np.asarray(t) == np.asarray(p)), "plain accuracy"),
    (lambda t, p, n: np.mean([np.mean(np.asarray(t)[np.asarray(p) == c] == c) if np.any(np.asarray(p) == c) else 0.0
                              for c in range(n)]), "precision instead of recall"),
    (lambda t, p, n: np.mean([np.mean(np.asarray(p)[np.asarray(t) == c] == c) if np.any(np.asarray(t) == c) else 0.0
                              for c in range(n)]), "an absent class counted as 0"),
    (lambda t, p, n: np.mean(np.asarray(p)[np.asarray(t) == n - 1] == n - 1), "the last class only"),
])
def test_balanced_accuracy_wrong_answers_are_reported(wrong, what):
    with np.errstate(invalid="ignore"):
        result = check_balanced_accuracy(wrong)
    assert not result, what
    assert "disagrees with the reference" in result.message
    assert "Hint:" in result.message


def test_balanced_accuracy_checker_reports_exceptions_and_missing_returns():
    result = check_balanced_accuracy(lambda t, p, n: None)
    assert not result and "return" in result.message
    result = check_balanced_accuracy(lambda t, p, n: 1 / 0)
    assert not result and "raised ZeroDivisionError" in result.message


def test_balanced_accuracy_cases_include_a_missing_class_and_imbalance():
    seen = []

    def spy(y_true, y_pred, n_classes):
        seen.append((np.asarray(y_true).copy(), n_classes))
        return good_balanced(y_true, y_pred, n_classes)

    assert check_balanced_accuracy(spy)
    assert any(len(np.unique(t)) < n for t, n in seen)  # some class absent from y_true
    shares = [np.bincount(t, minlength=n) / len(t) for t, n in seen]
    assert any(s.max() > 0.5 for s in shares)  # strongly imbalanced cases


# ---------------------------------------------------------------- window width


def width_around_best(rates, scores, tolerance):
    # Walk left and right from the best score while the scores stay good; decades between the ends.
    rates = np.asarray(rates, dtype=float)
    best = int(np.argmax(scores))
    good = scores >= scores[best] - tolerance
    low = high = best
    while low > 0 and good[low - 1]:
        low -= 1
    while high < len(rates) - 1 and good[high + 1]:
        high += 1
    return float(np.log10(rates[high] / rates[low]))


def good_width(rates, scores, tolerance):
    return width_around_best(rates, np.where(np.isfinite(scores), scores, -np.inf), tolerance)


def test_window_width_reference_on_a_hand_made_sweep():
    rates = np.geomspace(1e-3, 10, 9)
    scores = np.array([0.2, 0.9, 0.95, 0.96, 0.97, 0.3, 0.965, 0.1, 0.1])
    assert window_width_reference(rates, scores, 0.02) == pytest.approx(1.0)  # rates[2] to rates[4]


def test_window_width_right_answer_passes():
    assert check_window_width(good_width)


def all_good(rates, scores, tolerance):  # every good rate, also those cut off from the best
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    good = np.flatnonzero(scores >= scores.max() - tolerance)
    return float(np.log10(rates[good[-1]] / rates[good[0]]))


@pytest.mark.parametrize("wrong, what", [
    (all_good, "good rates beyond a bad one counted"),
    (lambda r, s, tol: float(np.log10(r[-1] / r[0])), "the whole grid"),
    (lambda r, s, tol: float(np.log(r[-1] / r[0])), "natural logarithm of the grid"),
    (lambda r, s, tol: good_width(r, s, tol) * np.log(10), "natural logarithm"),
    (lambda r, s, tol: float(np.sum(np.nan_to_num(s) >= np.nanmax(s) - tol) - 1), "counts rates, not decades"),
])
def test_window_width_wrong_answers_are_reported(wrong, what):
    result = check_window_width(wrong)
    assert not result, what
    assert "Hint:" in result.message


def test_window_width_nan_unaware_answer_is_caught():
    # np.argmax picks a NaN as the best
    with np.errstate(invalid="ignore"):
        assert not check_window_width(width_around_best)


@pytest.mark.parametrize("n", [0, 1, 1.5])
def test_checkers_reject_a_bad_number_of_cases(n):
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        check_balanced_accuracy(good_balanced, n=n)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        check_window_width(good_width, n=n)
