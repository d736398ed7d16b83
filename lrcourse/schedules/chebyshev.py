"""Chebyshev steps: the rates that are best on a quadratic whose curvatures lie in [μ, L]."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules._base import Schedule
from lrcourse.validation import MAX_STEPS, check, integer_field, real_field

__all__ = ["Chebyshev"]


@dataclass(frozen=True)
class Chebyshev(Schedule):
    r"""Cycle through the inverse roots of the Chebyshev polynomial moved onto :math:`[\mu, L]`.

    With :math:`k = t \bmod n` the place of step :math:`t` in its cycle of :math:`n` steps,

    .. math::
        \alpha_t = \left(\frac{L + \mu}{2} + \frac{L - \mu}{2}
                   \cos\frac{\pi(2k + 1)}{2n}\right)^{-1}, \qquad k = t \bmod n.

    ``mu`` and ``L`` are the curvature bounds :math:`0 < \mu \le L` (the smallest and
    largest eigenvalues of the Hessian, :math:`\kappa = L/\mu`), ``n`` the length of a
    cycle (:math:`\ge 1`). The denominators are the roots of
    :math:`T_n\big((2\lambda - L - \mu)/(L - \mu)\big)`, :math:`T_n` the Chebyshev
    polynomial of degree :math:`n`; :math:`k = 0` is the root nearest :math:`L`, so each
    cycle starts with its smallest rate and ends with its largest, close to
    :math:`1/\mu`. A fractional step takes the rate of the whole step below it. With
    :math:`n = 1` the one rate is :math:`2/(L + \mu)`, the best constant rate.

    Gradient descent on a quadratic multiplies the eigen-coordinate of curvature
    :math:`\lambda` by :math:`1 - \alpha_t \lambda` at step :math:`t`, so after one full
    cycle by :math:`p_n(\lambda) = \prod_{k=0}^{n-1}(1 - \alpha_k \lambda)`: the polynomial
    of degree :math:`n` with :math:`p_n(0) = 1` whose roots are the :math:`1/\alpha_k`, that
    is the scaled Chebyshev polynomial

    .. math::
        p_n(\lambda) = \frac{T_n\big((L + \mu - 2\lambda)/(L - \mu)\big)}
                            {T_n\big((\kappa + 1)/(\kappa - 1)\big)},
        \qquad
        \max_{\lambda \in [\mu, L]} |p_n(\lambda)|
        = \frac{1}{T_n\big(\frac{\kappa + 1}{\kappa - 1}\big)}
        \le 2\left(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\right)^{n},

    the smallest maximum any :math:`n` steps of gradient descent can reach on
    :math:`[\mu, L]` (for :math:`\mu = L` one step of :math:`1/L` solves the problem). The
    guarantee is for whole cycles; inside one the distance can grow far above its start,
    and the order of the steps decides by how much (chapter 1 shows both orders). This is
    Richardson's iteration with Chebyshev parameters, the Chebyshev iteration, analysed by
    Young (1953).

    The code computes the denominator as :math:`\mu + (L - \mu)\cos^2\frac{\pi(2k + 1)}{4n}`,
    the same number (:math:`1 + \cos 2x = 2\cos^2 x`), which is never below :math:`\mu`
    and does not overflow when :math:`L` is near the largest float. ``mu`` must have a
    finite inverse (:math:`\mu \ge 5.6 \times 10^{-309}`), the largest possible rate.

    >>> sched = Chebyshev(mu=1.0, L=3.0, n=2)
    >>> 1 / sched(np.arange(3))  # 2 ± cos(π/4), the roots of T_2(λ - 2) = 2(λ - 2)² - 1; then again
    array([2.70710678, 1.29289322, 2.70710678])
    >>> Chebyshev(mu=1.0, L=3.0, n=1)(np.arange(2))  # n = 1: 2/(μ + L) at every step
    array([0.5, 0.5])

    References:
        Young, D. (1953). On Richardson's method for solving linear systems with
        positive definite matrices. Journal of Mathematics and Physics, 32, 243–255.
    """

    mu: float
    L: float
    n: int

    def __post_init__(self) -> None:
        mu = real_field(self, "mu", low=0.0, low_open=True)
        check(math.isfinite(1.0 / mu), "mu", "a number with a finite inverse 1/mu (>= 5.6e-309)", mu)
        real_field(self, "L", low=mu)
        integer_field(self, "n", low=1, high=MAX_STEPS)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        k = np.floor(np.fmod(t, self.n))  # the place of step t in its cycle, 0 … n − 1
        # (L + μ)/2 + (L − μ)/2 · cos(π(2k + 1)/(2n)), written as μ + (L − μ) cos²(π(2k + 1)/(4n))
        curvature = self.mu + (self.L - self.mu) * np.cos(np.pi * (2.0 * k + 1.0) / (4.0 * self.n)) ** 2
        return 1.0 / curvature
