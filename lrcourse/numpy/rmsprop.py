"""RMSprop: divide each coordinate's step by the root of a running mean of squared gradients."""

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

__all__ = ["RMSprop", "RMSpropState"]


class RMSpropState(NamedTuple):
    """State of :class:`RMSprop`.

    ``count`` is the number of updates applied (the next update is :math:`t` =
    ``count + 1``); ``nu`` is :math:`v`, the running mean of squared gradients
    (torch's ``square_avg``); ``mu`` is :math:`\\bar g`, the running mean of the
    gradients (``grad_avg``), or ``None`` unless ``centered``; ``trace`` is the
    momentum buffer :math:`m` (``momentum_buffer``), or ``None`` without momentum.
    """

    count: int
    nu: Params
    mu: Params | None
    trace: Params | None


@dataclass(frozen=True)
class RMSprop(Optimizer):
    r"""Divide each coordinate's step by the root of a running mean of its squared gradients.

    At update :math:`t = 1, 2, \dots`, with :math:`g_t` the gradient at
    :math:`\theta_{t-1}` (plus :math:`\lambda\theta_{t-1}` with weight decay) and
    :math:`v_0 = \bar g_0 = m_0 = 0`:

    .. math::

        v_t &= \beta v_{t-1} + (1 - \beta)\, g_t^2 \\
        \bar g_t &= \beta \bar g_{t-1} + (1 - \beta)\, g_t
            \quad\text{(centered only)} \\
        r_t &= \sqrt{v_t} + \epsilon
            \quad\text{or, centered,}\quad \sqrt{v_t - \bar g_t^2} + \epsilon \\
        \theta_t &= \theta_{t-1} - \alpha_t \, \frac{g_t}{r_t}
            \quad\text{or, with momentum,}\quad
            m_t = \beta_m m_{t-1} + \frac{g_t}{r_t}, \;\; \theta_t = \theta_{t-1} - \alpha_t m_t

    ``lr`` is :math:`\alpha_t`, ``alpha`` is the decay rate :math:`\beta` (torch's name;
    the book keeps :math:`\alpha` for the learning rate), ``eps`` is :math:`\epsilon`,
    ``momentum`` is :math:`\beta_m` (the decay of the momentum buffer :math:`m_t`, which
    sums :math:`g_t / r_t`), ``weight_decay`` is :math:`\lambda`. Unlike AdaGrad's
    sum, the mean forgets: :math:`v_t` tracks the recent gradient scale (over about
    :math:`1/(1-\beta)` updates), so steps stay near :math:`\alpha_t` instead of
    decaying. Centering divides by an estimate of the standard deviation instead of
    the root mean square.

    Same hyperparameters, defaults and arithmetic as ``torch.optim.RMSprop``:
    :math:`\epsilon` outside the square root (the seed, Keras and optax put it inside,
    :math:`\sqrt{v_t + \epsilon}`: a convention, with another meaning for :math:`\epsilon`),
    no bias correction (early :math:`v_t` are small, so the first steps are about
    :math:`1/\sqrt{1-\beta} = 10` times :math:`\alpha_t` for the default :math:`\beta` =
    0.99), and a schedule gives :math:`\alpha_t` = ``lr(t - 1)``.

    References:
        Tieleman, T. and Hinton, G. (2012). Lecture 6.5 - rmsprop: divide the gradient
        by a running average of its recent magnitude. COURSERA: Neural Networks for
        Machine Learning.
        Graves, A. (2013). Generating sequences with recurrent neural networks.
        arXiv:1308.0850 (the centered form with momentum).

    >>> import numpy as np
    >>> from lrcourse.numpy import RMSprop
    >>> opt = RMSprop(lr=0.01)
    >>> theta = np.array([0.0])
    >>> theta, state = opt.step(theta, np.array([4.0]), opt.init(theta))
    >>> theta.round(6)  # the first step: 0.01 / sqrt(1 - 0.99)
    array([-0.1])
    """

    lr: LearningRate = 1e-2
    alpha: Hyperparameter = 0.99
    eps: Hyperparameter = 1e-8
    weight_decay: Hyperparameter = 0.0
    momentum: Hyperparameter = 0.0
    centered: bool = False

    State = RMSpropState
    rate_buffers = ("nu", "mu")

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check RMSprop's hyperparameters, here and in :class:`lrcourse.torch.optim.RMSprop`; return them checked.

        ``lr``, ``eps``, ``weight_decay`` and ``momentum`` are finite and >= 0,
        ``alpha`` is in [0, 1], ``centered`` is True or False. With ``per_run`` each
        number may be an array of one value per run, and ``lr`` a schedule (its rates
        are checked at each step). Stricter than ``torch.optim.RMSprop``, which accepts
        inf, NaN, bools, an ``alpha`` above 1 and any value for ``centered``.
        """
        number = functools.partial(hyperparameter, per_run=per_run, low=0.0)
        return dict(
            lr=learning_rate("lr", values["lr"], per_run=per_run),
            alpha=number("alpha", values["alpha"], high=1.0),
            eps=number("eps", values["eps"]),
            weight_decay=number("weight_decay", values["weight_decay"]),
            momentum=number("momentum", values["momentum"]),
            centered=flag("centered", values["centered"]),
        )

    def init_leaf(self, theta: Any) -> tuple[Any, Any, Any]:
        g_avg = np.zeros_like(theta) if self.centered else None
        m = np.zeros_like(theta) if nonzero(self.momentum) else None
        return np.zeros_like(theta), g_avg, m

    def update(self, theta: Any, g: Any, v: Any, g_avg: Any, m: Any, *, lr: Any, t: int) -> tuple[Any, ...]:
        """Return ``theta, v, g_avg, m`` after update ``t`` (from 1) of one params array."""
        beta, wd, beta_m = for_leaf(theta, self.alpha, self.weight_decay, self.momentum)
        if nonzero(self.weight_decay):
            g = g + wd * theta  # an L2 penalty, g ← g + λ θ
        v = beta * v + (1 - beta) * g * g
        if self.centered:
            g_avg = beta * g_avg + (1 - beta) * g
        if nonzero(self.momentum):
            (alpha,) = for_leaf(theta, lr)
            m = beta_m * m + self.rate(v, g_avg, lr=1.0, t=t) * g  # m ← β_m m + g / r_t (the rate for α = 1)
            theta = theta - alpha * m
        else:
            theta = theta - self.rate(v, g_avg, lr=lr, t=t) * g  # θ ← θ − η_t g, η_t = α_t / r_t (see rate)
        return theta, v, g_avg, m

    def rate(self, v: Any, g_avg: Any, *, lr: Any, t: int) -> Any:
        r"""Return each coordinate's rate of update ``t``, the factor of :math:`g_t` in the step.

        .. math::

            \eta_t = \frac{\alpha_t}{r_t}, \qquad
            r_t = \sqrt{v_t} + \epsilon \quad\text{or, centered,}\quad \sqrt{v_t - \bar g_t^2} + \epsilon

        ``v`` is :math:`v_t` and ``g_avg`` is :math:`\bar g_t` (``None`` unless
        ``centered``) of one params array after the update, ``lr`` is :math:`\alpha_t`;
        ``t`` is not used (RMSprop has no bias correction). Without momentum the update
        is :math:`\theta_t = \theta_{t-1} - \eta_t \odot g_t`; with momentum
        :math:`\theta_t = \theta_{t-1} - \alpha_t \beta_m m_{t-1} - \eta_t \odot g_t`, so
        :math:`\eta_t` is the rate of the newest gradient.
        """
        lr, eps = for_leaf(v, lr, self.eps)
        root = np.sqrt(v - g_avg * g_avg) if self.centered else np.sqrt(v)
        return lr / (root + eps)
