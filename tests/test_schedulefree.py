"""Schedule-free SGD and AdamW: the NumPy and torch versions against the ``schedulefree`` package, in float64.

The reference is the package (a dev dependency), with ``foreach`` on and off. Each run
trains a small tanh MLP with MSE for 500 steps, switching ``eval()`` / ``train()`` at
three points (twice in a row at one of them, which must change nothing), and compares
the params (y while training, x after ``eval()``), the state (z, exp_avg_sq) and the
group's sums after each switch and at the end, to 1e-12 relative to the largest
weight. The loss is still far from its minimum at the end (``assert_away``), so the
comparison is of the method, not of rounding near a fixed point.

The torch version does the package's operations in its order, and its params are
bitwise those of the package. The NumPy version rounds differently in the last bit
(torch's ``add_(..., alpha=)`` and ``addcmul_`` use a fused multiply-add on the CPU;
NumPy has none), so it agrees to 1e-12 only where the run does not amplify rounding:
with ``betas=(0.8, 0.99)`` the run is chaotic, a 1e-16 difference at step 100 is
3e-8 at step 150 and 1e-2 by step 500, so that case is compared bitwise for the torch
version alone (:func:`test_a_chaotic_run_is_bitwise_the_package_in_torch`).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import schedulefree
import torch
from torch import nn

from lrcourse.numpy import AdamWScheduleFree as NumpyAdamW
from lrcourse.numpy import ScheduleFreeState
from lrcourse.numpy import SGDScheduleFree as NumpySGD
from lrcourse.numpy.schedulefree import averaging_weight
from lrcourse.torch import AdamWScheduleFree, SGDScheduleFree

STEPS = 500
SWITCHES = (100, 250, 400)  # eval() then train() before these steps; at 250 each twice
RTOL = 1e-12

OURS = {"SGD": SGDScheduleFree, "AdamW": AdamWScheduleFree}
NUMPY = {"SGD": NumpySGD, "AdamW": NumpyAdamW}
REFERENCE = {"SGD": schedulefree.SGDScheduleFree, "AdamW": schedulefree.AdamWScheduleFree}

CASES = [
    pytest.param("SGD", {"lr": 0.2}, id="SGD-lr"),
    pytest.param("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}, id="SGD-momentum-decay"),
    pytest.param("SGD", {"lr": 0.2, "warmup_steps": 50}, id="SGD-warmup"),
    pytest.param("SGD", {"lr": 0.2, "warmup_steps": 20, "r": 1.0, "weight_lr_power": 0.0}, id="SGD-r-power"),
    pytest.param("AdamW", {}, id="AdamW-default"),
    pytest.param("AdamW", {"lr": 0.01, "betas": (0.95, 0.999), "weight_decay": 0.05}, id="AdamW-beta1-decay"),
    pytest.param("AdamW", {"lr": 0.005, "betas": (0.98, 0.99), "weight_decay": 0.05}, id="AdamW-betas-decay"),
    pytest.param("AdamW", {"lr": 0.01, "warmup_steps": 50, "r": 0.5}, id="AdamW-warmup-r"),
    pytest.param("AdamW", {"lr": 0.02, "eps": 1e-3, "weight_lr_power": 1.0, "warmup_steps": 10}, id="AdamW-eps-power"),
]


@pytest.fixture(autouse=True)
def float64(one_torch_thread):
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 4, generator=g, dtype=torch.float64), torch.randn(32, 2, generator=g, dtype=torch.float64)


def model() -> nn.Module:
    g = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.7)
    return net


X, Y = data()


def loss_of(net: nn.Module) -> torch.Tensor:
    return nn.functional.mse_loss(net(X), Y)


def numpy_loss_and_grads(params: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """The MLP's loss and gradients at NumPy params (autograd through torch.func)."""
    net = model()
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    loss = nn.functional.mse_loss(torch.func.functional_call(net, tensors, (X,)), Y)
    grads = torch.autograd.grad(loss, list(tensors.values()))
    return loss.item(), {k: g.numpy() for k, g in zip(tensors, grads)}


