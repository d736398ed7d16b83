r"""How the learning rate should follow the batch size: the linear and the square-root scaling rules.

Multiply the batch size by :math:`\kappa = B / B_0` and a rate tuned at :math:`B_0`
becomes

- :math:`\kappa\, \alpha_0` for SGD (the linear scaling rule, Goyal et al. 2017: :math:`\kappa`
  steps of batch :math:`B_0` move the weights about as far as one of batch
  :math:`\kappa B_0` at :math:`\kappa` times the rate, as long as the gradient changes
  little over those steps; they add a warmup at the start, where it changes fast);
- :math:`\sqrt{\kappa}\, \alpha_0` for Adam and RMSprop (the square-root scaling rule,
  Malladi et al. 2022: it keeps the stochastic differential equation that approximates
  the adaptive method the same, the batch's gradient noise shrinking as
  :math:`1/\sqrt{\kappa}` relative to the normalised step).

Both rules hold only up to a point: beyond the critical batch size, about the gradient
noise scale (:func:`lrcourse.torch.noise_scale.gradient_noise_scale`), a larger batch no
longer buys proportionally fewer steps, and the scaled rate stops working.
:func:`two_batch_estimates` estimates that noise scale as it is done at scale, from the
squared norms of gradients of two batch sizes (McCandlish et al. 2018, appendix A).

References:
    Goyal, P., Dollár, P., Girshick, R., Noordhuis, P., Wesolowski, L., Kyrola, A., Tulloch, A.,
    Jia, Y. and He, K. (2017). Accurate, large minibatch SGD: training ImageNet in 1 hour.
    arXiv:1706.02677.
    Malladi, S., Lyu, K., Panigrahi, A. and Arora, S. (2022). On the SDEs and scaling rules for
    adaptive gradient algorithms. NeurIPS.
    McCandlish, S., Kaplan, J., Amodei, D. and the OpenAI Dota Team (2018). An empirical model
    of large-batch training. arXiv:1812.06162.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrcourse.validation import check, integer, real, real_array

__all__ = ["SCALING_RULES", "scale_lr", "two_batch_estimates"]

SCALING_RULES = ("linear", "sqrt")
"""The rules of :func:`scale_lr`: ``"linear"`` (SGD, Goyal et al. 2017) and ``"sqrt"`` (Adam, Malladi et al. 2022)."""


def scale_lr(lr: float, batch_size: int, base_batch_size: int, rule: str = "linear") -> float:
    r"""Return the rate for ``batch_size``, given ``lr`` tuned at ``base_batch_size``, by a scaling rule.

    .. math::

        \alpha(B) = \alpha_0 \frac{B}{B_0} \quad \text{(linear)}, \qquad
        \alpha(B) = \alpha_0 \sqrt{\frac{B}{B_0}} \quad \text{(sqrt)}

    ``rule="linear"`` is Goyal et al. 2017's rule for SGD (with or without momentum; they
    pair it with a warmup of a few epochs, :class:`lrcourse.schedules.Warmup`);
    ``rule="sqrt"`` is Malladi et al. 2022's square-root rule for Adam and RMSprop. Their
    rule scales more than the rate: :math:`1 - \beta_1` and :math:`1 - \beta_2` by
    :math:`\kappa = B/B_0` and :math:`\epsilon` by :math:`1/\sqrt{\kappa}`; this function
    gives the rate only, which is what the rule is usually applied as. A smaller batch
    (:math:`B < B_0`) scales the rate down by the same formula.

    >>> scale_lr(0.1, 1024, 256)            # 4 times the batch: 4 times the rate
    0.4
    >>> scale_lr(1e-3, 1024, 256, "sqrt")   # Adam: twice the rate
    0.002

    References:
        Goyal, P., Dollár, P., Girshick, R., Noordhuis, P., Wesolowski, L., Kyrola, A., Tulloch, A.,
        Jia, Y. and He, K. (2017). Accurate, large minibatch SGD: training ImageNet in 1 hour.
        arXiv:1706.02677.
        Malladi, S., Lyu, K., Panigrahi, A. and Arora, S. (2022). On the SDEs and scaling rules for
        adaptive gradient algorithms. NeurIPS.
    """
    lr = real("lr", lr, low=0.0)
    batch_size = integer("batch_size", batch_size, low=1)
    base_batch_size = integer("base_batch_size", base_batch_size, low=1)
    check(isinstance(rule, str) and rule in SCALING_RULES, "rule", "'linear' or 'sqrt'", rule)
    ratio = batch_size / base_batch_size
    return lr * (ratio if rule == "linear" else math.sqrt(ratio))


def two_batch_estimates(norm_sq_small: Any, norm_sq_big: Any, batch_small: int,
                        batch_big: int) -> tuple[Any, Any]:
    r"""Return the unbiased estimates of :math:`\lVert G\rVert^2` and :math:`\operatorname{tr}(\Sigma)` from two batch sizes.

    A batch of :math:`B` examples drawn with replacement has
    :math:`\mathbb{E}\lVert G_B\rVert^2 = \lVert G\rVert^2 + \operatorname{tr}(\Sigma)/B`;
    two batch sizes :math:`B_s < B_b` give two such equations, solved for the two unknowns
    (McCandlish et al. 2018, appendix A):

    .. math::

        \lvert \mathcal{G}\rvert^2 = \frac{B_b \lVert G_{B_b}\rVert^2 - B_s \lVert G_{B_s}\rVert^2}{B_b - B_s},
        \qquad
        \mathcal{S} = \frac{\lVert G_{B_s}\rVert^2 - \lVert G_{B_b}\rVert^2}{1/B_s - 1/B_b}

    Each is unbiased, but one pair of norms gives noisy (even negative) values: average
    each over many pairs, then take the ratio :math:`B_\text{simple} \approx
    \bar{\mathcal{S}} / \overline{\lvert \mathcal{G}\rvert^2}` (the ratio of the means,
    not the mean of the ratios, which is biased). With data-parallel workers the small
    batch is one worker's and the big one the all-reduced global batch, so the estimate
    costs nothing extra. ``norm_sq_small`` and ``norm_sq_big`` are numbers or arrays of
    the same shape (one pair per step), each a squared norm :math:`\ge 0`; the estimates
    have that shape. Batches drawn without replacement from :math:`n` examples have
    :math:`\operatorname{tr}(\Sigma)` multiplied by :math:`(n - B)/(n - 1)`; negligible
    when :math:`B \ll n`. :func:`lrcourse.torch.noise_scale.gradient_noise_scale`
    computes both exactly on a small data set.

    >>> g2, trace = two_batch_estimates(1.0 + 4.0 / 2, 1.0 + 4.0 / 8, 2, 8)  # |G|² = 1, tr Σ = 4: expectations
    >>> float(g2), float(trace), float(trace / g2)
    (1.0, 4.0, 4.0)

    References:
        McCandlish, S., Kaplan, J., Amodei, D. and the OpenAI Dota Team (2018). An empirical model
        of large-batch training. arXiv:1812.06162, appendix A.
    """
    small = real_array("norm_sq_small", norm_sq_small, low=0.0)
    big = real_array("norm_sq_big", norm_sq_big, low=0.0)
    batch_small = integer("batch_small", batch_small, low=1)
    batch_big = integer("batch_big", batch_big, low=1)
    check(batch_big > batch_small, "batch_big", f"an integer > batch_small = {batch_small}", batch_big)
    check(small.shape == big.shape, "norm_sq_big", f"of the shape of norm_sq_small, {small.shape}",
          big.shape)
    g2 = (batch_big * big - batch_small * small) / (batch_big - batch_small)
    trace = (small - big) / (1.0 / batch_small - 1.0 / batch_big)
    return g2, trace
