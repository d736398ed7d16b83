"""Adam and AdamW: momentum divided by the root of a running mean of squared gradients."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import Hyperparameter, LearningRate, for_leaf, nonzero
from lrcourse.numpy.tree import Params
from lrcourse.validation import check, flag, hyperparameter, learning_rate

__all__ = ["Adam", "AdamW", "AdamState"]


class AdamState(NamedTuple):
    """State of :class:`Adam` and :class:`AdamW`.

    ``count`` is the number of updates applied (the next update is :math:`t` =
    ``count + 1``); ``mu`` is :math:`m`, the running mean of the gradients (torch's
    ``exp_avg``); ``nu`` is :math:`v`, the running mean of their squares
    (``exp_avg_sq``); ``nu_max`` is :math:`v^{\\max}`, the largest ``nu`` so far
    (``max_exp_avg_sq``), or ``None`` without ``amsgrad``.
    """

    count: int
    mu: Params
    nu: Params
    nu_max: Params | None


@dataclass(frozen=True)
class Adam(Optimizer):
    r"""Adapt each coordinate's step to the running root mean square of its gradients.

    At update :math:`t = 1, 2, \dots`, with :math:`g_t` the gradient at
    :math:`\theta_{t-1}` and :math:`m_0 = v_0 = 0`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat m_t &= \frac{m_t}{1 - \beta_1^t}, \qquad
        \hat v_t = \frac{v_t}{1 - \beta_2^t} \\
        \theta_t &= \theta_{t-1} - \alpha_t \, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    ``lr`` is :math:`\alpha_t`, ``betas`` is :math:`(\beta_1, \beta_2)`, ``eps`` is
    :math:`\epsilon`. The bias corrections :math:`1 - \beta^t` undo the pull of
    :math:`m_0 = v_0 = 0` towards zero; without them every step would be
    :math:`(1 - \beta_1^t)/\sqrt{1 - \beta_2^t}` times too large, :math:`3.16\times`
    at :math:`t = 1` with the defaults. ``weight_decay`` :math:`\lambda` adds
    :math:`\lambda\theta_{t-1}` to :math:`g_t` (an L2 penalty, which the division by
    :math:`\sqrt{\hat v_t}` then rescales; :class:`AdamW`, or
    ``decoupled_weight_decay=True`` as in torch, decouples it). With ``amsgrad``,
    :math:`\hat v_t` is computed from :math:`v^{\max}_t = \max(v^{\max}_{t-1}, v_t)`
    instead of :math:`v_t`: the scale a coordinate is divided by never shrinks, Reddi
    et al.'s repair of a case where Adam does not converge.

    Same hyperparameters, defaults and arithmetic as ``torch.optim.Adam``: :math:`t`
    counts from 1, :math:`\epsilon` is added after the square root and the bias
    correction, and a schedule gives :math:`\alpha_t` = ``lr(t - 1)`` (the state's
    ``count``).

    References:
        Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization. ICLR.
        Reddi, S. J., Kale, S. and Kumar, S. (2018). On the convergence of Adam and
        beyond. ICLR (AMSGrad).

    >>> import numpy as np
    >>> from lrcourse.numpy import Adam
    >>> opt = Adam(lr=0.1)
    >>> theta = np.array([1.0, -2.0])
    >>> state = opt.init(theta)
    >>> theta, state = opt.step(theta, np.array([0.5, -100.0]), state)
    >>> theta.round(6), state.count  # each coordinate moves by lr, whatever its gradient
    (array([ 0.9, -1.9]), 1)
    """

    lr: LearningRate = 1e-3
    betas: tuple[Hyperparameter, Hyperparameter] = (0.9, 0.999)
    eps: Hyperparameter = 1e-8
    weight_decay: Hyperparameter = 0.0
    amsgrad: bool = False
    decoupled_weight_decay: bool = False

    State = AdamState
    rate_buffers = ("nu", "nu_max")

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check Adam's and AdamW's hyperparameters, here and in :mod:`lrcourse.torch.optim`; return them checked.

        ``lr``, ``eps`` and ``weight_decay`` are finite and >= 0, ``betas`` is a pair
        (a tuple or a list of two) in [0, 1) each, ``amsgrad`` and
        ``decoupled_weight_decay`` are True or False. With ``per_run`` each number may
        be an array of one value per run, and ``lr`` a schedule (its rates are checked
        at each step). Stricter than ``torch.optim.Adam``, which accepts inf, NaN,
        bools and any value for a flag, and checks only the first two of ``betas``.
        """
        number = functools.partial(hyperparameter, per_run=per_run)
        betas = values["betas"]
        check(isinstance(betas, (tuple, list)), "betas", "a pair (beta1, beta2)", betas, TypeError)
        check(len(betas) == 2, "betas", "a pair (beta1, beta2)", betas)
        return dict(
            lr=learning_rate("lr", values["lr"], per_run=per_run),
            betas=tuple(number(f"betas[{i}]", beta, low=0.0, high=1.0, high_open=True) for i, beta in enumerate(betas)),
            eps=number("eps", values["eps"], low=0.0),
            weight_decay=number("weight_decay", values["weight_decay"], low=0.0),
            amsgrad=flag("amsgrad", values["amsgrad"]),
            decoupled_weight_decay=flag("decoupled_weight_decay", values["decoupled_weight_decay"]),
        )

    def init_leaf(self, theta: Any) -> tuple[Any, Any, Any]:
        return np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta) if self.amsgrad else None

    def update(self, theta: Any, g: Any, m: Any, v: Any, v_max: Any, *, lr: Any, t: int) -> tuple[Any, ...]:
        """Return ``theta, m, v, v_max`` after update ``t`` (from 1) of one params array."""
        beta1, beta2, wd = for_leaf(theta, *self.betas, self.weight_decay)
        if nonzero(self.weight_decay):
            if self.decoupled_weight_decay:
                (alpha,) = for_leaf(theta, lr)
                theta = theta * (1 - alpha * wd)  # AdamW: θ ← (1 − α λ) θ, apart from the gradient
            else:
                g = g + wd * theta  # Adam: an L2 penalty, g ← g + λ θ
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if self.amsgrad:
            v_max = np.maximum(v_max, v)  # AMSGrad divides by the largest v so far
        m_hat = m / (1 - beta1**t)
        theta = theta - self.rate(v, v_max, lr=lr, t=t) * m_hat  # θ ← θ − η_t m̂_t, η_t = α_t / (√v̂_t + ε) (see rate)
        return theta, m, v, v_max

    def rate(self, v: Any, v_max: Any, *, lr: Any, t: int) -> Any:
        r"""Return each coordinate's rate of update ``t``, the factor of :math:`\hat m_t` in the step.

        .. math::

            \eta_t = \frac{\alpha_t}{\sqrt{\hat v_t} + \epsilon}, \qquad
            \hat v_t = \frac{v_t}{1 - \beta_2^t}
            \quad (v^{\max}_t \text{ instead of } v_t \text{ with amsgrad})

        ``v`` is :math:`v_t` and ``v_max`` is :math:`v^{\max}_t` (``None`` without
        ``amsgrad``) of one params array after the update, ``lr`` is :math:`\alpha_t`;
        the update is :math:`\theta_t = \theta_{t-1} - \eta_t \odot \hat m_t` (after
        AdamW's decay).
        """
        lr, beta2, eps = for_leaf(v, lr, self.betas[1], self.eps)
        v_hat = (v_max if self.amsgrad else v) / (1 - beta2**t)
        return lr / (np.sqrt(v_hat) + eps)


