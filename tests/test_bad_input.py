"""Every public constructor and function refuses bad input with an error that names the parameter.

One table, :data:`TABLE`, walks the package's public API, both layers. Each line is one
parameter of one callable: a call that takes the value to try, a good value, and the
bad values, each expanded into one test (``callable-parameter-value``). A bad value
must raise

- ``TypeError`` when it is of the wrong kind: ``None``, a string, a bool or a complex
  number where a number is asked for, ``1.0`` or ``'yes'`` for a flag, a list where
  one number is required;
- ``ValueError`` when it is of the right kind but out of range: inf, NaN, a negative
  number, 2.5 steps;
- either, for the values marked ``either`` (a structure of the wrong shape, such as
  a 1-tuple for ``betas``);

and the message must name the parameter (as a word: ``lr`` is not named by
``lr_decay``). The good value is tried too (:func:`test_the_good_value_passes`), so a
bad value fails because of itself, not because the call is wrong.

:func:`test_every_public_callable_is_in_the_table` walks the ``__all__`` of every
public module: a new public class or function must join the table or
:data:`EXEMPT`, where each exemption says why.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import lrcourse.clipping as clipping_np
import lrcourse.metrics as metrics
import lrcourse.numpy as npo
import lrcourse.problems as problems
import lrcourse.range_test as rt
import lrcourse.scaling as scaling
import lrcourse.schedules as sch
import lrcourse.sweep as sw
import lrcourse.torch as lt
import lrcourse.torch.clipping as clipping_t
import lrcourse.torch.data as data
import lrcourse.torch.ddp as ddp
import lrcourse.torch.device as device
import lrcourse.torch.models as models
import lrcourse.torch.optim as opt
import lrcourse.torch.param_groups as param_groups
import lrcourse.torch.runtime as runtime
import lrcourse.torch.schedulers as schedulers
import lrcourse.torch.sweep as sweep_t
import lrcourse.torch.training as training
import lrcourse.validation as validation

INF, NAN = math.inf, math.nan
EITHER = (TypeError, ValueError)


@dataclass(frozen=True)
class Bad:
    """A bad value and the error it must raise."""

    value: Any
    error: type[Exception] | tuple[type[Exception], ...]


def but(bads: list[Bad], *allowed: Any) -> list[Bad]:
    """The bad values less those that a parameter allows (``None`` for "not given")."""
    return [bad for bad in bads if not any(bad.value is a for a in allowed)]


def kind(*values: Any) -> list[Bad]:
    """Values of the wrong kind: TypeError."""
    return [Bad(v, TypeError) for v in values]


def out(*values: Any) -> list[Bad]:
    """Values of the right kind, out of range: ValueError."""
    return [Bad(v, ValueError) for v in values]


def either(*values: Any) -> list[Bad]:
    """Values of the wrong structure: TypeError or ValueError."""
    return [Bad(v, EITHER) for v in values]


# The bad values, by what the parameter is.
NOT_A_NUMBER = kind(None, "0.1", True, 1j)
REAL = NOT_A_NUMBER + out(INF, NAN)  # any finite real number
NONNEGATIVE = REAL + out(-1.0)  # a finite number >= 0
POSITIVE = REAL + out(-1.0, 0.0)  # a finite number > 0
SCALAR = kind([0.1])  # joins the above where one number is required (not one per run)
PER_RUN = kind(["0.1"]) + out([0.1, NAN], [0.1, INF])  # joins them where an array of one value per run is allowed
FLAG = kind("yes", None, 1.0)
COUNT = kind(None, "3", True, [3]) + out(2.5, INF, NAN, -1)  # an integer >= 0 or >= 1
SEED = kind("3", True, [3]) + out(2.5, NAN, -1)  # an integer >= 0 (None is allowed by some)
STEP = kind("3", True, None, 1j) + out(-1, NAN)  # the step a schedule is called with
BETAS = either((0.9,), (0.9, 0.99, 0.999)) + kind(None, 0.9, (True, 0.999), ("0.9", 0.999)) + out(
    (INF, 0.999), (0.9, NAN), (-0.1, 0.999), (0.9, 1.0))
PROGRESS = kind("yes", 1.0, 1)  # True, False or None
DEVICE = either("tpu", 1.5, True)


@dataclass(frozen=True)
class Line:
    """One parameter of one public callable: how to call it with a value, a good value, the bad ones."""

    covers: Any  # the public class or function this line tests
    what: str  # its name, with the method when the line calls one
    parameter: str
    call: Callable[[Any], Any]
    good: Any
    bads: list[Bad]
    name: str  # the name the error must contain


def line(covers: Any, parameter: str, call: Callable[[Any], Any], good: Any, bads: list[Bad], *,
         what: str | None = None, name: str | None = None) -> Line:
    return Line(covers, what or covers.__name__, parameter, call, good, bads, name or parameter)


# Small things to call with.
def tensors() -> list[torch.Tensor]:
    return [nn.Parameter(torch.ones(2))]


def linear() -> nn.Module:
    with runtime.seeded(0):
        return nn.Linear(2, 1)


def two_layers() -> nn.Module:
    with runtime.seeded(0):
        return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(8, 2, generator=generator), torch.randn(8, 1, generator=generator)


def mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(output, target)


def with_grads() -> list[torch.Tensor]:
    params = tensors()
    params[0].grad = torch.tensor([3.0, 4.0])
    return params


def numpy_step(optimizer: Any) -> Any:
    theta = np.ones(2)
    state = optimizer.init(theta)
    if hasattr(optimizer, "train"):  # a schedule-free optimizer starts in evaluation mode
        theta, state = optimizer.train(theta, state)
    return optimizer.step(theta, np.ones(2), state)


def seeded(seed: Any, where: Any = None) -> None:
    with runtime.seeded(seed, where):
        torch.rand(1)


def train_step(clip: Any) -> Any:
    model = linear()
    return training.train_step(model, torch.optim.SGD(model.parameters(), lr=0.1), mse, *batch(), clip=clip)


def own_parameters(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1)


def another_models_parameters(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(linear().parameters(), lr=0.1)


def loose_tensors(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(tensors(), lr=0.1)


HELD_MODEL = nn.Linear(2, 1)  # the good value of held_parameters' model: its optimizer is built on it


def held_parameters_of(make: Any) -> Any:
    model = linear()
    return runtime.held_parameters(model, make(model) if callable(make) else make)


def stepped_adam(model: nn.Module) -> torch.optim.Optimizer:
    optimizer = torch.optim.Adam(model.parameters())
    mse(model(batch()[0]), batch()[1]).backward()
    optimizer.step()
    return optimizer


def unstepped_adam(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters())


def adam_preconditioner_of(make: Any) -> Any:
    model = linear()
    return lt.adam_preconditioner(make(model) if callable(make) else make, model)


TINY_DDP = ddp.DDPOptions(steps=1, hidden=(2,), device="cpu")  # one step of a 64-2-10 MLP


def range_test_optimizer(make: Any) -> Any:
    model = linear()
    return range_test(model=model, optimizer=make(model) if callable(make) else make)


def fine_tune(**arguments: Any) -> Any:
    arguments = {"model": two_layers(), "data": batch(), "lr": 0.01, "steps": 6, "freeze_steps": 2,
                 "device": "cpu", **arguments}
    return lt.fine_tune(**arguments)


def lp_ft(**arguments: Any) -> Any:
    arguments = {"model": two_layers(), "data": batch(), "probe_lr": 0.01, "lr": 0.01, "steps": 6,
                 "probe_steps": 2, "device": "cpu", **arguments}
    return lt.lp_ft(**arguments)


def per_example_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (output - target) ** 2


def float_loss(output: torch.Tensor, target: torch.Tensor) -> float:
    return 1.0


def tracker() -> clipping_np.GradNormTracker:
    norms = clipping_np.GradNormTracker()
    for norm in (1.0, 2.0, 3.0):
        norms.record(norm)
    return norms


@functools.cache
def wine() -> data.Dataset:
    return data.load("wine")


def sweep_problem(**arguments: Any) -> Any:
    options = dict(problem=problems.Quadratic(), optimizer=npo.SGD, steps=3, lr=[0.1, 0.2])
    return sw.sweep(**{**options, **arguments})


def sweep_model(**arguments: Any) -> Any:
    options = dict(model=linear(), optimizer=npo.SGD, steps=2, data=batch(), lr=[0.1, 0.2], device="cpu")
    return sweep_t.sweep_model(**{**options, **arguments})


def range_test(**arguments: Any) -> Any:
    model = arguments.pop("model") if "model" in arguments else linear()
    optimizer = arguments.pop("optimizer") if "optimizer" in arguments else torch.optim.SGD(model.parameters(), lr=0.1)
    options = dict(model=model, optimizer=optimizer, loss_fn=mse, data=batch(), num_steps=5, progress=False)
    return lt.lr_range_test(**{**options, **arguments})


def fit(**arguments: Any) -> Any:
    model = linear()
    options = dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), data=batch(), steps=2,
                   device="cpu", progress=False)
    return lt.fit(**{**options, **arguments})


def problem_range_test(**arguments: Any) -> Any:
    return rt.problem_range_test(**{"problem": problems.Quadratic(), "num_steps": 10, **arguments})


def constant_lr_sweep(**arguments: Any) -> Any:
    return rt.constant_lr_sweep(**{"problem": problems.Quadratic(), "lrs": [0.1, 1.0], "steps": 5, **arguments})


def from_losses(**arguments: Any) -> Any:
    lrs = np.geomspace(1e-3, 1.0, 20)
    return rt.RangeTestResult.from_losses(**{"lrs": lrs, "losses": 1.0 / (1.0 + 30 * lrs), **arguments})


LRS, SMOOTHED = np.geomspace(1e-3, 1.0, 20), 1.0 / (1.0 + 30 * np.geomspace(1e-3, 1.0, 20))


@dataclass(frozen=True)
class Fields:
    """A frozen dataclass to try real_field and integer_field on."""

    x: Any


# The schedules, each built from keyword arguments (a good one for every field).
SCHEDULES: dict[type, dict[str, Any]] = {
    sch.Constant: dict(lr=0.1),
    sch.TimeDecay: dict(lr=0.1, gamma=0.1, power=1.0),
    sch.StepDecay: dict(lr=0.1, step_size=10, gamma=0.1),
    sch.MultiStepDecay: dict(lr=0.1, milestones=(10, 20), gamma=0.1),
    sch.ExponentialDecay: dict(lr=0.1, gamma=0.9),
    sch.PolynomialDecay: dict(lr=0.1, total_steps=10, power=1.0, min_lr=0.0),
    sch.CosineDecay: dict(lr=0.1, total_steps=10, min_lr=0.0),
    sch.Cyclic: dict(base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=5, mode="triangular", gamma=1.0),
    sch.WarmRestarts: dict(lr=0.1, T_0=10, T_mult=2, min_lr=0.0, restart_decay=1.0),
    sch.OneCycle: dict(max_lr=0.1, total_steps=100, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                       final_div_factor=1e4, three_phase=False),
    sch.Warmup: dict(schedule=sch.Constant(0.1), warmup_steps=5, start_lr=0.0),
    sch.Join: dict(schedules=(sch.Constant(0.1), sch.Constant(0.01)), boundaries=(10,)),
    sch.Chebyshev: dict(mu=0.01, L=1.0, n=10),
    sch.WarmupStableDecay: dict(lr=0.1, total_steps=20, warmup_steps=2, decay_steps=4, decay="1-sqrt", min_lr=0.0),
}

# What each schedule field must be (the bad values), where it is not a rate > 0.
SCHEDULE_FIELDS: dict[str, list[Bad]] = {
    "lr": POSITIVE, "base_lr": POSITIVE, "max_lr": POSITIVE,
    "gamma": NONNEGATIVE, "power": POSITIVE, "min_lr": NONNEGATIVE + out(1.0),  # min_lr <= lr
    "step_size": COUNT, "total_steps": COUNT, "warmup_steps": COUNT,
    "milestones": either((), (20, 10), (2.5,), "10", None, (True,)),
    "step_size_up": POSITIVE + out(0.5), "step_size_down": kind("5", True, 1j) + out(INF, NAN, -1.0, 0.0, 0.5),
    "mode": either("fast", 1),
    "T_0": POSITIVE + out(0.5), "T_mult": POSITIVE + out(0.5), "restart_decay": POSITIVE + out(1.5),
    "pct_start": REAL + out(0.0, 1.0), "anneal_strategy": either("cosine", None),
    "div_factor": POSITIVE, "final_div_factor": POSITIVE, "three_phase": FLAG,
    "schedule": either(None, 0.1, lambda step: 0.1), "start_lr": NONNEGATIVE,
    "schedules": either((), None, (sch.Constant(0.1), 0.1)),
    "boundaries": either((), (-1,), ("5",), None, (INF,), (5, 6)),  # one boundary per schedule after the first
    "mu": POSITIVE + out(5e-324), "L": POSITIVE + out(0.001), "n": COUNT + out(0),  # 1/mu finite, L >= mu
    "decay_steps": but(COUNT, None) + out(0, 19), "decay": either("sqrt", None),  # W + D <= T (WarmupStableDecay)
}
GAMMA_AT_MOST_1 = {sch.StepDecay, sch.MultiStepDecay, sch.ExponentialDecay, sch.Cyclic}


def schedule_lines() -> list[Line]:
    lines = []
    for cls, good in SCHEDULES.items():
        for field, value in good.items():
            bads = SCHEDULE_FIELDS[field] + (out(0.0, 1.5) if field == "gamma" and cls in GAMMA_AT_MOST_1 else [])
            bads += out(0.001) if (cls, field) == (sch.Cyclic, "max_lr") else []  # max_lr >= base_lr
            lines.append(line(cls, field, lambda v, cls=cls, good=good, field=field: cls(**{**good, field: v}),
                              value, bads))
        lines.append(line(cls, "step", lambda v, cls=cls, good=good: cls(**good)(v), 3, STEP,
                          what=f"{cls.__name__}.__call__"))
    return lines


# The NumPy optimizers: every hyperparameter may be one value per run (an array).
NUMPY_OPTIMIZERS: dict[type, dict[str, Any]] = {
    npo.SGD: dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False),
    npo.Adagrad: dict(lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10),
    npo.RMSprop: dict(lr=0.1, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
    npo.Adam: dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   decoupled_weight_decay=False),
    npo.AdamW: dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False),
    npo.SGDScheduleFree: dict(lr=0.1, momentum=0.9, weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0),
    npo.AdamWScheduleFree: dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                                weight_lr_power=2.0),
}
# The torch optimizers: the same, with one number per hyperparameter.
TORCH_OPTIMIZERS: dict[type, dict[str, Any]] = {
    opt.SGD: dict(NUMPY_OPTIMIZERS[npo.SGD]),
    opt.Adagrad: dict(NUMPY_OPTIMIZERS[npo.Adagrad]),
    opt.RMSprop: dict(NUMPY_OPTIMIZERS[npo.RMSprop]),
    opt.Adam: dict(NUMPY_OPTIMIZERS[npo.Adam]),
    opt.AdamW: dict(NUMPY_OPTIMIZERS[npo.AdamW]),
    opt.SGDScheduleFree: dict(NUMPY_OPTIMIZERS[npo.SGDScheduleFree]),
    opt.AdamWScheduleFree: dict(NUMPY_OPTIMIZERS[npo.AdamWScheduleFree]),
}
FLAGS = {"nesterov", "centered", "amsgrad", "decoupled_weight_decay"}
AT_MOST_1 = {"dampening", "alpha"}  # in [0, 1]
OPEN_UNIT = {npo.SGDScheduleFree, opt.SGDScheduleFree}  # their momentum is in (0, 1): eval() divides by it


def optimizer_lines() -> list[Line]:
    lines = []
    for layer, table, extra in (("numpy", NUMPY_OPTIMIZERS, PER_RUN), ("torch", TORCH_OPTIMIZERS, SCALAR)):
        for cls, good in table.items():
            def build(v: Any, cls: type = cls, good: dict[str, Any] = good, field: str = "", torch_: bool = False) -> Any:
                arguments = {**good, field: v}
                return cls(tensors(), **arguments) if torch_ else cls(**arguments)

            for field, value in good.items():
                if field in FLAGS:
                    bads = FLAG
                elif field == "betas":
                    bads = BETAS
                elif field == "warmup_steps":  # an integer, one for all runs
                    bads = COUNT
                else:
                    bads = NONNEGATIVE + extra + (out(1.5) if field in AT_MOST_1 else [])
                    bads += out(0.0, 1.0) if field == "momentum" and cls in OPEN_UNIT else []
                lines.append(line(cls, field, functools.partial(build, field=field, torch_=layer == "torch"), value,
                                  bads, what=f"{layer}.{cls.__name__}"))
            if layer == "numpy":  # a schedule's rate is checked when it is used
                lines.append(line(cls, "lr", lambda v, cls=cls, good=good: numpy_step(cls(**{**good, "lr": v})),
                                  lambda step: 0.1, [Bad(lambda step: NAN, ValueError), Bad(lambda step: -0.1, ValueError),
                                                     Bad(lambda step: "0.1", TypeError)],
                                  what=f"numpy.{cls.__name__}.step"))
            else:
                lines.append(line(cls, "impl", functools.partial(build, field="impl", torch_=True), "loop",
                                  either("fast", None), what=f"torch.{cls.__name__}"))
                lines.append(line(cls, "lr_scale", lambda v, cls=cls: cls(tensors(), lr=0.1).add_param_group(
                    {"params": tensors(), "lr_scale": v}), 0.5, NONNEGATIVE + SCALAR,
                    what=f"torch.{cls.__name__}.add_param_group"))
    return lines


# Prodigy: prodigyopt's hyperparameters, one number each (its own rules: no NumPy twin, no torch.optim class).
PRODIGY: dict[str, Any] = dict(lr=1.0, betas=(0.9, 0.999), beta3=0.9, eps=1e-8, weight_decay=0.0, decouple=True,
                               use_bias_correction=False, safeguard_warmup=False, d0=1e-6, d_coef=1.0,
                               growth_rate=INF, fsdp_in_use=False, slice_p=1)
NUMPY_PRODIGY = {name: value for name, value in PRODIGY.items() if name != "fsdp_in_use"}
PRODIGY_BADS: dict[str, list[Bad]] = {
    "lr": POSITIVE + SCALAR, "betas": BETAS, "beta3": kind("0.9", True, 1j) + out(INF, NAN, -0.1, 1.0),
    "eps": POSITIVE + SCALAR, "weight_decay": NONNEGATIVE + SCALAR, "d0": POSITIVE + SCALAR,
    "d_coef": POSITIVE + SCALAR, "growth_rate": kind(None, "2", True, 1j, [2.0]) + out(NAN, 0.5, -1.0),
    "decouple": FLAG, "use_bias_correction": FLAG, "safeguard_warmup": FLAG,
    "fsdp_in_use": FLAG + out(True),  # sharded training is refused, by name
    "slice_p": COUNT + out(0),
}


def prodigy_lines() -> list[Line]:
    lines = [line(opt.Prodigy, field, lambda v, field=field: opt.Prodigy(tensors(), **{**PRODIGY, field: v}),
                  PRODIGY[field], PRODIGY_BADS[field], what="torch.Prodigy") for field in PRODIGY]
    numpy_fields = list(NUMPY_PRODIGY)  # nothing to shard in NumPy
    lines += [line(npo.Prodigy, field, lambda v, field=field: npo.Prodigy(**{**NUMPY_PRODIGY, field: v}),
                   PRODIGY[field], PRODIGY_BADS[field] + (kind(np.array([0.1, 0.2])) if field != "betas" else []),
                   what="numpy.Prodigy") for field in numpy_fields]
    lines.append(line(npo.Prodigy, "lr", lambda v: numpy_step(npo.Prodigy(lr=v)), lambda step: 0.1,
                      [Bad(lambda step: NAN, ValueError), Bad(lambda step: -0.1, ValueError),
                       Bad(lambda step: "0.1", TypeError)], what="numpy.Prodigy.step"))
    lines.append(line(opt.Prodigy, "lr_scale", lambda v: opt.Prodigy(tensors()).add_param_group(
        {"params": tensors(), "lr_scale": v}), 0.5, NONNEGATIVE + SCALAR, what="torch.Prodigy.add_param_group"))
    lines.append(line(opt.Prodigy, "betas", lambda v: opt.Prodigy(tensors()).add_param_group(
        {"params": tensors(), "betas": v}), (0.9, 0.999), out((0.9, 0.99)), what="torch.Prodigy.add_param_group"))
    lines.append(line(opt.Prodigy, "lr", lambda v: opt.Prodigy(tensors()).add_param_group(
        {"params": tensors(), "lr": v}), 0.0, out(0.5), what="torch.Prodigy.add_param_group"))
    return lines


def validation_lines() -> list[Line]:
    v = validation
    return [
        line(v.check, "ok", lambda ok: v.check(ok, "x", "a thing", 5), True, out(False), name="x"),
        line(v.real, "value", lambda x: v.real("x", x), 0.5, REAL, name="x"),
        line(v.real, "low", lambda x: v.real("x", x, low=0.0), 0.5, out(-1.0), name="x"),
        line(v.integer, "value", lambda x: v.integer("x", x, low=1), 3, COUNT + out(0), name="x"),
        line(v.flag, "value", lambda x: v.flag("x", x), True, FLAG + kind(1), name="x"),
        line(v.hyperparameter, "value", lambda x: v.hyperparameter("x", x, low=0.0), 0.5,
             NONNEGATIVE + PER_RUN + out([0.1, -1.0], []), name="x"),
        line(v.hyperparameter, "per_run", lambda x: v.hyperparameter("x", x, per_run=False), 0.5,
             REAL + SCALAR + kind(np.array([0.1])), name="x"),
        line(v.real_field, "value", lambda x: v.real_field(Fields(x), "x", low=0.0), 0.5, NONNEGATIVE, name="x"),
        line(v.integer_field, "value", lambda x: v.integer_field(Fields(x), "x", low=1), 3, COUNT, name="x"),
        line(v.real_array, "value", lambda x: v.real_array("x", x, low=0.0), [0.5, 1.0],
             kind(None, "0.1", True, 1j, ["0.1"], [True]) + out(INF, NAN, -1.0, [0.1, NAN], [0.1, -1.0]), name="x"),
        line(v.learning_rate, "value", lambda x: v.learning_rate("x", x), 0.1,
             NONNEGATIVE + PER_RUN + out([0.1, -1.0]), name="x"),
        line(v.learning_rate, "per_run", lambda x: v.learning_rate("x", x, per_run=False), 0.1,
             NONNEGATIVE + SCALAR + either(lambda step: 0.1), name="x"),
    ]


TABLE: list[Line] = [
    *schedule_lines(),
    *optimizer_lines(),
    *prodigy_lines(),
    line(npo.effective_lr, "opt", lambda o: npo.effective_lr(o, numpy_step(npo.Adam(lr=0.1))[1]),
         npo.Adam(lr=0.1), either(None, "adam", npo.SGD(lr=0.1))),
    # problems
    line(problems.Quadratic, "kappa", lambda v: problems.Quadratic(kappa=v), 10.0, REAL + out(0.5)),
    line(problems.Quadratic, "L", lambda v: problems.Quadratic(L=v), 1.0, POSITIVE),
    line(problems.Quadratic, "dim", lambda v: problems.Quadratic(dim=v), 2, COUNT + out(1)),
    line(problems.Quadratic, "angle", lambda v: problems.Quadratic(angle=v), 0.0, REAL),
    line(problems.NoisyQuadratic, "noise", lambda v: problems.NoisyQuadratic(noise=v), 1.0, NONNEGATIVE),
    line(problems.Rosenbrock, "a", lambda v: problems.Rosenbrock(a=v), 1.0, REAL),
    line(problems.Rosenbrock, "b", lambda v: problems.Rosenbrock(b=v), 100.0, POSITIVE),
    line(problems.SparseRegression, "dim", lambda v: problems.SparseRegression(dim=v), 100, COUNT + out(0)),
    line(problems.SparseRegression, "exponent", lambda v: problems.SparseRegression(exponent=v), 1.5, NONNEGATIVE),
    line(problems.SparseRegression, "p_max", lambda v: problems.SparseRegression(p_max=v), 0.5, POSITIVE + out(1.5)),
    line(problems.SparseRegression, "noise", lambda v: problems.SparseRegression(noise=v), 0.5, NONNEGATIVE),
    line(problems.SparseRegression, "batch", lambda v: problems.SparseRegression(batch=v), 10, COUNT + out(0)),
    line(problems.SparseRegression, "seed", lambda v: problems.SparseRegression(seed=v), 0, SEED + kind(None)),
    line(problems.SparseRegression, "n", lambda v: problems.SparseRegression().sample(v, np.random.default_rng(0)), 3,
         COUNT, what="SparseRegression.sample"),
    line(problems.SparseRegression, "rng", lambda v: problems.SparseRegression().sample(3, v),
         np.random.default_rng(0), kind(None, 0, "rng"), what="SparseRegression.sample"),
    # the problem sweep and what it shares with the model sweep
    line(sw.sweep, "problem", lambda v: sweep_problem(problem=v), problems.Quadratic(), kind(None, "bowl")),
    line(sw.sweep, "optimizer", lambda v: sweep_problem(optimizer=v), npo.SGD, kind(None, "SGD")),
    line(sw.sweep, "steps", lambda v: sweep_problem(steps=v), 3, COUNT + out(0)),
    line(sw.sweep, "x0", lambda v: sweep_problem(x0=v), np.ones(2), out(np.ones(3), np.ones((3, 2)))),
    line(sw.sweep, "schedule", lambda v: sweep_problem(schedule=v), sch.Constant(1.0),
         either("cos", 0.1, [], [sch.Constant(1.0), 0.1])),
    line(sw.sweep, "seed", lambda v: sweep_problem(seed=v), 0, SEED + kind(None)),
    line(sw.sweep, "path", lambda v: sweep_problem(path=v), True, FLAG),
    line(sw.sweep, "lr", lambda v: sweep_problem(lr=v), (0.1, 0.2),  # a tuple sweeps like a list
         NONNEGATIVE + PER_RUN + out([0.1, -1.0], [[0.1, 0.2]], [])),
    line(sw.sweep, "momentum", lambda v: sweep_problem(momentum=v), [0.5, 0.9], out([0.5, 0.9, 0.99])),
    line(sw.grid, "lr", lambda v: sw.grid(lr=v, momentum=[0.0, 0.9]), [0.1, 0.2],
         kind(None, "0.1", True) + out([], [0.1, NAN], [[0.1]])),
    line(sw.prepare, "optimizer", lambda v: sw.prepare(v, {"lr": [0.1, 0.2]}), npo.SGD, kind(None, "SGD")),
    line(sw.prepare, "hyperparams", lambda v: sw.prepare(npo.SGD, v), {"lr": [0.1, 0.2]},
         kind(None, [("lr", 0.1)], "lr")),
    line(sw.prepare, "schedule", lambda v: sw.prepare(npo.SGD, {"lr": 1.0}, v), sch.Constant(1.0),
         either("cos", 0.1, lambda step: 1.0)),
    # the range test's maths and the NumPy range test
    line(rt.Ramp, "start_lr", lambda v: rt.Ramp(v, 1.0), 1e-3, POSITIVE),
    line(rt.Ramp, "end_lr", lambda v: rt.Ramp(1e-3, v), 1.0, POSITIVE + out(1e-4)),
    line(rt.Ramp, "num_steps", lambda v: rt.Ramp(1e-3, 1.0, v), 10, COUNT + out(1)),
    line(rt.Ramp, "kind", lambda v: rt.Ramp(1e-3, 1.0, 10, v), "linear", either("log", None)),
    line(rt.smooth_update, "beta", lambda v: rt.smooth_update(rt.SmoothedLoss(), 1.0, v), 0.9,
         REAL + out(-0.1, 1.0)),
    line(rt.debiased_ema, "beta", lambda v: rt.debiased_ema([1.0, 2.0], v), 0.9, REAL + out(-0.1, 1.0)),
    line(rt.is_diverged, "factor", lambda v: rt.is_diverged(2.0, 1.0, v), 4.0, but(REAL, INF) + out(1.0, -1.0)),
    line(rt.is_diverged, "floor", lambda v: rt.is_diverged(2.0, 1.0, 4.0, v), 0.0, kind(None, "0", True) + out(NAN)),
    line(rt.first_divergence, "factor", lambda v: rt.first_divergence([3.0, 1.0, 5.0], v), 4.0,
         but(REAL, INF) + out(1.0, -1.0)),  # inf: stop on NaN or inf only
    line(rt.descent, "fraction", lambda v: rt.descent(SMOOTHED, v), 0.1, REAL + out(-0.1, 1.5)),
    line(rt.minimum, "lrs", lambda v: rt.minimum(v, SMOOTHED), LRS, either(None, "abc", LRS[:5], -LRS)),
    line(rt.steep, "lrs", lambda v: rt.steep(v, SMOOTHED), LRS, either(None, "abc", LRS[:5], -LRS)),
    line(rt.valley, "lrs", lambda v: rt.valley(v, SMOOTHED), LRS, either(None, "abc", LRS[:5], -LRS)),
    line(rt.slide, "lrs", lambda v: rt.slide(v, SMOOTHED), LRS, either(None, "abc", LRS[:5], -LRS)),
    line(rt.slide, "window", lambda v: rt.slide(LRS, SMOOTHED, window=v), 1.2, POSITIVE),
    line(rt.slide, "thresh", lambda v: rt.slide(LRS, SMOOTHED, thresh=v), 0.05, NONNEGATIVE),
    line(rt.suggest, "smoothed", lambda v: rt.suggest(LRS, v), SMOOTHED,
         either(None, "loss", SMOOTHED[:5], np.where(LRS > 0.1, NAN, SMOOTHED))),
    line(rt.RangeTestResult, "smooth", lambda v: from_losses(smooth=v), 0.5, REAL + out(-0.1, 1.0),
         what="RangeTestResult.from_losses"),
    line(rt.RangeTestResult, "diverge_factor", lambda v: from_losses(diverge_factor=v), 4.0, but(REAL, INF) + out(1.0),
         what="RangeTestResult.from_losses"),
    line(rt.RangeTestResult, "loss_floor", lambda v: from_losses(loss_floor=v), -INF,
         kind(None, "0", True) + out(NAN, INF), what="RangeTestResult.from_losses"),
    line(rt.RangeTestResult, "losses", lambda v: from_losses(losses=v), np.ones(20), either(None, np.ones(5)),
         what="RangeTestResult.from_losses"),
    line(rt.problem_range_test, "start_lr", lambda v: problem_range_test(start_lr=v), 1e-3, POSITIVE),
    line(rt.problem_range_test, "end_lr", lambda v: problem_range_test(start_lr=1e-3, end_lr=v), 1.0,
         POSITIVE + out(1e-4)),
    line(rt.problem_range_test, "num_steps", lambda v: problem_range_test(num_steps=v), 10, COUNT + out(1)),
    line(rt.problem_range_test, "ramp", lambda v: problem_range_test(ramp=v), "linear", either("log", None)),
    line(rt.problem_range_test, "smooth", lambda v: problem_range_test(smooth=v), 0.5, REAL + out(-0.1, 1.0)),
    line(rt.problem_range_test, "diverge_factor", lambda v: problem_range_test(diverge_factor=v), 4.0,
         but(REAL, INF) + out(1.0)),
    line(rt.problem_range_test, "loss_floor", lambda v: problem_range_test(loss_floor=v), -INF,
         kind(None, "0", True) + out(NAN, INF)),
    line(rt.problem_range_test, "seed", lambda v: problem_range_test(seed=v), 0, SEED + kind(None)),
    line(rt.problem_range_test, "optimizer", lambda v: problem_range_test(optimizer=v), npo.Adam, kind("SGD", 5)),
    line(rt.problem_range_test, "momentum", lambda v: problem_range_test(momentum=v), 0.9, NONNEGATIVE),
    line(rt.problem_range_test, "problem", lambda v: problem_range_test(problem=v), problems.Quadratic(),
         kind(None, "bowl")),
    line(rt.constant_lr_sweep, "lrs", lambda v: constant_lr_sweep(lrs=v), [0.1, 1.0],
         either(None, "0.1", [0.1], [1.0, 0.1], [-0.1, 1.0], [0.1, NAN])),
    line(rt.constant_lr_sweep, "steps", lambda v: constant_lr_sweep(steps=v), 5, COUNT + out(0)),
    line(rt.constant_lr_sweep, "diverge_factor", lambda v: constant_lr_sweep(diverge_factor=v), 4.0,
         but(REAL, INF) + out(1.0)),
    line(rt.constant_lr_sweep, "loss_floor", lambda v: constant_lr_sweep(loss_floor=v), -INF,
         kind(None, "0", True) + out(NAN, INF)),
    line(rt.constant_lr_sweep, "seed", lambda v: constant_lr_sweep(seed=v), 0, SEED + kind(None)),
    # clipping, NumPy
    line(clipping_np.clip_by_global_norm, "max_norm", lambda v: clipping_np.clip_by_global_norm(np.ones(2), v),
         np.array(1.0), but(POSITIVE, INF) + SCALAR),  # a 0-d array is a number; inf only measures
    line(clipping_np.clip_by_global_norm, "eps", lambda v: clipping_np.clip_by_global_norm(np.ones(2), 1.0, eps=v),
         1e-6, NONNEGATIVE),
    line(clipping_np.clip_by_global_norm, "error_if_nonfinite",
         lambda v: clipping_np.clip_by_global_norm(np.ones(2), 1.0, error_if_nonfinite=v), False, FLAG),
    line(clipping_np.clip_by_value, "clip_value", lambda v: clipping_np.clip_by_value(np.ones(2), v), np.float64(0.5),
         but(POSITIVE, INF) + SCALAR),  # inf clamps nothing
    line(clipping_np.clip_by_value, "error_if_nonfinite",
         lambda v: clipping_np.clip_by_value(np.ones(2), 0.5, error_if_nonfinite=v), False, FLAG),
    line(clipping_np.GradNormTracker, "q", lambda v: tracker().quantile(v), 0.5, REAL + out(-0.1, 1.5),
         what="GradNormTracker.quantile"),
    line(clipping_np.GradNormTracker, "q", lambda v: tracker().suggest(v), 0.9, REAL + out(-0.1, 1.5),
         what="GradNormTracker.suggest"),
    # metrics
    line(metrics.per_class_recall, "n_classes", lambda v: metrics.per_class_recall([0, 1], [0, 1], v), 2,
         COUNT + out(1)),
    line(metrics.balanced_accuracy, "n_classes", lambda v: metrics.balanced_accuracy([0, 1], [0, 1], v), 2,
         COUNT + out(1)),
    line(metrics.good_window, "tolerance", lambda v: metrics.good_window([0.1, 1.0], [0.9, 0.8], v), 0.1,
         NONNEGATIVE),
    line(metrics.good_window, "higher_is_better",
         lambda v: metrics.good_window([0.1, 1.0], [0.9, 0.8], 0.1, higher_is_better=v), False, FLAG),
    line(metrics.paired_interval, "confidence", lambda v: metrics.paired_interval([1.0, 2.0, 4.0], [0.0, 1.0, 1.0], v),
         0.9, REAL + out(0.0, 1.0)),
    line(metrics.Interval, "power", lambda v: metrics.Interval(1.0, 0.5, 5).detectable(v), 0.8,
         REAL + out(0.0, 1.0), what="Interval.detectable"),
    line(metrics.holm, "p_values", lambda v: metrics.holm(v), [0.01, 0.04],
         kind(None, "0.1", True, 1j, ["0.1"]) + out(INF, NAN, -0.1, 1.5, [], [[0.1]], [0.1, NAN])),
    line(metrics.holm_verdicts, "alpha",
         lambda v: metrics.holm_verdicts([metrics.paired_interval([1.0, 2.0, 4.0], [0.0, 1.0, 1.0])], v), 0.05,
         REAL + out(0.0, 1.0)),
    line(metrics.holm_verdicts, "intervals", lambda v: metrics.holm_verdicts(v), [metrics.Interval(1.0, 0.5, 5)],
         kind([0.01], [None])),
    line(metrics.noise_class, "interval", lambda v: metrics.noise_class(v), metrics.Interval(1.0, 0.5, 5),
         kind(None, 0.5, (1.0, 0.5))),
    line(metrics.noise_class, "margin", lambda v: metrics.noise_class(metrics.Interval(1.0, 0.5, 5), v), 0.25,
         REAL + out(-0.1, 1.0)),
    line(metrics.noise_words, "interval", lambda v: metrics.noise_words(v), metrics.Interval(1.0, 0.5, 5),
         kind(None, 0.5)),
    line(metrics.noise_words, "margin", lambda v: metrics.noise_words(metrics.Interval(1.0, 0.5, 5), v), 0.25,
         REAL + out(-0.1, 1.0)),
    line(metrics.interval_text, "interval", lambda v: metrics.interval_text(v), metrics.Interval(1.0, 0.5, 5),
         kind(None, 0.5, (1.0, 0.5))),
    line(metrics.interval_text, "fmt", lambda v: metrics.interval_text(metrics.Interval(1.0, 0.5, 5), v), "{:.2f}",
         kind(None, 2, b"{:.2f}") + out("{:d}", "{0} {1}", "{x}")),
    *validation_lines(),
    # the torch layer: ScheduleLR
    line(schedulers.ScheduleLR, "schedule", lambda v: lt.ScheduleLR(torch.optim.SGD(tensors(), lr=0.1), v),
         sch.Constant(0.1), either(None, 0.1, lambda step: 0.1)),
    line(schedulers.ScheduleLR, "lr_scale", lambda v: lt.ScheduleLR(
        torch.optim.SGD([{"params": tensors(), "lr_scale": v}], lr=0.1), sch.Constant(0.1)), 0.5,
        NONNEGATIVE + SCALAR),
    line(schedulers.ScheduleLR, "optimizer", lambda v: lt.ScheduleLR(v, sch.Constant(0.1)),
         torch.optim.SGD(tensors(), lr=0.1), kind(None, "SGD")),
    line(schedulers.torch_scheduler_lrs, "steps",
         lambda v: lt.torch_scheduler_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 2), v), 4, COUNT),
    line(schedulers.torch_scheduler_lrs, "lr",
         lambda v: lt.torch_scheduler_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 2), 4, v), 0.1,
         NONNEGATIVE + SCALAR),
    # fit and evaluate
    line(training.fit, "steps", lambda v: fit(steps=v), 2, but(COUNT, None) + out(0)),
    line(training.fit, "epochs", lambda v: fit(steps=None, epochs=v), 1, kind("3", True, [3]) + out(2.5, INF, NAN, 0)),
    line(training.fit, "clip", lambda v: fit(clip=v), 1.0, but(POSITIVE, None) + SCALAR),
    line(training.fit, "eval_every", lambda v: fit(val_data=batch(), eval_every=v), 1,
         kind("3", True, [3]) + out(2.5, INF, 0)),
    line(training.fit, "seed", lambda v: fit(seed=v), 0, SEED + kind(None)),
    line(training.fit, "device", lambda v: fit(device=v), "cpu", DEVICE),
    line(training.fit, "progress", lambda v: fit(progress=v), False, PROGRESS),
    line(training.fit, "data", lambda v: fit(data=v), batch(), either(None, 5, [], (torch.zeros(8, 2),), "xy")),
    line(training.fit, "val_data", lambda v: fit(val_data=v), batch(), either(5, [], "xy")),
    line(training.fit, "scheduler", lambda v: fit(scheduler=v), sch.Constant(0.1), either("cos", 0.1)),
    line(training.fit, "loss_fn", lambda v: fit(loss_fn=v), mse, kind("mse", 5)),
    line(training.train_step, "clip", train_step, 1.0, but(POSITIVE, None, INF) + SCALAR),  # inf only measures
    line(training.evaluate, "data", lambda v: lt.evaluate(linear(), v, mse, "cpu"), batch(),
         either(None, 5, [], "xy")),
    line(training.evaluate, "device", lambda v: lt.evaluate(linear(), batch(), mse, v), "cpu", DEVICE),
    line(training.evaluate, "loss_fn", lambda v: lt.evaluate(linear(), batch(), v, "cpu"), mse, kind("mse", 5)),
    # the model sweep
    line(sweep_t.sweep_model, "model", lambda v: sweep_model(model=v), linear(), kind(None, problems.Quadratic())),
    line(sweep_t.sweep_model, "optimizer", lambda v: sweep_model(optimizer=v), npo.Adam, kind(None, "SGD")),
    line(sweep_t.sweep_model, "steps", lambda v: sweep_model(steps=v), 2, COUNT + out(0)),
    line(sweep_t.sweep_model, "data", lambda v: sweep_model(data=v), batch(), either(None, 5, [], "xy")),
    line(sweep_t.sweep_model, "seed", lambda v: sweep_model(seed=v), 0, SEED + kind(None)),
    line(sweep_t.sweep_model, "device", lambda v: sweep_model(device=v), "cpu", DEVICE),
    line(sweep_t.sweep_model, "wide_linear", lambda v: sweep_model(wide_linear=v), False, FLAG),
    line(sweep_t.sweep_model, "schedule", lambda v: sweep_model(schedule=v), sch.Constant(1.0),
         either("cos", 0.1, [])),
    line(sweep_t.sweep_model, "max_norm", lambda v: sweep_model(lr=[0.1, 0.2], max_norm=v), [1.0, INF],
         kind("1", True, ["a", "b"]) + out(0.0, -1.0, NAN, [1.0], [1.0, 0.0], [1.0, NAN])),
    line(sweep_t.sweep_model, "lr", lambda v: sweep_model(lr=v), (0.1, 0.2),
         NONNEGATIVE + PER_RUN + out([0.1, -1.0], [[0.1, 0.2]], [])),
    # the range test and the curvature
    line(lt.lr_range_test, "start_lr", lambda v: range_test(start_lr=v), 1e-3, POSITIVE + SCALAR),
    line(lt.lr_range_test, "end_lr", lambda v: range_test(start_lr=1e-3, end_lr=v), 1.0, POSITIVE + out(1e-4)),
    line(lt.lr_range_test, "num_steps", lambda v: range_test(num_steps=v), 5, COUNT + out(1)),
    line(lt.lr_range_test, "ramp", lambda v: range_test(ramp=v), "linear", either("log", None)),
    line(lt.lr_range_test, "smooth", lambda v: range_test(smooth=v), 0.5, REAL + out(-0.1, 1.0)),
    line(lt.lr_range_test, "diverge_factor", lambda v: range_test(diverge_factor=v), 4.0, but(REAL, INF) + out(1.0)),
    line(lt.lr_range_test, "loss_floor", lambda v: range_test(loss_floor=v), -INF, kind(None, "0", True) + out(NAN, INF)),
    line(lt.lr_range_test, "seed", lambda v: range_test(seed=v), 0, SEED),
    line(lt.lr_range_test, "progress", lambda v: range_test(progress=v), False, PROGRESS),
    line(lt.lr_range_test, "data", lambda v: range_test(data=v), batch(), either(None, 5, [], "xy")),
    line(lt.lr_range_test, "optimizer", range_test_optimizer, own_parameters,
         either(another_models_parameters, loose_tensors) + kind(None, "SGD")),
    line(lt.lr_range_test, "loss_fn", lambda v: range_test(loss_fn=v), mse,
         either(per_example_loss, float_loss) + kind(None, "mse")),
    line(lt.top_hessian_eigenvalue, "iters", lambda v: lt.top_hessian_eigenvalue(linear(), mse, batch(), iters=v),
         10, COUNT + out(0)),
    line(lt.top_hessian_eigenvalue, "tol", lambda v: lt.top_hessian_eigenvalue(linear(), mse, batch(), tol=v),
         1e-6, NONNEGATIVE + SCALAR),
    line(lt.top_hessian_eigenvalue, "seed", lambda v: lt.top_hessian_eigenvalue(linear(), mse, batch(), seed=v),
         0, SEED + kind(None)),
    line(lt.top_hessian_eigenvalue, "data", lambda v: lt.top_hessian_eigenvalue(linear(), mse, v), batch(),
         either(None, 5, [], [(torch.zeros(8, 2),)], (torch.zeros(8, 2),))),
    line(lt.sharpness, "iters", lambda v: lt.sharpness(linear(), mse, batch(), iters=v), 10, COUNT + out(0)),
    line(lt.sharpness, "tol", lambda v: lt.sharpness(linear(), mse, batch(), tol=v), 1e-6, NONNEGATIVE + SCALAR),
    line(lt.sharpness, "seed", lambda v: lt.sharpness(linear(), mse, batch(), seed=v), 0, SEED + kind(None)),
    line(lt.sharpness, "data", lambda v: lt.sharpness(linear(), mse, v), [batch(), batch()],
         either(None, 5, [], [(torch.zeros(8, 2),)], (torch.zeros(8, 2),))),
    line(lt.sharpness, "preconditioner", lambda v: lt.sharpness(linear(), mse, batch(), preconditioner=v),
         [torch.ones(1, 2), torch.ones(1)], kind("P", 5, torch.ones(3), [np.ones((1, 2)), np.ones(1)])
         + out([torch.ones(1)], [torch.ones(2), torch.ones(1)], [torch.zeros(1, 2), torch.ones(1)],
               [torch.ones(1, 2), torch.full((1,), NAN)])),
    line(lt.sharpness, "init", lambda v: lt.sharpness(linear(), mse, batch(), init=v),
         [torch.ones(1, 2), torch.ones(1)], kind("u", 5, torch.ones(3), [np.ones((1, 2)), np.ones(1)])
         + out([torch.ones(1)], [torch.ones(2), torch.ones(1)], [torch.zeros(1, 2), torch.zeros(1)],
               [torch.ones(1, 2), torch.full((1,), NAN)])),
    line(lt.SharpnessTracker, "loss_fn", lambda v: lt.SharpnessTracker(v, batch())(linear()), mse,
         kind(None, "mse")),
    line(lt.SharpnessTracker, "iters", lambda v: lt.SharpnessTracker(mse, batch(), iters=v)(linear()), 10,
         COUNT + out(0)),
    line(lt.SharpnessTracker, "tol", lambda v: lt.SharpnessTracker(mse, batch(), tol=v)(linear()), 1e-6,
         NONNEGATIVE + SCALAR),
    line(lt.SharpnessTracker, "seed", lambda v: lt.SharpnessTracker(mse, batch(), seed=v)(linear()), 0,
         SEED + kind(None)),
    line(lt.SharpnessTracker, "data", lambda v: lt.SharpnessTracker(mse, v)(linear()), [batch(), batch()],
         either(None, 5, [], [(torch.zeros(8, 2),)], (torch.zeros(8, 2),))),
    line(lt.SharpnessTracker, "preconditioner",
         lambda v: lt.SharpnessTracker(mse, batch())(linear(), v), [torch.ones(1, 2), torch.ones(1)],
         kind("P", 5, [np.ones((1, 2)), np.ones(1)]) + out([torch.ones(1)], [torch.zeros(1, 2), torch.ones(1)]),
         what="SharpnessTracker.__call__"),
    line(lt.adam_preconditioner, "optimizer", adam_preconditioner_of, stepped_adam,
         either(own_parameters, unstepped_adam, another_models_parameters) + kind(None, "Adam")),
    line(lt.gradient_noise_scale, "batch_size", lambda v: lt.gradient_noise_scale(linear(), mse, batch(), batch_size=v),
         3, COUNT + out(0)),
    line(lt.gradient_noise_scale, "data", lambda v: lt.gradient_noise_scale(linear(), mse, v), [batch(), batch()],
         either(None, 5, [], [(torch.zeros(8, 2),)], (torch.zeros(8, 2),), (torch.zeros(1, 2), torch.zeros(1, 1)))),
    # RAdam's rectification
    line(sch.radam_rectification, "step", lambda v: sch.radam_rectification(v), 3, STEP),
    line(sch.radam_rectification, "beta2", lambda v: sch.radam_rectification(3, v), 0.999,
         REAL + SCALAR + out(-0.1, 1.0)),
    # the rate against the batch size
    line(scaling.scale_lr, "lr", lambda v: scaling.scale_lr(v, 64, 32), 0.1, NONNEGATIVE + SCALAR),
    line(scaling.scale_lr, "batch_size", lambda v: scaling.scale_lr(0.1, v, 32), 64, COUNT + out(0)),
    line(scaling.scale_lr, "base_batch_size", lambda v: scaling.scale_lr(0.1, 64, v), 32, COUNT + out(0)),
    line(scaling.scale_lr, "rule", lambda v: scaling.scale_lr(0.1, 64, 32, v), "sqrt", either("log", None, 1, "")),
    line(scaling.two_batch_estimates, "norm_sq_small", lambda v: scaling.two_batch_estimates(v, 1.5, 2, 8), 3.0,
         NONNEGATIVE + out([1.0, 2.0])),
    line(scaling.two_batch_estimates, "norm_sq_big", lambda v: scaling.two_batch_estimates(3.0, v, 2, 8), 1.5,
         NONNEGATIVE + out([1.0, 2.0])),
    line(scaling.two_batch_estimates, "batch_small", lambda v: scaling.two_batch_estimates(3.0, 1.5, v, 8), 2,
         COUNT + out(0, 8)),
    line(scaling.two_batch_estimates, "batch_big", lambda v: scaling.two_batch_estimates(3.0, 1.5, 2, v), 8,
         COUNT + out(0, 2)),
    # clipping, torch
    line(clipping_t.clip_grad_norm, "max_norm", lambda v: lt.clip_grad_norm(with_grads(), v), np.float64(1.0),
         but(POSITIVE, INF) + SCALAR),
    line(clipping_t.clip_grad_norm, "norm_type", lambda v: lt.clip_grad_norm(with_grads(), 1.0, v), INF,
         kind(None, "2", True, [2.0], 1j) + out(NAN, -1.0)),
    line(clipping_t.clip_grad_norm, "error_if_nonfinite",
         lambda v: lt.clip_grad_norm(with_grads(), 1.0, error_if_nonfinite=v), False, FLAG),
    line(clipping_t.clip_grad_value, "clip_value", lambda v: lt.clip_grad_value(with_grads(), v), 0.5,
         but(POSITIVE, INF) + SCALAR),
    line(clipping_t.clip_grad_value, "error_if_nonfinite",
         lambda v: lt.clip_grad_value(with_grads(), 0.5, error_if_nonfinite=v), False, FLAG),
    line(clipping_t.grad_norm, "norm_type", lambda v: lt.grad_norm(with_grads(), v), 1.0,
         kind(None, "2", True, [2.0], 1j) + out(NAN, -1.0)),
    # layer-wise param groups
    line(param_groups.layerwise_param_groups, "lr",
         lambda v: lt.layerwise_param_groups(two_layers(), v, verbose=False), 0.1, POSITIVE + SCALAR),
    line(param_groups.layerwise_param_groups, "decay",
         lambda v: lt.layerwise_param_groups(two_layers(), 0.1, decay=v, verbose=False), 2.0,
         POSITIVE + SCALAR + out(0.5)),
    line(param_groups.layerwise_param_groups, "weight_decay",
         lambda v: lt.layerwise_param_groups(two_layers(), 0.1, weight_decay=v, verbose=False), 0.1,
         NONNEGATIVE + SCALAR),
    line(param_groups.layerwise_param_groups, "freeze",
         lambda v: lt.layerwise_param_groups(two_layers(), 0.1, freeze=v, verbose=False), 1, COUNT + out(2)),
    line(param_groups.layerwise_param_groups, "layers",
         lambda v: lt.layerwise_param_groups(two_layers(), 0.1, layers=v, verbose=False), ["0", "2"],
         either(["0"], ["0", "1", "9"], "02", 5)),
    line(param_groups.mup_param_groups, "model",
         lambda v: lt.mup_param_groups(v, 0.1, verbose=False), models.WidthMLP(4, 2, width=8), kind(None, nn.Linear(2, 2))),
    line(param_groups.mup_param_groups, "lr",
         lambda v: lt.mup_param_groups(models.WidthMLP(4, 2, width=8), v, verbose=False), 0.1, POSITIVE + SCALAR),
    line(param_groups.mup_param_groups, "optimizer",
         lambda v: lt.mup_param_groups(models.WidthMLP(4, 2, width=8), 0.1, v, verbose=False), "sgd",
         out("lion") + either(None, 1)),
    line(param_groups.mup_param_groups, "weight_decay",
         lambda v: lt.mup_param_groups(models.WidthMLP(4, 2, width=8), 0.1, weight_decay=v, verbose=False), 0.1,
         NONNEGATIVE + SCALAR),
    line(param_groups.mup_param_groups, "verbose",
         lambda v: lt.mup_param_groups(models.WidthMLP(4, 2, width=8), 0.1, verbose=v), False, FLAG),
    line(param_groups.layerwise_param_groups, "verbose",
         lambda v: lt.layerwise_param_groups(two_layers(), 0.1, verbose=v), False, FLAG),
    # fine-tuning recipes
    line(lt.spread_rates, "lr_low", lambda v: lt.spread_rates(v, 0.1, 3), 0.01, POSITIVE + SCALAR + out(1.0)),
    line(lt.spread_rates, "lr_high", lambda v: lt.spread_rates(0.001, v, 3), 0.1, POSITIVE + SCALAR),
    line(lt.spread_rates, "n", lambda v: lt.spread_rates(0.001, 0.1, v), 3, COUNT + out(0)),
    *[line(lt.fine_tune, name, lambda v, name=name: fine_tune(**{name: v}), good, bads) for name, good, bads in [
        ("model", two_layers(), kind(None, 5)), ("lr", 0.01, POSITIVE + SCALAR), ("steps", 6, COUNT + out(3)),
        ("freeze_steps", 2, COUNT + out(1, 5)), ("lr_mult", 100.0, POSITIVE + SCALAR + out(0.5)),
        ("pct_start", 0.3, REAL + SCALAR + out(0.0, 1.0)), ("div", 5.0, POSITIVE + SCALAR),
        ("div_final", 1e5, POSITIVE + SCALAR), ("cycle_momentum", True, FLAG), ("seed", 0, SEED),
        ("optimizer", torch.optim.Adam, kind(None, 5, lambda groups: 5)),
        ("layers", ["0", "2"], either(["0"], ["0", "1", "9"], "02", 5))]],
    *[line(lt.lp_ft, name, lambda v, name=name: lp_ft(**{name: v}), good, bads) for name, good, bads in [
        ("model", two_layers(), kind(None, 5)), ("probe_lr", 0.01, POSITIVE + SCALAR),
        ("lr", 0.01, POSITIVE + SCALAR), ("steps", 6, COUNT + out(1)), ("probe_steps", 2, COUNT + out(0, 6)),
        ("seed", 0, SEED), ("optimizer", torch.optim.Adam, kind(None, 5, lambda groups: 5)),
        ("layers", ["0", "2"], either(["0"], ["0", "1", "9"], "02", 5))]],
    # models
    line(models.SoftmaxRegression, "n_features", lambda v: models.SoftmaxRegression(v, 3), 4, COUNT + out(0)),
    line(models.SoftmaxRegression, "n_classes", lambda v: models.SoftmaxRegression(4, v), 3, COUNT + out(1)),
    line(models.SoftmaxRegression, "seed", lambda v: models.SoftmaxRegression(4, 3, seed=v), None, SEED),
    line(models.MLP, "n_features", lambda v: models.MLP(v, 3), 4, COUNT + out(0)),
    line(models.MLP, "n_outputs", lambda v: models.MLP(4, v), 3, COUNT + out(0)),
    line(models.MLP, "hidden", lambda v: models.MLP(4, 3, v), (8, 8), either((0,), (2.5,), "64", None, 64)),
    line(models.MLP, "seed", lambda v: models.MLP(4, 3, seed=v), None, SEED),
    line(models.SmallCNN, "n_classes", lambda v: models.SmallCNN(v), 10, COUNT + out(1)),
    line(models.SmallCNN, "seed", lambda v: models.SmallCNN(seed=v), None, SEED),
    line(models.SequenceRegressor, "cell", lambda v: models.SequenceRegressor(v), "rnn", either("gru", None)),
    line(models.SequenceRegressor, "hidden_size", lambda v: models.SequenceRegressor(hidden_size=v), 8, COUNT + out(0)),
    line(models.SequenceRegressor, "n_inputs", lambda v: models.SequenceRegressor(n_inputs=v), 2, COUNT + out(0)),
    line(models.SequenceRegressor, "seed", lambda v: models.SequenceRegressor(seed=v), None, SEED),
    line(models.CharMLP, "n_chars", lambda v: models.CharMLP(v), 38, COUNT + out(0, 1)),
    line(models.CharMLP, "context", lambda v: models.CharMLP(38, v), 8, COUNT + out(0)),
    line(models.CharMLP, "embedding_dim", lambda v: models.CharMLP(38, embedding_dim=v), 4, COUNT + out(0)),
    line(models.CharMLP, "hidden", lambda v: models.CharMLP(38, hidden=v), (8, 8), either((0,), (2.5,), "64", None, 64)),
    line(models.CharMLP, "seed", lambda v: models.CharMLP(38, seed=v), None, SEED),
    line(models.WidthMLP, "n_features", lambda v: models.WidthMLP(v, 3, width=8), 4, COUNT + out(0)),
    line(models.WidthMLP, "n_outputs", lambda v: models.WidthMLP(4, v, width=8), 3, COUNT + out(0)),
    line(models.WidthMLP, "width", lambda v: models.WidthMLP(4, 3, width=v), 8, COUNT + out(0)),
    line(models.WidthMLP, "depth", lambda v: models.WidthMLP(4, 3, width=8, depth=v), 2, COUNT + out(0)),
    line(models.WidthMLP, "parametrization", lambda v: models.WidthMLP(4, 3, width=8, parametrization=v), "mup",
         out("ntk") + either(None, 1)),
    line(models.WidthMLP, "base_width", lambda v: models.WidthMLP(4, 3, width=8, base_width=v), 4, COUNT + out(0)),
    line(models.WidthMLP, "seed", lambda v: models.WidthMLP(4, 3, width=8, seed=v), None, SEED),
    line(models.TinyTransformer, "n_chars", lambda v: models.TinyTransformer(v, 4, 8, 2), 6, COUNT + out(0, 1)),
    line(models.TinyTransformer, "context", lambda v: models.TinyTransformer(6, v, 8, 2), 4, COUNT + out(0)),
    line(models.TinyTransformer, "d_model", lambda v: models.TinyTransformer(6, 4, v, 2), 8, COUNT + out(0)),
    line(models.TinyTransformer, "n_heads", lambda v: models.TinyTransformer(6, 4, 8, v), 2, COUNT + out(0, 3)),
    line(models.TinyTransformer, "n_layers", lambda v: models.TinyTransformer(6, 4, 8, 2, v), 1, COUNT + out(0)),
    line(models.TinyTransformer, "norm", lambda v: models.TinyTransformer(6, 4, 8, 2, norm=v), "post",
         out("sandwich") + either(None, 1)),
    line(models.TinyTransformer, "seed", lambda v: models.TinyTransformer(6, 4, 8, 2, seed=v), None, SEED),
    line(models.BodyHead, "n_features", lambda v: models.BodyHead(v), 64, COUNT + out(0)),
    line(models.BodyHead, "n_classes", lambda v: models.BodyHead(n_classes=v), 5, COUNT + out(1)),
    line(models.BodyHead, "hidden", lambda v: models.BodyHead(hidden=v), (8,), either((), (0,), (2.5,), "64", None)),
    line(models.BodyHead, "seed", lambda v: models.BodyHead(seed=v), None, SEED),
    line(models.BodyHead, "body_scale", lambda v: models.BodyHead().param_groups(0.1, v), 0.0, NONNEGATIVE + SCALAR,
         what="BodyHead.param_groups"),
    line(models.BodyHead, "lr", lambda v: models.BodyHead().param_groups(v, 0.1), 0.1, NONNEGATIVE + SCALAR,
         what="BodyHead.param_groups"),
    line(models.BodyHead, "n_classes", lambda v: models.BodyHead().replace_head(v), 3, COUNT + out(1),
         what="BodyHead.replace_head"),
    line(models.pretrain_digits, "steps", lambda v: models.pretrain_digits(steps=v), 1, COUNT + out(0)),
    line(models.pretrain_digits, "lr", lambda v: models.pretrain_digits(steps=1, lr=v), 0.01, NONNEGATIVE + SCALAR),
    line(models.pretrain_digits, "seed", lambda v: models.pretrain_digits(steps=1, seed=v), 0, SEED),
    line(models.pretrain_digits, "classes", lambda v: models.pretrain_digits(v, steps=1), (0, 1),
         either((0,), (0, 10), "01", None)),
    # data
    line(data.load, "name", lambda v: data.load(v), "wine", either("mnist", None)),
    line(data.load, "seed", lambda v: data.load("wine", seed=v), 0, SEED),
    line(data.load, "val_fraction", lambda v: data.load("wine", val_fraction=v), 0.2, REAL + out(0.0, 1.0, 0.9)),
    line(data.load, "test_fraction", lambda v: data.load("wine", test_fraction=v), 0.2, REAL + out(0.0, 1.0, 0.9)),
    line(data.load, "classes", lambda v: data.load("wine", classes=v), (0, 1), either((0,), (0, 7), (0, 0), "01")),
    line(data.load, "standardize", lambda v: data.load("wine", standardize=v), False, FLAG),
    line(data.imbalanced, "ratio", lambda v: data.imbalanced(wine(), v), 2.0, REAL + out(0.5)),
    line(data.imbalanced, "seed", lambda v: data.imbalanced(wine(), 2.0, seed=v), 0, SEED),
    line(data.adding, "length", lambda v: data.adding(v, n_train=4, n_val=2, n_test=2), 5, COUNT + out(1)),
    line(data.adding, "n_train", lambda v: data.adding(5, n_train=v, n_val=2, n_test=2), 4, COUNT + out(0)),
    line(data.adding, "seed", lambda v: data.adding(5, n_train=4, n_val=2, n_test=2, seed=v), 0, SEED),
    line(data.adding_problem, "n", lambda v: data.adding_problem(v, 5, np.random.default_rng(0)), 4, COUNT + out(0)),
    line(data.adding_problem, "length", lambda v: data.adding_problem(4, v, np.random.default_rng(0)), 5,
         COUNT + out(1)),
    line(data.adding_problem, "rng", lambda v: data.adding_problem(4, 5, v), np.random.default_rng(0), kind(None, 0)),
    line(data.characters, "context", lambda v: data.characters(v, n_train=4, n_val=2, n_test=2), 3,
         COUNT + out(0, 5000)),
    line(data.characters, "n_train", lambda v: data.characters(3, n_train=v, n_val=2, n_test=2), 4,
         COUNT + out(0, 10**7)),
    line(data.characters, "n_val", lambda v: data.characters(3, n_train=4, n_val=v, n_test=2), 2, COUNT + out(0)),
    line(data.characters, "n_test", lambda v: data.characters(3, n_train=4, n_val=2, n_test=v), 2, COUNT + out(0)),
    line(data.characters, "seed", lambda v: data.characters(3, n_train=4, n_val=2, n_test=2, seed=v), 0, SEED),
    line(data.characters, "length", lambda v: data.characters(3, n_train=4, n_val=2, n_test=2, length=v), 60_000,
         COUNT + out(0)),
    line(data.char_sequences, "context", lambda v: data.char_sequences(v, n_train=4, n_val=2, n_test=2), 3,
         COUNT + out(0, 5000)),
    line(data.char_sequences, "n_train", lambda v: data.char_sequences(3, n_train=v, n_val=2, n_test=2), 4,
         COUNT + out(0, 10**7)),
    line(data.char_sequences, "n_val", lambda v: data.char_sequences(3, n_train=4, n_val=v, n_test=2), 2,
         COUNT + out(0)),
    line(data.char_sequences, "n_test", lambda v: data.char_sequences(3, n_train=4, n_val=2, n_test=v), 2,
         COUNT + out(0)),
    line(data.char_sequences, "seed", lambda v: data.char_sequences(3, n_train=4, n_val=2, n_test=2, seed=v), 0,
         SEED),
    line(data.char_sequences, "length",
         lambda v: data.char_sequences(3, n_train=4, n_val=2, n_test=2, length=v), 60_000, COUNT + out(0)),
    line(data.stdlib_text, "length", lambda v: data.stdlib_text(v), 10, COUNT + out(0)),
    line(data.normalise, "text", lambda v: data.normalise(v), "Ab", kind(None, 3, b"ab", ["a"])),
    line(data.TextDataset, "indices", lambda v: data.characters(3, n_train=4, n_val=2, n_test=2).decode(v), [0, 37],
         kind([0.5], "ab", [[0]]) + out([38], [-1]), what="TextDataset.decode"),
    line(data.image_pixels, "name", lambda v: data.image_pixels(v, size=8, n_frequencies=2), "flower.jpg",
         either("lena.png", None)),
    line(data.image_pixels, "size", lambda v: data.image_pixels(size=v, n_frequencies=2), 8, COUNT + out(1, 1000)),
    line(data.image_pixels, "n_frequencies", lambda v: data.image_pixels(size=8, n_frequencies=v), 2,
         COUNT + out(0)),
    line(data.image_pixels, "scale", lambda v: data.image_pixels(size=8, n_frequencies=2, scale=v), 3.0,
         POSITIVE + SCALAR),
    line(data.image_pixels, "val_fraction", lambda v: data.image_pixels(size=8, n_frequencies=2, val_fraction=v),
         0.2, REAL + out(0.0, 1.0, 0.9)),
    line(data.image_pixels, "test_fraction", lambda v: data.image_pixels(size=8, n_frequencies=2, test_fraction=v),
         0.2, REAL + out(0.0, 1.0, 0.9)),
    line(data.image_pixels, "seed", lambda v: data.image_pixels(size=8, n_frequencies=2, seed=v), 0, SEED),
    line(data.fourier_features, "coords", lambda v: data.fourier_features(v, 2), np.zeros((3, 2)),
         either(np.zeros(3), np.zeros((3, 0)), np.full((2, 2), np.nan), "xy")),
    line(data.fourier_features, "n_frequencies", lambda v: data.fourier_features(np.zeros((3, 2)), v), 2,
         COUNT + out(0)),
    line(data.fourier_features, "scale", lambda v: data.fourier_features(np.zeros((3, 2)), 2, v), 1.0,
         POSITIVE + SCALAR),
    line(data.fourier_features, "seed", lambda v: data.fourier_features(np.zeros((3, 2)), 2, seed=v), 0, SEED),
    line(data.psnr, "prediction", lambda v: data.psnr(v, np.zeros(3)), np.ones(3), either(np.ones(4), [], "abc")),
    line(data.psnr, "target", lambda v: data.psnr(np.ones(3), v), np.zeros(3), either(np.zeros(4), np.full(3, NAN))),
    line(data.psnr, "peak", lambda v: data.psnr(np.ones(3), np.zeros(3), peak=v), 2.0, POSITIVE + SCALAR),
    # the device and the runtime the loops share
    line(device.get_device, "device", lambda v: device.get_device(v), "cpu", DEVICE + out("cuda:99")),
    line(runtime.seeded, "seed", lambda v: seeded(v), 0, SEED),
    line(runtime.seeded, "device", lambda v: seeded(0, v), "cpu", DEVICE),
    line(runtime.cycle, "data", lambda v: next(runtime.cycle(v)), batch(), either(None, 5, [], "xy",
         (torch.zeros(2), torch.zeros(2), torch.zeros(2)))),
    line(runtime.one_epoch, "data", lambda v: next(runtime.one_epoch(v)), batch(), either(None, 5, [], "xy")),
    line(runtime.check_data, "data", lambda v: runtime.check_data(v), batch(),
         either(None, 5, torch.zeros(2), (torch.zeros(2),), (torch.zeros(2), torch.zeros(2), torch.zeros(2)))),
    line(runtime.one_epoch, "empty_ok", lambda v: list(runtime.one_epoch([], empty_ok=v)), True, FLAG),
    line(runtime.show_progress, "progress", lambda v: runtime.show_progress(v), False, PROGRESS),
    line(runtime.progress_bar, "progress", lambda v: runtime.progress_bar(3, v, "x").close(), False, PROGRESS),
    line(runtime.progress_bar, "total", lambda v: runtime.progress_bar(v, False, "x").close(), 3,
         kind("3", True) + out(-1, 2.5, NAN)),  # None: a bar of unknown length
    line(runtime.set_lr, "lr", lambda v: runtime.set_lr({"lr": 0.1}, v), 0.2, NONNEGATIVE + SCALAR),
    line(runtime.held_parameters, "optimizer", held_parameters_of, own_parameters,
         either(another_models_parameters, loose_tensors) + kind(None, "SGD")),
    line(runtime.held_parameters, "model", lambda v: runtime.held_parameters(v, own_parameters(HELD_MODEL)),
         HELD_MODEL, kind(None, "model", 3)),
    # data-parallel training (torchrun); launch's options are DDPOptions', checked before it spawns anything
    *[line(ddp.DDPOptions, name, functools.partial(lambda name, v: ddp.DDPOptions(**{name: v}), name), good, bads)
      for name, good, bads in [
          ("task", "characters", either("imagenet", None, 1)), ("batch_size", 8, COUNT + out(0)),
          ("lr", 0.1, POSITIVE + SCALAR), ("base_batch_size", 8, but(COUNT, None) + out(0)),
          ("rule", "sqrt", either("cubic", None, 1)), ("warmup_steps", 5, COUNT), ("steps", 5, COUNT + out(0)),
          ("seed", 3, SEED + kind(None)), ("optimizer", "adam", either("lbfgs", None)),
          ("momentum", 0.9, NONNEGATIVE + out(1.0)), ("hidden", (8, 4), either(16, (), [8], (0,), (2.5,), ("8",))),
          ("dtype", "float64", either("float16", None)), ("device", "cpu", either("tpu", None, 0))]],
    line(ddp.batch_order, "n", lambda v: ddp.batch_order(v, 4, 2, 0), 10, COUNT + out(0)),
    line(ddp.batch_order, "global_batch", lambda v: ddp.batch_order(10, v, 2, 0), 4, COUNT + out(0)),
    line(ddp.batch_order, "steps", lambda v: ddp.batch_order(10, 4, v, 0), 2, COUNT + out(0)),
    line(ddp.batch_order, "seed", lambda v: ddp.batch_order(10, 4, 2, v), 0, SEED + kind(None)),
    line(ddp.scaled_schedule, "options", lambda v: ddp.scaled_schedule(v), ddp.DDPOptions(), kind(None, {"lr": 0.1})),
    line(ddp.scaled_schedule, "world_size", lambda v: ddp.scaled_schedule(ddp.DDPOptions(), v), 2, COUNT + out(0)),
    line(ddp.train, "world_size", lambda v: ddp.train(TINY_DDP, world_size=v), 2, COUNT + out(0)),
    line(ddp.train, "rank", lambda v: ddp.train(TINY_DDP, world_size=2, rank=v), 0, SEED + kind(None) + out(2)),
    line(ddp.train, "options", lambda v: ddp.train(v), TINY_DDP, kind(None, {"steps": 1})),
    line(ddp.run_single, "nproc", lambda v: ddp.run_single(v, steps=1, hidden=(2,), device="cpu"), 2, COUNT + out(0)),
]

# Public callables that are not in the table, each with its reason (by a public name).
EXEMPT: dict[str, str] = {
    # abstract bases: never built directly; their subclasses are in the table
    "lrcourse.schedules.Schedule": "abstract base",
    "lrcourse.numpy.Optimizer": "abstract base",
    "lrcourse.problems.Problem": "abstract base",
    "lrcourse.torch.optim.Optimizer": "abstract base (impl is in the table through each optimizer)",
    # records the package returns: built by its functions from checked values
    "lrcourse.numpy.SGDState": "state record",
    "lrcourse.numpy.AdagradState": "state record",
    "lrcourse.numpy.RMSpropState": "state record",
    "lrcourse.numpy.AdamState": "state record",
    "lrcourse.numpy.ScheduleFreeState": "state record",
    "lrcourse.numpy.schedulefree.averaging_weight": "called by the schedule-free optimizers with checked values",
    "lrcourse.numpy.ProdigyState": "state record",
    "lrcourse.range_test.SmoothedLoss": "state record (smooth_update is in the table)",
    "lrcourse.sweep.Runs": "what prepare returns",
    "lrcourse.sweep.SweepResult": "what a sweep returns",
    "lrcourse.sweep.ScaledSchedule": "built by prepare from checked rates and schedules",
    "lrcourse.metrics.Window": "what good_window returns",
    "lrcourse.metrics.Interval": "what paired_interval returns",
    "lrcourse.torch.History": "what fit returns",
    "lrcourse.torch.ddp.DDPResult": "what launch and run_single return",
    "lrcourse.torch.ddp.launch": "spawns torchrun (seconds); tests/test_ddp.py checks its bad options, before any spawn",
    "lrcourse.torch.ddp.main": "the command line: tests/test_ddp.py checks that argparse names each bad flag",
    "lrcourse.torch.data.Dataset": "what load returns",
    "lrcourse.torch.data.Split": "a pair of arrays",
    "lrcourse.torch.data.ImageDataset": "what image_pixels returns",
    # no parameters
    "lrcourse.problems.Beale": "no parameters",
    "lrcourse.problems.Saddle": "no parameters",
    # predicates and formatting: they answer for any input, or only format what was checked
    "lrcourse.validation.is_real": "a predicate",
    "lrcourse.validation.interval": "formats an interval for a message",
    "lrcourse.validation.nonfinite_error": "builds the error for a norm that was found NaN or inf",
    "lrcourse.torch.runtime.is_full_batch": "a predicate",
    "lrcourse.torch.runtime.optimizer_tensors": "lists the tensors of an optimizer that held_parameters has checked",
    "lrcourse.torch.runtime.batches_per_epoch": "answers None for data without a length",
    # containers of arrays: any leaf is an array of any shape
    "lrcourse.numpy.tree.leaves": "walks any container",
    "lrcourse.numpy.tree.leaves_like": "walks two containers; names the mismatch itself",
    "lrcourse.numpy.tree.rebuild": "walks any container",
    "lrcourse.clipping.global_norm": "its one argument is the gradient container",
    # the readable update functions: called by the optimizers with checked values (as torch's _single_tensor_adam)
    "lrcourse.torch.optim.sgd": "update function",
    "lrcourse.torch.optim.adagrad": "update function",
    "lrcourse.torch.optim.adagrad.adagrad_sparse": "update function",
    "lrcourse.torch.optim.rmsprop": "update function",
    "lrcourse.torch.optim.adam": "update function",
    "lrcourse.torch.optim.sgd_schedule_free": "update function",
    "lrcourse.torch.optim.adamw_schedule_free": "update function",
    "lrcourse.torch.optim.prodigy": "update function",
    "lrcourse.torch.optim.prodigy.ProdigyTensors": "what Prodigy gathers for its update function",
    "lrcourse.torch.optim.prodigy.DEstimate": "state record",
    # tensors in, tensors out: loss functions and readers of a sweep's params
    "lrcourse.torch.vmap_loss": "a loss function",
    "lrcourse.torch.training.default_loss": "a loss function",
    "lrcourse.torch.run_outputs": "applies the model to swept params",
    "lrcourse.torch.run_scores": "applies the model to swept params",
    # reading a model's structure
    "lrcourse.torch.param_groups.default_layers": "lists a model's submodules",
    "lrcourse.torch.param_groups_table": "prints groups (layerwise_param_groups is in the table)",
}
EXEMPT_MODULES = {
    # figures and notebook display: not part of issue 13's sweep of the API
    "lrcourse.plots": "figures", "lrcourse.widgets": "notebook widgets", "lrcourse.display": "notebook display",
    # the exercise checkers take a learner's function and the book's own n and seed
    "lrcourse.exercises": "exercise checkers",
}

PACKAGE = Path(__file__).resolve().parents[1] / "lrcourse"


def public_callables() -> dict[Any, str]:
    """Every class and function in the ``__all__`` of a public module of lrcourse, by its first public name."""
    found: dict[int, tuple[Any, str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if any(part.startswith("_") for part in parts):
            continue
        name = ".".join(parts)
        if any(name == m or name.startswith(m + ".") for m in EXEMPT_MODULES):
            continue
        module = importlib.import_module(name)
        for attribute in getattr(module, "__all__", ()):
            obj = getattr(module, attribute)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ != "typing":
                found.setdefault(id(obj), (obj, f"{name}.{attribute}"))
    return {obj: name for obj, name in found.values()}


def resolve(dotted: str) -> Any:
    """The object a dotted public name stands for, or None."""
    module, _, attribute = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute, None)
    except ImportError:
        return None


def test_every_public_callable_is_in_the_table() -> None:
    in_table = {id(entry.covers) for entry in TABLE} | {id(resolve(name)) for name in EXEMPT}
    missing = sorted(name for obj, name in public_callables().items() if id(obj) not in in_table)
    assert not missing, f"add these to TABLE (or to EXEMPT, with the reason): {missing}"


def test_the_exemptions_are_public() -> None:
    """An exemption of something that is no longer public is stale."""
    public = {id(obj) for obj in public_callables()}
    stale = [name for name in EXEMPT if id(resolve(name)) not in public]
    assert not stale, f"not public (any more): {stale}"


def ids(value: Any) -> str:
    """A short name for a value in a test id: functions by name, tensors, arrays and modules by kind."""
    if inspect.isfunction(value):
        return value.__name__.strip("<>")
    if isinstance(value, (torch.Tensor, nn.Module, np.random.Generator)):
        return type(value).__name__
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"array{list(value.shape)}"
    if isinstance(value, (tuple, list)) and any(isinstance(v, (torch.Tensor, tuple, np.ndarray)) for v in value):
        inner = ",".join(ids(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return re.sub(r"\s+", "", repr(value))[:40]


ROWS = [pytest.param(entry, bad, id=f"{entry.what}-{entry.parameter}-{ids(bad.value)}")
        for entry in TABLE for bad in entry.bads]
GOOD = [pytest.param(entry, id=f"{entry.what}-{entry.parameter}") for entry in TABLE]


def names(message: str, name: str) -> bool:
    """Tell whether ``message`` names ``name`` as a word: ``lr`` in "lr must be", not in "lr_decay must be"."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) is not None


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's schedulers warn about their own call order
@pytest.mark.parametrize("entry", GOOD)
def test_the_good_value_passes(entry: Line) -> None:
    entry.call(entry.good)


@pytest.mark.parametrize("entry, bad", ROWS)
def test_a_bad_value_is_refused_by_name(entry: Line, bad: Bad) -> None:
    with pytest.raises(EITHER) as caught:
        entry.call(bad.value)
    assert isinstance(caught.value, bad.error), f"{type(caught.value).__name__}: {caught.value}"
    assert names(str(caught.value), entry.name), f"the message does not name {entry.name!r}: {caught.value}"


def test_names_reads_a_word() -> None:
    assert names("lr must be a finite number, got inf", "lr")
    assert names("betas[0] must be in [0, 1), got 1.0", "betas")
    assert not names("lr_decay must be >= 0, got -1", "lr")
    assert not names("param_groups.lr must be", "lr")
