"""Check the arguments users pass, in one place, so that every error names the parameter and its range.

Every public constructor and function of lrcourse, in the NumPy core and in
:mod:`lrcourse.torch`, checks its arguments with these functions. Each raises
``TypeError`` for a value of the wrong kind (a string, ``None``, a bool where a number
is asked for) and ``ValueError`` for a value out of range, and the message always
reads ``<name> must be <allowed>, got <value>``.

- :func:`check`: the general form, for a condition already computed;
- :func:`real` and :func:`integer`: one number in an interval;
- :func:`flag`: ``True`` or ``False``, nothing that merely looks like one;
- :func:`hyperparameter`: a number, or an array of one value per run (what the NumPy
  optimizers sweep), every value finite and in an interval;
- :func:`learning_rate`: a hyperparameter >= 0, or a schedule for the NumPy optimizers;
- :func:`nonfinite_error`: the error for a NaN or infinite gradient norm.

>>> real("lr", 0.1, low=0.0)
0.1
>>> real("lr", "0.1", low=0.0)
Traceback (most recent call last):
...
TypeError: lr must be a real number, got '0.1'
>>> integer("steps", 0, low=1)
Traceback (most recent call last):
...
ValueError: steps must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check", "is_real", "real", "integer", "flag", "hyperparameter", "interval", "nonfinite_error", "real_field",
           "integer_field", "real_array", "MAX_STEPS", "learning_rate"]


def check(ok: bool, name: str, allowed: str, value: object, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` (``ValueError`` by default) saying ``name must be allowed, got value`` unless ``ok``."""
    if not ok:
        raise error(f"{name} must be {allowed}, got {value!r}")


def is_real(value: object) -> bool:
    """Tell whether ``value`` is a real number: an int, a float or a NumPy scalar of those, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def interval(low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False,
             finite: bool = True) -> str:
    """Write an interval the way the error messages do: ``[0, 1)``, ``(0, inf)``, ``(1, inf]`` (``finite=False``)."""
    right = ")" if high_open or (finite and math.isinf(high)) else "]"
    return f"{'(' if low_open else '['}{low:g}, {high:g}{right}"


def _inside(value: Any, low: float, high: float, low_open: bool, high_open: bool) -> Any:
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    return above & below


def real(name: str, value: object, *, low: float = -math.inf, high: float = math.inf,
         low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number in the interval, else raise.

    A 0-d NumPy array counts as a number. ``TypeError`` for anything that is not a
    real number (str, None, bool, complex); ``ValueError`` for NaN, infinity, a number
    too large for a float, or a number outside the interval. With ``finite=False``
    an infinity (and a number too large for a float, which becomes one) is allowed
    where the interval holds it, as in ``max_norm=inf`` (no clipping) or
    ``loss_floor=-inf`` (no floor); NaN never is.

    >>> real("diverge_factor", float("inf"), low=1.0, low_open=True, finite=False)
    inf
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    check(is_real(value), name, "a real number", value, TypeError)
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        number = math.inf
    kind = "a finite number" if finite else "a number"
    check((math.isfinite(number) or not finite) and bool(_inside(number, low, high, low_open, high_open)), name,
          f"{kind} in {interval(low, high, low_open=low_open, high_open=high_open, finite=finite)}", value)
    return number


def integer(name: str, value: object, *, low: int = 0, high: float = math.inf) -> int:
    """Return ``value`` as an ``int`` if it is an integer (not a bool) in ``[low, high]``, else raise."""
    if not (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))):
        # 2.5 is a number of the wrong value; '3', None and True are not numbers at all
        error = ValueError if is_real(value) else TypeError
        check(False, name, f"an integer >= {low}", value, error)
    bounds = f"an integer >= {low}" if math.isinf(high) else f"an integer in [{low}, {int(high)}]"
    check(low <= int(value) <= high, name, bounds, value)  # type: ignore[call-overload]
    return int(value)  # type: ignore[call-overload]


def flag(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (or a NumPy bool), else raise ``TypeError``.

    ``'yes'``, ``None``, ``1`` and ``1.0`` are refused: a flag that accepts them reads
    ``'no'`` as true.
    """
    check(isinstance(value, (bool, np.bool_)), name, "True or False", value, TypeError)
    return bool(value)


