"""Bad input fails early and says which parameter is wrong.

Construction validates every parameter: a ``ValueError`` whose message names
the parameter. A negative step fails at call time: a ``ValueError`` naming
``step``. Values just inside each allowed range are accepted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.schedules import (
    Chebyshev,
    Constant,
    CosineDecay,
    Cyclic,
    ExponentialDecay,
    Join,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    StepDecay,
    TimeDecay,
    Warmup,
    WarmRestarts,
    WarmupStableDecay,
)

NAN, INF = math.nan, math.inf


def bad(make, param, id):
    """A constructor call that must raise ValueError whose message contains ``param``."""
    return pytest.param(make, param, id=id)


# Constructors taking the rate as their first argument, as functions of it.
BY_LR = {
    "Constant": lambda v: Constant(v),
    "TimeDecay": lambda v: TimeDecay(v, gamma=0.1),
    "StepDecay": lambda v: StepDecay(v, step_size=10),
    "MultiStepDecay": lambda v: MultiStepDecay(v, milestones=(10,)),
    "ExponentialDecay": lambda v: ExponentialDecay(v, gamma=0.9),
    "PolynomialDecay": lambda v: PolynomialDecay(v, total_steps=10),
    "CosineDecay": lambda v: CosineDecay(v, total_steps=10),
    "WarmRestarts": lambda v: WarmRestarts(v, T_0=10),
    "WarmupStableDecay": lambda v: WarmupStableDecay(v, total_steps=10, warmup_steps=2),
}

# gamma in (0, 1]
BY_GAMMA = {
    "StepDecay": lambda v: StepDecay(0.1, step_size=10, gamma=v),
    "MultiStepDecay": lambda v: MultiStepDecay(0.1, milestones=(10,), gamma=v),
    "ExponentialDecay": lambda v: ExponentialDecay(0.1, gamma=v),
    "Cyclic": lambda v: Cyclic(0.1, 1.0, step_size_up=10, mode="exp_range", gamma=v),
}

# lengths that must be >= 1: (parameter, constructor)
BY_LENGTH = {
    "StepDecay": ("step_size", lambda v: StepDecay(0.1, step_size=v)),
    "Cyclic-up": ("step_size_up", lambda v: Cyclic(0.1, 1.0, step_size_up=v)),
    "Cyclic-down": (
        "step_size_down",
        lambda v: Cyclic(0.1, 1.0, step_size_up=10, step_size_down=v),
    ),
    "PolynomialDecay": ("total_steps", lambda v: PolynomialDecay(0.1, total_steps=v)),
    "CosineDecay": ("total_steps", lambda v: CosineDecay(0.1, total_steps=v)),
    "OneCycle": ("total_steps", lambda v: OneCycle(0.1, total_steps=v)),
    "WarmRestarts": ("T_0", lambda v: WarmRestarts(0.1, T_0=v)),
    "Warmup": ("warmup_steps", lambda v: Warmup(Constant(0.1), warmup_steps=v)),
    "WarmupStableDecay": ("total_steps", lambda v: WarmupStableDecay(0.1, total_steps=v)),
    "WarmupStableDecay-decay": ("decay_steps", lambda v: WarmupStableDecay(0.1, 10, decay_steps=v)),
}

# 0 <= min_lr <= lr (lr is 0.1 in each)
BY_MIN_LR = {
    "PolynomialDecay": lambda v: PolynomialDecay(0.1, total_steps=10, min_lr=v),
    "CosineDecay": lambda v: CosineDecay(0.1, total_steps=10, min_lr=v),
    "WarmRestarts": lambda v: WarmRestarts(0.1, T_0=10, min_lr=v),
    "WarmupStableDecay": lambda v: WarmupStableDecay(0.1, total_steps=10, min_lr=v),
}

C1, C2, C3 = Constant(0.1), Constant(0.2), Constant(0.3)

BAD = [
    # ---------------------------------------------- lr <= 0, NaN, infinite
    *[
        bad(lambda make=make, v=v: make(v), "lr", f"{name}-lr={v}")
        for v in (0.0, -0.1, NAN, INF, -INF)
        for name, make in BY_LR.items()
    ],
    *[
        bad(lambda v=v: OneCycle(v, total_steps=100), "max_lr", f"OneCycle-max_lr={v}")
        for v in (0.0, -0.1, NAN, INF)
    ],
    *[
        bad(lambda v=v: Cyclic(v, 1.0, step_size_up=10), "base_lr", f"Cyclic-base_lr={v}")
        for v in (0.0, -0.1, NAN, INF)
    ],
    *[
        bad(lambda v=v: Cyclic(0.1, v, step_size_up=10), "max_lr", f"Cyclic-max_lr={v}")
        for v in (0.0, -0.1, NAN, INF)
    ],
    # 0 < base_lr <= max_lr: the message may name either side of the relation
    bad(lambda: Cyclic(0.5, 0.1, step_size_up=10), "base_lr|max_lr", "Cyclic-base_lr>max_lr"),
    # ---------------------------------------------------------------- gamma
    *[
        bad(lambda make=make, v=v: make(v), "gamma", f"{name}-gamma={v}")
        for v in (0.0, -0.5, 1.5, NAN, INF)
        for name, make in BY_GAMMA.items()
    ],
    *[
        bad(lambda v=v: TimeDecay(0.1, gamma=v), "gamma", f"TimeDecay-gamma={v}")
        for v in (-0.1, NAN, INF)
    ],
    *[
        bad(lambda v=v: TimeDecay(0.1, gamma=0.1, power=v), "power", f"TimeDecay-power={v}")
        for v in (0.0, -1.0, NAN)
    ],
    # ------------------------------------------------------- lengths < 1
    *[
        bad(lambda make=make, v=v: make(v), param, f"{name}-{param}={v}")
        for v in (0, -1, 0.5)
        for name, (param, make) in BY_LENGTH.items()
    ],
    *[
        bad(lambda v=v: WarmRestarts(0.1, T_0=10, T_mult=v), "T_mult", f"T_mult={v}")
        for v in (0, 0.5, 0.999, -2, NAN)
    ],
    *[
        bad(
            lambda v=v: WarmRestarts(0.1, T_0=10, restart_decay=v),
            "restart_decay",
            f"restart_decay={v}",
        )
        for v in (0.0, -0.5, 1.5, NAN)
    ],
    # ------------------------------------------------------ unknown choices
    bad(lambda: Cyclic(0.1, 1.0, step_size_up=10, mode="triangle"), "mode", "mode-typo"),
    bad(lambda: Cyclic(0.1, 1.0, step_size_up=10, mode="Triangular"), "mode", "mode-case"),
    bad(
        lambda: OneCycle(1.0, total_steps=100, anneal_strategy="cosine"),
        "anneal_strategy",
        "anneal_strategy-cosine",
    ),
    bad(
        lambda: OneCycle(1.0, total_steps=100, anneal_strategy="exp"),
        "anneal_strategy",
        "anneal_strategy-exp",
    ),
    # ----------------------------------------------------------- milestones
    bad(lambda: MultiStepDecay(0.1, milestones=(80, 30)), "milestones", "milestones-decreasing"),
    bad(lambda: MultiStepDecay(0.1, milestones=(30, 30)), "milestones", "milestones-repeated"),
    bad(lambda: MultiStepDecay(0.1, milestones=(0, 30)), "milestones", "milestones-zero"),
    bad(lambda: MultiStepDecay(0.1, milestones=(-5, 30)), "milestones", "milestones-negative"),
    # ------------------------------------------------------ Join boundaries
    bad(lambda: Join([C1, C2, C3], boundaries=[20, 10]), "boundaries", "Join-decreasing"),
    bad(lambda: Join([C1, C2, C3], boundaries=[10, 10]), "boundaries", "Join-repeated"),
    bad(lambda: Join([C1, C2], boundaries=[0]), "boundaries", "Join-zero"),
    bad(lambda: Join([C1, C2], boundaries=[-3]), "boundaries", "Join-negative"),
    bad(lambda: Join([C1, C2], boundaries=[]), "boundaries", "Join-too-few"),
    bad(lambda: Join([C1, C2], boundaries=[5, 10]), "boundaries", "Join-too-many"),
    bad(lambda: Join([C1], boundaries=[5]), "boundaries", "Join-one-schedule-one-boundary"),
    # ------------------------------------------------------------ pct_start
    *[
        bad(lambda v=v: OneCycle(1.0, total_steps=100, pct_start=v), "pct_start", f"pct_start={v}")
        for v in (0.0, 1.0, -0.1, 1.5, NAN)
    ],
    # --------------------------------------------------------------- min_lr
    *[
        bad(lambda make=make, v=v: make(v), "min_lr", f"{name}-min_lr={v}")
        for v in (-0.01, 0.2, NAN)
        for name, make in BY_MIN_LR.items()
    ],
    # --------------------------------------------------------------- Warmup
    bad(lambda: Warmup(C1, warmup_steps=10, start_lr=-0.01), "start_lr", "start_lr<0"),
    bad(lambda: Warmup(C1, warmup_steps=10, start_lr=NAN), "start_lr", "start_lr-nan"),
    # ------------------------------------------------------------ Chebyshev
    *[
        bad(lambda v=v: Chebyshev(mu=v, L=1.0, n=10), "mu", f"Chebyshev-mu={v}")
        for v in (0.0, -0.1, NAN, INF, 5e-324)  # 1 / 5e-324 is inf: the largest rate must be finite
    ],
    *[
        bad(lambda v=v: Chebyshev(mu=0.1, L=v, n=10), "L", f"Chebyshev-L={v}")
        for v in (0.05, 0.0, -1.0, NAN, INF)  # L >= mu
    ],
    *[bad(lambda v=v: Chebyshev(mu=0.1, L=1.0, n=v), "n", f"Chebyshev-n={v}") for v in (0, -1, 0.5, 2**53 + 1)],
]


@pytest.mark.parametrize(("make", "param"), BAD)
def test_bad_parameter_raises_valueerror_naming_it(make, param):
    with pytest.raises(ValueError, match=param):
        make()


# Values just inside each range must be accepted.
GOOD_EDGES = [
    pytest.param(lambda: StepDecay(0.1, step_size=1, gamma=1.0), id="StepDecay"),
    pytest.param(lambda: MultiStepDecay(0.1, milestones=(1,), gamma=1.0), id="MultiStepDecay"),
    pytest.param(lambda: ExponentialDecay(0.1, gamma=1.0), id="ExponentialDecay-gamma=1"),
    pytest.param(lambda: TimeDecay(0.1, gamma=0.0), id="TimeDecay-gamma=0"),
    pytest.param(lambda: PolynomialDecay(0.1, total_steps=1), id="PolynomialDecay-T=1"),
    pytest.param(lambda: PolynomialDecay(0.1, 1, min_lr=0.1), id="PolynomialDecay-min_lr=lr"),
    pytest.param(lambda: CosineDecay(0.1, total_steps=1, min_lr=0.1), id="CosineDecay-min_lr=lr"),
    pytest.param(
        lambda: Cyclic(0.1, 0.1, 1, step_size_down=1, mode="exp_range", gamma=1.0),
        id="Cyclic-base=max",
    ),
    pytest.param(
        lambda: WarmRestarts(0.1, T_0=1, T_mult=1, min_lr=0.1, restart_decay=1.0),
        id="WarmRestarts",
    ),
    pytest.param(lambda: WarmRestarts(0.1, T_0=1.5, T_mult=1.25), id="WarmRestarts-float-T"),
    pytest.param(lambda: OneCycle(0.1, 100, pct_start=0.5, anneal_strategy="linear"), id="OneCycle"),
    pytest.param(lambda: Warmup(Constant(0.1), warmup_steps=1, start_lr=0.0), id="Warmup"),
    pytest.param(lambda: Join([Constant(0.1), Constant(0.2)], boundaries=[1]), id="Join"),
    pytest.param(lambda: Chebyshev(mu=0.1, L=0.1, n=1), id="Chebyshev-mu=L-n=1"),
    pytest.param(lambda: Chebyshev(mu=1e-308, L=1.7e308, n=2**53), id="Chebyshev-widest"),
    pytest.param(lambda: WarmupStableDecay(0.1, total_steps=1, min_lr=0.1), id="WarmupStableDecay-T=1"),
    pytest.param(lambda: WarmupStableDecay(0.1, 10, warmup_steps=9, decay_steps=1), id="WarmupStableDecay-W+D=T"),
]


@pytest.mark.parametrize("make", GOOD_EDGES)
def test_edge_values_inside_the_range_are_accepted(make):
    sched = make()
    assert math.isfinite(sched(0))


# ------------------------------------------------------------- call time

ALL = [
    pytest.param(lambda: Constant(0.1), id="Constant"),
    pytest.param(lambda: TimeDecay(0.1, gamma=0.1), id="TimeDecay"),
    pytest.param(lambda: StepDecay(0.1, step_size=10), id="StepDecay"),
    pytest.param(lambda: MultiStepDecay(0.1, milestones=(10,)), id="MultiStepDecay"),
    pytest.param(lambda: ExponentialDecay(0.1, gamma=0.9), id="ExponentialDecay"),
    pytest.param(lambda: PolynomialDecay(0.1, total_steps=10), id="PolynomialDecay"),
    pytest.param(lambda: CosineDecay(0.1, total_steps=10), id="CosineDecay"),
    pytest.param(lambda: Cyclic(0.01, 0.1, step_size_up=10), id="Cyclic"),
    pytest.param(lambda: WarmRestarts(0.1, T_0=10), id="WarmRestarts"),
    pytest.param(lambda: OneCycle(0.1, total_steps=100), id="OneCycle"),
    pytest.param(lambda: Warmup(Constant(0.1), warmup_steps=10), id="Warmup"),
    pytest.param(lambda: Join([Constant(0.1), Constant(0.2)], boundaries=[10]), id="Join"),
    pytest.param(lambda: Chebyshev(mu=0.01, L=1.0, n=10), id="Chebyshev"),
    pytest.param(lambda: WarmupStableDecay(0.1, total_steps=20, warmup_steps=3), id="WarmupStableDecay"),
]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize(
    "step",
    [-1, -0.5, -1e-9, np.array([0.0, 1.0, -1.0]), np.array([[3, 4], [5, -2]])],
    ids=["int", "half", "tiny", "array", "2d-array"],
)
def test_negative_step_raises_valueerror_naming_step(make, step):
    sched = make()
    with pytest.raises(ValueError, match="step"):
        sched(step)


@pytest.mark.parametrize("make", ALL)
def test_step_zero_and_empty_arrays_are_fine(make):
    sched = make()
    assert sched(0) > 0 or isinstance(sched, (Warmup, WarmupStableDecay))  # a warmup from 0
    assert sched(np.zeros((0,))).shape == (0,)


# A step that is not a number is refused with a TypeError naming ``step``: '3' would
# otherwise be read as 3.0 and True as 1.0 (a flag passed where the step count goes),
# and a complex step failed inside NumPy with a message that did not name ``step``.
NOT_A_STEP = [
    pytest.param("3", id="str"),
    pytest.param(True, id="True"),
    pytest.param(False, id="False"),
    pytest.param(np.bool_(True), id="numpy-bool"),
    pytest.param(np.array([True, False]), id="bool-array"),
    pytest.param(1j, id="complex"),
    pytest.param(np.complex128(2.0), id="numpy-complex"),
    pytest.param(np.array([1.0, 2.0 + 0j]), id="complex-array"),
    pytest.param(None, id="None"),
    pytest.param(["1", "2"], id="list-of-str"),
    pytest.param(np.array([None, 3]), id="object-array"),
]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("step", NOT_A_STEP)
def test_a_step_that_is_not_a_number_raises_typeerror_naming_step(make, step):
    sched = make()
    with pytest.raises(TypeError, match="^step must be a real number"):
        sched(step)


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize(
    "step",
    [NAN, INF, -INF, 10**400, np.array([0.0, NAN]), np.array([1.0, INF]), np.longdouble("1e400")],
    ids=["nan", "inf", "-inf", "int-10**400", "array-nan", "array-inf", "longdouble-1e400"],
)
def test_a_non_finite_step_raises_valueerror_naming_step(make, step):
    sched = make()
    with pytest.raises(ValueError, match="^step must be (a )?finite"):
        sched(step)


@pytest.mark.parametrize("make", ALL)
def test_every_kind_of_real_step_gives_the_value_of_the_float_step(make):
    """Python and NumPy ints and floats, 0-d arrays, lists and arrays: all are the same step."""
    sched = make()
    expected = sched(7.0)
    for step in (7, 7.0, np.int64(7), np.int32(7), np.uint8(7), np.float32(7.0), np.float64(7.0),
                 np.array(7), np.array(7.0)):
        value = sched(step)
        assert type(value) is float and value == expected, (step, value)
    for steps in ([7, 7], (7.0, 7.0), np.array([7, 7], dtype=np.uint16), np.array([7.0, 7.0], dtype=np.float16)):
        values = sched(steps)
        assert values.dtype == np.float64 and values.tolist() == [expected, expected], (steps, values)
