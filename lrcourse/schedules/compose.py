"""Schedules made of schedules: linear warmup, and one schedule after another."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules._base import Schedule, linear
from lrcourse.validation import MAX_STEPS, check, integer_field, is_real, real_field

__all__ = ["Warmup", "Join"]


@dataclass(frozen=True)
class Warmup(Schedule):
    r"""Ramp the learning rate linearly from ``start_lr`` into any schedule.

    .. math::
        \alpha_t = \begin{cases}
            \alpha_{\text{start}} + (\beta_0 - \alpha_{\text{start}})\, t / W & t < W \\
            \beta_{t - W} & t \ge W
        \end{cases}

    where :math:`\beta` is ``schedule`` and :math:`W` is ``warmup_steps``: the wrapped
    schedule starts its own clock when the warmup ends, so the curve is continuous at
    :math:`t = W`.

    The first update (step 0) uses ``start_lr`` exactly. With the default
    ``start_lr=0``, the convention of optax's linear warmup from ``init_value=0``, the
    first update has rate 0: plain SGD does not move (a method with momentum or an
    adaptive denominator still records the first gradient in its state), and the rate
    reaches :math:`\beta_0` at update :math:`W + 1`. torch's ``LinearLR`` starts instead
    at ``start_factor`` times the rate, 1/3 by default. nanoGPT's convention is
    :math:`\beta_0 (t + 1) / (W + 1)`, non-zero from the first update (its rate was
    :math:`\beta_0 t / W`, 0 at iteration 0, until karpathy/nanoGPT#578 fixed #443);
    it is ``start_lr`` :math:`= \beta_0 / (W + 1)` here, since then
    :math:`\alpha_t = \beta_0 (t + 1) / (W + 1)` for :math:`t < W`.

    >>> from lrcourse.schedules import Constant
    >>> Warmup(Constant(1.0), warmup_steps=4)(np.array([0, 1, 4, 10]))
    array([0.  , 0.25, 1.  , 1.  ])
    >>> Warmup(Constant(1.0), warmup_steps=4, start_lr=1.0 / 5)(np.arange(5))  # nanoGPT's (t + 1) / (W + 1)
    array([0.2, 0.4, 0.6, 0.8, 1. ])

    References:
        Goyal, P. et al. (2017). Accurate, large minibatch SGD: training ImageNet in
        1 hour. arXiv:1706.02677.
        Karpathy, A. nanoGPT, ``train.py``, ``get_lr``: issue #443 (a rate of 0 at
        iteration 0) and pull request #578 (the rate :math:`(t + 1)/(W + 1)`).
    """

    schedule: Schedule
    warmup_steps: int
    start_lr: float = 0.0

    def __post_init__(self) -> None:
        check(isinstance(self.schedule, Schedule), "schedule", "an lrcourse schedule", self.schedule)
        integer_field(self, "warmup_steps", low=1, high=MAX_STEPS)
        real_field(self, "start_lr", low=0.0)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        target = self.schedule.formula(np.zeros(()))
        ramp = linear(self.start_lr, target, t / self.warmup_steps)
        after = self.schedule.formula(np.maximum(t - self.warmup_steps, 0.0))
        return np.where(t < self.warmup_steps, ramp, after)


@dataclass(frozen=True)
class Join(Schedule):
    r"""Run schedules one after another, each restarting its clock at its boundary.

    .. math::
        \alpha_t = \beta^{(k)}_{t - b_k} \quad \text{for } b_k \le t < b_{k+1},
        \qquad b_0 = 0,

    where :math:`\beta^{(0)}, \beta^{(1)}, \dots` are ``schedules`` and
    :math:`b_1 < b_2 < \dots` are ``boundaries`` (one fewer than the schedules, each
    :math:`> 0`). Like optax's ``join_schedules``: after a boundary the next schedule sees
    ``step - boundary``.

    >>> from lrcourse.schedules import Constant, ExponentialDecay
    >>> s = Join([Constant(1.0), ExponentialDecay(1.0, 0.5)], boundaries=[3])
    >>> s(np.array([0, 2, 3, 4, 5]))
    array([1.  , 1.  , 1.  , 0.5 , 0.25])
    """

    schedules: Sequence[Schedule]
    boundaries: Sequence[float]

    def __post_init__(self) -> None:
        check(isinstance(self.schedules, Iterable), "schedules", "a non-empty sequence of lrcourse schedules",
              self.schedules, TypeError)
        schedules = tuple(self.schedules)
        check(len(schedules) >= 1 and all(isinstance(s, Schedule) for s in schedules),
              "schedules", "a non-empty sequence of lrcourse schedules", self.schedules)
        check(isinstance(self.boundaries, Iterable), "boundaries", "a sequence of numbers", self.boundaries, TypeError)
        boundaries = tuple(self.boundaries)
        ok = len(boundaries) == len(schedules) - 1 and all(
            is_real(b) and 0 < b <= sys.float_info.max for b in boundaries)
        ok = ok and all(a < b for a, b in zip(boundaries, boundaries[1:]))
        check(ok, "boundaries",
              f"{len(schedules) - 1} strictly increasing finite numbers > 0 (one fewer than schedules)",
              self.boundaries)
        object.__setattr__(self, "schedules", schedules)
        object.__setattr__(self, "boundaries", tuple(float(b) for b in boundaries))

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        which = np.searchsorted(np.asarray(self.boundaries), t, side="right")
        offsets = (0.0, *self.boundaries)
        lr = np.zeros_like(t)
        for k, (schedule, offset) in enumerate(zip(self.schedules, offsets)):
            lr = np.where(which == k, schedule.formula(np.maximum(t - offset, 0.0)), lr)
        return lr
