"""Test problems: gradients against torch autograd, known minima and rates, batching, noise.

The trusted reference for every gradient is torch's autograd applied to the same
``value`` (float64): the hand-written ``grad`` must agree with it at random points.
The quadratic's claims (eigenvalues, the rates 2/L and 2/(L+mu), the noise floor) are
checked against NumPy's eigensolver and against simulation.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrcourse.problems import Beale, NoisyQuadratic, Problem, Quadratic, Rosenbrock, Saddle

PROBLEMS = [
    Rosenbrock(),
    Rosenbrock(a=-0.5, b=20.0),
    Beale(),
    Saddle(),
    Quadratic(kappa=10.0),
    Quadratic(kappa=50.0, L=4.0, dim=5, angle=0.7),
    NoisyQuadratic(kappa=4.0, noise=0.3),
]
IDS = [repr(p) for p in PROBLEMS]


def autograd_grad(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """The gradient of problem.value at every point of theta, by torch autograd."""
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    problem.value(t).sum().backward()  # points are independent: d(sum)/d(point) is that point's gradient
    return t.grad.numpy()


def points(problem: Problem, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random points inside the problem's plot window (or in [-2, 2]^d)."""
    rng = np.random.default_rng(seed)
    bounds = problem.bounds or ((-2.0, 2.0),) * problem.dim
    low, high = np.array(bounds).T if problem.dim == 2 else (np.full(problem.dim, -2.0), np.full(problem.dim, 2.0))
    return low + (high - low) * rng.random(shape + (problem.dim,))


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_grad_matches_torch_autograd(problem: Problem) -> None:
    theta = points(problem, (4, 5))  # a batch of batches
    np.testing.assert_allclose(problem.grad(theta), autograd_grad(problem, theta), rtol=1e-12, atol=1e-12)


