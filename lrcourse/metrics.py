r"""Measure what an experiment found: per-class recall, the good-rate window, paired intervals.

- :func:`per_class_recall` and :func:`balanced_accuracy`: how well each class is
  recognised, so that a rare class is not hidden behind the accuracy of the common ones.
- :func:`good_window`: the range of learning rates of a sweep whose score is within a
  tolerance of the best, and its width in decades.
- :func:`paired_interval`: the mean of seed-by-seed differences with its Student-t
  confidence interval, to tell an effect from the noise of a few seeds.

>>> import numpy as np
>>> per_class_recall([0, 0, 1, 1], [0, 1, 1, 1], n_classes=2).tolist()
[0.5, 1.0]
>>> float(balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0], n_classes=2))  # accuracy 0.75, but class 1 is never found
0.5
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.validation import flag, integer, real

__all__ = ["per_class_recall", "balanced_accuracy", "Window", "good_window", "Interval", "paired_interval"]


def _labels(name: str, values: ArrayLike, n_classes: int) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim < 1 or array.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty array of class labels, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or (np.issubdtype(array.dtype, np.floating)
                                                        and np.all(array == np.round(array)))):
        raise ValueError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n_classes:
        raise ValueError(f"{name} must hold labels in [0, {n_classes - 1}], got values from "
                         f"{array.min()} to {array.max()}")
    return array.astype(np.int64)


def per_class_recall(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    r"""Return the recall of every class: the fraction of its examples predicted as it.

    .. math::

        \text{recall}_c = \frac{\#\{i : y_i = c,\ \hat y_i = c\}}{\#\{i : y_i = c\}}

    ``y_true`` has shape ``(N,)``; ``y_pred`` has shape ``(N,)`` or ``(..., N)`` (the
    predictions of several runs at once, e.g. ``(K, N)`` from a sweep), and the result
    has shape ``(..., n_classes)``. A class with no example in ``y_true`` has no
    recall: it is NaN.

    >>> per_class_recall([0, 1, 2, 2], [[0, 1, 2, 0], [1, 1, 1, 1]], n_classes=3).tolist()
    [[1.0, 1.0, 0.5], [0.0, 1.0, 0.0]]
    """
    n_classes = integer("n_classes", n_classes, low=2)
    truth = _labels("y_true", y_true, n_classes)
    if truth.ndim != 1:
        raise ValueError(f"y_true must be one-dimensional, got shape {truth.shape}")
    pred = _labels("y_pred", y_pred, n_classes)
    if pred.shape[-1] != truth.shape[0]:
        raise ValueError(f"y_pred's last axis must have the length of y_true, {truth.shape[0]}, got shape {pred.shape}")
    members = truth[None, :] == np.arange(n_classes)[:, None]              # (C, N)
    hits = (pred[..., None, :] == np.arange(n_classes)[:, None]) & members  # (..., C, N)
    counts = members.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits.sum(axis=-1) / np.maximum(counts, 1), np.nan)


def balanced_accuracy(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    r"""Return the mean of the per-class recalls (over the classes present in ``y_true``).

    On a data set where every class has the same number of examples this is the
    accuracy; on an imbalanced one it weighs every class equally, so a model that
    never predicts a rare class loses that class's whole share. Shapes as in
    :func:`per_class_recall`, without the last axis. The same value as
    ``sklearn.metrics.balanced_accuracy_score`` (the tests check it).

    >>> float(balanced_accuracy([0, 0, 0, 0, 1], [0, 0, 0, 0, 0], n_classes=2))
    0.5
    """
    return np.nanmean(per_class_recall(y_true, y_pred, n_classes), axis=-1)


class Window(NamedTuple):
    """The good rates of a sweep: ``low`` and ``high`` (inclusive), ``decades`` = log10(high / low).

    ``at_edge`` is True when the window reaches the first or the last rate of the grid:
    the true window may then be wider than the grid shows.
    """

    low: float
    high: float
    decades: float
    at_edge: bool


def good_window(rates: ArrayLike, scores: ArrayLike, tolerance: float, *, higher_is_better: bool = True) -> Window:
    r"""Return the contiguous range of rates around the best whose score is within ``tolerance`` of it.

    ``rates`` is an increasing grid of learning rates (all > 0) and ``scores`` the score
    of the run at each (a validation accuracy, say; NaN for a run that failed). With
    :math:`s^\star` the best score, a rate is good if its score is at least
    :math:`s^\star - \text{tol}` (at most :math:`s^\star + \text{tol}` when
    ``higher_is_better=False``, for a loss). The window is the run of consecutive good
    rates that contains the best one: a good rate cut off from it by a bad one does not
    count, since a practitioner moving away from the best rate would stop at the bad
    one. Its width in decades, :math:`\log_{10}(\alpha_{\text{high}} / \alpha_{\text{low}})`,
    is 0 when only the best rate is good: the width is measured on the grid, so it is
    only as fine as the grid's spacing.

    >>> rates = [0.001, 0.01, 0.1, 1.0, 10.0]
    >>> good_window(rates, [0.50, 0.93, 0.95, 0.20, 0.10], tolerance=0.02)
    Window(low=0.01, high=0.1, decades=1.0, at_edge=False)
    """
    tolerance = real("tolerance", tolerance, low=0.0)
    higher_is_better = flag("higher_is_better", higher_is_better)
    grid = np.asarray(rates, dtype=np.float64)
    values = np.asarray(scores, dtype=np.float64)
    if grid.ndim != 1 or len(grid) == 0:
        raise ValueError(f"rates must be a non-empty 1-D array, got shape {grid.shape}")
    if values.shape != grid.shape:
        raise ValueError(f"scores must have the shape of rates, {grid.shape}, got {values.shape}")
    if not (np.all(np.isfinite(grid)) and np.all(grid > 0) and np.all(np.diff(grid) > 0)):
        raise ValueError(f"rates must be finite, > 0 and increasing, got {grid.tolist()}")
    signed = values if higher_is_better else -values
    signed = np.where(np.isfinite(signed), signed, -np.inf)  # a failed run is never good
    if np.all(np.isinf(signed)):
        raise ValueError("scores must hold at least one finite value: every run failed")
    best = int(np.argmax(signed))
    good = signed >= signed[best] - tolerance
    low = best
    while low > 0 and good[low - 1]:
        low -= 1
    high = best
    while high < len(grid) - 1 and good[high + 1]:
        high += 1
    return Window(float(grid[low]), float(grid[high]), float(np.log10(grid[high] / grid[low])),
                  bool(low == 0 or high == len(grid) - 1))


class Interval(NamedTuple):
    """A mean difference ``mean`` with its confidence interval ``mean ± half`` over ``n`` pairs."""

    mean: float
    half: float
    n: int

    @property
    def low(self) -> float:
        """The lower end of the interval."""
        return self.mean - self.half

    @property
    def high(self) -> float:
        """The upper end of the interval."""
        return self.mean + self.half

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of 0: a difference larger than the noise."""
        return abs(self.mean) > self.half

    def verdict(self, higher: str = "higher", lower: str = "lower") -> str:
        """Return ``higher`` or ``lower`` when the interval excludes 0, else ``"within noise"``."""
        if not self.excludes_zero:
            return "within noise"
        return higher if self.mean > 0 else lower


def paired_interval(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> Interval:
    r"""Return the mean of ``a - b`` over paired runs with its Student-t confidence interval.

    ``a[i]`` and ``b[i]`` are one measurement of two methods on the same seed ``i``
    (same initial weights, same batches), so much of the seed-to-seed variation cancels
    in their difference :math:`d_i = a_i - b_i`. With :math:`n` pairs, :math:`\bar d`
    their mean and :math:`s` their standard deviation, the interval is

    .. math::

        \bar d \pm t_{(1 + c)/2,\ n - 1}\, \frac{s}{\sqrt n},

    :math:`c` being ``confidence``. It contains the true mean difference with
    probability :math:`c` when the :math:`d_i` are independent and roughly normal.
    When every :math:`d_i` is the same (scores measured on a coarse grid can do that),
    :math:`s = 0` and the interval has no width: with a few pairs, such a "difference
    beyond the noise" deserves the caution of a sign test, not the confidence of a
    t-interval.

    >>> interval = paired_interval([0.91, 0.93, 0.92], [0.90, 0.91, 0.91])
    >>> round(interval.mean, 4), round(interval.half, 4), interval.verdict()
    (0.0133, 0.0143, 'within noise')
    """
    from scipy import stats

    confidence = real("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(f"a and b must be 1-D arrays of the same length, got shapes {first.shape} and {second.shape}")
    if len(first) < 2:
        raise ValueError(f"a and b must hold at least 2 pairs for an interval, got {len(first)}")
    if not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
        raise ValueError("a and b must be finite: a diverged run has no difference to average")
    d = first - second
    n = len(d)
    half = float(stats.t.ppf((1 + confidence) / 2, df=n - 1) * d.std(ddof=1) / np.sqrt(n))
    return Interval(float(d.mean()), half, n)
