"""Schedules that only go down: constant, time decay, step, exponential, polynomial, cosine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules._base import Schedule, cosine, positive_lr
from lrcourse.validation import MAX_STEPS, check, integer_field, real_field

__all__ = [
    "Constant",
    "TimeDecay",
    "StepDecay",
    "MultiStepDecay",
    "ExponentialDecay",
    "PolynomialDecay",
    "CosineDecay",
]


@dataclass(frozen=True)
class Constant(Schedule):
    r"""Keep the learning rate fixed.

    .. math:: \alpha_t = \alpha_0

    ``lr`` is :math:`\alpha_0`.

    >>> Constant(0.1)(1000)
    0.1
    """

    lr: float

    def __post_init__(self) -> None:
        positive_lr(self)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full_like(t, self.lr)


@dataclass(frozen=True)
class TimeDecay(Schedule):
    r"""Decay the learning rate as an inverse power of time.

    .. math:: \alpha_t = \alpha_0 \, (1 + \gamma t)^{-p}

    ``lr`` is :math:`\alpha_0`, ``gamma`` is :math:`\gamma \ge 0` (how soon the decay
    starts: the rate halves around :math:`t = (2^{1/p} - 1)/\gamma`), ``power`` is
    :math:`p > 0` (how fast it decays afterwards). This is the seed's formula, Caffe's
    ``"inv"`` policy; Keras' ``InverseTimeDecay`` is the case :math:`p = 1`. With
    :math:`p \le 1` the rates sum to infinity while their squares (for :math:`p > 1/2`)
    stay finite, the Robbins–Monro conditions for stochastic approximation.

    >>> TimeDecay(0.1, gamma=0.5)(2)
    0.05
    >>> TimeDecay(1.0, gamma=1.0, power=2.0)(np.array([0, 1, 3]))
    array([1.    , 0.25  , 0.0625])
    """

    lr: float
    gamma: float
    power: float = 1.0

    def __post_init__(self) -> None:
        positive_lr(self)
        real_field(self, "gamma", low=0.0)
        real_field(self, "power", low=0.0, low_open=True)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lr * (1.0 + self.gamma * t) ** (-self.power)


@dataclass(frozen=True)
class StepDecay(Schedule):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    .. math:: \alpha_t = \alpha_0 \, \gamma^{\lfloor t / s \rfloor}

    ``lr`` is :math:`\alpha_0`, ``step_size`` is :math:`s`, ``gamma`` is
    :math:`\gamma \in (0, 1]`. The same values as ``torch.optim.lr_scheduler.StepLR``.

    >>> StepDecay(1.0, step_size=10, gamma=0.5)(np.array([0, 9, 10, 25]))
    array([1.  , 1.  , 0.5 , 0.25])
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        positive_lr(self)
        integer_field(self, "step_size", low=1, high=MAX_STEPS)
        real_field(self, "gamma", low=0.0, high=1.0, low_open=True)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lr * self.gamma ** np.floor(t / self.step_size)


@dataclass(frozen=True)
class MultiStepDecay(Schedule):
    r"""Multiply the learning rate by ``gamma`` at each milestone.

    .. math:: \alpha_t = \alpha_0 \, \gamma^{\#\{i \,:\, m_i \le t\}}

    ``milestones`` are the steps :math:`m_1 < m_2 < \dots` (strictly increasing, each
    :math:`\ge 1`; stored as a tuple), ``gamma`` is :math:`\gamma \in (0, 1]`. The same
    values as ``torch.optim.lr_scheduler.MultiStepLR``, which also accepts a repeated
    milestone (applying ``gamma`` twice); here a repeat is an error, since it is more
    often a typo than an intent.

    >>> MultiStepDecay(1.0, milestones=[30, 80], gamma=0.1)(np.array([29, 30, 80]))
    array([1.  , 0.1 , 0.01])
    """

    lr: float
    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        positive_lr(self)
        try:
            milestones = tuple(self.milestones)
        except TypeError:
            milestones = ()
        ok = len(milestones) > 0 and all(
            isinstance(m, (int, np.integer)) and not isinstance(m, bool) and 1 <= m <= MAX_STEPS for m in milestones
        )
        ok = ok and all(a < b for a, b in zip(milestones, milestones[1:]))
        check(ok, "milestones", f"a non-empty, strictly increasing sequence of integers in [1, {MAX_STEPS}]",
              self.milestones)
        object.__setattr__(self, "milestones", tuple(int(m) for m in milestones))
        real_field(self, "gamma", low=0.0, high=1.0, low_open=True)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        passed = np.searchsorted(np.asarray(self.milestones, dtype=np.float64), t, side="right")
        return self.lr * self.gamma**passed


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    r"""Multiply the learning rate by ``gamma`` every step.

    .. math:: \alpha_t = \alpha_0 \, \gamma^{t}

    ``gamma`` is :math:`\gamma \in (0, 1]`; the rate halves every
    :math:`\ln 2 / \ln(1/\gamma)` steps. The same values as
    ``torch.optim.lr_scheduler.ExponentialLR``.

    >>> ExponentialDecay(1.0, gamma=0.5)(3)
    0.125
    """

    lr: float
    gamma: float

    def __post_init__(self) -> None:
        positive_lr(self)
        real_field(self, "gamma", low=0.0, high=1.0, low_open=True)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lr * self.gamma**t


@dataclass(frozen=True)
class PolynomialDecay(Schedule):
    r"""Decay the learning rate polynomially to ``min_lr`` over ``total_steps``, then hold it.

    .. math::
        \alpha_t = \alpha_{\min} + (\alpha_0 - \alpha_{\min})
                   \left(1 - \frac{\min(t, T)}{T}\right)^{p}

    ``total_steps`` is :math:`T`, ``power`` is :math:`p > 0` (:math:`p = 1` is a
    straight line), ``min_lr`` is :math:`\alpha_{\min} \in [0, \alpha_0]`. With
    ``min_lr=0`` the same values as ``torch.optim.lr_scheduler.PolynomialLR``
    (``total_iters=T``), which has no floor.

    >>> PolynomialDecay(1.0, total_steps=4)(np.array([0, 1, 4, 9]))
    array([1.  , 0.75, 0.  , 0.  ])
    """

    lr: float
    total_steps: int
    power: float = 1.0
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        lr = positive_lr(self)
        integer_field(self, "total_steps", low=1, high=MAX_STEPS)
        real_field(self, "power", low=0.0, low_open=True)
        real_field(self, "min_lr", low=0.0, high=lr)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        remaining = 1.0 - np.minimum(t, self.total_steps) / self.total_steps
        return self.min_lr + (self.lr - self.min_lr) * remaining**self.power


@dataclass(frozen=True)
class CosineDecay(Schedule):
    r"""Decay the learning rate along half a cosine to ``min_lr`` over ``total_steps``, then hold it.

    .. math::
        \alpha_t = \alpha_{\min} + \frac{\alpha_0 - \alpha_{\min}}{2}
                   \left(1 + \cos\frac{\pi \min(t, T)}{T}\right)

    ``total_steps`` is :math:`T`, ``min_lr`` is :math:`\alpha_{\min} \in [0, \alpha_0]`.
    For :math:`t \le T` the same values as ``torch.optim.lr_scheduler.CosineAnnealingLR``
    (``T_max=T``, ``eta_min=min_lr``). After :math:`T` they differ on purpose: torch's
    curve keeps following the cosine and rises again towards :math:`\alpha_0` (its
    period is :math:`2T`), which is rarely what a training run that overshoots its
    planned length wants; this one holds :math:`\alpha_{\min}`. For restarts, use
    :class:`~lrcourse.schedules.WarmRestarts`.

    >>> CosineDecay(1.0, total_steps=10)(np.array([0, 5, 10, 20]))
    array([1. , 0.5, 0. , 0. ])
    """

    lr: float
    total_steps: int
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        lr = positive_lr(self)
        integer_field(self, "total_steps", low=1, high=MAX_STEPS)
        real_field(self, "min_lr", low=0.0, high=lr)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return cosine(self.lr, self.min_lr, np.minimum(t, self.total_steps) / self.total_steps)
