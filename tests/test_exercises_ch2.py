"""The checkers of chapter 2's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse.exercises.ch2 import (
    check_gamma_for_half_life,
    check_time_decay,
    check_warmup_cosine,
    gamma_for_half_life_reference,
    warmup_cosine_reference,
)
from lrcourse.schedules import TimeDecay

# ---------------------------------------------------------------- time decay


def good_time_decay(t, lr, gamma, power):
    return lr * (1.0 + gamma * np.asarray(t, dtype=float)) ** (-power)


def test_time_decay_right_answers_pass():
    assert check_time_decay(good_time_decay)
    looped = lambda t, lr, gamma, power: np.array(  # noqa: E731  (a loop is slow, but right)
        [lr / (1 + gamma * s) ** power for s in np.ravel(t)]).reshape(np.shape(t))
    assert check_time_decay(looped)


@pytest.mark.parametrize("wrong, what", [
    (lambda t, lr, gamma, power: lr / (1 + gamma * t), "power ignored"),
    (lambda t, lr, gamma, power: lr * (1 + gamma) ** (-power * t), "exponential, not time decay"),
    (lambda t, lr, gamma, power: lr * (1 + gamma * t) ** power, "sign of the power"),
    (lambda t, lr, gamma, power: lr * (1 + gamma * (t + 1)) ** (-power), "steps counted from 1"),
])
def test_time_decay_wrong_answers_are_reported_with_values(wrong, what):
    result = check_time_decay(wrong)
    assert not result, what
    assert "disagrees with the reference" in result.message
    assert "the largest difference is" in result.message
    assert "Hint:" in result.message


def test_time_decay_a_scalar_only_answer_is_reported_not_raised():
    result = check_time_decay(lambda t, lr, gamma, power: lr * (1 + gamma * int(t)) ** (-power))
    assert not result and "raised TypeError" in result.message


def test_time_decay_cases_include_two_dimensional_steps():
    seen = []

    def spy(t, lr, gamma, power):
        seen.append(np.shape(t))
        return good_time_decay(t, lr, gamma, power)

    assert check_time_decay(spy)
    assert any(len(shape) == 2 for shape in seen)


def test_the_starter_cell_reports_not_implemented():
    def starter(t, lr, gamma, power):
        raise NotImplementedError("write your code here")

    result = check_time_decay(starter)
    assert not result
    assert result.status == "not attempted" and result.message.startswith("○ time_decay: not attempted yet.")


# ------------------------------------------------------------- warmup + cosine


def good_warmup_cosine(t, peak, warmup_steps, total_steps):
    t = np.asarray(t, dtype=float)
    since = np.minimum(t - warmup_steps, total_steps - warmup_steps)
    cosine = peak * (1 + np.cos(np.pi * since / (total_steps - warmup_steps))) / 2
    return np.where(t < warmup_steps, peak * t / warmup_steps, cosine)


def test_warmup_cosine_right_answer_passes():
    assert check_warmup_cosine(good_warmup_cosine)


def test_warmup_cosine_reference_shape():
    lrs = warmup_cosine_reference(np.array([0, 2, 4, 7, 10, 20]), 1.0, 4, 10)
    np.testing.assert_allclose(lrs, [0.0, 0.5, 1.0, 0.5, 0.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("wrong, what", [
    # the cosine on the global clock: it starts below the peak at t = W
    (lambda t, p, W, T: np.where(t < W, p * t / W, p * (1 + np.cos(np.pi * np.minimum(t, T) / T)) / 2), "global clock"),
    # no cap: the cosine rises again after T, like torch's CosineAnnealingLR
    (lambda t, p, W, T: np.where(t < W, p * t / W, p * (1 + np.cos(np.pi * (t - W) / (T - W))) / 2), "no cap at T"),
    # the warmup reaches the peak one step early
    (lambda t, p, W, T: np.where(t < W, p * (t + 1) / W, good_warmup_cosine(t, p, W, T)), "off by one in the ramp"),
])
def test_warmup_cosine_usual_mistakes_fail(wrong, what):
    result = check_warmup_cosine(wrong)
    assert not result, what
    assert "disagrees with the reference" in result.message and "Hint:" in result.message


def test_warmup_cosine_cases_contain_every_boundary():
    seen = []

    def spy(t, peak, warmup_steps, total_steps):
        seen.append((set(np.asarray(t).tolist()), warmup_steps, total_steps))
        return good_warmup_cosine(t, peak, warmup_steps, total_steps)

    assert check_warmup_cosine(spy)
    for steps, W, T in seen[1:]:
        assert {0, W - 1, W, W + 1, T - 1, T, T + 1} <= steps


# ------------------------------------------------------------------- half life


@pytest.mark.parametrize("t_half, power", [(1.0, 1.0), (100.0, 0.5), (1234.0, 2.0), (10.0, 0.1)])
def test_the_reference_gamma_halves_time_decay(t_half, power):
    gamma = gamma_for_half_life_reference(t_half, power)
    assert TimeDecay(0.3, gamma=gamma, power=power)(t_half) == pytest.approx(0.15, rel=1e-12)


def test_gamma_for_half_life_right_and_wrong():
    assert check_gamma_for_half_life(lambda t_half, power: (2 ** (1 / power) - 1) / t_half)
    wrong = check_gamma_for_half_life(lambda t_half, power: 1 / t_half)  # right only for power = 1
    assert not wrong and "case 2 of 20" in wrong.message
    inverted = check_gamma_for_half_life(lambda t_half, power: (2 ** power - 1) / t_half)
    assert not inverted


# ----------------------------------------------------------------- n and seed


@pytest.mark.parametrize("checker, good", [
    (check_time_decay, good_time_decay),
    (check_warmup_cosine, good_warmup_cosine),
    (check_gamma_for_half_life, lambda t_half, power: (2 ** (1 / power) - 1) / t_half),
])
def test_the_number_of_cases_and_the_seed_can_be_chosen(checker, good):
    assert checker(good, n=1).message.endswith("on all 1 random cases.")
    assert checker(good, n=50, seed=11).message.endswith("on all 50 random cases.")
    with pytest.raises(ValueError, match="n must be"):
        checker(good, n=0)