def run_torch(cls: type, options: dict[str, Any], steps: int = STEPS, switches: tuple[int, ...] = SWITCHES,
              **extra: Any) -> list[dict[str, Any]]:
    """Train; return a snapshot (params, state, group sums, loss) at each switch (in eval mode) and at the end."""
    net = model()
    opt = cls(net.parameters(), **options, **extra)
    opt.train()
    snapshots = []
    for t in range(steps):
        if t in switches:
            for _ in range(2 if t == 250 else 1):
                opt.eval()
            snapshots.append(snapshot(net, opt))
            for _ in range(2 if t == 250 else 1):
                opt.train()
        opt.zero_grad()
        loss_of(net).backward()
        opt.step()
    opt.eval()
    snapshots.append(snapshot(net, opt))
    return snapshots


def snapshot(net: nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any]:
    with torch.no_grad():
        loss = loss_of(net).item()
    params = {k: p.detach().numpy().copy() for k, p in net.named_parameters()}
    names = {id(p): k for k, p in net.named_parameters()}
    state = {(names[id(p)], key): value.numpy().copy() for p, s in opt.state.items() for key, value in s.items()}
    group = opt.param_groups[0]
    return {"params": params, "state": state, "loss": loss,
            "group": {key: group[key] for key in ("k", "weight_sum", "lr_max", "train_mode")}}


