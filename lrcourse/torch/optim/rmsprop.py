"""RMSprop as a ``torch.optim.Optimizer`` subclass, the update as one readable loop."""

from __future__ import annotations

from typing import Any

from torch import Tensor

import lrcourse.numpy as lnp
from lrcourse.torch.optim._base import Impl, Optimizer, as_real

__all__ = ["RMSprop", "rmsprop"]


def rmsprop(
    params: list[Tensor],
    grads: list[Tensor],
    square_avgs: list[Tensor],
    grad_avgs: list[Tensor],
    momentum_buffers: list[Tensor],
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
) -> None:
    r"""Apply one RMSprop update in place to each tensor of ``params``.

    This is :class:`lrcourse.numpy.RMSprop`'s formula in place, ``alpha`` being the
    decay rate :math:`\beta`: ``square_avgs[i]`` is :math:`v`, ``grad_avgs[i]`` is
    :math:`\bar g` (only when ``centered``; pass ``[]`` otherwise),
    ``momentum_buffers[i]`` is :math:`m` (only with momentum, whose coefficient
    ``momentum`` is :math:`\beta_m`).

    :math:`\bar g` and :math:`v - \bar g^2` are computed with torch.optim's own ops
    (``lerp_``, ``addcmul``), so that inf and NaN land where torch's do. On a CPU
    ``addcmul`` is one fused multiply-add: where :math:`v` has overflowed to inf and
    :math:`\bar g^2` would too, :math:`v - \bar g^2` stays inf (the step is 0) instead
    of becoming inf − inf = NaN.
    """
    for i, theta in enumerate(params):
        g, v = grads[i], square_avgs[i]
        if weight_decay != 0:
            g = g.add(theta, alpha=weight_decay)  # g ← g + λθ
        v.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # v ← β v + (1 − β) g²
        if centered:
            g_avg = grad_avgs[i].lerp_(g, 1 - alpha)  # ḡ ← β ḡ + (1 − β) g
            r = v.addcmul(g_avg, g_avg, value=-1).sqrt_().add_(eps)  # r = √(v − ḡ²) + ε
        else:
            r = v.sqrt().add_(eps)  # r = √v + ε
        if momentum != 0:
            b = momentum_buffers[i].mul_(momentum).add_(g / r)  # m ← β_m m + g / r (b is the buffer m)
            theta.sub_(lr * b)  # θ ← θ − α m
        else:
            theta.sub_(lr * g / r)  # θ ← θ − α g / r


class RMSprop(Optimizer):
    r"""RMSprop (plain, centered, with momentum) on torch tensors, the update being :func:`~lrcourse.torch.optim.rmsprop`.

    The formula, its symbols and its references are those of
    :class:`lrcourse.numpy.RMSprop`; arguments, defaults and state (``step``,
    ``square_avg``, ``grad_avg``, ``momentum_buffer``) are those of
    ``torch.optim.RMSprop``. ``impl="loop"`` runs :func:`~lrcourse.torch.optim.rmsprop` eagerly,
    ``impl="compiled"`` through ``torch.compile``. The hyperparameters, of every param
    group, follow :meth:`lrcourse.numpy.RMSprop.check_hyperparameters`: stricter than
    ``torch.optim.RMSprop``, which accepts inf, NaN, bools, ``alpha`` > 1 and any value
    for ``centered``.

    >>> import torch
    >>> from lrcourse.torch import RMSprop
    >>> w = torch.zeros(1, requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01)
    >>> w.grad = torch.tensor([4.0])
    >>> opt.step()
    >>> w.detach()  # the first step: 0.01 / sqrt(1 - 0.99)
    tensor([-0.1000])
    """

    update = staticmethod(rmsprop)
    check_hyperparameters = staticmethod(lnp.RMSprop.check_hyperparameters)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        impl: Impl = "loop",
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults, impl)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        optional = {"momentum_buffer": 0.0} if group["momentum"] != 0 else {}
        if group["centered"]:
            optional["grad_avg"] = 0.0
        # step is kept for torch's state layout; RMSprop's formula does not use t
        states = self._counted_states(params, square_avg=0.0, **optional)
        self._update(
            *as_real(  # a complex tensor as its pair of reals, as torch.optim.RMSprop sees it
                params,
                [p.grad for p in params],
                [state["square_avg"] for state in states],
                [state["grad_avg"] for state in states] if group["centered"] else [],
                [state["momentum_buffer"] for state in states] if group["momentum"] != 0 else [],
            ),
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            centered=group["centered"],
        )
