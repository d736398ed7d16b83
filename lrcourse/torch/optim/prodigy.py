r"""Prodigy, a learning-rate-free Adam, as a ``torch.optim.Optimizer`` subclass.

Prodigy (Mishchenko and Defazio 2024) runs Adam with a step size it estimates as it
goes: :math:`d_t`, an estimate of the distance
:math:`D_\infty = \lVert\theta_0 - \theta^*\rVert_\infty` from the start to a solution
(the largest distance of one coordinate, the scale of Adam's per-coordinate steps),
grown from a tiny :math:`d_0` and never shrunk. It is D-Adaptation (Defazio and
Mishchenko 2023) with its estimate's terms weighted by :math:`d_t^2` instead of
:math:`d_t`, which lets it grow faster. The update is
:func:`~lrcourse.torch.optim.prodigy`; :class:`~lrcourse.torch.optim.Prodigy` keeps the
estimate in its param groups (``d``, ``d_max``, ``d_hat``, ``d_numerator``,
``d_denom``), where a chapter reads it after each step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

import lrcourse.numpy as lnp
from lrcourse.torch.optim._base import Optimizer
from lrcourse.validation import check, real

__all__ = ["Prodigy", "ProdigyTensors", "DEstimate", "prodigy"]


class ProdigyTensors(NamedTuple):
    """The tensors of one param group that :func:`~lrcourse.torch.optim.prodigy` updates, and the group's own settings.

    ``params``, their ``grads``, the running means ``exp_avgs`` (:math:`m`; empty when
    :math:`\\beta_1 = 0`) and ``exp_avg_sqs`` (:math:`v`), ``s`` (:math:`s`, on every
    ``slice_p``-th coordinate of the flattened tensor) and ``p0`` (:math:`\\theta_0` on
    the same coordinates, or a 0-d zero for a tensor that started at zero).
    """

    params: list[torch.Tensor]
    grads: list[torch.Tensor]
    exp_avgs: list[torch.Tensor]
    exp_avg_sqs: list[torch.Tensor]
    s: list[torch.Tensor]
    p0: list[torch.Tensor]
    eps: float
    weight_decay: float
    safeguard_warmup: bool
    slice_p: int


class DEstimate(NamedTuple):
    r"""Prodigy's estimate of the distance, as its param groups keep it.

    ``d`` is :math:`d_t`, the estimate the next update uses; ``d_max`` the largest
    :math:`\hat d` so far (at least :math:`d_0`); ``d_numerator`` :math:`r_{t-1}`;
    ``d_denom`` :math:`\lVert s_{t-1}\rVert_1`; ``d_hat`` :math:`\hat d_t`, the last
    raw estimate (:math:`d_0` before the first update).
    """

    d: float
    d_max: float
    d_numerator: float
    d_denom: float
    d_hat: float


def prodigy(
    groups: list[ProdigyTensors],
    estimate: DEstimate,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    beta3: float,
    d0: float,
    d_coef: float,
    growth_rate: float,
    bias_correction: float,
    decouple: bool,
) -> DEstimate | None:
    r"""Apply one Prodigy update in place to the tensors of ``groups``; return the new estimate.

    The formulas are :class:`~lrcourse.torch.optim.Prodigy`'s. The update runs in two passes. The first
    updates each tensor's :math:`m`, :math:`v` and :math:`s` and sums the two terms of
    the estimate (the numerator's increment and :math:`\lVert s_t\rVert_1`) over every
    tensor of every group, as Python floats (double precision, also for float32
    params, as in ``prodigyopt``); from them comes :math:`d_{t+1}`. The second moves
    every tensor with the step :math:`d_t\gamma_t` and the new :math:`d_{t+1}` in the
    denominator's :math:`\epsilon` term. When :math:`\lVert s_t\rVert_1 = 0` (no
    gradient so far has been non-zero) the estimate is undefined: the second pass is
    skipped, nothing moves, and ``None`` is returned, as ``prodigyopt`` returns early.

    ``bias_correction`` is the scalar :math:`\sqrt{1-\beta_2^{t+1}}/(1-\beta_1^{t+1})`,
    or 1 without it, computed by the caller.
    """
    d = estimate.d
    dlr = d * lr * bias_correction  # the step size d_t γ_t
    weight = d / d0 * dlr  # d_t² γ_t / d_0: the weight of this update in r and s
    increment = 0.0  # r_t − β₃ r_{t−1}, summed over the tensors
    denominator = 0.0  # ‖s_t‖₁, summed over the tensors
    for group in groups:
        for i, theta in enumerate(group.params):
            g = group.grads[i]
            if group.weight_decay != 0 and not decouple:
                g = g.add(theta, alpha=group.weight_decay)  # coupled: g ← g + wθ
            g_sliced = g.flatten()[:: group.slice_p]
            increment += weight * torch.dot(g_sliced, group.p0[i] - theta.flatten()[:: group.slice_p]).item()
            if beta1 > 0:
                group.exp_avgs[i].mul_(beta1).add_(g, alpha=d * (1 - beta1))  # m ← β₁ m + (1 − β₁) d_t g
            # v ← β₂ v + (1 − β₂) d_t² g²
            group.exp_avg_sqs[i].mul_(beta2).addcmul_(g, g, value=d * d * (1 - beta2))
            s_weight = d / d0 * d if group.safeguard_warmup else weight  # without γ_t: a warmup does not shrink s
            group.s[i].mul_(beta3).add_(g_sliced, alpha=s_weight)  # s ← β₃ s + (d_t² γ_t / d_0) g
            denominator += group.s[i].abs().sum().item()
    if denominator == 0:
        return None
    numerator = beta3 * estimate.d_numerator + increment  # r_t = β₃ r_{t−1} + (d_t² γ_t / d₀) ⟨g_t, θ₀ − θ_t⟩
    d_hat = d_coef * numerator / denominator  # d̂ = c r_t / ‖s_t‖₁
    if d == d0:  # the first estimate may jump past growth_rate
        d = max(d, d_hat)
    d_max = max(estimate.d_max, d_hat)
    d = min(d_max, d * growth_rate)  # d_{t+1}: never below d_t, at most growth_rate · d_t
    for group in groups:
        for i, theta in enumerate(group.params):
            denom = group.exp_avg_sqs[i].sqrt().add_(d * group.eps)  # √v + d_{t+1} ε
            if group.weight_decay != 0 and decouple:
                theta.add_(theta, alpha=-dlr * group.weight_decay)  # decoupled: θ ← θ − d_t γ_t w θ
            if beta1 > 0:
                theta.addcdiv_(group.exp_avgs[i], denom, value=-dlr)  # θ ← θ − d_t γ_t m / (√v + d_{t+1} ε)
            else:
                g = group.grads[i]
                if group.weight_decay != 0 and not decouple:
                    g = g.add(theta, alpha=group.weight_decay)
                theta.addcdiv_(g, denom, value=-dlr * d)  # β₁ = 0: m is d_{t+1} g, as prodigyopt takes it
    return DEstimate(d, d_max, numerator, denominator, d_hat)


# One estimate for every param group: these must be the same in each.
SHARED = ("betas", "beta3", "d0", "d_coef", "growth_rate", "use_bias_correction", "decouple", "fsdp_in_use")


class Prodigy(Optimizer):
    r"""Adam whose step size is an estimate :math:`d_t` of the distance to the solution: Prodigy.

    At update :math:`t = 0, 1, \dots` (the number of updates already applied), with
    :math:`g_t` the gradient at :math:`\theta_t`, :math:`\lambda_t` = ``lr`` (a
    multiplier, default 1: a schedule scales it), :math:`m = v = s = 0` and
    :math:`r_{-1} = 0` at the start:

    .. math::

        \gamma_t &= \lambda_t \, \frac{\sqrt{1 - \beta_2^{t+1}}}{1 - \beta_1^{t+1}}
                   \quad (\text{or } \lambda_t \text{ without bias correction}) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, d_t\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, d_t^2\, g_t^2 \\
        r_t &= \beta_3 r_{t-1} + \frac{d_t^2 \gamma_t}{d_0}\,
               \langle g_t, \theta_0 - \theta_t \rangle \\
        s_t &= \beta_3 s_{t-1} + \frac{d_t^2 \gamma_t}{d_0}\, g_t \\
        \hat d_{t+1} &= c\, \frac{r_t}{\lVert s_t \rVert_1}, \qquad
        d_{t+1} = \min\Big(\max_{k \le t+1} \hat d_k,\; \rho\, d_t\Big) \\
        \theta_{t+1} &= \theta_t - d_t \gamma_t \,
                        \frac{m_t}{\sqrt{v_t} + d_{t+1} \epsilon}

    ``betas`` is :math:`(\beta_1, \beta_2)`, ``beta3`` :math:`\beta_3` (default
    :math:`\sqrt{\beta_2}`), ``eps`` :math:`\epsilon`, ``d0`` :math:`d_0`, ``d_coef``
    :math:`c`, ``growth_rate`` :math:`\rho`; the max runs over :math:`\hat d_1, \dots,
    \hat d_{t+1}` and :math:`d_0`. The inner product, :math:`s` and the norm run over
    every coordinate of every param group.

    Why :math:`d_t` stays below :math:`D_\infty = \lVert\theta_0 - \theta^*\rVert_\infty`:
    for a convex loss and full-batch gradients,
    :math:`\langle g_t, \theta_t - \theta^* \rangle \ge f(\theta_t) - f^* \ge 0`, so,
    :math:`r` and :math:`s` carrying the same weights (:math:`\beta_3` discounts both
    alike), :math:`r_t \le \langle s_t, \theta_0 - \theta^* \rangle \le D_\infty
    \lVert s_t\rVert_1` by Hölder's inequality (the :math:`\ell_1` norm of :math:`s`
    against the :math:`\ell_\infty` distance). Hence :math:`\hat d \le c\, D_\infty`
    and :math:`d_t \le \max(d_0, c\, D_\infty)`. In one dimension :math:`D_\infty` is the
    distance :math:`\lVert\theta_0 - \theta^*\rVert`; in more it is at most that: the
    Adam version estimates the scale of a per-coordinate step. The bound need not hold
    for minibatch gradients, nor with ``safeguard_warmup`` when :math:`\lambda_t`
    changes (then :math:`s` is weighted differently). The estimate grows while the run
    moves in a steady direction (the numerator adds up, the norm of the discounted
    gradients does not) and stops growing when the gradients start to cancel, near the
    solution, often well below :math:`D_\infty` (tests/test_prodigy.py measures 0.53 to
    0.59 of it on isotropic quadratics, 0.12 on an ill-conditioned least-squares fit).
    Dividing the weights by :math:`d_0` cancels in :math:`\hat d`; it keeps :math:`r`
    and :math:`s` away from float underflow while :math:`d_t` is tiny. While
    :math:`d_t = d_0`, the first :math:`\hat d` above :math:`d_0` is taken whole, past
    :math:`\rho`, as in ``prodigyopt``.

    Options, all those of ``prodigyopt.Prodigy`` with the same names and defaults:

    - ``weight_decay`` :math:`w`: with ``decouple`` (the default, AdamW's way)
      :math:`\theta_t` is first shrunk by :math:`1 - d_t\gamma_t w`; without, :math:`w
      \theta_t` is added to :math:`g_t` everywhere above (an L2 penalty).
    - ``use_bias_correction``: Adam's bias correction, folded into :math:`\gamma_t`
      (off by default, as in the paper's experiments).
    - ``safeguard_warmup``: :math:`s_t` is weighted by :math:`d_t^2/d_0` without
      :math:`\gamma_t`, so that a warmup's small :math:`\lambda_t` does not shrink the
      denominator and inflate :math:`\hat d`.
    - ``slice_p``: :math:`r` and :math:`s` use only every ``slice_p``-th coordinate of
      each flattened tensor (an approximation that saves memory; 1, exact, by default).
    - ``betas[0] = 0``: no :math:`m`; the step uses :math:`d_{t+1} g_t` in its place.
    - ``fsdp_in_use=True`` is refused (``ValueError``), and so are FSDP's flattened
      parameters: the sums would have to be all-reduced over processes, which this
      single-process class does not do; use ``prodigyopt`` for sharded training.

    The estimate is kept, as in ``prodigyopt``, in every param group: ``d``
    (:math:`d_{t+1}` after update :math:`t`, the value the next update uses),
    ``d_max``, ``d_hat``, ``d_numerator`` (:math:`r_t`), ``d_denom``
    (:math:`\lVert s_t\rVert_1`) and ``k``, the number of updates applied. Read it
    after each step: ``optimizer.param_groups[0]["d"]``. The state of each parameter
    is ``prodigyopt``'s too (``step``, an int; ``s``, ``p0``, ``exp_avg_sq``, and
    ``exp_avg`` unless :math:`\beta_1 = 0`), so ``state_dict`` loads in either
    direction.

    Where we differ from ``prodigyopt`` 1.1.2, and why:

    - a param group whose ``lr`` is 0 is frozen: nothing in it changes. prodigyopt
      skips it in the estimate but still applies decoupled weight decay at the other
      groups' rate and, with :math:`\beta_1 = 0`, steps it by :math:`d_t\gamma_t g /
      \epsilon`, the :math:`v` it never updated being 0;
    - the settings that shape the one estimate (``betas``, ``beta3``, ``d0``,
      ``d_coef``, ``growth_rate``, ``use_bias_correction``, ``decouple``) must be the
      same in every param group (``ValueError``); prodigyopt reads them from the first
      group, or from the last, and ignores the others. ``lr``, ``eps``,
      ``weight_decay``, ``safeguard_warmup`` and ``slice_p`` may differ; the groups
      that train share one ``lr`` (prodigyopt's ``RuntimeError`` there is a
      ``ValueError`` here);
    - coupled weight decay does not add :math:`w\theta` to ``p.grad`` in place (the
      gradient a caller reads after the step is the one it computed);
    - the values are checked by :meth:`lrcourse.numpy.Prodigy.check_hyperparameters`
      (the NumPy twin's rules, on every param group): stricter than
      prodigyopt, which refuses only a non-positive ``lr``, ``eps`` or ``d0`` and betas
      outside [0, 1); complex and sparse gradients are refused (prodigyopt's inner
      product and squares are not those of the pair of reals).

    References:
        Mishchenko, K. and Defazio, A. (2024). Prodigy: an expeditiously adaptive
        parameter-free learner. ICML (its Adam version).
        Defazio, A. and Mishchenko, K. (2023). Learning-rate-free learning by
        D-Adaptation. ICML.

    >>> import torch
    >>> from lrcourse.torch import Prodigy
    >>> w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    >>> opt = Prodigy([w])  # lr = 1: no rate to choose
    >>> for _ in range(300):
    ...     opt.zero_grad()
    ...     ((w - 10.0) ** 2).sum().backward()  # the solution is at distance 10
    ...     opt.step()
    >>> d = opt.param_groups[0]["d"]
    >>> 1.0 < d < 10.0, abs(w.item() - 10.0) < 1e-3  # grown from d0 = 1e-6 to below the distance; solved
    (True, True)
    """

    update = staticmethod(prodigy)
    check_hyperparameters = staticmethod(lnp.Prodigy.check_hyperparameters)

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        betas: tuple[float, float] = (0.9, 0.999),
        beta3: float | None = None,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decouple: bool = True,
        use_bias_correction: bool = False,
        safeguard_warmup: bool = False,
        d0: float = 1e-6,
        d_coef: float = 1.0,
        growth_rate: float = math.inf,
        fsdp_in_use: bool = False,
        slice_p: int = 1,
    ) -> None:
        real("lr", lr, low=0.0, low_open=True)  # a group may be frozen with 0, the optimizer may not
        defaults = dict(
            lr=lr,
            betas=betas,
            beta3=beta3,
            eps=eps,
            weight_decay=weight_decay,
            decouple=decouple,
            use_bias_correction=use_bias_correction,
            safeguard_warmup=safeguard_warmup,
            d0=d0,
            d_coef=d_coef,
            growth_rate=growth_rate,
            fsdp_in_use=fsdp_in_use,
            slice_p=slice_p,
            # the estimate, as prodigyopt keeps it in each group
            d=d0,
            d_max=d0,
            d_numerator=0.0,
            k=0,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group: checked as the constructor's, with the settings of the estimate those of the others.

        The settings in ``SHARED`` (``betas``, ``beta3``, ``d0``, ``d_coef``,
        ``growth_rate``, ``use_bias_correction``, ``decouple``) must equal the first
        group's, and a group's ``lr`` must be 0 or the others' (``ValueError``, naming the
        group); complex parameters and FSDP's flattened ones are refused.
        """
        if isinstance(param_group, dict) and self.param_groups:
            first, number = self.param_groups[0], len(self.param_groups)
            for name in SHARED:
                value = param_group.get(name, self.defaults[name])
                if value != first[name]:
                    raise ValueError(f"param group {number}: {name} must be the same in every param group "
                                     f"(Prodigy's d is one estimate for all of them): the first group's "
                                     f"{first[name]!r}, got {value!r}")
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            check(not p.is_complex(), "params", "real tensors (Prodigy does not train complex ones)", p.dtype,
                  TypeError)
            check(not hasattr(p, "_fsdp_flattened"), "params", "unsharded tensors (FSDP is not supported)", "FSDP")
        self._training_lr()

    def _training_lr(self) -> float:
        """Return the ``lr`` of the groups that train; ``ValueError`` unless every group has it or 0."""
        rates = [float(group["lr"]) for group in self.param_groups]
        lr = max(rates)
        check(all(rate in (0.0, lr) for rate in rates), "lr",
              "the same in every param group, or 0 for a frozen group (Prodigy's d is one estimate)", rates)
        return lr

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Update every parameter with a gradient, in the groups whose ``lr`` is not 0; return ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss; it runs first, with
        gradients enabled. The estimate of every group is then :func:`~lrcourse.torch.optim.prodigy`'s.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        lr = self._training_lr()
        first = self.param_groups[0]
        beta1, beta2 = first["betas"]
        beta3 = math.sqrt(beta2) if first["beta3"] is None else first["beta3"]
        k = first["k"]
        bias_correction = 1.0
        if first["use_bias_correction"]:
            bias_correction = (1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))
        groups = [self._tensors(group, beta1) for group in self.param_groups if group["lr"] != 0]
        groups = [group for group in groups if group.params]
        estimate = DEstimate(first["d"], first["d_max"], first["d_numerator"], first.get("d_denom", 0.0),
                             first.get("d_hat", first["d0"]))
        new = prodigy(groups, estimate, lr=lr, beta1=beta1, beta2=beta2, beta3=beta3, d0=first["d0"],
                      d_coef=first["d_coef"], growth_rate=first["growth_rate"], bias_correction=bias_correction,
                      decouple=first["decouple"])
        if new is None:  # no gradient so far has been non-zero: nothing moved
            return loss
        for group in groups:
            for p in group.params:
                self.state[p]["step"] += 1
        for group in self.param_groups:
            group.update(new._asdict(), k=k + 1)
        return loss

    def _tensors(self, group: dict[str, Any], beta1: float) -> ProdigyTensors:
        """Gather the tensors of ``group`` that have a gradient, creating their state on first sight."""
        params = [p for p in group["params"] if p.grad is not None]
        if any(p.grad.is_sparse for p in params):
            raise RuntimeError("Prodigy does not support sparse gradients")
        slice_p = group["slice_p"]
        states = [self.state[p] for p in params]
        for p, state in zip(params, states):
            if not state:
                flat = p.detach().flatten()[::slice_p]
                state["step"] = 0
                state["s"] = torch.zeros_like(flat)
                # θ₀ on the sliced coordinates; a tensor that starts at zero keeps a 0-d zero, as prodigyopt does
                state["p0"] = flat.clone() if p.any() else torch.zeros((), dtype=p.dtype, device=p.device)
                if beta1 > 0:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return ProdigyTensors(
            params=params,
            grads=[p.grad for p in params],
            exp_avgs=[state["exp_avg"] for state in states] if beta1 > 0 else [],
            exp_avg_sqs=[state["exp_avg_sq"] for state in states],
            s=[state["s"] for state in states],
            p0=[state["p0"] for state in states],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            safeguard_warmup=group["safeguard_warmup"],
            slice_p=slice_p,
        )
