"""lrcourse.numpy = lrcourse.torch = torch.optim, for every option combination.

Each run takes 500 steps on a noisy quadratic started away from its minimum, with the
params in two groups (the second with half the learning rate). In float64 the three
agree to 1e-12 relative, in float32 to 1e-5.

Why away from the minimum: there an adaptive method divides a gradient made of
rounding errors by the root of a mean of their squares, so a last-bit difference
between two correct implementations flips the sign of a whole step. Every adaptive
run asserts that it ended at least one unit from the minimum in every coordinate,
so the comparison never tests rounding noise. (SGD is linear in the gradient and
does not amplify rounding, so it may approach the minimum.) The gradient noise, of the
size of the gradient itself, keeps the variance that centered RMSprop estimates,
``v - g_avg**2``, well away from zero: with little noise that difference of two
nearly equal numbers loses most of its float32 digits, and then the runs disagree by
more than 1e-5 while each is as correct as float32 allows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import lrcourse.numpy as lnp
import lrcourse.torch as ltorch

STEPS = 500
NAMES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
# Small enough that the adaptive methods (which move about lr per step) stay away from the minimum.
LR = {"SGD": 1e-2, "Adagrad": 1e-2, "RMSprop": 1e-4, "Adam": 1e-3, "AdamW": 1e-3}
GROUPS = {"first": ["w", "b"], "second": ["s"]}  # the second group runs at half the learning rate
TOL = {torch.float64: 1e-12, torch.float32: 1e-5}
NP_DTYPE = {torch.float64: np.float64, torch.float32: np.float32}

# State buffers: lrcourse.numpy field -> torch.optim state key.
STATE_KEYS = {
    "SGD": {"trace": "momentum_buffer"},
    "Adagrad": {"sum_of_squares": "sum"},
    "RMSprop": {"nu": "square_avg", "mu": "grad_avg", "trace": "momentum_buffer"},
    "Adam": {"mu": "exp_avg", "nu": "exp_avg_sq", "nu_max": "max_exp_avg_sq"},
    "AdamW": {"mu": "exp_avg", "nu": "exp_avg_sq", "nu_max": "max_exp_avg_sq"},
}


def _grid(**values: list[Any]) -> list[dict[str, Any]]:
    return [dict(zip(values, combo)) for combo in itertools.product(*values.values())]


def _valid_sgd(options: dict[str, Any]) -> bool:
    return not options["nesterov"] or (options["momentum"] > 0 and options["dampening"] == 0)


OPTIONS: dict[str, list[dict[str, Any]]] = {
    "SGD": [
        o
        for o in _grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True], weight_decay=[0.0, 0.01])
        if _valid_sgd(o)
    ],
    "Adagrad": _grid(lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.01], initial_accumulator_value=[0.0, 0.5], eps=[1e-10, 1e-3]),
    "RMSprop": _grid(centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.01], alpha=[0.99, 0.9]),
    "Adam": _grid(amsgrad=[False, True], weight_decay=[0.0, 0.01], betas=[(0.9, 0.999), (0.5, 0.9)]),
    "AdamW": _grid(amsgrad=[False, True], weight_decay=[0.01, 0.1], betas=[(0.9, 0.999), (0.5, 0.9)]),
}
CASES = [pytest.param(name, options, id=f"{name}-{options}") for name in NAMES for options in OPTIONS[name]]


class NoisyQuadratic:
    """f(θ) = Σ a (θ − c)² / 2 with gradient noise: g_t = a (θ − c) + ξ_t, the same ξ_t everywhere.

    Minimum ``c`` and start ``theta0`` are on the same side of zero, ``|c| >= 2``, so
    every iterate stays at least 2 from zero and relative errors are well defined.
    """

    shapes = {"w": (4, 5), "b": (5,), "s": (2, 3)}

    def __init__(self, seed: int = 0, steps: int = STEPS, noise: float = 2.0) -> None:
        rng = np.random.default_rng(seed)
        self.a, self.c, self.theta0, self.xi = {}, {}, {}, {}
        for key, shape in self.shapes.items():
            sign = rng.choice([-1.0, 1.0], shape)
            self.a[key] = rng.uniform(0.5, 2.0, shape)
            self.c[key] = sign * rng.uniform(2.0, 3.0, shape)
            self.theta0[key] = self.c[key] + sign * rng.uniform(3.0, 6.0, shape)
            self.xi[key] = noise * rng.standard_normal((steps, *shape))

    def grad(self, key: str, theta: Any, t: int) -> Any:
        """The gradient of update ``t`` (from 1), in theta's library, dtype and device."""
        a, c, xi = self.a[key], self.c[key], self.xi[key][t - 1]
        if isinstance(theta, torch.Tensor):
            a, c, xi = (torch.as_tensor(x, dtype=theta.dtype, device=theta.device) for x in (a, c, xi))
        else:  # NumPy, or CuPy through NumPy's dispatch
            a, c, xi = (np.asarray(x, dtype=theta.dtype, like=theta) for x in (a, c, xi))
        return a * (theta - c) + xi


