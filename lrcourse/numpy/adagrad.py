"""AdaGrad: divide each coordinate's step by the root of its summed squared gradients."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import Hyperparameter, LearningRate, for_leaf, nonzero
from lrcourse.numpy.tree import Params
from lrcourse.validation import hyperparameter, learning_rate

__all__ = ["Adagrad", "AdagradState"]


class AdagradState(NamedTuple):
    """State of :class:`Adagrad`.

    ``count`` is the number of updates applied (the next update is :math:`t` =
    ``count + 1``); ``sum_of_squares`` is :math:`s`, the running sum of squared
    gradients (torch's ``sum``).
    """

    count: int
    sum_of_squares: Params


@dataclass(frozen=True)
class Adagrad(Optimizer):
    r"""Divide each coordinate's step by the root of the sum of its squared gradients.

    At update :math:`t = 1, 2, \dots`, with :math:`g_t` the gradient at
    :math:`\theta_{t-1}` (plus :math:`\lambda\theta_{t-1}` with weight decay) and
    :math:`s_0` = ``initial_accumulator_value``:

    .. math::

        s_t &= s_{t-1} + g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\alpha_t}{1 + (t - 1)\,\eta}
                    \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    ``lr`` is :math:`\alpha_t`, ``lr_decay`` is :math:`\eta`, ``eps`` is
    :math:`\epsilon`, ``weight_decay`` is :math:`\lambda`. Coordinates with large
    gradients so far take small steps and rare ones large steps; as :math:`s_t` only
    grows, every step shrinks (roughly as :math:`1/\sqrt{t}` for steady gradients),
    the decay RMSprop was made to avoid.

    Same hyperparameters, defaults and arithmetic as ``torch.optim.Adagrad``:
    :math:`\epsilon` is added outside the square root (the seed text writes
    :math:`\sqrt{s_t + \epsilon}`, a different and much smaller regulariser for
    :math:`\epsilon` = 1e-10), and a schedule gives :math:`\alpha_t` = ``lr(t - 1)``,
    still divided by :math:`1 + (t-1)\eta`.

    References:
        Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods for
        online learning and stochastic optimization. JMLR 12.

    >>> import numpy as np
    >>> from lrcourse.numpy import Adagrad
    >>> opt = Adagrad(lr=1.0)
    >>> theta = np.array([0.0, 0.0])
    >>> state = opt.init(theta)
    >>> for _ in range(4):  # steps 1, 1/sqrt(2), 1/sqrt(3), 1/2 whatever the gradient's size
    ...     theta, state = opt.step(theta, np.array([3.0, -0.01]), state)
    >>> theta.round(4)
    array([-2.7845,  2.7845])
    """

    lr: LearningRate = 1e-2
    lr_decay: Hyperparameter = 0.0
    weight_decay: Hyperparameter = 0.0
    initial_accumulator_value: Hyperparameter = 0.0
    eps: Hyperparameter = 1e-10

    State = AdagradState
    rate_buffers = ("sum_of_squares",)

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check AdaGrad's hyperparameters, here and in :class:`lrcourse.torch.optim.Adagrad`; return them checked.

        ``lr``, ``lr_decay``, ``weight_decay``, ``initial_accumulator_value`` and
        ``eps`` are finite and >= 0. With ``per_run`` each may be an array of one value
        per run, and ``lr`` a schedule (its rates are checked at each step). Stricter
        than ``torch.optim.Adagrad``, which accepts inf, NaN and bools.
        """
        number = functools.partial(hyperparameter, per_run=per_run, low=0.0)
        return dict(
            lr=learning_rate("lr", values["lr"], per_run=per_run),
            lr_decay=number("lr_decay", values["lr_decay"]),
            weight_decay=number("weight_decay", values["weight_decay"]),
            initial_accumulator_value=number("initial_accumulator_value", values["initial_accumulator_value"]),
            eps=number("eps", values["eps"]),
        )

    def init_leaf(self, theta: Any) -> tuple[Any]:
        (s0,) = for_leaf(theta, self.initial_accumulator_value)
        return (np.zeros_like(theta) + s0,)

    def update(self, theta: Any, g: Any, s: Any, *, lr: Any, t: int) -> tuple[Any, Any]:
        """Return ``theta`` and the sum of squares ``s`` after update ``t`` (from 1)."""
        if nonzero(self.weight_decay):
            (wd,) = for_leaf(theta, self.weight_decay)
            g = g + wd * theta  # an L2 penalty, g ← g + λ θ
        s = s + g * g
        theta = theta - self.rate(s, lr=lr, t=t) * g  # θ ← θ − η_t g, η_t = α_t / (1 + (t − 1) η) / (√s_t + ε) (see rate)
        return theta, s

    def rate(self, s: Any, *, lr: Any, t: int) -> Any:
        r"""Return each coordinate's rate of update ``t``, the factor of :math:`g_t` in the step.

        .. math::

            \eta_t = \frac{\alpha_t}{1 + (t - 1)\,\eta} \, \frac{1}{\sqrt{s_t} + \epsilon}

        ``s`` is :math:`s_t` (the sum of squares after the update) of one params array,
        ``lr`` is :math:`\alpha_t`; the update is :math:`\theta_t = \theta_{t-1} - \eta_t \odot g_t`.
        """
        lr, eta, eps = for_leaf(s, lr, self.lr_decay, self.eps)
        return lr / (1 + (t - 1) * eta) / (np.sqrt(s) + eps)
