"""Stochastic gradient descent, with heavy-ball or Nesterov momentum."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import Hyperparameter, LearningRate, for_leaf, nonzero
from lrcourse.numpy.tree import Params
from lrcourse.validation import flag, hyperparameter, learning_rate

__all__ = ["SGD", "SGDState"]


class SGDState(NamedTuple):
    """State of :class:`SGD`.

    ``count`` is the number of updates applied (the next update is :math:`t` =
    ``count + 1``); ``trace`` is the momentum buffer :math:`m` (torch's
    ``momentum_buffer``), or ``None`` without momentum.
    """

    count: int
    trace: Params | None


@dataclass(frozen=True)
class SGD(Optimizer):
    r"""Step against the gradient, optionally along a running sum of past gradients.

    At update :math:`t = 1, 2, \dots`, with :math:`g_t` the gradient at
    :math:`\theta_{t-1}` (plus :math:`\lambda\theta_{t-1}` with weight decay):

    .. math::

        m_t &= \begin{cases} g_t & t = 1 \\
                             \beta\, m_{t-1} + (1 - \tau)\, g_t & t > 1 \end{cases} \\
        d_t &= \begin{cases} g_t + \beta\, m_t & \text{Nesterov} \\
                             m_t & \text{otherwise} \end{cases} \\
        \theta_t &= \theta_{t-1} - \alpha_t\, d_t

    ``lr`` is :math:`\alpha_t`, ``momentum`` is :math:`\beta`, ``dampening`` is
    :math:`\tau`, ``weight_decay`` is :math:`\lambda`, ``nesterov`` picks the first
    case of :math:`d_t`. Without momentum (:math:`\beta = 0`) this is plain gradient
    descent, :math:`\theta_t = \theta_{t-1} - \alpha_t g_t`.

    Same hyperparameters, defaults and arithmetic as ``torch.optim.SGD``, whose
    momentum differs from the papers' in two ways: the buffer starts at
    :math:`m_1 = g_1` (not :math:`(1-\tau) g_1`), and :math:`\alpha_t` multiplies the
    buffer instead of each gradient entering it (Sutskever et al. write a velocity
    :math:`u_t = \beta u_{t-1} - \alpha g_t`, :math:`\theta_t = \theta_{t-1} + u_t`), which
    only differs when :math:`\alpha_t` changes. A schedule gives :math:`\alpha_t` =
    ``lr(t - 1)``.

    References:
        Polyak, B. T. (1964). Some methods of speeding up the convergence of iteration
        methods. USSR Computational Mathematics and Mathematical Physics.
        Sutskever, I., Martens, J., Dahl, G. and Hinton, G. (2013). On the importance of
        initialization and momentum in deep learning. ICML.

    >>> import numpy as np
    >>> from lrcourse.numpy import SGD
    >>> opt = SGD(lr=0.1, momentum=0.9)
    >>> theta = np.array([1.0])
    >>> state = opt.init(theta)
    >>> for _ in range(3):  # a constant gradient: the steps grow, 0.1, 0.19, 0.271
    ...     theta, state = opt.step(theta, np.array([1.0]), state)
    >>> theta.round(6), state.count
    (array([0.439]), 3)
    """

    lr: LearningRate = 1e-3
    momentum: Hyperparameter = 0.0
    dampening: Hyperparameter = 0.0
    weight_decay: Hyperparameter = 0.0
    nesterov: bool = False

    State = SGDState

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check SGD's hyperparameters, here and in :class:`lrcourse.torch.optim.SGD`; return them checked.

        ``lr``, ``momentum`` and ``weight_decay`` are finite and >= 0, ``dampening`` is
        in [0, 1], ``nesterov`` is True or False and needs ``momentum`` > 0 and
        ``dampening`` = 0. With ``per_run`` each number may be an array of one value
        per run, and ``lr`` a schedule (its rates are checked at each step). Stricter
        than ``torch.optim.SGD``, which accepts inf, NaN, bools, any dampening, and any
        value for ``nesterov``.
        """
        number = functools.partial(hyperparameter, per_run=per_run)
        checked = dict(
            lr=learning_rate("lr", values["lr"], per_run=per_run),
            momentum=number("momentum", values["momentum"], low=0.0),
            dampening=number("dampening", values["dampening"], low=0.0, high=1.0),
            weight_decay=number("weight_decay", values["weight_decay"], low=0.0),
            nesterov=flag("nesterov", values["nesterov"]),
        )
        if checked["nesterov"] and not (np.all(np.greater(checked["momentum"], 0)) and not nonzero(checked["dampening"])):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening = 0, "
                f"got momentum={values['momentum']!r}, dampening={values['dampening']!r}"
            )
        return checked

    def init_leaf(self, theta: Any) -> tuple[Any]:
        return (np.zeros_like(theta) if nonzero(self.momentum) else None,)

    def update(self, theta: Any, g: Any, m: Any, *, lr: Any, t: int) -> tuple[Any, Any]:
        """Return ``theta`` and the momentum buffer ``m`` (:math:`m_t`) after update ``t`` (from 1)."""
        lr, beta, tau, wd = for_leaf(theta, lr, self.momentum, self.dampening, self.weight_decay)
        if nonzero(self.weight_decay):
            g = g + wd * theta  # an L2 penalty, g ← g + λ θ
        d = g
        if nonzero(self.momentum):
            m = g if t == 1 else beta * m + (1 - tau) * g
            d = g + beta * m if self.nesterov else m
        theta = theta - lr * d
        return theta, m
