r"""The effective learning rate of each parameter: what an adaptive method multiplies its direction by.

An adaptive method's update can be written as one rate per coordinate times a
direction: AdaGrad and RMSprop step by :math:`\eta_t \odot g_t`, Adam by
:math:`\eta_t \odot \hat m_t`. :func:`effective_lr` reads :math:`\eta_t` off the state
after update :math:`t`, so a run can plot how each coordinate's rate moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import for_leaf, learning_rate, nonzero
from lrcourse.numpy.tree import Params, leaves, rebuild
from lrcourse.numpy.adagrad import Adagrad
from lrcourse.numpy.adam import Adam
from lrcourse.numpy.rmsprop import RMSprop

__all__ = ["effective_lr"]


def effective_lr(opt: Optimizer, state: Any) -> Params:
    r"""Return the per-coordinate rate :math:`\eta_t` of the update that produced ``state``.

    ``state`` is the optimizer's state after update :math:`t` = ``state.count``
    :math:`\ge 1`, and :math:`\alpha_t` the rate that update used (``opt.lr``, or
    ``opt.lr(t - 1)`` for a schedule). For

    - :class:`Adagrad`, :math:`\eta_t = \dfrac{\alpha_t}{1 + (t-1)\,\eta}\,\dfrac{1}{\sqrt{s_t} + \epsilon}`,
      and the update was :math:`\theta_t = \theta_{t-1} - \eta_t \odot g_t`;
    - :class:`RMSprop` (not centered, no momentum),
      :math:`\eta_t = \dfrac{\alpha_t}{\sqrt{v_t} + \epsilon}`, and the update was
      :math:`\theta_t = \theta_{t-1} - \eta_t \odot g_t`;
    - :class:`Adam` and :class:`AdamW`,
      :math:`\eta_t = \dfrac{\alpha_t}{\sqrt{\hat v_t} + \epsilon}` with
      :math:`\hat v_t = v_t / (1 - \beta_2^t)` (:math:`v^{\max}_t` with ``amsgrad``),
      and the update was :math:`\theta_t = \theta_{t-1} - \eta_t \odot \hat m_t`
      (after AdamW's decay).

    Returns an array, or a container like the params, of the params' shapes.

    >>> import numpy as np
    >>> from lrcourse.numpy import Adam
    >>> opt = Adam(lr=0.1)
    >>> theta = np.zeros(2)
    >>> _, state = opt.step(theta, np.array([2.0, 0.01]), opt.init(theta))
    >>> effective_lr(opt, state).round(4)  # alpha / |g| at t = 1: small gradient, large rate
    array([ 0.05, 10.  ])
    """
    count = getattr(state, "count", None)
    if not isinstance(opt, (Adagrad, RMSprop, Adam)):
        raise ValueError(f"opt must be an Adagrad, RMSprop, Adam or AdamW optimizer, got {type(opt).__name__}")
    if not isinstance(state, opt.State):
        raise ValueError(f"state must be {opt.State.__name__}, got {type(state).__name__}")
    if not (isinstance(count, (int, np.integer)) and count >= 1):
        raise ValueError(f"state.count must be >= 1 (the state after an update), got {count!r}")
    if isinstance(opt, RMSprop) and (opt.centered or nonzero(opt.momentum)):
        raise ValueError("effective_lr supports RMSprop without centering and momentum only "
                         f"(got centered={opt.centered!r}, momentum={opt.momentum!r})")
    t = int(count)
    lr = learning_rate(opt.lr, t - 1)
    if isinstance(opt, Adagrad):
        denominators = state.sum_of_squares
    elif isinstance(opt, RMSprop):
        denominators = state.nu
    else:
        denominators = state.nu_max if opt.amsgrad else state.nu
    rates = []
    for buffer in leaves(denominators):
        if isinstance(opt, Adagrad):
            rate, eta, eps = for_leaf(buffer, lr, opt.lr_decay, opt.eps)
            rates.append(rate / (1 + (t - 1) * eta) / (np.sqrt(buffer) + eps))
        elif isinstance(opt, RMSprop):
            rate, eps = for_leaf(buffer, lr, opt.eps)
            rates.append(rate / (np.sqrt(buffer) + eps))
        else:
            rate, beta2, eps = for_leaf(buffer, lr, opt.betas[1], opt.eps)
            rates.append(rate / (np.sqrt(buffer / (1 - beta2**t)) + eps))
    return rebuild(denominators, rates)
