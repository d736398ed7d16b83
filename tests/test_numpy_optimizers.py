"""lrcourse.numpy: the pure init/step API, params containers, batched and scheduled hyperparameters, bad input."""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lrcourse.numpy as lnp
from lrcourse.numpy._hyperparams import for_leaf
from lrcourse.schedules import ExponentialDecay, StepDecay

NAMES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
# Every buffer switched on: momentum, centered, amsgrad.
FULL = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
    "Adagrad": {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01},
    "Adam": {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01},
    "AdamW": {"lr": 0.05, "amsgrad": True},
}


def make(name: str, **changes: Any) -> Any:
    return getattr(lnp, name)(**{**FULL[name], **changes})


def quadratic_grads(params: Any, t: int) -> Any:
    """g = θ − 1 + a wiggle that depends on θ and t, elementwise, in θ's dtype, for any container."""
    if isinstance(params, dict):
        return {k: quadratic_grads(v, t) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return type(params)(quadratic_grads(v, t) for v in params)
    return params - 1 + np.sin(3 * params + t).astype(params.dtype) / 2


def run(opt: Any, params: Any, steps: int = 30) -> tuple[Any, Any]:
    state = opt.init(params)
    for t in range(1, steps + 1):
        params, state = opt.step(params, quadratic_grads(params, t), state)
    return params, state


def rng_params(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4), "layers": [rng.normal(size=2), (rng.normal(size=(2, 2)),)]}


# --- same names, hyperparameters and defaults as torch.optim -------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_and_defaults_are_torchs(name: str) -> None:
    ours = {f.name: f.default for f in dataclasses.fields(getattr(lnp, name)) if f.init}
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for key, default in ours.items():
        assert key in theirs, f"{name}.{key} is not a torch.optim.{name} argument"
        assert theirs[key].default == default, f"{name}.{key}: default {default!r}, torch's {theirs[key].default!r}"
    shared = {"lr", "momentum", "dampening", "weight_decay", "nesterov", "lr_decay", "initial_accumulator_value",
              "eps", "alpha", "centered", "betas", "amsgrad"}
    assert shared & set(theirs) <= set(ours), f"{name} lacks {shared & set(theirs) - set(ours)}"


# --- the pure API ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_init_starts_at_count_zero_with_buffers_shaped_like_params(name: str) -> None:
    params = rng_params()
    state = make(name).init(params)
    assert type(state).__name__ == ("AdamState" if name == "AdamW" else f"{name}State")
    assert state.count == 0
    for field, tree in zip(state._fields[1:], state[1:]):
        assert tree is not None, f"{field} should be in use with {FULL[name]}"
        assert shapes_and_dtypes(tree) == shapes_and_dtypes(params)


