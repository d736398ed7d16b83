"""Drive any torch optimizer's learning rate from an lrcourse schedule."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrcourse.schedules import Schedule
from lrcourse.torch.runtime import set_lr
from lrcourse.validation import check, integer, real

__all__ = ["ScheduleLR", "torch_scheduler_lrs"]


class ScheduleLR(LRScheduler):
    """Set every param group's learning rate from a schedule's closed form.

    After construction the rate of each group is ``schedule(0) * lr_scale``; after
    ``k`` calls of ``step()`` it is ``schedule(k) * lr_scale``, where ``lr_scale`` is
    the group's optional ``"lr_scale"`` key (default 1): per-layer rates are one
    schedule times a fixed factor per group. Unlike torch's own schedulers, the
    group's initial ``lr`` is not used: the schedule gives the absolute rate, and the
    closed form is read at ``last_epoch`` instead of updating the previous rate
    recursively, so no rounding accumulates and a resumed run is exact.

    Use it like any torch scheduler: ``optimizer.step()`` then ``scheduler.step()``.

    >>> import torch
    >>> from lrcourse.schedules import StepDecay
    >>> w = torch.zeros(2, requires_grad=True)
    >>> opt = torch.optim.SGD([{"params": [w], "lr_scale": 0.1}], lr=1.0)
    >>> sched = ScheduleLR(opt, StepDecay(1.0, step_size=2, gamma=0.5))
    >>> for _ in range(2):
    ...     opt.step()
    ...     sched.step()
    >>> sched.get_last_lr()
    [0.05]

    ``state_dict()`` holds plain values only (it loads with
    ``torch.load(..., weights_only=True)``) and records the schedule's ``repr``;
    ``load_state_dict`` refuses a state saved with a different schedule.
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule, last_epoch: int = -1) -> None:
        check(isinstance(optimizer, Optimizer), "optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        check(isinstance(schedule, Schedule), "schedule", "an lrcourse.schedules schedule", schedule, TypeError)
        for i, group in enumerate(optimizer.param_groups):
            # 0 is allowed: a group at rate zero is frozen (e.g. a pretrained body).
            real(f"lr_scale of param group {i}", group.get("lr_scale", 1.0), low=0.0)
        self.schedule = schedule
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """Return the rates of the param groups at step ``last_epoch``."""
        lr = self.schedule(self.last_epoch)
        return [lr * group.get("lr_scale", 1.0) for group in self.optimizer.param_groups]

    # Called by torch when step(epoch) is given; the closed form is all we have.
    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedule")}
        state["schedule"] = repr(self.schedule)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`, and set the groups' rates to the resumed step's.

        Setting the rates here (the closed form makes it free) keeps the param groups
        and ``get_last_lr()`` in agreement whichever order the optimizer's and the
        scheduler's states are loaded in.
        """
        state = dict(state_dict)
        if "schedule" not in state:
            raise ValueError("state_dict has no 'schedule' entry: it was not saved by ScheduleLR.state_dict()")
        saved = state.pop("schedule")
        if saved != repr(self.schedule):
            raise ValueError(f"state_dict was saved with schedule {saved}, but this scheduler has {self.schedule!r}")
        self.__dict__.update(state)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            set_lr(group, lr)
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]


def torch_scheduler_lrs(make_scheduler: Any, steps: int, lr: float = 1.0) -> list[float]:
    """Record the rates a torch scheduler gives at steps ``0 … steps - 1``.

    ``make_scheduler(optimizer)`` builds the scheduler around a one-parameter SGD
    optimizer whose initial rate is ``lr``; the loop calls ``optimizer.step()`` then
    ``scheduler.step()``, as in training, so torch's step counting is the real one.

    >>> from torch.optim.lr_scheduler import StepLR
    >>> torch_scheduler_lrs(lambda opt: StepLR(opt, step_size=2, gamma=0.5), steps=5)
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    integer("steps", steps, low=0)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=real("lr", lr, low=0.0))
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return lrs
