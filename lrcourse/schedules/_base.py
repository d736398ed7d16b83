"""The base every schedule shares: step validation, scalar/array dispatch, parameter checks."""

from __future__ import annotations

import math
import numbers
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Schedule"]


class Schedule:
    """A learning-rate schedule: a pure function of the step count.

    ``step`` counts the updates already applied, from 0: ``sched(0)`` is the rate of
    the first update. Calling with an int or float gives a Python ``float``; calling
    with an array of steps gives a float64 array of the same shape, so
    ``sched(np.arange(T))`` is the whole curve. Nothing is stored between calls.

    Subclasses are frozen dataclasses that implement :meth:`formula`, the closed form
    on a float64 array of non-negative steps.
    """

    @overload
    def __call__(self, step: float) -> float: ...

    @overload
    def __call__(self, step: NDArray[Any]) -> NDArray[np.float64]: ...

    def __call__(self, step: ArrayLike) -> float | NDArray[np.float64]:
        t = np.asarray(step, dtype=np.float64)
        if not np.all(np.isfinite(t) & (t >= 0)):
            raise ValueError(f"step must be finite and >= 0, got {step!r}")
        lr = np.asarray(self.formula(t), dtype=np.float64)
        return float(lr) if lr.ndim == 0 else lr

    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the learning rate at the steps ``t`` (a float64 array, all >= 0)."""
        raise NotImplementedError


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check(ok: bool, name: str, allowed: str, value: object) -> None:
    """Raise ``ValueError`` naming the parameter and its allowed range unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def real(obj: object, name: str, *, low: float, high: float = math.inf,
         low_open: bool = False, high_open: bool = False) -> float:
    """Check that the field ``name`` of ``obj`` is a real number in the given interval.

    Stores it back as a plain ``float`` (for a readable repr) and returns it.
    """
    value = getattr(obj, name)
    left = "(" if low_open else "["
    right = ")" if high_open or math.isinf(high) else "]"
    ok = _is_real(value) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    check(ok, name, f"a finite number in {left}{low:g}, {high:g}{right}", value)
    object.__setattr__(obj, name, float(value))
    return float(value)


def integer(obj: object, name: str, *, low: int) -> int:
    """Check that the field ``name`` of ``obj`` is an integer >= ``low``; store it as ``int``."""
    value = getattr(obj, name)
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
    check(ok, name, f"an integer >= {low}", value)
    object.__setattr__(obj, name, int(value))
    return int(value)


def positive_lr(obj: object, name: str = "lr") -> float:
    """Check a learning rate: finite and > 0."""
    return real(obj, name, low=0.0, low_open=True)


def cosine(start: ArrayLike, end: ArrayLike, pct: ArrayLike) -> NDArray[np.float64]:
    """Anneal from ``start`` to ``end`` along half a cosine as ``pct`` goes from 0 to 1."""
    return np.asarray(end + (np.asarray(start) - end) / 2.0 * (np.cos(np.pi * np.asarray(pct)) + 1.0))


def linear(start: ArrayLike, end: ArrayLike, pct: ArrayLike) -> NDArray[np.float64]:
    """Anneal linearly from ``start`` to ``end`` as ``pct`` goes from 0 to 1."""
    return np.asarray((np.asarray(end) - start) * pct + start)
