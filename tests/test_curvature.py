"""lrcourse.torch.curvature: the sharpness, with and without Adam's preconditioner, against dense Hessians.

The references: a quadratic whose Hessian is known exactly, and the full Hessian of a
small network from ``torch.autograd.functional.hessian`` with its eigenvalues from
``torch.linalg``. Float64 throughout, so the tolerances are those of the power
iteration (stopped at a relative change of ``tol``, with the spectral gap of each case
asserted), not of rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

import lrcourse.torch.optim as ours
from lrcourse.problems import Quadratic
from lrcourse.torch import SharpnessTracker, adam_preconditioner, sharpness, top_hessian_eigenvalue
from lrcourse.torch.runtime import seeded


class Bowl(nn.Module):
    """J(θ) = ½ θᵀ A θ with the matrix A given: its Hessian is A, at every θ."""

    def __init__(self, A: np.ndarray, theta: np.ndarray) -> None:
        super().__init__()
        self.A = torch.tensor(A, dtype=torch.float64)
        self.theta = nn.Parameter(torch.tensor(theta, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.theta @ self.A @ self.theta


def value(out: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
    return out


DUMMY = (torch.zeros(1), torch.zeros(1))


def mlp(seed: int, hidden: int = 6, dropout: float = 0.0) -> nn.Module:
    with seeded(seed):
        return nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, 2)).double()


def classification(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g, dtype=torch.float64), torch.randint(0, 2, (n,), generator=g)


def dense_hessian(model: nn.Module, loss_fn, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The full Hessian of the loss in the parameters, flattened in model.parameters() order."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        params = {n: t.reshape(s) for n, t, s in zip(names, flat.split(sizes), shapes)}
        return loss_fn(functional_call(model, params, (X,)), y)

    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return torch.autograd.functional.hessian(loss_of, flat)


# ---------------------------------------------------------------- the quadratic: exactly its L


@pytest.mark.parametrize(("kappa", "L", "angle"), [(10.0, 1.0, 0.0), (10.0, 50.0, 0.3), (4.0, 0.02, 1.0)])
def test_the_sharpness_of_a_quadratic_is_its_L(kappa, L, angle):
    bowl = Quadratic(kappa=kappa, L=L, dim=10, angle=angle)
    model = Bowl(bowl.hessian, bowl.x0)
    # The curvatures of Quadratic fall geometrically from L to L/κ: λ₂/λ₁ = κ^(-1/9) ≤ 0.86,
    # so 1,000 products bring the Rayleigh quotient to L far below the tolerance asked for.
    assert sharpness(model, value, DUMMY, tol=1e-13) == pytest.approx(L, rel=1e-10)


def test_the_sharpness_of_least_squares_is_two_over_n_times_the_top_eigenvalue_of_XtX():
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(30, 4, generator=g, dtype=torch.float64), torch.randn(30, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(4, 1).double()
    Xb = torch.cat([X, torch.ones(30, 1, dtype=torch.float64)], dim=1)  # the bias is a weight on a column of ones
    eigenvalues = torch.linalg.eigvalsh(2 / 30 * Xb.T @ Xb)
    assert eigenvalues[-2] / eigenvalues[-1] < 0.95  # the premise: a gap the iteration closes in 1,000 products
    assert sharpness(model, F.mse_loss, (X, y), tol=1e-13) == pytest.approx(float(eigenvalues[-1]), rel=1e-9)


def test_a_most_negative_eigenvalue_does_not_hide_the_top_one():
    # Power iteration alone converges to -5, the eigenvalue of largest magnitude.
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    A = rotation @ np.diag([-5.0, 2.0, 1.0]) @ rotation.T
    assert sharpness(Bowl(A, np.ones(3)), value, DUMMY, tol=1e-13) == pytest.approx(2.0, rel=1e-9)


# ---------------------------------------------------------------- a network: the dense Hessian


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sharpness_of_a_small_mlp_is_the_top_eigenvalue_of_its_full_hessian(seed):
    model, (X, y) = mlp(seed), classification(seed=seed)
    eigenvalues = torch.linalg.eigvalsh(dense_hessian(model, F.cross_entropy, X, y))
    top, second = float(eigenvalues[-1]), float(max(eigenvalues[-2], -eigenvalues[0]))
    assert second / top < 0.9  # the premise of a tight tolerance
    assert sharpness(model, F.cross_entropy, (X, y), tol=1e-13) == pytest.approx(top, rel=1e-8)
    assert top_hessian_eigenvalue(model, F.cross_entropy, (X, y), tol=1e-13) == pytest.approx(top, rel=1e-8)


def test_an_iterable_of_batches_gives_the_sharpness_of_all_the_data():
    model, (X, y) = mlp(0), classification(n=40)
    split = [(X[:7], y[:7]), (X[7:25], y[7:25]), (X[25:], y[25:])]  # unequal batches, weighted by their sizes
    whole = sharpness(model, F.cross_entropy, (X, y), tol=1e-13)
    assert sharpness(model, F.cross_entropy, split, tol=1e-13) == pytest.approx(whole, rel=1e-9)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)
    assert sharpness(model, F.cross_entropy, loader, tol=1e-13) == pytest.approx(whole, rel=1e-9)


def test_top_hessian_eigenvalue_is_sharpness_without_a_preconditioner():
    model, (X, y) = mlp(3), classification()
    assert top_hessian_eigenvalue(model, F.cross_entropy, (X, y), iters=7, seed=5) == sharpness(
        model, F.cross_entropy, (X, y), iters=7, seed=5)


# ---------------------------------------------------------------- the preconditioned sharpness


def adam_after_steps(make, model: nn.Module, X: torch.Tensor, y: torch.Tensor, steps: int = 5, **options):
    optimizer = make(model.parameters(), lr=0.01, **options)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
    return optimizer


@pytest.mark.parametrize("seed", [0, 1])
def test_the_preconditioned_sharpness_is_the_top_eigenvalue_of_dense_P_inverse_H(seed):
    model, (X, y) = mlp(seed), classification(seed=seed)
    P = adam_preconditioner(adam_after_steps(torch.optim.Adam, model, X, y, eps=1e-3), model)
    flat_P = torch.cat([p.reshape(-1) for p in P])
    # P⁻¹H is not symmetric: its eigenvalues by the general solver, a route independent of P^(-1/2) H P^(-1/2).
    eigenvalues = torch.linalg.eigvals(dense_hessian(model, F.cross_entropy, X, y) / flat_P[:, None])
    assert float(eigenvalues.imag.abs().max()) < 1e-8  # similar to a symmetric matrix: real eigenvalues
    real = torch.sort(eigenvalues.real).values
    top, second = float(real[-1]), float(max(real[-2], -real[0]))
    assert second / top < 0.9
    got = sharpness(model, F.cross_entropy, (X, y), preconditioner=P, tol=1e-13)
    assert got == pytest.approx(top, rel=1e-8)
    unpreconditioned = sharpness(model, F.cross_entropy, (X, y))
    assert got > 10 * unpreconditioned  # Adam's P is small (about |g| + ε): P⁻¹H is much sharper than H


def test_a_preconditioner_of_ones_changes_nothing():
    model, (X, y) = mlp(0), classification()
    ones = [torch.ones_like(p) for p in model.parameters()]
    assert sharpness(model, F.cross_entropy, (X, y), preconditioner=ones) == pytest.approx(
        sharpness(model, F.cross_entropy, (X, y)), rel=1e-9)


def test_a_constant_preconditioner_divides_the_sharpness():
    bowl = Quadratic(kappa=10.0, L=6.0, dim=10, angle=0.3)
    model = Bowl(bowl.hessian, bowl.x0)
    P = [torch.full((10,), 3.0, dtype=torch.float64)]
    assert sharpness(model, value, DUMMY, preconditioner=P, tol=1e-13) == pytest.approx(2.0, rel=1e-10)


# ---------------------------------------------------------------- Adam's P, from the state


@pytest.mark.parametrize(("make", "options"), [
    (torch.optim.Adam, {}),
    (torch.optim.Adam, {"amsgrad": True}),
    (torch.optim.Adam, {"foreach": False, "eps": 1e-3}),
    (torch.optim.AdamW, {"weight_decay": 0.1}),
    (ours.Adam, {}),
    (ours.Adam, {"amsgrad": True}),
    (ours.AdamW, {"weight_decay": 0.1}),
], ids=["Adam", "Adam-amsgrad", "Adam-single-tensor-eps", "AdamW", "ours.Adam", "ours.Adam-amsgrad", "ours.AdamW"])
def test_adams_preconditioner_is_what_its_last_step_divided_by(make, options):
    # θ_t = (1 − αλ) θ_{t−1} − α m̂_t / P, so P = −α m̂_t / (θ_t − (1 − αλ) θ_{t−1}).
    model, (X, y) = mlp(0), classification()
    optimizer = adam_after_steps(make, model, X, y, steps=4, **options)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.zero_grad()
    F.cross_entropy(model(X), y).backward()
    optimizer.step()
    group = optimizer.param_groups[0]
    lr, decay, beta1 = group["lr"], group["weight_decay"], group["betas"][0]
    decoupled = isinstance(optimizer, (torch.optim.AdamW, ours.AdamW))
    for P, p, old in zip(adam_preconditioner(optimizer, model), model.parameters(), before):
        state = optimizer.state[p]
        assert float(state["step"]) == 5
        m_hat = state["exp_avg"] / (1 - beta1 ** 5)
        moved = p.detach() - (1 - lr * decay) * old if decoupled else p.detach() - old
        torch.testing.assert_close(P, -lr * m_hat / moved, rtol=1e-9, atol=0.0)


def test_adams_preconditioner_by_hand_after_one_step():
    model = nn.Linear(2, 1, bias=False).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1, betas=(0.9, 0.99), eps=0.5)
    model.weight.grad = torch.tensor([[-2.0, 3.0]], dtype=torch.float64)
    optimizer.step()  # v̂₁ = g²: P = |g| + ε
    torch.testing.assert_close(adam_preconditioner(optimizer, model)[0],
                               torch.tensor([[2.5, 3.5]], dtype=torch.float64), rtol=1e-14, atol=0.0)


def test_adams_preconditioner_follows_model_parameters_order_and_skips_frozen_ones():
    model, (X, y) = mlp(0), classification()
    model[0].bias.requires_grad_(False)
    optimizer = adam_after_steps(torch.optim.Adam, model, X, y, steps=2)
    P = adam_preconditioner(optimizer, model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert [d.shape for d in P] == [p.shape for p in trainable]
    # Separate param groups with their own eps: each parameter reads its own group's.
    groups = [{"params": [trainable[0]], "eps": 1.0}, {"params": trainable[1:], "eps": 1e-8}]
    optimizer = adam_after_steps(lambda params, lr: torch.optim.Adam(groups, lr=lr), model, X, y, steps=1)
    P = adam_preconditioner(optimizer, model)
    assert float(P[0].min()) >= 1.0 > float(P[1].max())


@pytest.mark.parametrize(("make", "message"), [
    (lambda model: torch.optim.SGD(model.parameters(), lr=0.1), r"^optimizer must be a torch.optim.Adam.*got a SGD"),
    (lambda model: torch.optim.Adam(model.parameters()), r"^optimizer must have taken a step.*without state for "
     r"parameter 0 \(of shape \(6, 3\)\)"),
    (lambda model: torch.optim.Adam(list(model.parameters())[1:]), r"^optimizer must hold every.*parameter 0"),
])
def test_adams_preconditioner_refuses_what_has_no_adam_state(make, message):
    model = mlp(0)
    with pytest.raises((TypeError, ValueError), match=message):
        adam_preconditioner(make(model), model)


# ---------------------------------------------------------------- nothing changed, bad input


def test_weights_grads_modes_and_the_global_random_state_are_left_as_they_were():
    model, (X, y) = mlp(0, dropout=0.5), classification()
    model[3].eval()  # mixed modes: the last layer in eval, the rest in train
    model[0].weight.grad = torch.full_like(model[0].weight, 7.0)  # one grad set, the others None
    weights = [p.detach().clone() for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    rng = torch.get_rng_state()
    P = [torch.ones_like(p) for p in model.parameters()]
    first = sharpness(model, F.cross_entropy, (X, y), preconditioner=P)
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))
    assert torch.equal(model[0].weight.grad, torch.full_like(model[0].weight, 7.0))
    assert all(p.grad is None for p in list(model.parameters())[1:])
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(torch.get_rng_state(), rng)
    # Eval mode inside: dropout is off, so two calls agree to the bit (with dropout on they would not).
    assert sharpness(model, F.cross_entropy, (X, y), preconditioner=P) == first

    def failing(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        sharpness(model, failing, (X, y))
    assert [m.training for m in model.modules()] == modes


@pytest.mark.parametrize(("preconditioner", "error", "message"), [
    (torch.ones(3), TypeError, "got a Tensor$"),
    ([np.ones(3)], TypeError, "got a list of something else than tensors"),
    ([torch.ones(6, 3)], ValueError, "got 1 tensor$"),
    ("P", TypeError, "got a str"),
], ids=["a-tensor", "arrays", "too-few", "str"])
def test_a_preconditioner_of_the_wrong_form_is_refused(preconditioner, error, message):
    model, data = mlp(0), classification()
    with pytest.raises(error, match=rf"^preconditioner must be a sequence of 4 positive.*{message}"):
        sharpness(model, F.cross_entropy, data, preconditioner=preconditioner)


@pytest.mark.parametrize(("change", "message"), [
    (lambda P: P.__setitem__(1, torch.ones(7)), r"shape \(7,\) for parameter 1, of shape \(6,\)"),
    (lambda P: P[2].__setitem__((0, 0), 0.0), "not a positive finite number"),
    (lambda P: P[3].__setitem__(0, -1.0), "not a positive finite number"),
    (lambda P: P[0].__setitem__((0, 0), float("nan")), "not a positive finite number"),
    (lambda P: P[0].__setitem__((0, 0), float("inf")), "not a positive finite number"),
], ids=["shape", "zero", "negative", "nan", "inf"])
def test_a_preconditioner_that_is_not_a_positive_diagonal_of_the_right_shape_is_refused(change, message):
    model, data = mlp(0), classification()
    P = [torch.ones_like(p) for p in model.parameters()]
    change(P)
    with pytest.raises(ValueError, match=rf"^preconditioner must be .*{message}"):
        sharpness(model, F.cross_entropy, data, preconditioner=P)


def test_a_model_with_nothing_to_train_and_a_loss_that_is_not_a_scalar_are_refused():
    model, data = mlp(0), classification()
    with pytest.raises(ValueError, match="^model must have parameters that require grad"):
        sharpness(mlp(0).requires_grad_(False), F.cross_entropy, data)
    with pytest.raises(TypeError, match="^model must be a torch.nn.Module"):
        sharpness("model", F.cross_entropy, data)
    with pytest.raises(TypeError, match="^loss_fn must be a function whose loss is a scalar"):
        sharpness(model, lambda out, y: F.cross_entropy(out, y, reduction="none"), data)
    with pytest.raises(TypeError, match="^loss_fn must be a function"):
        sharpness(model, "cross_entropy", data)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_a_gpu_the_same_sharpness_as_on_the_cpu():
    model, (X, y) = mlp(0), classification()
    P = adam_preconditioner(adam_after_steps(torch.optim.Adam, model, X, y, eps=1e-3), model)
    expected = [sharpness(model, F.cross_entropy, (X, y), tol=1e-13, preconditioner=p) for p in (None, P)]
    model.cuda()  # the data stay on the CPU: sharpness moves them; P is moved too
    got = [sharpness(model, F.cross_entropy, (X, y), tol=1e-13, preconditioner=p) for p in (None, P)]
    assert got == pytest.approx(expected, rel=1e-8)


# ---------------------------------------------------------------- the warm start: init= and SharpnessTracker
# A warm start changes where the power iteration starts, never what it converges to: each test compares
# with the dense Hessian's top eigenvalue or with a cold start, and counts the products it saves.


def test_init_is_where_the_iteration_starts():
    # The default start is the seeded random vector: passing that vector as init gives the same digits.
    model, data = mlp(0), classification()
    generator = torch.Generator().manual_seed(5)
    start = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in model.parameters()]
    for iters in (1, 3, 50):
        assert sharpness(model, F.cross_entropy, data, init=start, iters=iters) == \
            sharpness(model, F.cross_entropy, data, seed=5, iters=iters)


def test_starting_at_the_top_eigenvector_converges_at_once():
    A = np.diag([5.0, 2.0, 1.0])
    bowl = Bowl(A, np.ones(3))
    exact = [torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)]
    assert sharpness(bowl, value, DUMMY, init=exact, iters=1) == 5.0
    assert sharpness(bowl, value, DUMMY, iters=1) != pytest.approx(5.0, rel=1e-3)  # a cold start is not there yet


@pytest.mark.parametrize("seed", [0, 1])
def test_the_tracker_finds_the_dense_hessians_top_eigenvalue_along_a_training_run(seed):
    model, (X, y) = mlp(seed, hidden=8), classification(n=60, seed=seed)
    tracker = SharpnessTracker(F.cross_entropy, (X, y), tol=1e-12)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(30):
        if step % 5 == 0:
            eigenvalues = torch.linalg.eigvalsh(dense_hessian(model, F.cross_entropy, X, y))
            top, second = float(eigenvalues[-1]), float(max(eigenvalues[-2], -eigenvalues[0]))
            assert second / top < 0.95
            assert tracker(model) == pytest.approx(top, rel=1e-7)
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
    assert len(tracker.values) == 6 and tracker.values[-1] == pytest.approx(top, rel=1e-7)


def test_a_warm_start_needs_fewer_products_than_cold_starts_for_the_same_answers():
    model, data = mlp(2, hidden=8), classification(n=60, seed=2)
    warm = SharpnessTracker(F.cross_entropy, data, tol=1e-8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    cold_products = 0
    for _ in range(10):
        cold = SharpnessTracker(F.cross_entropy, data, tol=1e-8)  # a new tracker: a cold start each time
        assert warm(model) == pytest.approx(cold(model), rel=1e-5)
        cold_products += cold.products
        optimizer.zero_grad()
        F.cross_entropy(model(data[0]), data[1]).backward()
        optimizer.step()
    assert warm.products < 0.7 * cold_products


def test_the_tracker_with_adams_preconditioner_is_the_preconditioned_sharpness():
    model, (X, y) = mlp(1), classification(seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    tracker = SharpnessTracker(F.cross_entropy, (X, y), tol=1e-12)
    for _ in range(4):
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
        P = adam_preconditioner(optimizer, model)
        expected = sharpness(model, F.cross_entropy, (X, y), preconditioner=P, tol=1e-13)
        assert tracker(model, P) == pytest.approx(expected, rel=1e-7)


def test_the_vector_has_the_parameters_shapes_and_products_add_up():
    model, data = mlp(0), classification()
    tracker = SharpnessTracker(F.cross_entropy, data, iters=7, tol=0.0)
    assert tracker.vector is None and tracker.products == 0 and tracker.values == []
    tracker(model)
    tracker(model)
    assert [v.shape for v in tracker.vector] == [p.shape for p in model.parameters()]
    assert not any(v.requires_grad for v in tracker.vector)
    assert tracker.products == 14 and len(tracker.values) == 2


def test_a_negative_top_magnitude_is_shifted_away_from_a_warm_start_too():
    A = np.diag([-6.0, 2.0, 1.0])  # the largest magnitude is negative: the top eigenvalue is 2
    tracker = SharpnessTracker(value, DUMMY, tol=1e-13)
    bowl = Bowl(A, np.ones(3))
    assert tracker(bowl) == pytest.approx(2.0, rel=1e-9)
    assert tracker(bowl) == pytest.approx(2.0, rel=1e-9)


def test_after_a_divergence_the_tracker_returns_nan_and_starts_cold_again():
    model, data = mlp(0), classification()
    tracker = SharpnessTracker(F.cross_entropy, data, tol=1e-12)
    first = tracker(model)
    with torch.no_grad():
        saved = [p.clone() for p in model.parameters()]
        next(model.parameters()).fill_(float("nan"))
    assert np.isnan(tracker(model)) and tracker.vector is None
    with torch.no_grad():
        for p, w in zip(model.parameters(), saved):
            p.copy_(w)
    assert tracker(model) == pytest.approx(first, rel=1e-9) and tracker.vector is not None


@pytest.mark.parametrize("init, error, message", [
    ("u", TypeError, "a str"),
    ([np.ones((6, 3))], TypeError, "something else than tensors"),
    ([torch.ones(6, 3)], ValueError, "got 1 tensor$"),
])
def test_an_init_of_the_wrong_form_is_refused(init, error, message):
    with pytest.raises(error, match=rf"^init must be a sequence of 4 finite tensors.*{message}"):
        sharpness(mlp(0), F.cross_entropy, classification(), init=init)


@pytest.mark.parametrize("change, message", [
    (lambda u: [torch.ones(3, 6)] + u[1:], r"shape \(3, 6\) for parameter 0"),
    (lambda u: u[:3] + [torch.full((2,), float("nan"))], "parameter 3 with an entry that is not a finite"),
    (lambda u: [torch.zeros_like(w) for w in u], "a vector of zeros"),
])
def test_an_init_that_is_not_a_nonzero_vector_of_the_parameters_shapes_is_refused(change, message):
    model = mlp(0)
    init = change([torch.ones_like(p) for p in model.parameters()])
    with pytest.raises(ValueError, match=rf"^init must be .*{message}"):
        sharpness(model, F.cross_entropy, classification(), init=init)


def test_a_tracker_refuses_bad_settings_by_name():
    data = classification()
    with pytest.raises(TypeError, match="^loss_fn must be"):
        SharpnessTracker("mse", data)
    with pytest.raises(ValueError, match="^iters must be"):
        SharpnessTracker(F.cross_entropy, data, iters=0)
    with pytest.raises(ValueError, match="^tol must be"):
        SharpnessTracker(F.cross_entropy, data, tol=-1.0)
    with pytest.raises(TypeError, match="^model must be"):
        SharpnessTracker(F.cross_entropy, data)(nn.Tanh)
