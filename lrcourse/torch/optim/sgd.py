"""SGD with momentum as a ``torch.optim.Optimizer`` subclass, the update as one readable loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

import lrcourse.numpy as lnp
from lrcourse.torch.optim._base import Impl, Optimizer

__all__ = ["SGD", "sgd"]


def sgd(
    params: list[Tensor],
    grads: list[Tensor],
    momentum_buffers: list[Tensor | None],
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
) -> None:
    r"""Apply one SGD update in place to each tensor of ``params``.

    This is :class:`lrcourse.numpy.SGD`'s formula in place. ``momentum_buffers[i]``
    is the buffer :math:`m` of ``params[i]``, ``None`` before its first update: then
    the buffer starts as a copy of the gradient and is stored into the list.
    """
    for i, theta in enumerate(params):
        g = grads[i]
        if weight_decay != 0:
            g = g.add(theta, alpha=weight_decay)  # g ← g + λθ
        if momentum != 0:
            b = momentum_buffers[i]
            if b is None:
                b = momentum_buffers[i] = g.clone()  # m₁ = g₁ (b is the buffer m)
            else:
                b.mul_(momentum).add_(g, alpha=1 - dampening)  # m ← β m + (1 − τ) g, β = momentum
            g = g.add(b, alpha=momentum) if nesterov else b  # d = g + β m, or m
        theta.add_(g, alpha=-lr)  # θ ← θ − α d


class SGD(Optimizer):
    r"""SGD with heavy-ball or Nesterov momentum on torch tensors, the update being :func:`~lrcourse.torch.optim.sgd`.

    The formula, its symbols and its references are those of
    :class:`lrcourse.numpy.SGD`; arguments, defaults and state (``momentum_buffer``)
    are those of ``torch.optim.SGD``. ``impl="loop"`` runs :func:`~lrcourse.torch.optim.sgd` eagerly,
    ``impl="compiled"`` through ``torch.compile``. The hyperparameters, of every param
    group, follow :meth:`lrcourse.numpy.SGD.check_hyperparameters`: stricter than
    ``torch.optim.SGD``, which accepts inf, NaN, bools and any value for ``nesterov``.

    >>> import torch
    >>> from lrcourse.torch import SGD
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(3):  # a constant gradient: the steps grow, 0.1, 0.19, 0.271
    ...     w.grad = torch.ones(1)
    ...     opt.step()
    >>> w.detach()
    tensor([0.4390])
    """

    update = staticmethod(sgd)
    check_hyperparameters = staticmethod(lnp.SGD.check_hyperparameters)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        impl: Impl = "loop",
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults, impl)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        # Complex params need no view as reals: the update is linear in g, as in torch.optim.SGD
        self._apply(self._update, group, params)

    def _update_sparse(self, group: dict[str, Any], params: list[Tensor]) -> None:
        # As torch.optim.SGD: the same formula on sparse gradients, eagerly (sparse tensors do not compile)
        self._apply(type(self).update, group, params)

    def _apply(self, update: Callable[..., None], group: dict[str, Any], params: list[Tensor]) -> None:
        buffers = [self.state[p].get("momentum_buffer") for p in params]
        update(
            params,
            [p.grad for p in params],
            buffers,
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
        )
        if group["momentum"] != 0:
            for p, buffer in zip(params, buffers):
                self.state[p]["momentum_buffer"] = buffer
