r"""The effective learning rate of each parameter: what an adaptive method multiplies its direction by.

An adaptive method's update can be written as one rate per coordinate times a
direction: AdaGrad and RMSprop step by :math:`\eta_t \odot g_t`, Adam by
:math:`\eta_t \odot \hat m_t`. Each optimizer computes :math:`\eta_t` in one method,
``rate``, which its update uses; :func:`effective_lr` asks it for the rate of the
update that produced a state, so a run can plot how each coordinate's rate moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import learning_rate
from lrcourse.numpy.tree import Params, leaves, rebuild

__all__ = ["effective_lr"]


def effective_lr(opt: Optimizer, state: Any) -> Params:
    r"""Return the per-coordinate rate :math:`\eta_t` of the update that produced ``state``.

    ``state`` is the optimizer's state after update :math:`t` = ``state.count``
    :math:`\ge 1`, and :math:`\alpha_t` the rate that update used (``opt.lr``, or
    ``opt.lr(t - 1)`` for a schedule). The optimizer computes the rate, with the
    method its own update uses (``opt.rate``), so the two cannot disagree. For

    - :class:`Adagrad`, :math:`\eta_t = \dfrac{\alpha_t}{1 + (t-1)\,\eta}\,\dfrac{1}{\sqrt{s_t} + \epsilon}`,
      and the update was :math:`\theta_t = \theta_{t-1} - \eta_t \odot g_t`;
    - :class:`RMSprop`, :math:`\eta_t = \dfrac{\alpha_t}{\sqrt{v_t} + \epsilon}`
      (centered: :math:`\sqrt{v_t - \bar g_t^2}`), and the update was
      :math:`\theta_t = \theta_{t-1} - \eta_t \odot g_t` (with momentum, :math:`\eta_t`
      is the rate of the newest gradient:
      :math:`\theta_t = \theta_{t-1} - \alpha_t \beta_m m_{t-1} - \eta_t \odot g_t`);
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
    if not (isinstance(opt, Optimizer) and opt.rate_buffers):
        raise ValueError("opt must be an optimizer with a per-coordinate rate (Adagrad, RMSprop, Adam or AdamW), "
                         f"got {type(opt).__name__}")
    if not isinstance(state, opt.State):
        raise ValueError(f"state must be {opt.State.__name__}, got {type(state).__name__}")
    count = state.count
    if not (isinstance(count, (int, np.integer)) and count >= 1):
        raise ValueError(f"state.count must be >= 1 (the state after an update), got {count!r}")
    t = int(count)
    lr = learning_rate(opt.lr, t - 1)
    trees = [getattr(state, name) for name in opt.rate_buffers]
    n = len(leaves(trees[0]))
    columns = [[None] * n if tree is None else leaves(tree) for tree in trees]
    return rebuild(trees[0], [opt.rate(*buffers, lr=lr, t=t) for buffers in zip(*columns)])
