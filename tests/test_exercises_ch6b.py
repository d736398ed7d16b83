"""The checkers of chapter 6b's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.exercises.ch6b import (
    check_scaled_rates,
    check_two_batch_noise_scale,
    scaled_rates_reference,
    two_batch_noise_scale_reference,
)
from lrcourse.schedules import Constant, Warmup

# ---------------------------------------------------------------- the two-batch estimate of B_simple


def good_noise_scale(small, big, b_small, b_big):
    g2 = (b_big * np.mean(big) - b_small * np.mean(small)) / (b_big - b_small)
    trace = (np.mean(small) - np.mean(big)) / (1 / b_small - 1 / b_big)
    return trace / g2


def test_two_batch_reference_by_hand():
    # |G|² = 1, tr Σ = 4 in expectation: B_simple = 4 exactly; two pairs average before the ratio
    assert two_batch_noise_scale_reference(np.array([3.0]), np.array([1.5]), 2, 8) == pytest.approx(4.0, rel=1e-15)
    small, big = np.array([3.0, 5.0]), np.array([1.5, 1.0])
    g2 = (8 * big.mean() - 2 * small.mean()) / 6
    trace = (small.mean() - big.mean()) / (1 / 2 - 1 / 8)
    assert two_batch_noise_scale_reference(small, big, 2, 8) == pytest.approx(trace / g2, rel=1e-15)


def test_two_batch_right_answers_pass():
    assert check_two_batch_noise_scale(good_noise_scale)
    # the same sums written per pair, then averaged
    assert check_two_batch_noise_scale(lambda s, b, bs, bb: np.mean((np.asarray(s) - b) / (1 / bs - 1 / bb))
                                       / np.mean((bb * np.asarray(b) - bs * np.asarray(s)) / (bb - bs)))


def mean_of_ratios(small, big, b_small, b_big):
    small, big = np.asarray(small), np.asarray(big)
    g2 = (b_big * big - b_small * small) / (b_big - b_small)
    trace = (small - big) / (1 / b_small - 1 / b_big)
    return float(np.mean(trace / g2))


@pytest.mark.parametrize("wrong, what", [
    (mean_of_ratios, "the mean of the ratios"),
    (lambda s, b, bs, bb: (np.mean(s) - np.mean(b)) / (1 / bs - 1 / bb) / np.mean(b), "|G_big|² as |G|²"),
    (lambda s, b, bs, bb: (np.mean(s) - np.mean(b)) / (1 / bs - 1 / bb), "the trace, not divided"),
    (lambda s, b, bs, bb: good_noise_scale(b, s, bs, bb), "the norms swapped"),
    (lambda s, b, bs, bb: 1 / good_noise_scale(s, b, bs, bb), "|G|² / tr Σ"),
    (lambda s, b, bs, bb: (np.mean(s) - np.mean(b)) / (bb - bs)
     / ((bb * np.mean(b) - bs * np.mean(s)) / (bb - bs)), "B_big − B_small for 1/B_small − 1/B_big"),
])
def test_two_batch_wrong_answers_are_reported(wrong, what):
    with np.errstate(divide="ignore", invalid="ignore"):
        result = check_two_batch_noise_scale(wrong)
    assert not result, what
    assert "disagrees with the reference" in result.message
    assert "Hint:" in result.message


def test_two_batch_checker_reports_exceptions_missing_returns_and_starters():
    assert "return" in check_two_batch_noise_scale(lambda s, b, bs, bb: None).message
    assert "raised ZeroDivisionError" in check_two_batch_noise_scale(lambda s, b, bs, bb: 1 / 0).message

    def starter(small, big, b_small, b_big):
        raise NotImplementedError("write your code here")

    assert check_two_batch_noise_scale(starter).status == "not attempted"


def test_two_batch_cases_are_noisy_enough_to_tell_the_ratios_apart():
    seen = []

    def spy(small, big, b_small, b_big):
        seen.append(len(np.atleast_1d(small)))
        return good_noise_scale(small, big, b_small, b_big)

    assert check_two_batch_noise_scale(spy)
    assert seen[0] == 1 and max(seen) > 10


# ---------------------------------------------------------------- the scaled, warmed-up rate


def good_rates(steps, lr, base, per_worker, workers, rule, warmup_epochs, n_train):
    global_batch = workers * per_worker
    ratio = global_batch / base
    peak = lr * (ratio if rule == "linear" else math.sqrt(ratio))
    warmup = math.ceil(warmup_epochs * n_train / global_batch)
    steps = np.asarray(steps, dtype=float)
    return np.where(steps < warmup, peak * steps / max(warmup, 1), peak)


def test_scaled_rates_reference_by_hand():
    # Goyal et al.: 0.1 per 256 images, 8k images a step: 3.2, warmed up over 5 epochs of ImageNet (782 steps)
    rates = scaled_rates_reference(np.array([0, 391, 782, 900]), 0.1, 256, 32, 256, "linear", 5.0, 1_281_167)
    assert rates == pytest.approx([0.0, 3.2 * 391 / 782, 3.2, 3.2], rel=1e-14)
    rates = scaled_rates_reference(np.arange(3), 1e-3, 64, 16, 16, "sqrt", 0.0, 1_000)  # no warmup: 4x the batch
    assert rates == pytest.approx([2e-3] * 3, rel=1e-14)
    expected = Warmup(Constant(0.4), 3)(np.arange(5))  # 4 workers x 8 = 32 from 8: 0.1 -> 0.4; 1 epoch of 96
    assert scaled_rates_reference(np.arange(5), 0.1, 8, 8, 4, "linear", 1.0, 96) == pytest.approx(expected)


def test_scaled_rates_right_answer_passes():
    assert check_scaled_rates(good_rates)


@pytest.mark.parametrize("wrong, what", [
    (lambda t, lr, base, b, N, rule, E, n: good_rates(t, lr, base, b, 1, rule, E, n), "the per-worker batch"),
    (lambda t, lr, base, b, N, rule, E, n: good_rates(t, lr, base, b, N, "linear", E, n), "linear for Adam"),
    (lambda t, lr, base, b, N, rule, E, n: good_rates(t, lr, base, b, N, rule, 0.0, n), "no warmup"),
    (lambda t, lr, base, b, N, rule, E, n: np.where(np.asarray(t) < math.ceil(E * n / base),
                                                    good_rates(t, lr, base, b, N, rule, 0.0, n)
                                                    * np.asarray(t) / max(math.ceil(E * n / base), 1),
                                                    good_rates(t, lr, base, b, N, rule, 0.0, n)),
     "warmup counted in steps of the base batch"),
    (lambda t, lr, base, b, N, rule, E, n: good_rates(np.asarray(t) + 1, lr, base, b, N, rule, E, n),
     "warmup starting at 1/W, not 0"),
])
def test_scaled_rates_wrong_answers_are_reported(wrong, what):
    result = check_scaled_rates(wrong)
    assert not result, what
    assert "Hint:" in result.message


@pytest.mark.parametrize("n", [0, 1, 1.5])
def test_checkers_reject_a_bad_number_of_cases(n):
    with pytest.raises(ValueError, match="n must be an integer >="):
        check_scaled_rates(good_rates, n=n)
    if n != 1:
        with pytest.raises(ValueError, match="n must be an integer >="):
            check_two_batch_noise_scale(good_noise_scale, n=n)
