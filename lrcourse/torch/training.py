"""Train a torch model with any optimizer and scheduler, and record what happened.

:func:`fit` is the training loop every chapter uses: minibatches (or the full batch),
an optional learning-rate scheduler stepped after every update, optional gradient
clipping, validation, a progress bar, and a :class:`History` of the loss, learning
rate and gradient norm at every step. A loss that becomes NaN or infinite stops the
run and marks it diverged; the history up to that step is kept, because a diverged
run is a result in a course about the learning rate.

>>> import torch
>>> from lrcourse.torch.models import SoftmaxRegression
>>> X, y = torch.randn(64, 3), torch.randint(0, 2, (64,))
>>> model = SoftmaxRegression(3, 2)
>>> history = fit(model, torch.optim.SGD(model.parameters(), lr=0.5), (X, y), steps=20,
...               progress=False, device="cpu")
>>> len(history.loss), history.loss[-1] < history.loss[0], history.diverged
(20, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from lrcourse.schedules import Schedule
from lrcourse.torch.device import get_device
from lrcourse.torch.runtime import (Batch, Data, batches_per_epoch, check_data, held_parameters, one_epoch,
                                    progress_bar, seeded, show_progress)
from lrcourse.torch.schedulers import ScheduleLR
from lrcourse.validation import check, integer, real

__all__ = ["History", "fit", "train_step", "evaluate", "default_loss"]


@dataclass
class History:
    """What :func:`fit` recorded. Step ``t`` is the update applied after ``t`` updates.

    Per step ``t = 0, 1, …``: ``loss[t]``, the loss of that step's batch at the
    parameters before the update; ``lrs[t]``, the learning rate of each param group
    for the update (``lr`` is the first group's); ``grad_norm[t]``, the L2 norm of
    all gradients together, before clipping. Per epoch: ``epoch_loss``, the mean of
    that epoch's step losses (the last epoch may be partial). Validation: ``val[name]``
    measured after ``val_step[i]`` updates (step 0 is before training). A run that
    diverged ends with the non-finite loss (its ``grad_norm`` is NaN: no update was
    made).
    """

    loss: list[float] = field(default_factory=list)
    lrs: list[tuple[float, ...]] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val: dict[str, list[float]] = field(default_factory=dict)
    diverged: bool = False

    @property
    def lr(self) -> NDArray[np.float64]:
        """The learning rate of the first param group at every step."""
        return np.array([lrs[0] for lrs in self.lrs], dtype=np.float64)

    @property
    def steps(self) -> int:
        """The number of steps recorded (updates applied, plus the diverging one if any)."""
        return len(self.loss)


def default_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the cross-entropy for integer targets (classes), the mean squared error otherwise.

    >>> round(default_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1])).item(), 6)  # log 2
    0.693147
    >>> default_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 0.0])).item()
    5.0
    """
    if not torch.is_floating_point(target):
        return F.cross_entropy(output, target)
    return F.mse_loss(output.reshape(target.shape), target)


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, data: Data, *,
        steps: int | None = None, epochs: int | None = None,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        scheduler: LRScheduler | Schedule | None = None, clip: float | None = None,
        val_data: Data | None = None, eval_every: int | None = None, seed: int = 0,
        device: str | torch.device | None = None, progress: bool | None = None) -> History:
    """Train ``model`` with ``optimizer`` on ``data`` for ``steps`` updates or ``epochs`` epochs.

    Each step: compute ``loss_fn(model(x), y)`` on the next batch (default:
    :func:`~lrcourse.torch.training.default_loss`); stop if it is NaN or infinite; backpropagate; clip the
    gradients' total norm to ``clip`` if given; ``optimizer.step()``; then
    ``scheduler.step()``. ``optimizer`` is any ``torch.optim.Optimizer`` (those of
    :mod:`lrcourse.torch` or of ``torch.optim``) on the model's parameters; one that
    holds none of them (built on another model) is refused rather than left to train
    nothing. ``scheduler`` is any torch scheduler built on it, or an
    :mod:`lrcourse.schedules` schedule (wrapped in :class:`lrcourse.torch.ScheduleLR`);
    ``ReduceLROnPlateau`` is stepped with the validation loss after each validation
    instead.

    ``data`` is a pair ``(X, y)`` of tensors (full batch: one step per epoch) or a
    DataLoader. ``val_data`` (same forms) is evaluated with :func:`evaluate` before
    the first update, every ``eval_every`` updates (default: once per epoch) and
    after the last.

    The run is seeded: it executes with torch's CPU generator, and the GPU's when
    ``device`` is one, seeded with ``seed`` and restored afterwards
    (:func:`lrcourse.torch.runtime.seeded`; no other generator is touched), so
    shuffling by a DataLoader without a generator of its own, dropout and any other
    draw repeat exactly. The same model weights, optimizer, data and seed give an
    identical :class:`History` on a given device. ``device`` defaults to :func:`lrcourse.torch.device.get_device`; the model is
    moved there and so is every batch. ``progress`` shows a progress bar; by
    default it does in a terminal or notebook, not when the output is a file or a
    pipe, and never when the environment variable ``LRCOURSE_PROGRESS`` is ``0``.
    """
    clip = _check_step(model, optimizer, loss_fn, clip, finite_clip=True)
    check(scheduler is None or isinstance(scheduler, (Schedule, LRScheduler, ReduceLROnPlateau)), "scheduler",
          "a torch scheduler or an lrcourse schedule (or None)", scheduler, TypeError)
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps and epochs, got steps={steps!r}, epochs={epochs!r}")
    for name, value in (("steps", steps), ("epochs", epochs), ("eval_every", eval_every)):
        if value is not None:
            integer(name, value, low=1)
    seed = integer("seed", seed, low=0)
    show_progress(progress)  # checks it
    check_data(data)
    if val_data is not None:
        check_data(val_data, "val_data")
    if isinstance(scheduler, Schedule):
        scheduler = ScheduleLR(optimizer, scheduler)
    if isinstance(scheduler, ReduceLROnPlateau) and val_data is None:
        raise ValueError("a ReduceLROnPlateau scheduler needs val_data: it is stepped with the validation loss")
    per_epoch = batches_per_epoch(data)
    if per_epoch == 0:
        raise ValueError("data must hold at least one batch, got an empty loader")
    if per_epoch is None and epochs is not None:
        raise ValueError(f"epochs needs data whose length is known (a pair (X, y), a DataLoader, a list), got a "
                         f"{type(data).__name__}: give steps instead")
    device = get_device(device)
    model.to(device)
    loss_fn = loss_fn or default_loss
    total = steps if steps is not None else epochs * per_epoch  # type: ignore[operator]
    eval_every = eval_every or per_epoch or total  # once per epoch; at the end if epochs have no length
    history = History()

    def validate(step: int) -> None:
        metrics = _evaluate(model, val_data, loss_fn, device, "val_data")  # type: ignore[arg-type]
        history.val_step.append(step)
        for name, value in metrics.items():
            history.val.setdefault(name, []).append(value)
        if isinstance(scheduler, ReduceLROnPlateau) and step > 0:
            scheduler.step(metrics["loss"])

    with seeded(seed, device), progress_bar(total, progress, "fit") as bar:
        if val_data is not None:
            validate(0)
        model.train()
        while history.steps < total and not history.diverged:
            epoch_losses = []
            for x, y in one_epoch(data):
                history.lrs.append(tuple(float(group["lr"]) for group in optimizer.param_groups))
                loss, grad_norm = _train_step(model, optimizer, loss_fn, x.to(device), y.to(device), clip)
                history.loss.append(loss)
                history.grad_norm.append(grad_norm)
                epoch_losses.append(loss)
                if not math.isfinite(loss):
                    history.diverged = True
                    break
                if scheduler is not None and not isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step()
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4g}", lr=f"{history.lrs[-1][0]:.3g}", refresh=False)
                done = history.steps
                if val_data is not None and (done % eval_every == 0 or done == total):
                    validate(done)
                if done == total:
                    break
            history.epoch_loss.append(float(np.mean(epoch_losses)))
    return history


