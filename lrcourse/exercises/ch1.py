r"""Checkers for chapter 1, *What the learning rate does*.

Each ``check_…`` runs the reader's function against the package's own answer on
random inputs (see :func:`lrcourse.exercises.check`) and returns a
:class:`~lrcourse.exercises.CheckResult` whose message says in plain words what is
wrong, if anything.

- :func:`check_gradient_step`: one gradient-descent step for ``K`` runs at once,
  :math:`\theta^{(k)} \leftarrow \theta^{(k)} - \alpha_k\, g^{(k)}`, against
  :class:`lrcourse.numpy.SGD`.
- :func:`check_rates`: the critical rate :math:`2/L` and the optimal rate
  :math:`2/(\mu + L)` of a quadratic from its Hessian, against
  ``numpy.linalg.eigvalsh``.
- :func:`check_steps_to_tolerance`: the number of steps gradient descent at
  :math:`\alpha = 2/(\mu + L)` needs to shrink the error by a factor ``tol``, from
  :meth:`lrcourse.problems.Quadratic.contraction`.

A common slip, reading the curvatures off the diagonal of the Hessian:

>>> import numpy as np
>>> result = check_rates(lambda H: (2 / H.diagonal().max(), 2 / (H.diagonal().min() + H.diagonal().max())))
>>> result.passed, result.message.splitlines()[-1].startswith("  Hint: L and mu are the largest and smallest eigenvalues")
(False, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.numpy import SGD
from lrcourse.problems import Quadratic

__all__ = ["check_gradient_step", "check_rates", "check_steps_to_tolerance"]


def _gradient_step_case(rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    # K runs of d parameters; K and d differ in most cases, so a rate that is not made a
    # column fails to broadcast, and agree in some, where it broadcasts to wrong values.
    K, d = (int(n) for n in rng.integers(1, 7, size=2))
    theta = rng.normal(size=(K, d))
    grad = rng.normal(size=(K, d))
    lr = np.exp(rng.uniform(np.log(1e-3), np.log(2.0), size=K))
    return theta, grad, lr


def _sgd_step(theta: NDArray[np.float64], grad: NDArray[np.float64], lr: NDArray[np.float64]) -> NDArray[np.float64]:
    """The package's gradient-descent step: plain SGD with one rate per run (row)."""
    opt = SGD(lr=lr)
    new_theta, _ = opt.step(theta, grad, opt.init(theta))
    return new_theta


def check_gradient_step(candidate: Callable[..., Any], n: int = 25, seed: int = 0) -> CheckResult:
    r"""Check ``candidate(theta, grad, lr)``: one gradient-descent step for ``K`` runs at once.

    ``theta`` and ``grad`` have shape ``(K, d)`` (row :math:`k` is run :math:`k`),
    ``lr`` has shape ``(K,)``; the answer is the new ``(K, d)`` array
    :math:`\theta^{(k)} - \alpha_k g^{(k)}`, row by row, with the inputs left unchanged.
    The reference is :class:`lrcourse.numpy.SGD` with the rates as an array, the
    update that :func:`lrcourse.sweep.sweep` applies to all its runs at once.

    >>> check_gradient_step(lambda theta, grad, lr: theta - lr[:, None] * grad).passed
    True
    >>> print(check_gradient_step(lambda theta, grad, lr: theta + lr[:, None] * grad).message.splitlines()[0])
    ✗ gradient_step disagrees with the reference on case 1 of 25.
    """
    return check(candidate, _sgd_step, random_cases(_gradient_step_case, n=n, seed=seed), name="gradient_step",
                 hint="row k must move against its own gradient by lr[k] times it. lr has shape (K,): give it "
                      "a second axis of length 1, shape (K, 1), so that it broadcasts along the d entries of "
                      "each row instead of across the rows.")


