"""The checkers of chapter 3's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrcourse.exercises.ch3 import (
    adam_effective_lr_reference,
    adam_step_reference,
    check_adam_effective_lr,
    check_adam_step,
)

# ---------------------------------------------------------------- adam_step


def good_adam_step(theta, m, v, g, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def test_adam_step_right_answer_passes():
    assert check_adam_step(good_adam_step)


def test_adam_step_reference_agrees_with_torch_adam():
    """Ten updates of the reference, fed its own moments, are torch.optim.Adam's ten updates."""
    rng = np.random.default_rng(0)
    theta = rng.normal(size=4)
    m, v = np.zeros(4), np.zeros(4)
    w = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05, betas=(0.8, 0.99), eps=1e-6)
    for t in range(1, 11):
        g = rng.normal(size=4)
        theta, m, v = adam_step_reference(theta, m, v, g, t, 0.05, 0.8, 0.99, 1e-6)
        w.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(theta, w.detach().numpy(), rtol=1e-13)


def _no_correction(theta, m, v, g, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return theta - lr * m / (np.sqrt(v) + eps), m, v


def _eps_inside(theta, m, v, g, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return theta - lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps), m, v


def _returns_corrected_moments(theta, m, v, g, t, lr, beta1, beta2, eps):
    m = (beta1 * m + (1 - beta1) * g) / (1 - beta1**t)
    v = (beta2 * v + (1 - beta2) * g * g) / (1 - beta2**t)
    return theta - lr * m / (np.sqrt(v) + eps), m, v


def _t_from_zero(theta, m, v, g, t, lr, beta1, beta2, eps):
    return good_adam_step(theta, m, v, g, t + 1, lr, beta1, beta2, eps)


def _old_gradient_in_v(theta, m, v, g, t, lr, beta1, beta2, eps):
    v = beta2 * v + (1 - beta2) * g  # g instead of g * g
    m = beta1 * m + (1 - beta1) * g
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(np.abs(v) / (1 - beta2**t)) + eps), m, v


def _in_place(theta, m, v, g, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


@pytest.mark.parametrize("wrong, words", [
    (_no_correction, "disagrees"),
    (_eps_inside, "disagrees"),
    (_returns_corrected_moments, "its output number 2"),
    (_t_from_zero, "disagrees"),
    (_old_gradient_in_v, "disagrees"),
    (_in_place, "changed its inputs in place"),
])
def test_adam_step_mistakes_fail_with_a_hint(wrong, words):
    result = check_adam_step(wrong)
    assert not result.passed and words in result.message
    assert "Hint: update m and v first" in result.message


def test_adam_step_a_bare_theta_is_named():
    result = check_adam_step(lambda *args: good_adam_step(*args)[0])
    assert not result.passed and "should return 3 values" in result.message


# ---------------------------------------------------------------- adam_effective_lr


def good_effective_lr(v, t, lr, beta2, eps):
    return lr / (np.sqrt(v / (1 - beta2**t)) + eps)


def test_effective_lr_right_answer_passes():
    assert check_adam_effective_lr(good_effective_lr)


def test_effective_lr_reference_by_hand():
    # t = 1, v = (1 - beta2) g^2: the rate is lr / (|g| + eps)
    g = np.array([2.0, 1e-3])
    np.testing.assert_allclose(adam_effective_lr_reference(0.001 * g**2, 1, 0.1, 0.999, 1e-8),
                               0.1 / (np.abs(g) + 1e-8), rtol=1e-12)
    assert adam_effective_lr_reference(np.zeros(1), 3, 0.1, 0.999, 1e-8)[0] == pytest.approx(1e7)


@pytest.mark.parametrize("wrong", [
    lambda v, t, lr, beta2, eps: lr / (np.sqrt(v) + eps),                       # no bias correction
    lambda v, t, lr, beta2, eps: lr / np.sqrt(v / (1 - beta2**t) + eps),        # eps inside
    lambda v, t, lr, beta2, eps: lr / (np.sqrt(v) / (1 - beta2**t) + eps),      # corrected outside the root
    lambda v, t, lr, beta2, eps: lr / np.sqrt(v / (1 - beta2**t)),              # no eps: inf where v = 0
])
def test_effective_lr_mistakes_fail_with_a_hint(wrong):
    with np.errstate(divide="ignore"):
        result = check_adam_effective_lr(wrong)
    assert not result.passed and "Hint: divide v by (1 - beta2**t)" in result.message


def test_checkers_report_a_missing_solution_instead_of_raising():
    def starter(*args):
        raise NotImplementedError("write your code here")

    for checker in (check_adam_step, check_adam_effective_lr):
        result = checker(starter)
        assert not result.passed and result.status == "not attempted" and "not attempted yet" in result.message
