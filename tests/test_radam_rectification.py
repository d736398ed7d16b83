"""RAdam's rectification r_t against torch.optim.RAdam's own steps, and at its boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lrcourse.schedules import radam_rectification


def radam_steps(grads: torch.Tensor, beta2: float, lr: float = 0.1, beta1: float = 0.9) -> torch.Tensor:
    """Return the updates θ_t − θ_{t+1} that torch.optim.RAdam takes on the gradients ``grads`` (T × d), float64."""
    theta = torch.zeros(grads.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RAdam([theta], lr=lr, betas=(beta1, beta2), eps=0.0, foreach=False)
    updates = []
    for g in grads:
        before = theta.detach().clone()
        theta.grad = g.clone()
        optimizer.step()
        updates.append(before - theta.detach())
    return torch.stack(updates)


@pytest.mark.parametrize("beta2", [0.999, 0.99, 0.95, 0.7])
def test_r_t_is_what_torch_radam_multiplies_adams_step_by(beta2):
    # A constant gradient g: m̂_t = g and v̂_t = g², so the adaptive step is α r_t sign(g) and the
    # fallback (ρ_t ≤ 5) is α g; g = 0.5 tells the two apart.
    T, lr, g = 300, 0.1, 0.5
    updates = radam_steps(torch.full((T, 1), g, dtype=torch.float64), beta2, lr)[:, 0].numpy()
    r = radam_rectification(np.arange(T), beta2)
    adaptive = r > 0
    np.testing.assert_allclose(updates[adaptive], lr * r[adaptive], rtol=1e-10)  # θ's rounding in θ_t − θ_{t+1}
    np.testing.assert_allclose(updates[~adaptive], lr * g, rtol=1e-10)
    assert adaptive[-1]


def test_with_random_gradients_each_update_is_lr_r_t_m_hat_over_sqrt_v_hat():
    beta1, beta2, lr = 0.9, 0.99, 0.05
    grads = torch.randn(200, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    updates = radam_steps(grads, beta2, lr, beta1).numpy()
    m = v = np.zeros(4)
    for t, g in enumerate(grads.numpy()):  # written out from Liu et al. 2020, Algorithm 2
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
        r = radam_rectification(t, beta2)
        expected = lr * r * m_hat / np.sqrt(v_hat) if r > 0 else lr * m_hat
        np.testing.assert_allclose(updates[t], expected, rtol=1e-10)


def test_the_first_update_has_rho_one_so_no_adaptive_step_and_r_rises_to_one():
    # ρ_1 = ρ_∞ − 2β₂/(1 − β₂) = 1 for every β₂; r_t increases to 1 as ρ_t → ρ_∞.
    for beta2 in (0.9, 0.999, 0.9999):
        assert radam_rectification(0, beta2) == 0.0
        r = radam_rectification(np.arange(1, 200_000), beta2)
        on = r[r > 0]
        assert np.all(np.diff(on[:10]) > 0) and np.all(np.diff(on) >= 0)  # flat only once rounded to 1.0
        assert 0 < on[0] < on[-1] <= 1.0
    assert radam_rectification(10**9, 0.999) == pytest.approx(1.0, abs=1e-12)


def test_for_beta2_0999_the_first_five_updates_take_no_adaptive_step():
    # ρ_t for β₂ → 1 tends to n = t + 1 in the first steps (ρ_t = n − O(n²(1 − β₂))): ρ > 5 from n = 6.
    r = radam_rectification(np.arange(8), 0.999)
    assert list(r[:5]) == [0.0] * 5 and r[5] > 0
    rho_inf = 2 / 0.001 - 1
    rho_6 = rho_inf - 2 * 6 * 0.999**6 / (1 - 0.999**6)
    by_hand = math.sqrt((rho_6 - 4) * (rho_6 - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_6))
    assert r[5] == pytest.approx(by_hand, rel=1e-12)


def test_a_small_beta2_never_takes_an_adaptive_step():
    # ρ_∞ = 2/(1 − β₂) − 1 ≤ 5 for β₂ ≤ 2/3: ρ_t < ρ_∞ never passes 5.
    assert not np.any(radam_rectification(np.arange(1000), 2 / 3))
    assert not np.any(radam_rectification(np.arange(1000), 0.0))


def test_scalar_in_float_out_and_array_in_array_out():
    assert type(radam_rectification(3)) is float and type(radam_rectification(np.int64(30))) is float
    out = radam_rectification(np.arange(6).reshape(2, 3))
    assert out.shape == (2, 3) and out.dtype == np.float64


@pytest.mark.parametrize("beta2, error", [(1.0, ValueError), (-0.1, ValueError), (math.nan, ValueError),
                                          ("0.9", TypeError), (None, TypeError)])
def test_bad_beta2_is_refused_by_name(beta2, error):
    with pytest.raises(error, match="^beta2 must be"):
        radam_rectification(3, beta2)
