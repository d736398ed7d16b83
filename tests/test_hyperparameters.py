"""The hyperparameters of the five optimizers, NumPy and torch alike: one set of rules, every bad value named.

Each optimizer states its rules once, in ``lrcourse.numpy.<Name>.check_hyperparameters``;
the NumPy dataclass runs them on construction (numbers may be arrays of one value per
run, ``lr`` a schedule), the ``lrcourse.torch`` class on every param group (numbers
only, and a 0-d float tensor ``lr`` as ``torch.optim`` allows). These tables walk every
hyperparameter of every optimizer in both libraries with the values a user gets wrong:
each must raise ``TypeError`` (wrong kind) or ``ValueError`` (out of range) with a
message that starts with the parameter's name. ``torch.optim`` accepts most of them
(inf, NaN, bools, ``'yes'`` for a flag, a 3-tuple of betas), failing later or never.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
import torch

import lrcourse.numpy as lnp
import lrcourse.torch as ltorch

NAMES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]

# Each optimizer's numbers (lr excepted), with the interval they must lie in, and its flags.
NUMBERS = {
    "SGD": {"momentum": "[0, inf)", "dampening": "[0, 1]", "weight_decay": "[0, inf)"},
    "Adagrad": {"lr_decay": "[0, inf)", "weight_decay": "[0, inf)", "initial_accumulator_value": "[0, inf)",
                "eps": "[0, inf)"},
    "RMSprop": {"alpha": "[0, 1]", "eps": "[0, inf)", "weight_decay": "[0, inf)", "momentum": "[0, inf)"},
    "Adam": {"eps": "[0, inf)", "weight_decay": "[0, inf)"},
    "AdamW": {"eps": "[0, inf)", "weight_decay": "[0, inf)"},
}
FLAGS = {"SGD": ["nesterov"], "Adagrad": [], "RMSprop": ["centered"], "Adam": ["amsgrad", "decoupled_weight_decay"],
         "AdamW": ["amsgrad"]}

# (value, error) for a number, in both libraries.
BAD_NUMBERS = [
    (math.inf, ValueError),
    (-math.inf, ValueError),
    (math.nan, ValueError),
    (-0.5, ValueError),
    (None, TypeError),
    ("0.1", TypeError),
    (True, TypeError),
    (False, TypeError),
    (1j, TypeError),
    (np.float64("inf"), ValueError),
]
ABOVE_ONE = (1.5, ValueError)  # for the numbers in [0, 1]
TORCH_ONLY_BAD_NUMBERS = [  # per-run values are the NumPy optimizers' feature, not torch's
    ([0.1], TypeError),
    ((0.1, 0.2), TypeError),
    (np.array([0.1, 0.2]), TypeError),
]
NUMPY_ONLY_BAD_NUMBERS = [  # one value per run: every one is checked
    (np.array([0.1, math.inf]), ValueError),
    (np.array([0.1, -0.1]), ValueError),
    ([0.1, None], TypeError),
    (np.array(["a", "b"]), TypeError),
    (np.array([True, False]), TypeError),
]
BAD_FLAGS = [("yes", TypeError), (None, TypeError), (1.0, TypeError), (1, TypeError), ("no", TypeError)]
BAD_BETAS = [
    ((0.9,), ValueError),
    ((0.9, 0.99, 0.999), ValueError),
    ([0.9], ValueError),
    (0.9, TypeError),
    (None, TypeError),
    ((0.9, math.inf), ValueError),
    ((math.nan, 0.999), ValueError),
    ((1.0, 0.999), ValueError),
    ((0.9, -0.1), ValueError),
    ((True, 0.999), TypeError),
    ((0.9, "0.999"), TypeError),
]


def cases(library: str) -> list[tuple[str, str, Any, type[Exception]]]:
    """Every (optimizer, parameter, bad value, expected error) of one library."""
    table = []
    for name in NAMES:
        numbers = {"lr": "[0, inf)", **NUMBERS[name]}
        for param, interval in numbers.items():
            bad = BAD_NUMBERS + (TORCH_ONLY_BAD_NUMBERS if library == "torch" else NUMPY_ONLY_BAD_NUMBERS)
            if interval == "[0, 1]":
                bad = bad + [ABOVE_ONE]
            table += [(name, param, value, error) for value, error in bad]
        for param in FLAGS[name]:
            table += [(name, param, value, error) for value, error in BAD_FLAGS]
        if name in ("Adam", "AdamW"):
            table += [(name, "betas", value, error) for value, error in BAD_BETAS]
    return table


def names(message: str, param: str) -> bool:
    """Whether the message starts with the parameter's name (``betas[1]`` counts for ``betas``)."""
    return re.match(rf"(param group \d+: )?{re.escape(param)}\b", message) is not None


