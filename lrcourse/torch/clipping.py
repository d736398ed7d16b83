r"""Gradient clipping on torch parameters: by global norm and by value, as readable as the NumPy version.

The same two rules as :mod:`lrcourse.clipping`, applied in place to the ``.grad`` of
torch parameters, between ``loss.backward()`` and ``optimizer.step()``::

    loss.backward()
    norm = clip_grad_norm(model.parameters(), max_norm=1.0)
    tracker.record(norm)          # a lrcourse.clipping.GradNormTracker
    optimizer.step()

:func:`~lrcourse.torch.clip_grad_norm` gives the numbers of ``torch.nn.utils.clip_grad_norm_``
and :func:`~lrcourse.torch.clip_grad_value` those of ``torch.nn.utils.clip_grad_value_`` (the tests compare
them), with one difference on purpose: a NaN or infinite gradient raises
``FloatingPointError`` instead of being scaled (torch, by default, multiplies every
gradient by ``max_norm / inf = 0`` and so turns an overflow into zeros and NaN).

The arguments are checked where torch's are not: ``max_norm`` and ``clip_value`` must
be numbers > 0 (torch takes a negative ``max_norm`` and flips every gradient's sign),
``norm_type`` a number > 0 or ``inf`` (torch passes any number to
``torch.linalg.vector_norm``, where 0 counts the non-zero entries and a negative
:math:`p` is no norm at all).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from lrcourse.validation import check, flag, nonfinite_error, real

__all__ = ["clip_grad_norm", "clip_grad_value", "grad_norm"]

Parameters = torch.Tensor | Iterable[torch.Tensor]


def _grads(parameters: Parameters) -> list[torch.Tensor]:
    is_tensors = isinstance(parameters, Iterable) and not hasattr(parameters, "__array__")
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters) if is_tensors else None
    check(params is not None and all(isinstance(p, torch.Tensor) for p in params), "parameters",
          "a tensor or an iterable of tensors (model.parameters())", parameters, TypeError)
    return [p.grad for p in params if p.grad is not None]


def _norm_type(norm_type: float | str) -> float:
    """``norm_type`` as a float: a number > 0, or ``inf`` (also the string ``'inf'``, which torch documents)."""
    norm_type = math.inf if isinstance(norm_type, str) and norm_type == "inf" else norm_type
    return real("norm_type", norm_type, low=0.0, low_open=True, finite=False)


def grad_norm(parameters: Parameters, norm_type: float = 2.0) -> torch.Tensor:
    r"""Return the norm of all gradients together: :math:`\lVert (\lVert g_1 \rVert_p, \dots) \rVert_p`.

    For :math:`p = 2` (``norm_type``) that is :math:`\sqrt{\sum_i \lVert g_i\rVert^2}`, the
    norm of every gradient entry as one vector. Parameters without a gradient are
    skipped; with none at all the norm is 0. Nothing is modified. ``norm_type`` is a
    number > 0 or ``inf`` (torch also takes 0 and negative numbers, which give no norm).

    >>> w = torch.zeros(2, requires_grad=True)
    >>> w.grad = torch.tensor([3.0, 4.0])
    >>> grad_norm([w])
    tensor(5.)
    """
    return _total_norm(_grads(parameters), _norm_type(norm_type))


def _total_norm(grads: list[torch.Tensor], norm_type: float) -> torch.Tensor:
    if not grads:
        return torch.tensor(0.0)
    norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]  # one per tensor, then the norm of those
    return torch.linalg.vector_norm(torch.stack([n.to(grads[0].device) for n in norms]), norm_type)


@torch.no_grad()
def clip_grad_norm(parameters: Parameters, max_norm: float, norm_type: float = 2.0, *,
                   error_if_nonfinite: bool = True) -> torch.Tensor:
    r"""Rescale the gradients in place so that their global norm is at most ``max_norm``.

    .. math::

        g_i \leftarrow g_i \cdot \min\!\left(1,\ \frac{c}{\lVert g \rVert + 10^{-6}}\right)

    :math:`\lVert g \rVert` is :func:`grad_norm` (``norm_type``, 2 by default; ``inf``
    for the largest entry), :math:`c` is ``max_norm``; the formula and the
    :math:`10^{-6}` are those of :func:`lrcourse.clipping.clip_by_global_norm` and of
    ``torch.nn.utils.clip_grad_norm_``. Returns the norm *before* clipping, a
    0-dimensional tensor, as torch does. A NaN or infinite norm raises
    ``FloatingPointError``; with ``error_if_nonfinite=False`` it is returned and the
    gradients are left as they are (torch's function would rescale them by 0).
    Checking the norm reads it on the host: one synchronisation per step on a GPU.
    ``max_norm`` is a number > 0 (a NumPy scalar or 0-d array too; ``inf`` clips
    nothing, torch's way of only measuring the norm), ``norm_type`` a number > 0 or
    ``inf``: stricter than torch, which takes any number for both.

    References:
        Pascanu, R., Mikolov, T. and Bengio, Y. (2013). On the difficulty of training
        recurrent neural networks. ICML.

    >>> w = torch.zeros(2, requires_grad=True)
    >>> w.grad = torch.tensor([3.0, 4.0])
    >>> clip_grad_norm([w], max_norm=1.0), w.grad
    (tensor(5.), tensor([0.6000, 0.8000]))
    """
    max_norm = real("max_norm", max_norm, low=0.0, low_open=True, finite=False)
    norm_type = _norm_type(norm_type)
    error_if_nonfinite = flag("error_if_nonfinite", error_if_nonfinite)
    grads = _grads(parameters)  # a list: parameters may be a generator, read once
    norm = _total_norm(grads, norm_type)
    if not torch.isfinite(norm):
        if error_if_nonfinite:
            raise nonfinite_error(float(norm), f"{norm_type:g}-norm")
        return norm
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale.to(g.device))
    return norm


@torch.no_grad()
def clip_grad_value(parameters: Parameters, clip_value: float, *, error_if_nonfinite: bool = True) -> None:
    r"""Clamp every gradient entry in place to :math:`[-c, c]` (``clip_value`` is :math:`c`).

    The values of ``torch.nn.utils.clip_grad_value_`` and of
    :func:`lrcourse.clipping.clip_by_value`; a NaN or infinite entry raises
    ``FloatingPointError`` unless ``error_if_nonfinite=False``. ``clip_value`` is a
    number > 0 (torch also takes 0 and negative ones).

    >>> w = torch.zeros(3, requires_grad=True)
    >>> w.grad = torch.tensor([10.0, -0.5, -3.0])
    >>> clip_grad_value([w], 1.0)
    >>> w.grad
    tensor([ 1.0000, -0.5000, -1.0000])
    """
    clip_value = real("clip_value", clip_value, low=0.0, low_open=True, finite=False)
    error_if_nonfinite = flag("error_if_nonfinite", error_if_nonfinite)
    grads = _grads(parameters)
    if error_if_nonfinite and not all(bool(torch.isfinite(g).all()) for g in grads):
        raise nonfinite_error(float(_total_norm(grads, 2.0)), "norm (some entries are NaN or inf)")
    for g in grads:
        g.clamp_(-clip_value, clip_value)
