r"""Schedule-free SGD and AdamW (Defazio et al., 2024): averaging in place of a decaying schedule.

A schedule-free method keeps three sequences. With :math:`x_0 = y_0 = z_0 = \theta_0`
and, at update :math:`t = 1, 2, \dots`, the gradient :math:`g_t` taken at
:math:`y_{t-1}`:

.. math::

    z_t &= z_{t-1} - \alpha_t\, d_t \\
    x_t &= (1 - c_t)\, x_{t-1} + c_t\, z_t \\
    y_t &= (1 - \beta)\, z_t + \beta\, x_t

:math:`z` is the base method's own iterate (plain SGD, or Adam without momentum, whose
direction :math:`d_t` is :math:`g_t` or :math:`g_t / (\sqrt{\hat v_t} + \epsilon)`), at a
constant rate; :math:`x` is a running weighted average of the :math:`z`, the point to
evaluate and to keep at the end; :math:`y`, between the two, is where the gradient is
taken. :math:`\beta` plays the part of momentum: :math:`\beta = 0` gives :math:`y = z`, plain
SGD with its iterates averaged on the side (Polyak–Ruppert averaging), :math:`\beta = 1`
gives :math:`y = x`, gradients taken at the average itself (primal averaging); the
package's default is :math:`\beta = 0.9`. The indices are the paper's (its gradient at
:math:`y_t` gives :math:`z_{t+1}` and :math:`x_{t+1}`), with :math:`t` the number of
updates applied, as everywhere in the book. The averaging weight is

.. math::

    c_t = \frac{w_t}{\sum_{i=1}^{t} w_i}, \qquad
    w_t = t^{\,r} \, \bigl(\max_{i \le t} \alpha_i\bigr)^{p},

``r`` the polynomial weighting and ``weight_lr_power`` :math:`p`: with a constant rate
and :math:`r = 0`, :math:`c_t = 1/t` and :math:`x_t` is the plain mean of
:math:`z_1 \dots z_t`; during a warmup the early, small-rate iterates weigh less. The
rate is :math:`\alpha_t = \alpha \min(1, t / W)` with ``warmup_steps`` :math:`W`. Defazio et al.
prove that on convex Lipschitz problems the average reaches the optimal worst-case
rate at every horizon :math:`T` without knowing :math:`T`, and report that it matched
or beat tuned cosine schedules in their experiments (the paper's results, not
reproduced here).

The parameters an optimizer holds are :math:`y` while training (its gradients are the
ones the method needs) and :math:`x` for evaluation: ``eval`` turns the one into the
other, :math:`x = y + (1/\beta - 1)(y - z)`, and ``train`` turns it back,
:math:`y = \beta x + (1 - \beta) z`, exactly as the ``schedulefree`` package's
``optimizer.eval()`` and ``optimizer.train()``. A model with BatchNorm also needs its
running statistics recomputed at :math:`x` before it is evaluated (the package's
advice); this layer knows only arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import Hyperparameter, LearningRate, for_leaf, learning_rate, nonzero
from lrcourse.numpy.tree import Params, leaves, leaves_like, rebuild
from lrcourse.validation import MAX_STEPS, check, hyperparameter, integer
from lrcourse.validation import learning_rate as check_learning_rate

__all__ = ["SGDScheduleFree", "AdamWScheduleFree", "ScheduleFreeState", "averaging_weight"]


class ScheduleFreeState(NamedTuple):
    r"""State of :class:`SGDScheduleFree` and :class:`AdamWScheduleFree`.

    ``count`` is the number of updates applied (the next is :math:`t` = ``count + 1``);
    ``z`` is :math:`z`, the base method's iterate; ``nu`` is AdamW's :math:`v`, the
    running mean of the squared gradients (``exp_avg_sq``), ``None`` for SGD;
    ``weight_sum`` is :math:`\sum_{i \le t} w_i` and ``lr_max`` is
    :math:`\max_{i \le t} \alpha_i` (numbers, or one per run); ``train`` says whether
    the params are :math:`y` (True, after :meth:`~SGDScheduleFree.train`) or :math:`x`
    (False: a fresh state, or after :meth:`~SGDScheduleFree.eval`).
    """

    count: int
    z: Params
    nu: Params | None
    weight_sum: Hyperparameter
    lr_max: Hyperparameter
    train: bool


def averaging_weight(t: int, lr_max: Any, weight_sum: Any, *, r: Any, weight_lr_power: Any) -> tuple[Any, Any]:
    r"""Return :math:`c_t` and the new :math:`\sum_{i \le t} w_i` of update ``t``, :math:`w_t = t^r \alpha_{\max}^p`.

    ``lr_max`` is :math:`\max_{i \le t} \alpha_i`, ``weight_sum`` the sum before this
    update. While every weight so far is 0 (a rate of 0 with :math:`p > 0`),
    :math:`c_t = 0`, as in the ``schedulefree`` package. Numbers give floats, one value
    per run gives arrays.

    >>> round(averaging_weight(3, 0.1, 2 * 0.1**2, r=0.0, weight_lr_power=2.0)[0], 12)  # constant rate: 1 / t
    0.333333333333
    """
    weight = float(t) ** np.asarray(r) * np.asarray(lr_max, dtype=np.float64) ** np.asarray(weight_lr_power)
    total = weight_sum + weight
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(total != 0, weight / np.where(total != 0, total, 1.0), 0.0)
    if np.ndim(c) == 0:
        return float(c), float(total)
    return c, total


def lerp(start: Any, end: Any, weight: Any) -> Any:
    """Return ``start + weight * (end - start)``, rounded as ``torch.lerp`` rounds it (exactly ``end`` at weight 1)."""
    diff = end - start
    if np.ndim(weight) == 0:
        return start + weight * diff if weight < 0.5 else end - diff * (1 - weight)
    return np.where(weight < 0.5, start + weight * diff, end - diff * (1 - weight))


class _ScheduleFree(Optimizer):
    """What schedule-free SGD and AdamW share: the averaging, ``train`` and ``eval``, the step over leaves."""

    State = ScheduleFreeState
    warmup_steps: int
    r: Hyperparameter
    weight_lr_power: Hyperparameter

    def interpolation(self) -> Hyperparameter:
        r"""Return :math:`\beta`, the interpolation between :math:`z` and :math:`x` that gives :math:`y`."""
        raise NotImplementedError

    @staticmethod
    def _check_common(values: Mapping[str, Any], number: Any, per_run: bool) -> dict[str, Any]:
        return dict(
            lr=check_learning_rate("lr", values["lr"], per_run=per_run),
            weight_decay=number("weight_decay", values["weight_decay"], low=0.0),
            warmup_steps=integer("warmup_steps", values["warmup_steps"], low=0, high=MAX_STEPS),
            r=number("r", values["r"], low=0.0),
            weight_lr_power=number("weight_lr_power", values["weight_lr_power"], low=0.0),
        )

    def init(self, params: Params) -> ScheduleFreeState:
        """Return the state before the first update: :math:`z_0 = \\theta_0`, in evaluation mode (as the package)."""
        thetas = leaves(params)
        z = rebuild(params, [np.array(theta, copy=True) for theta in thetas])
        nu = rebuild(params, [np.zeros_like(theta) for theta in thetas]) if self._adaptive() else None
        return ScheduleFreeState(0, z, nu, 0.0, 0.0, False)

    def _adaptive(self) -> bool:
        return False

    def train(self, params: Params, state: ScheduleFreeState) -> tuple[Params, ScheduleFreeState]:
        r"""Return the params at :math:`y = \beta x + (1 - \beta) z` and the state in training mode.

        ``params`` must be :math:`x` (a fresh state's params, or what :meth:`eval`
        returned); in training mode already, nothing changes. Call it before the first
        :meth:`step`, as the ``schedulefree`` package asks of ``optimizer.train()``.
        """
        self._check_state(state)
        if state.train:
            return params, state
        return self._move(params, state, lambda beta: 1 - beta), state._replace(train=True)

    def eval(self, params: Params, state: ScheduleFreeState) -> tuple[Params, ScheduleFreeState]:
        r"""Return the params at the average :math:`x = y + (1/\beta - 1)(y - z)` and the state in evaluation mode.

        ``params`` must be :math:`y`, what :meth:`step` returned; in evaluation mode
        already, nothing changes. Evaluate, or keep, the model at these params.
        """
        self._check_state(state)
        if not state.train:
            return params, state
        return self._move(params, state, lambda beta: 1 - 1 / beta), state._replace(train=False)

    def _move(self, params: Params, state: ScheduleFreeState, weight: Any) -> Params:
        # θ ← θ + w (z − θ), the package's lerp towards z (w = 1 − β to y, 1 − 1/β to x)
        thetas, zs = leaves(params), leaves_like(state.z, params, "state.z")
        moved = []
        for theta, z in zip(thetas, zs):
            (beta,) = for_leaf(theta, self.interpolation())
            moved.append(lerp(theta, z, weight(beta)))
        return rebuild(params, moved)

    def _check_state(self, state: Any) -> None:
        if not isinstance(state, ScheduleFreeState):
            raise ValueError(f"state must be ScheduleFreeState, got {type(state).__name__}")

    def step(self, params: Params, grads: Params, state: ScheduleFreeState) -> tuple[Params, ScheduleFreeState]:
        """Apply update ``t = count + 1`` at the params :math:`y`; return the new :math:`y` and state.

        The state must be in training mode (:meth:`train` first), or a ``ValueError``
        says so, as the package refuses a step outside ``optimizer.train()``.
        """
        self._check_state(state)
        check(state.train, "state", "in training mode (call params, state = opt.train(params, state) before "
              "step, and opt.eval(params, state) to evaluate)", "a state in evaluation mode")
        thetas = leaves(params)
        gs = leaves_like(grads, params, "grads")
        zs = leaves_like(state.z, params, "state.z")
        nus = leaves_like(state.nu, params, "state.nu") if state.nu is not None else [None] * len(thetas)
        t = state.count + 1
        lr = learning_rate(self.lr, state.count)
        if t < self.warmup_steps:
            lr = lr * (t / self.warmup_steps)  # α_t = α min(1, t / W)
        lr_max = np.maximum(lr, state.lr_max)
        lr_max = float(lr_max) if np.ndim(lr_max) == 0 else lr_max
        c, weight_sum = averaging_weight(t, lr_max, state.weight_sum, r=self.r, weight_lr_power=self.weight_lr_power)
        updated = [self.update(y, g, z, nu, lr=lr, c=c, t=t) for y, g, z, nu in zip(thetas, gs, zs, nus)]
        new_y, new_z, new_nu = (list(column) for column in zip(*updated)) if updated else ([], [], [])
        nu_tree = rebuild(params, new_nu) if state.nu is not None else None
        return rebuild(params, new_y), ScheduleFreeState(t, rebuild(params, new_z), nu_tree, weight_sum, lr_max, True)

    def direction(self, y: Any, g: Any, nu: Any, *, t: int) -> tuple[Any, Any]:
        """Return the base method's direction :math:`d_t` (weight decay included) and the new ``nu``."""
        raise NotImplementedError

    def update(self, y: Any, g: Any, z: Any, nu: Any, *, lr: Any, c: Any, t: int) -> tuple[Any, Any, Any]:  # type: ignore[override]
        r"""Return :math:`y_t, z_t` and ``nu`` after update ``t`` of one params array :math:`y_{t-1}`.

        :math:`x` is not stored: from :math:`y = (1 - \beta) z + \beta x`,

        .. math:: y_t = (1 - c_t)\, y_{t-1} + c_t\, z_{t-1} - \alpha_t \bigl(1 - \beta (1 - c_t)\bigr)\, d_t,

        the package's in-place form, which equals the three lines of the recursion.
        """
        d, nu = self.direction(y, g, nu, t=t)
        alpha, beta, c_ = for_leaf(y, lr, self.interpolation(), c)
        y = lerp(y, z, c_) - alpha * (1 - beta * (1 - c_)) * d  # the package's y.lerp_(z, c), then y.add_(d, ...)
        z = z - alpha * d  # z_t = z_{t-1} − α_t d_t
        return y, z, nu


