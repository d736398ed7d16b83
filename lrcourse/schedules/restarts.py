"""Cosine annealing with warm restarts (SGDR)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules._base import Schedule, cosine, positive_lr
from lrcourse.validation import real_field

__all__ = ["WarmRestarts"]


@dataclass(frozen=True)
class WarmRestarts(Schedule):
    r"""Anneal along a cosine, then restart at a high rate: SGDR (Loshchilov & Hutter, 2017).

    Cycle :math:`i = 0, 1, \dots` lasts :math:`T_i = T_0 \, T_{\text{mult}}^{\,i}` steps and
    starts at :math:`S_i = T_0 (T_{\text{mult}}^{\,i} - 1)/(T_{\text{mult}} - 1)`
    (:math:`S_i = i \, T_0` when :math:`T_{\text{mult}} = 1`). With
    :math:`T_{\text{cur}} = t - S_i` the steps since the last restart,

    .. math::
        \alpha_t = \alpha_{\min} + \frac{\hat\alpha_i - \alpha_{\min}}{2}
                   \left(1 + \cos\frac{\pi T_{\text{cur}}}{T_i}\right),
        \qquad \hat\alpha_i = \alpha_{\min} + (\alpha_0 - \alpha_{\min})\, d^{\,i}.

    ``T_0`` (:math:`\ge 1`) and ``T_mult`` (:math:`\ge 1`) may be fractional, and so may
    the step. ``restart_decay`` :math:`d \in (0, 1]` shrinks the peak after each restart:
    with ``min_lr=0`` the peak of cycle :math:`i` is :math:`\alpha_0 d^{\,i}`, so the seed's
    "reset to 0.8× the initial value" is ``restart_decay=0.8``. With ``restart_decay=1``
    the same values as ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``
    (including its fractional-epoch form ``scheduler.step(epoch)``).

    >>> WarmRestarts(1.0, T_0=10)(np.array([0, 5, 10, 15]))
    array([1. , 0.5, 1. , 0.5])
    >>> WarmRestarts(1.0, T_0=10, restart_decay=0.8)(np.array([10, 20]))
    array([0.8 , 0.64])

    References:
        Loshchilov, I., & Hutter, F. (2017). SGDR: stochastic gradient descent with
        warm restarts. ICLR.
    """

    lr: float
    T_0: float
    T_mult: float = 1
    min_lr: float = 0.0
    restart_decay: float = 1.0

    def __post_init__(self) -> None:
        lr = positive_lr(self)
        real_field(self, "T_0", low=1.0)
        real_field(self, "T_mult", low=1.0)
        real_field(self, "min_lr", low=0.0, high=lr)
        real_field(self, "restart_decay", low=0.0, high=1.0, low_open=True)

    def cycle_start(self, i: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return :math:`S_i`, the step at which cycle ``i`` starts."""
        if self.T_mult == 1.0:
            return self.T_0 * i
        return self.T_0 * ((self.T_mult**i - 1.0) / (self.T_mult - 1.0))

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.T_mult == 1.0:
            i = np.floor(t / self.T_0)
        else:
            i = np.floor(_log1p_product(t / self.T_0, self.T_mult - 1.0) / np.log(self.T_mult))
            # The logarithm can land a hair below an integer exactly at a restart:
            # move i to the cycle whose [start, next start) really holds t.
            i = np.where(self.cycle_start(i + 1.0) <= t, i + 1.0, i)
            i = np.where(self.cycle_start(i) > t, i - 1.0, i)
        # >= 0 even where the float64 cycles are too fine to tell apart (T_mult = 1 + 1e-16, t = 1e308)
        t_cur = np.maximum(t - self.cycle_start(i), 0.0)
        peak = self.min_lr + (self.lr - self.min_lr) * self.restart_decay**i
        return cosine(peak, self.min_lr, t_cur / self.T_0 / self.T_mult**i)  # T_cur / T_i


def _log1p_product(a: NDArray[np.float64], b: float) -> NDArray[np.float64]:
    r"""Return :math:`\log(1 + a b)` for :math:`a \ge 0` and :math:`b > 0`, also where :math:`a b` overflows.

    >>> round(float(_log1p_product(np.float64(1e308), 1e308)), 6)  # 616 log 10, though 1e616 is no float
    1418.392417
    """
    if b <= 1.0:
        return np.log1p(a * b)  # a * b <= a: no overflow
    return np.log(b) + np.log(a + 1.0 / b)