def _check_step(model: Any, optimizer: Any, loss_fn: Any, clip: Any, *, finite_clip: bool) -> float | None:
    """Check the arguments of an update, for :func:`fit` and :func:`train_step`; return ``clip`` as a float or None.

    ``finite_clip=False`` allows ``clip=inf`` (measure the norm, clip nothing).
    """
    held_parameters(model, optimizer)
    check(loss_fn is None or callable(loss_fn), "loss_fn", "a function loss_fn(output, target) or None", loss_fn,
          TypeError)
    return None if clip is None else real("clip", clip, low=0.0, low_open=True, finite=finite_clip)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, x: torch.Tensor,
               y: torch.Tensor, clip: float | None = None) -> tuple[float, float]:
    """Apply one update on the batch ``(x, y)``; return the loss before it and the gradient norm.

    The norm is the L2 norm of all the optimizer's gradients together, measured before
    clipping them to ``clip`` (> 0; ``inf`` or ``None`` only measures it). A NaN or
    infinite loss is returned with a NaN norm, and no update is made. ``loss_fn``
    ``None`` is :func:`default_loss`. The arguments are checked as :func:`fit` checks
    them.
    """
    clip = _check_step(model, optimizer, loss_fn, clip, finite_clip=False)
    return _train_step(model, optimizer, loss_fn or default_loss, x, y, clip)


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                clip: float | None) -> tuple[float, float]:
    """:func:`train_step` on checked arguments (:func:`fit` checks them once, not at every step)."""
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    value = loss.item()
    if not math.isfinite(value):
        return value, math.nan
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    # clip_grad_norm_ returns the norm before clipping; with max_norm = inf it only measures.
    grad_norm = nn.utils.clip_grad_norm_(params, clip if clip is not None else math.inf)
    optimizer.step()
    return value, float(grad_norm)


