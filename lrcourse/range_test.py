r"""The learning-rate range test without torch: the ramp, the smoothing, the stop, the four rules.

A range test (Smith, 2017) trains for a hundred steps or so while the learning rate
climbs from tiny to huge, and records the loss at every step. Read against the
learning rate on a logarithmic axis, the loss stays flat (the rate is too small to
move anything), falls (the useful range), bottoms out and blows up (too large).
This module holds everything that only needs the recorded numbers, so that the torch
test (:func:`lrcourse.torch.lr_range_test`), the NumPy problems and the book share one
copy of each formula:

- :class:`Ramp`: the rates :math:`\alpha_0 < \alpha_1 < \dots < \alpha_{N-1}`, a schedule;
- :func:`smooth_update` and :func:`debiased_ema`: the debiased moving average of the
  losses;
- :func:`is_diverged`: when to stop;
- :func:`minimum`, :func:`steep`, :func:`valley`, :func:`slide`: the four rules that
  turn the curve into a suggested rate, all functions of ``(lrs, smoothed)``;
- :class:`RangeTestResult`: the record of one test, with :meth:`RangeTestResult.plot`;
- :func:`problem_range_test` (the ramp) and :func:`constant_lr_sweep` (``K`` constant
  rates side by side) on a NumPy problem, both run by :func:`lrcourse.sweep.sweep`.

>>> import numpy as np
>>> lrs = np.geomspace(1e-4, 1.0, 41)  # ten rates a decade, lrs[k] = 10^(k/10 - 4)
>>> losses = 1.0 / (1.0 + 300.0 * lrs) + 50.0 * lrs**2  # flat, falls, bottoms out, blows up
>>> result = RangeTestResult.from_losses(lrs, losses, smooth=0.0)
>>> {rule: round(lr, 4) for rule, lr in result.suggestions.items()}
{'minimum': 0.0032, 'steep': 0.0032, 'valley': 0.0035, 'slide': 0.0004}
>>> round(result.diverged_at, 3), len(result.lrs)  # 4× the lowest loss: the test stops at step 31
(0.126, 32)

Each number can be found by hand (``tests/test_range_test.py`` does): the lowest
loss is at :math:`10^{-1.5}`, the rate next to the exact minimum 0.03, and ``minimum``
is a tenth of it; the loss falls fastest at 1/300, in the segment that starts at
:math:`10^{-2.5}` (``steep``); the descent runs from :math:`10^{-3.4}` to
:math:`10^{-1.5}`, and ``valley`` is halfway, :math:`10^{-2.45}`; no stretch of 1.2
decades is straight, so ``slide`` falls back to the descent's start, :math:`10^{-3.4}`;
the first loss above 4× the lowest is at :math:`10^{-0.9}`.

References:
    Smith, L. N. (2017). Cyclical learning rates for training neural networks. WACV.
    Howard, J. and Gugger, S. (2020). fastai: a layered API for deep learning.
    Information 11(2). (``lr_find`` and its suggestion functions.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.numpy import SGD
from lrcourse.plots import plot_range_test
from lrcourse.schedules import Schedule
from lrcourse.sweep import sweep
from lrcourse.validation import MAX_STEPS, check, integer, integer_field, real, real_field

__all__ = [
    "Ramp",
    "SmoothedLoss",
    "smooth_update",
    "debiased_ema",
    "is_diverged",
    "first_divergence",
    "descent",
    "minimum",
    "steep",
    "valley",
    "slide",
    "suggest",
    "RangeTestResult",
    "problem_range_test",
    "constant_lr_sweep",
]

RAMPS = ("exp", "linear")


@dataclass(frozen=True)
class Ramp(Schedule):
    r"""The range test's rates: from ``start_lr`` to ``end_lr`` in ``num_steps`` steps.

    .. math::

        \alpha_t = \alpha_{\mathrm{start}} \left(\frac{\alpha_{\mathrm{end}}}{\alpha_{\mathrm{start}}}\right)^{t/(N-1)}
        \ \ (\texttt{"exp"}), \qquad
        \alpha_t = \alpha_{\mathrm{start}} + (\alpha_{\mathrm{end}} - \alpha_{\mathrm{start}})\,\frac{t}{N-1}
        \ \ (\texttt{"linear"}),

    for :math:`t = 0, \dots, N - 1` (``num_steps`` is :math:`N`); after the last
    step the rate stays at :math:`\alpha_{\mathrm{end}}`. The exponential ramp
    multiplies the rate by the same factor
    :math:`q = (\alpha_{\mathrm{end}} / \alpha_{\mathrm{start}})^{1/(N-1)}` every step,
    so it spends as many steps in every decade (fastai's ``lr_find``, and the
    default); the linear ramp is Smith's original, which spends nearly all its
    steps in the top decade.

    The first and the last rate are ``start_lr`` and ``end_lr`` (fastai's ramp stops
    one factor :math:`q` short of ``end_lr``).

    >>> Ramp(1e-3, 1.0, num_steps=4)(np.arange(4))
    array([0.001, 0.01 , 0.1  , 1.   ])
    >>> Ramp(0.0, 1.0, num_steps=5)
    Traceback (most recent call last):
    ...
    ValueError: start_lr must be a finite number in (0, inf), got 0.0

    A ramp is a schedule like any other, so the NumPy optimizers and
    :func:`lrcourse.sweep.sweep` run a range test on a test problem directly (which
    is what :func:`problem_range_test` does):

    >>> from lrcourse.numpy import SGD
    >>> from lrcourse.problems import Quadratic
    >>> from lrcourse.sweep import sweep
    >>> run = sweep(Quadratic(), SGD, lr=[1.0], schedule=Ramp(1e-3, 10.0, num_steps=40), steps=39)
    >>> run.losses.shape  # the loss before each of the 40 rates is used
    (1, 40)
    """

    start_lr: float
    end_lr: float
    num_steps: int = 100
    kind: str = "exp"

    def __post_init__(self) -> None:
        real_field(self, "start_lr", low=0.0, low_open=True)
        real_field(self, "end_lr", low=self.start_lr, low_open=True)
        integer_field(self, "num_steps", low=2, high=MAX_STEPS)
        check(self.kind in RAMPS, "kind", "'exp' or 'linear'", self.kind)

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        pos = np.minimum(t, self.num_steps - 1) / (self.num_steps - 1)  # 0 → 1 along the ramp
        if self.kind == "exp":
            # start^(1-pos) end^pos, the same rates as start (end/start)^pos, but exact at both ends and
            # finite for every pair of floats (end/start overflows for Ramp(1e-3, 1e308))
            return self.start_lr ** (1.0 - pos) * self.end_lr**pos
        return self.start_lr + (self.end_lr - self.start_lr) * pos


class SmoothedLoss(NamedTuple):
    """The state of the moving average: :math:`a_t` (``avg``, biased towards 0) and :math:`t` (``count``)."""

    avg: float = 0.0
    count: int = 0


def smooth_update(state: SmoothedLoss, loss: float, beta: float) -> tuple[SmoothedLoss, float]:
    r"""Add one loss to the moving average; return the new state and the debiased value.

    .. math::

        a_t = \beta\, a_{t-1} + (1 - \beta)\, \ell_t, \quad a_0 = 0, \qquad
        \bar\ell_t = \frac{a_t}{1 - \beta^t}
        = \frac{\sum_{k=1}^{t} \beta^{t-k} \ell_k}{\sum_{k=1}^{t} \beta^{t-k}}

    :math:`\ell_t` is ``loss``, the :math:`t`-th loss seen (from 1, ``state.count``
    before the call is :math:`t - 1`), :math:`\beta` is ``beta`` (``smooth`` in the
    range test; 0 smooths nothing). Starting at :math:`a_0 = 0` biases :math:`a_t`
    towards zero by the factor :math:`1 - \beta^t`, which is what the division
    undoes (Adam's bias correction): :math:`\bar\ell_t` is a weighted average of the
    losses so far, weights summing to 1. So a constant loss gives a flat curve from
    the first step (Lightning's finder divided by the wrong power and drew a rising
    start, Lightning #14167), and adding a constant to every loss adds it to the curve
    (no sign is assumed: fastai #962).

    Debiasing fixes the start, not the lag: the average looks back about
    :math:`1/(1-\beta)` losses, 50 for :math:`\beta = 0.98`, which on the default
    ramp (100 steps over 8 decades) spans four decades of rate. Where the raw loss
    falls fast, the smoothed curve trails it by up to a decade or more, and its
    minimum and the suggestions move right with it; with little noise, or a short
    test, a smaller :math:`\beta` (0.9) follows the raw losses more closely.

    >>> state, value = smooth_update(SmoothedLoss(), 2.0, beta=0.98)
    >>> state, value  # the first value is the first loss, not 2% of it
    (SmoothedLoss(avg=0.040000000000000036, count=1), 2.0)
    """
    beta = real("beta", beta, low=0.0, high=1.0, high_open=True)
    avg = beta * state.avg + (1.0 - beta) * loss
    count = state.count + 1
    return SmoothedLoss(avg, count), avg / (1.0 - beta**count)


def debiased_ema(losses: ArrayLike, beta: float) -> NDArray[np.float64]:
    """Return the debiased moving average (:func:`smooth_update`) after each loss of ``losses``.

    >>> debiased_ema([1.0, 1.0, 1.0], beta=0.9)
    array([1., 1., 1.])
    >>> debiased_ema([-3.0, -1.0], beta=0.5)  # weights 1/3 and 2/3 on the second value
    array([-3.        , -1.66666667])
    """
    beta = real("beta", beta, low=0.0, high=1.0, high_open=True)
    state, smoothed = SmoothedLoss(), []
    for loss in _floats("losses", losses).reshape(-1):
        state, value = smooth_update(state, float(loss), beta)
        smoothed.append(value)
    return np.array(smoothed, dtype=np.float64)


def is_diverged(smoothed: ArrayLike, best: ArrayLike, factor: float, floor: float = 0.0) -> Any:
    r"""Return whether the smoothed loss has run away: fastai's "4× the minimum", measured from a floor.

    .. math::

        \bar\ell_t - \ell_{\mathrm{floor}} > f \,\big(\min_{k \le t} \bar\ell_k - \ell_{\mathrm{floor}}\big)
        \quad\text{or}\quad \bar\ell_t \notin \mathbb{R}

    ``smoothed`` is :math:`\bar\ell_t`, ``best`` its minimum so far, ``factor`` is
    :math:`f` (``diverge_factor``), ``floor`` is :math:`\ell_{\mathrm{floor}}`, a
    value the loss cannot go below. With the default floor 0 (the cross-entropy, a
    squared error) this is fastai's rule :math:`\bar\ell_t > f \min_k \bar\ell_k`.
    "Four times the minimum" only means something once one knows where zero is:
    with a loss that is negative (fastai #962) fastai's rule holds at the first step
    (:math:`-1 > 4 \times -1`) and its test stopped at once. Here a loss below the
    floor raises ``ValueError`` instead, asking for the floor (a loss shifted by
    :math:`c` gives the same test with the floor shifted by :math:`c`; ``-inf``
    stops only on NaN or inf). A NaN or infinite loss always counts as diverged.
    Works elementwise on arrays.

    >>> bool(is_diverged(4.5, 1.0, factor=4.0)), bool(is_diverged(-5.5, -9.0, 4.0, floor=-10.0))
    (True, True)
    >>> bool(is_diverged(float("nan"), 1.0, factor=4.0))
    True
    """
    factor, floor = _factor("factor", factor), _floor("floor", floor)
    s, m = _floats("smoothed", smoothed), _floats("best", best)
    if np.any(m < floor):
        raise ValueError(f"loss_floor must be a lower bound of the loss (the divergence rule measures the loss "
                         f"from it), but the smoothed loss reached {np.min(m):.6g} < loss_floor = {floor:g}; "
                         "pass loss_floor=<the loss's lower bound>, or -inf to stop on NaN or inf only")
    with np.errstate(invalid="ignore"):  # NaN compares as False; the isfinite test catches it
        return ~np.isfinite(s) | (s - floor > factor * (m - floor))


def first_divergence(smoothed: ArrayLike, factor: float, floor: float = 0.0) -> int | None:
    """Return the first index at which :func:`is_diverged` holds, or ``None`` if it never does.

    >>> first_divergence([3.0, 2.0, 1.0, 2.0, 5.0, 9.0], factor=4.0)  # 5 > 4 × 1
    4
    """
    s = _floats("smoothed", smoothed)
    factor, floor = _factor("factor", factor), _floor("floor", floor)
    finite = np.isfinite(s)
    end = len(s) if finite.all() else int(np.argmin(finite))  # the first NaN or inf
    if end == 0:
        return None if len(s) == 0 else 0
    hits = np.flatnonzero(is_diverged(s[:end], np.minimum.accumulate(s[:end]), factor, floor))
    if hits.size:
        return int(hits[0])
    return end if end < len(s) else None


def descent(smoothed: ArrayLike, fraction: float = 0.1) -> tuple[int, int]:
    r"""Return ``(a, b)``: the stretch over which the loss comes down to its minimum.

    .. math::

        b = \arg\min_t \bar\ell_t, \qquad
        \ell_{\mathrm{start}} = \min_{t < k} \bar\ell_t, \quad k = \max(1, \lfloor (b + 1)/10 \rfloor),

        a = \max\,\{t \le b : \bar\ell_t \ge \ell_{\mathrm{start}}
        - \varepsilon\, (\ell_{\mathrm{start}} - \bar\ell_b)\}

    :math:`b` is the minimum; :math:`a` the last step before it at which the smoothed
    loss had come down by at most a fraction :math:`\varepsilon` (``fraction``) of its
    whole fall: where the fall begins in earnest. A level, not the first downward
    step, because even at a rate of :math:`10^{-7}` a full-batch loss creeps down.
    The starting level :math:`\ell_{\mathrm{start}}` is the lowest smoothed loss of
    the first tenth of the curve before the minimum. An early spike (Lightning #1767)
    and a first batch that happens to be hard (the debiased average follows the first
    few losses closely) can only raise values there, so the lowest is the level the
    loss started from; noise makes it a little low, which moves :math:`a` a little
    later, never back into a spike's slow decay. :func:`steep`, :func:`valley` and
    :func:`slide` look only at ``[a, b]``. (fastai leaves out the first tenth of the
    curve for the same reasons.)

    >>> descent([1.0, 3.0, 1.5, 0.98, 0.5, 0.2, 0.4])  # the spike at 1 is left out
    (3, 5)
    """
    s, fraction = _floats("smoothed", smoothed), real("fraction", fraction, low=0.0, high=1.0)
    b = int(np.argmin(s))
    start = float(np.min(s[: max(1, (b + 1) // 10)]))
    a = int(np.flatnonzero(s[: b + 1] >= start - fraction * (start - s[b]))[-1])
    return a, b


def minimum(lrs: ArrayLike, smoothed: ArrayLike) -> float | None:
    r"""Return a tenth of the rate at which the smoothed loss is lowest (fastai's ``minimum``).

    .. math:: \alpha_{\text{minimum}} = \tfrac{1}{10}\, \alpha_{\arg\min_t \bar\ell_t}

    At the minimum the rate is already too large to keep (the loss turns up right
    after), and the curve lags the rates (the chapter shows by how much), so the rule
    backs off by a factor of 10. Same as fastai's, on the curve cut at the
    divergence. ``None`` for an empty curve.

    >>> minimum([0.1, 1.0, 10.0], [2.0, 1.0, 3.0])
    0.1
    """
    lrs, s = _curve(lrs, smoothed)
    return float(lrs[np.argmin(s)] / 10.0) if len(s) else None


def steep(lrs: ArrayLike, smoothed: ArrayLike) -> float | None:
    r"""Return the rate at which the smoothed loss falls fastest against :math:`\log\alpha` (fastai's ``steep``).

    .. math::

        \alpha_{\text{steep}} = \alpha_{i^\star}, \qquad
        i^\star = \arg\min_{a \le i < b} \frac{\bar\ell_{i+1} - \bar\ell_i}{\log\alpha_{i+1} - \log\alpha_i}

    The rate at the start of the steepest segment, as in fastai. The difference: the
    segments are those of the :func:`descent` ``[a, b]`` only (fastai searches the
    whole curve but its first tenth and last five points), so a spike or the noise of
    the flat start can't win. ``None`` if the loss never comes down.

    >>> lrs = np.geomspace(1e-4, 1.0, 41)
    >>> round(steep(lrs, 1.0 / (1.0 + 300.0 * lrs)), 4)  # exactly: α = 1/300 ≈ 0.0033
    0.0032
    """
    found = _descent_of(lrs, smoothed, min_points=2)
    if found is None:
        return None
    lrs, s, a, b = found
    slopes = np.diff(s[a : b + 1]) / np.diff(np.log(lrs[a : b + 1]))
    return float(lrs[a + int(np.argmin(slopes))])


def valley(lrs: ArrayLike, smoothed: ArrayLike) -> float | None:
    r"""Return the rate halfway down the longest valley, on the log axis (fastai's ``valley``, from ESRI).

    .. math:: \alpha_{\text{valley}} = \sqrt{\alpha_a\, \alpha_b}

    where ``[a, b]`` is the :func:`descent`. fastai (taking the rule from ESRI's
    ``arcgis.learn``) defines the valley as the longest decreasing subsequence of the
    curve, found by an :math:`O(n^2)` search, and suggests the point
    :math:`\lfloor n/3 \rfloor + \lfloor n/6 \rfloor` (about :math:`n/2`) steps past
    its start. On a smoothed curve that subsequence runs from the top of the descent
    to the minimum, which is :func:`descent`'s stretch; taking that stretch directly
    keeps an early spike (whose slow decay is a long decreasing run) or noise on the
    flat start from lengthening the valley, and halving it on the log axis gives the
    same point for the exponential ramp and a sensible one for the linear ramp.
    ``None`` if the loss never comes down.

    >>> lrs = np.geomspace(1e-4, 1.0, 41)[:31]
    >>> smoothed = 1.0 / (1.0 + 300.0 * lrs) + 50.0 * lrs**2  # the module's example, cut at its stop
    >>> descent(smoothed), round(valley(lrs, smoothed), 4)  # halfway from 0.0004 to 0.032
    ((6, 25), 0.0035)
    """
    found = _descent_of(lrs, smoothed, min_points=2)
    if found is None:
        return None
    lrs, s, a, b = found
    return float(np.sqrt(lrs[a] * lrs[b]))


def slide(lrs: ArrayLike, smoothed: ArrayLike, window: float = 1.2, thresh: float = 0.05) -> float | None:
    r"""Return the rate a window before the loss stops sliding down (fastai's ``slide``).

    Take the slope :math:`g_i = d\bar\ell / d\log_{10}\alpha` at each point (central
    differences) and a window of ``window`` decades, from point :math:`l` to the first
    point :math:`r` at least that far right. Starting with its right end at the last
    point of the curve, slide the window left until the curve is straight all across
    it,

    .. math:: \max_{l \le i, j \le r} |g_i - g_j| \le \tau \max_{i \ge a} |g_i|,

    where :math:`a` is the start of the :func:`descent`, and return its left end
    :math:`\alpha_l`. Coming from the blow-up on the right,
    the first straight stretch is the flat bottom if it is wide, otherwise the steady
    part of the slide down: :math:`\alpha_l` lies a window before the point where the
    loss stops sliding, a back-off like :func:`minimum`'s factor of 10. ``thresh`` is
    :math:`\tau`. The window never slides left of the :func:`descent`'s start, which
    is returned if no window is straight.

    fastai compares the slopes at the window's two ends only, which also accepts a
    window centred on the steepest point (the slopes of a symmetric descent are equal
    there); its look-ahead is 15 points (1.2 decades on its default ramp) and its
    threshold an absolute 0.005 loss per point. Here the whole window must be
    straight, and the window and threshold are in units of the curve (decades of
    rate, a fraction of the steepest slope), so the answer does not depend on the
    number of steps, the ramp or the scale of the loss. ``None`` if the loss never
    comes down or the curve is shorter than a window.

    >>> lrs = np.geomspace(1e-4, 1.0, 41)
    >>> loss = np.clip(1.0 - 0.5 * np.log10(lrs / 1e-3), 0.2, 1.0)  # flat, falls from 1e-3 to 0.04, flat
    >>> round(slide(lrs, loss), 4)  # the window [0.063, 1] is the first straight one from the right
    0.0631
    """
    window, thresh = real("window", window, low=0.0, low_open=True), real("thresh", thresh, low=0.0)
    found = _descent_of(lrs, smoothed, min_points=3)
    if found is None:
        return None
    lrs, s, a, b = found
    decades = np.log10(lrs)
    slopes = np.gradient(s, decades)
    scale = thresh * np.max(np.abs(slopes[a:]))
    right_of = np.searchsorted(decades, decades + window - 1e-9)  # r for each l
    candidates = np.flatnonzero((right_of < len(s)) & (np.arange(len(s)) >= a))
    for left in candidates[::-1]:  # from the right end of the curve
        if np.ptp(slopes[left : right_of[left] + 1]) <= scale:
            return float(lrs[left])
    return float(lrs[a]) if candidates.size else None


RULES: dict[str, Callable[[ArrayLike, ArrayLike], float | None]] = {
    "minimum": minimum,
    "steep": steep,
    "valley": valley,
    "slide": slide,
}


def suggest(lrs: ArrayLike, smoothed: ArrayLike) -> dict[str, float | None]:
    """Apply the four rules to a curve (cut before it diverges); ``None`` where a rule has no answer.

    >>> suggest([0.1, 1.0], [1.0, 2.0])  # the loss never comes down
    {'minimum': 0.01, 'steep': None, 'valley': None, 'slide': None}
    """
    return {name: rule(lrs, smoothed) for name, rule in RULES.items()}


def _floats(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """``values`` as a float64 array; ``TypeError`` naming ``name`` unless they are real numbers."""
    array = np.asarray(values)
    check(array.dtype.kind in "iuf", name, "real numbers (an array, a list or a number)", values, TypeError)
    return array.astype(np.float64)


def _factor(name: str, value: float) -> float:
    return real(name, value, low=1.0, low_open=True, finite=False)  # inf: stop on NaN or inf only


def _floor(name: str, value: float) -> float:
    return real(name, value, high=math.inf, high_open=True, finite=False)  # -inf: no floor


def _curve(lrs: ArrayLike, smoothed: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rates, s = _floats("lrs", lrs), _floats("smoothed", smoothed)
    if rates.ndim != 1 or rates.shape != s.shape:
        raise ValueError(f"lrs and smoothed must be 1-D of one length, got shapes {rates.shape} and {s.shape}")
    if not (np.all(rates > 0) and np.all(np.diff(rates) > 0)):
        raise ValueError("lrs must be positive and increasing")
    if not np.all(np.isfinite(s)):
        raise ValueError("smoothed must be finite: cut the curve before it diverges")
    return rates, s


def _descent_of(lrs: ArrayLike, smoothed: ArrayLike, *, min_points: int
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], int, int] | None:
    """The checked curve and its :func:`descent` ``[a, b]``; None if too short or never falling."""
    rates, s = _curve(lrs, smoothed)
    if len(s) < min_points:
        return None
    a, b = descent(s)
    return None if b == a else (rates, s, a, b)


def check_options(smooth: float, diverge_factor: float, loss_floor: float) -> tuple[float, float, float]:
    """Check the range test's options, shared by the NumPy and torch tests; return them as floats.

    ``smooth`` in [0, 1); ``diverge_factor`` above 1, ``inf`` to stop on NaN or
    inf only; ``loss_floor`` below ``inf``, ``-inf`` for none. ``TypeError`` for a value
    that is not a real number (str, ``None``, a bool), ``ValueError`` for one out of
    range, both naming the option (:func:`lrcourse.validation.real`).
    """
    return (real("smooth", smooth, low=0.0, high=1.0, high_open=True), _factor("diverge_factor", diverge_factor),
            _floor("loss_floor", loss_floor))


@dataclass(frozen=True, eq=False)
class RangeTestResult:
    """The record of a range test: rates, raw and smoothed losses, the four suggestions, the stop.

    ``lrs[t]`` is the rate of update ``t`` and ``losses[t]`` the loss of the batch it
    was computed on, measured before that update (so ``losses[t]`` shows the effect of
    the rates before ``lrs[t]``); ``smoothed`` is their debiased moving average. The
    arrays run up to the step at which the test stopped: ``diverged_at`` is that
    step's rate (the smoothed loss exceeded ``diverge_factor`` times its minimum, see
    :func:`is_diverged`), or ``None`` if the ramp ran to its end. ``suggestions`` maps
    each rule (:func:`minimum`, :func:`steep`, :func:`valley`, :func:`slide`) to its
    rate, computed on the curve before the stop; ``None`` where a rule has no answer.
    (For :func:`constant_lr_sweep`, each point is a separate run and the stop is the
    first run that diverged.)
    """

    lrs: NDArray[np.float64]
    losses: NDArray[np.float64]
    smoothed: NDArray[np.float64]
    suggestions: dict[str, float | None] = field(default_factory=dict)
    diverged_at: float | None = None

    @classmethod
    def from_losses(cls, lrs: ArrayLike, losses: ArrayLike, *, smooth: float = 0.98, diverge_factor: float = 4.0,
                    loss_floor: float = 0.0) -> RangeTestResult:
        """Smooth the raw ``losses``, find where they diverge, cut there, and apply the rules."""
        smooth, diverge_factor, loss_floor = check_options(smooth, diverge_factor, loss_floor)
        rates, raw = _floats("lrs", lrs), _floats("losses", losses)
        if rates.ndim != 1 or rates.shape != raw.shape:
            raise ValueError(f"lrs and losses must be 1-D of one length, got shapes {rates.shape} and {raw.shape}")
        smoothed = debiased_ema(raw, smooth)
        stop = first_divergence(smoothed, diverge_factor, loss_floor)
        end = len(raw) if stop is None else stop + 1  # keep the step that stopped the test
        kept = stop if stop is not None else len(raw)  # the rules see the curve before it
        return cls(_frozen(rates[:end]), _frozen(raw[:end]), _frozen(smoothed[:end]),
                   suggest(rates[:kept], smoothed[:kept]), None if stop is None else float(rates[stop]))

    def plot(self, ax: Any = None, *, references: Mapping[str, float] | None = None, title: str | None = None) -> Any:
        """Draw the test with :func:`lrcourse.plots.plot_range_test` and return the axes.

        The rules with a suggestion are marked, and ``diverged_at``; ``references``
        maps names to known rates, e.g. ``{"2/L": 2 / L}``.
        """
        marked = {name: lr for name, lr in self.suggestions.items() if lr is not None}
        return plot_range_test(self.lrs, self.losses, self.smoothed, ax, suggestions=marked,
                               diverged_at=self.diverged_at, references=references, title=title)

    def __repr__(self) -> str:
        rules = ", ".join(f"{name}={'None' if lr is None else f'{lr:.3g}'}" for name, lr in self.suggestions.items())
        stop = "None" if self.diverged_at is None else f"{self.diverged_at:.3g}"
        span = f"{self.lrs[0]:.3g}…{self.lrs[-1]:.3g}" if len(self.lrs) else "empty"
        return f"RangeTestResult({len(self.lrs)} steps, lr {span}, diverged_at={stop}, {rules})"


def _frozen(array: NDArray[np.float64]) -> NDArray[np.float64]:
    array = array.copy()
    array.flags.writeable = False
    return array


def problem_range_test(problem: Any, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
                       ramp: str = "exp", smooth: float = 0.98, diverge_factor: float = 4.0, *,
                       optimizer: Any = None, loss_floor: float = 0.0, seed: int = 0,
                       **hyperparams: Any) -> RangeTestResult:
    """Run the range test on a NumPy test problem of :mod:`lrcourse.problems`.

    The same test as :func:`lrcourse.torch.lr_range_test`: one run from
    ``problem.x0``, update ``t`` at rate ``Ramp(start_lr, end_lr, num_steps, ramp)(t)``,
    the loss ``problem.value`` before each update, gradients from
    ``problem.sample_grad`` (noise seeded with ``seed``). It is one call of
    :func:`lrcourse.sweep.sweep` with the ramp as its schedule; ``optimizer`` is a
    :mod:`lrcourse.numpy` optimizer class (default SGD) and ``hyperparams`` its other
    arguments. The sweep runs the whole ramp (overflow becomes inf, then NaN: that is
    where it stops); the result is cut where :func:`is_diverged` first holds.

    >>> from lrcourse.problems import Quadratic
    >>> bowl = Quadratic(kappa=10.0, L=10.0, dim=10)  # gradient descent diverges above 2/L = 0.2
    >>> result = problem_range_test(bowl)
    >>> bool(result.diverged_at > bowl.lr_critical)  # below 2/L every step lowers the loss: no stop there
    True
    >>> [rule for rule in ("minimum", "steep", "valley")
    ...  if not 0.1 * bowl.lr_critical < result.suggestions[rule] < bowl.lr_critical]  # they back off below 2/L
    []
    """
    check(ramp in RAMPS, "ramp", "'exp' or 'linear'", ramp)
    smooth, diverge_factor, loss_floor = check_options(smooth, diverge_factor, loss_floor)
    schedule = Ramp(start_lr, end_lr, num_steps, ramp)
    run = sweep(problem, optimizer or SGD, lr=[1.0], schedule=schedule, steps=schedule.num_steps - 1, seed=seed,
                **hyperparams)
    return RangeTestResult.from_losses(schedule(np.arange(schedule.num_steps)), run.losses[0], smooth=smooth,
                                       diverge_factor=diverge_factor, loss_floor=loss_floor)


def constant_lr_sweep(problem: Any, lrs: ArrayLike, steps: int = 100, *, optimizer: Any = None,
                      diverge_factor: float = 4.0, loss_floor: float = 0.0, seed: int = 0,
                      **hyperparams: Any) -> RangeTestResult:
    """Train ``K`` runs at ``K`` constant rates side by side; record each run's final loss.

    What the range test estimates in one run, measured directly: run ``k`` trains at
    ``lrs[k]`` for ``steps`` updates from ``problem.x0``, all ``K`` in one batched
    :func:`lrcourse.sweep.sweep`. The curve is the final loss against the rate (no
    smoothing: each point is its own run). Each run starts from the same loss
    :math:`J_0`, so run ``k`` *diverged* when its final loss is NaN, inf, or
    :math:`J_T - \\ell_{\\mathrm{floor}} > f\\,(J_0 - \\ell_{\\mathrm{floor}})`: it ended
    ``diverge_factor`` times higher than it started. ``diverged_at`` is the smallest
    such rate; the curve is cut there and the four rules apply to what is left. On a
    quadratic, a constant rate diverges exactly above :math:`2/L`, which is where
    ``diverged_at`` lands (to the grid's resolution), while the range test's ramp
    overshoots it.

    >>> from lrcourse.problems import Quadratic
    >>> result = constant_lr_sweep(Quadratic(kappa=10.0), np.linspace(0.5, 3.0, 26), steps=50)
    >>> result.diverged_at  # the first rate above 2/L = 2 on this grid
    2.1
    """
    _, diverge_factor, loss_floor = check_options(0.0, diverge_factor, loss_floor)
    steps = integer("steps", steps, low=1)
    rates = np.asarray(lrs, dtype=np.float64)
    check(rates.ndim == 1 and len(rates) >= 2 and bool(np.all(rates > 0)) and bool(np.all(np.diff(rates) > 0)),
          "lrs", "a 1-D array of at least two positive, increasing rates", lrs)
    run = sweep(problem, optimizer or SGD, lr=rates, steps=steps, seed=seed, **hyperparams)
    # The rule of the range test, with each run's own start J_0 in place of the running minimum.
    diverged = is_diverged(run.final_loss, run.losses[:, 0], diverge_factor, loss_floor)
    final = run.final_loss
    stop = int(np.argmax(diverged)) if diverged.any() else None
    kept = len(rates) if stop is None else stop
    end = len(rates) if stop is None else stop + 1
    return RangeTestResult(_frozen(rates[:end]), _frozen(final[:end]), _frozen(final[:end]),
                           suggest(rates[:kept], final[:kept]), None if stop is None else float(rates[stop]))
