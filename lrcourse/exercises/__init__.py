"""Checkers for the book's code exercises: run the reader's function against the reference.

Each chapter's checkers (``check_…`` functions in this package) call :func:`check`
with the package's own implementation as the reference and random inputs drawn from
a seeded generator. The report says in plain words what went wrong on the first
case that failed: an exception, ``None`` returned, a wrong shape, the inputs changed
in place, or values that differ (with the largest difference and where it is).

>>> import numpy as np
>>> def reference(x, a):
...     return x - a * 2 * x
>>> cases = random_cases(lambda rng: (rng.normal(size=3), rng.uniform(0.0, 1.0)), n=5)
>>> check(lambda x, a: x - a * 2 * x, reference, cases).passed
True
>>> result = check(lambda x, a: x - a * x, reference, cases, name="step")
>>> result.passed
False
>>> print(result.message.splitlines()[0])
✗ step disagrees with the reference on case 1 of 5.

A starter that still raises ``NotImplementedError`` is neither right nor wrong: the
report says, in neutral words, that it is not attempted yet (and, not having passed,
it is false).

>>> def starter(x, a):
...     raise NotImplementedError("write your code here")
>>> result = check(starter, reference, cases, name="step")
>>> result.status, bool(result)
('not attempted', False)
"""

from __future__ import annotations

import copy
import os
import sysconfig
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CheckResult", "check", "random_cases"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a check: ``passed``, ``attempted`` and a plain-language ``message``.

    Three states (:attr:`status`): ``"passed"``; ``"failed"``, where the message says
    what went wrong; and ``"not attempted"``, for a starter whose body still raises
    ``NotImplementedError``: neither a pass nor a failure, and shown in neutral words
    and colour. ``bool(result)`` is ``passed`` (so ``False`` unless it passed), so a
    solution cell can ``assert check_…(solution)``. In a notebook it displays as its
    message.
    """

    passed: bool
    message: str
    attempted: bool = True

    def __post_init__(self) -> None:
        if self.passed and not self.attempted:
            raise ValueError("a check that was not attempted cannot have passed")

    @property
    def status(self) -> str:
        """``"passed"``, ``"failed"`` or ``"not attempted"``."""
        if not self.attempted:
            return "not attempted"
        return "passed" if self.passed else "failed"

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        colour = {"passed": "green", "failed": "#D55E00", "not attempted": "#666666"}[self.status]
        body = self.message.replace("\n", "  \n")
        return f'<span style="color:{colour}">{body}</span>'


def random_cases(make: Callable[[np.random.Generator], Any], n: int = 20, seed: int = 0) -> list[Any]:
    """Draw ``n`` test cases with ``make(rng)`` from a generator seeded with ``seed``.

    ``make`` returns a tuple of positional arguments (or a dict of keyword arguments).
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    return [make(rng) for _ in range(n)]


def _arguments(case: Any) -> list[Any]:
    """The values of a case: its keyword values, its positional arguments, or itself."""
    if isinstance(case, Mapping):
        return list(case.values())
    return list(case) if isinstance(case, tuple) else [case]


def _call(fn: Callable[..., Any], case: Any) -> Any:
    return fn(**case) if isinstance(case, Mapping) else fn(*_arguments(case))


def _describe(case: Any) -> str:
    names = [f"{k}=" for k in case] if isinstance(case, Mapping) else [""] * len(_arguments(case))
    with np.printoptions(precision=4, suppress=True, threshold=12, edgeitems=3):
        return ", ".join(name + (repr(v) if isinstance(v, np.ndarray) else repr(v))
                         for name, v in zip(names, _arguments(case)))


def _same_inputs(before: Any, after: Any) -> bool:
    """Whether every array argument is unchanged (the candidate did not work in place)."""
    return all(np.array_equal(a, b, equal_nan=True)
               for a, b in zip(_arguments(before), _arguments(after)) if isinstance(a, np.ndarray))