PROBLEM = NoisyQuadratic()


def group_options(name: str, options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The hyperparameters of each group: all of ``options``, and the second group at half lr."""
    return {"first": {"lr": LR[name], **options}, "second": {"lr": LR[name] / 2, **options}}


def run_numpy(
    name: str, options: dict[str, Any], dtype: torch.dtype, steps: int = STEPS,
    to_array: Callable[[np.ndarray], Any] = lambda x: x,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]], int]:
    """Run lrcourse.numpy with one optimizer per group; return params, state buffers by torch key, count."""
    problem = PROBLEM
    params, states, buffers, count = {}, {}, {}, 0
    for group, keys in GROUPS.items():
        opt = getattr(lnp, name)(**group_options(name, options)[group])
        theta = {k: to_array(problem.theta0[k].astype(NP_DTYPE[dtype])) for k in keys}
        state = opt.init(theta)
        for t in range(1, steps + 1):
            theta, state = opt.step(theta, {k: problem.grad(k, theta[k], t) for k in keys}, state)
        params.update(theta)
        count = state.count
        for key in keys:
            buffers[key] = {
                torch_key: getattr(state, field)[key]
                for field, torch_key in STATE_KEYS[name].items()
                if getattr(state, field) is not None
            }
    return params, buffers, count


def make_torch(
    cls: type[torch.optim.Optimizer], name: str, options: dict[str, Any], dtype: torch.dtype, device: str = "cpu", **extra: Any
) -> tuple[dict[str, torch.Tensor], torch.optim.Optimizer]:
    """Params (as tensors) in two param groups, and an optimizer of class ``cls`` over them."""
    params = {
        k: torch.tensor(PROBLEM.theta0[k], dtype=dtype, device=device, requires_grad=True) for k in NoisyQuadratic.shapes
    }
    hyper = group_options(name, options)
    groups = [{"params": [params[k] for k in keys], **hyper[group]} for group, keys in GROUPS.items()]
    # The options also go to the constructor: torch.optim.Adagrad starts every group's
    # sum at the constructor's initial_accumulator_value (see test_torch_optimizers).
    return params, cls(groups, **options, **extra)


def run_torch(
    cls: type[torch.optim.Optimizer], name: str, options: dict[str, Any], dtype: torch.dtype, steps: int = STEPS,
    device: str = "cpu", **extra: Any,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]], torch.optim.Optimizer]:
    """Run a torch optimizer; return params and state buffers as float64 NumPy arrays, and the optimizer."""
    params, opt = make_torch(cls, name, options, dtype, device, **extra)
    for t in range(1, steps + 1):
        for key, p in params.items():
            p.grad = PROBLEM.grad(key, p.detach(), t)
        opt.step()
    out = {k: p.detach().cpu().double().numpy() for k, p in params.items()}
    state = {
        k: {s: v.detach().cpu().double().numpy() for s, v in opt.state[p].items() if s != "step"}
        for k, p in params.items()
    }
    return out, state, opt


def assert_close(actual: dict[str, Any], expected: dict[str, Any], tol: float, what: str) -> None:
    """Params: elementwise relative error <= tol (they stay >= 2 from zero)."""
    for key in expected:
        np.testing.assert_allclose(np.asarray(actual[key], np.float64), expected[key], rtol=tol, atol=0, err_msg=f"{what}[{key}]")


def assert_state_close(actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]], tol: float, what: str) -> None:
    """State buffers: error <= tol relative to the buffer's largest entry (a running mean of g may pass zero)."""
    for key in expected:
        assert set(actual[key]) == set(expected[key]), f"{what}[{key}] holds {set(actual[key])}, expected {set(expected[key])}"
        for buffer, want in expected[key].items():
            got = np.asarray(actual[key][buffer], np.float64)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max(), err_msg=f"{what}[{key}][{buffer}]")


def assert_away_from_minimum(name: str, params: dict[str, np.ndarray]) -> None:
    if name == "SGD":
        return
    for key, theta in params.items():
        distance = np.abs(theta - PROBLEM.c[key]).min()
        assert distance > 1.0, f"{name} ended {distance:.3g} from the minimum in {key}: the test would compare rounding noise"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("name", "options"), CASES)
def test_numpy_torch_and_torch_optim_agree(name: str, options: dict[str, Any], dtype: torch.dtype) -> None:
    tol = TOL[dtype]
    expected, expected_state, reference = run_torch(getattr(torch.optim, name), name, options, dtype)
    assert_away_from_minimum(name, expected)

    ours, ours_state, _ = run_torch(getattr(ltorch, name), name, options, dtype)
    assert_close(ours, expected, tol, "lrcourse.torch")
    assert_state_close(ours_state, expected_state, tol, "lrcourse.torch state")

    numpy_params, numpy_state, count = run_numpy(name, options, dtype)
    assert all(theta.dtype == NP_DTYPE[dtype] for theta in numpy_params.values())
    assert_close(numpy_params, expected, tol, "lrcourse.numpy")
    assert_state_close(numpy_state, expected_state, tol, "lrcourse.numpy state")
    if name != "SGD":  # torch's SGD keeps no step count
        steps = {state["step"].item() for state in reference.state.values()}
        assert steps == {count} == {STEPS}


