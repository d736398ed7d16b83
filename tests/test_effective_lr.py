"""effective_lr: the per-coordinate rate read off the state reproduces the update that was made."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import lrcourse.numpy as lnp
from lrcourse.numpy.effective import effective_lr
from lrcourse.schedules import ExponentialDecay


def run(opt, steps=30, shape=(3, 4), seed=0):
    """Run ``steps`` updates on random gradients of very different scales per column."""
    rng = np.random.default_rng(seed)
    scales = np.array([1e-3, 1e-1, 1.0, 30.0])
    theta = rng.normal(size=shape)
    state = opt.init(theta)
    for _ in range(steps):
        g = rng.normal(size=shape) * scales
        new, state = opt.step(theta, g, state)
        yield theta, new, g, state
        theta = new


@pytest.mark.parametrize("opt", [
    lnp.Adagrad(lr=0.05),
    lnp.Adagrad(lr=0.05, lr_decay=0.1, initial_accumulator_value=0.3, eps=1e-3),
    lnp.Adagrad(lr=ExponentialDecay(0.1, 0.9)),
    lnp.RMSprop(lr=0.01),
    lnp.RMSprop(lr=0.01, alpha=0.9, eps=1e-2),
])
def test_adagrad_and_rmsprop_step_is_rate_times_gradient(opt):
    for theta, new, g, state in run(opt):
        np.testing.assert_allclose(theta - new, effective_lr(opt, state) * g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("opt", [
    lnp.Adam(lr=0.01),
    lnp.Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-3),
    lnp.Adam(lr=0.01, amsgrad=True),
    lnp.Adam(lr=ExponentialDecay(0.1, 0.95)),
])
def test_adam_step_is_rate_times_corrected_momentum(opt):
    for theta, new, g, state in run(opt):
        m_hat = state.mu / (1 - opt.betas[0] ** state.count)
        np.testing.assert_allclose(theta - new, effective_lr(opt, state) * m_hat, rtol=1e-12, atol=1e-15)


def test_adamw_step_is_decay_plus_rate_times_corrected_momentum():
    opt = lnp.AdamW(lr=0.01, weight_decay=0.5)
    for theta, new, g, state in run(opt):
        m_hat = state.mu / (1 - opt.betas[0] ** state.count)
        expected = theta * (1 - 0.01 * 0.5) - effective_lr(opt, state) * m_hat
        np.testing.assert_allclose(new, expected, rtol=1e-12, atol=1e-15)


def test_matches_torch_adam_first_step_and_a_batch_of_rates():
    """At t = 1 Adam's rate is alpha / (|g| + eps) per coordinate; a (K,) lr gives K rows."""
    lrs = np.array([0.1, 0.01])
    opt = lnp.Adam(lr=lrs)
    g = np.array([[2.0, 1e-3], [0.5, -4.0]])
    _, state = opt.step(np.zeros((2, 2)), g, opt.init(np.zeros((2, 2))))
    np.testing.assert_allclose(effective_lr(opt, state), lrs[:, None] / (np.abs(g) + 1e-8), rtol=1e-12)
    # and against torch.optim.Adam's own step
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    torch_opt = torch.optim.Adam([w], lr=0.1)
    w.grad = torch.tensor(g[0])
    torch_opt.step()
    np.testing.assert_allclose(-w.detach().numpy(), effective_lr(opt, state)[0] * g[0], rtol=1e-12)


def test_containers_keep_their_structure():
    opt = lnp.RMSprop(lr=0.1)
    params = {"w": np.ones((2, 3)), "b": [np.zeros(3)]}
    grads = {"w": np.full((2, 3), 2.0), "b": [np.full(3, 0.5)]}
    _, state = opt.step(params, grads, opt.init(params))
    rates = effective_lr(opt, state)
    assert set(rates) == {"w", "b"} and rates["w"].shape == (2, 3) and isinstance(rates["b"], list)
    np.testing.assert_allclose(rates["b"][0], 0.1 / (np.sqrt(0.01 * 0.25) + 1e-8))


