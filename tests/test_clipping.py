"""Gradient clipping against torch.nn.utils, the rule against Pascanu et al., and the norm tracker.

The reference for every number is torch's own ``clip_grad_norm_`` and
``clip_grad_value_``; the one deliberate difference, a NaN or infinite gradient, is
tested on its own, next to what torch does there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lrcourse.clipping import GradNormTracker, clip_by_global_norm, clip_by_value, global_norm
from lrcourse.torch import clip_grad_norm, clip_grad_value, grad_norm

SHAPES = {"w1": (5, 3), "b1": (5,), "w2": (2, 5), "b2": (2,)}


def random_grads(seed: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: scale * rng.standard_normal(shape) for name, shape in SHAPES.items()}


def as_params(grads: dict[str, np.ndarray], dtype=torch.float64) -> list[nn.Parameter]:
    params = []
    for g in grads.values():
        p = nn.Parameter(torch.zeros(g.shape, dtype=dtype))
        p.grad = torch.tensor(g, dtype=dtype)
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 3.0, 100.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_global_norm_clipping_matches_torch(max_norm, seed):
    grads = random_grads(seed)
    params = as_params(grads)
    torch_norm = nn.utils.clip_grad_norm_(params, max_norm)
    clipped, norm = clip_by_global_norm(grads, max_norm)
    assert norm == pytest.approx(float(torch_norm), rel=1e-14)
    for (name, g), p in zip(clipped.items(), params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-14, err_msg=name)


def test_global_norm_clipping_is_pascanus_rule():
    grads = random_grads(2, scale=10.0)
    norm = global_norm(grads)
    assert norm == pytest.approx(math.sqrt(sum(float((g**2).sum()) for g in grads.values())))
    clipped, returned = clip_by_global_norm(grads, max_norm=1.0, eps=0.0)
    assert returned == norm
    assert global_norm(clipped) == pytest.approx(1.0, rel=1e-14)  # ĝ = c g / ||g||: length c,
    for name in grads:  # same direction
        np.testing.assert_allclose(clipped[name], grads[name] / norm, rtol=1e-14)
    unclipped, _ = clip_by_global_norm(grads, max_norm=2 * norm)  # below the threshold: untouched
    for name in grads:
        np.testing.assert_array_equal(unclipped[name], grads[name])


def test_numpy_clipping_keeps_the_container():
    clipped, _ = clip_by_global_norm([np.ones(2), (np.ones(3), np.ones(1))], 1.0)
    assert isinstance(clipped, list) and isinstance(clipped[1], tuple) and clipped[1][0].shape == (3,)


@pytest.mark.parametrize("clip_value", [0.05, 0.5, 5.0])
def test_numpy_value_clipping_matches_torch(clip_value):
    grads = random_grads(3)
    params = as_params(grads)
    nn.utils.clip_grad_value_(params, clip_value)
    for (name, g), p in zip(clip_by_value(grads, clip_value).items(), params):
        np.testing.assert_array_equal(g, p.grad.numpy(), err_msg=name)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 50.0])
def test_torch_global_norm_clipping_is_torchs_bit_for_bit(norm_type, max_norm):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3), nn.Linear(3, 3))
    model[3].requires_grad_(False)  # parameters without gradients are skipped
    model(torch.randn(16, 6)).pow(2).sum().backward()
    theirs = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    ours_params = [p for p in model.parameters() if p.grad is not None]
    reference = [nn.Parameter(torch.zeros_like(g)) for g in theirs]
    for p, g in zip(reference, theirs):
        p.grad = g
    their_norm = nn.utils.clip_grad_norm_(reference, max_norm, norm_type)
    our_norm = clip_grad_norm(model.parameters(), max_norm, norm_type)  # a generator, read once
    assert torch.equal(our_norm, their_norm)
    for p, q in zip(ours_params, reference):
        assert torch.equal(p.grad, q.grad)


def test_torch_value_clipping_is_torchs_bit_for_bit():
    torch.manual_seed(1)
    model = nn.Linear(10, 4)
    model(torch.randn(8, 10)).pow(3).sum().backward()
    reference = [nn.Parameter(p.detach().clone()) for p in model.parameters()]
    for p, q in zip(reference, model.parameters()):
        p.grad = q.grad.clone()
    nn.utils.clip_grad_value_(reference, 0.3)
    clip_grad_value(model.parameters(), 0.3)
    for p, q in zip(model.parameters(), reference):
        assert torch.equal(p.grad, q.grad)


def test_torch_and_numpy_clipping_agree():
    grads = random_grads(4, scale=3.0)
    params = as_params(grads)
    norm = clip_grad_norm(params, 1.0)
    clipped, numpy_norm = clip_by_global_norm(grads, 1.0)
    assert float(norm) == pytest.approx(numpy_norm, rel=1e-14)
    for g, p in zip(clipped.values(), params):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-14)
    assert float(grad_norm(params)) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_a_nonfinite_norm_is_reported_not_applied(bad):
    grads = random_grads(5)
    grads["b1"][0] = bad
    with pytest.raises(FloatingPointError, match="not clipping"):
        clip_by_global_norm(grads, 1.0)
    untouched, norm = clip_by_global_norm(grads, 1.0, error_if_nonfinite=False)
    assert not math.isfinite(norm) and untouched is grads
    with pytest.raises(FloatingPointError):
        clip_by_value(grads, 1.0)

    params = as_params(grads)
    before = [p.grad.clone() for p in params]
    with pytest.raises(FloatingPointError, match="not clipping"):
        clip_grad_norm(params, 1.0)
    norm = clip_grad_norm(params, 1.0, error_if_nonfinite=False)
    assert not torch.isfinite(norm)
    for p, g in zip(params, before):
        assert torch.equal(p.grad, g) or (torch.isnan(g).any() and torch.allclose(p.grad, g, equal_nan=True))
    with pytest.raises(FloatingPointError):
        clip_grad_value(params, 1.0)
    # What torch does by default: every finite gradient is multiplied by c / inf = 0 (or NaN).
    nn.utils.clip_grad_norm_(params, 1.0)
    finite_grad = params[0].grad  # w1 holds no bad entry, yet it is wiped out
    assert bool((finite_grad == 0).all()) or bool(torch.isnan(finite_grad).all())


def test_value_clipping_of_an_inf_without_the_check_is_torchs():
    grads = {"g": np.array([np.inf, -2.0, 0.5])}
    np.testing.assert_array_equal(clip_by_value(grads, 1.0, error_if_nonfinite=False)["g"], [1.0, -1.0, 0.5])


@pytest.mark.parametrize(("call", "name"), [
    (lambda: clip_by_global_norm(np.ones(2), 0.0), "max_norm"),
    (lambda: clip_by_value(np.ones(2), -1.0), "clip_value"),
    (lambda: clip_grad_norm([nn.Parameter(torch.ones(1))], -2.0), "max_norm"),
    (lambda: clip_grad_value([nn.Parameter(torch.ones(1))], 0), "clip_value"),
    (lambda: GradNormTracker([1.0]).quantile(1.5), "q"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_tracker_statistics_are_those_of_the_finite_norms():
    rng = np.random.default_rng(6)
    norms = rng.lognormal(size=200)
    tracker = GradNormTracker()
    for i, norm in enumerate(norms):
        tracker.record(torch.tensor(norm) if i % 3 == 0 else np.float64(norm) if i % 3 == 1 else float(norm))
    tracker.record(math.nan)
    tracker.record(math.inf)
    assert tracker.nonfinite_steps == [200, 201]
    np.testing.assert_array_equal(tracker.finite, norms)
    assert tracker.mean() == pytest.approx(norms.mean(), rel=1e-12)
    assert tracker.suggest() == pytest.approx(np.quantile(norms, 0.9), rel=1e-12)
    # By its definition, clipping at the suggested threshold touches about a tenth of the steps.
    assert np.mean(norms > tracker.suggest()) == pytest.approx(0.1, abs=0.01)


def test_tracker_follows_a_torch_training_run():
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    tracker = GradNormTracker()
    X, y = torch.randn(32, 4), torch.randn(32)
    for _ in range(20):
        optimizer.zero_grad()
        ((model(X).squeeze(-1) - y) ** 2).mean().backward()
        expected = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters()))
        tracker.record(clip_grad_norm(model.parameters(), max_norm=10.0))
        assert tracker.norms[-1] == pytest.approx(expected, rel=1e-6)
        optimizer.step()
    assert tracker.norms[-1] < tracker.norms[0]  # the run converges: the gradient shrinks


def test_tracker_with_nothing_finite_is_a_clear_error():
    tracker = GradNormTracker()
    tracker.record(math.nan)
    with pytest.raises(ValueError, match="no finite gradient norm"):
        tracker.suggest()
