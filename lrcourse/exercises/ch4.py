r"""Checkers for chapter 4, *Best practices I: finding a rate, cycling it, restarting it*.

Each ``check_…`` runs the reader's function and the package's own code on the same
random inputs (drawn from a seeded generator, so a report can be reproduced; see
:func:`lrcourse.exercises.check`) and returns a :class:`~lrcourse.exercises.CheckResult`
whose message says in plain words what is wrong on the first case that fails.

- :func:`check_triangular`: Smith's triangular cyclical rate for a whole array of
  steps, against :class:`lrcourse.schedules.Cyclic`.
- :func:`check_debiased_ema`: the range test's debiased moving average of the losses,
  against :func:`lrcourse.range_test.debiased_ema`.
- :func:`check_steepest`: the rate at which a curve falls fastest against
  :math:`\log\alpha`, the core of :func:`lrcourse.range_test.steep`.

>>> import numpy as np
>>> def triangular(t, base_lr, max_lr, step_size):
...     x = np.abs(np.asarray(t, dtype=float) / step_size - 2 * np.floor(1 + np.asarray(t) / (2 * step_size)) + 1)
...     return base_lr + (max_lr - base_lr) * np.maximum(0.0, 1 - x)
>>> check_triangular(triangular).passed
True
>>> wrong = check_triangular(lambda t, base_lr, max_lr, step_size: base_lr + 0 * np.asarray(t))
>>> print(wrong.message.splitlines()[0])
✗ triangular disagrees with the reference on case 1 of 20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.range_test import debiased_ema
from lrcourse.schedules import Cyclic

__all__ = [
    "triangular_reference",
    "debiased_ema_reference",
    "steepest_reference",
    "check_triangular",
    "check_debiased_ema",
    "check_steepest",
]


def triangular_reference(t: NDArray[Any], base_lr: float, max_lr: float, step_size: int) -> NDArray[np.float64]:
    """The triangular cyclical rates at the steps ``t``, from ``Cyclic(base_lr, max_lr, step_size)``."""
    return np.asarray(Cyclic(base_lr, max_lr, step_size_up=step_size)(t), dtype=np.float64)


def debiased_ema_reference(losses: NDArray[Any], beta: float) -> NDArray[np.float64]:
    """The debiased moving average after each loss, from :func:`lrcourse.range_test.debiased_ema`."""
    return debiased_ema(losses, beta)


def steepest_reference(lrs: ArrayLike, smoothed: ArrayLike) -> float:
    r"""Return :math:`\alpha_{i^\star}`, the rate at the start of the steepest fall against :math:`\log\alpha`.

    .. math::

        i^\star = \arg\min_{0 \le i < n - 1} \frac{\bar\ell_{i+1} - \bar\ell_i}{\log\alpha_{i+1} - \log\alpha_i}

    over the whole curve (the first such ``i`` if several tie). This is what
    :func:`lrcourse.range_test.steep` computes on the stretch that
    :func:`lrcourse.range_test.descent` selects; on a curve that only falls, that
    stretch is the whole curve and the two agree (the tests check it).
    """
    rates, s = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    slopes = np.diff(s) / np.diff(np.log(rates))
    return float(rates[int(np.argmin(slopes))])


def _more(make: Callable[[np.random.Generator], Any], n: int, seed: int) -> list[Any]:
    """The random cases after the first, hand-picked one: ``n - 1`` of them."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return random_cases(make, n=n - 1, seed=seed) if n > 1 else []