def shapes_and_dtypes(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: shapes_and_dtypes(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(shapes_and_dtypes(v) for v in tree)
    return (tree.shape, tree.dtype)


def test_unused_buffers_are_none() -> None:
    params = np.zeros(3)
    assert lnp.SGD().init(params).trace is None
    assert lnp.Adam().init(params).nu_max is None
    rms = lnp.RMSprop().init(params)
    assert rms.mu is None and rms.trace is None


@pytest.mark.parametrize("name", NAMES)
def test_step_is_pure(name: str) -> None:
    """Nothing passed in is modified, and the same inputs give the same outputs."""
    opt = make(name)
    params, state = run(opt, rng_params(), steps=3)
    grads = quadratic_grads(params, 4)
    before = copy.deepcopy((params, grads, state))
    first = opt.step(params, grads, state)
    second = opt.step(params, grads, state)
    np.testing.assert_equal(before, (params, grads, state))
    np.testing.assert_equal(first, second)
    assert first[1].count == state.count + 1 == 4


@pytest.mark.parametrize("name", NAMES)
def test_every_container_gives_the_same_update(name: str) -> None:
    """A dict, a nested list/tuple and each array on its own all follow the same trajectory."""
    opt = make(name)
    tree = rng_params()
    from_dict, _ = run(opt, tree)
    flat = [tree["w"], tree["b"], tree["layers"][0], tree["layers"][1][0]]
    from_list, _ = run(opt, [flat[0], flat[1], [flat[2], (flat[3],)]])
    alone = [run(opt, array)[0] for array in flat]
    np.testing.assert_equal(from_list, [from_dict["w"], from_dict["b"], from_dict["layers"]])
    np.testing.assert_equal(alone, [from_dict["w"], from_dict["b"], from_dict["layers"][0], from_dict["layers"][1][0]])


def test_grads_dict_may_list_its_keys_in_any_order() -> None:
    opt = lnp.Adam(lr=0.1)
    params = {"a": np.ones(2), "b": np.zeros(3)}
    state = opt.init(params)
    forward, _ = opt.step(params, {"a": np.ones(2), "b": -np.ones(3)}, state)
    backward, _ = opt.step(params, {"b": -np.ones(3), "a": np.ones(2)}, state)
    np.testing.assert_equal(forward, backward)
    np.testing.assert_allclose(forward["b"], 0.1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lr", [0.01, np.array([0.01, 0.02]), ExponentialDecay(0.01, 0.9)], ids=["float", "batched", "schedule"])
def test_float32_stays_float32(name: str, lr: Any) -> None:
    params = {"w": np.ones((2, 3), np.float32), "b": np.ones(2, np.float32)}
    new, state = run(make(name, lr=lr), params, steps=3)
    for tree in (new, *state[1:]):
        assert {a.dtype for a in (tree["w"], tree["b"])} == {np.dtype(np.float32)}


# --- learning rates: schedules and batches ----------------------------------------------------


def test_schedule_sees_the_count_of_updates_already_applied() -> None:
    seen: list[int] = []

    def schedule(step: int) -> float:
        seen.append(step)
        return 0.1

    opt = lnp.SGD(lr=schedule)
    run(opt, np.zeros(2), steps=4)
    assert seen == [0, 1, 2, 3]


def test_sgd_with_a_schedule_steps_by_each_rate_in_turn() -> None:
    """A constant gradient 1: after T updates θ = θ₀ − Σ_{k<T} α(k), with α a real lrcourse schedule."""
    schedule = StepDecay(0.1, step_size=3, gamma=0.5)
    opt = lnp.SGD(lr=schedule)
    theta, state = np.zeros(1), opt.init(np.zeros(1))
    for _ in range(7):
        theta, state = opt.step(theta, np.ones(1), state)
    np.testing.assert_allclose(theta, -schedule(np.arange(7)).sum(), rtol=1e-15)


BATCHED = {  # one value per run for lr and every other hyperparameter that has one
    "SGD": {"lr": [0.01, 0.05, 0.1], "momentum": [0.5, 0.9, 0.95], "weight_decay": [0.0, 0.01, 0.1], "dampening": [0.0, 0.0, 0.0]},
    "Adagrad": {"lr": [0.01, 0.05, 0.1], "lr_decay": [0.0, 0.01, 0.1], "eps": [1e-10, 1e-6, 1e-3],
                "initial_accumulator_value": [0.0, 0.1, 1.0]},
    "RMSprop": {"lr": [0.001, 0.01, 0.03], "alpha": [0.9, 0.99, 0.999], "momentum": [0.0, 0.5, 0.9]},
    "Adam": {"lr": [0.001, 0.01, 0.1], "weight_decay": [0.0, 0.01, 0.1]},
    "AdamW": {"lr": [0.001, 0.01, 0.1], "weight_decay": [0.0, 0.01, 0.1]},
}


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_of_runs_equals_separate_runs(name: str) -> None:
    """Hyperparameters of shape (K,) against params of shape (K, ...): K runs, each as if alone."""
    batched = {k: np.array(v) for k, v in BATCHED[name].items()}
    if name in ("Adam", "AdamW"):
        batched["betas"] = (np.array([0.8, 0.9, 0.95]), np.array([0.99, 0.999, 0.9999]))
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(3, 2, 4)), "b": rng.normal(size=(3, 4))}
    together, state = run(make(name, **batched), params)
    assert state.count == 30
    for k in range(3):
        alone = make(name, **{key: (tuple(b[k] for b in v) if key == "betas" else v[k]) for key, v in batched.items()})
        separate, _ = run(alone, {"w": params["w"][k], "b": params["b"][k]})
        for key in params:
            np.testing.assert_allclose(together[key][k], separate[key], rtol=1e-14, atol=1e-15, err_msg=f"run {k}, {key}")


@pytest.mark.parametrize("name", NAMES)
def test_integer_params_with_a_batch_of_rates_are_updated_in_float(name: str) -> None:
    """Integer params and an lr of shape (K,): each run moves as with its own float lr (which gives float params).

    The per-run rates were cast to the params' integer dtype, so 0.05 became 0 and the
    params never moved.
    """
    lrs = np.array([0.05, 0.1, 0.2])
    theta = np.arange(6).reshape(3, 2)  # int64
    together, _ = run(make(name, lr=lrs), theta, steps=3)
    assert together.dtype == np.float64
    for k in range(3):
        alone, _ = run(make(name, lr=float(lrs[k])), theta[k], steps=3)
        np.testing.assert_allclose(together[k], alone, rtol=1e-14)
    assert not np.allclose(together, theta)


def test_a_batch_must_match_the_leading_axis() -> None:
    opt = lnp.SGD(lr=np.array([0.1, 0.2, 0.3]))
    params = np.zeros((2, 5))
    with pytest.raises(ValueError, match=r"shape \(3,\) does not match .* shape \(2, 5\)"):
        opt.step(params, params, opt.init(params))


@settings(max_examples=50, deadline=None)
@given(k=st.integers(1, 4), trailing=st.lists(st.integers(1, 3), max_size=3), dtype=st.sampled_from([np.float32, np.float64]))
def test_for_leaf_broadcasts_against_the_leading_axis(k: int, trailing: list[int], dtype: type) -> None:
    theta = np.zeros((k, *trailing), dtype)
    values = np.arange(1, k + 1, dtype=np.float64)
    (shaped,) = for_leaf(theta, values)
    assert shaped.dtype == dtype and shaped.ndim == theta.ndim
    np.testing.assert_array_equal(np.broadcast_to(shaped, theta.shape)[(slice(None), *([0] * len(trailing)))], values)


# --- bad input: ValueError naming the parameter ----------------------------------------------

BAD_HYPERPARAMETERS = [
    ("SGD", {"lr": -0.1}, "lr"),
    ("SGD", {"lr": np.array([0.1, -0.1])}, "lr"),
    ("SGD", {"momentum": -0.9}, "momentum"),
    ("SGD", {"weight_decay": -1e-4}, "weight_decay"),
    ("SGD", {"dampening": 1.5}, "dampening"),
    ("SGD", {"nesterov": True}, "nesterov"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
    ("SGD", {"nesterov": True, "momentum": np.array([0.9, 0.0])}, "nesterov"),
    ("Adagrad", {"lr": float("nan")}, "lr"),
    ("Adagrad", {"eps": -1e-10}, "eps"),
    ("Adagrad", {"lr_decay": -0.1}, "lr_decay"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    ("RMSprop", {"eps": -1e-8}, "eps"),
    ("RMSprop", {"alpha": 1.1}, "alpha"),
    ("RMSprop", {"momentum": -0.1}, "momentum"),
    ("Adam", {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    ("Adam", {"betas": (-0.1, 0.999)}, r"betas\[0\]"),
    ("Adam", {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    ("Adam", {"betas": (0.9, float("nan"))}, r"betas\[1\]"),
    ("Adam", {"betas": (0.9, np.array([0.99, 1.5]))}, r"betas\[1\]"),
    ("Adam", {"eps": -1e-8}, "eps"),
    ("AdamW", {"weight_decay": -0.01}, "weight_decay"),
    ("AdamW", {"lr": -1e-3}, "lr"),
]


@pytest.mark.parametrize(("name", "kwargs", "param"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_raise_naming_the_parameter(name: str, kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(ValueError, match=f"^{param}"):
        getattr(lnp, name)(**kwargs)


BAD_GRADS = [
    ({"w": np.zeros(3)}, r"grads has keys \['w'\] but params has keys \['b', 'w'\]"),
    ({"w": np.zeros(3), "b": np.zeros(2), "c": np.zeros(1)}, r"grads has keys .* but params has keys"),
    ({"w": np.zeros(4), "b": np.zeros(2)}, r"grads\['w'\] has shape \(4,\) but params\['w'\] has shape \(3,\)"),
    ({"w": np.zeros((3, 1)), "b": np.zeros(2)}, r"grads\['w'\] has shape \(3, 1\)"),
    ({"w": np.zeros(3), "b": [np.zeros(2)]}, r"grads\['b'\] is a list but params\['b'\] is an array"),
    ([np.zeros(3), np.zeros(2)], r"grads is a list but params is a dict"),
    (np.zeros(3), r"grads is a ndarray but params is a dict"),
]


@pytest.mark.parametrize(("grads", "message"), BAD_GRADS)
def test_mismatched_grads_raise_naming_the_array(grads: Any, message: str) -> None:
    opt = lnp.Adam()
    params = {"w": np.zeros(3), "b": np.zeros(2)}
    with pytest.raises(ValueError, match=message):
        opt.step(params, grads, opt.init(params))


def test_mismatched_lists_and_states_raise() -> None:
    opt = lnp.Adam()
    params = [np.zeros(3), [np.zeros(2)]]
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"grads\[1\] has length 2 but params\[1\] has length 1"):
        opt.step(params, [np.zeros(3), [np.zeros(2), np.zeros(2)]], state)
    with pytest.raises(ValueError, match=r"state.mu\[0\] has shape \(2,\)"):
        opt.step(params, params, state._replace(mu=[np.zeros(2), [np.zeros(2)]]))
    with pytest.raises(ValueError, match="state must be AdamState, got SGDState"):
        opt.step(params, params, lnp.SGD().init(params))


# --- NaN and inf: propagate, as torch.optim does ------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_nan_and_inf_gradients_propagate_like_torch(name: str) -> None:
    """A NaN or inf entry spoils its own coordinate only, with the same values as torch.optim."""
    options = {k: v for k, v in FULL[name].items()}
    theta0 = np.array([1.0, 2.0, 3.0, 4.0])
    grads = [np.array([0.5, np.nan, -np.inf, 1.0]), np.array([0.5, 1.0, 1.0, np.inf]), np.array([0.1, 0.2, 0.3, 0.4])]
    opt = getattr(lnp, name)(**options)
    theta, state = theta0, opt.init(theta0)
    p = torch.tensor(theta0, requires_grad=True)
    reference = getattr(torch.optim, name)([p], **options)
    for g in grads:
        with np.errstate(invalid="ignore"):  # NumPy warns of inf - inf as it would anywhere
            theta, state = opt.step(theta, g, state)
        p.grad = torch.tensor(g)
        reference.step()
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-15, equal_nan=True)
    assert np.isfinite(theta[0]) and not np.isfinite(theta[1:]).any()
