r"""Checkers for chapter 5, *Summary: the seed's claims, tested*.

Each ``check_…`` runs the reader's function and the package's own measure on the same
random inputs (drawn from a seeded generator, so a report can be reproduced; see
:func:`lrcourse.exercises.check`) and returns a :class:`~lrcourse.exercises.CheckResult`
whose message says in plain words what is wrong on the first case that fails.

- :func:`check_balanced_accuracy`: the mean of the per-class recalls, against
  :func:`lrcourse.metrics.balanced_accuracy`.
- :func:`check_window_width`: the width in decades of the contiguous window of good
  learning rates around the best, against :func:`lrcourse.metrics.good_window`.

>>> import numpy as np
>>> def mine(y_true, y_pred, n_classes):
...     return np.mean([np.mean(y_pred[y_true == c] == c) for c in range(n_classes) if np.any(y_true == c)])
>>> check_balanced_accuracy(mine).passed
True
>>> plain_accuracy = check_balanced_accuracy(lambda y_true, y_pred, n_classes: np.mean(y_true == y_pred))
>>> print(plain_accuracy.message.splitlines()[0])
✗ balanced_accuracy disagrees with the reference on case 1 of 20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.metrics import balanced_accuracy, good_window

__all__ = [
    "balanced_accuracy_reference",
    "window_width_reference",
    "check_balanced_accuracy",
    "check_window_width",
]


def balanced_accuracy_reference(y_true: NDArray[Any], y_pred: NDArray[Any], n_classes: int) -> float:
    """The mean recall over the classes present in ``y_true``, from :func:`lrcourse.metrics.balanced_accuracy`."""
    return float(balanced_accuracy(y_true, y_pred, n_classes))


def window_width_reference(rates: NDArray[Any], scores: NDArray[Any], tolerance: float) -> float:
    """The width in decades of the good window around the best rate, from :func:`lrcourse.metrics.good_window`."""
    return good_window(rates, scores, tolerance).decades


def _more(make: Callable[[np.random.Generator], Any], n: int, seed: int) -> list[Any]:
    """The random cases after the hand-picked ones: ``n - 2`` of them."""
    if not (isinstance(n, int) and n >= 2):
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    return random_cases(make, n=n - 2, seed=seed) if n > 2 else []


def check_balanced_accuracy(candidate: Callable[..., Any], n: int = 20, seed: int = 5) -> CheckResult:
    """Check ``candidate(y_true, y_pred, n_classes)`` against :func:`lrcourse.metrics.balanced_accuracy`.

    ``y_true`` and ``y_pred`` are 1-D integer arrays of the same length; the answer is a
    number. The cases include imbalanced labels (where the plain accuracy differs from
    the balanced one) and labels in which some class of ``range(n_classes)`` is absent
    (it has no recall and must be left out of the mean, not counted as 0).
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        n_classes = int(rng.integers(2, 8))
        shares = rng.dirichlet(np.full(n_classes, 0.7))  # often far from balanced
        y_true = rng.choice(n_classes, size=int(rng.integers(20, 200)), p=shares)
        if rng.random() < 0.3:  # a class left out of y_true entirely
            y_true = np.where(y_true == n_classes - 1, 0, y_true)
        right = rng.random(len(y_true)) < rng.uniform(0.3, 0.95)
        y_pred = np.where(right, y_true, rng.integers(0, n_classes, size=len(y_true)))
        return y_true, y_pred, n_classes

    majority_only = (np.array([0] * 95 + [1] * 5), np.zeros(100, dtype=np.int64), 2)
    missing_class = (np.array([0, 0, 1, 1, 1, 0]), np.array([0, 1, 1, 1, 2, 2]), 3)
    cases = [majority_only, missing_class] + _more(make, n, seed)
    return check(candidate, balanced_accuracy_reference, cases, name="balanced_accuracy",
                 hint="for each class c present in y_true, its recall is the fraction of the examples with "
                      "y_true == c that have y_pred == c; return the mean of these recalls. A majority-only "
                      "classifier of a 95:5 set scores 0.5, not 0.95; a class absent from y_true is left out.")


def check_window_width(candidate: Callable[..., Any], n: int = 20, seed: int = 6) -> CheckResult:
    """Check ``candidate(rates, scores, tolerance)`` against ``good_window(...).decades``.

    ``rates`` is an increasing geometric grid, ``scores`` the score of each rate (higher
    is better; NaN for a diverged run), ``tolerance`` how far below the best a rate may
    score and still be good. The cases include a good rate cut off from the best by a
    bad one (it must not count), a window reaching the grid's edge, and NaN scores.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        k = int(rng.integers(5, 20))
        rates = np.geomspace(10 ** rng.uniform(-5, -2), 10 ** rng.uniform(-1, 2), k)
        centre, spread = rng.uniform(0, k - 1), rng.uniform(1.0, 5.0)
        scores = 0.95 * np.exp(-0.5 * ((np.arange(k) - centre) / spread) ** 2) + rng.normal(0, 0.01, k)
        if rng.random() < 0.5:  # a dip inside the good region, or a diverged run
            scores[int(rng.integers(0, k))] = np.nan if rng.random() < 0.5 else 0.0
        if np.all(np.isnan(scores)):
            scores[0] = 0.5
        return rates, scores, float(rng.uniform(0.01, 0.2))

    rates = np.geomspace(1e-3, 10.0, 9)
    cut_off = (rates, np.array([0.2, 0.9, 0.95, 0.96, 0.97, 0.3, 0.965, 0.1, 0.1]), 0.02)
    at_edge = (rates, np.array([0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.96, 0.97, np.nan]), 0.05)
    cases = [cut_off, at_edge] + _more(make, n, seed)
    return check(candidate, window_width_reference, cases, name="window_width",
                 hint="find the best finite score, then walk left and right from it while the scores stay "
                      ">= best - tolerance (a NaN score is never good); the width is log10(high / low) of the "
                      "last good rates on each side, 0 if only the best rate is good.")
