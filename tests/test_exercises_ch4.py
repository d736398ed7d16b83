"""The checkers of chapter 4's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse.exercises.ch4 import (
    check_debiased_ema,
    check_steepest,
    check_triangular,
    steepest_reference,
    triangular_reference,
)
from lrcourse.range_test import steep

# ---------------------------------------------------------------- triangular


def good_triangular(t, base_lr, max_lr, step_size):
    t = np.asarray(t, dtype=np.float64)
    cycle = np.floor(1 + t / (2 * step_size))
    x = np.abs(t / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * np.maximum(0.0, 1 - x)


def test_triangular_reference_is_smiths_formula():
    # Smith (2017), section 3.1, written independently of Cyclic.
    t = np.arange(0, 1000)
    np.testing.assert_allclose(triangular_reference(t, 0.001, 0.1, 37), good_triangular(t, 0.001, 0.1, 37),
                               rtol=1e-12)
    np.testing.assert_allclose(triangular_reference(np.array([0, 2, 4, 6]), 0.1, 1.0, 2), [0.1, 1.0, 0.1, 1.0])


def test_triangular_right_answers_pass():
    assert check_triangular(good_triangular)

    def with_modulo(t, base_lr, max_lr, step_size):  # another right way: the distance to the last trough
        position = np.mod(np.asarray(t, dtype=np.float64), 2 * step_size)
        return base_lr + (max_lr - base_lr) * (1 - np.abs(position - step_size) / step_size)

    assert check_triangular(with_modulo)


@pytest.mark.parametrize("wrong, what", [
    (lambda t, b, m, s: b + (m - b) * np.maximum(0.0, 1 - np.abs(np.asarray(t) / s - 2 * np.floor(1 + np.asarray(t) / s) + 1)),
     "cycle length s instead of 2s"),
    (lambda t, b, m, s: m - (m - b) * good_triangular(t, 0.0, 1.0, s), "starts at the top"),
    (lambda t, b, m, s: b + (m - b) * np.mod(np.asarray(t), 2 * s) / (2 * s), "a sawtooth, not a triangle"),
    (lambda t, b, m, s: good_triangular(np.asarray(t) + 1, b, m, s), "steps counted from 1"),
    (lambda t, b, m, s: b + m * good_triangular(t, 0.0, 1.0, s), "amplitude max_lr instead of max_lr - base_lr"),
])
def test_triangular_wrong_answers_are_reported_with_values(wrong, what):
    result = check_triangular(wrong)
    assert not result, what
    assert "disagrees with the reference" in result.message and "Hint:" in result.message


def test_triangular_a_scalar_only_answer_is_reported_not_raised():
    def scalar_only(t, base_lr, max_lr, step_size):
        return good_triangular(int(t), base_lr, max_lr, step_size)

    result = check_triangular(scalar_only)
    assert not result and "raised TypeError" in result.message


def test_the_starter_cell_reports_not_implemented():
    def starter(*args):
        raise NotImplementedError("write your code here")

    for checker, name in ((check_triangular, "triangular"), (check_debiased_ema, "debiased_ema"),
                          (check_steepest, "steepest")):
        result = checker(starter)
        assert not result
        assert result.status == "not attempted" and result.message.startswith(f"○ {name}: not attempted yet.")


# ---------------------------------------------------------------- the debiased EMA


def good_ema(losses, beta):
    average, out = 0.0, []
    for t, loss in enumerate(np.asarray(losses, dtype=np.float64), start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta**t))
    return np.array(out)


def test_debiased_ema_right_answer_passes():
    assert check_debiased_ema(good_ema)

    def weighted(losses, beta):  # the closed form: a weighted mean of the losses so far
        losses = np.asarray(losses, dtype=np.float64)
        return np.array([np.average(losses[: t + 1], weights=beta ** np.arange(t, -1, -1.0))
                         for t in range(len(losses))])

    assert check_debiased_ema(weighted)


def no_debias(losses, beta):
    average, out = 0.0, []
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        out.append(average)
    return np.array(out)


def power_off_by_one(losses, beta):  # Lightning #14167: the wrong power of beta
    average, out = 0.0, []
    for t, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (t + 2)))
    return np.array(out)


def started_at_first_loss(losses, beta):  # a_0 = ℓ_1, then debiased anyway
    average, out = float(losses[0]), []
    for t, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta**t))
    return np.array(out)


def weights_swapped(losses, beta):
    average, out = 0.0, []
    for t, loss in enumerate(losses, start=1):
        average = (1 - beta) * average + beta * loss
        out.append(average / (1 - (1 - beta) ** t) if beta < 1 else average)
    return np.array(out)


@pytest.mark.parametrize("wrong", [no_debias, power_off_by_one, started_at_first_loss, weights_swapped])
def test_debiased_ema_wrong_answers_are_reported(wrong):
    result = check_debiased_ema(wrong)
    assert not result, wrong.__name__
    assert "disagrees with the reference" in result.message and "Hint:" in result.message


def test_debiased_ema_in_place_is_caught():
    def in_place(losses, beta):
        out = good_ema(losses, beta)
        losses[:] = out
        return out

    result = check_debiased_ema(in_place)
    assert not result and "in place" in result.message


# ---------------------------------------------------------------- the steepest point


def good_steepest(lrs, smoothed):
    slopes = np.diff(smoothed) / np.diff(np.log(lrs))
    return float(lrs[np.argmin(slopes)])


def test_steepest_right_answers_pass():
    assert check_steepest(good_steepest)
    assert check_steepest(lambda lrs, s: float(lrs[np.argmin(np.diff(s) / np.diff(np.log10(lrs)))]))  # any log base


@pytest.mark.parametrize("wrong, what", [
    (lambda lrs, s: float(lrs[np.argmin(np.diff(s) / np.diff(lrs))]), "slope against α, not log α"),
    (lambda lrs, s: float(lrs[np.argmin(np.diff(s) / np.diff(np.log(lrs))) + 1]), "end of the segment"),
    (lambda lrs, s: float(lrs[np.argmin(s)]), "the minimum, not the steepest point"),
    (lambda lrs, s: float(lrs[np.argmin(np.gradient(s, np.log(lrs)))]), "central differences"),
    (lambda lrs, s: float(lrs[np.argmax(np.diff(s) / np.diff(np.log(lrs)))]), "steepest rise"),
])
def test_steepest_wrong_answers_are_reported(wrong, what):
    result = check_steepest(wrong)
    assert not result, what
    assert "Hint:" in result.message


def test_steepest_reference_agrees_with_the_package_rule_on_a_curve_that_only_falls():
    lrs = np.geomspace(1e-6, 1.0, 60)
    for centre in (-4.0, -2.5, -1.0):
        falling = 2.3 - 2.0 / (1 + np.exp(-2.0 * (np.log10(lrs) - centre)))
        assert steepest_reference(lrs, falling) == pytest.approx(steep(lrs, falling), rel=1e-12)
