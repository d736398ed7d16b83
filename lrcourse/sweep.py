r"""Run K learning rates (or any hyperparameter grid) at once, as one vectorised computation.

The NumPy optimizers of :mod:`lrcourse.numpy` accept a hyperparameter of shape
``(K,)`` against parameters with a leading axis of ``K``: run ``k`` uses value ``k``.
:func:`sweep` uses exactly that. It stacks ``K`` copies of the starting point, gets
the ``K`` gradients in one call, and takes one optimizer step for all runs:

- for a test problem of :mod:`lrcourse.problems`, ``problem.grad`` of the ``(K, d)``
  array is already one gradient per row (:func:`sweep`, here);
- for a torch model, :func:`lrcourse.torch.sweep_model` maps the model over stacked
  weights with ``torch.func.vmap`` and hands the ``K`` gradients to the same NumPy
  optimizer. It shares this module's handling of the swept values (:func:`prepare`)
  and its :class:`SweepResult`.

So the optimizer's formula is the one of :mod:`lrcourse.numpy`, never a second copy,
and the runs match ``K`` separate runs (the tests check it against ``torch.optim``).
This module imports no torch.

>>> import numpy as np
>>> from lrcourse.numpy import SGD
>>> from lrcourse.problems import Quadratic
>>> bowl = Quadratic(kappa=10.0)  # L = 1: gradient descent diverges for lr > 2 / L = 2
>>> result = sweep(bowl, SGD, lr=[0.5, 1.9, 2.1], steps=100)
>>> result.losses.shape, (result.final_loss < result.losses[:, 0]).tolist()
((3, 101), [True, True, False])

A run that overflows is flagged, and leaves the others alone:

>>> from lrcourse.problems import Rosenbrock
>>> sweep(Rosenbrock(), SGD, lr=[1e-3, 1e-1], steps=100).diverged.tolist()
[False, True]
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.numpy.tree import Params
from lrcourse.plots import plot_sweep
from lrcourse.problems import Problem
from lrcourse.schedules import Schedule
from lrcourse.validation import check, flag, integer, is_real

__all__ = ["sweep", "grid", "prepare", "Runs", "SweepResult", "ScaledSchedule"]


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The ``K`` runs of a :func:`sweep`, side by side.

    ``losses[k, t]`` is run ``k``'s loss after ``t`` updates (``t = 0`` is the
    start), shape ``(K, steps + 1)``; NaN or inf where a run diverged. ``params``
    holds the final parameters with a leading axis ``K`` (an array for a problem, a
    dict of arrays by parameter name for a model). ``hyperparams`` maps each swept
    hyperparameter (``"lr"``, ``"momentum"``, ``"betas[0]"``…) to its ``K`` values.
    ``fixed`` holds the hyperparameters shared by all runs, as given. ``path``, when
    asked for, is every iterate of a problem's runs, shape ``(K, steps + 1, d)``
    (ready for :func:`lrcourse.plots.plot_contours`). ``backend`` names where the
    optimizer ran.
    """

    losses: NDArray[np.float64]
    params: Params
    hyperparams: dict[str, NDArray[np.float64]]
    path: NDArray[np.float64] | None = None
    backend: str = "numpy"
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def K(self) -> int:
        """The number of runs."""
        return int(self.losses.shape[0])

    @property
    def steps(self) -> int:
        """The number of updates of each run."""
        return int(self.losses.shape[1] - 1)

    @property
    def lr(self) -> NDArray[np.float64]:
        """Each run's learning rate, shape ``(K,)`` (the base rate when a schedule was given)."""
        return self.hyperparams["lr"]

    @property
    def final_loss(self) -> NDArray[np.float64]:
        """Each run's loss after the last update."""
        return self.losses[:, -1]

    @property
    def diverged(self) -> NDArray[np.bool_]:
        """Whether each run's loss became NaN or infinite at some step."""
        return ~np.isfinite(self.losses).all(axis=1)

    def best(self) -> int:
        """Return the index of the run with the lowest final loss among those that did not diverge."""
        final = np.where(self.diverged, np.inf, self.final_loss)
        if np.all(np.isinf(final)):
            raise ValueError("every run diverged: there is no best run")
        return int(np.argmin(final))

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the sweep with :func:`lrcourse.plots.plot_sweep` and return the axes."""
        return plot_sweep(self, ax, **kwargs)


@dataclass(frozen=True)
class ScaledSchedule:
    """The rates ``base * schedule(step)``: one schedule shape, ``K`` base learning rates.

    A callable of the step count, as the NumPy optimizers accept for ``lr``: at step
    ``t`` run ``k`` uses ``base[k] * schedule(t)``.

    >>> from lrcourse.schedules import StepDecay
    >>> ScaledSchedule(np.array([0.1, 1.0]), StepDecay(1.0, step_size=10, gamma=0.5))(10)
    array([0.05, 0.5 ])

    ``schedule`` may also be a tuple of ``K`` schedules, one per run: run ``k`` uses
    ``base[k] * schedule[k](t)``.

    >>> ScaledSchedule(np.array([1.0, 1.0]), (StepDecay(1.0, step_size=10, gamma=0.5), StepDecay(1.0, 5)))(10)
    array([0.5 , 0.01])
    """

    base: NDArray[np.float64]
    schedule: Schedule | tuple[Schedule, ...]

    def __call__(self, step: int) -> NDArray[np.float64]:
        if isinstance(self.schedule, tuple):  # one schedule per run
            return self.base * np.array([schedule(step) for schedule in self.schedule])
        return self.base * self.schedule(step)


def grid(**axes: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Return every combination of the given values, flattened to ``K`` runs.

    The first axis varies slowest. Pass the result to :func:`sweep` with ``**``. Each
    axis is a non-empty 1-D list (or array) of finite numbers, or one number.

    >>> g = grid(lr=[0.1, 0.01], momentum=[0.0, 0.5, 0.9])
    >>> g["lr"].tolist(), g["momentum"].tolist()
    ([0.1, 0.1, 0.1, 0.01, 0.01, 0.01], [0.0, 0.5, 0.9, 0.0, 0.5, 0.9])
    """
    values = {name: _values(name, [v] if is_real(v) else v) for name, v in axes.items()}
    for name, array in values.items():
        check(bool(np.isfinite(array).all()), name, "a list of finite numbers", axes[name])
    combos = list(itertools.product(*values.values()))
    return {name: np.array([combo[i] for combo in combos]) for i, name in enumerate(values)}


