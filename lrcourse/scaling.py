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

References:
    Goyal, P., Dollár, P., Girshick, R., Noordhuis, P., Wesolowski, L., Kyrola, A., Tulloch, A.,
    Jia, Y. and He, K. (2017). Accurate, large minibatch SGD: training ImageNet in 1 hour.
    arXiv:1706.02677.
    Malladi, S., Lyu, K., Panigrahi, A. and Arora, S. (2022). On the SDEs and scaling rules for
    adaptive gradient algorithms. NeurIPS.
"""

from __future__ import annotations

import math

from lrcourse.validation import check, integer, real

__all__ = ["SCALING_RULES", "scale_lr"]

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
