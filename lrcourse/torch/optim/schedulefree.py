r"""Schedule-free SGD and AdamW as ``torch.optim.Optimizer`` subclasses, with ``train()`` and ``eval()``.

The maths, its symbols (the sequences :math:`z`, :math:`x`, :math:`y`) and the
references are those of :mod:`lrcourse.numpy.schedulefree`. The parameters hold
:math:`y` in training mode and :math:`x` in evaluation mode: call ``optimizer.train()``
before training (the optimizer starts in evaluation mode and refuses a step there) and
``optimizer.eval()`` before evaluating, saving a checkpoint or ending, as the
``schedulefree`` package asks. A model with BatchNorm needs its running statistics
recomputed at :math:`x` (a few training batches in ``model.train()`` mode under
``torch.no_grad()``) after ``optimizer.eval()``: they were gathered at :math:`y`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

import lrcourse.numpy as lnp
from lrcourse.numpy.schedulefree import averaging_weight
from lrcourse.torch.optim._base import Impl, Optimizer, as_real

__all__ = ["SGDScheduleFree", "AdamWScheduleFree", "sgd_schedule_free", "adamw_schedule_free"]

# What the package keeps in every param group besides the hyperparameters, with its starting values.
_GROUP_STATE = dict(k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0)


def move_y_and_z(y: Tensor, z: Tensor, d: Tensor, *, lr: float, beta: float, c: float) -> None:
    r"""Step :math:`y \leftarrow (1 - c) y + c z - \alpha (1 - \beta (1 - c)) d` and :math:`z \leftarrow z - \alpha d` in place.

    Eagerly with the package's operations (``lerp_``, then ``add_`` and ``sub_`` with
    ``alpha``), so the params are bitwise the package's. Under ``torch.compile`` the
    same lines as plain arithmetic: a Python number given as ``lerp_``'s weight is
    guarded by its value, which recompiled the update at every step (:math:`c_t`
    changes every step), where a number in arithmetic becomes an input of the graph.
    """
    if torch.compiler.is_compiling():
        y.add_(c * (z - y)).sub_(lr * (1 - beta * (1 - c)) * d)
        z.sub_(lr * d)
    else:
        y.lerp_(z, c)  # y ← (1 − c) y + c z
        y.add_(d, alpha=-lr * (1 - beta * (1 - c)))  # y ← y − α (1 − β (1 − c)) d
        z.sub_(d, alpha=lr)  # z ← z − α d


def sgd_schedule_free(ys: list[Tensor], grads: list[Tensor], zs: list[Tensor], *, lr: float, momentum: float,
                      weight_decay: float, c: float) -> None:
    r"""Apply one schedule-free SGD update in place to each tensor :math:`y` of ``ys``, and to its :math:`z`.

    :math:`d = g + \lambda y`; :math:`y \leftarrow (1 - c) y + c z - \alpha (1 - \beta(1 - c)) d`;
    :math:`z \leftarrow z - \alpha d` (see :class:`lrcourse.numpy.SGDScheduleFree`).
    ``grads`` are left as they are.
    """
    for y, g, z in zip(ys, grads, zs):
        d = g.add(y, alpha=weight_decay) if weight_decay != 0 else g  # d = g + λ y, at y
        move_y_and_z(y, z, d, lr=lr, beta=momentum, c=c)


def adamw_schedule_free(ys: list[Tensor], grads: list[Tensor], zs: list[Tensor], exp_avg_sqs: list[Tensor], *,
                        lr: float, beta1: float, beta2: float, eps: float, weight_decay: float, c: float,
                        bias_correction2: float) -> None:
    r"""Apply one schedule-free AdamW update in place to each tensor :math:`y` of ``ys``, its :math:`z` and :math:`v`.

    :math:`v \leftarrow \beta_2 v + (1 - \beta_2) g^2`;
    :math:`d = g / (\sqrt{v / (1 - \beta_2^t)} + \epsilon) + \lambda y`; then :math:`y` and
    :math:`z` as in :func:`sgd_schedule_free` with :math:`\beta = \beta_1`
    (see :class:`lrcourse.numpy.AdamWScheduleFree`). ``bias_correction2`` is
    :math:`1 - \beta_2^t`. ``grads`` are left as they are.
    """
    for y, g, z, v in zip(ys, grads, zs, exp_avg_sqs):
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v ← β₂ v + (1 − β₂) g²
        d = g / (v.div(bias_correction2).sqrt_().add_(eps))  # g / (√v̂ + ε)
        if weight_decay != 0:
            d.add_(y, alpha=weight_decay)  # + λ y, at y
        move_y_and_z(y, z, d, lr=lr, beta=beta1, c=c)


class _ScheduleFree(Optimizer):
    """What the two share: the group's averaging weights, ``train``, ``eval`` and the step."""

    def _interpolation(self, group: dict[str, Any]) -> float:
        raise NotImplementedError

    def _buffers(self) -> tuple[str, ...]:
        return ("z",)

    @torch.no_grad()
    def eval(self) -> None:
        r"""Set every parameter to the average :math:`x = y + (1/\beta - 1)(y - z)`; nothing to do if in evaluation mode."""
        self._switch(train=False)

    @torch.no_grad()
    def train(self) -> None:
        r"""Set every parameter to :math:`y = \beta x + (1 - \beta) z`, where gradients are taken; nothing if training."""
        self._switch(train=True)

    def _switch(self, *, train: bool) -> None:
        for group in self.param_groups:
            if group["train_mode"] == train:
                continue
            beta = self._interpolation(group)
            weight = 1 - beta if train else 1 - 1 / beta  # the lerp towards z that gives y, or x
            for p in group["params"]:
                state = self.state[p]
                if "z" in state:  # a parameter not yet updated is x = y = z already
                    p.lerp_(state["z"].to(p.device), weight)
            group["train_mode"] = train

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Apply one update at :math:`y` to every parameter that has a gradient; return ``closure()`` if given.

        Refused with a ``RuntimeError`` unless every param group is in training mode
        (the package checks only the first group, so a group added later and never
        put in training mode would be skipped by ``eval()``).
        """
        if not all(group["train_mode"] for group in self.param_groups):
            raise RuntimeError(f"{type(self).__name__} is not in training mode: call optimizer.train() before "
                               "step() and optimizer.eval() before evaluating, as with the schedulefree package")
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            k, warmup = group["k"], group["warmup_steps"]
            lr = float(group["lr"]) * ((k + 1) / warmup if k < warmup else 1.0)  # α_t = α min(1, t / W)
            group["scheduled_lr"] = lr
            group["lr_max"] = max(lr, group["lr_max"])
            c, group["weight_sum"] = averaging_weight(k + 1, group["lr_max"], group["weight_sum"], r=group["r"],
                                                      weight_lr_power=group["weight_lr_power"])
            params = [p for p in group["params"] if p.grad is not None]
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            for p in params:
                state = self.state[p]
                if "z" not in state:  # z₀ = θ₀, the package's lazy start
                    state["z"] = torch.clone(p, memory_format=torch.preserve_format).detach()
                    for name in self._buffers()[1:]:
                        state[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if params:
                self._update_group(group, params, lr=lr, c=c)
            group["k"] = k + 1
        return loss

    def _update_group(self, group: dict[str, Any], params: list[Tensor], **scalars: float) -> None:  # type: ignore[override]
        raise NotImplementedError


class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-free SGD on torch tensors, the update being :func:`sgd_schedule_free`.

    The formula, its symbols and references are those of
    :class:`lrcourse.numpy.SGDScheduleFree`; arguments, defaults, ``train()``/``eval()``
    and the state (``z`` per parameter; ``k``, ``train_mode``, ``weight_sum``,
    ``lr_max``, ``scheduled_lr`` per group) are those of the ``schedulefree``
    package's ``SGDScheduleFree``, so a ``state_dict`` loads in either direction. Its
    ``foreach`` is our ``impl`` (``"loop"`` or ``"compiled"``). Unlike the package,
    ``p.grad`` is not overwritten, and the hyperparameters of every group are checked
    by :meth:`lrcourse.numpy.SGDScheduleFree.check_hyperparameters`.

    >>> import torch
    >>> from lrcourse.torch import SGDScheduleFree
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = SGDScheduleFree([w], lr=0.1)
    >>> opt.train()
    >>> for _ in range(2):  # a constant gradient of 1: z goes 0.9, 0.8; x = their mean
    ...     w.grad = torch.ones(1)
    ...     opt.step()
    >>> round(w.item(), 6)  # y = 0.1 z + 0.9 x
    0.845
    >>> opt.eval()
    >>> round(w.item(), 6)
    0.85
    """

    update = staticmethod(sgd_schedule_free)
    check_hyperparameters = staticmethod(lnp.SGDScheduleFree.check_hyperparameters)

    def __init__(self, params: Any, lr: float = 1.0, momentum: float = 0.9, weight_decay: float = 0.0,
                 warmup_steps: int = 0, r: float = 0.0, weight_lr_power: float = 2.0, *, impl: Impl = "loop") -> None:
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, warmup_steps=warmup_steps, r=r,
                        weight_lr_power=weight_lr_power, **_GROUP_STATE)
        super().__init__(params, defaults, impl)

    def _interpolation(self, group: dict[str, Any]) -> float:
        return group["momentum"]

    def _update_group(self, group: dict[str, Any], params: list[Tensor], **scalars: float) -> None:  # type: ignore[override]
        self._update(params, [p.grad for p in params], [self.state[p]["z"] for p in params],
                     momentum=group["momentum"], weight_decay=group["weight_decay"], **scalars)