@dataclass(frozen=True)
class Runs:
    """The ``K`` runs a sweep asked for, before anything is trained: what :func:`prepare` returns.

    ``optimizer`` is the one optimizer that updates every run (its swept
    hyperparameters are arrays of shape ``(K,)``); ``swept`` maps each swept name
    (``"lr"``, ``"betas[0]"``…) to its ``K`` values; ``fixed`` holds the
    hyperparameters shared by all runs, as given.
    """

    optimizer: Any
    K: int
    swept: dict[str, NDArray[np.float64]]
    fixed: dict[str, Any]


def prepare(optimizer: Callable[..., Any], hyperparams: Mapping[str, Any],
            schedule: Schedule | Sequence[Schedule] | None = None) -> Runs:
    """Find the swept hyperparameters and their ``K``, and build the optimizer that runs them all.

    Shared by :func:`sweep` (test problems) and :func:`lrcourse.torch.sweep_model`
    (torch models), so both read ``hyperparams`` and ``schedule`` the same way: a list,
    tuple of numbers or 1-D array of length ``K`` is swept; a number is shared; a
    hyperparameter whose default is a tuple, such as Adam's ``betas``, is one tuple of
    values, each item shared or swept (``betas=(0.8, 0.99)`` is one pair for every
    run); with a ``schedule`` (or a list of ``K``), run ``k``'s rate at step ``t`` is
    ``lr[k] * schedule(t)``.

    >>> from lrcourse.numpy import Adam
    >>> runs = prepare(Adam, {"lr": (0.01, 0.1), "betas": (0.8, 0.99)})
    >>> runs.K, runs.swept["lr"].tolist(), runs.fixed
    (2, [0.01, 0.1], {'betas': (0.8, 0.99)})
    """
    if isinstance(optimizer, type) and any(c.__module__.partition(".")[0] == "torch" for c in optimizer.__mro__):
        raise TypeError(f"optimizer must be an lrcourse.numpy optimizer class, got the torch optimizer "
                        f"{optimizer.__module__}.{optimizer.__qualname__}: a sweep updates its K runs with "
                        f"lrcourse.numpy.{optimizer.__name__} (the same formula, on arrays of K values)")
    if not callable(optimizer):
        raise TypeError(f"optimizer must be an lrcourse.numpy optimizer class (the class, not an instance: the "
                        f"hyperparameters go to the sweep as keywords), got {optimizer!r}")
    check(isinstance(hyperparams, Mapping), "hyperparams", "a mapping of names to values", hyperparams, TypeError)
    structured = _structured(optimizer)
    swept, K = _swept_values(hyperparams, structured)
    swept_names = {key.partition("[")[0] for key in swept}  # "betas[0]" is part of betas
    fixed = {name: value for name, value in hyperparams.items() if name not in swept_names}
    arguments = _as_arrays(hyperparams, structured)
    if isinstance(schedule, (list, tuple)):  # one schedule per run
        if not (schedule and all(isinstance(s, Schedule) for s in schedule)):
            raise ValueError(f"schedule must be an lrcourse.schedules schedule or a non-empty list of them, "
                             f"got {schedule!r}")
        if K != len(schedule) and swept:
            raise ValueError(f"schedule must give one schedule per run: got {len(schedule)} schedules for "
                             f"K = {K} runs of the swept hyperparameters")
        K, schedule = len(schedule), tuple(schedule)
    elif schedule is not None and not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be an lrcourse.schedules schedule or a list of them, got {schedule!r}")
    if schedule is not None:
        if "lr" not in arguments or not np.all(np.asarray(arguments["lr"]) >= 0):
            raise ValueError(f"lr (the base rates, >= 0) must be given with a schedule, got {hyperparams.get('lr')!r}")
        arguments["lr"] = ScaledSchedule(np.broadcast_to(arguments["lr"], (K,)).astype(np.float64), schedule)
    opt = optimizer(**arguments)
    if "lr" not in swept:  # one rate for every run: still listed per run
        rate = arguments["lr"].base if schedule is not None else opt.lr
        swept["lr"] = np.broadcast_to(np.asarray(rate, dtype=np.float64), (K,)).copy()
    return Runs(opt, K, swept, fixed)


