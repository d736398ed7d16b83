"""lrcourse.torch.Prodigy against prodigyopt 1.1.2 (the reference), by hand, and on convex problems.

The parity tests run both optimizers side by side in float64 for 300 steps on a small
tanh MLP (not convex: Adam-like updates amplify a difference in the last bit to about
1e-3 of a weight within 300 steps, so they also check that the arithmetic is done in
the reference's order). Measured when written: the params, the estimate and the state
agree bit for bit (maximum relative difference 0) for every option set below; the
tests allow rtol 1e-12. A deliberately wrong variant (decoupled weight decay as
``θ(1 − d γ w)`` instead of the reference's ``θ − d γ w θ``, the same maths with other
rounding) differed by 2e-3 after 300 steps and fails.

The NumPy twin, :class:`lrcourse.numpy.Prodigy`, is compared with the torch class on a
least-squares fit (gradients written out, the same numbers for both): within 4.5e-14 to
9.9e-11 relative over 300 steps (asserted 1e-9); a wrong variant (v's coefficient off by
1e-6 relative) fails every option set.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import numpy as np
import pytest
import torch
from prodigyopt import Prodigy as Reference
from torch import nn

import lrcourse.numpy as lnp
from lrcourse.schedules import CosineDecay
from lrcourse.torch import Prodigy, ScheduleLR

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: a second thread only waits for a core

STEPS = 300
RTOL = 1e-12
ESTIMATE = ("d", "d_max", "d_numerator", "d_denom", "d_hat", "k")


def mlp(dtype: torch.dtype = torch.float64) -> nn.Module:
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).to(dtype)
    torch.random.set_rng_state(generator_state)
    return model


def data(dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(64, 4, generator=generator, dtype=dtype), torch.randn(64, 1, generator=generator, dtype=dtype)


def reference(params: Any, **options: Any) -> Reference:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Using decoupled weight decay"
        return Reference(params, **options)


def loss_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(batch[0]), batch[1]).backward()
    optimizer.step()


def groups(model: nn.Module, per_group: list[dict[str, Any]] | None) -> Any:
    if per_group is None:
        return model.parameters()
    weights, biases = [p for p in model.parameters() if p.ndim == 2], [p for p in model.parameters() if p.ndim == 1]
    return [{"params": weights, **per_group[0]}, {"params": biases, **per_group[1]}]


def assert_same(model: nn.Module, ours: Prodigy, theirs: Reference, model_ref: nn.Module, step: int) -> None:
    """Every param within RTOL of the reference's, elementwise, and each group's estimate too (cheap: every step)."""
    pairs = zip(model.parameters(), model_ref.parameters())
    excess = max(((p - q).abs() - RTOL * q.abs()).max().item() for p, q in pairs)
    assert excess <= 0.0, f"step {step}: a param is off by {excess:.3g} beyond rtol {RTOL}"
    for ours_group, their_group in zip(ours.param_groups, theirs.param_groups):
        for key in ESTIMATE:
            assert abs(ours_group[key] - their_group[key]) <= RTOL * abs(their_group[key]), (step, key)


OPTIONS = {
    "defaults": dict(),
    "bias correction, safeguard, decoupled decay": dict(use_bias_correction=True, safeguard_warmup=True,
                                                        weight_decay=0.1),
    "coupled decay, beta1 = 0, beta3": dict(decouple=False, weight_decay=0.01, betas=(0.0, 0.99), beta3=0.9),
    "growth rate, d_coef, d0, slice_p, eps": dict(growth_rate=1.02, d_coef=0.5, d0=1e-4, slice_p=3, eps=1e-6),
    "lr 0.5, betas": dict(lr=0.5, betas=(0.8, 0.9)),
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_prodigy_equals_prodigyopt_in_float64(options: dict[str, Any]) -> None:
    batch = data()
    model, model_ref = mlp(), mlp()
    ours, theirs = Prodigy(model.parameters(), **options), reference(model_ref.parameters(), **options)
    for step in range(STEPS):
        loss_step(model, ours, batch)
        loss_step(model_ref, theirs, batch)
        assert_same(model, ours, theirs, model_ref, step)
    assert ours.param_groups[0]["d"] > 100 * ours.param_groups[0]["d0"]  # the estimate grew: the test tests it
    for p, q in zip(model.parameters(), model_ref.parameters()):
        for key in theirs.state[q]:
            torch.testing.assert_close(torch.as_tensor(ours.state[p][key]), torch.as_tensor(theirs.state[q][key]),
                                       rtol=RTOL, atol=0.0)


def test_two_param_groups_and_a_changing_lr_equal_prodigyopt() -> None:
    """Per-group eps, weight decay, safeguard and slice_p; lr set by hand at each step, as a schedule does."""
    per_group = [dict(eps=1e-6, weight_decay=0.05, slice_p=2), dict(eps=1e-8, weight_decay=0.0, safeguard_warmup=True)]
    batch = data()
    model, model_ref = mlp(), mlp()
    ours, theirs = Prodigy(groups(model, per_group)), reference(groups(model_ref, per_group))
    for step in range(STEPS):
        lr = min(1.0, (step + 1) / 50) * (0.5 if step > 200 else 1.0)  # a warmup, then a drop
        for optimizer in (ours, theirs):
            for group in optimizer.param_groups:
                group["lr"] = lr
        loss_step(model, ours, batch)
        loss_step(model_ref, theirs, batch)
        assert_same(model, ours, theirs, model_ref, step)


def test_float32_follows_prodigyopt() -> None:
    """In float32 both sum the estimate's terms as Python floats; measured: bit for bit again."""
    batch = data(torch.float32)
    model, model_ref = mlp(torch.float32), mlp(torch.float32)
    ours, theirs = Prodigy(model.parameters()), reference(model_ref.parameters())
    for _ in range(50):
        loss_step(model, ours, batch)
        loss_step(model_ref, theirs, batch)
    for p, q in zip(model.parameters(), model_ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert ours.param_groups[0]["d"] == pytest.approx(theirs.param_groups[0]["d"], rel=1e-5)


def test_the_state_dict_loads_in_both_directions() -> None:
    """50 steps of one, its state_dict into the other, 50 more steps: the same as 100 steps of the reference."""
    batch = data()
    whole, half = mlp(), mlp()
    theirs = reference(whole.parameters(), use_bias_correction=True)
    for _ in range(100):
        loss_step(whole, theirs, batch)
    for first, second in ((reference, Prodigy), (Prodigy, reference)):
        model = mlp()
        a = first(model.parameters(), use_bias_correction=True)
        for _ in range(50):
            loss_step(model, a, batch)
        b = second(model.parameters(), use_bias_correction=True)
        b.load_state_dict(a.state_dict())
        for _ in range(50):
            loss_step(model, b, batch)
        for p, q in zip(model.parameters(), whole.parameters()):
            torch.testing.assert_close(p, q, rtol=RTOL, atol=0.0)
        assert b.param_groups[0]["d"] == pytest.approx(theirs.param_groups[0]["d"], rel=RTOL)
    del half


def test_a_frozen_group_does_not_move_where_prodigyopt_decays_it() -> None:
    """lr = 0 freezes a group here; prodigyopt skips it in the estimate but still applies the decay (asserted).

    The frozen tensor is outside the model, with a gradient of ones at each step, so the
    group that trains sees the same losses in both and must match prodigyopt exactly.
    """
    batch = data()
    model, model_ref = mlp(), mlp()
    extra, extra_ref = (torch.ones(3, dtype=torch.float64, requires_grad=True) for _ in range(2))
    ours = Prodigy([{"params": model.parameters()}, {"params": [extra], "lr": 0.0}], weight_decay=0.1)
    theirs = reference([{"params": model_ref.parameters()}, {"params": [extra_ref], "lr": 0.0}], weight_decay=0.1)
    for _ in range(20):
        for model_, optimizer, tensor in ((model, ours, extra), (model_ref, theirs, extra_ref)):
            optimizer.zero_grad()
            nn.functional.mse_loss(model_(batch[0]), batch[1]).backward()
            tensor.grad = torch.ones(3, dtype=torch.float64)
            optimizer.step()
    for p, q in zip(model.parameters(), model_ref.parameters()):  # the group that trains
        torch.testing.assert_close(p, q, rtol=RTOL, atol=0.0)
    assert ours.param_groups[0]["d"] == theirs.param_groups[0]["d"] > 1e-6
    assert torch.equal(extra.detach(), torch.ones(3, dtype=torch.float64))  # frozen here, with no state
    assert not ours.state[extra]
    assert (extra_ref.detach() < 1 - 1e-6).all()  # shrunk by prodigyopt's decay


def test_the_first_two_updates_by_hand() -> None:
    """One coordinate, f = (θ − 10)²/2 from θ₀ = 1, the defaults, each quantity written out with math."""
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = Prodigy([w])
    beta1, beta2, eps, d0 = 0.9, 0.999, 1e-8, 1e-6
    beta3 = math.sqrt(beta2)
    theta, m, v, s, r, d = 1.0, 0.0, 0.0, 0.0, 0.0, d0
    for step in range(2):
        opt.zero_grad()
        (0.5 * (w - 10.0) ** 2).sum().backward()
        opt.step()
        g = theta - 10.0
        dlr = d  # lr = 1, no bias correction
        r = beta3 * r + d / d0 * dlr * g * (1.0 - theta)  # θ₀ = 1: r_0 = 0
        m = beta1 * m + (1 - beta1) * d * g
        v = beta2 * v + (1 - beta2) * d * d * g * g
        s = beta3 * s + d / d0 * dlr * g
        d_new = max(d, r / abs(s))
        theta = theta - dlr * m / (math.sqrt(v) + d_new * eps)
        d = d_new
        assert w.item() == pytest.approx(theta, rel=1e-14), step
        assert opt.param_groups[0]["d"] == pytest.approx(d, rel=1e-14), step
    assert opt.param_groups[0]["d"] > d0  # the second update found a positive numerator
    assert opt.param_groups[0]["k"] == 2 and opt.state[w]["step"] == 2


def test_a_zero_gradient_changes_nothing() -> None:
    """‖s‖₁ = 0: the estimate is undefined, no step is taken and k does not advance, as in prodigyopt."""
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = Prodigy([w])
    w.grad = torch.zeros(3, dtype=torch.float64)
    opt.step()
    assert torch.equal(w.detach(), torch.ones(3, dtype=torch.float64))
    assert opt.param_groups[0]["d"] == 1e-6 and opt.param_groups[0]["k"] == 0


def estimates(target: torch.Tensor, steps: int = 300, scale: torch.Tensor | None = None,
              start: torch.Tensor | None = None, **options: Any) -> tuple[list[float], float]:
    """Run Prodigy on f = Σ scale (θ − target)²/2; return d_t after each step and the distance left."""
    w = (torch.zeros_like(target) if start is None else start.clone()).requires_grad_()
    opt = Prodigy([w], **options)
    ds = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (1.0 if scale is None else scale) * (w - target) ** 2).sum().backward()
        opt.step()
        ds.append(opt.param_groups[0]["d"])
    return ds, (w - target).abs().max().item()


