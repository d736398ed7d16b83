"""The checkers of chapter 6 part I: right answers pass, the usual wrong ones fail with their hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lrcourse.exercises.ch6 import (
    adam_threshold_reference,
    check_adam_threshold,
    check_radam_rectification,
    radam_rectification_reference,
)
from lrcourse.schedules import radam_rectification

# ------------------------------------------------------------ Adam's threshold on a quadratic


def right_threshold(lr, beta1):
    return (2 + 2 * beta1) / (lr * (1 - beta1))


def test_the_reference_measured_on_the_quadratic_is_cohen_et_als_38_over_lr():
    assert adam_threshold_reference(0.01, 0.9) == pytest.approx(3800.0, rel=1e-10)
    assert adam_threshold_reference(0.5, 0.0) == pytest.approx(2 / 0.5, rel=1e-10)  # no momentum: 2/α
    for lr, beta1 in [(1e-3, 0.5), (0.3, 0.99)]:
        assert adam_threshold_reference(lr, beta1) == pytest.approx(right_threshold(lr, beta1), rel=1e-10)


def test_the_right_threshold_passes():
    assert check_adam_threshold(right_threshold)
    assert check_adam_threshold(lambda lr, beta1: 2 * (1 + beta1) / (1 - beta1) / lr)


@pytest.mark.parametrize("slip", [
    lambda lr, beta1: 2 / lr,                            # plain gradient descent: the momentum forgotten
    lambda lr, beta1: (2 + 2 * beta1) / lr,              # heavy ball without the EMA's (1 - β₁)
    lambda lr, beta1: 2 / (lr * (1 - beta1)),            # the effective rate α/(1 - β₁), without the 1 + β₁
    lambda lr, beta1: (2 + 2 * beta1) / (lr * (1 - beta1)) / 2,  # the ½ of a loss ½ax² counted twice
])
def test_each_usual_slip_fails_with_the_hint(slip):
    result = check_adam_threshold(slip)
    assert not result and "(1 − β₁)" in result.message


def test_a_starter_is_not_attempted():
    def starter(lr, beta1):
        raise NotImplementedError("write your code here")
    assert check_adam_threshold(starter).status == "not attempted"
    assert check_radam_rectification(starter).status == "not attempted"


# ------------------------------------------------------------ RAdam's rectification


def right_r(step, beta2):
    n = step + 1
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * n * beta2**n / (1 - beta2**n)
    if rho <= 5:
        return 0.0
    return math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))


def torch_radam_r(steps, beta2):
    """r_t read off torch.optim.RAdam (lr 1, eps 0, float64) on a constant gradient 0.5: 0 where it steps 0.5."""
    theta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RAdam([theta], lr=1.0, betas=(0.9, beta2), eps=0.0, foreach=False)
    r = []
    for _ in range(steps):
        before = float(theta.detach())
        theta.grad = torch.full((1,), 0.5, dtype=torch.float64)
        optimizer.step()
        update = before - float(theta.detach())
        r.append(0.0 if abs(update - 0.5) < 1e-12 else update)
    return np.array(r)


@pytest.mark.parametrize("beta2", [0.9, 0.99, 0.999])
def test_the_checkers_reference_is_what_torch_radam_does(beta2):
    steps = np.arange(200)
    np.testing.assert_allclose([radam_rectification_reference(int(t), beta2) for t in steps],
                               torch_radam_r(200, beta2), rtol=1e-10, atol=1e-15)


def test_the_right_r_t_passes():
    assert check_radam_rectification(right_r)
    assert check_radam_rectification(lambda step, beta2: radam_rectification(step, beta2))


def off_by_one(step, beta2):  # torch's step count taken as the number of updates already applied
    return right_r(step - 1, beta2) if step > 0 else 0.0


def no_threshold(step, beta2):  # r_t where ρ_t ≤ 5 too (NaN or a number)
    n = step + 1
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * n * beta2**n / (1 - beta2**n)
    value = (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
    return math.sqrt(value) if value >= 0 else math.nan


def no_bias_correction(step, beta2):  # 2nβ₂ⁿ without dividing by 1 − β₂ⁿ
    n = step + 1
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * n * beta2**n
    if rho <= 5:
        return 0.0
    return math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))


def one_where_not_adaptive(step, beta2):  # 1 (Adam's plain step) instead of 0 where RAdam does not adapt
    r = right_r(step, beta2)
    return r if r > 0 else 1.0


def papers_threshold(step, beta2):  # Liu et al.'s Algorithm 1 adapts where ρ_t > 4; torch where ρ_t > 5
    n = step + 1
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * n * beta2**n / (1 - beta2**n)
    if rho <= 4:
        return 0.0
    return math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))


@pytest.mark.parametrize("slip", [off_by_one, no_threshold, no_bias_correction, one_where_not_adaptive,
                                  papers_threshold])
def test_each_usual_slip_of_r_t_fails_with_the_hint(slip):
    result = check_radam_rectification(slip)
    assert not result and "ρ_t > 5" in result.message