def test_adagrad_constant_gradient_rate_falls_like_one_over_root_t():
    opt = lnp.Adagrad(lr=1.0, eps=0.0)
    theta, state = np.zeros(1), opt.init(np.zeros(1))
    for t in range(1, 101):
        theta, state = opt.step(theta, np.array([3.0]), state)
        assert effective_lr(opt, state)[0] == pytest.approx(1 / (3.0 * np.sqrt(t)), rel=1e-12)


@pytest.mark.parametrize("opt", [lnp.RMSprop(lr=0.01, centered=True), lnp.RMSprop(lr=0.01, centered=True, alpha=0.9)])
def test_centered_rmsprop_step_is_rate_times_gradient(opt):
    """Centered, the rate divides by sqrt(v - g_avg^2) + eps: the step is still rate times gradient."""
    for theta, new, g, state in run(opt):
        np.testing.assert_allclose(theta - new, effective_lr(opt, state) * g, rtol=1e-10, atol=1e-15)


def test_rmsprop_with_momentum_rate_is_that_of_the_newest_gradient():
    """theta_t = theta_{t-1} - alpha mu b_{t-1} - eta_t g_t, with b the momentum buffer."""
    opt = lnp.RMSprop(lr=0.01, momentum=0.9)
    previous = opt.init(np.zeros((3, 4))).trace
    for theta, new, g, state in run(opt):
        np.testing.assert_allclose(theta - new, 0.01 * 0.9 * previous + effective_lr(opt, state) * g,
                                   rtol=1e-12, atol=1e-15)
        previous = state.trace


@dataclasses.dataclass(frozen=True)
class CappedAdam(lnp.Adam):
    """Adam whose per-coordinate rate is capped at ``cap``: a change of the formula in one place."""

    cap: float = 0.05

    def rate(self, v, v_max, *, lr, t):
        return np.minimum(super().rate(v, v_max, lr=lr, t=t), self.cap)


def test_the_update_and_effective_lr_share_one_formula():
    """Change the rate in one method: the steps and effective_lr both follow it, and agree.

    A cap of 0.05 on Adam's rate alpha / (|g| + eps) at t = 1 binds for the small gradient
    only, so the step of that coordinate is 0.05 |g| instead of alpha.
    """
    opt = CappedAdam(lr=0.1)
    theta = np.zeros(2)
    g = np.array([2.0, 0.01])
    new, state = opt.step(theta, g, opt.init(theta))
    np.testing.assert_allclose(effective_lr(opt, state), [0.1 / (2.0 + 1e-8), 0.05], rtol=1e-12)
    np.testing.assert_allclose(theta - new, [0.1 / (2.0 + 1e-8) * 2.0, 0.05 * 0.01], rtol=1e-12)
    for theta, new, g, state in run(opt):
        m_hat = state.mu / (1 - opt.betas[0] ** state.count)
        assert effective_lr(opt, state).max() <= 0.05
        np.testing.assert_allclose(theta - new, effective_lr(opt, state) * m_hat, rtol=1e-12, atol=1e-15)


def test_errors_name_what_is_wrong():
    opt = lnp.Adam()
    with pytest.raises(ValueError, match="state.count must be >= 1"):
        effective_lr(opt, opt.init(np.zeros(2)))
    with pytest.raises(ValueError, match=r"opt must be an optimizer with a per-coordinate rate \(Adagrad, RMSprop, "
                                         r"Adam or AdamW\), got SGD"):
        effective_lr(lnp.SGD(lr=0.1), lnp.SGD().init(np.zeros(2)))
    with pytest.raises(ValueError, match="opt must be an optimizer with a per-coordinate rate"):
        effective_lr(torch.optim.SGD([torch.zeros(1)]), lnp.SGD().init(np.zeros(2)))
    with pytest.raises(ValueError, match="state must be AdamState"):
        effective_lr(opt, lnp.RMSprop().init(np.zeros(2)))
