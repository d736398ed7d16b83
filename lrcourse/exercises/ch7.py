r"""Checkers for chapter 7, part I, *Modern schedules and optimizers*.

Each ``check_…`` runs the reader's function and the package's own implementation on the
same inputs (hand-picked cases, then random ones from a seeded generator, so a report can
be reproduced; see :func:`lrcourse.exercises.check`) and returns a
:class:`~lrcourse.exercises.CheckResult` whose message says in plain words what is wrong
on the first case that fails.

- :func:`check_wsd_rates`: the rate of each step of a warmup–stable–decay schedule,
  against :class:`lrcourse.schedules.WarmupStableDecay`.
- :func:`check_schedule_free_average`: schedule-free's evaluation point :math:`x_T` as a
  weighted average of the iterates :math:`z_1 \dots z_T`, against the recursion
  :math:`x_t = (1 - c_t) x_{t-1} + c_t z_t` with the weights of
  :func:`lrcourse.numpy.schedulefree.averaging_weight`.

>>> import numpy as np
>>> def mine(zs, lrs):
...     w = np.maximum.accumulate(np.asarray(lrs)) ** 2
...     return np.tensordot(w, zs, axes=1) / w.sum()
>>> check_schedule_free_average(mine).passed
True
>>> print(check_schedule_free_average(lambda zs, lrs: np.mean(zs, axis=0)).message.splitlines()[0])
✗ schedule_free_average disagrees with the reference on case 2 of 20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.numpy.schedulefree import averaging_weight
from lrcourse.schedules import WarmupStableDecay

__all__ = [
    "wsd_rates_reference",
    "schedule_free_average_reference",
    "check_wsd_rates",
    "check_schedule_free_average",
]


def _cases(make: Callable[[np.random.Generator], Any], first: list[Any], n: int, seed: int) -> list[Any]:
    """The hand-picked cases, then random ones, ``n`` in all."""
    if not (isinstance(n, int) and n >= len(first)):
        raise ValueError(f"n must be an integer >= {len(first)}, got {n!r}")
    return first + (random_cases(make, n=n - len(first), seed=seed) if n > len(first) else [])


def wsd_rates_reference(steps: NDArray[Any], lr: float, total_steps: int, warmup_steps: int, decay_steps: int,
                        decay: str) -> NDArray[np.float64]:
    """The rate at each step of ``steps``: :class:`lrcourse.schedules.WarmupStableDecay` with ``min_lr = 0``."""
    schedule = WarmupStableDecay(lr, total_steps, warmup_steps=warmup_steps, decay_steps=decay_steps, decay=decay)
    return np.asarray(schedule(np.asarray(steps)), dtype=np.float64)


def check_wsd_rates(candidate: Callable[..., Any], n: int = 20, seed: int = 71) -> CheckResult:
    r"""Check ``candidate(steps, lr, total_steps, warmup_steps, decay_steps, decay)``, a WSD schedule's rates.

    The answer is the rate of each step in the integer array ``steps`` (the rate of
    update :math:`t`, from :math:`t = 0`): a linear warmup from 0 over ``warmup_steps``
    (:math:`\alpha_0 t / W`), ``lr`` until the cooldown starts at
    :math:`S = T - D`, then :math:`\alpha_0\, c(p)` with :math:`p = (t - S)/D` and the
    shape ``decay``: ``"linear"`` :math:`1 - p`, ``"cosine"`` :math:`(1 + \cos\pi p)/2`,
    ``"1-sqrt"`` :math:`1 - \sqrt p`; 0 from :math:`t = T` on. The cases include every
    boundary and steps past the end.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        total = int(rng.integers(4, 2_000))
        decay_steps = int(rng.integers(1, total + 1))
        warmup = int(rng.integers(0, total - decay_steps + 1))
        start = total - decay_steps
        edges = [0, warmup - 1, warmup, start - 1, start, start + 1, total - 1, total, total + 5]
        steps = np.unique(np.concatenate([[e for e in edges if e >= 0], rng.integers(0, total + 10, size=8)]))
        return steps, float(10 ** rng.uniform(-4, 0.5)), total, warmup, decay_steps, str(
            rng.choice(["linear", "cosine", "1-sqrt"]))

    by_hand = (np.arange(0, 12), 1.0, 10, 2, 4, "linear")  # the docstring's example: 0, .5, 1, ..., .75, .5, .25, 0
    sqrt = (np.array([0, 79, 80, 81, 95, 99, 100, 150]), 0.5, 100, 0, 20, "1-sqrt")  # a 20 % cooldown, 1 − √p
    return check(candidate, wsd_rates_reference, _cases(make, [by_hand, sqrt], n, seed), name="wsd_rates",
                 rtol=1e-12, atol=1e-15,
                 hint="the cooldown starts at S = total_steps − decay_steps and its progress is "
                      "p = (t − S) / decay_steps (so step S still has the full rate, and the last update, "
                      "t = T − 1, has p = 1 − 1/D, not 1); 1-sqrt is 1 − √p, not √(1 − p); the warmup is "
                      "lr · t / warmup_steps for t < warmup_steps (none when it is 0); the rate is 0 from "
                      "t = total_steps on.")


