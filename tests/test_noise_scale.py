"""lrcourse.torch.noise_scale: the simple gradient noise scale against hand computations.

The references: a linear model under the mean squared error, whose per-example
gradients are :math:`g_i = 2 r_i (x_i, 1)` with :math:`r_i` the residual (written out
here in NumPy, no autograd); per-example gradients from one ``torch.autograd.grad`` call
per example; and McCandlish et al.'s defining identity
:math:`\\mathbb{E}\\lVert G_B\\rVert^2 = \\lVert G\\rVert^2 + \\operatorname{tr}(\\Sigma)/B`,
by enumerating every batch of two drawn with replacement. Float64 throughout.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse.torch import gradient_noise_scale
from lrcourse.torch.runtime import seeded


def regression(n: int = 25, d: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    return X, X @ torch.ones(d, 1, dtype=torch.float64) + 0.5 * torch.randn(n, 1, generator=g, dtype=torch.float64)


def linear(d: int = 3, seed: int = 0) -> nn.Module:
    with seeded(seed):
        return nn.Linear(d, 1).double()


def by_hand(model: nn.Linear, X: torch.Tensor, y: torch.Tensor) -> float:
    """tr(Σ)/|G|² from g_i = ∂(w·x_i + b − y_i)²/∂(w, b) = 2 r_i (x_i, 1), in NumPy."""
    w, b = model.weight.detach().numpy().ravel(), float(model.bias.detach())
    Xn, yn = X.numpy(), y.numpy().ravel()
    r = Xn @ w + b - yn
    g = 2 * r[:, None] * np.hstack([Xn, np.ones((len(r), 1))])
    G = g.mean(axis=0)
    trace = ((g - G) ** 2).sum(axis=1).mean()
    return float(trace / (G @ G))


def per_example_gradients(model: nn.Module, loss_fn, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One autograd.grad call per example: the (n, D) matrix of flattened gradients."""
    rows = []
    for i in range(len(X)):
        grads = torch.autograd.grad(loss_fn(model(X[i:i + 1]), y[i:i + 1]), list(model.parameters()))
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def test_one_feature_by_hand():
    # w = 0, x_i = 1: g_i = −2 y_i, so G = −2 ȳ and tr Σ = 4 Var(y): B = Var(y) / ȳ².
    model = nn.Linear(1, 1, bias=False).double()
    nn.init.zeros_(model.weight)
    y = torch.tensor([[1.0], [2.0], [6.0]], dtype=torch.float64)  # ȳ = 3, Var(y) = (4 + 1 + 9)/3 = 14/3
    got = gradient_noise_scale(model, F.mse_loss, (torch.ones(3, 1, dtype=torch.float64), y))
    assert got == pytest.approx((14 / 3) / 9, rel=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_linear_model_against_its_closed_form(seed):
    X, y = regression(seed=seed)
    model = linear(seed=seed)
    assert gradient_noise_scale(model, F.mse_loss, (X, y)) == pytest.approx(by_hand(model, X, y), rel=1e-12)


def test_the_noise_grows_as_the_fit_gets_better():
    # Near the least-squares solution G → 0 while the per-example gradients stay: B_simple grows without bound.
    X, y = regression(n=40)
    model = linear()
    Xb = torch.cat([X, torch.ones(40, 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(Xb, y).solution.ravel()
    values = []
    for t in (0.0, 0.9, 0.99):
        with torch.no_grad():
            model.weight.copy_((1 - t) * model.weight + t * solution[:3])
            model.bias.copy_((1 - t) * model.bias + t * solution[3])
        values.append(gradient_noise_scale(model, F.mse_loss, (X, y)))
        assert values[-1] == pytest.approx(by_hand(model, X, y), rel=1e-9)
    assert values[0] < values[1] < values[2]


def test_the_expected_squared_norm_of_a_batch_gradient_is_G_squared_plus_trace_over_B():
    # McCandlish et al. eq. 2.4-2.5, checked by enumerating the n² ordered batches of two (with replacement).
    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.randint(0, 2, (7,), generator=g)
    with seeded(0):
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    grads = per_example_gradients(model, F.cross_entropy, X, y)
    G = grads.mean(0)
    pairs = itertools.product(range(7), repeat=2)
    mean_sq = np.mean([float(((grads[i] + grads[j]) / 2).square().sum()) for i, j in pairs])
    noise = gradient_noise_scale(model, F.cross_entropy, (X, y))
    G_sq = float(G @ G)
    assert mean_sq == pytest.approx(G_sq + noise * G_sq / 2, rel=1e-10)


def test_an_mlp_against_per_example_autograd():
    g = torch.Generator().manual_seed(4)
    X, y = torch.randn(30, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (30,), generator=g)
    with seeded(1):
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    grads = per_example_gradients(model, F.cross_entropy, X, y)
    G = grads.mean(0)
    expected = float((grads - G).square().sum(1).mean() / (G @ G))
    assert gradient_noise_scale(model, F.cross_entropy, (X, y)) == pytest.approx(expected, rel=1e-10)


def test_the_chunks_and_the_batches_change_the_memory_not_the_answer():
    X, y = regression(n=50)
    model = linear()
    whole = gradient_noise_scale(model, F.mse_loss, (X, y))
    for batch_size in (1, 7, 50, 1000):
        assert gradient_noise_scale(model, F.mse_loss, (X, y), batch_size=batch_size) == pytest.approx(whole, rel=1e-12)
    split = [(X[:3], y[:3]), (X[3:31], y[3:31]), (X[31:], y[31:])]
    assert gradient_noise_scale(model, F.mse_loss, split, batch_size=4) == pytest.approx(whole, rel=1e-12)


def test_a_small_noise_scale_survives_the_sums():
    # g_i = G + tiny noise: Σ|g_i|²/n = |G|² (1 + 1e-12), so the one-pass Σ|g_i|²/n − |G|² would keep only
    # about 4 of its digits (float64's 2e-16 of 4, against tr Σ = 4e-12); the pairwise formula keeps them all.
    model = nn.Linear(1, 1, bias=False).double()
    nn.init.zeros_(model.weight)
    y = torch.tensor([[1.0 + 1e-6], [1.0 - 1e-6]], dtype=torch.float64)  # g_i = −2 y_i: G = −2, tr Σ = 4e-12
    got = gradient_noise_scale(model, F.mse_loss, (torch.ones(2, 1, dtype=torch.float64), y), batch_size=1)
    assert got == pytest.approx(1e-12, rel=1e-6)  # y's deviations, 1e-6, are exact to ~1e-10 relatively


def test_frozen_parameters_do_not_count_and_modes_weights_grads_are_left_as_they_were():
    X, y = regression()
    model = nn.Sequential(nn.Linear(3, 1), nn.Dropout(0.5)).double()
    model[0].bias.requires_grad_(False)
    model[0].weight.grad = torch.full_like(model[0].weight, 7.0)
    weights = [p.detach().clone() for p in model.parameters()]
    # Only w counts: g_i = 2 r_i x_i (dropout is off inside, so the model is the linear one).
    w, b = model[0].weight.detach().numpy().ravel(), float(model[0].bias.detach())
    r = X.numpy() @ w + b - y.numpy().ravel()
    g = 2 * r[:, None] * X.numpy()
    G = g.mean(0)
    expected = ((g - G) ** 2).sum(1).mean() / (G @ G)
    assert gradient_noise_scale(model, F.mse_loss, (X, y)) == pytest.approx(expected, rel=1e-12)
    assert model.training and model[1].training
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), weights))
    assert torch.equal(model[0].weight.grad, torch.full_like(model[0].weight, 7.0)) and model[0].bias.grad is None


def test_at_a_stationary_point_the_noise_scale_is_infinite():
    model = nn.Linear(1, 1, bias=False).double()
    nn.init.zeros_(model.weight)
    X = torch.tensor([[1.0], [1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)  # g = (−2, 2): G = 0
    assert gradient_noise_scale(model, F.mse_loss, (X, y)) == math.inf


def test_bad_input_is_refused():
    X, y = regression()
    with pytest.raises(ValueError, match="^data must hold at least 2 examples, got 1$"):
        gradient_noise_scale(linear(), F.mse_loss, (X[:1], y[:1]))
    with pytest.raises(ValueError, match="^model must have parameters that require grad"):
        gradient_noise_scale(linear().requires_grad_(False), F.mse_loss, (X, y))
    with pytest.raises(TypeError, match="^model must be a torch.nn.Module"):
        gradient_noise_scale(None, F.mse_loss, (X, y))
    with pytest.raises(TypeError, match="^loss_fn must be a function"):
        gradient_noise_scale(linear(), "mse", (X, y))
    with pytest.raises(ValueError, match="^data must hold batches .* got a batch of 25 inputs and 3 targets"):
        gradient_noise_scale(linear(), F.mse_loss, (X, y[:3]))