def hyperparameter(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf,
                   low_open: bool = False, high_open: bool = False, per_run: bool = True) -> Any:
    """Check a hyperparameter: a finite number in the interval, or (``per_run``) an array of them.

    A number comes back as a ``float``. With ``per_run`` an array of any shape (NumPy,
    CuPy: checked where it lives) or a list is allowed too, one value per run of a
    sweep, and comes back as an array; every value must be finite and in the interval.
    ``TypeError`` for strings, ``None``, bools, complex numbers and arrays of those.
    """
    if isinstance(value, (list, tuple)):
        check(per_run, name, "a real number", value, TypeError)
        value = np.asarray(value)
    if hasattr(value, "__array_function__") and getattr(value, "ndim", 0) > 0:
        check(per_run, name, "a real number", value, TypeError)
        kind = getattr(getattr(value, "dtype", None), "kind", "O")
        check(kind in "iuf", name, "a real number or an array of real numbers", value, TypeError)
        check(value.size > 0, name, "a number or a non-empty array of values", value)
        ok = bool(((value == value) & (abs(value) < math.inf) & _inside(value, low, high, low_open, high_open)).all())
        check(ok, name, f"finite and in {interval(low, high, low_open=low_open, high_open=high_open)}", value)
        return value
    return real(name, value, low=low, high=high, low_open=low_open, high_open=high_open)


MAX_STEPS = 2**53
"""The largest count of steps that lrcourse accepts: every integer up to it is exact in float64.

A schedule computes with its step counts (``total_steps``, ``milestones``, ...) as
float64 numbers; beyond 2**53 consecutive integers are no longer distinct there.
"""


def real_array(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf) -> Any:
    """Return ``value`` as a float64 array (0-d for a number) if it holds finite real numbers in ``[low, high]``.

    Accepted: ``int``, ``float``, NumPy integer and float scalars, and arrays or lists
    of them (empty ones too). ``TypeError`` for a string, ``None``, a bool, a complex
    number, or an array of those; ``ValueError`` for NaN, infinity, an integer too
    large for a float, or a value outside the interval. A plain ``int`` or ``float``,
    the common case, is checked without building an array first.

    >>> real_array("step", 3)
    array(3.)
    >>> real_array("step", True, low=0.0)
    Traceback (most recent call last):
    ...
    TypeError: step must be a real number or an array of real numbers, got True
    >>> real_array("step", [0, -1], low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: step must be finite and in [0, inf), got [0, -1]
    """
    if type(value) is int or type(value) is float:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not (math.isfinite(number) and low <= number <= high):
            check(False, name, f"a finite number in {interval(low, high)}", value)
        return np.asarray(number)
    array = np.asarray(value)
    check(array.dtype.kind in "iuf", name, "a real number or an array of real numbers", value, TypeError)
    if array.dtype.itemsize > 8:  # a longdouble beyond the float64 range becomes inf, refused below
        with np.errstate(over="ignore"):
            array = array.astype(np.float64)
    array = array.astype(np.float64, copy=False)
    check(bool(((array >= low) & (array <= high) & (abs(array) < math.inf)).all()), name,
          f"finite and in {interval(low, high)}", value)
    return array


def learning_rate(name: str, value: Any, *, per_run: bool = True) -> Any:
    """Check a learning rate: a :func:`hyperparameter` >= 0, or (``per_run``) a schedule.

    With ``per_run`` (the NumPy optimizers) a number, an array of one rate per run, or
    a schedule: any callable of the step count, returned as it is (the optimizer
    checks each rate it gives, at the step that uses it). Without, a number only.

    >>> learning_rate("lr", 0.1), learning_rate("lr", abs)
    (0.1, <built-in function abs>)
    >>> learning_rate("lr", float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number in [0, inf), got inf
    """
    if per_run and callable(value):
        return value
    return hyperparameter(name, value, low=0.0, per_run=per_run)


def nonfinite_error(norm: float, what: str) -> FloatingPointError:
    """Return the error for a gradient whose ``what`` (its norm) is ``norm``, NaN or infinite: clipping refuses it."""
    return FloatingPointError(f"the gradient {what} is {norm}: not clipping (a NaN or inf gradient cannot be "
                              "rescaled into a useful step); lower the learning rate, or pass "
                              "error_if_nonfinite=False and skip this step")


def real_field(obj: object, name: str, **bounds: Any) -> float:
    """Check the field ``name`` of a frozen dataclass with :func:`real`; store it back as a ``float``.

    ``bounds`` are :func:`real`'s (``low``, ``high``, ``low_open``, ``high_open``). A
    plain float keeps the ``repr`` readable (``Constant(lr=0.1)``, not
    ``Constant(lr=np.float64(0.1))``).
    """
    value = real(name, getattr(obj, name), **bounds)
    object.__setattr__(obj, name, value)
    return value


def integer_field(obj: object, name: str, *, low: int = 0, high: float = math.inf) -> int:
    """Check the field ``name`` of a frozen dataclass with :func:`integer`; store it back as an ``int``."""
    value = integer(name, getattr(obj, name), low=low, high=high)
    object.__setattr__(obj, name, value)
    return value

