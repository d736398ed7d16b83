r"""Checkers for chapter 6, part II, *Batch size, the noise scale and data-parallel training*.

Each ``check_…`` runs the reader's function and the package's own implementation on the
same random inputs (drawn from a seeded generator, so a report can be reproduced; see
:func:`lrcourse.exercises.check`) and returns a :class:`~lrcourse.exercises.CheckResult`
whose message says in plain words what is wrong on the first case that fails.

- :func:`check_two_batch_noise_scale`: McCandlish et al.'s estimate of the simple noise
  scale from the squared norms of many pairs of gradients of two batch sizes, against
  :func:`lrcourse.scaling.two_batch_estimates` (the ratio of the means of its estimates).
- :func:`check_scaled_rates`: the rate of every step of a data-parallel run, a rate tuned
  at one batch scaled to the global batch of ``workers`` workers and warmed up, against
  :func:`lrcourse.scaling.scale_lr` and :class:`lrcourse.schedules.Warmup`.

>>> import numpy as np
>>> def mine(small, big, b_small, b_big):
...     g2 = (b_big * np.mean(big) - b_small * np.mean(small)) / (b_big - b_small)
...     trace = (np.mean(small) - np.mean(big)) / (1 / b_small - 1 / b_big)
...     return trace / g2
>>> check_two_batch_noise_scale(mine).passed
True
>>> naive = check_two_batch_noise_scale(lambda small, big, bs, bb: (np.mean(small) - np.mean(big))
...                                     / (1 / bs - 1 / bb) / np.mean(big))
>>> print(naive.message.splitlines()[0])
✗ two_batch_noise_scale disagrees with the reference on case 1 of 20.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.scaling import scale_lr, two_batch_estimates
from lrcourse.schedules import Constant, Schedule, Warmup

__all__ = [
    "two_batch_noise_scale_reference",
    "scaled_rates_reference",
    "check_two_batch_noise_scale",
    "check_scaled_rates",
]


def _cases(make: Callable[[np.random.Generator], Any], first: list[Any], n: int, seed: int) -> list[Any]:
    """The hand-picked cases, then random ones, ``n`` in all."""
    if not (isinstance(n, int) and n >= len(first)):
        raise ValueError(f"n must be an integer >= {len(first)}, got {n!r}")
    return first + (random_cases(make, n=n - len(first), seed=seed) if n > len(first) else [])


def two_batch_noise_scale_reference(norm_sq_small: NDArray[Any], norm_sq_big: NDArray[Any], batch_small: int,
                                    batch_big: int) -> float:
    r""":math:`B_\text{simple} \approx \bar{\mathcal S} / \overline{\lvert\mathcal G\rvert^2}`, from :func:`lrcourse.scaling.two_batch_estimates`.

    The two unbiased estimates of every pair, averaged over the pairs, then divided.
    """
    g2, trace = two_batch_estimates(norm_sq_small, norm_sq_big, batch_small, batch_big)
    return float(np.mean(trace) / np.mean(g2))


def check_two_batch_noise_scale(candidate: Callable[..., Any], n: int = 20, seed: int = 61) -> CheckResult:
    r"""Check ``candidate(norm_sq_small, norm_sq_big, batch_small, batch_big)``, the estimate of :math:`B_\text{simple}`.

    ``norm_sq_small[k]`` and ``norm_sq_big[k]`` are the squared norms of the gradients of
    a batch of ``batch_small`` and one of ``batch_big`` examples at step ``k``. The answer
    is one number: the ratio of the mean of the trace estimates :math:`\mathcal S` to the
    mean of the :math:`\lvert\mathcal G\rvert^2` estimates (McCandlish et al. 2018,
    appendix A). The first case gives each norm its expectation
    :math:`\lVert G\rVert^2 + \operatorname{tr}(\Sigma)/B`, where the answer is exactly
    :math:`\operatorname{tr}(\Sigma)/\lVert G\rVert^2`; the others are noisy pairs, where
    the mean of the ratios and the ratio of the means differ.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        g2, trace = float(10 ** rng.uniform(-2, 1)), float(10 ** rng.uniform(-1, 3))
        b_small = int(rng.integers(1, 64))
        b_big = b_small * int(rng.integers(2, 17))
        k = int(rng.integers(5, 60))
        noise = lambda b: rng.chisquare(8, size=k) / 8  # noqa: E731  a squared norm's spread around its mean
        small = (g2 + trace / b_small) * noise(b_small)
        big = (g2 + trace / b_big) * noise(b_big)
        return small, big, b_small, b_big

    exact = (np.array([1.0 + 4.0 / 2]), np.array([1.0 + 4.0 / 8]), 2, 8)  # |G|² = 1, tr Σ = 4: B_simple = 4
    return check(candidate, two_batch_noise_scale_reference, _cases(make, [exact], n, seed),
                 name="two_batch_noise_scale", rtol=1e-9,
                 hint="for each pair, |G|² ≈ (B_big |G_big|² − B_small |G_small|²) / (B_big − B_small) and "
                      "tr Σ ≈ (|G_small|² − |G_big|²) / (1/B_small − 1/B_big); average each over the pairs, "
                      "then divide the mean trace by the mean |G|² (not the mean of the ratios, and not "
                      "|G_big|² in place of |G|²).")