@dataclass(frozen=True)
class AdamW(Adam):
    r"""Shrink the weights apart from the gradient, then take an Adam step.

    With :math:`\hat m_t, \hat v_t` computed as in :class:`Adam` from the plain gradient
    :math:`g_t` (no :math:`\lambda\theta` folded in):

    .. math::

        \theta_t = \theta_{t-1} - \alpha_t \lambda\, \theta_{t-1}
                   - \alpha_t \, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    ``weight_decay`` is :math:`\lambda` (default 0.01), the rest as in :class:`Adam`.
    In Adam's L2 form the decay :math:`\lambda\theta` is divided by
    :math:`\sqrt{\hat v_t}` like the gradient, so weights with large gradients are
    hardly decayed; here every weight shrinks by the same factor
    :math:`1 - \alpha_t\lambda` per update.

    As in ``torch.optim.AdamW``, the decay is scaled by the learning rate
    :math:`\alpha_t`; the paper scales it by the schedule multiplier :math:`\eta_t`
    only, so its :math:`\lambda` is torch's :math:`\lambda` times the base rate.

    References:
        Loshchilov, I. and Hutter, F. (2019). Decoupled weight decay regularization. ICLR.

    >>> import numpy as np
    >>> from lrcourse.numpy import AdamW
    >>> opt = AdamW(lr=0.1, weight_decay=0.5)
    >>> theta, state = opt.step(np.array([2.0]), np.array([0.0]), opt.init(np.array([2.0])))
    >>> theta  # a zero gradient: only the decay, 2 * (1 - 0.1 * 0.5)
    array([1.9])
    """

    weight_decay: Hyperparameter = 1e-2
    decoupled_weight_decay: bool = field(default=True, init=False, repr=False)
