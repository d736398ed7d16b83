r"""Measure what an experiment found: per-class recall, the good-rate window, paired intervals and their tests.

- :func:`per_class_recall` and :func:`balanced_accuracy`: how well each class is
  recognised, so that a rare class is not hidden behind the accuracy of the common ones.
- :func:`good_window`: the range of learning rates of a sweep whose score is within a
  tolerance of the best, and its width in decades.
- :func:`paired_interval`: the mean of seed-by-seed differences with its Student-t
  confidence interval, to tell an effect from the noise of a few seeds; the
  :class:`Interval` it returns also gives the p-value of the same paired t test
  (:attr:`Interval.p_value`) and the smallest effect the test would find
  (:meth:`Interval.detectable`).
- :func:`holm` and :func:`holm_verdicts`: Holm's correction of a family of tests for
  their number.
- :func:`noise_class`, :func:`noise_words` and :func:`interval_text`: an interval as a
  verdict that another CPU does not flip, and as the text a page glues.

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

from lrcourse.validation import flag, integer, real, real_array

__all__ = ["per_class_recall", "balanced_accuracy", "Window", "good_window", "Interval", "paired_interval",
           "holm", "holm_verdicts", "noise_class", "noise_words", "interval_text"]


def _t_quantile(q: float, df: int) -> float:
    """The ``q``-quantile of Student's t with ``df`` degrees of freedom: the one place the t machinery lives."""
    from scipy import stats

    return float(stats.t.ppf(q, df))


