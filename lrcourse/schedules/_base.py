"""The base every schedule shares: step validation, scalar/array dispatch, parameter checks."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.validation import real_array, real_field

__all__ = ["Schedule"]


class Schedule:
    """A learning-rate schedule: a pure function of the step count.

    ``step`` counts the updates already applied, from 0: ``sched(0)`` is the rate of
    the first update. Calling with an int or float (or a NumPy scalar of those) gives a
    Python ``float``; calling with an array of steps gives a float64 array of the same
    shape, so ``sched(np.arange(T))`` is the whole curve. Nothing is stored between
    calls. A step must be a finite real number >= 0: a string, a bool, a complex
    number or ``None`` is refused with a ``TypeError`` (``'3'`` is not read as 3, nor
    ``True`` as 1), NaN, infinity and a negative step with a ``ValueError``.

    Subclasses are frozen dataclasses that implement :meth:`formula`, the closed form
    on a float64 array of non-negative steps. Every schedule gives a finite rate >= 0
    at every step, up to the largest float, or refuses its parameters when it is built
    (a count of steps, for instance, must be at most :data:`~lrcourse.validation.MAX_STEPS`).
    """

    @overload
    def __call__(self, step: float) -> float: ...

    @overload
    def __call__(self, step: NDArray[Any]) -> NDArray[np.float64]: ...

    def __call__(self, step: ArrayLike) -> float | NDArray[np.float64]:
        t = real_array("step", step, low=0.0)
        # An intermediate may overflow on its way to a finite limit ((1 + γt)^(-p) is 0 once
        # γt passes 1.8e308), or be infinite in a branch that np.where then discards. The
        # formulas are written so that the result stays finite; the property tests check it.
        with np.errstate(over="ignore", divide="ignore"):
            lr = np.asarray(self.formula(t), dtype=np.float64)
        return float(lr) if lr.ndim == 0 else lr

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the learning rate at the steps ``t`` (a float64 array, all >= 0)."""
        raise NotImplementedError


def positive_lr(obj: object, name: str = "lr") -> float:
    """Check a learning rate: finite and > 0."""
    return real_field(obj, name, low=0.0, low_open=True)


def cosine(start: ArrayLike, end: ArrayLike, pct: ArrayLike) -> NDArray[np.float64]:
    """Anneal from ``start`` to ``end`` along half a cosine as ``pct`` goes from 0 to 1."""
    return np.asarray(end + (np.asarray(start) - end) / 2.0 * (np.cos(np.pi * np.asarray(pct)) + 1.0))


def linear(start: ArrayLike, end: ArrayLike, pct: ArrayLike) -> NDArray[np.float64]:
    """Anneal linearly from ``start`` to ``end`` as ``pct`` goes from 0 to 1."""
    return np.asarray((np.asarray(end) - start) * pct + start)
