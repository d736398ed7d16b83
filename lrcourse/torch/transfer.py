r"""Fine-tuning recipes for a pretrained model: fastai's ``fine_tune`` and LP-FT, each two runs of :func:`fit`.

Both start by training the new head alone on the frozen body, then train every layer:

- :func:`fine_tune` is fastai's ``Learner.fine_tune`` (Howard & Gugger, 2020): a
  one-cycle run of the head alone, then every layer unfrozen with rates spread
  geometrically over the layers, ``slice(lr / 2 / lr_mult, lr / 2)``
  (:func:`spread_rates`, ULMFiT's discriminative rates; Howard & Ruder, 2018), again
  on a one-cycle schedule;
- :func:`lp_ft` is the linear probe then fine-tuning of Kumar et al. (2022): the head
  trained to fit the frozen features first, so that the full fine-tuning starts from a
  head that already uses them, instead of a random one whose large gradients reach the
  body.

Which layers are which is read as by :func:`~lrcourse.torch.layerwise_param_groups`
(by default :func:`~lrcourse.torch.param_groups.default_layers`: the submodules that
own parameters, input first, the head last). The ``requires_grad`` flags the model had
are put back when a recipe returns or raises.

>>> from lrcourse.torch.models import BodyHead
>>> X, y = torch.randn(40, 8, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 4
>>> model = BodyHead(8, 4, hidden=(16, 16))
>>> frozen, unfrozen = fine_tune(model, (X, y), lr=0.01, steps=30, freeze_steps=10, device="cpu")
>>> len(frozen.loss), len(unfrozen.loss), [f"{lr:.2g}" for lr in max(unfrozen.lrs)]
(10, 20, ['5e-05', '0.0005', '0.005'])
>>> all(p.requires_grad for p in model.parameters())
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR

from lrcourse.torch.param_groups import default_layers, layerwise_param_groups
from lrcourse.torch.runtime import Data
from lrcourse.torch.training import History, fit
from lrcourse.validation import check, flag, integer, real

__all__ = ["spread_rates", "fine_tune", "lp_ft"]


def spread_rates(lr_low: float, lr_high: float, n: int) -> list[float]:
    r"""Return ``n`` rates spaced geometrically from ``lr_low`` (the lowest layer) to ``lr_high`` (the top).

    .. math:: \alpha_l = \alpha_{\text{low}} \left(\alpha_{\text{high}} / \alpha_{\text{low}}\right)^{l / (n - 1)},
              \qquad l = 0, \dots, n - 1

    fastai's ``even_mults``, what ``slice(lr_low, lr_high)`` gives the layer groups of
    a model: each layer ``(lr_high / lr_low) ** (1 / (n - 1))`` times the rate of the
    one below. One layer (``n = 1``) gets ``lr_high``.

    >>> spread_rates(1e-4, 1e-2, 3)
    [0.0001, 0.001, 0.01]
    """
    lr_high = real("lr_high", lr_high, low=0.0, low_open=True)
    lr_low = real("lr_low", lr_low, low=0.0, high=lr_high, low_open=True)
    n = integer("n", n, low=1)
    if n == 1:
        return [lr_high]
    step = (lr_high / lr_low) ** (1 / (n - 1))
    rates = [lr_low * step**i for i in range(n)]
    rates[-1] = lr_high  # exact at the top, whatever the rounding of the powers
    return rates


@contextmanager
def _flags_restored(model: nn.Module) -> Iterator[None]:
    """Put back every parameter's ``requires_grad`` when the block ends, normally or not."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _checked_layers(model: Any, layers: Any) -> list[str]:
    """The model's layers (validated as by layerwise_param_groups), at least two: a body and a head."""
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    names = default_layers(model) if layers is None else layers
    if layers is not None:
        allowed = "a sequence of submodule names (or None)"
        check(isinstance(layers, Sequence) and not isinstance(layers, str), "layers", allowed, layers, TypeError)
        check(all(isinstance(name, str) for name in layers), "layers", allowed, layers, TypeError)
    check(len(names) >= 2, "layers", "at least two layers (a body to freeze and a head)", list(names))
    # layerwise_param_groups checks that they name submodules and cover every parameter once
    with _flags_restored(model):
        layerwise_param_groups(model, 1.0, layers=list(names), verbose=False)
    return list(names)


def _build(optimizer: Callable[[list[dict[str, Any]]], torch.optim.Optimizer],
           groups: list[dict[str, Any]]) -> torch.optim.Optimizer:
    """Build one phase's optimizer on ``groups``, and check that it is one."""
    built = optimizer(groups)
    check(isinstance(built, torch.optim.Optimizer), "optimizer", "a function that returns a torch optimizer",
          optimizer, TypeError)
    return built


