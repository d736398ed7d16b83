r"""RAdam's variance rectification :math:`r_t`, the factor by which it scales Adam's step.

Adam's step divides by :math:`\sqrt{\hat v_t}`, an average of a few squared gradients in its
first steps: a noisy estimate, whose noise makes the first steps too large (Liu et al.
2020). RAdam multiplies the adaptive step by :math:`r_t`, which is 0 (no adaptive step)
for the first few updates and rises to 1: a warmup derived from the variance of
:math:`1/\sqrt{\hat v_t}`. Ma and Yarats 2021 show that a linear warmup over
:math:`2/(1 - \beta_2)` steps does about as much.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.validation import real, real_array

__all__ = ["radam_rectification"]


@overload
def radam_rectification(step: float, beta2: float = 0.999) -> float: ...


@overload
def radam_rectification(step: NDArray[Any], beta2: float = 0.999) -> NDArray[np.float64]: ...


def radam_rectification(step: ArrayLike, beta2: float = 0.999) -> float | NDArray[np.float64]:
    r"""Return RAdam's rectification :math:`r_t` of the update after ``step`` updates (0 where not adaptive).

    .. math::

        \rho_\infty = \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 n \beta_2^{n}}{1 - \beta_2^{n}}, \quad n = t + 1,

        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}}
        \quad \text{if } \rho_t > 5, \qquad r_t = 0 \text{ otherwise.}

    ``step`` is :math:`t`, the number of updates already applied (from 0, the book's and
    :class:`~lrcourse.schedules.Schedule`'s convention), so the update is torch's
    :math:`n = t + 1`-th (``state["step"]`` after it); ``beta2`` is Adam's :math:`\beta_2`.
    :math:`\rho_t` is the length of the simple moving average that the exponential average
    :math:`\hat v_t` resembles (it is 1 at the first update and rises to :math:`\rho_\infty`),
    and :math:`r_t` the factor that makes the variance of the adaptive step
    :math:`1/\sqrt{\hat v_t}` equal to its limit (Liu et al. 2020). torch.optim.RAdam then
    updates :math:`\theta_{t+1} = \theta_t - \alpha\, r_t\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)`
    where :math:`\rho_t > 5`, and :math:`\theta_{t+1} = \theta_t - \alpha \hat m_t` (momentum
    SGD, not divided by :math:`\sqrt{\hat v_t}`) where it is not, the steps where this
    function returns 0. For :math:`\beta_2 = 0.999` that is the first 5 updates; for
    :math:`\beta_2 \le 2/3`, :math:`\rho_\infty \le 5` and there is no adaptive step at all.
    The threshold 5 is torch's; Liu et al.'s Algorithm 1 writes :math:`\rho_t > 4`, where the
    variance of :math:`1/\sqrt{\hat v_t}` is finite (for :math:`\beta_2 = 0.999` the two differ
    at the fifth update, where :math:`\rho \approx 4.996`).
    A float for a scalar ``step``, a float64 array of its shape for an array.

    >>> radam_rectification(0), radam_rectification(4), round(radam_rectification(5), 4)  # ρ₁ = 1: no adaptive step
    (0.0, 0.0, 0.0258)
    >>> round(radam_rectification(10**6), 6)  # ρ_t → ρ_∞, so r_t → 1
    1.0

    References:
        Liu, L., Jiang, H., He, P., Chen, W., Liu, X., Gao, J. and Han, J. (2020). On the variance
        of the adaptive learning rate and beyond. ICLR.
        Ma, J. and Yarats, D. (2021). On the adequacy of untuned warmup for adaptive optimization.
        AAAI.
    """
    t = real_array("step", step, low=0.0)
    beta2 = real("beta2", beta2, low=0.0, high=1.0, high_open=True)
    n = t + 1.0
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        power = beta2 ** n
        rho = rho_inf - 2.0 * n * power / (1.0 - power)
        r = np.sqrt((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))
    r = np.asarray(np.where(rho > 5.0, r, 0.0), dtype=np.float64)
    return float(r) if r.ndim == 0 else r
