"""Warmup–stable–decay: warm up, hold the rate, cool down at the end (Hägele et al., 2024; Hu et al., 2024)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules._base import Schedule, cosine, positive_lr
from lrcourse.validation import MAX_STEPS, check, integer_field, real_field

__all__ = ["WarmupStableDecay"]

_DECAYS = ("linear", "cosine", "1-sqrt")


@dataclass(frozen=True)
class WarmupStableDecay(Schedule):
    r"""Warm up linearly from 0, hold ``lr``, then cool down to ``min_lr`` over the last ``decay_steps``.

    With :math:`W` = ``warmup_steps``, :math:`T` = ``total_steps``, :math:`D` =
    ``decay_steps``, the cooldown's start :math:`S = T - D` and its progress
    :math:`p = (t - S) / D`,

    .. math::
        \alpha_t = \begin{cases}
            \alpha_0 \, t / W & t < W \quad \text{(warmup)} \\
            \alpha_0 & W \le t < S \quad \text{(stable)} \\
            \alpha_{\min} + (\alpha_0 - \alpha_{\min})\, c(p) & S \le t < T \quad \text{(decay)} \\
            \alpha_{\min} & t \ge T
        \end{cases}

    where ``lr`` is :math:`\alpha_0`, ``min_lr`` is :math:`\alpha_{\min} \in [0, \alpha_0]`
    and ``decay`` chooses the cooldown's shape :math:`c`, from :math:`c(0) = 1` to
    :math:`c(1) = 0`: ``"linear"``, :math:`c(p) = 1 - p`; ``"cosine"``,
    :math:`c(p) = (1 + \cos \pi p)/2`; ``"1-sqrt"``, :math:`c(p) = 1 - \sqrt{p}`, the
    shape Hägele et al. found best. The rate of the last update, :math:`t = T - 1`, is
    :math:`c(1 - 1/D)` of the way down; :math:`\alpha_{\min}` is reached at
    :math:`t = T` and held after. Step 0 has rate 0 when :math:`W > 0`, as in
    :class:`~lrcourse.schedules.Warmup` (which explains that convention); ``W = 0``
    starts at :math:`\alpha_0`. The phases must fit: :math:`W + D \le T` (no stable
    phase when equal), :math:`D \ge 1`.

    The point of the schedule is that the stable phase does not depend on :math:`T`: a
    run at constant rate can be extended, and a cooldown branched off it at any step,
    where a cosine must be planned for its horizon. ``decay_steps`` defaults to 20 % of
    ``total_steps`` (rounded, at least 1): Hägele et al. report that a cooldown of about
    20 % of the steps matches the cosine schedule's final loss. ``decay`` defaults to
    ``"linear"``, their baseline cooldown and the shape of Bergsma et al.'s linear decay
    to zero; ``"1-sqrt"`` is the one they recommend.

    The same values as ``transformers.get_wsd_schedule`` (``num_warmup_steps=W``,
    ``num_decay_steps=D``, ``num_training_steps=T``, ``decay_type``,
    ``min_lr_ratio=min_lr / lr``) with one difference, on purpose: transformers' warmup
    starts at ``min_lr`` (:math:`\alpha_{\min} + (\alpha_0 - \alpha_{\min}) t / W`), this
    one at 0, the linear warmup from 0 of Hägele et al. and MiniCPM. With ``min_lr=0``
    the two agree at every step. (MiniCPM's own cooldown is exponential; its
    warmup–stable–decay structure is what is followed here.)

    >>> s = WarmupStableDecay(1.0, total_steps=10, warmup_steps=2, decay_steps=4)
    >>> s(np.array([0, 1, 2, 5, 6, 7, 8, 9, 10, 20]))
    array([0.  , 0.5 , 1.  , 1.  , 1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ])
    >>> WarmupStableDecay(1.0, total_steps=100).decay_steps
    20

    References:
        Hägele, A., Bakouch, E., Kosson, A., Ben Allal, L., Von Werra, L., & Jaggi, M.
        (2024). Scaling laws and compute-optimal training beyond fixed training
        durations. NeurIPS. arXiv:2405.18392.
        Hu, S. et al. (2024). MiniCPM: unveiling the potential of small language models
        with scalable training strategies. arXiv:2404.06395.
        Bergsma, S. et al. (2025). Straight to zero: why linearly decaying the learning
        rate to zero works best for LLMs. ICLR. arXiv:2502.15938.
    """

    lr: float
    total_steps: int
    warmup_steps: int = 0
    decay_steps: int | None = None
    decay: str = "linear"
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        lr = positive_lr(self)
        total = integer_field(self, "total_steps", low=1, high=MAX_STEPS)
        warmup = integer_field(self, "warmup_steps", low=0, high=total - 1)
        if self.decay_steps is None:
            object.__setattr__(self, "decay_steps", max(1, (total + 2) // 5))  # round(T / 5), no ties
            check(warmup + self.decay_steps <= total, "warmup_steps",
                  f"at most total_steps - decay_steps = {total - self.decay_steps} (decay_steps defaults to 20 % "
                  f"of total_steps, {self.decay_steps}; pass a shorter one)", warmup)
        integer_field(self, "decay_steps", low=1, high=total - warmup)
        check(self.decay in _DECAYS, "decay", f"one of {_DECAYS}", self.decay)
        real_field(self, "min_lr", low=0.0, high=lr)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        assert self.decay_steps is not None  # filled in by __post_init__
        start = self.total_steps - self.decay_steps
        p = np.clip((t - start) / self.decay_steps, 0.0, 1.0)
        if self.decay == "linear":
            shape = 1.0 - p
        elif self.decay == "cosine":
            shape = cosine(1.0, 0.0, p)
        else:
            shape = 1.0 - np.sqrt(p)
        lr = np.where(t < start, self.lr, self.min_lr + (self.lr - self.min_lr) * shape)
        if self.warmup_steps > 0:
            lr = np.where(t < self.warmup_steps, self.lr * (t / self.warmup_steps), lr)
        return lr