def _phases(steps: Any, first: Any, name: str, low: int) -> tuple[int, int]:
    """Check the total budget and the first phase's share of it; return both phases' lengths."""
    steps = integer("steps", steps, low=2 * low)
    first = integer(name, first, low=low, high=steps - low)
    return first, steps - first


def fine_tune(model: nn.Module, data: Data, *, lr: float, steps: int, freeze_steps: int,
              layers: Sequence[str] | None = None, lr_mult: float = 100.0, pct_start: float = 0.3,
              div: float = 5.0, div_final: float = 1e5, cycle_momentum: bool = True,
              optimizer: Callable[[list[dict[str, Any]]], torch.optim.Optimizer] = torch.optim.Adam,
              loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None, seed: int = 0,
              device: str | torch.device | None = None) -> tuple[History, History]:
    r"""Fine-tune as fastai's ``Learner.fine_tune``: the head alone, then every layer at spread rates.

    The two phases of ``fine_tune(epochs, base_lr, freeze_epochs)`` (fastai's
    ``callback/schedule.py``), counted in updates instead of epochs:

    1. ``freeze_steps`` updates of the top layer alone, every other layer frozen
       (``requires_grad = False``): a one-cycle schedule peaking at ``lr``, warming up
       over 99 % of the phase from ``lr / 25`` (fastai's ``fit_one_cycle(freeze_epochs,
       slice(base_lr), pct_start=0.99)``);
    2. ``steps - freeze_steps`` updates of every layer, with a new optimizer, at the rates
       ``slice(lr / 2 / lr_mult, lr / 2)``: :func:`spread_rates` over the :math:`n`
       layers, the head at :math:`\alpha / 2`, the lowest layer ``lr_mult`` times less,
       each layer :math:`\texttt{lr\_mult}^{1/(n-1)}` times less than the one above; one
       one-cycle schedule for all of them (each group's ``lr_scale``), from a peak
       ``div`` times its start, warming up over ``pct_start`` of the phase, down to
       ``div_final`` times below the peak.

    Each schedule is torch's ``OneCycleLR``, which is fastai's ``fit_one_cycle`` when
    its final rate is ``div_final`` times below the peak: cosine warm-up and cosine
    annealing, and with ``cycle_momentum`` Adam's :math:`\beta_1` (or SGD's momentum)
    cycled from 0.95 down to 0.85 at the peak and back, as fastai's ``moms=(0.95, 0.85,
    0.95)``. The defaults are fastai's (``lr_mult=100``, ``pct_start=0.3``, ``div=5``, and
    the ``div_final=1e5`` of ``fit_one_cycle``). Two differences remain. The schedule's
    ends: ``OneCycleLR`` spreads a phase over its updates so that the last one is at the
    final rate, where fastai sets update :math:`i` of :math:`n` at the fraction
    :math:`i/n` of the schedule, so that its last update is one step short of the end (a
    frozen phase of fewer than 100 updates with ``pct_start=0.99`` never leaves its warm-up
    there, while here its last update is at ``lr / div_final``). And the optimizer:
    fastai's own Adam (:math:`\beta_2 = 0.99`, :math:`\varepsilon = 10^{-5}`, decoupled
    weight decay 0.01) is left out, and ``fastai.Learner.freeze`` keeps batch-norm layers
    trainable, where here every layer below the head is frozen. ``optimizer(groups)``
    builds the optimizer of each phase (``torch.optim.Adam`` by default, or any factory
    such as ``functools.partial(torch.optim.Adam, fused=True)``).
    Each phase is one :func:`~lrcourse.torch.fit` run with ``data``, ``loss_fn``, ``seed``
    and ``device``; their :class:`~lrcourse.torch.History` records are returned, the
    frozen phase first. ``layers`` are the layers from the input to the head, as for
    :func:`~lrcourse.torch.layerwise_param_groups` (at least two). The model's
    ``requires_grad`` flags are put back when the call returns or raises.

    References:
        Howard, J. and Gugger, S. (2020). Fastai: a layered API for deep learning.
        Information 11(2), 108.
        Howard, J. and Ruder, S. (2018). Universal language model fine-tuning for text
        classification. ACL.
    """
    names = _checked_layers(model, layers)
    lr = real("lr", lr, low=0.0, low_open=True)
    frozen_steps, open_steps = _phases(steps, freeze_steps, "freeze_steps", 2)
    lr_mult = real("lr_mult", lr_mult, low=1.0)
    pct_start = real("pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
    div = real("div", div, low=0.0, low_open=True)
    div_final = real("div_final", div_final, low=0.0, low_open=True)
    cycle_momentum = flag("cycle_momentum", cycle_momentum)
    check(callable(optimizer), "optimizer", "a function optimizer(param_groups) that returns a torch optimizer",
          optimizer, TypeError)
    n = len(names)
    run = {"loss_fn": loss_fn, "seed": seed, "device": device, "progress": False}

    def one_cycle(groups: list[dict[str, Any]], steps: int, pct: float, div: float) -> tuple[Any, OneCycleLR]:
        built = _build(optimizer, groups)
        # each group peaks at the rate it was built with: slice(...) in fastai's terms
        return built, OneCycleLR(built, [group["lr"] for group in groups], total_steps=steps, pct_start=pct,
                                 div_factor=div, final_div_factor=div_final / div, cycle_momentum=cycle_momentum,
                                 base_momentum=0.85, max_momentum=0.95)

    with _flags_restored(model):
        head_only = layerwise_param_groups(model, lr, layers=names, freeze=n - 1, verbose=False)
        built, schedule = one_cycle(head_only, frozen_steps, 0.99, 25.0)
        frozen = fit(model, built, data, steps=frozen_steps, scheduler=schedule, **run)
        spread = layerwise_param_groups(model, lr / 2, decay=lr_mult ** (1 / (n - 1)), layers=names, verbose=False)
        built, schedule = one_cycle(spread, open_steps, pct_start, div)
        unfrozen = fit(model, built, data, steps=open_steps, scheduler=schedule, **run)
    return frozen, unfrozen


def lp_ft(model: nn.Module, data: Data, *, probe_lr: float, lr: float, steps: int, probe_steps: int,
          layers: Sequence[str] | None = None,
          optimizer: Callable[[list[dict[str, Any]]], torch.optim.Optimizer] = torch.optim.Adam,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None, seed: int = 0,
          device: str | torch.device | None = None) -> tuple[History, History]:
    r"""Fine-tune by LP-FT (Kumar et al., 2022): a linear probe first, then every layer from the probed head.

    1. ``probe_steps`` updates of the top layer alone at the constant rate ``probe_lr``,
       every other layer frozen (``requires_grad = False``): a linear probe of the
       pretrained features;
    2. ``steps - probe_steps`` updates of every layer at the constant rate ``lr``, with a
       new optimizer, starting from the probed head.

    A random head's gradients are large and point nowhere in particular; passed down
    into the body they change the pretrained features before the head has learnt to use
    them. Kumar et al. prove it for a two-layer linear network (a linear feature
    extractor and a linear head): fine-tuning from a poor head changes the features in
    the directions the fine-tuning data span and leaves the others, which hurts out of
    distribution; starting from the probed head, near the best for the pretrained
    features, the gradients that reach the body are smaller from the first step, and
    the features change less. ``steps`` is the total budget of both
    phases, so that a comparison with another recipe can give both the same.

    ``optimizer(groups)`` builds each phase's optimizer (``torch.optim.Adam`` by
    default). Each phase is one :func:`~lrcourse.torch.fit` run with ``data``,
    ``loss_fn``, ``seed`` and ``device``; their histories are returned, the probe
    first. ``layers`` are the layers from the input to the head, as for
    :func:`~lrcourse.torch.layerwise_param_groups` (at least two). The model's
    ``requires_grad`` flags are put back when the call returns or raises.

    >>> from lrcourse.torch.models import BodyHead
    >>> X, y = torch.randn(40, 8, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 4
    >>> probe, tuned = lp_ft(BodyHead(8, 4, hidden=(16,)), (X, y), probe_lr=0.03, lr=0.003, steps=30,
    ...                      probe_steps=20, device="cpu")
    >>> len(probe.loss), len(tuned.loss), probe.lrs[0], tuned.lrs[0]
    (20, 10, (0.03,), (0.003, 0.003))

    References:
        Kumar, A., Raghunathan, A., Jones, R., Ma, T. and Liang, P. (2022). Fine-tuning
        can distort pretrained features and underperform out-of-distribution. ICLR.
    """
    names = _checked_layers(model, layers)
    probe_lr = real("probe_lr", probe_lr, low=0.0, low_open=True)
    lr = real("lr", lr, low=0.0, low_open=True)
    probe_steps, tune_steps = _phases(steps, probe_steps, "probe_steps", 1)
    check(callable(optimizer), "optimizer", "a function optimizer(param_groups) that returns a torch optimizer",
          optimizer, TypeError)
    run = {"loss_fn": loss_fn, "seed": seed, "device": device, "progress": False}
    with _flags_restored(model):
        head_only = layerwise_param_groups(model, probe_lr, layers=names, freeze=len(names) - 1, verbose=False)
        probe = fit(model, _build(optimizer, head_only), data, steps=probe_steps, **run)
        every_layer = layerwise_param_groups(model, lr, decay=1.0, layers=names, verbose=False)
        tuned = fit(model, _build(optimizer, every_layer), data, steps=tune_steps, **run)
    return probe, tuned
