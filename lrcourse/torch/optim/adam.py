"""Adam and AdamW as ``torch.optim.Optimizer`` subclasses, with the update as one readable loop."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

import lrcourse.numpy as lnp
from lrcourse.torch.optim._base import Impl, Optimizer, as_real

__all__ = ["Adam", "AdamW", "adam"]


def adam(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    max_exp_avg_sqs: list[Tensor],
    bias_corrections: list[tuple[float, float]],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled_weight_decay: bool,
) -> None:
    r"""Apply one Adam update in place to each tensor of ``params``.

    For each tensor :math:`\theta` with gradient :math:`g` and running means :math:`m`
    (``exp_avgs``) and :math:`v` (``exp_avg_sqs``), this is
    :class:`lrcourse.numpy.Adam`'s formula in place; ``max_exp_avg_sqs`` is used only
    with ``amsgrad`` (pass ``[]`` otherwise). ``bias_corrections[i]`` is the pair
    :math:`(1 - \beta_1^t, \sqrt{1 - \beta_2^t})` of the tensor's update number
    :math:`t`: scalars, computed by the caller once per tensor, so that a compiled
    step does not recompute a power and a root for every element.
    """
    for i, theta in enumerate(params):
        g, m, v = grads[i], exp_avgs[i], exp_avg_sqs[i]
        bias_correction1, bias_correction2_sqrt = bias_corrections[i]  # 1 − β₁ᵗ, √(1 − β₂ᵗ)
        if weight_decay != 0:
            if decoupled_weight_decay:
                theta.mul_(1 - lr * weight_decay)  # AdamW: θ ← (1 − αλ) θ
            else:
                g = g.add(theta, alpha=weight_decay)  # Adam: g ← g + λθ
        m.mul_(beta1).add_(g, alpha=1 - beta1)  # m ← β₁ m + (1 − β₁) g
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v ← β₂ v + (1 − β₂) g²
        if amsgrad:
            v = max_exp_avg_sqs[i].copy_(torch.maximum(max_exp_avg_sqs[i], v))  # v ← max(v_max, v)
        step_size = lr / bias_correction1  # α / (1 − β₁ᵗ)
        denom = v.sqrt() / bias_correction2_sqrt + eps  # √(v / (1 − β₂ᵗ)) + ε
        theta.sub_(step_size * m / denom)  # θ ← θ − α m̂ / (√v̂ + ε)


class Adam(Optimizer):
    r"""Adam (and AMSGrad) on torch tensors, the update being :func:`~lrcourse.torch.optim.adam`.

    The formula, its symbols and its references are those of
    :class:`lrcourse.numpy.Adam`; arguments, defaults and state (``step``,
    ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``) are those of ``torch.optim.Adam``.
    ``impl="loop"`` runs :func:`~lrcourse.torch.optim.adam` eagerly, ``impl="compiled"`` through
    ``torch.compile``. Any device (CPU, CUDA, MPS): the step counters stay on the CPU.
    The hyperparameters, of every param group, follow
    :meth:`lrcourse.numpy.Adam.check_hyperparameters`: stricter than ``torch.optim.Adam``,
    which accepts inf, NaN, bools, any value for a flag, and betas of any length.

    >>> import torch
    >>> from lrcourse.torch import Adam
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = torch.tensor([0.5, -100.0])
    >>> opt.step()
    >>> w.detach()  # each coordinate moves by lr, whatever its gradient
    tensor([ 0.9000, -1.9000])
    """

    update = staticmethod(adam)
    check_hyperparameters = staticmethod(lnp.Adam.check_hyperparameters)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
        impl: Impl = "loop",
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults, impl)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        maximum = {"max_exp_avg_sq": 0.0} if group["amsgrad"] else {}
        states = self._counted_states(params, exp_avg=0.0, exp_avg_sq=0.0, **maximum)
        beta1, beta2 = group["betas"]
        steps = [int(state["step"].item()) for state in states]  # t, the number of this update
        self._update(
            *as_real(  # a complex tensor as its pair of reals, as torch.optim.Adam sees it
                params,
                [p.grad for p in params],
                [state["exp_avg"] for state in states],
                [state["exp_avg_sq"] for state in states],
                [state["max_exp_avg_sq"] for state in states] if group["amsgrad"] else [],
            ),
            [(1 - beta1**t, (1 - beta2**t) ** 0.5) for t in steps],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            amsgrad=group["amsgrad"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )


class AdamW(Adam):
    r"""AdamW on torch tensors: :class:`Adam` with decoupled weight decay, default 0.01.

    The formula is :class:`lrcourse.numpy.AdamW`'s; arguments, defaults and state are
    those of ``torch.optim.AdamW``.

    >>> import torch
    >>> from lrcourse.torch import AdamW
    >>> w = torch.tensor([2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = torch.zeros(1)
    >>> opt.step()
    >>> w.detach()  # a zero gradient: only the decay, 2 * (1 - 0.1 * 0.5)
    tensor([1.9000])
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        impl: Impl = "loop",
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True, impl=impl)