def _hessian_case(rng: np.random.Generator) -> tuple[NDArray[np.float64]]:
    # A random symmetric positive-definite matrix with curvatures spread over up to four
    # decades, in a random orthonormal basis (so its diagonal is not its eigenvalues).
    d = int(rng.integers(2, 7))
    curvatures = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), size=d))
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    hessian = basis @ np.diag(curvatures) @ basis.T
    return ((hessian + hessian.T) / 2,)


def _rates(hessian: NDArray[np.float64]) -> tuple[float, float]:
    """The reference: the extreme eigenvalues of the symmetric ``hessian``, and the two rates."""
    curvatures = np.linalg.eigvalsh(hessian)  # ascending
    mu, L = float(curvatures[0]), float(curvatures[-1])
    return 2.0 / L, 2.0 / (mu + L)


def check_rates(candidate: Callable[..., Any], n: int = 25, seed: int = 0) -> CheckResult:
    r"""Check ``candidate(H)``: the rates ``(2 / L, 2 / (mu + L))`` of the quadratic with Hessian ``H``.

    ``H`` is a symmetric positive-definite ``(d, d)`` array with :math:`2 \le d \le 6`,
    not diagonal; :math:`L` and :math:`\mu` are its largest and smallest eigenvalues.
    The answer is a pair: the critical rate :math:`2/L`, at and above which gradient
    descent diverges, and the optimal constant rate :math:`2/(\mu + L)`. The
    reference uses ``numpy.linalg.eigvalsh``.

    >>> import numpy as np
    >>> def rates(H):
    ...     curvatures = np.linalg.eigvalsh(H)
    ...     return 2 / curvatures.max(), 2 / (curvatures.min() + curvatures.max())
    >>> check_rates(rates).passed
    True
    """
    return check(candidate, _rates, random_cases(_hessian_case, n=n, seed=seed), name="rates", rtol=1e-8,
                 hint="L and mu are the largest and smallest eigenvalues of H (numpy.linalg.eigvalsh(H) returns "
                      "them in ascending order), not its diagonal entries; return the pair (2 / L, 2 / (mu + L)).")


def _tolerance_case(rng: np.random.Generator) -> tuple[float, float]:
    kappa = float(np.exp(rng.uniform(np.log(1.5), np.log(1e4))))
    tol = float(10.0 ** rng.uniform(-12.0, -1.0))
    return kappa, tol


def _steps_to_tolerance(kappa: float, tol: float) -> int:
    """The reference: the smallest t with rho**t <= tol, rho the contraction at the optimal rate."""
    bowl = Quadratic(kappa=kappa)
    rho = bowl.contraction(bowl.lr_optimal)  # (kappa - 1) / (kappa + 1)
    return math.ceil(math.log(tol) / math.log(rho))


def check_steps_to_tolerance(candidate: Callable[..., Any], n: int = 25, seed: int = 0) -> CheckResult:
    r"""Check ``candidate(kappa, tol)``: the steps gradient descent at its best rate needs to reach ``tol``.

    On a quadratic with condition number ``kappa`` (:math:`\kappa > 1`), gradient
    descent at :math:`\alpha = 2/(\mu + L)` shrinks the distance to the minimum by at
    least :math:`\rho = (\kappa - 1)/(\kappa + 1)` per step. The answer is the
    smallest integer :math:`t` with :math:`\rho^t \le` ``tol`` (``0 < tol < 1``),
    i.e. :math:`\lceil \ln(\mathrm{tol}) / \ln \rho \rceil`. The reference takes
    :math:`\rho` from :meth:`lrcourse.problems.Quadratic.contraction`.

    >>> import math
    >>> check_steps_to_tolerance(lambda kappa, tol: math.ceil(math.log(tol) / math.log((kappa - 1) / (kappa + 1)))).passed
    True
    """
    return check(candidate, _steps_to_tolerance, random_cases(_tolerance_case, n=n, seed=seed),
                 name="steps_to_tolerance",
                 hint="the distance shrinks by rho = (kappa - 1) / (kappa + 1) per step; solve rho**t <= tol "
                      "for the smallest integer t (math.ceil of a ratio of logarithms).")