def test_the_cases_cover_every_option() -> None:
    """Each option takes each of its values in some case (a guard against a shrinking grid)."""
    assert len(CASES) == 10 + 16 + 16 + 8 + 8
    sgd = OPTIONS["SGD"]
    assert any(o["nesterov"] and o["weight_decay"] for o in sgd)
    assert any(o["dampening"] and o["momentum"] for o in sgd)
    assert any(o["centered"] and o["momentum"] and o["weight_decay"] for o in OPTIONS["RMSprop"])
    assert any(o["amsgrad"] and o["weight_decay"] for o in OPTIONS["Adam"])
    assert any(o["lr_decay"] and o["initial_accumulator_value"] and o["weight_decay"] for o in OPTIONS["Adagrad"])


# --- impl="compiled" against the loop, on a few representative configurations -----------------

COMPILED_CASES = [
    pytest.param("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, id="SGD-nesterov-wd"),
    pytest.param("Adagrad", {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.5}, id="Adagrad-all"),
    pytest.param("RMSprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.01}, id="RMSprop-centered-momentum-wd"),
    pytest.param("Adam", {"amsgrad": True, "weight_decay": 0.01}, id="Adam-amsgrad-wd"),
    pytest.param("AdamW", {}, id="AdamW-default"),
]


# The first torch.compile imports Inductor, which imports torch.utils.mkldnn, which calls the
# deprecated torch.jit.script_method: torch's warning about its own code, raised once per process.
INDUCTOR_IMPORT_WARNING = "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"


@pytest.fixture
def fresh_dynamo() -> Any:
    """Start each compiled test with empty compile caches, so none inherits another's recompiles."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.filterwarnings(INDUCTOR_IMPORT_WARNING)
@pytest.mark.usefixtures("fresh_dynamo")
@pytest.mark.parametrize(("name", "options"), COMPILED_CASES)
def test_compiled_matches_loop(name: str, options: dict[str, Any]) -> None:
    cls = getattr(ltorch, name)
    for dtype in (torch.float64, torch.float32):
        loop, loop_state, _ = run_torch(cls, name, options, dtype)
        fast, fast_state, _ = run_torch(cls, name, options, dtype, impl="compiled")
        assert_close(fast, loop, TOL[dtype], f"compiled {dtype}")
        assert_state_close(fast_state, loop_state, TOL[dtype], f"compiled state {dtype}")


@pytest.mark.filterwarnings(INDUCTOR_IMPORT_WARNING)
@pytest.mark.usefixtures("fresh_dynamo")
def test_compiled_does_not_recompile_as_step_and_lr_change() -> None:
    """At most two compilations per group (values, then symbolic scalars), then none as t and lr move."""
    from torch._dynamo.utils import counters

    before = counters["stats"]["unique_graphs"]  # the counters add up over the whole process
    params, opt = make_torch(ltorch.Adam, "Adam", {"weight_decay": 0.01}, torch.float32, impl="compiled")
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    for t in range(1, 21):
        for key, p in params.items():
            p.grad = PROBLEM.grad(key, p.detach(), t)
        opt.step()
        scheduler.step()
        if t == 3:
            graphs = counters["stats"]["unique_graphs"] - before
    assert 1 <= graphs <= 2 * len(opt.param_groups)
    assert counters["stats"]["unique_graphs"] - before == graphs


# --- lrcourse.numpy with a real schedule = torch.optim driven by the same schedule ----------


def test_numpy_schedule_matches_torch_scheduler() -> None:
    """The first update uses schedule(0), the state's count drives the schedule, as ScheduleLR does."""
    from lrcourse.schedules import ExponentialDecay, Warmup
    from lrcourse.torch import ScheduleLR

    schedule = Warmup(ExponentialDecay(1e-3, 0.995), warmup_steps=50)
    theta = {k: PROBLEM.theta0[k] for k in GROUPS["first"]}
    opt = lnp.Adam(lr=schedule, amsgrad=True)
    state = opt.init(theta)
    params = {k: torch.tensor(PROBLEM.theta0[k], requires_grad=True) for k in GROUPS["first"]}
    reference = torch.optim.Adam(list(params.values()), lr=1.0, amsgrad=True)
    scheduler = ScheduleLR(reference, schedule)
    for t in range(1, STEPS + 1):
        theta, state = opt.step(theta, {k: PROBLEM.grad(k, theta[k], t) for k in theta}, state)
        for key, p in params.items():
            p.grad = PROBLEM.grad(key, p.detach(), t)
        reference.step()
        scheduler.step()
        if t == 1:  # Warmup starts at 0: the first update does nothing
            assert all(np.array_equal(theta[k], PROBLEM.theta0[k]) for k in theta)
    assert_close(theta, {k: p.detach().numpy() for k, p in params.items()}, 1e-12, "scheduled lrcourse.numpy")
