"""Figures for the book, made from the package's own objects."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from lrcourse.schedules import Schedule

__all__ = ["PALETTE", "plot_schedules"]

# Okabe & Ito's colour-blind-safe palette (black left out: it is kept for reference lines).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")


def plot_schedules(schedules: Mapping[str, Schedule] | Sequence[Schedule], steps: int,
                   ax: Axes | None = None, *, log: bool = False, title: str | None = None) -> Axes:
    """Plot the learning rate against the step for one or several schedules.

    ``schedules`` is a mapping from legend label to schedule, or a sequence (labelled by
    their ``repr``). Each curve is ``sched(np.arange(steps))``: the closed form, no
    training involved. ``log=True`` puts the rate on a logarithmic axis.
    """
    if steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    items = schedules.items() if isinstance(schedules, Mapping) else [(repr(s), s) for s in schedules]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    t = np.arange(steps)
    for (label, schedule), colour in zip(items, PALETTE * (len(items) // len(PALETTE) + 1)):
        ax.plot(t, schedule(t), label=label, color=colour, lw=1.8)
    ax.set_xlabel("step $t$ (updates already applied)")
    ax.set_ylabel(r"learning rate $\alpha_t$")
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlim(0, steps - 1)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    # Below the axes, where it can never hide a curve.
    ax.legend(fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=min(len(items), 3))
    return ax
