r"""Prodigy (Mishchenko and Defazio 2024) in NumPy: Adam with a step size it estimates itself.

The formulas, symbols and references are those of :class:`lrcourse.torch.Prodigy`
(whose hyperparameter rules are :meth:`Prodigy.check_hyperparameters`, here); this is the
same update as pure ``init`` and ``step`` on arrays, with the estimate :math:`d_t` in
the state. Its one estimate runs over every array of the params, so unlike the other
NumPy optimizers it takes one number per hyperparameter, not one per run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy._hyperparams import LearningRate, learning_rate
from lrcourse.numpy.tree import Params, leaves, leaves_like, rebuild
from lrcourse.validation import check, flag, integer, real
from lrcourse.validation import learning_rate as check_learning_rate

__all__ = ["Prodigy", "ProdigyState"]


class ProdigyState(NamedTuple):
    r"""State of :class:`Prodigy`.

    ``count`` is the number of steps taken (what a schedule sees); ``k`` the number of
    updates applied (a step whose rate is 0, or before any non-zero gradient, applies
    none, as in ``prodigyopt``); ``mu`` is :math:`m` (``exp_avg``; ``None`` when
    :math:`\beta_1 = 0`), ``nu`` :math:`v` (``exp_avg_sq``), ``s`` :math:`s` and ``p0``
    :math:`\theta_0`, both on every ``slice_p``-th coordinate of each flattened array;
    ``d`` is :math:`d_t`, the estimate the next update uses, ``d_max`` the largest
    :math:`\hat d` so far, ``d_numerator`` :math:`r`, ``d_denom`` :math:`\lVert s\rVert_1`,
    ``d_hat`` the last :math:`\hat d`.
    """

    count: int
    k: int
    mu: Params | None
    nu: Params
    s: Params
    p0: Params
    d: float
    d_max: float
    d_numerator: float
    d_denom: float
    d_hat: float


@dataclass(frozen=True)
class Prodigy(Optimizer):
    r"""Adam whose step size is an estimate :math:`d_t` of the distance to the solution: Prodigy.

    The update, its symbols, options and references are those of
    :class:`lrcourse.torch.Prodigy`, with the same names and defaults as
    ``prodigyopt.Prodigy`` (less ``fsdp_in_use``: there is nothing to shard here).
    ``lr`` (:math:`\lambda_t`) may be a schedule, called with ``count``; a step whose
    rate is 0 changes nothing but ``count``. Every number is one value: the estimate
    is one over all arrays of the params, so a run axis would need one estimate per
    run, which this class does not keep.

    >>> import numpy as np
    >>> from lrcourse.numpy import Prodigy
    >>> opt = Prodigy()
    >>> theta = np.zeros(1)
    >>> state = opt.init(theta)
    >>> for _ in range(300):  # f = (θ − 10)², the solution at distance 10
    ...     theta, state = opt.step(theta, 2 * (theta - 10.0), state)
    >>> bool(1.0 < state.d < 10.0), bool(abs(theta[0] - 10.0) < 1e-3)
    (True, True)
    """

    lr: LearningRate = 1.0
    betas: tuple[float, float] = (0.9, 0.999)
    beta3: float | None = None
    eps: float = 1e-8
    weight_decay: float = 0.0
    decouple: bool = True
    use_bias_correction: bool = False
    safeguard_warmup: bool = False
    d0: float = 1e-6
    d_coef: float = 1.0
    growth_rate: float = math.inf
    slice_p: int = 1

    State = ProdigyState

    def __post_init__(self) -> None:
        if not callable(self.lr):
            real("lr", self.lr, low=0.0, low_open=True)  # a schedule may give 0, the optimizer's rate may not
        super().__post_init__()

    @classmethod
    def check_hyperparameters(cls, values: Mapping[str, Any], *, per_run: bool = True) -> dict[str, Any]:
        """Check Prodigy's hyperparameters, here and in :class:`lrcourse.torch.Prodigy`; return them checked.

        ``lr`` finite and >= 0 (the constructor's > 0; with ``per_run``, the NumPy
        rules, a schedule too); ``betas`` a pair in [0, 1) each; ``beta3`` None or in
        [0, 1); ``eps`` and ``d0`` finite and > 0; ``weight_decay`` finite and >= 0;
        ``d_coef`` finite and > 0; ``growth_rate`` >= 1, inf allowed (a rate below 1
        would shrink :math:`d_t` at every step, which the method never means to do);
        ``slice_p`` an integer >= 1; ``decouple``, ``use_bias_correction``,
        ``safeguard_warmup`` True or False; ``fsdp_in_use``, where given (torch), False:
        sharded training is not supported. One number each, also with ``per_run``: the
        estimate is one for all arrays. Stricter than ``prodigyopt``, which refuses only
        a non-positive ``lr``, ``eps`` or ``d0`` and betas outside [0, 1).
        """
        betas = values["betas"]
        check(isinstance(betas, (tuple, list)), "betas", "a pair (beta1, beta2)", betas, TypeError)
        check(len(betas) == 2, "betas", "a pair (beta1, beta2)", betas)
        beta3 = values["beta3"]
        checked = dict(
            lr=check_learning_rate("lr", values["lr"], per_run=per_run) if callable(values["lr"]) else
            real("lr", values["lr"], low=0.0),
            betas=tuple(real(f"betas[{i}]", beta, low=0.0, high=1.0, high_open=True) for i, beta in enumerate(betas)),
            beta3=None if beta3 is None else real("beta3", beta3, low=0.0, high=1.0, high_open=True),
            eps=real("eps", values["eps"], low=0.0, low_open=True),
            weight_decay=real("weight_decay", values["weight_decay"], low=0.0),
            decouple=flag("decouple", values["decouple"]),
            use_bias_correction=flag("use_bias_correction", values["use_bias_correction"]),
            safeguard_warmup=flag("safeguard_warmup", values["safeguard_warmup"]),
            d0=real("d0", values["d0"], low=0.0, low_open=True),
            d_coef=real("d_coef", values["d_coef"], low=0.0, low_open=True),
            growth_rate=real("growth_rate", values["growth_rate"], low=1.0, finite=False),
            slice_p=integer("slice_p", values["slice_p"], low=1),
        )
        if "fsdp_in_use" in values:
            fsdp = flag("fsdp_in_use", values["fsdp_in_use"])
            check(not fsdp, "fsdp_in_use", "False (sharded training is not supported: use prodigyopt)", fsdp)
            checked["fsdp_in_use"] = fsdp
        return checked

    def init(self, params: Params) -> ProdigyState:
        """Return the state before the first update: no steps, fresh buffers, :math:`d = d_0`."""
        thetas = leaves(params)
        flat = [np.ravel(theta)[:: self.slice_p] for theta in thetas]
        return ProdigyState(
            count=0,
            k=0,
            mu=rebuild(params, [np.zeros_like(theta) for theta in thetas]) if self.betas[0] > 0 else None,
            nu=rebuild(params, [np.zeros_like(theta) for theta in thetas]),
            s=rebuild(params, [np.zeros_like(f) for f in flat]),
            p0=rebuild(params, [f.copy() for f in flat]),
            d=self.d0,
            d_max=self.d0,
            d_numerator=0.0,
            d_denom=0.0,
            d_hat=self.d0,
        )

    def step(self, params: Params, grads: Params, state: NamedTuple) -> tuple[Params, ProdigyState]:
        """Apply one update to every array of ``params``; return the new params and state.

        The two passes of :func:`lrcourse.torch.optim.prodigy`, on new arrays (nothing
        is modified in place): the first updates :math:`m, v, s` and sums the terms of
        the estimate over every array, the second steps with :math:`d_t\\gamma_t` and
        the new :math:`d_{t+1}`. A rate of 0, or :math:`\\lVert s_t\\rVert_1 = 0` (no
        non-zero gradient yet), leaves the params and the buffers as they were and
        advances only ``count`` (with :math:`\\lVert s_t\\rVert_1 = 0` and
        :math:`\\beta_3 = 0`, ``prodigyopt`` would still have decayed :math:`m` and
        :math:`v`; both are then 0, unless an earlier gradient was not).
        """
        if not isinstance(state, ProdigyState):
            raise ValueError(f"state must be ProdigyState, got {type(state).__name__}")
        lr = float(learning_rate(self.lr, state.count))
        skipped = state._replace(count=state.count + 1)
        if lr == 0:
            return params, skipped
        thetas = leaves(params)
        gs = leaves_like(grads, params, "grads")
        ms = [None] * len(thetas) if state.mu is None else leaves_like(state.mu, params, "state.mu")
        vs = leaves_like(state.nu, params, "state.nu")
        ss, p0s = leaves(state.s), leaves(state.p0)
        beta1, beta2 = self.betas
        beta3 = math.sqrt(beta2) if self.beta3 is None else self.beta3
        bias_correction = 1.0
        if self.use_bias_correction:
            bias_correction = (1 - beta2 ** (state.k + 1)) ** 0.5 / (1 - beta1 ** (state.k + 1))
        d, d0, wd, p = state.d, self.d0, self.weight_decay, self.slice_p
        dlr = d * lr * bias_correction  # the step size d_t γ_t
        weight = d / d0 * dlr  # d_t² γ_t / d_0
        increment, denominator = 0.0, 0.0
        for i, theta in enumerate(thetas):
            g = gs[i] + wd * theta if wd != 0 and not self.decouple else gs[i]  # coupled: g ← g + wθ
            gs[i] = g
            g_sliced = np.ravel(g)[::p]
            increment += weight * float(np.dot(g_sliced, p0s[i] - np.ravel(theta)[::p]))  # ⟨g_t, θ₀ − θ_t⟩
            if beta1 > 0:
                ms[i] = beta1 * ms[i] + d * (1 - beta1) * g  # m ← β₁ m + (1 − β₁) d_t g
            vs[i] = beta2 * vs[i] + d * d * (1 - beta2) * g * g  # v ← β₂ v + (1 − β₂) d_t² g²
            ss[i] = beta3 * ss[i] + (d / d0 * d if self.safeguard_warmup else weight) * g_sliced
            denominator += float(np.abs(ss[i]).sum())  # ‖s_t‖₁
        if denominator == 0:
            return params, skipped
        numerator = beta3 * state.d_numerator + increment  # r_t
        d_hat = self.d_coef * numerator / denominator
        if d == d0:  # the first estimate above d_0 is taken whole
            d = max(d, d_hat)
        d_max = max(state.d_max, d_hat)
        d = min(d_max, d * self.growth_rate)  # d_{t+1}
        new_thetas = []
        for i, theta in enumerate(thetas):
            denom = np.sqrt(vs[i]) + d * self.eps  # √v + d_{t+1} ε
            if wd != 0 and self.decouple:
                theta = theta - dlr * wd * theta  # decoupled: θ ← θ − d_t γ_t w θ
            if beta1 > 0:
                new_thetas.append(theta - dlr * (ms[i] / denom))  # θ ← θ − d_t γ_t m / (√v + d_{t+1} ε)
            else:
                new_thetas.append(theta - dlr * d * (gs[i] / denom))  # β₁ = 0: d_{t+1} g, as prodigyopt takes it
        return rebuild(params, new_thetas), ProdigyState(
            count=state.count + 1,
            k=state.k + 1,
            mu=None if state.mu is None else rebuild(params, ms),
            nu=rebuild(params, vs),
            s=rebuild(params, ss),
            p0=state.p0,
            d=d,
            d_max=d_max,
            d_numerator=numerator,
            d_denom=denominator,
            d_hat=d_hat,
        )