def _compare(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Return what is wrong with ``got`` against ``expected``, or None if they agree."""
    if got is None and expected is not None:
        return "it returned None: did you forget the `return` statement?"
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"it should return {len(expected)} values (a tuple), but returned {type(got).__name__}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _compare(g, e, rtol, atol)
            if problem:
                return f"its output number {i + 1}: {problem}"
        return None
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"it returned a {type(got).__name__}, not a number or an array"
    expected_array = np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape:
        return f"it returned shape {got_array.shape}, but the answer has shape {expected_array.shape}"
    close = np.isclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    difference = np.abs(got_array - expected_array)
    where = np.unravel_index(int(np.nanargmax(np.where(close, -np.inf, difference))), difference.shape) if difference.ndim else ()
    with np.printoptions(precision=6, suppress=True, threshold=12, edgeitems=3):
        return (f"it returned {got_array!r}, expected {expected_array!r}; the largest difference is "
                f"{float(difference[where]):.3g}" + (f" at index {tuple(int(i) for i in where)}" if where else ""))


_LIBRARY_DIRS = tuple(os.path.normcase(os.path.realpath(d)) + os.sep for d in {
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # the lrcourse package
    *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
})


def _raised_by_the_reader(error: BaseException) -> bool:
    """Whether ``error`` was raised in the reader's own code, not inside lrcourse or a library."""
    frame = error.__traceback__
    if frame is None:
        return False
    while frame.tb_next is not None:
        frame = frame.tb_next
    filename = os.path.normcase(os.path.realpath(frame.tb_frame.f_code.co_filename))
    return not filename.startswith(_LIBRARY_DIRS)


def _not_attempted(name: str, error: NotImplementedError) -> CheckResult:
    said = str(error)
    message = (f"○ {name}: not attempted yet. Replace `raise NotImplementedError(…)` with your code, "
               "then run this cell again to check it.")
    if said and said != "write your code here":
        message += f"\n  (It raised NotImplementedError: {said}.)"
    return CheckResult(False, message, attempted=False)


def check(candidate: Callable[..., Any], reference: Callable[..., Any], cases: Iterable[Any], *,
          name: str = "your function", rtol: float = 1e-9, atol: float = 1e-12,
          hint: str | None = None) -> CheckResult:
    """Run ``candidate`` and ``reference`` on every case and report the first disagreement.

    A case is a tuple of positional arguments or a dict of keyword arguments (see
    :func:`random_cases`). Each call gets its own deep copy of the case, so a
    candidate that changes its inputs in place is caught (and reported as such)
    rather than corrupting the reference's inputs. Outputs are compared as float
    arrays with ``rtol`` and ``atol``; a tuple output is compared element by element.
    ``hint``, if given, is added to a failing report.

    A ``NotImplementedError`` raised by the reader's own code on the first case (the
    starter's ``raise NotImplementedError("write your code here")``) gives a result
    that is not attempted (:attr:`CheckResult.status`), without inputs or hint. One
    raised later, or from inside lrcourse or a library the reader called, is a failure
    like any other exception.
    """
    if not callable(candidate):
        return CheckResult(False, f"✗ {name} is not a function: got {type(candidate).__name__}.")
    cases = list(cases)
    if not cases:
        raise ValueError("cases must hold at least one case")
    for number, case in enumerate(cases, start=1):
        expected = _call(reference, copy.deepcopy(case))
        given = copy.deepcopy(case)
        try:
            got = _call(candidate, given)
        except Exception as error:  # the reader's code: any failure is a result to report
            if isinstance(error, NotImplementedError) and number == 1 and _raised_by_the_reader(error):
                return _not_attempted(name, error)
            message = (f"✗ {name} raised {type(error).__name__}: {error}\n"
                       f"  on case {number} of {len(cases)}, with inputs {_describe(case)}.")
            return CheckResult(False, message + (f"\n  Hint: {hint}" if hint else ""))
        problem = _compare(got, expected, rtol, atol)
        if problem is None and not _same_inputs(case, given):
            problem = "its answer is right, but it changed its inputs in place; compute a new array instead"
        if problem is not None:
            message = (f"✗ {name} disagrees with the reference on case {number} of {len(cases)}.\n"
                       f"  With inputs {_describe(case)},\n  {problem}.")
            return CheckResult(False, message + (f"\n  Hint: {hint}" if hint else ""))
    return CheckResult(True, f"✓ {name} agrees with the reference on all {len(cases)} random cases.")

