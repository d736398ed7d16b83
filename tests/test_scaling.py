"""lrcourse.scaling: the linear and square-root rules for the rate against the batch size, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.scaling import SCALING_RULES, scale_lr, two_batch_estimates


@pytest.mark.parametrize(("lr", "batch_size", "base", "rule", "expected"), [
    (0.1, 256, 256, "linear", 0.1),        # the base batch: the base rate, under either rule
    (0.1, 256, 256, "sqrt", 0.1),
    (0.1, 8192, 256, "linear", 3.2),       # Goyal et al.: 0.1 per 256 images, 3.2 at 8k
    (1e-3, 1024, 256, "sqrt", 2e-3),       # 4x the batch: 2x Adam's rate
    (1e-3, 64, 256, "sqrt", 5e-4),         # a quarter of the batch: half the rate
    (0.3, 32, 128, "linear", 0.075),       # down as well as up
    (0.5, 3, 1, "sqrt", 0.5 * math.sqrt(3)),
    (0.0, 512, 32, "linear", 0.0),         # a zero rate stays zero
])
def test_hand_values(lr, batch_size, base, rule, expected):
    assert scale_lr(lr, batch_size, base, rule) == pytest.approx(expected, rel=1e-15)


def test_the_default_rule_is_linear_and_the_rules_are_the_two():
    assert SCALING_RULES == ("linear", "sqrt")
    assert scale_lr(0.1, 512, 128) == scale_lr(0.1, 512, 128, "linear")


@pytest.mark.parametrize("rule", SCALING_RULES)
def test_the_rate_rises_with_the_batch_and_scaling_back_returns_it(rule):
    sizes = [1, 2, 3, 16, 100, 256, 1000, 4096]
    rates = np.array([scale_lr(0.01, b, 100, rule) for b in sizes])
    assert np.all(np.diff(rates) > 0)
    for b in sizes:
        assert scale_lr(scale_lr(0.01, b, 100, rule), 100, b, rule) == pytest.approx(0.01, rel=1e-14)
        assert scale_lr(0.01, b, 100, rule) == pytest.approx(0.01 * (b / 100) ** (1.0 if rule == "linear" else 0.5),
                                                             rel=1e-14)


def test_sqrt_scales_less_than_linear_up_and_more_gently_down():
    for b in (2, 8, 1024):
        assert scale_lr(0.1, b * 16, 16, "sqrt") < scale_lr(0.1, b * 16, 16, "linear")
        assert scale_lr(0.1, 16, b * 16, "sqrt") > scale_lr(0.1, 16, b * 16, "linear")
    # composing: the square root rule applied twice over κ is the linear rule over κ
    assert scale_lr(scale_lr(0.1, 400, 100, "sqrt"), 400, 100, "sqrt") == pytest.approx(
        scale_lr(0.1, 400, 100, "linear"), rel=1e-15)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"lr": -0.1}, ValueError, r"^lr must be a finite number in \[0, inf\), got -0.1"),
    ({"lr": math.inf}, ValueError, "^lr must be a finite number"),
    ({"lr": "0.1"}, TypeError, "^lr must be a real number"),
    ({"batch_size": 0}, ValueError, "^batch_size must be an integer >= 1, got 0"),
    ({"batch_size": 2.5}, ValueError, "^batch_size must be an integer >= 1"),
    ({"base_batch_size": 0}, ValueError, "^base_batch_size must be an integer >= 1, got 0"),
    ({"base_batch_size": None}, TypeError, "^base_batch_size must be an integer"),
    ({"rule": "square-root"}, ValueError, "^rule must be 'linear' or 'sqrt', got 'square-root'"),
    ({"rule": None}, ValueError, "^rule must be 'linear' or 'sqrt', got None"),
])
def test_bad_input_names_the_parameter(kwargs, error, message):
    arguments = {"lr": 0.1, "batch_size": 64, "base_batch_size": 32, "rule": "linear"} | kwargs
    with pytest.raises(error, match=message):
        scale_lr(**arguments)


# ---------------------------------------------------------------- McCandlish et al.'s two-batch estimator


def _expected_norm_sq(grads, batch):
    """E|G_B|² over every ordered batch of `batch` examples drawn with replacement, by enumeration."""
    import itertools
    n = len(grads)
    total = 0.0
    for pick in itertools.product(range(n), repeat=batch):
        mean = grads[list(pick)].mean(axis=0)
        total += float(mean @ mean)
    return total / n ** batch


@pytest.mark.parametrize(("b_small", "b_big"), [(1, 2), (1, 4), (2, 3), (2, 5)])
def test_two_batch_estimates_are_exact_on_expected_norms_by_enumeration(b_small, b_big):
    rng = np.random.default_rng(b_small * 10 + b_big)
    grads = rng.normal(size=(4, 3)) + np.array([0.5, -0.2, 0.1])  # per-example gradients g_i
    G = grads.mean(axis=0)
    trace = float(((grads - G) ** 2).sum(axis=1).mean())  # tr Σ, Σ the covariance of one uniform draw
    g2, s = two_batch_estimates(_expected_norm_sq(grads, b_small), _expected_norm_sq(grads, b_big), b_small, b_big)
    assert float(g2) == pytest.approx(float(G @ G), rel=1e-12)
    assert float(s) == pytest.approx(trace, rel=1e-12)


def test_two_batch_estimates_hand_values_and_shapes():
    g2, s = two_batch_estimates(3.0, 1.5, 2, 8)  # |G|² = 1, tr Σ = 4
    assert (float(g2), float(s)) == pytest.approx((1.0, 4.0), rel=1e-15)
    small, big = np.array([3.0, 5.0, 0.0]), np.array([1.5, 2.0, 0.5])
    g2, s = two_batch_estimates(small, big, 2, 8)
    assert g2.shape == s.shape == (3,)
    assert g2 == pytest.approx((8 * big - 2 * small) / 6, rel=1e-15)
    assert s == pytest.approx((small - big) / (1 / 2 - 1 / 8), rel=1e-15)
    assert s[2] < 0  # one pair can give a negative estimate: average before the ratio


def test_two_batch_estimates_average_to_the_noise_scale_on_sampled_batches():
    # Batches drawn with replacement: the means of the estimates over many pairs approach |G|² and tr Σ.
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(50, 4)) * np.array([1.0, 2.0, 0.5, 1.0]) + 0.6
    G = grads.mean(axis=0)
    trace = float(((grads - G) ** 2).sum(axis=1).mean())
    norms = {b: np.array([float(np.sum(grads[rng.integers(0, 50, b)].mean(axis=0) ** 2)) for _ in range(20_000)])
             for b in (4, 32)}
    g2, s = two_batch_estimates(norms[4], norms[32], 4, 32)
    assert float(s.mean() / g2.mean()) == pytest.approx(trace / float(G @ G), rel=0.05)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"norm_sq_small": -1.0}, ValueError, r"^norm_sq_small must be a finite number in \[0, inf\), got -1.0"),
    ({"norm_sq_big": "1"}, TypeError, "^norm_sq_big must be a real number"),
    ({"norm_sq_big": [1.0, 2.0]}, ValueError, r"^norm_sq_big must be of the shape of norm_sq_small, \(\), got \(2,\)"),
    ({"batch_small": 0}, ValueError, "^batch_small must be an integer >= 1, got 0"),
    ({"batch_big": 2}, ValueError, "^batch_big must be an integer > batch_small = 2, got 2"),
    ({"batch_big": 1.5}, ValueError, "^batch_big must be an integer >= 1"),
])
def test_two_batch_estimates_bad_input_names_the_parameter(kwargs, error, message):
    arguments = {"norm_sq_small": 3.0, "norm_sq_big": 1.5, "batch_small": 2, "batch_big": 8} | kwargs
    with pytest.raises(error, match=message):
        two_batch_estimates(**arguments)
