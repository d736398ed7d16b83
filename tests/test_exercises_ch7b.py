"""The checkers of chapter 7 part II's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse.exercises.ch7b import (
    check_largest_stable_rate,
    check_mup_rates,
    largest_stable_rate_reference,
    mup_rates_reference,
)

# ---------------------------------------------------------------- μP's rates

SCALES = {"sgd": [1, 1, 0, 1, 1, 0], "adam": [0, 0, -1, 0, 0, 0]}  # powers of m, in the groups' order


def good_mup(lr, width, base_width, optimizer):
    return lr * (width / base_width) ** np.array(SCALES[optimizer], dtype=float)


def test_mup_reference_by_hand():
    np.testing.assert_allclose(mup_rates_reference(0.01, 128, 32, "adam"), [0.01, 0.01, 0.0025, 0.01, 0.01, 0.01])
    np.testing.assert_allclose(mup_rates_reference(0.1, 64, 32, "sgd"), [0.2, 0.2, 0.1, 0.2, 0.2, 0.1])
    np.testing.assert_allclose(mup_rates_reference(0.3, 32, 32, "sgd"), [0.3] * 6)


def test_mup_right_answer_passes():
    assert check_mup_rates(good_mup)


@pytest.mark.parametrize("wrong, what", [
    (lambda lr, w, b, o: lr * np.ones(6), "one rate for all (standard parametrization)"),
    (lambda lr, w, b, o: good_mup(lr, w, b, "adam"), "Adam's table for SGD too"),
    (lambda lr, w, b, o: good_mup(lr, w, b, "sgd"), "SGD's table for Adam too"),
    (lambda lr, w, b, o: lr * (w / b) ** -np.array(SCALES[o], dtype=float), "the powers' signs flipped"),
    (lambda lr, w, b, o: lr * (w / b) ** (np.array(SCALES[o], dtype=float) / 2), "sqrt(m) for m"),
])
def test_mup_wrong_answers_are_reported(wrong, what):
    result = check_mup_rates(wrong)
    assert not result, what
    assert "m = width / base_width" in result.message


def test_mup_starter_is_not_attempted():
    def starter(lr, width, base_width, optimizer):
        raise NotImplementedError("write your code here")

    result = check_mup_rates(starter)
    assert not result and result.status == "not attempted"


def test_cases_cover_both_optimizers_and_widths():
    seen = []

    def spy(lr, width, base_width, optimizer):
        seen.append((width // base_width, optimizer))
        return good_mup(lr, width, base_width, optimizer)

    assert check_mup_rates(spy)
    assert {o for _, o in seen} == {"sgd", "adam"} and {m for m, _ in seen} >= {1, 4, 8}


# ---------------------------------------------------------------- the largest stable rate


def good_stable(rates, losses, initial_loss):
    losses = np.asarray(losses, dtype=float)
    ok = np.isfinite(losses) & (losses < initial_loss)
    return float(np.asarray(rates)[ok].max()) if ok.any() else 0.0


def test_stable_reference_by_hand():
    grid = [0.001, 0.01, 0.1, 1.0]
    assert largest_stable_rate_reference(grid, [2.0, 1.5, 2.5, np.nan], 3.6) == 0.1
    assert largest_stable_rate_reference(grid, [2.0, 1.5, 3.7, 2.9], 3.6) == 1.0
    assert largest_stable_rate_reference(grid, [3.7, np.inf, 3.6, np.nan], 3.6) == 0.0


def test_stable_right_answer_passes():
    assert check_largest_stable_rate(good_stable)


def _before_first_failure(rates, losses, initial_loss):
    losses = np.asarray(losses, dtype=float)
    ok = np.isfinite(losses) & (losses < initial_loss)
    if not ok[0]:
        return 0.0
    return float(np.asarray(rates)[: np.argmin(ok) if not ok.all() else len(ok)].max())


@pytest.mark.parametrize("wrong, what", [
    (_before_first_failure, "stops at the first failure"),
    (lambda r, l, i: float(np.asarray(r)[np.nanargmin(np.where(np.isfinite(l), l, np.nan))]), "the best rate"),
    (lambda r, l, i: float(np.asarray(r)[np.asarray(l) <= i].max()) if (np.asarray(l) <= i).any() else 0.0,
     "at most the start, not below it"),
    (lambda r, l, i: float(np.flatnonzero(np.isfinite(l) & (np.asarray(l) < i)).max())
     if (np.isfinite(l) & (np.asarray(l) < i)).any() else 0.0, "the index, not the rate"),
])
def test_stable_wrong_answers_are_reported(wrong, what):
    result = check_largest_stable_rate(wrong)
    assert not result, what
    assert "strictly below" in result.message
