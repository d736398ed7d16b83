r"""Checkers for chapter 2, *Adjusting the learning rate over time*.

Each ``check_…`` runs the reader's function and the package's own schedule on the same
random inputs (drawn from a seeded generator, so a report can be reproduced; see
:func:`lrcourse.exercises.check`) and returns a :class:`~lrcourse.exercises.CheckResult`
whose message says in plain words what is wrong on the first case that fails.

- :func:`check_time_decay`: the rates :math:`\alpha_0 (1 + \gamma t)^{-p}` for a whole
  array of steps, against :class:`lrcourse.schedules.TimeDecay`.
- :func:`check_warmup_cosine`: a linear warmup into a cosine decay, against
  ``Warmup(CosineDecay(...))``, boundaries included.
- :func:`check_gamma_for_half_life`: the :math:`\gamma` at which time decay's rate has
  halved at a given step.

>>> import numpy as np
>>> check_time_decay(lambda t, lr, gamma, power: lr * (1 + gamma * t) ** -power).passed
True
>>> wrong = check_time_decay(lambda t, lr, gamma, power: lr * (1 + gamma * t) ** power)  # the sign of p
>>> print(wrong.message.splitlines()[0])
✗ time_decay disagrees with the reference on case 1 of 20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.schedules import CosineDecay, TimeDecay, Warmup

__all__ = [
    "time_decay_reference",
    "warmup_cosine_reference",
    "gamma_for_half_life_reference",
    "check_time_decay",
    "check_warmup_cosine",
    "check_gamma_for_half_life",
]


def time_decay_reference(t: NDArray[Any], lr: float, gamma: float, power: float) -> NDArray[np.float64]:
    """The rates :math:`\\alpha_0 (1 + \\gamma t)^{-p}` at the steps ``t``, from :class:`TimeDecay`."""
    return np.asarray(TimeDecay(lr, gamma=gamma, power=power)(t), dtype=np.float64)


def warmup_cosine_reference(t: NDArray[Any], peak: float, warmup_steps: int, total_steps: int) -> NDArray[np.float64]:
    """A linear warmup from 0 over ``warmup_steps``, then a cosine to 0 at ``total_steps``, held after.

    This is ``Warmup(CosineDecay(peak, total_steps - warmup_steps), warmup_steps)``: the
    cosine starts its own clock when the warmup ends, so it lasts the rest of the budget.
    """
    schedule = Warmup(CosineDecay(peak, total_steps=total_steps - warmup_steps), warmup_steps=warmup_steps)
    return np.asarray(schedule(t), dtype=np.float64)


def gamma_for_half_life_reference(t_half: float, power: float) -> float:
    """The :math:`\\gamma` at which :math:`(1 + \\gamma t)^{-p}` equals 1/2 at ``t = t_half``.

    Solving :math:`(1 + \\gamma t_{1/2})^{-p} = 1/2` gives
    :math:`\\gamma = (2^{1/p} - 1) / t_{1/2}`; the tests check it against :class:`TimeDecay`.
    """
    return (2.0 ** (1.0 / power) - 1.0) / t_half


def _steps(rng: np.random.Generator, high: int) -> NDArray[np.int64]:
    """A random array of steps in ``[0, high]`` (sometimes 2-D, to test the vectorisation)."""
    shape = (int(rng.integers(1, 40)),) if rng.random() < 0.8 else (3, int(rng.integers(1, 8)))
    return rng.integers(0, high + 1, size=shape)


def _more(make: Callable[[np.random.Generator], Any], n: int, seed: int) -> list[Any]:
    """The random cases after the first, hand-picked one: ``n - 1`` of them."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return random_cases(make, n=n - 1, seed=seed) if n > 1 else []


def check_time_decay(candidate: Callable[..., Any], n: int = 20, seed: int = 2) -> CheckResult:
    """Check ``candidate(t, lr, gamma, power)`` against :class:`lrcourse.schedules.TimeDecay`.

    ``t`` is an integer array of steps (of any shape); the answer must be the array of
    rates :math:`\\alpha_0 (1 + \\gamma t)^{-p}`, of the same shape.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        return (_steps(rng, 10_000), float(rng.uniform(0.001, 1.0)), float(10 ** rng.uniform(-4, 0)),
                float(rng.uniform(0.1, 3.0)))

    cases = [(np.arange(5), 1.0, 1.0, 1.0)] + _more(make, n, seed)
    return check(candidate, time_decay_reference, cases, name="time_decay",
                 hint="the rate is lr * (1 + gamma * t) ** (-power), computed on the whole array t at once "
                      "(no loop needed); at t = 0 it must equal lr.")


def check_warmup_cosine(candidate: Callable[..., Any], n: int = 20, seed: int = 3) -> CheckResult:
    """Check ``candidate(t, peak, warmup_steps, total_steps)`` against ``Warmup(CosineDecay(...))``.

    The rate rises linearly from 0 at ``t = 0`` to ``peak`` at ``t = warmup_steps``,
    then falls along half a cosine to 0 at ``t = total_steps``, and stays 0 after.
    Every case includes the boundaries ``0``, ``W - 1``, ``W``, ``W + 1``, ``T - 1``,
    ``T`` and ``T + 1``, where such schedules usually go wrong.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        warmup = int(rng.integers(1, 100))
        total = warmup + int(rng.integers(1, 1000))
        boundaries = np.array([0, warmup - 1, warmup, warmup + 1, total - 1, total, total + 1])
        steps = np.concatenate([boundaries, rng.integers(0, total + 50, size=int(rng.integers(1, 30)))])
        return steps, float(rng.uniform(0.001, 1.0)), warmup, total

    cases = [(np.arange(12), 1.0, 4, 10)] + _more(make, n, seed)
    return check(candidate, warmup_cosine_reference, cases, name="warmup_cosine",
                 hint="for t < W the rate is peak * t / W; for t >= W the cosine starts its own clock, "
                      "peak * (1 + cos(pi * (t - W) / (T - W))) / 2, with t - W capped at T - W so the rate "
                      "stays 0 after T (np.where and np.minimum do both on the whole array).")


def check_gamma_for_half_life(candidate: Callable[..., Any], n: int = 20, seed: int = 4) -> CheckResult:
    """Check ``candidate(t_half, power)``: the :math:`\\gamma` that halves time decay's rate at ``t_half``."""
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        return float(np.round(10 ** rng.uniform(0, 5))), float(rng.uniform(0.1, 3.0))

    cases = [(100.0, 1.0)] + _more(make, n, seed)
    return check(candidate, gamma_for_half_life_reference, cases, name="gamma_for_half_life",
                 hint="solve (1 + gamma * t_half) ** (-power) = 1/2 for gamma: raise both sides to the "
                      "power -1/power first. With power = 1 and t_half = 100 the answer is 0.01.")
