"""Hyperparameters of the NumPy optimizers: checks, schedules, one value per run.

A hyperparameter is a number, or an array with one value per run: ``lr`` of shape
``(K,)`` against params of shape ``(K, ...)`` trains ``K`` copies of the model at once,
run ``k`` with ``lr[k]``. :func:`for_leaf` turns it into something that broadcasts
against one array of params. The learning rate may also be a schedule, any callable
of the step count (see :mod:`lrcourse.schedules`); :func:`learning_rate` reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from lrcourse.validation import hyperparameter

__all__ = [
    "Hyperparameter",
    "LearningRate",
    "for_leaf",
    "learning_rate",
    "nonzero",
]

Hyperparameter: TypeAlias = "float | ArrayLike"
"""A number, or an array of shape ``(K,)`` (or ``(K, L, ...)``): one value per run."""

LearningRate: TypeAlias = "float | ArrayLike | Callable[[int], float | ArrayLike]"
"""A hyperparameter, or a schedule: called with the number of updates already applied."""


def learning_rate(lr: LearningRate, count: int) -> Hyperparameter:
    """Return the learning rate of the next update, after ``count`` updates.

    A schedule is called with ``count``, so the first update uses ``schedule(0)``, and
    what it returns is checked as ``lr`` is at construction: finite and >= 0, a number
    or one value per run. A schedule that gives NaN or a negative rate is a
    ``ValueError`` naming the step, before anything is updated.

    >>> learning_rate(0.1, 5), learning_rate(lambda step: 0.1 / (1 + step), 4)
    (0.1, 0.02)
    >>> learning_rate(lambda step: 0.1 - 0.02 * step, 10)
    Traceback (most recent call last):
    ...
    ValueError: lr(10), the schedule's rate at step 10, must be a finite number in [0, inf), got -0.1
    """
    if not callable(lr):
        return lr
    return hyperparameter(f"lr({count}), the schedule's rate at step {count},", lr(count), low=0.0)


def for_leaf(theta: Any, *values: Hyperparameter) -> tuple[Any, ...]:
    """Shape each hyperparameter to broadcast against the params array ``theta``.

    A number comes back as a Python ``float``, which NumPy casts to ``theta``'s dtype
    (float32 params stay float32). An array of shape ``(K,)`` becomes one of shape
    ``(K, 1, ..., 1)`` with ``theta.ndim`` axes, in ``theta``'s dtype and array library
    (a CuPy ``theta`` gets a CuPy array), so run ``k`` (``theta[k]``) uses ``value[k]``.
    Integer params get float64 values, as a number gives them: cast to an integer
    dtype, a rate of 0.1 would be 0 and the params would never move.

    >>> theta = np.zeros((3, 2, 5), dtype=np.float32)
    >>> lr, eps = for_leaf(theta, np.array([0.1, 0.01, 0.001]), 1e-8)
    >>> lr.shape, lr.dtype, eps
    ((3, 1, 1), dtype('float32'), 1e-08)
    """
    shape = tuple(getattr(theta, "shape", ()))
    shaped = []
    for value in values:
        if (value.ndim if hasattr(value, "ndim") else np.ndim(value)) == 0:
            shaped.append(float(value))
            continue
        dtype = getattr(theta, "dtype", None)
        if dtype is not None and not np.issubdtype(dtype, np.inexact):
            dtype = np.float64  # integer or bool params: compute in float
        value = np.asarray(value, dtype=dtype, like=theta)
        if value.shape != shape[: value.ndim]:
            raise ValueError(
                f"a hyperparameter of shape {value.shape} does not match the leading "
                f"(batch) axes of a params array of shape {shape}"
            )
        shaped.append(value.reshape(value.shape + (1,) * (len(shape) - value.ndim)))
    return tuple(shaped)


def nonzero(value: Hyperparameter) -> bool:
    """Tell whether a hyperparameter is switched on (non-zero in at least one run)."""
    return bool(np.any(value != 0))