def _t_two_sided(t: float, df: int) -> float:
    """The probability that a Student-t variable with ``df`` degrees of freedom exceeds ``|t|`` in absolute value."""
    from scipy import stats

    return float(2 * stats.t.sf(abs(t), df))


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
    r"""A mean difference ``mean`` with its confidence interval ``mean ± half`` over ``n`` pairs.

    ``confidence`` is the interval's level :math:`c` (0.95 unless given), so that
    ``half`` is :math:`t_{(1 + c)/2,\ n - 1}\, s/\sqrt n` and the interval also holds the
    paired t test behind it: :attr:`standard_error`, :attr:`p_value` and
    :meth:`detectable`.

    >>> interval = Interval(mean=2.0, half=1.0, n=5)
    >>> round(interval.standard_error, 4)  # half / t_0.975,4 = 1 / 2.7764
    0.3602
    >>> round(interval.p_value, 4)  # the t statistic 2 / 0.3602 = 5.55, two-sided, 4 degrees of freedom
    0.0051
    """

    mean: float
    half: float
    n: int
    confidence: float = 0.95

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

    @property
    def standard_error(self) -> float:
        r"""The standard error of the mean difference, :math:`s/\sqrt n = \text{half} / t_{(1 + c)/2,\ n - 1}`."""
        return self.half / _t_quantile((1 + self.confidence) / 2, self.n - 1)

    @property
    def p_value(self) -> float:
        r"""The two-sided p-value of the paired t test of "no difference" behind the interval.

        With :math:`t = \bar d / (s/\sqrt n)` and :math:`T_{n-1}` a Student-t variable,

        .. math::

            p = P\left(|T_{n - 1}| \ge |t|\right),

        the value of ``scipy.stats.ttest_rel(a, b).pvalue`` for the pairs the interval
        came from. It is below :math:`1 - c` exactly when the interval excludes 0. When
        every difference is the same (:math:`s = 0`), it is 0, or 1 if they are all 0.

        >>> round(Interval(mean=1.0, half=1.0, n=5).p_value, 2)  # an interval that just touches 0
        0.05
        """
        if self.half == 0:
            return 0.0 if self.mean != 0 else 1.0
        return _t_two_sided(self.mean / self.standard_error, self.n - 1)

    def detectable(self, power: float = 0.8) -> float:
        r"""Return the minimum detectable effect: the smallest true difference found with probability ``power``.

        A two-sided test at the level :math:`1 - c` of the interval, with :math:`n` pairs
        whose differences have the standard deviation :math:`s_d`, finds a true
        difference with probability about ``power`` (:math:`\pi`) if it is at least

        .. math::

            \text{MDE} = \left(t_{(1 + c)/2,\ n - 1} + t_{\pi,\ n - 1}\right) \frac{s_d}{\sqrt n}
                       = \text{half} \left(1 + \frac{t_{\pi,\ n - 1}}{t_{(1 + c)/2,\ n - 1}}\right),

        the usual normal-theory approximation (it neglects the chance of rejecting in the
        wrong tail and the noncentrality of the t distribution). A "within the noise" means "no difference larger than
        this", not "no difference".

        >>> round(Interval(mean=0.0, half=1.0, n=5).detectable(), 3)  # 1 + t_0.8,4 / t_0.975,4 = 1 + 0.941 / 2.776
        1.339
        >>> Interval(mean=0.0, half=1.0, n=5).detectable(power=0.5)  # t_0.5 = 0: the half-width itself
        1.0
        """
        power = real("power", power, low=0.0, high=1.0, low_open=True, high_open=True)
        return self.half + _t_quantile(power, self.n - 1) * self.standard_error

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
    half = float(_t_quantile((1 + confidence) / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))
    return Interval(float(d.mean()), half, n, confidence)


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    r"""Return Holm's adjusted p-values of a family of :math:`m` tests.

    Holm's step-down procedure sorts the p-values, :math:`p_{(1)} \le \dots \le p_{(m)}`,
    and rejects the hypotheses of :math:`p_{(1)}, \dots, p_{(k)}` for the largest
    :math:`k` such that :math:`p_{(j)} \le \alpha / (m - j + 1)` for every :math:`j \le k`:
    it stops at the first p-value that fails. The chance of rejecting any true
    hypothesis is then at most :math:`\alpha`, whatever the dependence between the tests.
    The adjusted p-values

    .. math::

        \tilde p_{(i)} = \max_{j \le i} \min\left(1,\ (m - j + 1)\, p_{(j)}\right)

    (Holm, "A simple sequentially rejective multiple test procedure", *Scandinavian
    Journal of Statistics* 6, 1979; ``holm1979`` in the book's references) say the
    same for every :math:`\alpha` at once: a test is rejected at the level
    :math:`\alpha` exactly when :math:`\tilde p \le \alpha`. They come back in the order of
    ``p_values``; each is at least its raw p-value and at most 1, and a smaller raw
    p-value never has a larger adjusted one.

    >>> holm([0.01, 0.04, 0.03, 0.005]).round(4).tolist()  # 4 × 0.005, max(3 × 0.01, 0.02), 2 × 0.03, 0.04 → 0.06
    [0.03, 0.06, 0.06, 0.02]
    """
    p = real_array("p_values", p_values, low=0.0, high=1.0)
    if p.ndim != 1 or len(p) == 0:
        raise ValueError(f"p_values must be a non-empty 1-D array, got shape {p.shape}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted


def holm_verdicts(intervals: list[Interval], alpha: float = 0.05,
                  higher: str = "higher", lower: str = "lower") -> list[str]:
    """Return the verdict of each interval of a family after Holm's correction at the level ``alpha``.

    The verdict is ``higher`` or ``lower`` (the sign of the mean difference) for a test
    that :func:`holm` rejects at ``alpha`` (adjusted p-value at most ``alpha``), else
    ``"within noise"``. The correction can only turn a difference beyond the noise into
    one within it; a family of one interval keeps its verdict.

    >>> family = [Interval(0.5, 0.2, 5), Interval(-0.5, 0.45, 5), Interval(0.1, 0.3, 5)]
    >>> [i.verdict() for i in family], holm_verdicts(family)
    (['higher', 'lower', 'within noise'], ['higher', 'within noise', 'within noise'])
    """
    alpha = real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    intervals = list(intervals)
    if not all(isinstance(interval, Interval) for interval in intervals):
        raise TypeError("intervals must hold Interval objects (from paired_interval)")
    adjusted = holm([interval.p_value for interval in intervals])
    return [(higher if interval.mean > 0 else lower) if q <= alpha else "within noise"
            for interval, q in zip(intervals, adjusted)]


def noise_class(interval: Interval, margin: float = 0.25) -> str:
    r"""Return ``"lower"``, ``"higher"``, ``"within"`` or ``"edge"``: a verdict that another CPU does not flip.

    With the interval :math:`[\ell, h] = \text{mean} \pm \text{half}` and the band
    :math:`m = \text{margin} \cdot \text{half}`:

    - ``"lower"``/``"higher"`` (the sign of the mean) when the interval clears 0 by more
      than :math:`m` (:math:`h < -m` or :math:`\ell > m`): beyond the noise;
    - ``"within"`` when 0 lies more than :math:`m` inside it (:math:`\ell < -m` and :math:`h > m`);
    - ``"edge"`` in between: the interval's end lies within :math:`m` of 0.

    A verdict read off the interval's end alone (:attr:`Interval.excludes_zero`) flips when
    the last digits of a run move that end across 0, as they do from one CPU to another.
    Here a word changes only when the end moves by :math:`m`, and next to each threshold
    both words it separates are true ("beyond the noise" and "at the edge"; "at the edge"
    and "within"), so whichever a machine prints is a true sentence.

    >>> [noise_class(Interval(mean, 1.0, 5)) for mean in (-2.0, -1.1, 0.0, 0.9, 1.5)]
    ['lower', 'edge', 'within', 'edge', 'higher']
    """
    if not isinstance(interval, Interval):
        raise TypeError(f"interval must be an Interval (from paired_interval), got {type(interval).__name__}")
    margin = real("margin", margin, low=0.0, high=1.0, high_open=True)
    m = margin * interval.half
    if interval.high < -m or interval.low > m:
        return "lower" if interval.mean < 0 else "higher"
    return "within" if interval.low < -m and interval.high > m else "edge"


def noise_words(interval: Interval, margin: float = 0.25) -> str:
    """Return :func:`noise_class`'s verdict as words for the page, e.g. ``"lower, at the edge of the noise"``.

    >>> noise_words(Interval(-1.1, 1.0, 5)), noise_words(Interval(0.1, 1.0, 5))
    ('lower, at the edge of the noise', 'within the noise')
    """
    word = noise_class(interval, margin)  # checks both arguments first
    side = "lower" if interval.mean < 0 else "higher"
    return {"lower": "lower, beyond the noise", "higher": "higher, beyond the noise", "within": "within the noise",
            "edge": f"{side}, at the edge of the noise"}[word]


def interval_text(interval: Interval, fmt: str = "{:+.3f}") -> str:
    """Return ``interval`` as ``"mean ± half"`` for the page, e.g. ``"-0.120 ± 0.045"``.

    ``fmt`` is a ``str.format`` pattern with one field, applied to the mean and to the
    half-width; a sign the pattern prints on the half-width (``+``) is dropped, since the
    half-width is never negative.

    >>> interval_text(Interval(-0.12, 0.045, 5)), interval_text(Interval(1.5, 0.25, 5), "{:.2f}")
    ('-0.120 ± 0.045', '1.50 ± 0.25')
    """
    if not isinstance(interval, Interval):
        raise TypeError(f"interval must be an Interval (from paired_interval), got {type(interval).__name__}")
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a str.format pattern such as '{{:+.3f}}', got {type(fmt).__name__}")
    try:
        mean, half = fmt.format(interval.mean), fmt.format(interval.half)
    except (IndexError, KeyError, ValueError) as error:
        raise ValueError(f"fmt must be a str.format pattern with one numeric field such as '{{:+.3f}}', "
                         f"got {fmt!r} ({error})") from None
    return f"{mean} ± {half.lstrip('+')}"
