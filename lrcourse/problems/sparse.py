"""Linear regression on sparse binary features with power-law frequencies: AdaGrad's home ground."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.problems._base import Problem, constant_like
from lrcourse.validation import check, integer, integer_field, real_field

__all__ = ["SparseRegression"]


@dataclass(frozen=True)
class SparseRegression(Problem):
    r"""Least squares on a stream of sparse 0/1 features, most of them rare and all as informative.

    Each example has ``dim`` binary features, feature :math:`j` on with probability
    :math:`p_j = p_{\max}\, j^{-s}` (:math:`j = 1, \dots, d`, independently: a power law
    of frequencies, as for the words of a text), and a target that every feature
    moves by the same amount when it is on:

    .. math::

        x_j \sim \operatorname{Bernoulli}(p_j), \qquad
        y = x^\top \theta^\star + \sigma\,\xi, \qquad
        \theta^\star_j = \pm 1, \qquad \xi \sim \mathcal N(0, 1).

    The objective is the expected squared error on a fresh example, in closed form,

    .. math::

        J(\theta) = \tfrac12\, \mathbb E\,(x^\top\theta - y)^2
                  = \tfrac12\,(\theta - \theta^\star)^\top \Sigma\,(\theta - \theta^\star) + \tfrac12\sigma^2,
        \qquad \Sigma = \mathbb E\, x x^\top = \operatorname{diag}(p - p \odot p) + p\,p^\top,

    with gradient :math:`\nabla J(\theta) = \Sigma\,(\theta - \theta^\star)`, minimum
    :math:`\theta^\star` and :math:`J^\star = \sigma^2/2`. What an optimizer sees
    (:meth:`sample_grad`) is the gradient on a mini-batch of ``batch`` fresh examples
    (:meth:`sample`), :math:`\tfrac1B \sum_i x_i\,(x_i^\top\theta - y_i)`, which is zero
    in every coordinate whose feature is off in the whole batch. ``dim`` is :math:`d`,
    ``exponent`` :math:`s`, ``p_max`` :math:`p_{\max}` (the frequency of the commonest
    feature), ``noise`` :math:`\sigma`, ``batch`` :math:`B`; ``seed`` draws the signs of
    :math:`\theta^\star` (:attr:`weights`). Every run starts at :math:`\theta_0 = 0`.

    The curvature along feature :math:`j` is about :math:`p_j` (:math:`\Sigma_{jj} = p_j`), so one
    learning rate cannot serve both ends: where :math:`\Sigma` is nearly diagonal, as along
    the rare features, gradient descent closes the gap along :math:`j` by a factor
    :math:`1 - \alpha p_j` per step on average, and a rate small enough for the common
    features (and their noise) moves the rare ones only a fraction
    :math:`1 - (1 - \alpha p_j)^T` of the way in :math:`T` steps. AdaGrad divides
    each coordinate's step by the root of the sum of its own squared gradients, which
    is small for a feature that is rarely on: the setting it was designed for.

    References:
        Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods for
        online learning and stochastic optimization. JMLR 12.

    >>> problem = SparseRegression(dim=3, exponent=1.0, p_max=0.6, noise=0.5)
    >>> problem.frequencies.round(3).tolist()  # 0.6 j^-1
    [0.6, 0.3, 0.2]
    >>> problem.covariance[0].round(3).tolist()  # E x1^2 = p1; E x1 x2 = p1 p2
    [0.6, 0.18, 0.12]
    >>> float(problem.value(problem.minimum)), float(problem.f_min)  # sigma^2 / 2
    (0.125, 0.125)
    >>> rng = np.random.default_rng(0)
    >>> problem.sample_grad(np.zeros((4, 3)), rng).shape  # four runs, one batch of fresh examples
    (4, 3)
    """

    dim: int = 100
    exponent: float = 1.5
    p_max: float = 0.5
    noise: float = 0.5
    batch: int = 10
    seed: int = 0
    stochastic = True

    def __post_init__(self) -> None:
        integer_field(self, "dim", low=1)
        real_field(self, "exponent", low=0.0)
        real_field(self, "p_max", low=0.0, high=1.0, low_open=True)
        real_field(self, "noise", low=0.0)
        integer_field(self, "batch", low=1)
        integer_field(self, "seed", low=0)

    @cached_property
    def frequencies(self) -> NDArray[np.float64]:
        """How often each feature is on, :math:`p_j = p_{\\max}\\, j^{-s}`, commonest first."""
        return self.p_max * np.arange(1, self.dim + 1, dtype=np.float64) ** -self.exponent

    @cached_property
    def weights(self) -> NDArray[np.float64]:
        """The minimiser :math:`\\theta^\\star`: a sign :math:`\\pm 1` per feature, drawn with ``seed``."""
        return np.random.default_rng(self.seed).choice([-1.0, 1.0], size=self.dim)

    @cached_property
    def covariance(self) -> NDArray[np.float64]:
        """:math:`\\Sigma = \\mathbb E\\, x x^\\top = \\operatorname{diag}(p - p \\odot p) + p p^\\top`, the Hessian of :math:`J`."""
        p = self.frequencies
        return np.diag(p - p * p) + np.outer(p, p)

    @property
    def x0(self) -> tuple[float, ...]:  # type: ignore[override]
        return (0.0,) * self.dim

    @property
    def minimum(self) -> tuple[float, ...]:  # type: ignore[override]
        return tuple(self.weights.tolist())

    @property
    def f_min(self) -> float:  # type: ignore[override]
        return 0.5 * self.noise**2

    def sample(self, n: int, rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Draw ``n`` fresh examples from ``rng``: the features ``X``, shape ``(n, dim)``, and the targets ``y``."""
        n = integer("n", n, low=0)
        check(isinstance(rng, np.random.Generator), "rng", "a numpy.random.Generator", rng, TypeError)
        X = (rng.random((n, self.dim)) < self.frequencies).astype(np.float64)
        return X, X @ self.weights + self.noise * rng.standard_normal(n)

    def sample_grad(self, theta: Any, rng: np.random.Generator) -> Any:
        """Return :math:`\\tfrac1B \\sum_i x_i (x_i^\\top\\theta - y_i)` on ``batch`` fresh examples, the same for every point."""
        theta = self._check(theta)
        X, y = self.sample(self.batch, rng)
        X, y = constant_like(X, theta), constant_like(y, theta)
        return (theta @ X.T - y) @ X / self.batch

    def _value(self, theta: Any) -> Any:
        error = theta - constant_like(self.weights, theta)
        return 0.5 * (error * (error @ constant_like(self.covariance, theta))).sum(-1) + 0.5 * self.noise**2

    def _grad(self, theta: Any) -> Any:
        return (theta - constant_like(self.weights, theta)) @ constant_like(self.covariance, theta)  # Σ is symmetric