@given(x=st.floats(-3, 3), y=st.floats(-3, 3))
@settings(max_examples=60, deadline=None)
def test_grad_matches_autograd_everywhere(x: float, y: float) -> None:
    for problem in (Rosenbrock(), Beale(), Saddle(), Quadratic(kappa=7.0, angle=0.3)):
        theta = np.array([x, y])
        np.testing.assert_allclose(problem.grad(theta), autograd_grad(problem, theta), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_batched_value_and_grad_equal_one_point_at_a_time(problem: Problem) -> None:
    theta = points(problem, (3, 4), seed=1)
    values, grads = problem.value(theta), problem.grad(theta)
    assert values.shape == (3, 4) and grads.shape == theta.shape
    for i in range(3):
        for j in range(4):
            np.testing.assert_allclose(values[i, j], problem.value(theta[i, j]), rtol=1e-14)
            np.testing.assert_allclose(grads[i, j], problem.grad(theta[i, j]), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_torch_tensors_give_the_numpy_numbers(problem: Problem) -> None:
    theta = points(problem, (6,), seed=2)
    t = torch.tensor(theta)
    value, grad = problem.value(t), problem.grad(t)
    assert isinstance(value, torch.Tensor) and isinstance(grad, torch.Tensor) and grad.dtype == torch.float64
    np.testing.assert_allclose(value.numpy(), problem.value(theta), rtol=1e-14)
    np.testing.assert_allclose(grad.numpy(), problem.grad(theta), rtol=1e-14, atol=1e-15)


def test_float32_stays_float32() -> None:
    for problem in (Rosenbrock(), Quadratic()):
        theta = np.ones((3, 2), dtype=np.float32)
        assert problem.value(theta).dtype == np.float32 and problem.grad(theta).dtype == np.float32
        assert problem.grad(torch.ones(2)).dtype == torch.float32


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_minimum_is_stationary_with_value_f_min(problem: Problem) -> None:
    assert problem.value(np.array(problem.minimum)) == pytest.approx(problem.f_min, abs=1e-15)
    np.testing.assert_allclose(problem.grad(np.array(problem.minimum)), 0.0, atol=1e-15)
    # ... and it is a minimum: every nearby point is higher.
    nearby = np.array(problem.minimum) + 1e-3 * np.random.default_rng(3).standard_normal((50, problem.dim))
    assert np.all(problem.value(nearby) > problem.f_min)
    assert len(problem.x0) == problem.dim and problem.value(np.array(problem.x0)) > problem.f_min


def test_known_values() -> None:
    # Worked by hand from the formulas in the docstrings.
    assert Rosenbrock().value([-1.2, 1.0]) == pytest.approx(2.2**2 + 100 * (1 - 1.44) ** 2)
    assert Rosenbrock(a=2.0, b=1.0).minimum == (2.0, 4.0)
    assert Beale().value([0.0, 0.0]) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert Saddle().value([1.0, 2.0]) == pytest.approx(0.5 - 2.0 + 4.0)
    assert Quadratic(kappa=4.0, L=2.0).value([1.0, 1.0]) == pytest.approx(0.5 * (2.0 + 0.5))


def test_saddle_is_a_saddle() -> None:
    saddle = Saddle()
    np.testing.assert_array_equal(saddle.grad(np.array(saddle.saddle)), [0.0, 0.0])
    eps = 1e-3
    assert saddle.value([eps, 0.0]) > 0 > saddle.value([0.0, eps])  # up along x, down along y
    assert saddle.value([0.0, -1.0]) == saddle.f_min  # the second minimum


@pytest.mark.parametrize("kappa, L, dim, angle", [(10.0, 1.0, 2, 0.0), (100.0, 3.0, 2, 0.5), (5.0, 0.5, 6, -1.0)])
def test_quadratic_curvatures_are_what_it_says(kappa: float, L: float, dim: int, angle: float) -> None:
    bowl = Quadratic(kappa=kappa, L=L, dim=dim, angle=angle)
    eigenvalues = np.linalg.eigvalsh(bowl.hessian)  # the independent reference
    assert eigenvalues.max() == pytest.approx(L, rel=1e-12) and bowl.L == L
    assert eigenvalues.min() == pytest.approx(L / kappa, rel=1e-12) and bowl.mu == pytest.approx(L / kappa)
    assert eigenvalues.max() / eigenvalues.min() == pytest.approx(kappa, rel=1e-12)
    assert bowl.lr_critical == pytest.approx(2 / L) and bowl.lr_optimal == pytest.approx(2 / (L + L / kappa))
    # The steepest direction is (cos angle, sin angle) in the first two coordinates.
    direction = np.zeros(dim)
    direction[:2] = [math.cos(angle), math.sin(angle)]
    np.testing.assert_allclose(bowl.hessian @ direction, L * direction, atol=1e-12)


def gradient_descent(bowl: Quadratic, lr: float, steps: int) -> np.ndarray:
    theta = np.array(bowl.x0)
    for _ in range(steps):
        theta = theta - lr * bowl.grad(theta)
    return theta


def test_gradient_descent_converges_below_2_over_L_and_diverges_above() -> None:
    bowl = Quadratic(kappa=10.0, L=2.0, angle=0.4)  # 2/L = 1
    assert np.linalg.norm(gradient_descent(bowl, 0.99, 2000)) < 1e-6
    assert np.linalg.norm(gradient_descent(bowl, 1.01, 2000)) > 1e6
    # At exactly 2/L the component along the steep eigenvector (cos 0.4, sin 0.4) flips sign
    # forever without shrinking, while the other one decays.
    steep = abs(math.cos(0.4) + math.sin(0.4))  # x0 = (1, 1) projected on it
    assert np.linalg.norm(gradient_descent(bowl, 1.0, 2000)) == pytest.approx(steep, rel=1e-9)


def test_lr_optimal_contracts_at_kappa_minus_1_over_kappa_plus_1() -> None:
    kappa = 9.0
    bowl = Quadratic(kappa=kappa)  # x0 = (1, 1) along the two eigenvectors
    rate = (kappa - 1) / (kappa + 1)
    assert bowl.contraction(bowl.lr_optimal) == pytest.approx(rate)
    # Both coordinates shrink by exactly that factor per step (with opposite signs).
    np.testing.assert_allclose(np.abs(gradient_descent(bowl, bowl.lr_optimal, 10)), rate**10, rtol=1e-12)
    # Any other rate is worse in at least one direction.
    lrs = np.linspace(0.05, 1.95, 200)
    assert np.all(bowl.contraction(lrs) >= rate - 1e-12)
    assert bowl.contraction(1.0) == pytest.approx(1 - 1 / kappa)  # max(|1 - 1|, |1 - mu|)


def test_noise_is_standard_normal_times_sigma_and_shared_by_the_batch() -> None:
    noisy = NoisyQuadratic(kappa=4.0, dim=3, noise=0.5)
    theta = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, 0.0]])
    rng = np.random.default_rng(0)
    noise = np.stack([noisy.sample_grad(theta, rng) - noisy.grad(theta) for _ in range(20000)])
    np.testing.assert_allclose(noise[:, 0], noise[:, 1])  # common random numbers across the batch
    assert np.abs(noise.mean(axis=0)).max() < 0.02  # standard error 0.5 / sqrt(20000) = 0.0035
    np.testing.assert_allclose(noise.std(axis=0), 0.5, rtol=0.03)
    # Seeded: the same generator state gives the same draw.
    a = noisy.sample_grad(theta, np.random.default_rng(7))
    b = noisy.sample_grad(theta, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    # A deterministic problem ignores the generator.
    np.testing.assert_array_equal(Quadratic().sample_grad(np.ones(2), rng), Quadratic().grad(np.ones(2)))


def test_sgd_settles_at_the_predicted_noise_floor() -> None:
    noisy = NoisyQuadratic(kappa=4.0, dim=20, noise=1.0, angle=0.3)
    rng = np.random.default_rng(0)
    for lr in (0.5, 0.1):
        theta = np.zeros(20)
        losses = []
        for t in range(20000):
            theta = theta - lr * noisy.sample_grad(theta, rng)
            if t >= 2000:  # after the transient (relaxation time 1 / (lr mu) <= 40 steps)
                losses.append(noisy.value(theta))
        assert np.mean(losses) == pytest.approx(noisy.stationary_loss(lr), rel=0.04)
    # Hand-computed: sum_i lr sigma^2 / (2 (2 - lr lambda_i)) with lambda = (1, 0.25).
    two_d = NoisyQuadratic(kappa=4.0, noise=0.1)
    assert two_d.stationary_loss(0.1) == pytest.approx(0.1 * 0.01 / (2 * 1.9) + 0.1 * 0.01 / (2 * 1.975))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Quadratic(kappa=0.5), "kappa must be a finite number in \\[1, inf\\)"),
        (lambda: Quadratic(kappa=float("nan")), "kappa"),
        (lambda: Quadratic(L=0.0), "L must be a finite number in \\(0, inf\\)"),
        (lambda: Quadratic(dim=1), "dim must be an integer >= 2"),
        (lambda: Quadratic(dim=2.5), "dim must be an integer"),
        (lambda: NoisyQuadratic(noise=-0.1), "noise must be a finite number in \\[0, inf\\)"),
        (lambda: Rosenbrock(b=-1.0), "b must be"),
        (lambda: Rosenbrock(a=float("inf")), "a must be a finite number"),
        (lambda: Rosenbrock().value(np.zeros(3)), "theta must have shape \\(..., 2\\) for Rosenbrock, got shape \\(3,\\)"),
        (lambda: Quadratic(dim=3).grad(np.zeros((4, 2))), "theta must have shape \\(..., 3\\)"),
        (lambda: Saddle().value(1.0), "theta must have shape"),
        (lambda: NoisyQuadratic().stationary_loss(2.0), "lr must be in \\(0, 2\\)"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_problems_are_frozen_values_with_readable_reprs() -> None:
    bowl = Quadratic(kappa=10, dim=3)
    assert repr(bowl) == "Quadratic(kappa=10.0, L=1.0, dim=3, angle=0.0)"
    assert bowl == Quadratic(kappa=10.0, dim=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bowl.kappa = 2.0  # type: ignore[misc]
    assert bowl.stochastic is False and NoisyQuadratic().stochastic is True
