"""What every NumPy optimizer shares: walk params, grads and state together, one array at a time.

An optimizer subclass declares its hyperparameters (a frozen dataclass), its state (a
``NamedTuple`` whose first field is ``count``) and two methods on one array of params:
``init_leaf`` (the initial buffers) and ``update`` (the formula). This base applies them
to every array of a container and keeps the step count. The rules of its
hyperparameters are one classmethod, ``check_hyperparameters``, which the dataclass
runs on construction and :mod:`lrcourse.torch.optim`'s twin runs on every param group.
An adaptive method also has
``rate``, each coordinate's learning rate, which its ``update`` uses and
:func:`lrcourse.numpy.effective_lr` reads off a state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from lrcourse.numpy._hyperparams import LearningRate, learning_rate
from lrcourse.numpy.tree import Params, leaves, leaves_like, rebuild

__all__ = ["Optimizer"]


class Optimizer:
    """Pure ``init`` and ``step`` on params held in an array, a dict, a list or a tuple.

    ``state = opt.init(params)`` starts the state at ``count = 0``;
    ``params, state = opt.step(params, grads, state)`` applies update number
    ``t = count + 1`` and returns new arrays (nothing is modified in place). The state's
    ``count`` is the number of updates applied so far, and it is all a schedule sees.
    """

    State: ClassVar[type[Any]]
    rate_buffers: ClassVar[tuple[str, ...]] = ()
    """The fields of the state that :meth:`rate` takes, in its order (none: no per-coordinate rate)."""
    lr: LearningRate

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Return the hyperparameters ``values`` (every one, by name) checked; raise naming the first bad one.

        ``per_run=True`` gives the NumPy optimizers' rules (a number may also be an
        array of one value per run, ``lr`` a schedule); ``per_run=False`` those of the
        :mod:`lrcourse.torch.optim` classes, numbers only. Each subclass states its rules.
        """
        raise NotImplementedError

    def __post_init__(self) -> None:
        # The hyperparameters as checked: floats for numbers, arrays for lists, a tuple for betas.
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}  # type: ignore[arg-type]
        for name, value in self.check_hyperparameters(values).items():
            object.__setattr__(self, name, value)

    def init_leaf(self, theta: Any) -> tuple[Any, ...]:
        """Return the initial state buffers of one params array (``None`` where unused)."""
        raise NotImplementedError

    def update(self, theta: Any, g: Any, *buffers: Any, lr: Any, t: int) -> tuple[Any, ...]:
        """Return ``theta`` and the buffers after update ``t`` (from 1) of one params array."""
        raise NotImplementedError

    def rate(self, *buffers: Any, lr: Any, t: int) -> Any:
        r"""Return each coordinate's rate :math:`\eta_t` of update ``t``, from one params array's buffers after it.

        ``buffers`` are the state fields named in ``rate_buffers`` (``None`` where
        unused), ``lr`` is :math:`\alpha_t`. The update multiplies its direction by this
        rate, coordinate by coordinate. Only the adaptive methods have one.
        """
        raise NotImplementedError(f"{type(self).__name__} has no per-coordinate rate")

    def init(self, params: Params) -> NamedTuple:
        """Return the state before the first update: ``count = 0`` and fresh buffers."""
        thetas = leaves(params)
        columns = list(zip(*(self.init_leaf(theta) for theta in thetas)))
        return self.State(0, *self._trees(params, columns))

    def step(self, params: Params, grads: Params, state: NamedTuple) -> tuple[Params, NamedTuple]:
        """Apply one update to every array of ``params``; return the new params and state.

        ``grads`` must have the structure and shapes of ``params``; a mismatch raises
        ``ValueError`` naming the first array that differs. NaN and inf in ``grads`` are
        not checked (a check would cost a device sync on a GPU): they propagate into
        the params and state elementwise, exactly as in ``torch.optim``, with NumPy's
        usual ``RuntimeWarning`` where it meets ``inf - inf`` or ``inf / inf``.
        """
        if not isinstance(state, self.State):
            raise ValueError(f"state must be {self.State.__name__}, got {type(state).__name__}")
        thetas = leaves(params)
        gs = leaves_like(grads, params, "grads")
        buffers = [
            [None] * len(thetas) if tree is None else leaves_like(tree, params, f"state.{field}")
            for field, tree in zip(state._fields[1:], state[1:])
        ]
        lr = learning_rate(self.lr, state.count)
        t = state.count + 1
        updated = [
            self.update(theta, g, *buffers_of_theta, lr=lr, t=t)
            for theta, g, *buffers_of_theta in zip(thetas, gs, *buffers)
        ]
        new_thetas, *columns = zip(*updated) if updated else [()] * (1 + len(buffers))
        return rebuild(params, new_thetas), self.State(t, *self._trees(params, columns))

    def _trees(self, params: Params, columns: list[tuple[Any, ...]]) -> list[Params]:
        # One container per state buffer, shaped like params; None for a buffer not in use.
        if not columns:  # no arrays at all
            columns = [()] * (len(self.State._fields) - 1)
        return [None if any(b is None for b in column) else rebuild(params, column) for column in columns]