def schedule_free_average_reference(zs: NDArray[Any], lrs: NDArray[Any]) -> NDArray[np.float64]:
    r""":math:`x_T` by the recursion :math:`x_t = (1 - c_t) x_{t-1} + c_t z_t`, :math:`c_t` from ``averaging_weight``.

    With the package's defaults, :math:`r = 0` and ``weight_lr_power`` :math:`p = 2`:
    :math:`w_t = (\max_{i \le t} \alpha_i)^2`, :math:`c_t = w_t / \sum_{i \le t} w_i`.
    """
    zs = np.asarray(zs, dtype=np.float64)
    x, lr_max, weight_sum = np.zeros(zs.shape[1:]), 0.0, 0.0
    for t, (z, lr) in enumerate(zip(zs, np.asarray(lrs, dtype=np.float64)), start=1):
        lr_max = max(lr_max, float(lr))
        c, weight_sum = averaging_weight(t, lr_max, weight_sum, r=0.0, weight_lr_power=2.0)
        x = (1 - c) * x + c * z
    return x


def check_schedule_free_average(candidate: Callable[..., Any], n: int = 20, seed: int = 72) -> CheckResult:
    r"""Check ``candidate(zs, lrs)``, schedule-free's :math:`x_T` as a weighted average of the :math:`z_t`.

    ``zs`` has shape ``(T, n)``: row ``t - 1`` is :math:`z_t`, the base iterate after
    update :math:`t`; ``lrs[t - 1]`` is that update's rate :math:`\alpha_t`. The answer
    (shape ``(n,)``) is :math:`x_T = \sum_t w_t z_t / \sum_t w_t` with
    :math:`w_t = (\max_{i \le t} \alpha_i)^2`, the package's default weights (``r = 0``,
    ``weight_lr_power = 2``). The first case has a constant rate (the plain mean); the
    others have a warmup (rates rising from small to large), then a constant or falling rate.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        T, dim = int(rng.integers(3, 60)), int(rng.integers(1, 5))
        warmup = int(rng.integers(2, T + 1))
        peak = float(10 ** rng.uniform(-3, 0))
        lrs = peak * np.minimum(1.0, np.arange(1, T + 1) / warmup)
        if rng.random() < 0.5:  # a rate that falls after the warmup: the running maximum is not the rate
            lrs = np.where(np.arange(1, T + 1) > warmup, lrs * rng.uniform(0.1, 0.9, size=T), lrs)
        return rng.normal(size=(T, dim)).cumsum(axis=0), lrs

    constant = (np.arange(1.0, 5.0).reshape(4, 1), np.full(4, 0.1))  # x_4 = mean of 1, 2, 3, 4 = 2.5
    return check(candidate, schedule_free_average_reference, _cases(make, [constant], n, seed),
                 name="schedule_free_average", rtol=1e-9, atol=1e-12,
                 hint="weight each z_t by w_t = (the largest rate so far)², not by the rate itself, its square "
                      "or 1 (the plain mean is right only at a constant rate), and divide by the sum of the "
                      "weights; row t − 1 of zs is z_t, and z_0 = θ_0 is not in the average.")