def run_numpy(name: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    opt = NUMPY[name](**options)
    params = {k: p.detach().numpy().copy() for k, p in model().named_parameters()}
    state = opt.init(params)
    params, state = opt.train(params, state)
    snapshots = []
    for t in range(STEPS):
        if t in SWITCHES:
            for _ in range(2 if t == 250 else 1):
                params, state = opt.eval(params, state)
            snapshots.append(numpy_snapshot(params, state))
            for _ in range(2 if t == 250 else 1):
                params, state = opt.train(params, state)
        _, grads = numpy_loss_and_grads(params)
        params, state = opt.step(params, grads, state)
    params, state = opt.eval(params, state)
    snapshots.append(numpy_snapshot(params, state))
    return snapshots


def numpy_snapshot(params: dict[str, np.ndarray], state: ScheduleFreeState) -> dict[str, Any]:
    stored = {(k, "z"): v for k, v in state.z.items()}
    if state.nu is not None:
        stored |= {(k, "exp_avg_sq"): v for k, v in state.nu.items()}
    return {"params": dict(params), "state": stored, "loss": numpy_loss_and_grads(params)[0],
            "group": {"k": state.count, "weight_sum": state.weight_sum, "lr_max": state.lr_max,
                      "train_mode": state.train}}


def assert_same(ours: list[dict[str, Any]], expected: list[dict[str, Any]], rtol: float = RTOL) -> float:
    """Assert every snapshot agrees; return the largest relative difference seen."""
    worst = 0.0
    assert len(ours) == len(expected)
    for i, (a, b) in enumerate(zip(ours, expected)):
        for part in ("params", "state"):
            assert a[part].keys() == b[part].keys(), (i, part)
            for key in b[part]:
                scale = np.abs(b[part][key]).max()
                error = np.abs(a[part][key] - b[part][key]).max() / scale
                worst = max(worst, error)
                assert error <= rtol, f"snapshot {i}, {part} {key}: relative difference {error:.3g}"
        assert a["group"]["k"] == b["group"]["k"] and a["group"]["train_mode"] == b["group"]["train_mode"], i
        for key in ("weight_sum", "lr_max"):
            np.testing.assert_allclose(a["group"][key], b["group"][key], rtol=rtol, err_msg=f"snapshot {i}, {key}")
        np.testing.assert_allclose(a["loss"], b["loss"], rtol=rtol, err_msg=f"snapshot {i}, loss at x")
    return worst


def assert_away(snapshots: list[dict[str, Any]]) -> None:
    """Still learning at the end: the loss at x fell, and is far above 0 (no fixed point reached)."""
    first, last = snapshots[0]["loss"], snapshots[-1]["loss"]
    assert 0.05 < last < first, (first, last)


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
@pytest.mark.parametrize(("name", "options"), CASES)
def test_numpy_and_torch_agree_with_schedulefree_over_500_steps_with_eval_switches(name, options, foreach):
    expected = run_torch(REFERENCE[name], options, foreach=foreach)
    assert_away(expected)
    assert [s["group"]["k"] for s in expected] == [*SWITCHES, STEPS]
    assert_same(run_torch(OURS[name], options), expected)
    assert_same(run_numpy(name, options), expected)


def test_a_chaotic_run_is_bitwise_the_package_in_torch():
    """betas (0.8, 0.99) amplify a last-bit difference to 1e-2 in 500 steps: only the same arithmetic agrees."""
    options = {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05}
    expected = run_torch(REFERENCE["AdamW"], options, foreach=False)
    assert_same(run_torch(OURS["AdamW"], options), expected, rtol=0.0)
    with pytest.raises(AssertionError):  # the NumPy version's last bits, amplified
        assert_same(run_numpy("AdamW", options), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_the_comparison_can_fail(name):
    """A wrong variant, the averaging weights without the rates (weight_lr_power 0 against 2), is caught."""
    options = {"lr": 0.1 if name == "SGD" else 0.01, "warmup_steps": 50}
    expected = run_torch(REFERENCE[name], {**options, "weight_lr_power": 0.0}, foreach=False)
    with pytest.raises(AssertionError):
        assert_same(run_torch(OURS[name], options), expected)


def test_by_hand_warmup_weights_and_the_three_sequences():
    """θ₀ = 1, g = 1, α = 0.1, W = 2, β = 0.9: rates 0.05, 0.1; weights 0.05², 0.1²; c = 1, 0.8.

    z: 0.95, 0.85; x: 0.95, 0.2 * 0.95 + 0.8 * 0.85 = 0.87; y = 0.1 z + 0.9 x: 0.95, 0.868.
    """
    opt = NumpySGD(lr=0.1, momentum=0.9, warmup_steps=2)
    y, state = opt.train(np.array([1.0]), opt.init(np.array([1.0])))
    y, state = opt.step(y, np.array([1.0]), state)
    np.testing.assert_allclose([y[0], state.z[0], state.weight_sum, state.lr_max], [0.95, 0.95, 0.05**2, 0.05],
                               rtol=1e-14)
    y, state = opt.step(y, np.array([1.0]), state)
    np.testing.assert_allclose([y[0], state.z[0], state.weight_sum, state.lr_max],
                               [0.868, 0.85, 0.05**2 + 0.1**2, 0.1], rtol=1e-14)
    x, state = opt.eval(y, state)
    np.testing.assert_allclose(x, [0.87], rtol=1e-14)
    assert averaging_weight(2, 0.1, 0.05**2, r=0.0, weight_lr_power=2.0)[0] == pytest.approx(0.8, rel=1e-14)

    w = nn.Parameter(torch.tensor([1.0]))
    opt_t = SGDScheduleFree([w], lr=0.1, momentum=0.9, warmup_steps=2)
    opt_t.train()
    for _ in range(2):
        w.grad = torch.ones(1)
        opt_t.step()
    assert w.item() == pytest.approx(0.868, rel=1e-14)
    opt_t.eval()
    assert w.item() == pytest.approx(0.87, rel=1e-14)


def test_a_rate_of_zero_gives_no_weight_and_no_division_by_zero():
    """weight_sum stays 0 while every rate is 0 (lr 0, weights 0² = 0): c = 0, as in the package."""
    c, total = averaging_weight(1, 0.0, 0.0, r=0.0, weight_lr_power=2.0)
    assert (c, total) == (0.0, 0.0)
    c, total = averaging_weight(1, np.array([0.0, 0.1]), np.zeros(2), r=0.0, weight_lr_power=2.0)
    np.testing.assert_array_equal(c, [0.0, 1.0])


def test_a_step_outside_training_mode_is_refused_as_by_the_package():
    w = nn.Parameter(torch.ones(2))
    w.grad = torch.ones(2)
    for cls in (schedulefree.SGDScheduleFree, SGDScheduleFree, AdamWScheduleFree):
        opt = cls([w])  # a fresh optimizer is in evaluation mode
        with pytest.raises(Exception, match="train"):
            opt.step()
    opt = SGDScheduleFree([w])
    with pytest.raises(RuntimeError, match=r"optimizer\.train\(\)"):
        opt.step()
    opt.train()
    opt.add_param_group({"params": [nn.Parameter(torch.ones(1))]})  # a new group starts in evaluation mode
    with pytest.raises(RuntimeError, match="training mode"):
        opt.step()
    opt.train()
    opt.step()
    for np_opt in (NumpySGD(), NumpyAdamW()):
        state = np_opt.init(np.ones(2))
        with pytest.raises(ValueError, match="^state must be in training mode"):
            np_opt.step(np.ones(2), np.ones(2), state)
        with pytest.raises(ValueError, match="state must be ScheduleFreeState"):
            np_opt.train(np.ones(2), (0, np.ones(2)))


def test_train_and_eval_are_idempotent_and_a_fresh_state_is_x_equals_y():
    opt = NumpyAdamW(lr=0.1)
    theta = np.array([1.0, -2.0])
    state = opt.init(theta)
    assert state.train is False and state.count == 0
    y, state = opt.train(theta, state)
    np.testing.assert_array_equal(y, theta)  # z₀ = x₀: y₀ = x₀ exactly
    y2, state2 = opt.train(y, state)
    assert y2 is y and state2 is state
    y, state = opt.step(y, np.array([1.0, 1.0]), state)
    y, state = opt.step(y, np.array([0.5, -1.0]), state)
    x, state = opt.eval(y, state)
    x2, state3 = opt.eval(x, state)
    assert x2 is x and state3 is state
    y_back, _ = opt.train(x, state)
    np.testing.assert_allclose(y_back, y, rtol=1e-14)


def test_gradients_are_left_as_they_were():
    """The package overwrites p.grad with the decayed (SGD) or normalised (AdamW) gradient; ours does not."""
    for cls in (SGDScheduleFree, AdamWScheduleFree):
        w = nn.Parameter(torch.tensor([1.0, -2.0]))
        opt = cls([w], lr=0.1, weight_decay=0.1)
        opt.train()
        w.grad = torch.tensor([3.0, 4.0])
        opt.step()
        torch.testing.assert_close(w.grad, torch.tensor([3.0, 4.0]), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_a_state_dict_of_the_package_loads_and_the_run_continues_the_same(name):
    options = {"lr": 0.1 if name == "SGD" else 0.01, "warmup_steps": 10, "weight_decay": 0.01}
    a, b = model(), model()
    reference = REFERENCE[name](a.parameters(), foreach=False, **options)
    reference.train()
    for _ in range(30):
        reference.zero_grad()
        loss_of(a).backward()
        reference.step()
    reference.eval()  # the package's advice: save in evaluation mode
    b.load_state_dict(a.state_dict())
    ours = OURS[name](b.parameters(), **options)
    ours.load_state_dict(copy.deepcopy(reference.state_dict()))
    for net, opt in ((a, reference), (b, ours)):
        opt.train()
        for _ in range(30):
            opt.zero_grad()
            loss_of(net).backward()
            opt.step()
        opt.eval()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pb, pa, rtol=RTOL, atol=0)
    assert ours.param_groups[0]["k"] == 60


def test_param_groups_and_parameters_without_gradients_follow_the_package():
    """Two groups at two rates; the last layer has no gradient for the first 40 steps (its z starts late,
    AdamW's bias correction still counts the group's updates)."""
    for name, options in (("SGD", {"lr": 0.1}), ("AdamW", {"lr": 0.01, "warmup_steps": 20})):
        results = []
        for cls, extra in ((REFERENCE[name], {"foreach": False}), (OURS[name], {})):
            net = model()
            first, _, last = net
            opt = cls([{"params": first.parameters()}, {"params": last.parameters(), "lr": options["lr"] / 2}],
                      **options, **extra)
            opt.train()
            for t in range(120):
                opt.zero_grad()
                loss_of(net).backward()
                if t < 40:
                    for p in last.parameters():
                        p.grad = None
                opt.step()
            opt.eval()
            results.append([p.detach().clone() for p in net.parameters()])
        for ours, expected in zip(results[1], results[0]):
            torch.testing.assert_close(ours, expected, rtol=RTOL, atol=0)


def test_many_runs_at_once_equal_one_run_each():
    """One value per run of lr, momentum and r, against params with a leading axis of 3 runs."""
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(5, 5)), rng.normal(size=5)

    def grad(theta):  # a smooth non-quadratic gradient, row by row
        return np.tanh(theta @ A.T - b) @ A

    lrs, betas, rs = np.array([0.02, 0.05, 0.1]), np.array([0.5, 0.9, 0.95]), np.array([0.0, 1.0, 0.5])
    theta0 = rng.normal(size=(3, 5))
    together = NumpySGD(lr=lrs, momentum=betas, r=rs, warmup_steps=10, weight_decay=0.01)
    y, state = together.train(theta0, together.init(theta0))
    for t in range(200):
        y, state = together.step(y, grad(y), state)
    x, _ = together.eval(y, state)
    for k in range(3):
        alone = NumpySGD(lr=lrs[k], momentum=betas[k], r=rs[k], warmup_steps=10, weight_decay=0.01)
        y_k, state_k = alone.train(theta0[k], alone.init(theta0[k]))
        for t in range(200):
            y_k, state_k = alone.step(y_k, grad(y_k[None])[0], state_k)
        x_k, _ = alone.eval(y_k, state_k)
        np.testing.assert_allclose(x[k], x_k, rtol=1e-13, atol=1e-15)
        assert state.weight_sum[k] == pytest.approx(state_k.weight_sum, rel=1e-13)


def test_the_defaults_are_the_packages():
    import inspect

    for ours, reference in ((SGDScheduleFree, schedulefree.SGDScheduleFree),
                            (AdamWScheduleFree, schedulefree.AdamWScheduleFree)):
        mine = {k: v.default for k, v in inspect.signature(ours).parameters.items() if k not in ("params", "impl")}
        theirs = {k: v.default for k, v in inspect.signature(reference).parameters.items()
                  if k not in ("params", "foreach")}
        assert mine == theirs
    assert NumpySGD() == NumpySGD(lr=1.0, momentum=0.9, weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0)
    assert NumpyAdamW() == NumpyAdamW(lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0,
                                      r=0.0, weight_lr_power=2.0)


@pytest.mark.parametrize(("cls", "options", "name"), [
    (NumpySGD, {"momentum": 1.0}, "momentum"), (NumpySGD, {"momentum": 0.0}, "momentum"),
    (NumpyAdamW, {"betas": (0.0, 0.999)}, r"betas\[0\]"), (NumpyAdamW, {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    (NumpySGD, {"warmup_steps": 2.5}, "warmup_steps"), (NumpyAdamW, {"r": -1.0}, "r"),
    (NumpyAdamW, {"weight_lr_power": -1.0}, "weight_lr_power"),
])
def test_bad_hyperparameters_are_refused_by_name(cls, options, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        cls(**options)
    torch_cls = SGDScheduleFree if cls is NumpySGD else AdamWScheduleFree
    with pytest.raises(ValueError, match=f"^{name} must be"):
        torch_cls([nn.Parameter(torch.ones(1))], **options)


@pytest.fixture
def fresh_dynamo():
    """Empty compile caches before and after, so that no other test inherits these recompiles."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("name", "options"), [
    pytest.param("SGD", {"lr": 0.1, "weight_decay": 0.01, "warmup_steps": 5}, id="SGD"),
    pytest.param("AdamW", {"lr": 0.01, "weight_decay": 0.01, "warmup_steps": 5}, id="AdamW"),
])
def test_compiled_matches_the_package(name, options, fresh_dynamo):
    """impl='compiled': the same update function through torch.compile (Inductor may round the last bit apart)."""
    expected = run_torch(REFERENCE[name], options, steps=40, switches=(20,), foreach=False)
    assert_same(run_torch(OURS[name], options, steps=40, switches=(20,), impl="compiled"), expected, rtol=1e-12)


# --- every hyperparameter, both libraries: the table of tests/test_hyperparameters.py for these two -------------

from test_hyperparameters import (  # noqa: E402  (the same bad values as the other optimizers)
    BAD_BETAS,
    BAD_NUMBERS,
    NUMPY_ONLY_BAD_NUMBERS,
    TORCH_ONLY_BAD_NUMBERS,
    names,
)

NUMBERS = {"SGD": ["lr", "momentum", "weight_decay", "r", "weight_lr_power"],
           "AdamW": ["lr", "eps", "weight_decay", "r", "weight_lr_power"]}
BAD_COUNTS = [(2.5, ValueError), (-1, ValueError), (math.inf, ValueError), (None, TypeError), ("3", TypeError),
              (True, TypeError), ([3], TypeError)]


def hyperparameter_cases(library: str) -> list[Any]:
    table = []
    for name, numbers in NUMBERS.items():
        for param in numbers:
            bad = BAD_NUMBERS + (TORCH_ONLY_BAD_NUMBERS if library == "torch" else NUMPY_ONLY_BAD_NUMBERS)
            if param == "momentum":  # in (0, 1): x = y + (1/β − 1)(y − z) divides by it
                bad = bad + [(0.0, ValueError), (1.0, ValueError), (1.5, ValueError)]
            table += [pytest.param(name, param, value, error, id=f"{name}-{param}={value!r}") for value, error in bad]
        table += [pytest.param(name, "warmup_steps", value, error, id=f"{name}-warmup_steps={value!r}")
                  for value, error in BAD_COUNTS]
    table += [pytest.param("AdamW", "betas", value, error, id=f"AdamW-betas={value!r}")
              for value, error in BAD_BETAS + [((0.0, 0.999), ValueError)]]
    return table


@pytest.mark.parametrize(("name", "param", "value", "error"), hyperparameter_cases("numpy"))
def test_numpy_refuses_each_bad_hyperparameter_by_name(name, param, value, error):
    with pytest.raises(error) as caught:
        NUMPY[name](**{param: value})
    assert names(str(caught.value), param), str(caught.value)


@pytest.mark.parametrize(("name", "param", "value", "error"), hyperparameter_cases("torch"))
def test_torch_refuses_each_bad_hyperparameter_by_name_in_every_group(name, param, value, error):
    with pytest.raises(error) as caught:
        OURS[name]([nn.Parameter(torch.ones(2))], **{param: value})
    assert names(str(caught.value), param), str(caught.value)
    opt = OURS[name]([nn.Parameter(torch.ones(2))])
    with pytest.raises(error) as caught:
        opt.add_param_group({"params": [nn.Parameter(torch.ones(2))], param: value})
    assert "param group 1" in str(caught.value) and len(opt.param_groups) == 1


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_numpy_checks_a_schedules_rate_when_used_and_torch_refuses_a_schedule(name):
    opt = NUMPY[name](lr=lambda step: 0.1 if step < 2 else -0.1)
    theta, state = opt.train(np.ones(3), opt.init(np.ones(3)))
    for _ in range(2):
        theta, state = opt.step(theta, np.ones(3), state)
    with pytest.raises(ValueError, match=r"^lr\(2\), the schedule's rate at step 2, must be"):
        opt.step(theta, np.ones(3), state)
    with pytest.raises(TypeError, match="^lr must be a real number"):
        OURS[name]([nn.Parameter(torch.ones(2))], lr=lambda step: 0.1)


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_numpy_holds_the_same_memory_at_every_step(name):
    """tests/test_memory.py's check: 1,000 steps on 10^5 parameters, the cycle collector off, nothing kept."""
    import gc
    import tracemalloc

    opt = NUMPY[name](lr=1e-3)
    n = 10**5
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        params: Any = {"w": np.ones(n), "b": [np.ones(10)]}
        params, state = opt.train(params, opt.init(params))
        grads = {"w": np.full(n, 0.5), "b": [np.full(10, 0.5)]}
        for _ in range(2):
            params, state = opt.step(params, grads, state)
        second = tracemalloc.get_traced_memory()[0]
        for t in range(3, 1001):
            params, state = opt.step(params, grads, state)
            growth = tracemalloc.get_traced_memory()[0] - second
            assert growth < n * 8, f"step {t}: {growth / 2**20:.2f} MiB more than after step 2"
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
        gc.collect()
    assert state.count == 1000