class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-free AdamW on torch tensors, the update being :func:`adamw_schedule_free`.

    The formula, its symbols and references are those of
    :class:`lrcourse.numpy.AdamWScheduleFree`; arguments, defaults, ``train()``/``eval()``
    and the state (``z`` and ``exp_avg_sq`` per parameter, the group's sums) are those
    of the ``schedulefree`` package's ``AdamWScheduleFree``, so a ``state_dict`` loads
    in either direction. ``impl`` as in :class:`SGDScheduleFree`; ``p.grad`` is not
    overwritten. A complex parameter is trained as its pair of reals, as
    ``torch.optim.Adam`` does.

    >>> import torch
    >>> from lrcourse.torch import AdamWScheduleFree
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = AdamWScheduleFree([w], lr=0.1)
    >>> opt.train()
    >>> w.grad = torch.tensor([0.5, -100.0])
    >>> opt.step()
    >>> w.detach()  # the first update moves each coordinate by lr, as Adam's does
    tensor([ 0.9000, -1.9000])
    """

    update = staticmethod(adamw_schedule_free)
    check_hyperparameters = staticmethod(lnp.AdamWScheduleFree.check_hyperparameters)

    def __init__(self, params: Any, lr: float = 0.0025, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0, weight_lr_power: float = 2.0, *,
                 impl: Impl = "loop") -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, warmup_steps=warmup_steps, r=r,
                        weight_lr_power=weight_lr_power, **_GROUP_STATE)
        super().__init__(params, defaults, impl)

    def _interpolation(self, group: dict[str, Any]) -> float:
        return group["betas"][0]

    def _buffers(self) -> tuple[str, ...]:
        return ("z", "exp_avg_sq")

    def _update_group(self, group: dict[str, Any], params: list[Tensor], **scalars: float) -> None:  # type: ignore[override]
        beta1, beta2 = group["betas"]
        states = [self.state[p] for p in params]
        self._update(*as_real(params, [p.grad for p in params], [s["z"] for s in states],
                              [s["exp_avg_sq"] for s in states]),
                     beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                     bias_correction2=1 - beta2 ** (group["k"] + 1), **scalars)
