"""AdaGrad as a ``torch.optim.Optimizer`` subclass, the update as one readable loop."""

from __future__ import annotations

from typing import Any

from torch import Tensor

import lrcourse.numpy as lnp
from lrcourse.torch.optim._base import Impl, Optimizer, as_real

__all__ = ["Adagrad", "adagrad", "adagrad_sparse"]


def adagrad(
    params: list[Tensor],
    grads: list[Tensor],
    state_sums: list[Tensor],
    steps: list[float],
    *,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
) -> None:
    r"""Apply one AdaGrad update in place to each tensor of ``params``.

    This is :class:`lrcourse.numpy.Adagrad`'s formula in place: ``state_sums[i]`` is
    the sum of squares :math:`s` of ``params[i]``, ``steps[i]`` its update number
    :math:`t` (from 1).
    """
    for i, theta in enumerate(params):
        g, s, t = grads[i], state_sums[i], steps[i]
        if weight_decay != 0:
            g = g.add(theta, alpha=weight_decay)  # g ← g + λθ
        s.addcmul_(g, g)  # s ← s + g²
        step_size = lr / (1 + (t - 1) * lr_decay)  # α / (1 + (t − 1) η)
        theta.sub_(step_size * g / (s.sqrt() + eps))  # θ ← θ − α_t g / (√s + ε)


def adagrad_sparse(
    params: list[Tensor],
    grads: list[Tensor],
    state_sums: list[Tensor],
    steps: list[float],
    *,
    lr: float,
    lr_decay: float,
    eps: float,
) -> None:
    r"""Apply :func:`adagrad`'s update to the entries that sparse gradients list, as ``torch.optim.Adagrad`` does.

    A sparse gradient (``nn.Embedding(sparse=True)`` makes one) lists the rows a batch
    used. Elsewhere :math:`g = 0`, which leaves :math:`s` and :math:`\theta` as they are,
    so only the listed entries are read and written (and, unlike the dense update,
    an entry with :math:`s = 0` and :math:`\epsilon = 0` is left alone rather than
    made 0 / 0). No weight decay: it would move every row.
    """
    for i, theta in enumerate(params):
        g, s, t = grads[i].coalesce(), state_sums[i], steps[i]  # coalesce: a repeated row's g summed first
        rows, g_rows = tuple(g.indices()), g.values()  # the entries g lists, and their values
        step_size = lr / (1 + (t - 1) * lr_decay)  # α / (1 + (t − 1) η)
        s.index_put_(rows, g_rows * g_rows, accumulate=True)  # s ← s + g² there
        r = s[rows].sqrt().add_(eps)  # √s + ε there
        theta.index_put_(rows, g_rows / r * -step_size, accumulate=True)  # θ ← θ − α_t g / (√s + ε) there


class Adagrad(Optimizer):
    r"""AdaGrad on torch tensors, the update being :func:`~lrcourse.torch.optim.adagrad`.

    The formula, its symbols and its references are those of
    :class:`lrcourse.numpy.Adagrad`; arguments, defaults and state (``step``, ``sum``)
    are those of ``torch.optim.Adagrad``. ``impl="loop"`` runs :func:`~lrcourse.torch.optim.adagrad`
    eagerly, ``impl="compiled"`` through ``torch.compile``. The hyperparameters, of every
    param group, follow :meth:`lrcourse.numpy.Adagrad.check_hyperparameters`: stricter
    than ``torch.optim.Adagrad``, which accepts inf, NaN and bools.

    One difference: a param group's own ``initial_accumulator_value`` is honoured.
    ``torch.optim.Adagrad`` fills every group's ``sum`` with the constructor's value
    and ignores the group's; here, as for every other hyperparameter, the group's
    value wins (and the state is created at the first step, not in the constructor).

    Sparse gradients (``nn.Embedding(sparse=True)``) are updated as in
    ``torch.optim.Adagrad``, by ``adagrad_sparse`` on the entries they list, eagerly
    whatever ``impl``; like torch, weight decay with them is a RuntimeError. A sparse
    gradient of a complex parameter is refused too (torch would square the complex
    values instead of treating them as pairs of reals).

    >>> import torch
    >>> from lrcourse.torch import Adagrad
    >>> w = torch.zeros(2, requires_grad=True)
    >>> opt = Adagrad([w], lr=1.0)
    >>> for _ in range(4):  # steps 1, 1/sqrt(2), 1/sqrt(3), 1/2 whatever the gradient's size
    ...     w.grad = torch.tensor([3.0, -0.01])
    ...     opt.step()
    >>> w.detach()
    tensor([-2.7845,  2.7845])
    """

    update = staticmethod(adagrad)
    check_hyperparameters = staticmethod(lnp.Adagrad.check_hyperparameters)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        impl: Impl = "loop",
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults, impl)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        states = self._counted_states(params, sum=group["initial_accumulator_value"])
        self._update(
            # a complex tensor as its pair of reals, as torch.optim.Adagrad sees it
            *as_real(params, [p.grad for p in params], [state["sum"] for state in states]),
            [int(state["step"].item()) for state in states],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
        )

    def _update_sparse(self, group: dict[str, Any], params: list[Tensor]) -> None:
        """Update the params whose gradient is sparse with :func:`adagrad_sparse`, eagerly, as torch.optim.Adagrad."""
        if group["weight_decay"] != 0:  # torch.optim.Adagrad's error
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        if any(p.is_complex() for p in params):  # torch would square each complex value: refused here
            raise RuntimeError("Adagrad does not support sparse gradients of complex parameters")
        states = self._counted_states(params, sum=group["initial_accumulator_value"])
        adagrad_sparse(
            params,
            [p.grad for p in params],
            [state["sum"] for state in states],
            [int(state["step"].item()) for state in states],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            eps=group["eps"],
        )