def ids(case: tuple[str, str, Any, type[Exception]]) -> str:
    name, param, value, _ = case
    return f"{name}-{param}={value!r}"


def w() -> torch.Tensor:
    return torch.zeros(3, requires_grad=True)


@pytest.mark.parametrize("case", cases("numpy"), ids=ids)
def test_numpy_refuses_each_bad_value_naming_the_parameter(case: tuple[str, str, Any, type[Exception]]) -> None:
    name, param, value, error = case
    with pytest.raises(error) as caught:
        getattr(lnp, name)(**{param: value})
    assert names(str(caught.value), param), str(caught.value)


@pytest.mark.parametrize("case", cases("torch"), ids=ids)
def test_torch_refuses_each_bad_value_naming_the_parameter(case: tuple[str, str, Any, type[Exception]]) -> None:
    name, param, value, error = case
    with pytest.raises(error) as caught:
        getattr(ltorch, name)([w()], **{param: value})
    assert names(str(caught.value), param), str(caught.value)


@pytest.mark.parametrize("case", cases("torch"), ids=ids)
def test_torch_checks_every_param_group_by_the_same_rules(case: tuple[str, str, Any, type[Exception]]) -> None:
    """add_param_group, and the groups given to the constructor, are checked as the constructor's arguments."""
    name, param, value, error = case
    opt = getattr(ltorch, name)([w()])
    with pytest.raises(error) as caught:
        opt.add_param_group({"params": [w()], param: value})
    assert names(str(caught.value), param) and "param group 1" in str(caught.value), str(caught.value)
    assert len(opt.param_groups) == 1  # the bad group was not added
    with pytest.raises(error, match=re.escape(param)):
        getattr(ltorch, name)([{"params": [w()]}, {"params": [w()], param: value}])


@pytest.mark.parametrize("value", [-1.0, math.inf, math.nan, None, "0.5", True, [0.5]])
@pytest.mark.parametrize("name", NAMES)
def test_torch_checks_lr_scale_on_every_group(name: str, value: Any) -> None:
    """lr_scale, the per-group factor of ScheduleLR and the range test, must be a finite number >= 0."""
    opt = getattr(ltorch, name)([w()])
    with pytest.raises((TypeError, ValueError), match=r"^param group 1: lr_scale must be a"):
        opt.add_param_group({"params": [w()], "lr_scale": value})
    with pytest.raises((TypeError, ValueError), match=r"^param group 0: lr_scale must be a"):
        getattr(ltorch, name)([{"params": [w()], "lr_scale": value}])


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_nesterov_needs_momentum_and_no_dampening_in_both_libraries(library: str) -> None:
    make = (lambda **kw: lnp.SGD(**kw)) if library == "numpy" else (lambda **kw: ltorch.SGD([w()], **kw))
    with pytest.raises(ValueError, match="^nesterov=True needs momentum > 0 and dampening = 0"):
        make(nesterov=True)
    with pytest.raises(ValueError, match="^nesterov=True needs momentum > 0 and dampening = 0"):
        make(nesterov=True, momentum=0.9, dampening=0.1)
    if library == "torch":  # a group's own momentum is checked against the default nesterov=True
        opt = ltorch.SGD([w()], lr=0.1, momentum=0.9, nesterov=True)
        with pytest.raises(ValueError, match="^param group 1: nesterov=True needs momentum > 0"):
            opt.add_param_group({"params": [w()], "momentum": 0.0})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rate", [math.nan, -0.1, math.inf, None, np.array([0.1, -0.1])])
def test_numpy_checks_a_schedules_rate_at_the_step_that_uses_it(name: str, rate: Any) -> None:
    """A schedule that gives NaN or a negative rate at step 2 fails at that step, naming lr and the step."""
    opt = getattr(lnp, name)(lr=lambda step: 0.1 if step < 2 else rate)
    theta = np.ones((2, 3))
    state = opt.init(theta)
    for _ in range(2):
        theta, state = opt.step(theta, np.ones((2, 3)), state)
    with pytest.raises((ValueError, TypeError), match=r"^lr\(2\), the schedule's rate at step 2, must be"):
        opt.step(theta, np.ones((2, 3)), state)


