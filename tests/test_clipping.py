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


def param_with_grad() -> nn.Parameter:
    p = nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([3.0, 4.0])
    return p


G = np.array([3.0, 4.0])
BAD_INPUT = {
    # the NumPy functions
    "max_norm 0": (lambda: clip_by_global_norm(G, 0.0), ValueError, "max_norm"),
    "max_norm < 0": (lambda: clip_by_global_norm(G, -1.0), ValueError, "max_norm"),
    "max_norm nan": (lambda: clip_by_global_norm(G, math.nan), ValueError, "max_norm"),
    "max_norm str": (lambda: clip_by_global_norm(G, "1.0"), TypeError, "max_norm"),
    "max_norm None": (lambda: clip_by_global_norm(G, None), TypeError, "max_norm"),
    "max_norm bool": (lambda: clip_by_global_norm(G, True), TypeError, "max_norm"),
    "max_norm complex": (lambda: clip_by_global_norm(G, 1j), TypeError, "max_norm"),
    "eps < 0": (lambda: clip_by_global_norm(G, 1.0, eps=-5.0), ValueError, "eps"),  # was a ZeroDivisionError
    "eps inf": (lambda: clip_by_global_norm(G, 1.0, eps=math.inf), ValueError, "eps"),
    "eps str": (lambda: clip_by_global_norm(G, 1.0, eps="0"), TypeError, "eps"),
    "error_if_nonfinite str": (lambda: clip_by_global_norm(G, 1.0, error_if_nonfinite="no"), TypeError,
                               "error_if_nonfinite"),
    "error_if_nonfinite 1": (lambda: clip_by_value(G, 1.0, error_if_nonfinite=1), TypeError, "error_if_nonfinite"),
    "grads None": (lambda: clip_by_global_norm(None, 1.0), TypeError, "grads"),
    "grads str": (lambda: global_norm({"w": "abc"}), TypeError, "grads"),
    "grads complex": (lambda: global_norm(np.array([3j])), TypeError, "grads"),  # np.square(3j) = -9
    "grads bool": (lambda: clip_by_value([np.array([True])], 1.0), TypeError, "grads"),
    "grads a tensor": (lambda: clip_by_global_norm([torch.ones(2)], 1.0), TypeError, "grads"),  # AttributeError
    "clip_value < 0": (lambda: clip_by_value(G, -1.0), ValueError, "clip_value"),
    "clip_value 0": (lambda: clip_by_value(G, 0), ValueError, "clip_value"),
    "clip_value nan": (lambda: clip_by_value(G, math.nan), ValueError, "clip_value"),
    "clip_value str": (lambda: clip_by_value(G, "1"), TypeError, "clip_value"),
    "q > 1": (lambda: GradNormTracker([1.0]).quantile(1.5), ValueError, "q"),
    "q nan": (lambda: GradNormTracker([1.0]).suggest(math.nan), ValueError, "q"),
    "q str": (lambda: GradNormTracker([1.0]).quantile("0.5"), TypeError, "q"),
    "q bool": (lambda: GradNormTracker([1.0]).suggest(True), TypeError, "q"),
    "record str": (lambda: GradNormTracker().record("1.0"), TypeError, "norm"),  # float('1.0') took it
    "record None": (lambda: GradNormTracker().record(None), TypeError, "norm"),
    "record bool": (lambda: GradNormTracker().record(True), TypeError, "norm"),
    "record < 0": (lambda: GradNormTracker().record(-1.0), ValueError, "norm"),
    "record a vector": (lambda: GradNormTracker().record(torch.ones(2)), TypeError, "norm"),
    "norms str": (lambda: GradNormTracker(norms="abc"), TypeError, "norms"),
    "norms of None": (lambda: GradNormTracker(norms=[1.0, None]), TypeError, "norm"),
    # the torch functions
    "torch max_norm < 0": (lambda: clip_grad_norm([param_with_grad()], -2.0), ValueError, "max_norm"),
    "torch max_norm str": (lambda: clip_grad_norm([param_with_grad()], "1"), TypeError, "max_norm"),
    "torch max_norm None": (lambda: clip_grad_norm([param_with_grad()], None), TypeError, "max_norm"),
    "norm_type -1": (lambda: clip_grad_norm([param_with_grad()], 1.0, norm_type=-1), ValueError, "norm_type"),
    "norm_type 0": (lambda: clip_grad_norm([param_with_grad()], 1.0, norm_type=0), ValueError, "norm_type"),
    "norm_type -inf": (lambda: grad_norm([param_with_grad()], -math.inf), ValueError, "norm_type"),
    "norm_type nan": (lambda: grad_norm([param_with_grad()], math.nan), ValueError, "norm_type"),
    "norm_type '2'": (lambda: grad_norm([param_with_grad()], "2"), TypeError, "norm_type"),
    "norm_type None": (lambda: clip_grad_norm([param_with_grad()], 1.0, norm_type=None), TypeError, "norm_type"),
    "norm_type bool": (lambda: clip_grad_norm([param_with_grad()], 1.0, norm_type=True), TypeError, "norm_type"),
    "torch error_if_nonfinite": (lambda: clip_grad_norm([param_with_grad()], 1.0, error_if_nonfinite="yes"),
                                 TypeError, "error_if_nonfinite"),
    "torch clip_value 0": (lambda: clip_grad_value([param_with_grad()], 0), ValueError, "clip_value"),
    "torch clip_value nan": (lambda: clip_grad_value([param_with_grad()], math.nan), ValueError, "clip_value"),
    "torch clip_value str": (lambda: clip_grad_value([param_with_grad()], "1"), TypeError, "clip_value"),
    "torch value error_if_nonfinite": (lambda: clip_grad_value([param_with_grad()], 1.0, error_if_nonfinite=None),
                                       TypeError, "error_if_nonfinite"),
    "parameters None": (lambda: clip_grad_norm(None, 1.0), TypeError, "parameters"),
    "parameters of floats": (lambda: grad_norm([1.0, 2.0]), TypeError, "parameters"),
    "parameters an array": (lambda: clip_grad_value(np.ones(2), 1.0), TypeError, "parameters"),
}


