"""Schedules that go up and down: cyclical learning rates and the one-cycle policy."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules._base import Schedule, cosine, linear, positive_lr
from lrcourse.validation import MAX_STEPS, check, flag, integer_field, real_field

__all__ = ["Cyclic", "OneCycle"]

_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True)
class Cyclic(Schedule):
    r"""Cycle the learning rate between ``base_lr`` and ``max_lr`` (Smith, 2017).

    Each cycle climbs linearly for ``step_size_up`` steps and falls for
    ``step_size_down`` steps (default: the same). With cycle length
    :math:`C = s_{\uparrow} + s_{\downarrow}`, cycle number
    :math:`c = \lfloor 1 + t / C \rfloor` and position :math:`x = 1 + t/C - c \in [0, 1)`
    in the cycle,

    .. math::
        h(x) = \begin{cases} x / r & x \le r \\ (x - 1)/(r - 1) & x > r \end{cases},
        \qquad r = s_{\uparrow} / C,

        \alpha_t = \alpha_{\text{base}} + (\alpha_{\max} - \alpha_{\text{base}}) \, h(x) \, s(t),

    where the amplitude scale :math:`s` depends on ``mode``: ``"triangular"``,
    :math:`s = 1`; ``"triangular2"``, :math:`s = 2^{-(c - 1)}` (halved every cycle);
    ``"exp_range"``, :math:`s = \gamma^{t}`. The same values as
    ``torch.optim.lr_scheduler.CyclicLR`` (whose ``last_epoch`` is our ``t``). Stricter
    than torch: the cycle's length :math:`C` must be a float (at most 1.8e308), where
    torch's rate becomes NaN.

    >>> Cyclic(0.1, 1.0, step_size_up=2)(np.array([0, 1, 2, 3, 4]))
    array([0.1 , 0.55, 1.  , 0.55, 0.1 ])

    References:
        Smith, L. N. (2017). Cyclical learning rates for training neural networks. WACV.
    """

    base_lr: float
    max_lr: float
    step_size_up: float
    step_size_down: float | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    def __post_init__(self) -> None:
        base = positive_lr(self, "base_lr")
        real_field(self, "max_lr", low=base)
        real_field(self, "step_size_up", low=1.0)
        if self.step_size_down is None:
            object.__setattr__(self, "step_size_down", self.step_size_up)
        real_field(self, "step_size_down", low=1.0)
        check(math.isfinite(self.step_size_up + self.step_size_down), "step_size_up + step_size_down",
              f"at most {sys.float_info.max:g} (a cycle's length is a float)", (self.step_size_up, self.step_size_down))
        check(self.mode in _CYCLIC_MODES, "mode", f"one of {_CYCLIC_MODES}", self.mode)
        real_field(self, "gamma", low=0.0, high=1.0, low_open=True)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        assert self.step_size_down is not None  # filled in by __post_init__
        length = self.step_size_up + self.step_size_down
        ratio = self.step_size_up / length
        cycle = np.floor(1.0 + t / length)
        x = 1.0 + t / length - cycle
        height = np.where(x <= ratio, x / ratio, (x - 1.0) / (ratio - 1.0))
        if self.mode == "triangular":
            scale = np.ones_like(t)
        elif self.mode == "triangular2":
            scale = 0.5 ** (cycle - 1.0)  # not 1 / 2**(c - 1), which overflows after 1024 cycles
        else:
            scale = self.gamma**t
        return self.base_lr + (self.max_lr - self.base_lr) * height * scale


@dataclass(frozen=True)
class OneCycle(Schedule):
    r"""Warm up to ``max_lr`` and anneal far below the start: the 1cycle policy (Smith & Topin, 2019).

    With :math:`\alpha_{\text{init}} = \alpha_{\max} / d` (``div_factor``) and
    :math:`\alpha_{\text{final}} = \alpha_{\text{init}} / f` (``final_div_factor``), the
    rate anneals (``anneal_strategy`` ``"cos"`` or ``"linear"``) through the phases

    - two phases: :math:`\alpha_{\text{init}} \to \alpha_{\max}` over steps
      :math:`0 \dots pT - 1`, then :math:`\alpha_{\max} \to \alpha_{\text{final}}` until
      step :math:`T - 1`;
    - ``three_phase=True``: :math:`\alpha_{\text{init}} \to \alpha_{\max}` until
      :math:`pT - 1`, :math:`\alpha_{\max} \to \alpha_{\text{init}}` until :math:`2pT - 2`,
      then :math:`\alpha_{\text{init}} \to \alpha_{\text{final}}` until :math:`T - 1`,

    where :math:`T` is ``total_steps`` and :math:`p` is ``pct_start``. Within a phase
    from step :math:`a` to :math:`b`, the fraction is :math:`(t - a)/(b - a)`. For steps
    :math:`0 \dots T - 1` these are the values of ``torch.optim.lr_scheduler.OneCycleLR``
    (phase boundaries included); torch raises past the last step, this schedule holds
    :math:`\alpha_{\text{final}}`. Stricter than torch: ``total_steps`` is at most 2**53
    and :math:`\alpha_{\text{init}}` and :math:`\alpha_{\text{final}}` must be finite.

    >>> lrs = OneCycle(1.0, total_steps=10)(np.arange(10))
    >>> int(lrs.argmax()), round(float(lrs[0]), 12), round(float(lrs[-1]), 12)
    (2, 0.04, 4e-06)

    References:
        Smith, L. N., & Topin, N. (2019). Super-convergence: very fast training of
        neural networks using large learning rates. SPIE 11006.
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def __post_init__(self) -> None:
        max_lr = positive_lr(self, "max_lr")
        total = integer_field(self, "total_steps", low=2, high=MAX_STEPS)
        pct = real_field(self, "pct_start", low=0.0, high=1.0, low_open=True, high_open=True)
        check(self.anneal_strategy in ("cos", "linear"), "anneal_strategy", "'cos' or 'linear'",
              self.anneal_strategy)
        div = real_field(self, "div_factor", low=0.0, low_open=True)
        final_div = real_field(self, "final_div_factor", low=0.0, low_open=True)
        largest = sys.float_info.max
        check(math.isfinite(max_lr / div), "div_factor",
              f"at least max_lr / {largest:g} = {max_lr / largest:g}, so that the initial rate is finite", div)
        check(math.isfinite(max_lr / div / final_div), "final_div_factor",
              f"at least max_lr / div_factor / {largest:g} = {max_lr / div / largest:g}, so that the final rate "
              "is finite", final_div)
        object.__setattr__(self, "three_phase", flag("three_phase", self.three_phase))
        ends = [end for end, _, _ in self._phases()]
        check(all(a < b for a, b in zip([0.0, *ends], ends)), "pct_start",
              f"such that every phase lasts at least one step (pct_start * total_steps > 1"
              f"{' and 2 * pct_start * total_steps < total_steps + 1' if self.three_phase else ''}"
              f", with total_steps={total})", pct)

    def _phases(self) -> list[tuple[float, float, float]]:
        """Return ``(last step, start lr, end lr)`` for each phase."""
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        up_end = self.pct_start * self.total_steps - 1.0
        last = self.total_steps - 1.0
        if self.three_phase:
            return [(up_end, initial, self.max_lr),
                    (2.0 * self.pct_start * self.total_steps - 2.0, self.max_lr, initial),
                    (last, initial, final)]
        return [(up_end, initial, self.max_lr), (last, self.max_lr, final)]

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        anneal = cosine if self.anneal_strategy == "cos" else linear
        t = np.minimum(t, self.total_steps - 1.0)
        phases = self._phases()
        starts = [0.0] + [end for end, _, _ in phases[:-1]]
        lr = np.zeros_like(t)
        # As in torch, a step on a boundary belongs to the phase that ends there: going
        # backwards, the first phase whose end is not before t is written last and wins.
        for start, (end, lr_start, lr_end) in reversed(list(zip(starts, phases))):
            lr = np.where(t <= end, anneal(lr_start, lr_end, (t - start) / (end - start)), lr)
        return lr