CONVEX = {  # the target, and the ratio d_T / D_∞ measured when written (defaults, 300 steps, θ₀ = 0)
    "one coordinate at 10": (torch.tensor([10.0], dtype=torch.float64), 0.585),
    "five at ±5": (torch.tensor([5.0, -5.0, 5.0, 5.0, -5.0], dtype=torch.float64), 0.532),
}


@pytest.mark.parametrize("target, measured", CONVEX.values(), ids=CONVEX.keys())
def test_the_estimate_ends_below_and_near_the_distance(target: torch.Tensor, measured: float) -> None:
    """d_t never passes D_∞ = ‖θ₀ − θ*‖_∞ and ends within a factor 2.5 of it, the problem solved.

    Measured d_T / D_∞: 0.585 (one coordinate, where D_∞ is the distance ‖θ₀ − θ*‖) and
    0.532 (five coordinates at ±5); asserted: in [0.4, 1).
    """
    distance = target.abs().max().item()
    ds, left = estimates(target)
    assert max(ds) < distance
    assert 0.4 * distance < ds[-1]
    assert ds[-1] / distance == pytest.approx(measured, abs=0.01)
    assert left < 1e-4


def test_on_least_squares_the_estimate_stays_below_the_distance() -> None:
    """An ill-conditioned least-squares fit, from θ₀ = 0 (the 0-d p0 path): below, but only 0.12 of D_∞ (measured).

    The problem is solved (to 1e-6) long before d_t could grow further: the estimate is
    a lower bound, not the distance itself; asserted d_T / D_∞ in [0.05, 1).
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(200, 10, generator=generator, dtype=torch.float64)
    b = a @ (3 * torch.randn(10, generator=generator, dtype=torch.float64))
    b += 0.1 * torch.randn(200, generator=generator, dtype=torch.float64)
    solution = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    w = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    opt = Prodigy([w])
    ds = []
    for _ in range(STEPS):
        opt.zero_grad()
        (0.5 * ((a @ w - b) ** 2).mean()).backward()
        opt.step()
        ds.append(opt.param_groups[0]["d"])
    distance = solution.abs().max().item()
    assert opt.state[w]["p0"].ndim == 0  # θ₀ = 0 is kept as a 0-d zero, as prodigyopt does
    assert max(ds) < distance and 0.05 * distance < ds[-1]
    assert (w - solution).abs().max().item() < 1e-5


def test_growth_rate_bounds_the_growth() -> None:
    """Once d_t has left d_0 (the first estimate above d_0 is taken whole), d_{t+1} <= growth_rate · d_t."""
    ds, _ = estimates(torch.tensor([10.0], dtype=torch.float64), steps=200, growth_rate=1.05)
    first = next(i for i, d in enumerate(ds) if d > 1e-6)
    assert ds[first] > 1.05e-6  # measured: 1.58e-6, a jump past the growth rate
    assert all(later <= 1.05 * earlier * (1 + 1e-15) for earlier, later in zip(ds[first:], ds[first + 1:]))
    assert ds[-1] > 100 * ds[first]  # it grew on, at that pace
    assert all(later >= earlier for earlier, later in zip(ds, ds[1:]))  # and d never shrinks


# Bad input beyond tests/test_bad_input.py's table (which covers each hyperparameter's values).
def test_the_shared_settings_must_agree_across_groups() -> None:
    with pytest.raises(ValueError, match=r"param group 1: d_coef must be the same in every param group"):
        Prodigy([{"params": [nn.Parameter(torch.ones(2))]}, {"params": [nn.Parameter(torch.ones(2))], "d_coef": 2.0}])


def test_the_groups_that_train_share_one_lr() -> None:
    with pytest.raises(ValueError, match=r"lr must be the same in every param group, or 0"):
        Prodigy([{"params": [nn.Parameter(torch.ones(2))]}, {"params": [nn.Parameter(torch.ones(2))], "lr": 0.5}])
    opt = Prodigy([{"params": [nn.Parameter(torch.ones(2))]}, {"params": [nn.Parameter(torch.ones(2))], "lr": 0.0}])
    opt.param_groups[1]["lr"] = 0.3  # changed after construction, as a scheduler with a per-group factor would
    with pytest.raises(ValueError, match=r"lr must be the same in every param group"):
        opt.step()


def test_the_constructor_lr_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"lr must be a finite number in \(0, inf\)"):
        Prodigy([nn.Parameter(torch.ones(2))], lr=0.0)


def test_sharded_complex_and_sparse_are_refused() -> None:
    with pytest.raises(ValueError, match="fsdp_in_use must be False"):
        Prodigy([nn.Parameter(torch.ones(2))], fsdp_in_use=True)
    flattened = nn.Parameter(torch.ones(2))
    flattened._fsdp_flattened = True  # type: ignore[attr-defined]  # how FSDP marks its flat parameters
    with pytest.raises(ValueError, match="params must be unsharded tensors"):
        Prodigy([flattened])
    with pytest.raises(TypeError, match="params must be real tensors"):
        Prodigy([nn.Parameter(torch.ones(2, dtype=torch.complex64))])
    embedding = nn.Embedding(3, 2, sparse=True)
    opt = Prodigy(embedding.parameters())
    embedding(torch.tensor([0, 1])).sum().backward()
    before = embedding.weight.detach().clone()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        opt.step()
    assert torch.equal(embedding.weight.detach(), before)


# The NumPy twin, lrcourse.numpy.Prodigy, against the torch class (itself prodigyopt's equal, above).
def least_squares() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4))
    return x, x @ np.array([2.0, -1.0, 3.0, 0.5]) + 1.5 + 0.1 * rng.normal(size=64)


def ls_grads(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The gradient of ½ mean((x w + b − y)²), written out: the same numbers for both optimizers."""
    residual = x @ params["w"] + params["b"][0] - y
    return {"w": x.T @ residual / len(y), "b": np.array([residual.mean()])}


