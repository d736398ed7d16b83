"""How the seed text's formulas differ from the papers' (and torch's), in numbers.

The seed writes, for AdaGrad and RMSprop, θ ← θ − α g / √(r + ε), with ε inside the
square root; the papers and torch.optim divide by √r + ε. And its Adam,
θ ← θ − α m_t / √(r_t + ε) (r_t being a typo for v_t), has no bias correction. These
tests implement the seed's lines literally and compare them with lrcourse.numpy,
which follows the papers.
"""

from __future__ import annotations

import numpy as np
import pytest

import lrcourse.numpy as lnp


def seed_adagrad_step(theta: np.ndarray, g: np.ndarray, r: np.ndarray, lr: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    r = r + g * g
    return theta - lr / np.sqrt(r + eps) * g, r


def seed_rmsprop_step(theta: np.ndarray, g: np.ndarray, r: np.ndarray, lr: float, beta: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    r = beta * r + (1 - beta) * g * g
    return theta - lr / np.sqrt(r + eps) * g, r


def first_step(opt: lnp.Optimizer, g: np.ndarray) -> np.ndarray:
    theta = np.zeros_like(g)
    new, _ = opt.step(theta, g, opt.init(theta))
    return theta - new


GRADIENT_SIZES = np.array([1e-8, 1e-6, 1e-5, 1e-4, 1e-2, 1.0, 100.0])


def test_adagrad_epsilon_inside_the_root_damps_small_gradients() -> None:
    """With ε = 1e-10 inside the root, gradients below √ε = 1e-5 take steps far smaller than α."""
    lr, eps = 0.1, 1e-10
    ours = first_step(lnp.Adagrad(lr=lr, eps=eps), GRADIENT_SIZES)
    seed, _ = seed_adagrad_step(np.zeros(7), GRADIENT_SIZES, np.zeros(7), lr, eps)
    seed = -seed
    # The paper (and torch): α g / (|g| + ε), which is α for every g ≫ ε = 1e-10.
    np.testing.assert_allclose(ours, lr * GRADIENT_SIZES / (GRADIENT_SIZES + eps), rtol=1e-15)
    np.testing.assert_allclose(ours[1:], lr, rtol=1e-4)
    # The seed: α g / √(g² + ε), which falls like g/√ε below √ε.
    np.testing.assert_allclose(seed / lr, GRADIENT_SIZES / np.sqrt(GRADIENT_SIZES**2 + eps), rtol=1e-15)
    ratio = seed / ours
    assert ratio[1] == pytest.approx(0.0995, abs=1e-4)  # g = 1e-6: a tenth of the step
    assert ratio[2] == pytest.approx(1 / np.sqrt(2), rel=1e-4)  # g = √ε
    np.testing.assert_allclose(ratio[4:], 1.0, rtol=1e-6)  # large gradients: the same step


def test_rmsprop_epsilon_inside_the_root_damps_small_gradients() -> None:
    """RMSprop's default ε = 1e-8 inside the root acts at √ε = 1e-4, where gradients of real networks live."""
    lr, beta, eps = 0.01, 0.99, 1e-8
    ours = first_step(lnp.RMSprop(lr=lr, alpha=beta, eps=eps), GRADIENT_SIZES)
    seed, _ = seed_rmsprop_step(np.zeros(7), GRADIENT_SIZES, np.zeros(7), lr, beta, eps)
    seed = -seed
    # First step: v₁ = (1 − β) g², so the paper's step is α / (√(1 − β) + ε/g) ≈ 10 α.
    np.testing.assert_allclose(ours, lr * GRADIENT_SIZES / (np.sqrt(1 - beta) * GRADIENT_SIZES + eps), rtol=1e-14)
    ratio = seed / ours
    g_1e5 = 2
    assert ratio[g_1e5] == pytest.approx(0.0101, abs=1e-4)  # g = 1e-5: a hundredth, as √((1−β)g²) = 1e-6 ≪ √ε
    np.testing.assert_allclose(ratio[-2:], 1.0, rtol=1e-5)


def bias_correction_gap(t: np.ndarray, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    """How many times larger the uncorrected Adam step is: (1 − β₁ᵗ) / √(1 − β₂ᵗ)."""
    return (1 - beta1**t) / np.sqrt(1 - beta2**t)


def test_adam_without_bias_correction_takes_steps_up_to_6_6_times_too_large() -> None:
    """The seed's Adam divides m_t by √v_t without the corrections 1 − βᵗ.

    With a constant gradient the corrected step is α at every t; the uncorrected
    step α m_t / √v_t is (1 − β₁ᵗ)/√(1 − β₂ᵗ) times that: 3.16 at t = 1, a peak of
    6.57 at t = 12, still 1.26 at t = 1000, and 1 only as t → ∞.
    """
    lr, g, steps = 1e-3, np.array([0.5]), 1000
    opt = lnp.Adam(lr=lr)
    theta, state = np.zeros(1), opt.init(np.zeros(1))
    corrected, uncorrected = [], []
    for _ in range(steps):
        new, state = opt.step(theta, g, state)
        corrected.append((theta - new)[0])
        uncorrected.append((lr * state.mu / (np.sqrt(state.nu) + opt.eps))[0])  # the seed's step, ε outside
        theta = new
    corrected, uncorrected = np.array(corrected), np.array(uncorrected)
    t = np.arange(1, steps + 1)
    np.testing.assert_allclose(corrected, lr, rtol=1e-7)
    np.testing.assert_allclose(uncorrected / corrected, bias_correction_gap(t), rtol=1e-6)
    assert uncorrected[0] / corrected[0] == pytest.approx(np.sqrt(10), rel=1e-6)  # 0.1 / √0.001 = 3.16
    assert np.argmax(uncorrected / corrected) + 1 == 12
    assert (uncorrected / corrected).max() == pytest.approx(6.57, abs=0.01)
    assert uncorrected[-1] / corrected[-1] == pytest.approx(1.258, abs=1e-3)


def test_the_seeds_adam_line_as_written() -> None:
    """Literally θ − α m_t / √(v_t + ε): no correction and ε inside; at t = 1 the step is 3.16 α for g ≫ √ε."""
    lr, eps = 1e-3, 1e-8
    opt = lnp.Adam(lr=lr, eps=eps)
    g = np.array([1e-5, 1e-3, 1.0])
    theta = np.zeros(3)
    _, state = opt.step(theta, g, opt.init(theta))
    seed_step = lr * state.mu / np.sqrt(state.nu + eps)
    ours = first_step(opt, g)
    np.testing.assert_allclose(ours, lr, rtol=1e-2)  # the paper: α at t = 1, whatever g (≫ ε)
    np.testing.assert_allclose(seed_step[-1] / ours[-1], np.sqrt(10), rtol=1e-5)
    # g = 1e-5: √v₁ = 3.2e-7 ≪ √ε = 1e-4, so m₁/√ε = 1e-6/1e-4: a hundredth of the paper's step
    assert seed_step[0] / ours[0] == pytest.approx(0.01, rel=1e-2)
