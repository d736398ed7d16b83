"""Chapter 1's checkers: right answers pass, and each usual mistake fails with a report that names it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.exercises import random_cases
from lrcourse.exercises.ch1 import (
    _gradient_step_case,
    _hessian_case,
    _tolerance_case,
    check_gradient_step,
    check_rates,
    check_steps_to_tolerance,
)
from lrcourse.problems import Quadratic

# ---------------------------------------------------------------- gradient_step


def gradient_step(theta, grad, lr):
    return theta - lr[:, None] * grad


def test_gradient_step_right_answers_pass():
    assert check_gradient_step(gradient_step).passed
    # A loop over the runs is as right as broadcasting.
    assert check_gradient_step(lambda theta, grad, lr: np.stack([t - a * g for t, g, a in zip(theta, grad, lr)]))


def test_gradient_step_agrees_with_hand_computed_values():
    # The reference is the package's SGD; pin it to numbers computed by hand.
    from lrcourse.exercises.ch1 import _sgd_step

    theta = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad = np.array([[1.0, -1.0], [2.0, 0.0]])
    assert np.array_equal(_sgd_step(theta, grad, np.array([0.5, 0.25])), [[0.5, 2.5], [2.5, 4.0]])


def test_gradient_step_cases_mix_shapes_that_fail_to_broadcast_and_shapes_that_broadcast_wrongly():
    shapes = [theta.shape for theta, _, _ in random_cases(_gradient_step_case, n=25)]
    assert any(K != d for K, d in shapes) and any(K == d for K, d in shapes)


@pytest.mark.parametrize("wrong, words", [
    (lambda theta, grad, lr: theta + lr[:, None] * grad, "disagrees with the reference"),  # ascent
    (lambda theta, grad, lr: theta - lr * grad, "raised ValueError"),  # rate not made a column
    (lambda theta, grad, lr: theta - lr.mean() * grad, "disagrees with the reference"),  # one rate for all
    (lambda theta, grad, lr: theta - grad, "disagrees with the reference"),  # no rate
])
def test_gradient_step_mistakes_fail_with_a_hint(wrong, words):
    result = check_gradient_step(wrong)
    assert not result.passed
    assert words in result.message and "Hint: row k must move against its own gradient" in result.message


def test_gradient_step_working_in_place_is_caught():
    def in_place(theta, grad, lr):
        theta -= lr[:, None] * grad
        return theta

    assert "changed its inputs in place" in check_gradient_step(in_place).message


# ---------------------------------------------------------------- rates


def rates(H):
    curvatures = np.linalg.eigvalsh(H)
    return 2 / curvatures[-1], 2 / (curvatures[0] + curvatures[-1])


def test_rates_right_answers_pass():
    assert check_rates(rates).passed
    # np.linalg.eig on a symmetric matrix gives the same eigenvalues to rounding, unsorted.
    def with_eig(H):
        curvatures = np.linalg.eig(H)[0].real
        return 2 / curvatures.max(), 2 / (curvatures.min() + curvatures.max())

    assert check_rates(with_eig).passed


def test_rates_reference_matches_the_quadratic_of_the_package():
    from lrcourse.exercises.ch1 import _rates

    bowl = Quadratic(kappa=25.0, L=4.0, dim=5, angle=0.3)
    assert np.allclose(_rates(bowl.hessian), (bowl.lr_critical, bowl.lr_optimal), rtol=1e-12)


def test_rates_cases_are_symmetric_positive_definite_and_not_diagonal():
    for (H,) in random_cases(_hessian_case, n=25):
        assert np.array_equal(H, H.T) and np.linalg.eigvalsh(H)[0] > 0
        assert not np.allclose(np.diag(np.diag(H)), H)


@pytest.mark.parametrize("wrong", [
    lambda H: (2 / H.diagonal().max(), 2 / (H.diagonal().min() + H.diagonal().max())),  # the diagonal
    lambda H: (1 / np.linalg.eigvalsh(H)[-1], 2 / (np.linalg.eigvalsh(H)[0] + np.linalg.eigvalsh(H)[-1])),  # 1/L
    lambda H: (2 / np.linalg.eigvalsh(H)[0], 2 / (np.linalg.eigvalsh(H)[0] + np.linalg.eigvalsh(H)[-1])),  # mu for L
    lambda H: (2 / np.linalg.eigvalsh(H)[-1], 2 / np.linalg.eigvalsh(H).sum()),  # the trace, right only for d = 2
])
def test_rates_mistakes_fail_with_a_hint(wrong):
    result = check_rates(wrong)
    assert not result.passed
    assert "Hint: L and mu are the largest and smallest eigenvalues" in result.message


def test_rates_one_value_instead_of_a_pair_is_named():
    assert "should return 2 values" in check_rates(lambda H: 2 / np.linalg.eigvalsh(H)[-1]).message


# ---------------------------------------------------------------- steps_to_tolerance


def steps_to_tolerance(kappa, tol):
    return math.ceil(math.log(tol) / math.log((kappa - 1) / (kappa + 1)))


def test_steps_to_tolerance_right_answers_pass():
    assert check_steps_to_tolerance(steps_to_tolerance).passed

    def by_counting(kappa, tol):  # multiply until the bound is met: the same integer
        rho, bound, t = (kappa - 1) / (kappa + 1), 1.0, 0
        while bound > tol:
            bound, t = bound * rho, t + 1
        return t

    assert check_steps_to_tolerance(by_counting).passed


def test_steps_to_tolerance_reference_by_hand_and_by_a_run():
    from lrcourse.exercises.ch1 import _steps_to_tolerance

    # kappa = 3: rho = 1/2, and 2**-10 <= 1e-3 < 2**-9.
    assert _steps_to_tolerance(3.0, 1e-3) == 10
    # On a bowl whose start has equal weight on both axes, gradient descent at the optimal
    # rate shrinks the distance by exactly rho per step: the run needs exactly that many steps.
    from lrcourse.numpy import SGD
    from lrcourse.sweep import sweep

    bowl = Quadratic(kappa=50.0)
    steps = _steps_to_tolerance(50.0, 1e-6)
    path = sweep(bowl, SGD, lr=[bowl.lr_optimal], steps=steps, path=True).path[0]
    distance = np.linalg.norm(path, axis=-1) / np.linalg.norm(path[0])
    assert distance[steps] <= 1e-6 < distance[steps - 1]


def test_steps_to_tolerance_cases_stay_away_from_kappa_one():
    assert all(kappa >= 1.5 and 0 < tol < 1 for kappa, tol in random_cases(_tolerance_case, n=25))


@pytest.mark.parametrize("wrong, words", [
    (lambda kappa, tol: math.ceil(math.log(tol) / math.log(1 - 1 / kappa)), "disagrees"),  # the rate 1/L
    (lambda kappa, tol: math.log(tol) / math.log((kappa - 1) / (kappa + 1)), "disagrees"),  # not rounded up
    (lambda kappa, tol: math.floor(math.log(tol) / math.log((kappa - 1) / (kappa + 1))), "disagrees"),  # down
    (lambda kappa, tol: math.ceil(kappa / 2 * math.log(1 / tol)), "disagrees"),  # the large-kappa approximation
])
def test_steps_to_tolerance_mistakes_fail_with_a_hint(wrong, words):
    result = check_steps_to_tolerance(wrong)
    assert not result.passed and words in result.message
    assert "Hint: the distance shrinks by rho" in result.message


def test_checkers_report_a_missing_solution_instead_of_raising():
    def starter(*args):
        raise NotImplementedError("write your code here")

    for checker in (check_gradient_step, check_rates, check_steps_to_tolerance):
        result = checker(starter)
        assert not result.passed and result.status == "not attempted" and "not attempted yet" in result.message
