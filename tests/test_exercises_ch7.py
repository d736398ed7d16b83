"""The checkers of chapter 7's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse.exercises.ch7 import (
    check_schedule_free_average,
    check_wsd_rates,
    schedule_free_average_reference,
    wsd_rates_reference,
)

# ---------------------------------------------------------------- WSD rates


def good_wsd(steps, lr, total, warmup, decay_steps, decay):
    t = np.asarray(steps, dtype=float)
    start = total - decay_steps
    p = np.clip((t - start) / decay_steps, 0, 1)
    shape = {"linear": 1 - p, "cosine": (1 + np.cos(np.pi * p)) / 2, "1-sqrt": 1 - np.sqrt(p)}[decay]
    rate = np.where(t < start, lr, lr * shape)
    return np.where(t < warmup, lr * t / max(warmup, 1), rate)


def test_wsd_reference_by_hand():
    rates = wsd_rates_reference(np.array([0, 1, 2, 5, 6, 7, 8, 9, 10, 20]), 1.0, 10, 2, 4, "linear")
    np.testing.assert_allclose(rates, [0, 0.5, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0], rtol=0, atol=1e-15)
    rates = wsd_rates_reference(np.array([80, 81, 84, 100]), 0.5, 100, 0, 20, "1-sqrt")
    np.testing.assert_allclose(rates, [0.5, 0.5 * (1 - np.sqrt(1 / 20)), 0.5 * (1 - np.sqrt(4 / 20)), 0.0])


def test_wsd_right_answer_passes():
    assert check_wsd_rates(good_wsd)


def _sqrt_of_rest(steps, lr, total, warmup, decay_steps, decay):
    if decay != "1-sqrt":
        return good_wsd(steps, lr, total, warmup, decay_steps, decay)
    t = np.asarray(steps, dtype=float)
    p = np.clip((t - (total - decay_steps)) / decay_steps, 0, 1)
    return np.where(t < warmup, lr * t / max(warmup, 1), np.where(p > 0, lr * np.sqrt(1 - p), lr))


@pytest.mark.parametrize("wrong, what", [
    (lambda s, lr, T, W, D, k: good_wsd(s, lr, T, W, D - 1, k) if D > 1 else good_wsd(s, lr, T, W, D, k) * 2,
     "the cooldown one step late"),
    (lambda s, lr, T, W, D, k: good_wsd(np.asarray(s) + 1, lr, T, W, D, k), "the rate of the next step"),
    (_sqrt_of_rest, "sqrt(1 − p) for 1 − sqrt(p)"),
    (lambda s, lr, T, W, D, k: np.where(np.asarray(s) < W, lr * (np.asarray(s) + 1) / max(W, 1),
                                        good_wsd(s, lr, T, W, D, k)), "a warmup from lr / W"),
    (lambda s, lr, T, W, D, k: np.where(np.asarray(s) >= T, lr, good_wsd(s, lr, T, W, D, k)), "lr after T"),
])
def test_wsd_wrong_answers_are_reported(wrong, what):
    result = check_wsd_rates(wrong)
    assert not result, what
    assert "p = (t − S) / decay_steps" in result.message


# ---------------------------------------------------------------- schedule-free average


def good_average(zs, lrs):
    w = np.maximum.accumulate(np.asarray(lrs)) ** 2
    return np.tensordot(w, zs, axes=1) / w.sum()


def test_average_reference_by_hand():
    np.testing.assert_allclose(schedule_free_average_reference(np.arange(1.0, 5.0).reshape(4, 1), np.full(4, 0.1)),
                               [2.5])
    # rates 1, 2, 1: weights 1, 4, 4 (the running maximum), z = 0, 1, 2 -> (0 + 4 + 8) / 9
    np.testing.assert_allclose(schedule_free_average_reference(np.array([[0.0], [1.0], [2.0]]),
                                                               np.array([1.0, 2.0, 1.0])), [12 / 9], rtol=1e-14)


def test_average_right_answers_pass():
    assert check_schedule_free_average(good_average)

    def recursion(zs, lrs):  # the running form, as the optimizer keeps it
        x, total, top = 0.0, 0.0, 0.0
        for z, lr in zip(zs, lrs):
            top = max(top, lr)
            total += top ** 2
            x = x + (top ** 2 / total) * (z - x)
        return x
    assert check_schedule_free_average(recursion)


@pytest.mark.parametrize("wrong, what", [
    (lambda zs, lrs: np.mean(zs, axis=0), "the plain mean"),
    (lambda zs, lrs: np.tensordot(np.asarray(lrs) ** 2, zs, axes=1) / np.sum(np.asarray(lrs) ** 2),
     "the rate, not its running maximum"),
    (lambda zs, lrs: np.tensordot(np.maximum.accumulate(lrs), zs, axes=1) / np.sum(np.maximum.accumulate(lrs)),
     "w = max rate, not squared"),
    (lambda zs, lrs: zs[-1], "the last z"),
    (lambda zs, lrs: good_average(np.vstack([np.zeros_like(zs[:1]), zs[:-1]]), lrs), "z_{t-1} for z_t"),
])
def test_average_wrong_answers_are_reported(wrong, what):
    result = check_schedule_free_average(wrong)
    assert not result, what
    assert "largest rate so far" in result.message


@pytest.mark.parametrize("checker", [check_wsd_rates, check_schedule_free_average])
def test_checkers_report_exceptions_missing_returns_and_starters(checker):
    assert "return" in checker(lambda *args: None).message
    assert "raised ZeroDivisionError" in checker(lambda *args: 1 / 0).message

    def starter(*args):
        raise NotImplementedError("write your code here")

    assert checker(starter).status == "not attempted"


def test_the_cases_reach_every_boundary_and_every_shape():
    seen = []

    def spy(steps, lr, total, warmup, decay_steps, decay):
        seen.append((decay, warmup > 0, int(np.max(steps)) >= total))
        return good_wsd(steps, lr, total, warmup, decay_steps, decay)

    assert check_wsd_rates(spy)
    assert {d for d, _, _ in seen} == {"linear", "cosine", "1-sqrt"}
    assert any(w for _, w, _ in seen) and not all(w for _, w, _ in seen)
    assert all(past for _, _, past in seen)  # every case asks for a step at or past the end