def sweep(problem: Problem, optimizer: Callable[..., Any], *, steps: int, x0: ArrayLike | None = None,
          schedule: Schedule | Sequence[Schedule] | None = None, seed: int = 0, path: bool = False,
          **hyperparams: Any) -> SweepResult:
    """Run ``K`` copies of a test problem at once, one per hyperparameter value.

    ``optimizer`` is a :mod:`lrcourse.numpy` optimizer class (or any function that
    builds one from keyword arguments); ``hyperparams`` are its arguments. Each one
    given as a list, a tuple of numbers or a 1-D array of length ``K`` is swept, all
    with the same ``K`` (run ``k`` gets the ``k``-th value of each: use :func:`grid`
    for every combination); numbers are shared by all runs. A hyperparameter whose
    default is a tuple, such as Adam's ``betas``, takes one tuple, each item shared or
    swept: ``betas=(0.8, 0.99)`` is one pair for every run, ``betas=(np.array([0.8,
    0.9]), 0.999)`` sweeps :math:`\\beta_1` (a function that builds the optimizer is
    read the same way, by its parameters' defaults). With a ``schedule``, run ``k``'s
    rate at step ``t`` is ``lr[k] * schedule(t)`` (give the schedule a peak of 1).
    ``schedule`` may also be a list of ``K`` schedules, one per run: run ``k``'s rate
    is ``lr[k] * schedule[k](t)`` (``lr=1.0`` and schedules with their own peaks compare ``K``
    schedules side by side, from the same start and on the same noise).

    ``problem`` is a :class:`lrcourse.problems.Problem`: every run starts at ``x0``
    (default ``problem.x0``; or one start per run, shape ``(K, d)``), gradients are
    ``problem.sample_grad`` (noise drawn from a generator seeded with ``seed``, the
    same draw for every run), losses are ``problem.value``, in float64. ``path=True``
    keeps every iterate. Torch models have their own function,
    :func:`lrcourse.torch.sweep_model`, which shares this one's handling of the
    hyperparameters (:func:`prepare`).

    A run whose loss becomes NaN or inf keeps going as NaN (its numbers never mix
    with the other runs') and is flagged in ``diverged``. ``K`` runs cost about one:
    a step is a few NumPy calls whatever ``K``.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an lrcourse.problems Problem (for a torch model use "
                        f"lrcourse.torch.sweep_model), got {type(problem).__name__}")
    steps = integer("steps", steps, low=1)
    flag("path", path)
    seed = integer("seed", seed, low=0)
    runs = prepare(optimizer, hyperparams, schedule)
    losses, params, iterates = _sweep_problem(problem, runs.optimizer, runs.K, steps, x0, seed, path)
    return SweepResult(losses, params, runs.swept, iterates, "numpy", runs.fixed)


def _sweep_problem(problem: Problem, opt: Any, K: int, steps: int, x0: ArrayLike | None, seed: int,
                   keep_path: bool) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    start = np.asarray(problem.x0 if x0 is None else x0, dtype=np.float64)
    if start.shape not in ((problem.dim,), (K, problem.dim)):
        raise ValueError(f"x0 must have shape ({problem.dim},) or ({K}, {problem.dim}), got {start.shape}")
    theta = np.broadcast_to(start, (K, problem.dim)).copy()
    rng = np.random.default_rng(seed)
    state = opt.init(theta)
    losses = np.empty((K, steps + 1))
    iterates = np.empty((K, steps + 1, problem.dim)) if keep_path else None
    # A diverging run overflows to inf and then NaN: that is a result here, not an error.
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            losses[:, t] = problem.value(theta)
            if iterates is not None:
                iterates[:, t] = theta
            if t < steps:
                theta, state = opt.step(theta, problem.sample_grad(theta, rng), state)
    return losses, theta, iterates


def _structured(optimizer: Callable[..., Any]) -> frozenset[str]:
    """Return the names of ``optimizer``'s hyperparameters that are tuples of values, such as Adam's ``betas``.

    They are read from the defaults: a field of the optimizer's dataclass (or a
    parameter of the function that builds one) whose default is a tuple. A sweep looks
    into a tuple given for one of these (``betas=(np.array([0.8, 0.9]), 0.999)`` sweeps
    :math:`\\beta_1`, ``betas=(0.8, 0.99)`` is one pair for every run), and reads any
    other tuple of numbers as a list of values to sweep.

    >>> from lrcourse.numpy import SGD, Adam
    >>> sorted(_structured(Adam)), sorted(_structured(SGD))
    (['betas'], [])
    """
    if dataclasses.is_dataclass(optimizer) and isinstance(optimizer, type):
        defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                    for f in dataclasses.fields(optimizer)}
    else:
        try:
            defaults = {name: p.default for name, p in inspect.signature(optimizer).parameters.items()}
        except (TypeError, ValueError):  # no signature to read: every tuple is a list of values
            defaults = {}
    return frozenset(name for name, default in defaults.items() if isinstance(default, tuple))


def _items(hyperparams: Mapping[str, Any], structured: frozenset[str]) -> list[tuple[str, Any]]:
    """List each value a sweep reads, by name: the items of a structured tuple as ``"betas[0]"``, ``"betas[1]"``."""
    items = []
    for name, value in hyperparams.items():
        if name in structured and isinstance(value, tuple):
            items += [(f"{name}[{i}]", item) for i, item in enumerate(value)]
        else:
            items.append((name, value))
    return items


def _is_swept(value: Any) -> bool:
    """Tell whether ``value`` is a list of values, one per run (a list, a tuple or an array of dimension >= 1)."""
    if callable(value) or isinstance(value, (bool, str)) or value is None:
        return False
    return isinstance(value, (list, tuple)) or np.ndim(value) > 0


def _values(name: str, value: Any) -> NDArray[np.float64]:
    """Return the ``K`` values of a swept hyperparameter as a float64 array, or raise naming it."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged: numbers and lists mixed
        raise ValueError(f"{name} must be a number or a non-empty 1-D list of values, got {value!r}") from None
    check(array.dtype.kind in "iuf", name, "a number or a non-empty 1-D list of numbers", value, TypeError)
    array = array.astype(np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D list of values, got shape {array.shape}")
    return array


def _swept_values(hyperparams: Mapping[str, Any],
                  structured: frozenset[str]) -> tuple[dict[str, NDArray[np.float64]], int]:
    """Find the swept hyperparameters (lists, tuples and 1-D arrays, also inside a structured tuple) and their K."""
    swept = {name: _values(name, value) for name, value in _items(hyperparams, structured) if _is_swept(value)}
    lengths = {name: len(values) for name, values in swept.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"swept hyperparameters must all have the same length K, got {lengths}")
    return swept, next(iter(lengths.values()), 1)


def _as_arrays(hyperparams: Mapping[str, Any], structured: frozenset[str]) -> dict[str, Any]:
    """Turn each swept list or tuple into an array (inside a structured tuple too), for the optimizer to broadcast."""
    def convert(name: str, value: Any) -> Any:
        return _values(name, value) if isinstance(value, (list, tuple)) else value

    arguments = {}
    for name, value in hyperparams.items():
        if name in structured and isinstance(value, tuple):
            arguments[name] = tuple(convert(f"{name}[{i}]", item) for i, item in enumerate(value))
        elif name in structured:
            arguments[name] = value  # not a tuple: the optimizer's own check says what it wants
        else:
            arguments[name] = convert(name, value)
    return arguments
