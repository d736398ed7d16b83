r"""The gradient noise scale of a torch model: how large a batch is before it stops paying (McCandlish et al. 2018).

A minibatch gradient :math:`G_B`, the mean of :math:`B` per-example gradients drawn from
the data, is the true gradient :math:`G` plus noise of covariance :math:`\Sigma/B`, so
:math:`\mathbb{E}\lVert G_B\rVert^2 = \lVert G\rVert^2 + \operatorname{tr}(\Sigma)/B`. The
noise is as large as the signal at :math:`B = \operatorname{tr}(\Sigma)/\lVert G\rVert^2`,
the simple noise scale :math:`B_\text{simple}`, which McCandlish et al. 2018 found to
predict the critical batch size: below it, doubling the batch halves the number of steps
(and the linear scaling rule of :func:`lrcourse.scaling.scale_lr` holds); above it,
a larger batch buys few steps. :func:`gradient_noise_scale` measures it exactly on a data
set, from per-example gradients (``torch.func``).

References:
    McCandlish, S., Kaplan, J., Amodei, D. and the OpenAI Dota Team (2018). An empirical model
    of large-batch training. arXiv:1812.06162.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from lrcourse.torch.runtime import Data, one_epoch
from lrcourse.validation import check, integer

__all__ = ["gradient_noise_scale"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def gradient_noise_scale(model: nn.Module, loss_fn: LossFn, data: Data, *, batch_size: int = 256) -> float:
    r"""Return the simple gradient noise scale :math:`B_\text{simple} = \operatorname{tr}(\Sigma)/\lVert G\rVert^2`.

    .. math::

        G = \frac{1}{n}\sum_{i=1}^n g_i, \qquad
        \operatorname{tr}(\Sigma) = \frac{1}{n}\sum_{i=1}^n \lVert g_i - G\rVert^2, \qquad
        B_\text{simple} = \frac{\operatorname{tr}(\Sigma)}{\lVert G\rVert^2}

    where :math:`g_i = \nabla_\theta\, \ell(\text{model}(x_i), y_i)` is the gradient of
    example :math:`i` alone (``loss_fn`` on a batch of one), over the parameters that
    require grad, at the model's current weights, and :math:`n` the number of examples in
    ``data`` (a full batch ``(X, y)``, or an iterable of batches, all of whose examples
    count once). :math:`G` is then the gradient of the mean loss over the data, and
    :math:`\Sigma` the covariance of one example's gradient drawn uniformly from it, so
    that a batch of :math:`B` examples drawn with replacement has
    :math:`\mathbb{E}\lVert G_B\rVert^2 = \lVert G\rVert^2 + \operatorname{tr}(\Sigma)/B`
    exactly (McCandlish et al. 2018, eq. 2.4-2.5 and their :math:`B_\text{simple}`).

    Which estimator, and why: this computes :math:`\Sigma` and :math:`G` *exactly* on the
    data given, from every per-example gradient (``torch.func.vmap`` of
    ``torch.func.grad``), ``batch_size`` examples at a time (it bounds the memory, not the
    answer; the sums are combined in float64 by Chan et al.'s pairwise formula, so a
    small noise scale does not vanish in a difference of large sums). McCandlish et al.'s
    appendix A estimator, from the norms of gradients at two batch sizes, is unbiased but
    noisy, and is made for what is cheap at scale (data-parallel workers see only their
    batch's gradient); the chapters' models are small, and the exact value has no noise of
    its own. This is the simple noise scale, not :math:`B_\text{noise} =
    \operatorname{tr}(H\Sigma)/G^\top H G`, which weights directions by the Hessian
    :math:`H`; the two are equal when :math:`H` is a multiple of the identity.

    The model runs with every module in eval mode (dropout off), its train/eval flags,
    weights and ``.grad`` left as they were. At a point where :math:`G = 0` the noise scale
    is infinite (``inf``).

    >>> model = nn.Linear(1, 1, bias=False)  # w = 0: g_i = 2 (w x_i − y_i) x_i = −2 y_i
    >>> _ = nn.init.zeros_(model.weight)
    >>> X, y = torch.ones(2, 1), torch.tensor([[1.0], [3.0]])
    >>> gradient_noise_scale(model, nn.functional.mse_loss, (X, y))  # G = −4, tr Σ = 4
    0.25

    References:
        McCandlish, S., Kaplan, J., Amodei, D. and the OpenAI Dota Team (2018). An empirical model
        of large-batch training. arXiv:1812.06162.
        Chan, T. F., Golub, G. H. and LeVeque, R. J. (1983). Algorithms for computing the sample
        variance: analysis and recommendations. The American Statistician 37(3), 242-247.
    """
    batch_size = integer("batch_size", batch_size, low=1)
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    check(callable(loss_fn), "loss_fn", "a function loss_fn(output, target) -> scalar tensor", loss_fn, TypeError)
    trained = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    if not trained:
        raise ValueError(f"model must have parameters that require grad, got a {type(model).__name__} with none")
    fixed = {name: p.detach() for name, p in model.named_parameters() if not p.requires_grad}
    fixed.update(dict(model.named_buffers()))
    device = next(iter(trained.values())).device

    def example_loss(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(functional_call(model, (params, fixed), (x.unsqueeze(0),)), y.unsqueeze(0))
        return loss.reshape(())  # a scalar, as grad needs (a loss of one element of any shape)

    per_example = vmap(grad(example_loss), in_dims=(None, 0, 0))
    count, mean, m2 = 0, None, 0.0  # Chan et al.: the mean gradient and the sum of squared deviations so far
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        for x, y in one_epoch(data, device):
            if len(x) != len(y):
                raise ValueError(f"data must hold batches (x, y) with as many targets as inputs, got a batch of "
                                 f"{len(x)} inputs and {len(y)} targets")
            for start in range(0, len(x), batch_size):
                grads = per_example(trained, x[start:start + batch_size], y[start:start + batch_size])
                flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1).double()
                k = flat.shape[0]
                chunk_mean = flat.mean(0)
                chunk_m2 = float(((flat - chunk_mean) ** 2).sum())
                if mean is None:
                    count, mean, m2 = k, chunk_mean, chunk_m2
                else:
                    delta = chunk_mean - mean
                    total = count + k
                    m2 += chunk_m2 + float(delta @ delta) * count * k / total
                    mean = mean + delta * (k / total)
                    count = total
    finally:
        for m, training in modes:
            m.training = training
    if count < 2:
        raise ValueError(f"data must hold at least 2 examples, got {count}")
    trace = m2 / count
    norm_sq = float(mean @ mean)
    if norm_sq == 0.0:
        return math.inf if trace > 0 else math.nan
    return trace / norm_sq
