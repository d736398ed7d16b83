r"""The learning-rate range test on a torch model, which leaves the model and optimizer as it found them.

:func:`lr_range_test` trains ``model`` for up to ``num_steps`` steps while the rate
climbs along a :class:`lrcourse.range_test.Ramp`, records the loss of every batch, and
stops when the smoothed loss runs away. The smoothing, the stopping rule and the four
suggestions are those of :mod:`lrcourse.range_test`, shared with the NumPy problems.

What the tools people use get wrong, and what this one does instead:

- the weights come back changed (pytorch-lr-finder #11, Lightning #6675), or the
  optimizer's state does (fastai #2892, so a second test or the training that follows
  differs): here every parameter, buffer, gradient, train/eval flag and the optimizer's
  whole ``state_dict`` (moments, step counts, every group's ``lr`` and
  ``initial_lr``) are copied before the first step and put back in a ``finally:``,
  bit for bit, also when the test is interrupted by an exception or Ctrl-C; so is
  every tensor the optimizer holds that is not the model's (a learnable weight of
  the loss), with its gradient;
- an optimizer built on other parameters (another model's, or a copy's) trains
  nothing the loss sees and draws a flat curve with confident suggestions: here it
  is refused, as are an optimizer whose parameters are all frozen and a loss that
  is not a scalar tensor computed with autograd;
- the batches depend on torch's global random state: here the test runs with that
  state seeded by ``seed`` (the CPU generator, and the GPU's when the model is on
  one) and restores it afterwards, so two tests give the same numbers and the rest
  of the program draws what it would have drawn;
- the smoothing, the stop and the suggestions: see :mod:`lrcourse.range_test`.

:func:`~lrcourse.torch.curvature.top_hessian_eigenvalue` (in :mod:`lrcourse.torch.curvature`)
measures :math:`L`, the largest curvature, against which the test's answers are checked:
gradient descent on a quadratic diverges for :math:`\alpha > 2/L`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from lrcourse.range_test import RAMPS, Ramp, RangeTestResult, SmoothedLoss, check_options, is_diverged, smooth_update
from lrcourse.torch.runtime import Data, cycle, held_parameters, optimizer_tensors, progress_bar, seeded, set_lr
from lrcourse.validation import check

__all__ = ["lr_range_test", "RangeTestResult"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def lr_range_test(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn,
                  data: Data, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_steps: int = 100, ramp: str = "exp", smooth: float = 0.98, diverge_factor: float = 4.0, *,
                  loss_floor: float = 0.0, seed: int = 0, progress: bool | None = None) -> RangeTestResult:
    r"""Train with a rising learning rate, record the losses, and put everything back.

    Step :math:`t = 0, 1, \dots` takes the next batch :math:`(x, y)` of ``data``,
    computes :math:`\ell_t` = ``loss_fn(model(x), y)``, smooths it
    (:func:`~lrcourse.range_test.smooth_update`, :math:`\beta` = ``smooth``), stops if
    the smoothed loss has diverged (:func:`~lrcourse.range_test.is_diverged`: above
    ``diverge_factor`` times its minimum, measured from ``loss_floor``), and otherwise
    backpropagates and calls ``optimizer.step()`` with every param group's rate set to

    .. math::

        \alpha_t \times \texttt{lr\_scale}, \qquad
        \alpha_t = \alpha_{\mathrm{start}} \left(\frac{\alpha_{\mathrm{end}}}{\alpha_{\mathrm{start}}}\right)^{t/(N-1)}

    (:class:`~lrcourse.range_test.Ramp`; ``ramp="linear"`` for a linear climb;
    ``lr_scale`` is the group's key of that name, 1 if absent, so per-layer groups keep
    their ratios as under :class:`lrcourse.torch.ScheduleLR`). ``optimizer`` is any
    ``torch.optim.Optimizer`` on the model's parameters; its other hyperparameters
    (momentum, betas, weight decay) apply as they are. It must hold at least one of the
    model's parameters that requires grad (``ValueError`` otherwise: an optimizer
    built on another model, or on a copy of this one, would train nothing the loss
    sees); it may hold other tensors too, such as a learnable weight of ``loss_fn``,
    which are trained during the test and restored with the rest. ``loss_fn`` must
    return the batch's loss as a one-element floating-point tensor that requires grad
    (``TypeError`` or ``ValueError`` naming ``loss_fn`` otherwise: a Python float, a
    vector of per-example losses, a detached tensor).

    ``data`` is any iterable of ``(x, y)`` batches (a DataLoader, a list), started again
    when it runs out, or a pair ``(X, y)`` of tensors for full-batch training; batches
    are moved to the device of the model's parameters. The model is in training mode
    during the test. Everything the test changes is restored afterwards, bit for bit,
    also if it raises; torch's global random generator (the CPU's, and the GPU's when
    the model is on one) is seeded with ``seed`` for the test (shuffling, dropout) and
    restored, so the same call gives the same result. ``smooth`` trades noise against
    lag: see :func:`~lrcourse.range_test.smooth_update`.
    ``progress`` shows a progress bar (by default in a terminal or a notebook; see
    :func:`lrcourse.torch.fit`).

    Returns a :class:`~lrcourse.range_test.RangeTestResult`: the rates, raw and
    smoothed losses up to the stop, ``diverged_at`` and the four ``suggestions``.

    >>> X = torch.randn(256, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> y = X.sum(dim=1)
    >>> model = nn.Linear(8, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> before = model.weight.clone()
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> mse = lambda output, target: torch.nn.functional.mse_loss(output.squeeze(-1), target)
    >>> result = lr_range_test(model, optimizer, mse, (X, y), progress=False)
    >>> torch.equal(model.weight, before), optimizer.param_groups[0]["lr"]  # put back
    (True, 0.1)

    The answers, against theory: gradient descent on this loss diverges for
    :math:`\alpha > 2/L`, :math:`L` the largest eigenvalue of the Hessian
    :math:`\tfrac{2}{n} X^\top X`. Below :math:`2/L` every step lowers the loss, so
    the test can only stop above it; the rules back off to below it.

    >>> L = float(torch.linalg.eigvalsh(2 * X.T @ X / len(X)).max())
    >>> bool(result.diverged_at > 2 / L)
    True
    >>> [rule for rule in ("minimum", "steep", "valley") if not 0.1 * 2 / L < result.suggestions[rule] < 2 / L]
    []

    References:
        Smith, L. N. (2017). Cyclical learning rates for training neural networks. WACV.
    """
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    check(isinstance(optimizer, torch.optim.Optimizer), "optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
    check(callable(loss_fn), "loss_fn", "a function loss_fn(output, target) -> loss", loss_fn, TypeError)
    check(ramp in RAMPS, "ramp", "'exp' or 'linear'", ramp)
    smooth, diverge_factor, loss_floor = check_options(smooth, diverge_factor, loss_floor)
    schedule = Ramp(start_lr, end_lr, num_steps, ramp)  # checks start_lr < end_lr and num_steps >= 2
    first = _check_trainable(model, optimizer)
    lrs = schedule(np.arange(schedule.num_steps))
    losses: list[float] = []
    saved = _snapshot(model, optimizer)
    try:
        with seeded(seed, first.device), progress_bar(len(lrs), progress, "range test", leave=False) as bar:
            model.train()
            batches, state, best = cycle(data, first.device), SmoothedLoss(), math.inf
            for lr in lrs:
                x, y = next(batches)
                for group in optimizer.param_groups:
                    set_lr(group, float(lr) * group.get("lr_scale", 1.0))
                optimizer.zero_grad()
                loss = _checked_loss(loss_fn(model(x), y))
                losses.append(loss.item())
                state, smoothed = smooth_update(state, losses[-1], smooth)
                best = min(best, smoothed)
                if is_diverged(smoothed, best, diverge_factor, loss_floor):
                    break
                loss.backward()
                optimizer.step()
                bar.update(1)
                bar.set_postfix(lr=f"{lr:.3g}", loss=f"{smoothed:.4g}", refresh=False)
    finally:
        _restore(model, optimizer, saved)
    return RangeTestResult.from_losses(lrs[: len(losses)], losses, smooth=smooth, diverge_factor=diverge_factor,
                                       loss_floor=loss_floor)


def _check_trainable(model: nn.Module, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """Check that the test will train some of the model's parameters; return the first parameter."""
    params = list(model.parameters())
    if not params:
        raise ValueError(f"model must have parameters to train, got a {type(model).__name__} with none")
    held = held_parameters(model, optimizer)
    if not any(p.requires_grad for p in params):
        raise ValueError(f"model must have parameters that require grad, got a {type(model).__name__} whose "
                         f"{len(params)} parameters are all frozen (requires_grad=False)")
    if not any(p.requires_grad for p in held):
        raise ValueError(f"optimizer must hold parameters of model that require grad, but the {len(held)} it holds "
                         "are all frozen (requires_grad=False): the test would train none of them")
    return params[0]


def _checked_loss(loss: Any) -> torch.Tensor:
    """Check that ``loss_fn`` gave what ``backward`` and the smoothing need: one real number, with autograd."""
    check(isinstance(loss, torch.Tensor), "loss_fn", "a function returning a tensor (the batch's loss, with "
          f"autograd), got a {type(loss).__name__}", loss, TypeError)
    check(loss.is_floating_point(), "loss_fn", f"a function returning a floating-point tensor, got {loss.dtype}",
          loss, TypeError)
    check(loss.numel() == 1, "loss_fn", "a function returning one number (the mean loss of the batch), got a "
          f"tensor of shape {tuple(loss.shape)}: reduce it, e.g. with .mean()", loss)
    check(loss.requires_grad, "loss_fn", "a function returning a loss computed with autograd, got a tensor that "
          "does not require grad (detached, or computed under torch.no_grad()?)", loss)
    return loss


def _snapshot(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Copy everything the test changes: tensors by name, gradients, modes, the optimizer's tensors and state."""
    own = {id(p) for p in model.parameters()}
    return {
        "tensors": {name: t.detach().clone() for name, t in _named_tensors(model)},
        "grads": {name: None if p.grad is None else p.grad.detach().clone()
                  for name, p in model.named_parameters(remove_duplicate=False)},
        "modes": {name: m.training for name, m in model.named_modules(remove_duplicate=False)},
        # the tensors the optimizer holds and the model does not (a learnable weight of the loss)
        "foreign": [(p, p.detach().clone(), None if p.grad is None else p.grad.detach().clone())
                    for p in optimizer_tensors(optimizer) if id(p) not in own],
        "optimizer": copy.deepcopy(optimizer.state_dict()),
    }


@torch.no_grad()
def _restore(model: nn.Module, optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    current = dict(_named_tensors(model))  # looked up again: a module may have replaced a buffer
    for name, value in saved["tensors"].items():
        current[name].copy_(value)
    for name, p in model.named_parameters(remove_duplicate=False):
        grad = saved["grads"][name]
        p.grad = None if grad is None else grad.clone()
    for name, m in model.named_modules(remove_duplicate=False):
        m.training = saved["modes"][name]
    for p, value, grad in saved["foreign"]:
        p.copy_(value)
        p.grad = None if grad is None else grad.clone()
    # load_state_dict replaces the state (moments, steps) and every group's hyperparameters.
    optimizer.load_state_dict(copy.deepcopy(saved["optimizer"]))


def _named_tensors(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    yield from model.named_parameters()
    yield from model.named_buffers()  # persistent or not, e.g. batch norm's running statistics