def scaled_rates_reference(steps: NDArray[Any], lr: float, base_batch_size: int, batch_per_worker: int,
                           workers: int, rule: str, warmup_epochs: float, n_train: int) -> NDArray[np.float64]:
    r"""The rate at each step: ``scale_lr`` to the global batch :math:`N b`, warmed up over :math:`\lceil E\, n / (N b)\rceil` steps.

    :func:`lrcourse.scaling.scale_lr` (``rule``) from ``base_batch_size`` to
    ``workers * batch_per_worker``, then :class:`lrcourse.schedules.Warmup` from 0 over
    ``ceil(warmup_epochs * n_train / global_batch)`` steps (none when that is 0).
    """
    global_batch = workers * batch_per_worker
    schedule: Schedule = Constant(scale_lr(lr, global_batch, base_batch_size, rule))
    warmup = math.ceil(warmup_epochs * n_train / global_batch)
    if warmup > 0:
        schedule = Warmup(schedule, warmup)
    return np.asarray(schedule(np.asarray(steps)), dtype=np.float64)


def check_scaled_rates(candidate: Callable[..., Any], n: int = 20, seed: int = 62) -> CheckResult:
    r"""Check ``candidate(steps, lr, base_batch_size, batch_per_worker, workers, rule, warmup_epochs, n_train)``.

    The answer is the rate of each step in the integer array ``steps``: ``lr``, tuned at
    ``base_batch_size``, scaled by ``rule`` (``"linear"`` or ``"sqrt"``) to the global
    batch ``workers * batch_per_worker``, and ramped up linearly from 0 over the first
    :math:`W = \lceil \text{warmup\_epochs} \cdot n_\text{train} / \text{global batch}\rceil`
    steps (:class:`lrcourse.schedules.Warmup`: step :math:`t < W` gets :math:`t/W` of the
    peak). The cases mix both rules, one worker and many, and warmups of 0 to 5 epochs.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        workers = int(rng.choice([1, 2, 4, 8, 16, 64]))
        per_worker = int(rng.choice([8, 16, 32, 100, 256]))
        base = int(rng.choice([16, 32, 128, 256]))
        n_train = int(rng.integers(1_000, 200_000))
        warmup_epochs = float(rng.choice([0.0, 0.5, 1.0, 2.0, 5.0]))
        global_batch = workers * per_worker
        horizon = max(4, 2 * math.ceil(warmup_epochs * n_train / global_batch))
        steps = np.unique(rng.integers(0, horizon, size=12))
        return (steps, float(10 ** rng.uniform(-4, -0.5)), base, per_worker, workers,
                str(rng.choice(["linear", "sqrt"])), warmup_epochs, n_train)

    goyal = (np.array([0, 1, 100, 778, 779, 780, 5000]), 0.1, 256, 32, 256, "linear", 5.0, 1_281_167)  # ImageNet, 8k
    adam = (np.arange(0, 12), 1e-3, 64, 16, 8, "sqrt", 1.0, 1_000)  # 8 workers: twice the rate, 8 steps of warmup
    return check(candidate, scaled_rates_reference, _cases(make, [goyal, adam], n, seed), name="scaled_rates",
                 rtol=1e-12, atol=1e-15,
                 hint="the global batch is workers * batch_per_worker; the peak is lr * (global / base) for "
                      "'linear' and lr * sqrt(global / base) for 'sqrt'; the warmup lasts "
                      "W = ceil(warmup_epochs * n_train / global) steps of the global batch, step t < W "
                      "getting peak * t / W, and the peak after.")
