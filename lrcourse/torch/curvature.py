r"""The curvature of a torch model's loss: the sharpness, with or without Adam's preconditioner.

:func:`sharpness` is the largest eigenvalue of the Hessian :math:`H` of the loss at the
model's current weights, by power iteration on Hessian-vector products (double
backpropagation: :math:`H` is never formed). Gradient descent on a quadratic diverges for
:math:`\alpha > 2/L` with :math:`L = \lambda_{\max}(H)`; on a neural network, full-batch
gradient descent drives the sharpness up until it hovers at :math:`2/\alpha`, the edge of
stability (Cohen et al. 2021). With a preconditioner :math:`P`, it is the largest
eigenvalue of :math:`P^{-1} H`, the sharpness that governs an adaptive method's stability;
:func:`adam_preconditioner` reads Adam's :math:`P` from the optimizer's state (Cohen et al.
2022). :func:`top_hessian_eigenvalue`, the name chapters 1 and 4 use, is :func:`sharpness`
without a preconditioner: one implementation. :class:`SharpnessTracker` measures it along a
training run, each power iteration starting from the last one's top eigenvector (``init``
of :func:`sharpness`), so that a few products per measurement suffice.

References:
    Cohen, J. M., Kaur, S., Li, Y., Kolter, J. Z. and Talwalkar, A. (2021). Gradient descent on
    neural networks typically occurs at the edge of stability. ICLR.
    Cohen, J. M., Ghorbani, B., Krishnan, S., Agarwal, N., Medapati, S. et al. (2022). Adaptive
    gradient methods at the edge of stability. arXiv:2207.14484.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from lrcourse.torch.optim import Adam as _LrcourseAdam
from lrcourse.torch.runtime import Data, one_epoch
from lrcourse.validation import check, integer, real

__all__ = ["sharpness", "top_hessian_eigenvalue", "adam_preconditioner", "SharpnessTracker"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ADAMS = (torch.optim.Adam, torch.optim.AdamW, _LrcourseAdam)  # lrcourse's AdamW is a subclass of its Adam


def trainable(model: nn.Module) -> list[nn.Parameter]:
    """Return the parameters of ``model`` that require grad, in ``model.parameters()`` order; raise if none do."""
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"model must have parameters that require grad, got a {type(model).__name__} with none")
    return params


def sharpness(model: nn.Module, loss_fn: LossFn, data: Data, *, preconditioner: Sequence[torch.Tensor] | None = None,
              iters: int = 1000, tol: float = 1e-10, seed: int = 0,
              init: Sequence[torch.Tensor] | None = None) -> float:
    r"""Return the top eigenvalue of the loss's Hessian, or of :math:`P^{-1} H` with a preconditioner :math:`P`.

    .. math::

        u_{k+1} = \frac{A u_k}{\lVert A u_k \rVert}, \qquad \lambda_k = u_k^\top A u_k
        \;\to\; \lambda_{\max}(A), \qquad A = P^{-1/2} H P^{-1/2}

    :math:`H = \nabla^2_\theta J(\theta)` at the model's current parameters (those that
    require grad), for :math:`J` the loss ``loss_fn(model(x), y)`` on ``data``: a full
    batch ``(X, y)``, or an iterable of ``(x, y)`` batches whose losses are averaged with
    weights proportional to their lengths (so that, for a loss that is a mean over its
    batch, :math:`J` is the loss of all the data and the answer does not depend on how it
    is split). Each :math:`H v` is a Hessian-vector product by double backpropagation,
    :math:`H v = \nabla_\theta (\nabla_\theta J \cdot v)`; the graphs of every batch are
    kept for the iteration (the memory of one full-batch backward pass with its graph).

    Without ``preconditioner``, :math:`P = I` and this is the sharpness
    :math:`\lambda_{\max}(H)` (Cohen et al. 2021): gradient descent on a quadratic diverges
    for :math:`\alpha > 2/\lambda_{\max}(H)`. With ``preconditioner`` (a positive diagonal
    :math:`P`, given as one tensor per parameter that requires grad, in
    ``model.parameters()`` order, each of that parameter's shape; for Adam,
    :func:`adam_preconditioner`), it is the preconditioned sharpness
    :math:`\lambda_{\max}(P^{-1} H)` of Cohen et al. 2022, computed through the symmetric
    matrix :math:`A = P^{-1/2} H P^{-1/2}`, which has the same eigenvalues. The update
    :math:`\theta \leftarrow \theta - \alpha P^{-1} \nabla J` on a quadratic diverges for
    :math:`\alpha > 2/\lambda_{\max}(P^{-1} H)`; for Adam with momentum :math:`\beta_1`
    Cohen et al. 2022 derive the threshold :math:`(2 + 2\beta_1) / ((1 - \beta_1)\alpha)`,
    :math:`38/\alpha` for :math:`\beta_1 = 0.9`.

    The iteration starts from ``init`` (one tensor per parameter that requires grad, of its
    shape, not all zero; a vector of :math:`A`'s space, such as ``SharpnessTracker.vector``
    from an earlier measurement: a warm start) or, by default, from a random unit vector
    (seeded with ``seed``, from its own generator: torch's global random state is not
    touched), and stops when
    :math:`\lambda_k` changes by less than ``tol`` relatively, or after ``iters``
    products. Power iteration finds the eigenvalue of largest magnitude; when that one is
    negative (a non-convex loss, away from a minimum), a second iteration on
    :math:`A - \lambda I` finds the top one. The loss is computed with every module in
    eval mode (dropout off, batch norm on its running statistics: one fixed function of
    the weights); the weights, their ``.grad`` and each module's train/eval flag are left
    as they were.

    >>> X = torch.diag(torch.tensor([3.0, 1.0]))  # mean squared error: H = (2/n) XᵀX = diag(9, 1)
    >>> model = nn.Linear(2, 1, bias=False)
    >>> mse = lambda out, y: ((out.squeeze(-1) - y) ** 2).mean()
    >>> round(sharpness(model, mse, (X, torch.zeros(2))), 4)
    9.0
    >>> P = [torch.tensor([[9.0, 1.0]])]  # P⁻¹H = I
    >>> round(sharpness(model, mse, (X, torch.zeros(2)), preconditioner=P), 4)
    1.0

    References:
        Cohen, J. M., Kaur, S., Li, Y., Kolter, J. Z. and Talwalkar, A. (2021). Gradient descent on
        neural networks typically occurs at the edge of stability. ICLR.
        Cohen, J. M., Ghorbani, B., Krishnan, S., Agarwal, N., Medapati, S. et al. (2022). Adaptive
        gradient methods at the edge of stability. arXiv:2207.14484.
    """
    iters, tol, seed = integer("iters", iters, low=1), real("tol", tol, low=0.0), integer("seed", seed, low=0)
    return _top_eigenpair(model, loss_fn, data, preconditioner, iters, tol, seed, init)[0]


def _top_eigenpair(model: nn.Module, loss_fn: LossFn, data: Data, preconditioner: Sequence[torch.Tensor] | None,
                   iters: int, tol: float, seed: int, init: Sequence[torch.Tensor] | None
                   ) -> tuple[float, list[torch.Tensor], int]:
    """Return the top eigenvalue of A, an eigenvector of it (not normalised) and the number of products used."""
    params = trainable(model)
    check(callable(loss_fn), "loss_fn", "a function loss_fn(output, target) -> scalar tensor", loss_fn, TypeError)
    scales = None if preconditioner is None else _inverse_sqrt(preconditioner, params)
    start = None if init is None else _start(init, params)
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        batches = list(one_epoch(data, params[0].device))
        sizes = [len(x) for x, _ in batches]
        grads = None
        for (x, y), size in zip(batches, sizes):
            loss = loss_fn(model(x), y)
            check(isinstance(loss, torch.Tensor) and loss.numel() == 1 and loss.requires_grad, "loss_fn",
                  "a function whose loss is a scalar tensor computed with autograd", loss, TypeError)
            batch_grads = torch.autograd.grad(loss, params, create_graph=True)
            if len(batches) > 1:
                batch_grads = tuple(g * (size / sum(sizes)) for g in batch_grads)
            grads = batch_grads if grads is None else tuple(a + b for a, b in zip(grads, batch_grads))

        def product(u: list[torch.Tensor]) -> list[torch.Tensor]:
            """A u = P^{-1/2} H P^{-1/2} u."""
            v = u if scales is None else [s * w for s, w in zip(scales, u)]
            hv = torch.autograd.grad(sum((g * w).sum() for g, w in zip(grads, v)), params, retain_graph=True)
            return [h.detach() for h in hv] if scales is None else [s * h.detach() for s, h in zip(scales, hv)]

        if start is None:
            generator = torch.Generator(device="cpu").manual_seed(seed)
            start = [torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device) for p in params]
        eigenvalue, vector, count = _power_iteration(product, start, iters, tol)
        if eigenvalue < 0:  # the most negative eigenvalue: shift the spectrum to find the top one
            shifted, vector, more = _power_iteration(lambda u: [a - eigenvalue * w for a, w in zip(product(u), u)],
                                                     vector, iters, tol)
            eigenvalue, count = shifted + eigenvalue, count + more
        return eigenvalue, vector, count
    finally:
        for m, training in modes:
            m.training = training


def _power_iteration(product: Callable[[list[torch.Tensor]], list[torch.Tensor]], v: list[torch.Tensor],
                     iters: int, tol: float) -> tuple[float, list[torch.Tensor], int]:
    eigenvalue, count = math.nan, 0
    for count in range(1, iters + 1):
        norm = torch.sqrt(sum((u * u).sum() for u in v))
        v = [u / norm for u in v]
        av = product(v)
        new = float(sum((a * u).sum() for a, u in zip(av, v)))  # the Rayleigh quotient uᵀAu
        converged = abs(new - eigenvalue) <= tol * abs(new)
        eigenvalue, v = new, av
        if converged:
            break
    return eigenvalue, v, count


def _per_parameter(value: Sequence[torch.Tensor], params: list[nn.Parameter], allowed: str, entry: str,
                   bad_entry: Callable[[torch.Tensor], bool]) -> list[torch.Tensor]:
    """Check that ``value`` holds one real tensor of each parameter's shape, none with a ``bad_entry``.

    ``allowed`` says what the argument must be, ``entry`` what each entry must be; the tensors come back
    detached, on each parameter's device and in its dtype.
    """
    if not (isinstance(value, Sequence) and not isinstance(value, str)
            and all(isinstance(u, torch.Tensor) for u in value)):
        raise TypeError(f"{allowed} a {type(value).__name__}"
                        + (" of something else than tensors" if isinstance(value, Sequence) else ""))
    if len(value) != len(params):
        raise ValueError(f"{allowed} {len(value)} tensor{'s' if len(value) != 1 else ''}")
    for i, (u, p) in enumerate(zip(value, params)):
        if u.shape != p.shape:
            raise ValueError(f"{allowed} a tensor of shape {tuple(u.shape)} for parameter {i}, of shape "
                             f"{tuple(p.shape)}")
        if u.is_complex() or bad_entry(u):
            raise ValueError(f"{allowed} a tensor for parameter {i} with an entry that is not {entry}")
    return [u.detach().to(device=p.device, dtype=p.dtype) for u, p in zip(value, params)]


def _inverse_sqrt(preconditioner: Sequence[torch.Tensor], params: list[nn.Parameter]) -> list[torch.Tensor]:
    allowed = (f"preconditioner must be a sequence of {len(params)} positive finite tensors, one per parameter that "
               "requires grad, each of its parameter's shape, got")
    checked = _per_parameter(preconditioner, params, allowed, "a positive finite number",
                             lambda d: not bool(torch.isfinite(d).all() and (d > 0).all()))
    return [d.rsqrt() for d in checked]


def _start(init: Sequence[torch.Tensor], params: list[nn.Parameter]) -> list[torch.Tensor]:
    allowed = (f"init must be a sequence of {len(params)} finite tensors, one per parameter that requires grad, each "
               "of its parameter's shape, not all zero, got")
    checked = _per_parameter(init, params, allowed, "a finite real number",
                             lambda u: not bool(torch.isfinite(u).all()))
    if not any(bool((u != 0).any()) for u in init):
        raise ValueError(f"{allowed} a vector of zeros")
    return checked


def top_hessian_eigenvalue(model: nn.Module, loss_fn: LossFn, data: Data, *, iters: int = 1000,
                           tol: float = 1e-10, seed: int = 0) -> float:
    r"""Return the largest eigenvalue :math:`L` of the Hessian of the full-batch loss, by power iteration.

    .. math::

        v_{k+1} = \frac{H v_k}{\lVert H v_k \rVert}, \qquad \lambda_k = v_k^\top H v_k
        \;\to\; \lambda_{\max}(H) = L

    :math:`H = \nabla^2_\theta J(\theta)` at the model's current parameters, for
    :math:`J` = ``loss_fn(model(X), y)`` on ``data = (X, y)``. Each :math:`H v` is a
    Hessian-vector product by double backpropagation,
    :math:`H v = \nabla_\theta (\nabla_\theta J \cdot v)`, so :math:`H` is never
    formed. The iteration starts from a random unit vector (seeded with ``seed``) and
    stops when :math:`\lambda_k` changes by less than ``tol`` relatively, or after
    ``iters`` products. For a convex loss (least squares, softmax regression) the top
    eigenvalue is :math:`L`, and gradient descent near :math:`\theta` diverges for
    :math:`\alpha > 2/L`. This is :func:`sharpness` without a preconditioner, which
    documents the rest (batches, modes, a negative eigenvalue).

    >>> X = torch.diag(torch.tensor([3.0, 1.0]))  # mean squared error: H = (2/n) XᵀX = diag(9, 1)
    >>> model = nn.Linear(2, 1, bias=False)
    >>> mse = lambda out, y: ((out.squeeze(-1) - y) ** 2).mean()
    >>> round(top_hessian_eigenvalue(model, mse, (X, torch.zeros(2))), 4)
    9.0
    """
    return sharpness(model, loss_fn, data, iters=iters, tol=tol, seed=seed)


def adam_preconditioner(optimizer: torch.optim.Optimizer, model: nn.Module) -> list[torch.Tensor]:
    r"""Return Adam's diagonal preconditioner :math:`P = \sqrt{\hat v_t} + \epsilon` for each trainable parameter.

    .. math::

        P = \sqrt{\hat v_t} + \epsilon, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t}

    read from the state of ``optimizer`` after its :math:`t`-th step (``step``, and
    ``exp_avg_sq`` :math:`= v_t`, or ``max_exp_avg_sq`` with ``amsgrad``; :math:`\beta_2`
    and :math:`\epsilon` from each parameter's group): the bias-corrected :math:`P` by
    which that step divided :math:`\hat m_t`, computed as torch does it,
    :math:`\sqrt{v_t}/\sqrt{1 - \beta_2^t} + \epsilon`, so the step was exactly
    :math:`\theta_t = \theta_{t-1} - \alpha\, \hat m_t / P` (plus AdamW's decay). One
    tensor per parameter of ``model`` that requires grad, in ``model.parameters()`` order:
    what :func:`sharpness` takes as ``preconditioner`` for the preconditioned sharpness
    :math:`\lambda_{\max}(P^{-1} H)` of Cohen et al. 2022. ``optimizer`` is a
    ``torch.optim.Adam`` or ``AdamW``, or :class:`lrcourse.torch.optim.Adam` or
    :class:`~lrcourse.torch.optim.AdamW` (the same state), that has taken a step on every
    such parameter.

    >>> model = nn.Linear(1, 1, bias=False)
    >>> optimizer = torch.optim.Adam(model.parameters(), lr=0.1, eps=0.0)
    >>> model.weight.grad = torch.tensor([[-2.0]])
    >>> optimizer.step()  # v₁ = (1 − β₂) g², so v̂₁ = g² and P = |g|
    >>> [round(float(p), 5) for p in adam_preconditioner(optimizer, model)]
    [2.0]

    References:
        Cohen, J. M., Ghorbani, B., Krishnan, S., Agarwal, N., Medapati, S. et al. (2022). Adaptive
        gradient methods at the edge of stability. arXiv:2207.14484.
    """
    if not isinstance(optimizer, ADAMS):
        raise TypeError("optimizer must be a torch.optim.Adam or AdamW, or lrcourse.torch.optim.Adam or AdamW, got a "
                        f"{type(optimizer).__name__}")
    params = trainable(model)
    groups = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    result = []
    for i, p in enumerate(params):
        if id(p) not in groups:
            raise ValueError("optimizer must hold every parameter of model that requires grad, got one without "
                             f"parameter {i} (of shape {tuple(p.shape)})")
        group, state = groups[id(p)], optimizer.state.get(p, {})
        if "exp_avg_sq" not in state:
            raise ValueError("optimizer must have taken a step on every parameter of model that requires grad, got "
                             f"one without state for parameter {i} (of shape {tuple(p.shape)})")
        step = float(state["step"])
        v = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
        beta2, eps = float(group["betas"][1]), float(group["eps"])
        with torch.no_grad():
            result.append(v.sqrt() / math.sqrt(1 - beta2 ** step) + eps)
    return result


class SharpnessTracker:
    r"""Measure the sharpness along a training run, each time warm-started from the last top eigenvector.

    .. math::

        \lambda^{(k)} = \lambda_{\max}\big(P_k^{-1/2} H(\theta_k) P_k^{-1/2}\big), \qquad
        u^{(k)}_0 = u^{(k-1)}

    ``tracker(model)`` returns :func:`sharpness` of ``model`` at its current weights
    (``tracker(model, preconditioner=P)`` the preconditioned one) on ``loss_fn`` and
    ``data``, with ``iters`` and ``tol``, starting the power iteration from the top
    eigenvector that the previous call found (``vector``; the first call starts from
    the random vector of ``seed``). Between two nearby points of a run the top
    eigenvector moves little, so a few products converge where a cold start needs many
    (Cohen et al. 2021 measure the sharpness this way, every few steps). A warm start
    changes how fast the iteration converges, not what it converges to.

    ``vector`` is the last eigenvector (a list of tensors, one per parameter that
    requires grad; ``None`` before the first call, and after one whose weights or answer
    were not finite, a run that diverged: the next call starts cold), ``products`` the number of
    Hessian-vector products used so far, and ``values`` the sharpness of every call,
    in order. Use one tracker per run: the vector belongs to one model's parameters.

    >>> X = torch.diag(torch.tensor([3.0, 1.0]))  # mean squared error: H = (2/n) XᵀX = diag(9, 1)
    >>> mse = lambda out, y: ((out.squeeze(-1) - y) ** 2).mean()
    >>> tracker = SharpnessTracker(mse, (X, torch.zeros(2)), tol=1e-8)
    >>> model = nn.Linear(2, 1, bias=False)
    >>> round(tracker(model), 4), round(tracker(model), 4)  # the second call starts at the answer
    (9.0, 9.0)

    References:
        Cohen, J. M., Kaur, S., Li, Y., Kolter, J. Z. and Talwalkar, A. (2021). Gradient descent on
        neural networks typically occurs at the edge of stability. ICLR.
    """

    def __init__(self, loss_fn: LossFn, data: Data, *, iters: int = 1000, tol: float = 1e-6, seed: int = 0) -> None:
        check(callable(loss_fn), "loss_fn", "a function loss_fn(output, target) -> scalar tensor", loss_fn, TypeError)
        self.loss_fn, self.data = loss_fn, data
        self.iters, self.tol = integer("iters", iters, low=1), real("tol", tol, low=0.0)
        self.seed = integer("seed", seed, low=0)
        self.vector: list[torch.Tensor] | None = None
        self.products = 0
        self.values: list[float] = []

    def __call__(self, model: nn.Module, preconditioner: Sequence[torch.Tensor] | None = None) -> float:
        """Return the sharpness of ``model`` now (preconditioned by ``preconditioner``), warm-started."""
        eigenvalue, vector, count = _top_eigenpair(model, self.loss_fn, self.data, preconditioner, self.iters,
                                                   self.tol, self.seed, self.vector)
        finite = math.isfinite(eigenvalue) and all(bool(torch.isfinite(v).all()) for v in vector)
        self.vector = [v.detach() for v in vector] if finite else None  # after a divergence: a cold start next
        self.products += count
        self.values.append(eigenvalue)
        return eigenvalue
