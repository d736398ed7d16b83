"""Figures for the book, made from the package's own objects and from real runs.

One style for the whole course (:func:`use_book_style`): Okabe & Ito's colour-blind-safe
palette, light grids, labelled axes. Every function draws on a given ``ax`` (or makes
one) and returns it, so figures compose; none calls ``plt.show``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike

from lrcourse.schedules import Schedule

__all__ = [
    "PALETTE",
    "STYLE",
    "use_book_style",
    "plot_schedules",
    "plot_losses",
    "plot_contours",
    "plot_range_test",
    "plot_sweep",
    "DIAGNOSES",
    "plot_diagnosis",
]

#: Okabe & Ito's colour-blind-safe palette (black left out: it is kept for reference lines).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
#: The Matplotlib style file of the book's figures, which :func:`use_book_style` loads.
STYLE = Path(__file__).with_name("book.mplstyle")


def use_book_style() -> None:
    """Apply the course's matplotlib style (``lrcourse/book.mplstyle``) to every later figure."""
    plt.style.use(STYLE)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    return ax


def _legend_below(ax: Axes, entries: int) -> None:
    """Put the legend under the axes, where it can never hide a curve."""
    if entries:
        ax.legend(fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  ncol=min(entries, 3))


def plot_schedules(schedules: Mapping[str, Schedule] | Sequence[Schedule], steps: int,
                   ax: Axes | None = None, *, log: bool = False, title: str | None = None) -> Axes:
    """Plot the learning rate against the step for one or several schedules.

    ``schedules`` is a mapping from legend label to schedule, or a sequence (labelled by
    their ``repr``). Each curve is ``sched(np.arange(steps))``: the closed form, no
    training involved. ``log=True`` puts the rate on a logarithmic axis.
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    items = list(schedules.items()) if isinstance(schedules, Mapping) else [(repr(s), s) for s in schedules]
    ax = _new_axes(ax)
    t = np.arange(steps)
    for i, (label, schedule) in enumerate(items):
        ax.plot(t, schedule(t), label=label, color=_colour(i), lw=1.8)
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
    _legend_below(ax, len(items))
    return ax


def _curves(values: Mapping[str, ArrayLike] | ArrayLike, labels: Sequence[str] | None) -> list[tuple[str, np.ndarray]]:
    """Normalise one curve, a (K, T) array of curves, or a mapping of labelled curves."""
    if isinstance(values, Mapping):
        return [(str(k), np.asarray(v, dtype=np.float64)) for k, v in values.items()]
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"losses must be a 1-D curve, a (K, T) array or a mapping of curves, got shape {array.shape}")
    if labels is None:
        labels = [""] * len(array) if len(array) == 1 else [f"run {k}" for k in range(len(array))]
    if len(labels) != len(array):
        raise ValueError(f"labels must give one label per curve ({len(array)}), got {len(labels)}")
    return list(zip([str(label) for label in labels], array))


def plot_losses(losses: Mapping[str, ArrayLike] | ArrayLike, ax: Axes | None = None, *,
                labels: Sequence[str] | None = None, log: bool = True, title: str | None = None,
                xlabel: str = "step $t$", ylabel: str = r"loss $J(\theta_t)$") -> Axes:
    """Plot loss curves against the step, several runs overlaid.

    ``losses`` is one curve, a ``(K, T)`` array (one row a run, with ``labels``), or a
    mapping from label to curve; entry ``t`` of a curve is the loss after ``t`` updates.
    A run whose loss became NaN or infinite is drawn up to its last finite value, marked
    with a cross there, and labelled "diverged". ``log=True`` (the default: losses span
    decades) needs positive losses.
    """
    curves = _curves(losses, labels)
    ax = _new_axes(ax)
    for i, (label, curve) in enumerate(curves):
        finite = np.isfinite(curve)
        last = len(curve) if finite.all() else int(np.argmin(finite))  # the first non-finite entry
        shown = curve[:last]
        if log and np.any(shown <= 0):
            raise ValueError("log must be False for losses that are not all positive "
                             f"(curve {label!r} has a value {shown.min():.3g})")
        text = label
        if last < len(curve):
            text = f"{label} (diverged at t = {last})" if label else f"diverged at t = {last}"
            if last:
                ax.plot(last - 1, shown[-1], marker="x", ms=9, mew=2, color=_colour(i), ls="none")
        ax.plot(np.arange(last), shown, color=_colour(i), label=text or None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both" if log else "major")
    if title:
        ax.set_title(title)
    _legend_below(ax, sum(1 for label, _ in curves if label) or 0)
    return ax


def plot_contours(problem: Any, trajectories: Mapping[str, ArrayLike] | None = None, ax: Axes | None = None, *,
                  bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
                  levels: int = 20, resolution: int = 200, title: str | None = None) -> Axes:
    """Draw a 2-D problem's level sets and optimizer trajectories on them.

    ``problem`` is an :mod:`lrcourse.problems` problem with ``dim == 2`` (its batched
    ``value`` evaluates the whole grid in one call). The contours are of
    :math:`J(\\theta) - J_{\\min}` at ``levels`` logarithmically spaced heights, so the
    floor of a valley stays visible; the minimiser is a black star. ``trajectories``
    maps a label to a ``(T, 2)`` array of iterates; each is drawn from its start (a
    circle) and stops at its first non-finite point. ``bounds`` overrides the problem's
    plot window ``((x_lo, x_hi), (y_lo, y_hi))``.
    """
    if getattr(problem, "dim", None) != 2:
        raise ValueError(f"problem must be 2-D (dim == 2) for a contour plot, got {problem!r}")
    bounds = bounds or getattr(problem, "bounds", None)
    if bounds is None:
        raise ValueError("bounds must be given: this problem has no default plot window")
    if not (isinstance(levels, int) and levels >= 2):
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")
    (x_lo, x_hi), (y_lo, y_hi) = bounds
    x, y = np.meshgrid(np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution))
    gap = np.asarray(problem.value(np.stack([x, y], axis=-1)), dtype=np.float64) - problem.f_min
    gap = np.maximum(gap, 0.0)
    top = float(np.max(gap))
    low = max(float(np.min(gap[gap > 0])) if np.any(gap > 0) else top * 1e-6, top * 1e-6)
    ax = _new_axes(ax)
    ax.contour(x, y, gap, levels=np.geomspace(low, top, levels), cmap="viridis", linewidths=0.8, alpha=0.8)
    ax.plot(*problem.minimum, marker="*", ms=14, color="black", ls="none", label="minimum")
    for i, (label, path) in enumerate((trajectories or {}).items()):
        points = np.asarray(path, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"trajectories must map labels to (T, 2) arrays, got shape {points.shape} for {label!r}")
        finite = np.all(np.isfinite(points), axis=1)
        points = points[: len(points) if finite.all() else int(np.argmin(finite))]
        ax.plot(points[:, 0], points[:, 1], color=_colour(i), marker=".", ms=3, lw=1.2, label=label)
        if len(points):
            ax.plot(*points[0], marker="o", ms=6, color=_colour(i), mfc="white", mew=1.5, ls="none")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.grid(False)
    if title:
        ax.set_title(title)
    _legend_below(ax, 1 + len(trajectories or {}))
    return ax


def plot_range_test(lrs: ArrayLike, losses: ArrayLike, smoothed: ArrayLike | None = None, ax: Axes | None = None, *,
                    suggestions: Mapping[str, float] | None = None, diverged_at: float | None = None,
                    references: Mapping[str, float] | None = None, title: str | None = None) -> Axes:
    """Plot a learning-rate range test: loss against a logarithmic learning-rate axis.

    ``losses`` are the raw losses (faint), ``smoothed`` their smoothed curve (bold), both
    at the rates ``lrs``. ``suggestions`` maps a rule's name to the rate it suggests
    (dotted vertical lines); ``diverged_at`` is where the run was stopped (dashed red);
    ``references`` maps names to known rates such as ``{"2/L": 2 / L}`` (solid grey).
    The vertical range covers the raw and smoothed losses up to the smoothed minimum, so
    the blow-up at the end does not flatten the part that matters.
    """
    rates = np.asarray(lrs, dtype=np.float64)
    raw = np.asarray(losses, dtype=np.float64)
    if rates.ndim != 1 or raw.shape != rates.shape:
        raise ValueError(f"lrs and losses must be 1-D of one length, got shapes {rates.shape} and {raw.shape}")
    if np.any(rates <= 0):
        raise ValueError("lrs must be positive (the axis is logarithmic)")
    ax = _new_axes(ax)
    ax.plot(rates, raw, color=_colour(0), alpha=0.35, lw=1, label="loss")
    curve = raw
    if smoothed is not None:
        curve = np.asarray(smoothed, dtype=np.float64)
        if curve.shape != rates.shape:
            raise ValueError(f"smoothed must have the shape of lrs {rates.shape}, got {curve.shape}")
        ax.plot(rates, curve, color=_colour(0), lw=2, label="smoothed loss")
    styles = [":", (0, (1, 1)), "-.", (0, (3, 1, 1, 1))]
    # Vermillion (PALETTE[3]) is kept for the divergence line, the curve's blue for the curve.
    colours = [PALETTE[1], PALETTE[2], PALETTE[4], PALETTE[5]]
    for i, (name, rate) in enumerate((suggestions or {}).items()):
        ax.axvline(rate, color=colours[i % len(colours)], ls=styles[i % len(styles)], lw=1.8,
                   label=f"{name}: {rate:.2g}")
    for name, rate in (references or {}).items():
        ax.axvline(rate, color="0.35", ls="-", lw=1.2, label=f"{name} = {rate:.2g}")
    if diverged_at is not None:
        ax.axvline(diverged_at, color="#D55E00", ls="--", lw=1.5, label=f"diverged at {diverged_at:.2g}")
    # The vertical range: raw and smoothed losses up to the smoothed curve's minimum, the
    # part where the rate is usable; the blow-up after it may leave the top of the axes.
    if np.any(np.isfinite(curve)):
        best = int(np.nanargmin(np.where(np.isfinite(curve), curve, np.nan)))
        head = np.concatenate([raw[: best + 1], curve[: best + 1]])
        head = head[np.isfinite(head)]
        low, high = float(head.min()), float(head.max())
        span = max(high - low, 1e-12 * max(abs(high), 1.0))
        ax.set_ylim(low - 0.05 * span, high + 0.15 * span)
    ax.set_xscale("log")
    ax.set_xlabel(r"learning rate $\alpha$")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    _legend_below(ax, 1 + (smoothed is not None) + len(suggestions or {}) + len(references or {})
                  + (diverged_at is not None))
    return ax


def plot_sweep(result, ax: Axes | None = None, *, kind: str = "final", x: str = "lr",
               log: bool | None = None, title: str | None = None) -> Axes:
    """Plot a :class:`lrcourse.sweep.SweepResult`: final loss against the swept value, or every curve.

    ``kind="final"`` plots each run's final loss against its value of the swept
    hyperparameter ``x`` (default ``"lr"``; a logarithmic axis when the values span
    more than a factor of 10), marks the best run with a star and every diverged run
    with a cross at the top of the axes, and draws the starting loss as a dashed
    line: the U-shaped curve of a learning-rate sweep. ``kind="curves"`` plots every
    run's loss against the step, coloured by ``x`` with a colour bar. ``log`` puts
    the loss on a logarithmic axis; by default it does when every finite loss is
    positive.
    """
    if kind not in ("final", "curves"):
        raise ValueError(f"kind must be 'final' or 'curves', got {kind!r}")
    if x not in result.hyperparams:
        raise ValueError(f"x must be one of the swept hyperparameters {sorted(result.hyperparams)}, got {x!r}")
    values = np.asarray(result.hyperparams[x], dtype=np.float64)
    losses = np.where(np.isfinite(result.losses), result.losses, np.nan)
    if log is None:
        finite = losses[np.isfinite(losses)]
        log = bool(finite.size) and bool(np.all(finite > 0))
    log_x = bool(np.all(values > 0)) and values.max() > 10 * values.min()
    ax = _new_axes(ax)
    label = {"lr": r"learning rate $\alpha$"}.get(x, x)
    if kind == "final":
        order = np.argsort(values)
        ok = ~result.diverged[order]
        ax.plot(values[order][ok], losses[order, -1][ok], "o-", color=_colour(0), ms=3, lw=1.5,
                label=f"after {result.steps} steps")
        entries = 1
        if not result.diverged.all():
            best = result.best()
            ax.plot(values[best], losses[best, -1], "*", color=_colour(1), ms=12, label=f"best: {x} = {values[best]:.3g}")
            entries += 1
        if np.all(result.losses[:, 0] == result.losses[0, 0]):
            ax.axhline(result.losses[0, 0], color="black", ls="--", lw=1, label="start")
            entries += 1
        if log:
            ax.set_yscale("log")
        if result.diverged.any():
            top = ax.get_ylim()[1]
            ax.plot(values[result.diverged], np.full(int(result.diverged.sum()), top), "x", color=_colour(3),
                    clip_on=False, label="diverged")
            entries += 1
        ax.set_xlabel(label)
        ax.set_ylabel("final loss")
        if log_x:
            ax.set_xscale("log")
        _legend_below(ax, entries)
    else:
        from matplotlib.colors import LogNorm, Normalize

        norm = LogNorm(values.min(), values.max()) if log_x else Normalize(values.min(), values.max())
        cmap = plt.get_cmap("viridis")
        steps = np.arange(result.steps + 1)
        for k in np.argsort(values):
            ax.plot(steps, losses[k], color=cmap(norm(values[k])), lw=1)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step $t$ (updates applied)")
        ax.set_ylabel("loss")
        ax.set_xlim(0, result.steps)
        ax.figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=label)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


#: The seed's diagnosis figure: each curve's key, mapped to its colour (from the colour-blind-safe
#: palette), its label and its remedy.
DIAGNOSES = {
    "good": ("#009E73", "good: the loss slides down and levels off low", "keep it"),
    "too_high_start": ("#D55E00", "rises at the start: the rate is too high from the start",
                       "lower the rate and restart training"),
    "too_high_later": ("#CC79A7", "drops fast, then stalls high: the rate is too high later on",
                       "lower (decay) the rate and retrain the last epochs"),
    "too_low": ("#E69F00", "falls slowly all the way: the rate is too low", "raise the rate and restart training"),
}


def plot_diagnosis(curves: Mapping[str, ArrayLike], ax: Axes | None = None, *, xlabel: str = "epoch",
                   remedies: bool = True, log: bool = False, title: str | None = None) -> Axes:
    """Draw the seed's loss-curve diagnosis from real runs: one curve for each of four symptoms.

    ``curves`` maps each key of :data:`DIAGNOSES` (``"good"``, ``"too_high_start"``,
    ``"too_high_later"``, ``"too_low"``; any subset, in any order) to a loss curve from
    a run that shows that symptom. Each is drawn in the seed's colour for it (green,
    red, purple, yellow, as the colour-blind-safe bluish green, vermillion, reddish
    purple and orange), labelled with its diagnosis and, with ``remedies=True``, the
    remedy. A curve that became NaN or infinite is drawn up to its last finite value.
    """
    unknown = sorted(set(curves) - set(DIAGNOSES))
    if unknown or not curves:
        raise ValueError(f"curves must map some of {list(DIAGNOSES)} to loss curves, got keys {sorted(curves)}")
    ax = _new_axes(ax)
    for key in DIAGNOSES:
        if key not in curves:
            continue
        colour, diagnosis, remedy = DIAGNOSES[key]
        curve = np.asarray(curves[key], dtype=np.float64)
        if curve.ndim != 1:
            raise ValueError(f"curves[{key!r}] must be a 1-D loss curve, got shape {curve.shape}")
        finite = np.isfinite(curve)
        shown = curve[: len(curve) if finite.all() else int(np.argmin(finite))]
        label = f"{diagnosis}\n    remedy: {remedy}" if remedies else diagnosis
        ax.plot(np.arange(len(shown)), shown, color=colour, lw=2.2, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
    return ax