@dataclass(frozen=True)
class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-free SGD: SGD on :math:`z`, gradients at :math:`y`, evaluation at the average :math:`x`.

    The recursion of :mod:`lrcourse.numpy.schedulefree` with the direction

    .. math:: d_t = g_t + \lambda\, y_{t-1}

    (``weight_decay`` :math:`\lambda`, an L2 penalty taken at :math:`y`). ``lr`` is
    :math:`\alpha` (a number, one per run, or a schedule, which the warmup then
    multiplies), ``momentum`` is :math:`\beta \in (0, 1)`, ``warmup_steps`` is
    :math:`W`, ``r`` and ``weight_lr_power`` set the averaging weights :math:`w_t`.

    Same arguments, defaults (``lr=1.0``, ``momentum=0.9``) and arithmetic as the
    ``schedulefree`` package's ``SGDScheduleFree``; the state holds :math:`z` (its
    ``z``) and the sums it keeps per param group. The warmup follows the package, not
    :class:`lrcourse.schedules.Warmup`: the first update has rate :math:`\alpha / W`,
    not 0. Unlike the package, the gradients passed in are not modified.

    References:
        Defazio, A., Yang, X., Mehta, H., Mishchenko, K., Khaled, A. and Cutkosky, A.
        (2024). The road less scheduled. NeurIPS. arXiv:2405.15682.

    >>> import numpy as np
    >>> opt = SGDScheduleFree(lr=0.1, momentum=0.9)
    >>> y = np.array([1.0])
    >>> y, state = opt.train(y, opt.init(y))
    >>> for _ in range(2):  # a constant gradient of 1: z goes 0.9, 0.8; x = their mean
    ...     y, state = opt.step(y, np.array([1.0]), state)
    >>> y.round(12), opt.eval(y, state)[0].round(12)  # y = 0.1 z + 0.9 x
    (array([0.845]), array([0.85]))
    """

    lr: LearningRate = 1.0
    momentum: Hyperparameter = 0.9
    weight_decay: Hyperparameter = 0.0
    warmup_steps: int = 0
    r: Hyperparameter = 0.0
    weight_lr_power: Hyperparameter = 2.0

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check the hyperparameters, here and in :class:`lrcourse.torch.SGDScheduleFree`; return them checked.

        ``lr``, ``weight_decay``, ``r`` and ``weight_lr_power`` are finite and >= 0,
        ``momentum`` is in (0, 1) (the package's rule: :math:`x` is recovered from
        :math:`y` by dividing by it), ``warmup_steps`` an integer >= 0. With ``per_run``
        each number may be an array of one value per run, and ``lr`` a schedule.
        """
        number = functools.partial(hyperparameter, per_run=per_run)
        return dict(momentum=number("momentum", values["momentum"], low=0.0, high=1.0, low_open=True,
                                    high_open=True),
                    **cls._check_common(values, number, per_run))

    def interpolation(self) -> Hyperparameter:
        return self.momentum

    def direction(self, y: Any, g: Any, nu: Any, *, t: int) -> tuple[Any, Any]:
        if nonzero(self.weight_decay):
            (wd,) = for_leaf(y, self.weight_decay)
            g = g + wd * y  # an L2 penalty at y
        return g, nu


