"""Quadratic bowls with a chosen condition number, exact and with noisy gradients."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.problems._base import Problem, constant_like
from lrcourse.validation import integer_field, real_field

__all__ = ["Quadratic", "NoisyQuadratic"]


@dataclass(frozen=True)
class Quadratic(Problem):
    r"""A quadratic bowl whose curvatures run from :math:`L` down to :math:`\mu = L/\kappa`.

    .. math::

        f(\theta) = \tfrac12\, \theta^\top A\, \theta, \qquad
        A = R \operatorname{diag}(\lambda_1, \dots, \lambda_d) R^\top, \qquad
        L = \lambda_1 \ge \dots \ge \lambda_d = \mu = L / \kappa

    ``kappa`` is the condition number :math:`\kappa`, ``L`` the largest curvature,
    ``dim`` is :math:`d` (the :math:`\lambda_i` are spaced geometrically, so with
    :math:`d = 2` they are :math:`L` and :math:`\mu`), and ``angle`` rotates the
    eigenbasis by that many radians in the plane of the first two coordinates (``R``;
    0 keeps the axes, along which AdaGrad and Adam can rescale each curvature).
    The minimum is :math:`\theta^\star = 0`, :math:`f^\star = 0`.

    Gradient descent, :math:`\theta_t = (I - \alpha A)\,\theta_{t-1}`, multiplies the
    error along eigenvector :math:`i` by :math:`1 - \alpha\lambda_i` per step, so it
    converges if and only if :math:`0 < \alpha < 2/L` (``lr_critical``), and its worst
    factor :math:`\max_i |1 - \alpha\lambda_i|` (:meth:`contraction`) is smallest at
    :math:`\alpha = 2/(L + \mu)` (``lr_optimal``), where it is
    :math:`(\kappa - 1)/(\kappa + 1)`.

    >>> bowl = Quadratic(kappa=10.0)
    >>> bowl.L, bowl.mu, bowl.lr_critical, round(bowl.lr_optimal, 4)
    (1.0, 0.1, 2.0, 1.8182)
    >>> round(bowl.contraction(bowl.lr_optimal), 4)  # (kappa - 1) / (kappa + 1)
    0.8182
    >>> bowl.value(np.array([[1.0, 0.0], [0.0, 1.0]]))  # two points at once: L/2, mu/2
    array([0.5 , 0.05])
    """

    kappa: float = 10.0
    L: float = 1.0
    dim: int = 2
    angle: float = 0.0

    def __post_init__(self) -> None:
        real_field(self, "kappa", low=1.0)
        real_field(self, "L", low=0.0, low_open=True)
        integer_field(self, "dim", low=2)
        real_field(self, "angle", low=-np.inf)

    @property
    def mu(self) -> float:
        """The smallest curvature, :math:`\\mu = L/\\kappa`."""
        return self.L / self.kappa

    @property
    def lr_critical(self) -> float:
        """:math:`2/L`: gradient descent diverges at this learning rate and above."""
        return 2.0 / self.L

    @property
    def lr_optimal(self) -> float:
        """:math:`2/(L + \\mu)`: the constant rate at which gradient descent converges fastest."""
        return 2.0 / (self.L + self.mu)

    @cached_property
    def eigenvalues(self) -> NDArray[np.float64]:
        """The curvatures :math:`\\lambda_1 = L \\ge \\dots \\ge \\lambda_d = \\mu`."""
        return np.geomspace(self.L, self.mu, self.dim)

    @cached_property
    def hessian(self) -> NDArray[np.float64]:
        """The matrix :math:`A = R \\operatorname{diag}(\\lambda) R^\\top`."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        rotation = np.eye(self.dim)
        rotation[:2, :2] = [[c, -s], [s, c]]
        return rotation @ np.diag(self.eigenvalues) @ rotation.T

    @property
    def x0(self) -> tuple[float, ...]:  # type: ignore[override]
        return (1.0,) * self.dim

    @property
    def minimum(self) -> tuple[float, ...]:  # type: ignore[override]
        return (0.0,) * self.dim

    f_min = 0.0

    @property
    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]] | None:  # type: ignore[override]
        return ((-1.5, 1.5), (-1.5, 1.5)) if self.dim == 2 else None

    def contraction(self, lr: float | NDArray[np.float64]) -> float | NDArray[np.float64]:
        """Return :math:`\\max_i |1 - \\alpha\\lambda_i|`, gradient descent's worst factor per step."""
        lr = np.asarray(lr, dtype=np.float64)
        factor = np.abs(1.0 - lr[..., None] * self.eigenvalues).max(axis=-1)
        return float(factor) if factor.ndim == 0 else factor

    def _value(self, theta: Any) -> Any:
        return 0.5 * (theta * (theta @ constant_like(self.hessian, theta))).sum(-1)

    def _grad(self, theta: Any) -> Any:
        return theta @ constant_like(self.hessian, theta)  # A is symmetric: A θ = θ A