@pytest.mark.parametrize("name", NAMES)
def test_torch_refuses_a_callable_lr(name: str) -> None:
    """torch's optimizers take a number: a schedule goes to ScheduleLR."""
    with pytest.raises(TypeError, match="^lr must be a real number"):
        getattr(ltorch, name)([w()], lr=lambda step: 0.1)


# --- good values are still accepted ---------------------------------------------------------------

GOOD_NUMPY = {  # one value per run for each number, as arrays and lists; ints and NumPy scalars
    "SGD": {"lr": np.array([0.1, 0.2]), "momentum": [0.0, 0.9], "dampening": np.array([0.0, 1.0]),
            "weight_decay": np.float32(1e-4)},
    "Adagrad": {"lr": 1, "lr_decay": np.array([0.0, 0.1]), "weight_decay": np.int64(0),
                "initial_accumulator_value": [0.0, 0.1], "eps": 0.0},
    "RMSprop": {"lr": np.array(0.01), "alpha": [0.0, 1.0], "eps": np.array([1e-8, 1e-6]), "momentum": [0.0, 0.5],
                "centered": np.True_},
    "Adam": {"lr": np.array([1e-3, 1e-2]), "betas": [np.array([0.0, 0.9]), 0.999], "eps": 0, "amsgrad": True},
    "AdamW": {"lr": np.array([1e-3, 1e-2]), "betas": (0.9, np.array([0.99, 0.999])), "weight_decay": [0.0, 0.1]},
}


@pytest.mark.parametrize("name", NAMES)
def test_numpy_accepts_numbers_and_one_value_per_run(name: str) -> None:
    """Arrays and lists of values per run, ints and NumPy scalars: accepted, kept as floats and arrays, and run."""
    opt = getattr(lnp, name)(**GOOD_NUMPY[name])
    for param, value in GOOD_NUMPY[name].items():
        kept = getattr(opt, param)
        if param == "betas":
            assert isinstance(kept, tuple) and len(kept) == 2
        elif isinstance(value, (list, np.ndarray)) and np.ndim(value) > 0:
            np.testing.assert_array_equal(kept, value)
        elif isinstance(value, (bool, np.bool_)):
            assert kept is True
        else:
            assert type(kept) is float and kept == float(value)
    theta = np.ones((2, 3))
    new, state = opt.step(theta, np.ones((2, 3)), opt.init(theta))
    assert state.count == 1 and np.isfinite(new).all()


@pytest.mark.parametrize("name", NAMES)
def test_numpy_accepts_a_schedule(name: str) -> None:
    from lrcourse.schedules import ExponentialDecay

    schedule = ExponentialDecay(0.1, 0.5)
    assert getattr(lnp, name)(lr=schedule).lr is schedule


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_torch_accepts_numbers_and_a_0d_tensor_lr(name: str, dtype: torch.dtype) -> None:
    """A 0-d float tensor lr (torch.optim allows one, a captured graph reads it) is checked as its value and kept."""
    lr = torch.tensor(0.1, dtype=dtype)
    p = torch.ones(3, dtype=dtype, requires_grad=True)
    opt = getattr(ltorch, name)([p], lr=lr)
    assert opt.param_groups[0]["lr"] is lr
    p.grad = torch.ones(3, dtype=dtype)
    opt.step()
    assert (p.detach() < 1).all()
    reference = torch.ones(3, dtype=dtype, requires_grad=True)
    their = getattr(torch.optim, name)([reference], lr=0.1)
    reference.grad = torch.ones(3, dtype=dtype)
    their.step()
    torch.testing.assert_close(p.detach(), reference.detach())
    with pytest.raises(ValueError, match=r"^lr must be a finite number in \[0, inf\), got -0.1"):
        getattr(ltorch, name)([p], lr=torch.tensor(-0.1))
    opt.add_param_group({"params": [torch.ones(2, requires_grad=True)], "lr": torch.tensor(0.5), "lr_scale": 0.5})


@pytest.mark.parametrize("name", NAMES)
def test_torch_accepts_what_torch_optim_does_within_the_rules(name: str) -> None:
    """ints, NumPy scalars, betas as a list, and groups with their own values (and other keys, such as a name)."""
    extra = {"betas": [0.8, 0.99]} if name in ("Adam", "AdamW") else {}
    opt = getattr(ltorch, name)([{"params": [w()], "lr": np.float64(0.01), "name": "body"}, {"params": [w()]}],
                                lr=1, weight_decay=np.float32(0.0), **extra)
    opt.add_param_group({"params": [w()], "lr": 0, "weight_decay": 0.1, "lr_scale": 0.0})
    assert [group["lr"] for group in opt.param_groups] == [np.float64(0.01), 1, 0]
