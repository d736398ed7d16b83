"""What every lrcourse torch optimizer shares: the step over param groups, loop or compiled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch

from lrcourse.torch.optim._compiled import compiled
from lrcourse.validation import check, real

__all__ = ["Optimizer", "as_real", "new_step"]

Impl = Literal["loop", "compiled"]


class Optimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose update is one readable function over a group's tensors.

    A subclass names that function in ``update`` (a plain function of lists of
    tensors and the hyperparameters, like torch's ``_single_tensor_adam``) and
    implements :meth:`_update_group`, which gathers the group's tensors and state and
    calls ``self._update``. With ``impl="loop"`` that is ``update`` itself, run
    eagerly one op at a time; with ``impl="compiled"`` it is the same function through
    ``torch.compile`` (see :mod:`lrcourse.torch.optim._compiled`). The state has the
    keys and layout of the matching ``torch.optim`` class, so ``state_dict`` loads in
    either direction.

    Two cases follow ``torch.optim``. A complex parameter is trained as its pair of
    reals (:func:`~lrcourse.torch.optim._base.as_real`), with complex state. A sparse
    gradient (from ``nn.Embedding(sparse=True)``) goes to :meth:`_update_sparse`: SGD
    and Adagrad update the entries it lists, eagerly; the others raise torch's
    RuntimeError "... does not support sparse gradients" before anything in the group
    changes.
    """

    update: Callable[..., None]
    check_hyperparameters: Callable[..., dict[str, Any]]
    """The rules of the hyperparameters, those of the NumPy twin: e.g. ``lrcourse.numpy.SGD.check_hyperparameters``."""

    def __init__(self, params: Any, defaults: dict[str, Any], impl: Impl = "loop") -> None:
        if impl not in ("loop", "compiled"):
            raise ValueError(f"impl must be 'loop' or 'compiled', got {impl!r}")
        self.check_hyperparameters(_lr_as_number(defaults), per_run=False)
        super().__init__(params, defaults)
        self.impl = impl
        update = type(self).update
        self._update = update if impl == "loop" else compiled(update)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group, its hyperparameters checked by the constructor's rules, and ``lr_scale`` >= 0.

        The constructor's groups come through here too. A group's own values (those it
        does not take from the defaults) are checked with the defaults, by the rules of
        the NumPy twin (for example ``nesterov`` against the group's ``momentum``); an
        error names the group. ``lr_scale``, the per-group factor that
        :class:`~lrcourse.torch.ScheduleLR` and the range test apply, must be a finite
        number >= 0. ``torch.optim`` checks none of these on ``add_param_group``.
        """
        if isinstance(param_group, dict):  # anything else gets torch's own error
            values = {name: param_group.get(name, default) for name, default in self.defaults.items()}
            try:
                self.check_hyperparameters(_lr_as_number(values), per_run=False)
                if "lr_scale" in param_group:
                    real("lr_scale", param_group["lr_scale"], low=0.0)
            except (TypeError, ValueError) as error:
                raise type(error)(f"param group {len(self.param_groups)}: {error}") from None
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Update every parameter that has a gradient; return ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss; it runs first, with
        gradients enabled.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            sparse = [p for p in params if p.grad.is_sparse]  # e.g. from nn.Embedding(sparse=True)
            if sparse:  # first, so that a refusal comes before anything in the group changes
                self._update_sparse(group, sparse)
            dense = [p for p in params if not p.grad.is_sparse]
            if dense:
                self._update_group(group, dense)
        return loss

    def _update_group(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        """Update ``params``, the tensors of ``group`` that have a gradient; each subclass implements it."""
        raise NotImplementedError

    def _update_sparse(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        """Update ``params``, the tensors of ``group`` whose gradient is sparse; by default refuse, as torch.optim does.

        A subclass that supports sparse gradients (SGD, Adagrad, as in ``torch.optim``)
        overrides this. Sparse tensors do not compile: it runs eagerly whatever ``impl``.
        """
        raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")

    def _counted_states(self, params: list[torch.Tensor], **buffers: float) -> list[dict[str, Any]]:
        """Return the state of each of ``params`` with its step counter advanced by one.

        A parameter seen for the first time gets torch's layout: ``step`` (see
        :func:`new_step`) and one buffer per keyword, shaped like the parameter and
        filled with the given value, e.g. ``exp_avg=0.0``. A complex parameter's
        buffers are complex, each real coordinate (see :func:`as_real`) starting at
        that value, as in ``torch.optim``.
        """
        states = [self.state[p] for p in params]
        for p, state in zip(params, states):
            if not state:
                state["step"] = new_step()
                for name, fill in buffers.items():
                    value = complex(fill, fill) if p.is_complex() else fill
                    state[name] = torch.full_like(p, value, memory_format=torch.preserve_format)
            state["step"] += 1
        return states


def as_real(*tensor_lists: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    r"""Return the lists with each complex tensor viewed as a real one, as ``torch.optim`` sees it.

    ``torch.view_as_real`` shows a complex tensor of shape ``s`` as a real tensor of
    shape ``(*s, 2)``, its real and imaginary parts, sharing its memory: an in-place
    update of the view updates the complex tensor. An update that is not linear in
    :math:`g` needs it. On complex numbers ``g * g`` would be the complex square
    :math:`g^2`, not the square of each part, and ``sqrt`` and ``maximum`` would not
    act part by part either. So a complex parameter is trained as its pair of reals,
    with its own :math:`v` and :math:`\sqrt{v}` for the real and for the imaginary
    part. Real tensors pass unchanged.

    >>> import torch
    >>> as_real([torch.tensor([3 + 4j]), torch.tensor([1.0])])
    [[tensor([[3., 4.]]), tensor([1.])]]
    """
    return [[torch.view_as_real(t) if t.is_complex() else t for t in tensors] for tensors in tensor_lists]


def _lr_as_number(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    # torch.optim accepts a 0-d float tensor lr (a captured graph reads it): its rules are a number's.
    lr = hyperparameters.get("lr")
    if not isinstance(lr, torch.Tensor):
        return hyperparameters
    check(lr.ndim == 0 and lr.is_floating_point(), "lr", "a number or a 0-d float tensor", lr, TypeError)
    return {**hyperparameters, "lr": lr.item()}


def new_step() -> torch.Tensor:
    """Return a step counter as ``torch.optim`` keeps it: a float scalar on the CPU.

    On the CPU, reading it (``.item()``) never waits for a GPU.
    """
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.tensor(0.0, dtype=dtype)
