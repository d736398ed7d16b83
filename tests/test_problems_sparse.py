"""SparseRegression: its closed forms against sampling, its gradients against autograd and finite differences.

The trusted references: torch's autograd (float64) on the same ``value`` and on the
mini-batch loss written out here, central finite differences, and Monte Carlo averages
over fresh examples, which check the closed-form objective and its covariance
independently of the formulas in the class.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lrcourse.numpy import SGD, Adagrad
from lrcourse.problems import SparseRegression
from lrcourse.sweep import sweep

SMALL = SparseRegression(dim=6, exponent=1.0, p_max=0.6, noise=0.3, batch=4, seed=3)
PROBLEMS = [SMALL, SparseRegression(), SparseRegression(dim=1, exponent=0.0, p_max=1.0, noise=0.0, batch=1)]
IDS = ["small", "default", "one-feature"]


def points(problem: SparseRegression, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, shape + (problem.dim,))


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_grad_matches_torch_autograd(problem: SparseRegression) -> None:
    theta = points(problem, (3, 4))
    t = torch.tensor(theta, requires_grad=True)
    problem.value(t).sum().backward()
    np.testing.assert_allclose(problem.grad(theta), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_grad_matches_central_finite_differences(problem: SparseRegression) -> None:
    theta, h = points(problem, (), seed=1), 1e-5
    steps = h * np.eye(problem.dim)
    numeric = (problem.value(theta + steps) - problem.value(theta - steps)) / (2 * h)  # J is quadratic: exact to rounding
    np.testing.assert_allclose(problem.grad(theta), numeric, rtol=1e-7, atol=1e-8)


def test_frequencies_weights_and_covariance_by_hand() -> None:
    np.testing.assert_allclose(SMALL.frequencies, 0.6 / np.arange(1, 7))
    assert set(SMALL.weights.tolist()) <= {-1.0, 1.0} and SMALL.minimum == tuple(SMALL.weights)
    assert SMALL.weights.tolist() == SparseRegression(dim=6, seed=3).weights.tolist()  # the seed draws the signs
    assert any(SparseRegression(seed=s).weights.tolist() != SparseRegression().weights.tolist() for s in (1, 2, 3))
    p = SMALL.frequencies
    assert SMALL.covariance[1, 1] == pytest.approx(p[1])  # E x^2 = E x for a 0/1 feature
    assert SMALL.covariance[1, 4] == pytest.approx(p[1] * p[4])  # independent features
    np.testing.assert_allclose(SparseRegression(exponent=2.0, p_max=0.3).frequencies[[0, 9]], [0.3, 0.003])


def test_covariance_and_objective_match_fresh_examples() -> None:
    rng, n = np.random.default_rng(0), 400_000
    X, y = SMALL.sample(n, rng)
    assert X.shape == (n, SMALL.dim) and set(np.unique(X)) == {0.0, 1.0}
    np.testing.assert_allclose(X.mean(axis=0), SMALL.frequencies, atol=4 * 0.5 / np.sqrt(n))
    np.testing.assert_allclose(X.T @ X / n, SMALL.covariance, atol=4 * 0.5 / np.sqrt(n))
    for theta in points(SMALL, (3,), seed=2):
        losses = 0.5 * (X @ theta - y) ** 2
        se = losses.std() / np.sqrt(n)
        assert abs(losses.mean() - SMALL.value(theta)) < 5 * se  # the closed form is the expected loss


def test_sample_grad_is_the_mini_batch_gradient_on_fresh_examples() -> None:
    theta = points(SMALL, (5,), seed=3)  # five runs see one batch
    g = SMALL.sample_grad(theta, np.random.default_rng(7))
    X, y = SMALL.sample(SMALL.batch, np.random.default_rng(7))  # the same draws
    t = torch.tensor(theta, requires_grad=True)
    (0.5 * ((t @ torch.tensor(X).T - torch.tensor(y)) ** 2).mean(-1)).sum().backward()
    np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12, atol=1e-14)
    off = X.sum(axis=0) == 0  # a feature off in the whole batch gets no gradient
    assert off.any() and np.all(g[:, off] == 0.0)


def test_sample_grad_is_unbiased() -> None:
    theta, rng, draws = points(SMALL, (), seed=4), np.random.default_rng(5), 20_000
    grads = np.array([SMALL.sample_grad(theta, rng) for _ in range(draws)])
    se = grads.std(axis=0) / np.sqrt(draws)
    assert np.all(np.abs(grads.mean(axis=0) - SMALL.grad(theta)) < 5 * se)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_minimum_is_stationary_with_value_f_min(problem: SparseRegression) -> None:
    minimum = np.array(problem.minimum)
    assert problem.value(minimum) == pytest.approx(problem.f_min, abs=1e-15)
    assert problem.f_min == 0.5 * problem.noise**2
    np.testing.assert_allclose(problem.grad(minimum), 0.0, atol=1e-15)
    nearby = minimum + 1e-3 * np.random.default_rng(3).standard_normal((50, problem.dim))
    assert np.all(problem.value(nearby) > problem.f_min)
    assert problem.x0 == (0.0,) * problem.dim and problem.value(np.array(problem.x0)) > problem.f_min


def test_batched_torch_and_float32() -> None:
    theta = points(SMALL, (3, 2), seed=6)
    values, grads = SMALL.value(theta), SMALL.grad(theta)
    for i in range(3):
        for j in range(2):
            assert values[i, j] == pytest.approx(SMALL.value(theta[i, j]), rel=1e-14)
            np.testing.assert_allclose(grads[i, j], SMALL.grad(theta[i, j]), rtol=1e-14, atol=1e-15)
    t = torch.tensor(theta)
    np.testing.assert_allclose(SMALL.value(t).numpy(), values, rtol=1e-14)
    assert SMALL.sample_grad(t, np.random.default_rng(0)).dtype == torch.float64
    single = theta.astype(np.float32)
    assert SMALL.value(single).dtype == np.float32 and SMALL.grad(single).dtype == np.float32
    assert SMALL.sample_grad(single, np.random.default_rng(0)).dtype == np.float32


def test_sgd_starves_the_rare_features_and_adagrad_does_not() -> None:
    # Gradient descent closes the gap along feature j by 1 - alpha p_j per step: after T steps the rarest
    # feature has moved a fraction 1 - (1 - alpha p_d)^T of the way, in expectation; AdaGrad much further.
    problem, T, lr = SparseRegression(noise=0.1), 1000, 1.0  # p_j from 0.5 down to 0.0005
    rare = slice(80, 100)
    fractions = {}
    for name, opt, rate in (("SGD", SGD, lr), ("AdaGrad", Adagrad, 0.3)):
        runs = sweep(problem, opt, lr=[rate] * 8, steps=T, x0=np.zeros(problem.dim), seed=0)
        assert runs.K == 8 and np.all(runs.params == runs.params[0])  # one stream of batches for every run
        fractions[name] = np.mean([sweep(problem, opt, lr=rate, steps=T, seed=s).params[0] / problem.weights
                                   for s in range(6)], axis=0)
    predicted = 1 - (1 - lr * problem.frequencies[rare]) ** T
    assert abs(fractions["SGD"][rare].mean() - predicted.mean()) < 0.15
    assert fractions["AdaGrad"][rare].mean() > fractions["SGD"][rare].mean() + 0.2
    assert np.all(np.abs(fractions["SGD"][:5] - 1) < 0.1)  # the common ones are learnt by both


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SparseRegression(dim=0), "dim must be an integer >= 1"),
        (lambda: SparseRegression(exponent=-1.0), "exponent must be a finite number in \\[0, inf\\)"),
        (lambda: SparseRegression(p_max=0.0), "p_max must be a finite number in \\(0, 1\\]"),
        (lambda: SparseRegression(p_max=1.5), "p_max"),
        (lambda: SparseRegression(noise=float("nan")), "noise"),
        (lambda: SparseRegression(batch=0), "batch must be an integer >= 1"),
        (lambda: SparseRegression(seed=-1), "seed must be an integer >= 0"),
        (lambda: SMALL.value(np.zeros(5)), "theta must have shape \\(..., 6\\) for SparseRegression"),
        (lambda: SMALL.sample(-1, np.random.default_rng(0)), "n must be an integer >= 0"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_a_frozen_value_with_a_readable_repr() -> None:
    assert repr(SMALL) == "SparseRegression(dim=6, exponent=1.0, p_max=0.6, noise=0.3, batch=4, seed=3)"
    assert SMALL == SparseRegression(dim=6, exponent=1, p_max=0.6, noise=0.3, batch=4, seed=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.dim = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        SMALL.sample(3, 0)  # type: ignore[arg-type]
    assert SMALL.stochastic is True
