r"""Checkers for chapter 7, part II, *μP and a Transformer*.

Each ``check_…`` runs the reader's function and the package's own implementation on the
same inputs (hand-picked cases, then random ones from a seeded generator, so a report can
be reproduced; see :func:`lrcourse.exercises.check`) and returns a
:class:`~lrcourse.exercises.CheckResult` whose message says in plain words what is wrong
on the first case that fails.

- :func:`check_mup_rates`: the six rates of μP's param groups for a two-hidden-layer
  :class:`~lrcourse.torch.models.WidthMLP`, against
  :func:`lrcourse.torch.param_groups.mup_param_groups` (so this module imports torch,
  like :mod:`lrcourse.exercises.ch4b`).
- :func:`check_largest_stable_rate`: the largest rate of a grid whose run ended below its
  initial loss, against :func:`largest_stable_rate_reference`.

>>> import numpy as np
>>> def mine(rates, losses, initial_loss):
...     ok = np.isfinite(losses) & (np.asarray(losses) < initial_loss)
...     return float(np.asarray(rates)[ok].max()) if ok.any() else 0.0
>>> check_largest_stable_rate(mine).passed
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.torch.models import WidthMLP
from lrcourse.torch.param_groups import mup_param_groups

__all__ = [
    "mup_rates_reference",
    "largest_stable_rate_reference",
    "check_mup_rates",
    "check_largest_stable_rate",
]


def _cases(make: Callable[[np.random.Generator], Any], first: list[Any], n: int, seed: int) -> list[Any]:
    """The hand-picked cases, then random ones, ``n`` in all."""
    if not (isinstance(n, int) and n >= len(first)):
        raise ValueError(f"n must be an integer >= {len(first)}, got {n!r}")
    return first + (random_cases(make, n=n - len(first), seed=seed) if n > len(first) else [])


def mup_rates_reference(lr: float, width: int, base_width: int, optimizer: str) -> NDArray[np.float64]:
    """The rates of μP's six param groups for ``WidthMLP(…, width, depth=2, parametrization="mup", base_width)``.

    In the order of :func:`~lrcourse.torch.param_groups.mup_param_groups`: input weights,
    input bias, hidden weights, hidden bias, output weights, output bias.
    """
    model = WidthMLP(3, 2, width=width, depth=2, parametrization="mup", base_width=base_width, seed=None)
    groups = mup_param_groups(model, lr, optimizer, verbose=False)  # layers.0, .1, .2 (weight, bias); .1 is hidden
    return np.array([group["lr"] for group in groups], dtype=np.float64)


def check_mup_rates(candidate: Callable[..., Any], n: int = 20, seed: int = 77) -> CheckResult:
    r"""Check ``candidate(lr, width, base_width, optimizer)``: μP's rate for each kind of tensor.

    The answer is an array of six rates, in the order input weights, input bias, hidden
    weights, hidden bias, output weights, output bias, for base rate ``lr`` (tuned at
    ``base_width``), width multiplier :math:`m` = ``width / base_width`` and
    ``optimizer`` ``"sgd"`` or ``"adam"``, as the ``mup`` package's ``MuSGD`` and
    ``MuAdam`` set them (the table of
    :func:`~lrcourse.torch.param_groups.mup_param_groups`).
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        base = int(rng.choice([8, 16, 32, 64]))
        return (float(10 ** rng.uniform(-4, 0)), int(base * rng.choice([1, 2, 4, 8, 16])), base,
                str(rng.choice(["sgd", "adam"])))

    first = [(0.01, 128, 32, "adam"), (0.1, 256, 32, "sgd"), (0.003, 32, 32, "adam")]
    return check(candidate, mup_rates_reference, _cases(make, first, n, seed), name="mup_rates", rtol=1e-12,
                 hint="with m = width / base_width: for Adam only the hidden weights change, to lr / m; for "
                      "SGD the input weights and bias, the hidden bias and the output weights get m · lr, "
                      "the hidden weights and the output bias keep lr. At m = 1 every rate is lr.")


def largest_stable_rate_reference(rates: ArrayLike, losses: ArrayLike, initial_loss: float) -> float:
    """The largest rate in ``rates`` whose final loss is finite and below ``initial_loss``; 0.0 if there is none."""
    grid, final = np.asarray(rates, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    stable = np.isfinite(final) & (final < initial_loss)
    return float(grid[stable].max()) if stable.any() else 0.0


def check_largest_stable_rate(candidate: Callable[..., Any], n: int = 20, seed: int = 78) -> CheckResult:
    """Check ``candidate(rates, losses, initial_loss)``: the largest rate whose run ended below its start.

    ``rates`` is an increasing grid, ``losses[i]`` the final loss of the run at ``rates[i]``
    (NaN or inf when it diverged), ``initial_loss`` the loss before training (the same for
    every run). The answer is the largest rate whose loss is finite and strictly below
    ``initial_loss`` (a stable rate above an unstable one counts: runs at large rates do not
    fail in order), 0.0 when no run is below its start.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        k = int(rng.integers(3, 10))
        rates = np.sort(10 ** rng.uniform(-4, 1, size=k))
        losses = rng.uniform(0.5, 4.0, size=k)
        losses[rng.random(k) < 0.25] = rng.choice([np.nan, np.inf])
        return rates, losses, 3.0

    grid = np.array([0.001, 0.01, 0.1, 1.0])
    first = [(grid, np.array([2.0, 1.5, 2.5, np.nan]), 3.6),        # the last diverged
             (grid, np.array([2.0, 1.5, 3.7, 2.9]), 3.6),           # above its start at 0.1, below again at 1
             (grid, np.array([3.7, np.inf, 3.6, np.nan]), 3.6)]     # none below (3.6 is not below 3.6): 0.0
    return check(candidate, largest_stable_rate_reference, _cases(make, first, n, seed),
                 name="largest_stable_rate", rtol=1e-12,
                 hint="a run is stable when its final loss is finite (not NaN, not inf) and strictly below "
                      "initial_loss; return the largest such rate (not the first failure's neighbour: a "
                      "larger rate can be stable again), as a float, and 0.0 when there is none.")