@dataclass(frozen=True)
class NoisyQuadratic(Quadratic):
    r"""A :class:`Quadratic` whose gradients carry Gaussian noise: a model of SGD.

    .. math::

        \tilde g(\theta) = A\,\theta + \sigma\,\xi, \qquad \xi \sim \mathcal N(0, I_d)

    ``noise`` is :math:`\sigma`; the other arguments are :class:`Quadratic`'s.
    :meth:`~lrcourse.problems.Problem.value` and
    :meth:`~lrcourse.problems.Problem.grad` stay exact; :meth:`sample_grad` draws
    :math:`\xi` from a NumPy generator. One :math:`\xi` of shape ``(d,)`` serves every
    point of a batch (common random numbers): ``K`` runs side by side see the same
    noise, as ``K`` separate runs seeded alike would, and differ only by their
    hyperparameters.

    With a constant rate :math:`\alpha < 2/L`, SGD does not converge: each
    eigen-coordinate settles into a spread of variance
    :math:`\alpha\sigma^2 / (\lambda_i (2 - \alpha\lambda_i))`, so the expected loss
    levels off at (:meth:`stationary_loss`)

    .. math::

        \mathbb E f(\theta_\infty) = \sum_{i=1}^d \frac{\alpha\,\sigma^2}{2\,(2 - \alpha\lambda_i)}
        \approx \frac{d\,\alpha\,\sigma^2}{4} \quad (\alpha\lambda_i \ll 1):

    halving the learning rate halves the noise floor, which is why schedules decay it.

    >>> noisy = NoisyQuadratic(kappa=4.0, noise=0.1)
    >>> rng = np.random.default_rng(0)
    >>> g = noisy.sample_grad(np.zeros((3, 2)), rng)  # three runs, one draw of noise
    >>> bool((g == g[0]).all()), g.shape
    (True, (3, 2))
    >>> round(noisy.stationary_loss(0.1), 6)
    0.000516
    """

    noise: float = 1.0
    stochastic = True

    def __post_init__(self) -> None:
        super().__post_init__()
        real_field(self, "noise", low=0.0)

    def sample_grad(self, theta: Any, rng: np.random.Generator) -> Any:
        """Return :math:`A\\theta + \\sigma\\xi`, one :math:`\\xi` for every point of the batch."""
        xi = rng.standard_normal(self.dim)
        grad = self.grad(theta)
        return grad + constant_like(self.noise * xi, grad)

    def stationary_loss(self, lr: float) -> float:
        """Return :math:`\\sum_i \\alpha\\sigma^2 / (2(2 - \\alpha\\lambda_i))`, SGD's expected loss at equilibrium."""
        if not 0 < lr < self.lr_critical:
            raise ValueError(f"lr must be in (0, {self.lr_critical:g}) (= 2/L) for SGD to settle, got {lr!r}")
        return float(np.sum(lr * self.noise**2 / (2 * (2 - lr * self.eigenvalues))))
