r"""Checkers for chapter 7, part III, *A tuning protocol, executed*.

Each ``check_…`` runs the reader's function and the package's own implementation on the
same inputs (hand-picked cases, then random ones from a seeded generator, so a report can
be reproduced; see :func:`lrcourse.exercises.check`) and returns a
:class:`~lrcourse.exercises.CheckResult` whose message says in plain words what is wrong
on the first case that fails.

- :func:`check_psnr`: the peak signal-to-noise ratio of a fitted image, against
  :func:`lrcourse.torch.data.image.psnr` (so this module imports torch's data package,
  like :mod:`lrcourse.exercises.ch7b`).
- :func:`check_clip_threshold`: the Tuning Playbook's clipping threshold, a high quantile
  of the finite gradient norms a run logged, against
  :meth:`lrcourse.clipping.GradNormTracker.suggest`.

>>> import numpy as np
>>> check_psnr(lambda prediction, target: 10 * np.log10(1 / np.mean((prediction - target) ** 2))).passed
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lrcourse.clipping import GradNormTracker
from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.torch.data.image import psnr

__all__ = ["psnr_reference", "clip_threshold_reference", "check_psnr", "check_clip_threshold"]


def _cases(make: Callable[[np.random.Generator], Any], first: list[Any], n: int, seed: int) -> list[Any]:
    """The hand-picked cases, then random ones, ``n`` in all."""
    if not (isinstance(n, int) and n >= len(first)):
        raise ValueError(f"n must be an integer >= {len(first)}, got {n!r}")
    return first + (random_cases(make, n=n - len(first), seed=seed) if n > len(first) else [])


def psnr_reference(prediction: ArrayLike, target: ArrayLike) -> float:
    """The PSNR in dB of ``prediction`` against ``target`` in [0, 1] (:func:`~lrcourse.torch.data.image.psnr`)."""
    return psnr(prediction, target)


def clip_threshold_reference(norms: ArrayLike, q: float = 0.9) -> float:
    """The ``q``-quantile of the finite entries of ``norms`` (:meth:`~lrcourse.clipping.GradNormTracker.suggest`)."""
    return GradNormTracker(list(np.asarray(norms, dtype=np.float64))).suggest(q)


def check_psnr(candidate: Callable[..., Any], n: int = 20, seed: int = 79) -> CheckResult:
    r"""Check ``candidate(prediction, target)``: the PSNR of an image with colours in :math:`[0, 1]`.

    ``prediction`` and ``target`` are float arrays of one shape (pixels × 3 colours); the
    answer is :math:`10 \log_{10}(1 / \mathrm{MSE})` in decibels, the mean taken over
    every pixel and colour.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        target = rng.uniform(0, 1, size=(int(rng.integers(2, 40)), 3))
        return np.clip(target + rng.normal(0, 10 ** rng.uniform(-2.5, -0.5), size=target.shape), 0, 1), target

    target = np.array([[0.2, 0.4, 0.6], [0.8, 1.0, 0.0]])
    first = [(target + 0.1, target),            # MSE 0.01: 20 dB
             (np.full((2, 3), 0.5), target),     # the mean colour
             (target[:1] * 0.9, target[:1])]     # one pixel
    return check(candidate, psnr_reference, _cases(make, first, n, seed), name="psnr", rtol=1e-9,
                 hint="PSNR = 10 · log10(peak² / MSE) with peak 1 for colours in [0, 1]: the logarithm in "
                      "base 10, the factor 10 (not 20: 20 goes with the root of the MSE), and the MSE as the "
                      "mean of the squared differences over every pixel and colour (not their sum).")


def check_clip_threshold(candidate: Callable[..., Any], n: int = 20, seed: int = 80) -> CheckResult:
    """Check ``candidate(norms, q)``: the ``q``-quantile of the finite gradient norms a run logged.

    ``norms`` holds one gradient norm per step, measured before clipping; a step of a
    run that blew up can have logged NaN or inf. ``q`` is a fraction in ``[0, 1]``
    (0.9 for the 90th percentile); the answer is the ``q``-quantile, linear
    interpolation as ``np.quantile`` does it, of the finite norms only.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        norms = np.exp(rng.normal(0, 1, size=int(rng.integers(5, 60))))
        norms[rng.random(len(norms)) < 0.1] = rng.choice([np.nan, np.inf])
        return norms, float(rng.choice([0.5, 0.75, 0.9, 0.95, 0.99]))

    first = [(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]), 0.9),   # 10.0
             (np.array([1.0, 2.0, np.inf, 4.0, np.nan, 100.0]), 0.9),                        # spikes and blow-ups
             (np.array([3.0, 1.0, 2.0]), 0.5)]                                               # not sorted
    return check(candidate, clip_threshold_reference, _cases(make, first, n, seed), name="clip_threshold",
                 rtol=1e-12,
                 hint="drop the NaN and inf norms first (np.isfinite), then take np.quantile(finite, q) with q "
                      "a fraction (0.9, not 90: np.percentile takes percent), not the mean or the largest norm.")
