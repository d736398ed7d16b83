r"""Checkers for chapter 6, part I, *The edge of stability and warmup*.

Each ``check_…`` runs the reader's function and a reference on the same inputs and
returns a :class:`~lrcourse.exercises.CheckResult` whose message says in plain words what
is wrong on the first case that fails (see :func:`lrcourse.exercises.check`). The
references are measured, not typed:

- :func:`check_adam_threshold`: the largest curvature :math:`a` of a one-dimensional
  quadratic on which Adam's momentum update (a fixed preconditioner) stays stable, found
  by bisection on the spectral radius of the update's 2 × 2 matrix
  (:func:`adam_threshold_reference`);
- :func:`check_radam_rectification`: RAdam's rectification :math:`r_t`, against
  :func:`lrcourse.schedules.radam_rectification` (which the package's tests compare with the
  steps that ``torch.optim.RAdam`` takes; the core, and so this module, does not import torch).

>>> check_adam_threshold(lambda lr, beta1: (2 + 2 * beta1) / (lr * (1 - beta1))).passed
True
>>> print(check_adam_threshold(lambda lr, beta1: 2 / lr).message.splitlines()[0])
✗ adam_threshold disagrees with the reference on case 1 of 12.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.schedules import radam_rectification

__all__ = [
    "adam_threshold_reference",
    "radam_rectification_reference",
    "check_adam_threshold",
    "check_radam_rectification",
]


def _spectral_radius(a: float, lr: float, beta1: float) -> float:
    """The spectral radius of (m, x) -> (β₁m + (1 − β₁)ax, x − α(β₁m + (1 − β₁)ax)) on J(x) = ax²/2."""
    M = np.array([[beta1, (1 - beta1) * a], [-lr * beta1, 1 - lr * (1 - beta1) * a]])
    return float(np.abs(np.linalg.eigvals(M)).max())


def adam_threshold_reference(lr: float, beta1: float) -> float:
    r"""The largest curvature :math:`a` at which momentum with an EMA is stable on :math:`J(x) = a x^2 / 2`.

    The update :math:`m_{t+1} = \beta_1 m_t + (1 - \beta_1) a x_t`,
    :math:`x_{t+1} = x_t - \alpha m_{t+1}` (Adam's, with its preconditioner frozen and
    folded into :math:`a`) is linear in :math:`(m, x)`; the answer is where the spectral
    radius of its matrix passes 1, found by bisection to a relative :math:`10^{-12}`, not
    from a formula.
    """
    lo, hi = 0.0, 1.0 / lr
    while _spectral_radius(hi, lr, beta1) <= 1 + 1e-12:
        hi *= 2.0
    while hi - lo > 1e-13 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _spectral_radius(mid, lr, beta1) <= 1 + 1e-12 else (lo, mid)
    return 0.5 * (lo + hi)


def check_adam_threshold(candidate: Callable[..., Any], n: int = 12, seed: int = 61) -> CheckResult:
    r"""Check ``candidate(lr, beta1)``, the preconditioned sharpness above which Adam's update diverges on a quadratic.

    The reference is :func:`adam_threshold_reference`, measured on the quadratic. The first
    case is :math:`\alpha = 0.01, \beta_1 = 0.9`; the others draw :math:`\alpha` in
    :math:`[10^{-4}, 1]` and :math:`\beta_1` in :math:`[0, 0.99]`.
    """
    first = (0.01, 0.9)
    cases = [first] + random_cases(lambda rng: (float(10 ** rng.uniform(-4, 0)), float(rng.uniform(0.0, 0.99))),
                                   n=max(n - 1, 1), seed=seed)
    return check(candidate, adam_threshold_reference, cases[:n], name="adam_threshold", rtol=1e-6,
                 hint="write one step of the update on J(x) = a x²/2 as a 2 × 2 matrix acting on (m, x) and ask "
                      "where an eigenvalue reaches −1 (det(M + I) = 0). Plain gradient descent's 2/α forgets the "
                      "momentum; with an EMA the gradient enters m with the factor (1 − β₁).")


def radam_rectification_reference(step: int, beta2: float) -> float:
    r"""RAdam's :math:`r_t` after ``step`` updates (0 where it takes no adaptive step).

    :func:`lrcourse.schedules.radam_rectification`, which ``tests/test_radam_rectification.py``
    compares with ``torch.optim.RAdam``'s own steps in float64.
    """
    return float(radam_rectification(int(step), float(beta2)))


def check_radam_rectification(candidate: Callable[..., Any], n: int = 16, seed: int = 62) -> CheckResult:
    r"""Check ``candidate(step, beta2)``, RAdam's :math:`r_t` after ``step`` updates (0 where not adaptive).

    The reference is :func:`radam_rectification_reference`, the package's function, tested
    against ``torch.optim.RAdam``'s steps. ``step`` counts the updates already applied (0 for
    the first one); the cases include the first update, the last one without an adaptive step and the first with
    one, for :math:`\beta_2 = 0.999`, then random steps below 300 and :math:`\beta_2` in
    :math:`[0.9, 0.9995]`.
    """
    fixed = [(0, 0.999), (4, 0.999), (5, 0.999), (100, 0.99)]
    cases = fixed + random_cases(lambda rng: (int(rng.integers(0, 300)), float(rng.choice([0.9, 0.95, 0.99, 0.995,
                                                                                           0.999, 0.9995]))),
                                 n=max(n - len(fixed), 1), seed=seed)
    return check(candidate, radam_rectification_reference, cases[:n], name="radam_rectification", rtol=1e-9,
                 hint="the update after `step` updates is torch's n = step + 1-th: ρ_t = ρ_∞ − 2nβ₂ⁿ/(1 − β₂ⁿ) with "
                      "ρ_∞ = 2/(1 − β₂) − 1, and r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t)) only "
                      "where ρ_t > 5 (torch's threshold; Liu et al.'s Algorithm 1 writes ρ_t > 4); return 0.0 elsewhere.")