@dataclass(frozen=True)
class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-free AdamW: Adam's scaling without its momentum, on :math:`z`; evaluation at :math:`x`.

    The recursion of :mod:`lrcourse.numpy.schedulefree` with the direction

    .. math::

        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, \qquad
        \hat v_t = \frac{v_t}{1 - \beta_2^t} \\
        d_t &= \frac{g_t}{\sqrt{\hat v_t} + \epsilon} + \lambda\, y_{t-1}

    ``betas`` is :math:`(\beta_1, \beta_2)`: :math:`\beta_1` is the interpolation
    :math:`\beta` of :math:`y` (in (0, 1), no first moment is kept), :math:`\beta_2`
    Adam's. ``weight_decay`` :math:`\lambda` is added after the division, at
    :math:`y`, so it is decoupled from the scaling as in AdamW and applied to
    :math:`z` and :math:`y` with the rate. The rest as in :class:`SGDScheduleFree`.

    Same arguments, defaults (``lr=0.0025``, ``betas=(0.9, 0.999)``, ``eps=1e-8``) and
    arithmetic as the ``schedulefree`` package's ``AdamWScheduleFree``, whose
    bias correction counts the updates of the param group (one ``t`` for all the
    arrays). Unlike the package, the gradients passed in are not modified.

    References:
        Defazio, A., Yang, X., Mehta, H., Mishchenko, K., Khaled, A. and Cutkosky, A.
        (2024). The road less scheduled. NeurIPS. arXiv:2405.15682.
        Loshchilov, I. and Hutter, F. (2019). Decoupled weight decay regularization. ICLR.

    >>> import numpy as np
    >>> opt = AdamWScheduleFree(lr=0.1)
    >>> y = np.array([1.0, -2.0])
    >>> y, state = opt.train(y, opt.init(y))
    >>> y, state = opt.step(y, np.array([0.5, -100.0]), state)
    >>> y.round(6)  # the first update moves each coordinate by lr, as Adam's does
    array([ 0.9, -1.9])
    """

    lr: LearningRate = 0.0025
    betas: tuple[Hyperparameter, Hyperparameter] = (0.9, 0.999)
    eps: Hyperparameter = 1e-8
    weight_decay: Hyperparameter = 0.0
    warmup_steps: int = 0
    r: Hyperparameter = 0.0
    weight_lr_power: Hyperparameter = 2.0

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check the hyperparameters, here and in :class:`lrcourse.torch.AdamWScheduleFree`; return them checked.

        ``betas`` is a pair (a tuple or a list of two): ``betas[0]`` in (0, 1) (the
        interpolation, divided by in ``eval``), ``betas[1]`` in [0, 1); ``eps`` >= 0;
        the rest as in :meth:`SGDScheduleFree.check_hyperparameters`. The package
        checks none of these.
        """
        number = functools.partial(hyperparameter, per_run=per_run)
        betas = values["betas"]
        check(isinstance(betas, (tuple, list)), "betas", "a pair (beta1, beta2)", betas, TypeError)
        check(len(betas) == 2, "betas", "a pair (beta1, beta2)", betas)
        return dict(
            betas=(number("betas[0]", betas[0], low=0.0, high=1.0, low_open=True, high_open=True),
                   number("betas[1]", betas[1], low=0.0, high=1.0, high_open=True)),
            eps=number("eps", values["eps"], low=0.0),
            **cls._check_common(values, number, per_run),
        )

    def _adaptive(self) -> bool:
        return True

    def interpolation(self) -> Hyperparameter:
        return self.betas[0]

    def direction(self, y: Any, g: Any, nu: Any, *, t: int) -> tuple[Any, Any]:
        beta2, eps, wd = for_leaf(y, self.betas[1], self.eps, self.weight_decay)
        nu = beta2 * nu + (1 - beta2) * g * g  # v_t = β₂ v + (1 − β₂) g²
        d = g / (np.sqrt(nu / (1 - beta2**t)) + eps)  # g / (√v̂ + ε)
        if nonzero(self.weight_decay):
            d = d + wd * y  # the decay, after the division, at y
        return d, nu