def check_triangular(candidate: Callable[..., Any], n: int = 20, seed: int = 41) -> CheckResult:
    r"""Check ``candidate(t, base_lr, max_lr, step_size)`` against :class:`lrcourse.schedules.Cyclic`.

    ``t`` is an integer array of steps (of any shape); the answer is the array of
    rates of Smith's triangular policy: up from ``base_lr`` to ``max_lr`` in
    ``step_size`` steps, down again in as many, and again. Every case includes the
    turning points ``0``, ``s - 1``, ``s``, ``s + 1``, ``2s - 1``, ``2s`` and ``2s + 1``.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        step_size = int(rng.integers(1, 200))
        turns = np.array([0, step_size - 1, step_size, step_size + 1, 2 * step_size - 1, 2 * step_size,
                          2 * step_size + 1, 5 * step_size])
        steps = np.concatenate([turns, rng.integers(0, 10 * step_size + 1, size=int(rng.integers(1, 30)))])
        if rng.random() < 0.2:  # sometimes 2-D, to test the vectorisation
            steps = steps[: len(steps) // 2 * 2].reshape(2, -1)
        base = float(10 ** rng.uniform(-5, -1))
        return steps, base, base * float(10 ** rng.uniform(0.2, 2.0)), step_size

    cases = [(np.arange(9), 0.1, 1.0, 2)] + _more(make, n, seed)
    return check(candidate, triangular_reference, cases, name="triangular",
                 hint="with cycle = floor(1 + t / (2 * step_size)) and x = |t / step_size - 2 * cycle + 1|, "
                      "the rate is base_lr + (max_lr - base_lr) * max(0, 1 - x) (Smith, 2017); "
                      "at t = 0 it is base_lr and at t = step_size it is max_lr.")


def check_debiased_ema(candidate: Callable[..., Any], n: int = 20, seed: int = 42) -> CheckResult:
    r"""Check ``candidate(losses, beta)`` against :func:`lrcourse.range_test.debiased_ema`.

    ``losses`` is a 1-D array; the answer is the array of
    :math:`\bar\ell_t = a_t / (1 - \beta^t)` after each loss, with
    :math:`a_t = \beta a_{t-1} + (1 - \beta)\ell_t` and :math:`a_0 = 0`. Cases include
    negative losses and :math:`\beta = 0`.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        losses = rng.uniform(0.1, 3.0, size=int(rng.integers(1, 120)))
        if rng.random() < 0.2:
            losses = losses - 5.0  # a loss below zero (fastai #962): the average must not care
        beta = 0.0 if rng.random() < 0.1 else float(rng.choice([0.5, 0.9, 0.98, 0.99, rng.uniform(0.0, 0.999)]))
        return losses, beta

    cases = [(np.array([2.0, 2.0, 2.0, 1.0]), 0.9)] + _more(make, n, seed)
    return check(candidate, debiased_ema_reference, cases, name="debiased_ema", rtol=1e-9, atol=1e-12,
                 hint="keep a running a = beta * a + (1 - beta) * loss starting from a = 0, and after the "
                      "t-th loss (t counted from 1) record a / (1 - beta ** t); a constant loss must give "
                      "that constant from the first step.")


def check_steepest(candidate: Callable[..., Any], n: int = 20, seed: int = 43) -> CheckResult:
    r"""Check ``candidate(lrs, smoothed)``: the rate at the start of the steepest fall against :math:`\log\alpha`.

    ``lrs`` is an increasing 1-D array of positive rates (exponential ramps, and
    sometimes a linear one, where the spacing on the log axis is not even),
    ``smoothed`` a curve of the same length; the answer is a float, ``lrs[i]`` for the
    segment ``i → i + 1`` whose slope :math:`\Delta\bar\ell / \Delta\log\alpha` is the most
    negative (:func:`steepest_reference`).
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        size = int(rng.integers(5, 100))
        start = float(10 ** rng.uniform(-7, -3))
        if rng.random() < 0.3:  # a linear ramp: even steps in α, uneven in log α
            lrs = np.linspace(start, start * 10 ** rng.uniform(2, 6), size)
        else:
            lrs = np.geomspace(start, start * 10 ** rng.uniform(2, 8), size)
        x = np.log10(lrs)
        centre = float(rng.uniform(x[1], x[-2]))
        smoothed = 2.3 - 2.0 / (1 + np.exp(-rng.uniform(1, 5) * (x - centre))) + rng.normal(0.0, 0.05, size)
        return lrs, smoothed

    lrs = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    cases = [(lrs, np.array([2.0, 1.9, 1.0, 0.8, 0.9]))] + _more(make, n, seed)
    return check(candidate, steepest_reference, cases, name="steepest",
                 hint="compute the slope of every segment, (smoothed[i + 1] - smoothed[i]) / (log(lrs[i + 1]) - "
                      "log(lrs[i])), take the most negative one (np.argmin) and return the rate at its start, "
                      "lrs[i]; divide by the log-rate step, not the rate step.")
