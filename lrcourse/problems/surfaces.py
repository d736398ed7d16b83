"""Classic 2-D test surfaces: a curved valley, flat plateaus, a saddle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lrcourse.problems._base import Problem, stack_last
from lrcourse.validation import real_field

__all__ = ["Rosenbrock", "Beale", "Saddle"]


@dataclass(frozen=True)
class Rosenbrock(Problem):
    r"""Rosenbrock's banana: a narrow curved valley with a flat floor.

    .. math::

        f(x, y) = (a - x)^2 + b\,(y - x^2)^2, \qquad
        \nabla f = \begin{pmatrix} -2(a - x) - 4 b x (y - x^2) \\ 2 b (y - x^2) \end{pmatrix}

    ``a`` and ``b`` are :math:`a` and :math:`b`. The minimum is :math:`(a, a^2)`,
    :math:`f^\star = 0`. Across the valley the curvature is about :math:`2b(1 + 4x^2)`
    (200 and more with :math:`b = 100`), along its floor about 2 or less: a
    condition number in the hundreds, which a single learning rate cannot serve in
    both directions. Gradient descent starting from Rosenbrock's point
    :math:`(-1.2, 1)` needs :math:`\alpha \lesssim 10^{-3}`, and then crawls.

    References:
        Rosenbrock, H. H. (1960). An automatic method for finding the greatest or least
        value of a function. The Computer Journal 3(3).

    >>> f = Rosenbrock()
    >>> float(f.value(f.minimum)), float(f.value(f.x0))
    (0.0, 24.199999999999996)
    >>> f.grad(f.x0).round(6)  # steep across the valley, gentle along it
    array([-215.6,  -88. ])
    """

    a: float = 1.0
    b: float = 100.0

    dim = 2
    x0 = (-1.2, 1.0)
    f_min = 0.0
    bounds = ((-2.0, 2.0), (-1.0, 3.0))

    def __post_init__(self) -> None:
        real_field(self, "a", low=-float("inf"))
        real_field(self, "b", low=0.0, low_open=True)

    @property
    def minimum(self) -> tuple[float, float]:  # type: ignore[override]
        return (self.a, self.a**2)

    def _value(self, theta: Any) -> Any:
        x, y = theta[..., 0], theta[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _grad(self, theta: Any) -> Any:
        x, y = theta[..., 0], theta[..., 1]
        return stack_last([-2 * (self.a - x) - 4 * self.b * x * (y - x**2), 2 * self.b * (y - x**2)], theta)


@dataclass(frozen=True)
class Beale(Problem):
    r"""Beale's function: a minimum in a narrow valley, flat plateaus, steep walls.

    .. math::

        f(x, y) = \sum_{i=1}^{3} r_i^2, \qquad r_i = c_i - x + x y^i, \qquad
        (c_1, c_2, c_3) = (1.5,\ 2.25,\ 2.625)

    with gradient :math:`\partial_x f = \sum_i 2 r_i (y^i - 1)`,
    :math:`\partial_y f = \sum_i 2 r_i\, i\, x y^{i-1}`. The minimum is
    :math:`(3, 0.5)`, :math:`f^\star = 0`. The gradient varies over orders of
    magnitude (the :math:`y^3` term), so a learning rate that moves on the plateau
    overshoots near the walls: a favourite for comparing Adam with plain descent.

    References:
        Beale, E. M. L. (1958). On an iterative method for finding a local minimum of a
        function of more than one variable. Technical Report 25, Statistical
        Techniques Research Group, Princeton University.

    >>> f = Beale()
    >>> float(f.value(f.minimum)), f.grad(f.minimum).tolist()
    (0.0, [0.0, 0.0])
    """

    dim = 2
    x0 = (1.0, 1.5)
    minimum = (3.0, 0.5)
    f_min = 0.0
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    c = (1.5, 2.25, 2.625)

    def _value(self, theta: Any) -> Any:
        x, y = theta[..., 0], theta[..., 1]
        return sum((c - x + x * y**i) ** 2 for i, c in enumerate(self.c, start=1))

    def _grad(self, theta: Any) -> Any:
        x, y = theta[..., 0], theta[..., 1]
        residuals = [(i, c - x + x * y**i) for i, c in enumerate(self.c, start=1)]
        dx = sum(2 * r * (y**i - 1) for i, r in residuals)
        dy = sum(2 * r * i * x * y ** (i - 1) for i, r in residuals)
        return stack_last([dx, dy], theta)


@dataclass(frozen=True)
class Saddle(Problem):
    r"""A saddle at the origin between two minima: where gradient descent stalls.

    .. math::

        f(x, y) = \tfrac12 x^2 - \tfrac12 y^2 + \tfrac14 y^4, \qquad
        \nabla f = \begin{pmatrix} x \\ y^3 - y \end{pmatrix}

    At the saddle :math:`(0, 0)` the curvatures are :math:`+1` along :math:`x` and
    :math:`-1` along :math:`y`; the minima are :math:`(0, \pm 1)`, with
    :math:`f^\star = -1/4`. Started at :math:`(1, 0.01)`, close to the ridge
    :math:`y = 0`, gradient descent with rate :math:`\alpha` first slides into the
    saddle (:math:`x` shrinks by :math:`1 - \alpha` per step) and only escapes as
    :math:`y` grows by about :math:`1 + \alpha` per step: some
    :math:`\ln(100)/\alpha` steps on a plateau whose length is set by the learning rate.

    >>> f = Saddle()
    >>> f.grad([[0.0, 0.0], [0.0, 1.0]]).tolist()  # the saddle and a minimum: both stationary
    [[0.0, 0.0], [0.0, 0.0]]
    >>> float(f.value(f.minimum))
    -0.25
    """

    dim = 2
    x0 = (1.0, 0.01)
    minimum = (0.0, 1.0)
    saddle = (0.0, 0.0)
    f_min = -0.25
    bounds = ((-1.5, 1.5), (-1.5, 1.5))

    def _value(self, theta: Any) -> Any:
        x, y = theta[..., 0], theta[..., 1]
        return 0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4

    def _grad(self, theta: Any) -> Any:
        x, y = theta[..., 0], theta[..., 1]
        return stack_last([x, y**3 - y], theta)