@torch.no_grad()
def evaluate(model: nn.Module, data: Data,
             loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             device: str | torch.device | None = None) -> dict[str, float]:
    """Return the mean loss on ``data`` and, for integer targets, the accuracy.

    Scores are ``(N, C)``, or ``(N, C, T)`` with a target at each of ``T`` positions (the
    layout of :func:`torch.nn.functional.cross_entropy`); the accuracy is then over the
    ``N·T`` positions. ``data`` is ``(X, y)`` or a DataLoader; batch losses are weighted by batch size
    (``loss_fn`` must average over its batch, as torch's losses do). The model is put
    in evaluation mode for the pass and left in the mode it was in.

    >>> from lrcourse.torch.models import SoftmaxRegression
    >>> model = SoftmaxRegression(2, 2)
    >>> with torch.no_grad():
    ...     _ = model.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    ...     _ = model.linear.bias.zero_()
    >>> evaluate(model, (torch.eye(2), torch.tensor([0, 0])), device="cpu")["accuracy"]
    0.5
    """
    return _evaluate(model, data, loss_fn, device, "data")


@torch.no_grad()
def _evaluate(model: nn.Module, data: Data, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
              device: str | torch.device | None, name: str) -> dict[str, float]:
    """:func:`evaluate`, with errors about ``data`` calling it ``name`` (``"val_data"`` in :func:`fit`)."""
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    check(loss_fn is None or callable(loss_fn), "loss_fn", "a function loss_fn(output, target) or None", loss_fn,
          TypeError)
    check_data(data, name)
    loss_fn = loss_fn or default_loss
    device = get_device(device)
    was_training = model.training
    model.eval()
    total_loss, correct, count, positions = 0.0, 0, 0, 0
    classification = True
    try:
        for x, y in one_epoch(data, device, name=name):
            output = model(x)
            total_loss += loss_fn(output, y).item() * len(y)
            count += len(y)
            classification = classification and not torch.is_floating_point(y)
            if classification:  # scores (N, C) or, a target at every position, (N, C, T): torch's layout
                correct += int((output.argmax(dim=1) == y).sum())
                positions += y.numel()
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError(f"{name} must hold at least one example, got batches of size 0")
    metrics = {"loss": total_loss / count}
    if classification:
        metrics["accuracy"] = correct / positions
    return metrics
