"""lrcourse.torch: torch.optim.Optimizer behaviour (groups, state_dict, closure, schedulers, devices, bad input)."""

from __future__ import annotations

import copy
import doctest
import io
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import lrcourse.torch as ltorch

NAMES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
FULL = {  # every state buffer in use
    "SGD": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
    "Adagrad": {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01},
    "Adam": {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01},
    "AdamW": {"lr": 0.05, "amsgrad": True},
}
INDUCTOR_IMPORT_WARNING = "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"  # see test_optimizer_parity


class Model(torch.nn.Module):
    """A small MLP on a fixed regression problem, float64."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
        self.x = torch.randn(32, 4, dtype=torch.float64)
        self.y = torch.randn(32, 1, dtype=torch.float64)

    def loss(self) -> torch.Tensor:
        return torch.nn.functional.mse_loss(self.net(self.x), self.y)

    def groups(self, lr: float) -> list[dict[str, Any]]:
        """Weights and biases in two groups, the biases at half the rate (nanoGPT's rule: dim >= 2 or not)."""
        weights = [p for p in self.net.parameters() if p.dim() >= 2]
        biases = [p for p in self.net.parameters() if p.dim() < 2]
        return [{"params": weights}, {"params": biases, "lr": lr / 2}]


def train(model: Model, opt: torch.optim.Optimizer, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        model.loss().backward()
        opt.step()


def make(cls: type[torch.optim.Optimizer], name: str, model: Model, **extra: Any) -> torch.optim.Optimizer:
    return cls(model.groups(FULL[name]["lr"]), **FULL[name], **extra)


def params_of(model: Model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.net.parameters()]


# --- docstrings and signatures ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_class_has_an_example(name: str) -> None:
    """pytest runs the examples (--doctest-modules); this checks that every optimizer has one that takes a step."""
    (test,) = doctest.DocTestFinder(recurse=False).find(getattr(ltorch, name))
    assert any("opt.step()" in example.source for example in test.examples)


@pytest.mark.parametrize("name", NAMES)
def test_arguments_and_defaults_are_torchs(name: str) -> None:
    ours = inspect.signature(getattr(ltorch, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for key, parameter in ours.items():
        if key == "impl":
            assert parameter.default == "loop" and parameter.kind == parameter.KEYWORD_ONLY
            continue
        assert key in theirs and theirs[key].default == parameter.default, f"{name}({key}=...)"
    positional = [k for k, p in ours.items() if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional == list(theirs)[: len(positional)], "the hyperparameters in torch's order"


@pytest.mark.parametrize("impl", ["loop", "compiled"])
@pytest.mark.parametrize(("name", "function"), [("SGD", "sgd"), ("Adagrad", "adagrad"), ("RMSprop", "rmsprop"),
                                                ("Adam", "adam"), ("AdamW", "adam")])
def test_step_runs_the_update_function_the_book_shows(name: str, function: str, impl: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The function that show_source displays (lrcourse.torch.optim.<function>) is what step() runs, not a copy."""
    shown = getattr(ltorch.optim, function)
    assert getattr(ltorch, name).update is shown
    calls = []
    monkeypatch.setattr(getattr(ltorch, name), "update", staticmethod(lambda *a, **k: calls.append(shown(*a, **k))))
    monkeypatch.setattr(ltorch.optim._base, "compiled", lambda update: update)  # compiling: what, not how
    p = torch.ones(3, requires_grad=True)
    opt = getattr(ltorch, name)([p], lr=0.1, impl=impl)
    p.grad = torch.ones(3)
    opt.step()
    assert len(calls) == 1 and not torch.equal(p.detach(), torch.ones(3))


# --- state_dict -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_identically(name: str) -> None:
    """Stop after 7 steps, rebuild from the state_dict (through torch.save), run 8 more: bit for bit the same."""
    cls = getattr(ltorch, name)
    straight = Model()
    opt = make(cls, name, straight)
    train(straight, opt, 7)
    saved_params = copy.deepcopy(straight.state_dict())
    saved = copy.deepcopy(opt.state_dict())
    train(straight, opt, 8)

    resumed = Model()
    resumed.load_state_dict(saved_params)
    opt2 = make(cls, name, resumed)
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    buffer.seek(0)
    opt2.load_state_dict(torch.load(buffer, weights_only=True))
    train(resumed, opt2, 8)
    for a, b in zip(params_of(straight), params_of(resumed)):
        assert torch.equal(a, b)
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", ["torch->ours", "ours->torch"])
def test_state_dict_loads_across_torch_optim(name: str, direction: str) -> None:
    """The state has torch.optim's layout: a run may switch implementation midway."""
    first, second = (torch.optim, ltorch) if direction == "torch->ours" else (ltorch, torch.optim)
    reference = Model()
    train(reference, make(getattr(torch.optim, name), name, reference), 12)

    model = Model()
    opt = make(getattr(first, name), name, model)
    train(model, opt, 5)
    opt2 = make(getattr(second, name), name, model)
    opt2.load_state_dict(opt.state_dict())
    train(model, opt2, 7)
    for a, b in zip(params_of(model), params_of(reference)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.filterwarnings(INDUCTOR_IMPORT_WARNING)
def test_compiled_state_dict_round_trip() -> None:
    torch._dynamo.reset()
    straight, resumed = Model(), Model()
    opt = make(ltorch.Adam, "Adam", straight, impl="compiled")
    train(straight, opt, 3)
    resumed.load_state_dict(straight.state_dict())
    opt2 = make(ltorch.Adam, "Adam", resumed, impl="loop")
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # loading shares tensors: copy first
    train(straight, opt, 4)
    train(resumed, opt2, 4)
    for a, b in zip(params_of(straight), params_of(resumed)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)
    torch._dynamo.reset()


def test_adagrad_honours_a_groups_initial_accumulator_value() -> None:
    """A convention difference, on purpose: torch.optim.Adagrad ignores a group's own value."""
    p, q = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    groups = [{"params": [p]}, {"params": [q], "initial_accumulator_value": 3.0}]
    ours, theirs = ltorch.Adagrad(copy.copy(groups)), torch.optim.Adagrad(copy.copy(groups))
    p.grad, q.grad = torch.ones(2), torch.ones(2)
    ours.step()
    assert ours.state[q]["sum"].tolist() == [4.0, 4.0]  # 3 + 1²
    assert theirs.state[q]["sum"].tolist() == [0.0, 0.0]  # before its step: the constructor's 0


# --- the Optimizer contract ------------------------------------------------------------------------


def closure_for(model: Model, opt: torch.optim.Optimizer) -> Callable[[], torch.Tensor]:
    """The closure torch's docs describe: clear the gradients, compute the loss, backpropagate."""

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = model.loss()
        loss.backward()  # fails unless step() enables gradients around the closure
        return loss

    return closure


@pytest.mark.parametrize("name", NAMES)
def test_closure_is_called_with_gradients_enabled_and_its_loss_returned(name: str) -> None:
    model, reference = Model(), Model()
    opt = make(getattr(ltorch, name), name, model)
    ref_opt = make(getattr(torch.optim, name), name, reference)
    for _ in range(3):
        loss = opt.step(closure_for(model, opt))
        ref_loss = ref_opt.step(closure_for(reference, ref_opt))
        assert isinstance(loss, torch.Tensor)
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
    for a, b in zip(params_of(model), params_of(reference)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_params_without_grad_are_left_alone(name: str) -> None:
    used, unused = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = getattr(ltorch, name)([used, unused], **FULL[name])
    used.grad = torch.ones(3)
    opt.step()
    assert unused not in opt.state and torch.equal(unused, torch.ones(3))
    assert not torch.equal(used, torch.ones(3))
    assert opt.step() is None


@pytest.mark.parametrize("name", NAMES)
def test_torch_lr_schedulers_drive_it_as_they_drive_torch_optim(name: str) -> None:
    model, reference = Model(), Model()
    opt, ref_opt = make(getattr(ltorch, name), name, model), make(getattr(torch.optim, name), name, reference)
    schedulers = [torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5) for o in (opt, ref_opt)]
    for _ in range(10):
        train(model, opt, 1)
        train(reference, ref_opt, 1)
        for s in schedulers:
            s.step()
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref_opt.param_groups]
    for a, b in zip(params_of(model), params_of(reference)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_state_lives_on_the_params_device_and_step_counts_on_the_cpu(name: str) -> None:
    """On the meta device (shapes only) every buffer must follow the param: no tensor is made on a fixed device."""
    p = torch.empty(4, 3, device="meta", requires_grad=True)
    opt = getattr(ltorch, name)([p], **FULL[name])
    p.grad = torch.empty(4, 3, device="meta")
    opt.step()
    opt.step()
    state = opt.state[p]
    assert p.device.type == "meta"
    for key, value in state.items():
        expected = "cpu" if key == "step" else "meta"
        assert value.device.type == expected, f"{name} state[{key!r}] on {value.device}"
    if "step" in state:
        assert state["step"].item() == 2


@pytest.mark.parametrize("name", NAMES)
def test_nan_and_inf_gradients_propagate_like_torch(name: str) -> None:
    """The policy: no check (it would sync a GPU every step); bad values spread as in torch.optim."""
    p, q = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True), torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    opt, reference = getattr(ltorch, name)([p], **FULL[name]), getattr(torch.optim, name)([q], **FULL[name])
    for g in ([0.5, float("nan"), -float("inf"), 1.0], [0.5, 1.0, 1.0, float("inf")], [0.1, 0.2, 0.3, 0.4]):
        p.grad, q.grad = torch.tensor(g), torch.tensor(g)
        opt.step()
        reference.step()
        torch.testing.assert_close(p, q, rtol=1e-6, atol=0, equal_nan=True)
    assert torch.isfinite(p[0]) and not torch.isfinite(p[1:]).any()


# --- bad input ---------------------------------------------------------------------------------------

BAD = [
    ("SGD", {"lr": -0.1}, "lr"),
    ("SGD", {"momentum": -0.5}, "momentum"),
    ("SGD", {"weight_decay": -1e-4}, "weight_decay"),
    ("SGD", {"nesterov": True}, "nesterov"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.5}, "nesterov"),
    ("Adagrad", {"eps": -1e-10}, "eps"),
    ("Adagrad", {"lr_decay": -1.0}, "lr_decay"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    ("RMSprop", {"alpha": -0.1}, "alpha"),
    ("RMSprop", {"eps": -1.0}, "eps"),
    ("Adam", {"lr": float("nan")}, "lr"),
    ("Adam", {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    ("Adam", {"betas": (0.9, -0.5)}, r"betas\[1\]"),
    ("AdamW", {"eps": -1e-8}, "eps"),
    ("AdamW", {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    ("Adam", {"impl": "fused"}, "impl"),
]


@pytest.mark.parametrize(("name", "kwargs", "param"), BAD)
def test_bad_arguments_raise_naming_the_parameter(name: str, kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(ValueError, match=f"^{param}"):
        getattr(ltorch, name)([torch.zeros(1, requires_grad=True)], **kwargs)


def test_float32_params_keep_float32_state() -> None:
    p = torch.ones(5, dtype=torch.float32, requires_grad=True)
    opt = ltorch.Adam([p], amsgrad=True)
    p.grad = torch.ones(5)
    opt.step()
    assert p.dtype == torch.float32
    assert all(v.dtype == torch.float32 for v in opt.state[p].values())
    np.testing.assert_allclose(p.detach().numpy(), 1 - 1e-3, rtol=1e-6)