@pytest.mark.parametrize(("call", "error", "name"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input(call, error, name):
    with pytest.raises(error, match=rf"^{name} must be"):
        call()


@pytest.mark.parametrize("max_norm", [np.float32(1.0), np.float64(1.0), np.int64(1), np.array(1.0), 1])
def test_max_norm_may_be_a_numpy_scalar_or_a_0d_array(max_norm):
    clipped, norm = clip_by_global_norm(G, max_norm)
    np.testing.assert_allclose(clipped, G / (5.0 + 1e-6), rtol=1e-15)  # c = 1, ||g|| = 5
    p = param_with_grad()
    assert float(clip_grad_norm([p], max_norm)) == 5.0
    torch.testing.assert_close(p.grad, torch.tensor([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-6, atol=0.0)
    assert clip_by_value(G, max_norm).tolist() == [1.0, 1.0]


def test_an_infinite_threshold_clips_nothing_as_in_torch():
    # clip_grad_norm_(params, inf) is torch's idiom for "only measure the norm".
    clipped, norm = clip_by_global_norm(G, math.inf)
    assert norm == 5.0 and clipped.tolist() == [3.0, 4.0]
    ours, theirs = param_with_grad(), param_with_grad()
    assert torch.equal(clip_grad_norm([ours], math.inf), nn.utils.clip_grad_norm_([theirs], math.inf))
    assert torch.equal(ours.grad, theirs.grad) and ours.grad.tolist() == [3.0, 4.0]
    assert clip_by_value(G, math.inf).tolist() == [3.0, 4.0]


def test_eps_zero_and_a_zero_gradient_is_no_division_by_zero():
    # With eps = 0 the rule divides by the norm; a zero gradient is below any threshold
    # and comes back as it is (the old code raised ZeroDivisionError).
    clipped, norm = clip_by_global_norm({"w": np.zeros(3)}, 1.0, eps=0.0)
    assert norm == 0.0 and clipped["w"].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("ours", "theirs"), [("inf", math.inf), (np.float64(1.0), 1.0), (np.int64(3), 3.0),
                                              (0.5, 0.5)])
def test_norm_type_is_torchs(ours, theirs):
    # torch documents the string 'inf'; a p below 1 is not a norm but torch computes it, so do we.
    mine, reference = param_with_grad(), param_with_grad()
    mine.grad, reference.grad = torch.tensor([3.0, -4.0]), torch.tensor([3.0, -4.0])
    assert torch.equal(clip_grad_norm([mine], 1.0, norm_type=ours), nn.utils.clip_grad_norm_([reference], 1.0, theirs))
    assert torch.equal(mine.grad, reference.grad)
    assert torch.equal(grad_norm([mine], ours), torch.linalg.vector_norm(mine.grad, theirs))


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