def numpy_against_torch(lrs: Any, steps: int = STEPS, **options: Any) -> tuple[float, float, Any]:
    """Run both from w = 0, b = 1 (a zero and a non-zero tensor); return the largest relative gaps and the state."""
    x, y = least_squares()
    params = {"w": np.zeros(4), "b": np.ones(1)}
    ours = lnp.Prodigy(lr=lrs if callable(lrs) else 1.0, **options)
    state = ours.init(params)
    w, b = torch.zeros(4, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    theirs = Prodigy([w, b], **options)
    worst_params = worst_d = 0.0
    for step in range(steps):
        if callable(lrs):
            theirs.param_groups[0]["lr"] = lrs(step)
        grads = ls_grads({"w": w.numpy(), "b": b.numpy()}, x, y)
        w.grad, b.grad = torch.from_numpy(grads["w"]), torch.from_numpy(grads["b"])
        theirs.step()
        params, state = ours.step(params, ls_grads(params, x, y), state)
        for mine, torch_ in ((params["w"], w), (params["b"], b)):
            gap = np.abs(mine - torch_.numpy()) / np.maximum(np.abs(torch_.numpy()), 1e-300)
            worst_params = max(worst_params, float(gap.max()))
        worst_d = max(worst_d, abs(state.d - theirs.param_groups[0]["d"]) / state.d)
    assert state.k == theirs.param_groups[0]["k"]
    return worst_params, worst_d, state


@pytest.mark.parametrize("options", list(OPTIONS.values())[:4], ids=list(OPTIONS)[:4])
def test_numpy_prodigy_equals_the_torch_one(options: dict[str, Any]) -> None:
    """300 steps of least squares in float64, asserted rtol 1e-9.

    Measured: params within 4.5e-14 (defaults) to 9.9e-11 (slice_p = 3) relative, d within
    8e-13: NumPy's and torch's dot products and multiply-adds round differently.
    """
    worst_params, worst_d, state = numpy_against_torch(None, **options)
    assert worst_params < 1e-9 and worst_d < 1e-9
    assert state.d > 100 * options.get("d0", 1e-6)  # it grew: the comparison tests the estimate


def test_numpy_prodigy_follows_a_schedule_that_starts_at_zero() -> None:
    """lr = schedule(count): a warmup from 0 (no update at count 0, as torch's with lr 0), then a drop."""
    def schedule(step: int) -> float:
        return min(1.0, step / 50) * (0.5 if step > 200 else 1.0)

    worst_params, worst_d, state = numpy_against_torch(schedule, safeguard_warmup=True)
    assert worst_params < 1e-9 and worst_d < 1e-9
    assert state.count == STEPS and state.k == STEPS - 1  # the step at rate 0 applied nothing


def test_numpy_prodigy_state_and_zero_gradient() -> None:
    opt = lnp.Prodigy(betas=(0.0, 0.99))
    theta = np.ones(3)
    state = opt.init(theta)
    assert state.mu is None and state.d == 1e-6 and state.k == 0  # β₁ = 0: no m, as prodigyopt keeps none
    new, state = opt.step(theta, np.zeros(3), state)
    assert np.array_equal(new, theta) and state.count == 1 and state.k == 0 and state.d == 1e-6
    with pytest.raises(ValueError, match="state must be ProdigyState"):
        opt.step(theta, np.ones(3), lnp.Adam().init(theta))


def test_schedule_lr_drives_it_as_a_hand_set_lr_drives_prodigyopt() -> None:
    """ScheduleLR sets λ_t; prodigyopt with the same λ_t set by hand takes the same steps (100, cosine to 0)."""
    schedule = CosineDecay(1.0, 100)
    batch = data()
    model, model_ref = mlp(), mlp()
    ours, theirs = Prodigy(model.parameters()), reference(model_ref.parameters())
    scheduler = ScheduleLR(ours, schedule)
    for step in range(100):
        theirs.param_groups[0]["lr"] = schedule(step)
        loss_step(model, ours, batch)
        scheduler.step()
        loss_step(model_ref, theirs, batch)
        assert_same(model, ours, theirs, model_ref, step)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_cuda_it_equals_prodigyopt_on_cuda() -> None:
    """The same 100 float64 steps on the GPU, against prodigyopt there (not run where this was written: no GPU)."""
    batch = tuple(tensor.cuda() for tensor in data())
    model, model_ref = mlp().cuda(), mlp().cuda()
    ours = Prodigy(model.parameters(), use_bias_correction=True, weight_decay=0.1)
    theirs = reference(model_ref.parameters(), use_bias_correction=True, weight_decay=0.1)
    for step in range(100):
        loss_step(model, ours, batch)
        loss_step(model_ref, theirs, batch)
        assert_same(model, ours, theirs, model_ref, step)
    for state in ours.state.values():
        assert all(value.device.type == "cuda" for value in state.values() if isinstance(value, torch.Tensor))
