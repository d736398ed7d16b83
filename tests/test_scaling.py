"""lrcourse.scaling: the linear and square-root rules for the rate against the batch size, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.scaling import SCALING_RULES, scale_lr


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
