r"""Checkers for chapter 3, *Adaptive learning rates*.

Each ``check_…`` runs the reader's function and the package's own optimizer on the
same random inputs (drawn from a seeded generator, so a report can be reproduced; see
:func:`lrcourse.exercises.check`) and returns a :class:`~lrcourse.exercises.CheckResult`
whose message says in plain words what is wrong on the first case that fails.

- :func:`check_adam_step`: one Adam update with bias correction, from
  :math:`(\theta, m, v, g, t)`, against :meth:`lrcourse.numpy.Adam.update`.
- :func:`check_adam_effective_lr`: each coordinate's effective rate
  :math:`\alpha / (\sqrt{\hat v_t} + \epsilon)`, against
  :func:`lrcourse.numpy.effective_lr`.

The seed's Adam, without bias correction, fails at once:

>>> import numpy as np
>>> def seed_adam(theta, m, v, g, t, lr, beta1, beta2, eps):
...     m = beta1 * m + (1 - beta1) * g
...     v = beta2 * v + (1 - beta2) * g * g
...     return theta - lr * m / (np.sqrt(v) + eps), m, v
>>> print(check_adam_step(seed_adam).message.splitlines()[0])
✗ adam_step disagrees with the reference on case 1 of 20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.numpy import Adam, AdamState, effective_lr

__all__ = [
    "adam_step_reference",
    "adam_effective_lr_reference",
    "check_adam_step",
    "check_adam_effective_lr",
]


def adam_step_reference(theta: NDArray[Any], m: NDArray[Any], v: NDArray[Any], g: NDArray[Any], t: int,
                        lr: float, beta1: float, beta2: float,
                        eps: float) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Update ``t`` (from 1) of Adam on one array: :meth:`lrcourse.numpy.Adam.update`, returning ``theta, m, v``."""
    opt = Adam(lr=lr, betas=(beta1, beta2), eps=eps)
    theta, m, v, _ = opt.update(theta, g, m, v, None, lr=lr, t=t)
    return theta, m, v


def adam_effective_lr_reference(v: NDArray[Any], t: int, lr: float, beta2: float, eps: float) -> NDArray[np.float64]:
    """Adam's per-coordinate rate after update ``t``, from :func:`lrcourse.numpy.effective_lr`."""
    opt = Adam(lr=lr, betas=(0.9, beta2), eps=eps)
    state = AdamState(count=t, mu=np.zeros_like(v), nu=v, nu_max=None)
    return np.asarray(effective_lr(opt, state), dtype=np.float64)


def _more(make: Callable[[np.random.Generator], Any], n: int, seed: int) -> list[Any]:
    """The random cases after the first, hand-picked one: ``n - 1`` of them."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return random_cases(make, n=n - 1, seed=seed) if n > 1 else []


def _step_count(rng: np.random.Generator) -> int:
    # Small t, where the bias corrections matter most, and sometimes large t, where they do not.
    return int(rng.integers(1, 20)) if rng.random() < 0.7 else int(rng.integers(20, 5000))


def check_adam_step(candidate: Callable[..., Any], n: int = 20, seed: int = 5) -> CheckResult:
    r"""Check ``candidate(theta, m, v, g, t, lr, beta1, beta2, eps)``, one Adam update, returning ``(theta, m, v)``.

    ``m`` and ``v`` are the moments after update ``t - 1`` (zeros for ``t = 1``), ``g``
    the gradient of update ``t``; the answer is the parameters and the two moments
    after update ``t``, with the bias corrections :math:`1 - \beta^t` and
    :math:`\epsilon` outside the square root, as in the paper and ``torch.optim.Adam``.
    The first case is the very first update, where the seed's version is 3.16 times
    too large.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        shape = (int(rng.integers(1, 6)),) if rng.random() < 0.7 else (2, int(rng.integers(1, 5)))
        scale = 10 ** rng.uniform(-3, 1)
        theta = rng.normal(size=shape)
        m = rng.normal(size=shape) * scale * 0.3
        v = (rng.normal(size=shape) * scale) ** 2 + scale**2 * 0.1
        g = rng.normal(size=shape) * scale
        return (theta, m, v, g, _step_count(rng), float(10 ** rng.uniform(-4, -1)), float(rng.uniform(0.5, 0.99)),
                float(rng.uniform(0.9, 0.9999)), float(10 ** rng.uniform(-8, -3)))

    cases = [(np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3), np.array([0.5, -100.0, 1e-3]), 1, 0.1, 0.9, 0.999, 1e-8)]
    return check(candidate, adam_step_reference, cases + _more(make, n, seed), name="adam_step", rtol=1e-9,
                 hint="update m and v first (m = beta1*m + (1-beta1)*g, v = beta2*v + (1-beta2)*g*g), then divide "
                      "them by (1 - beta1**t) and (1 - beta2**t), and step by lr * m_hat / (sqrt(v_hat) + eps); "
                      "return the new theta, m and v (not m_hat and v_hat). At t = 1 every coordinate moves by "
                      "about lr.")


def check_adam_effective_lr(candidate: Callable[..., Any], n: int = 20, seed: int = 6) -> CheckResult:
    r"""Check ``candidate(v, t, lr, beta2, eps)``: Adam's rate per coordinate, :math:`\alpha/(\sqrt{\hat v_t} + \epsilon)`.

    ``v`` is the second moment after update ``t``; :math:`\hat v_t = v/(1-\beta_2^t)`.
    Some cases have coordinates with ``v = 0`` (a parameter that never had a
    gradient), where the rate is :math:`\alpha/\epsilon`.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        v = (rng.normal(size=int(rng.integers(1, 8))) * 10 ** rng.uniform(-4, 1)) ** 2
        if rng.random() < 0.3:
            v[0] = 0.0
        return (v, _step_count(rng), float(10 ** rng.uniform(-4, -1)), float(rng.uniform(0.9, 0.9999)),
                float(10 ** rng.uniform(-8, -3)))

    cases = [(np.array([4.0, 1e-4, 0.0]) * 0.001, 1, 0.1, 0.999, 1e-8)]
    return check(candidate, adam_effective_lr_reference, cases + _more(make, n, seed), name="adam_effective_lr",
                 rtol=1e-9, hint="divide v by (1 - beta2**t) before the square root, and add eps after it: "
                                 "lr / (sqrt(v / (1 - beta2**t)) + eps). At t = 1 with v = (1 - beta2) g**2 the "
                                 "rate is lr / (|g| + eps).")
