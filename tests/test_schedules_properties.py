"""Properties every schedule must have, checked with hypothesis.

* bounds: every value lies in the interval the schedule's parameters allow;
* the decays are monotone non-increasing;
* WarmRestarts with T_mult=1 and restart_decay=1 is periodic;
* a schedule is a value: scalar and array calls agree, calling twice gives
  the same answer, it pickles, and its repr is readable;
* int/float steps give a Python float, arrays give a float64 array of the
  same shape (2-D and empty arrays included).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

SETTINGS = settings(deadline=None, max_examples=100)

# float slack for bounds and monotonicity: a few ulps of the largest rate
REL = 1e-12

rates = st.floats(min_value=1e-6, max_value=10.0, allow_nan=False, allow_infinity=False)
fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)
decay_gammas = st.floats(min_value=1e-3, max_value=1.0, allow_nan=False, allow_infinity=False)
lengths = st.integers(min_value=1, max_value=500)
steps = st.one_of(
    st.integers(min_value=0, max_value=5000),
    st.floats(min_value=0.0, max_value=5000.0, allow_nan=False, allow_infinity=False),
)
step_arrays = st.lists(steps, min_size=1, max_size=40).map(
    lambda xs: np.array(xs, dtype=np.float64)
)


# ------------------------------------------------------------------ strategies
# Each strategy draws (schedule, lo, hi): the schedule and the interval that
# its values must stay in.


@st.composite
def constant(draw):
    lr = draw(rates)
    return Constant(lr), lr, lr


@st.composite
def time_decay(draw):
    lr = draw(rates)
    gamma = draw(st.floats(0.0, 10.0))
    power = draw(st.floats(0.1, 3.0))
    return TimeDecay(lr, gamma=gamma, power=power), 0.0, lr


@st.composite
def step_decay(draw):
    lr = draw(rates)
    return StepDecay(lr, step_size=draw(lengths), gamma=draw(decay_gammas)), 0.0, lr


@st.composite
def multistep_decay(draw):
    lr = draw(rates)
    ms = sorted(draw(st.sets(st.integers(1, 3000), min_size=1, max_size=6)))
    gamma = draw(decay_gammas)
    return MultiStepDecay(lr, milestones=ms, gamma=gamma), lr * gamma ** len(ms), lr


@st.composite
def exponential_decay(draw):
    lr = draw(rates)
    return ExponentialDecay(lr, gamma=draw(decay_gammas)), 0.0, lr


@st.composite
def polynomial_decay(draw):
    lr = draw(rates)
    min_lr = lr * draw(fractions)
    power = draw(st.floats(0.1, 4.0))
    sched = PolynomialDecay(lr, total_steps=draw(lengths), power=power, min_lr=min_lr)
    return sched, min_lr, lr


@st.composite
def cosine_decay(draw):
    lr = draw(rates)
    min_lr = lr * draw(fractions)
    return CosineDecay(lr, total_steps=draw(lengths), min_lr=min_lr), min_lr, lr


@st.composite
def cyclic(draw):
    max_lr = draw(rates)
    base_lr = max_lr * draw(st.floats(1e-3, 1.0))
    up = draw(st.integers(1, 200))
    down = draw(st.one_of(st.none(), st.integers(1, 200)))
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    gamma = draw(st.floats(0.9, 1.0)) if mode == "exp_range" else 1.0
    sched = Cyclic(base_lr, max_lr, up, step_size_down=down, mode=mode, gamma=gamma)
    return sched, base_lr, max_lr


@st.composite
def warm_restarts(draw):
    lr = draw(rates)
    min_lr = lr * draw(fractions)
    T_0 = draw(st.one_of(st.integers(1, 300), st.floats(1.0, 300.0)))
    T_mult = draw(st.one_of(st.integers(1, 3), st.floats(1.0, 3.0)))
    decay = draw(st.floats(0.1, 1.0))
    sched = WarmRestarts(lr, T_0=T_0, T_mult=T_mult, min_lr=min_lr, restart_decay=decay)
    return sched, min_lr, lr


@st.composite
def one_cycle(draw):
    max_lr = draw(rates)
    # pct_start * total_steps >= 5 keeps every phase at least a few steps
    # long (torch divides by zero on a phase of length 0)
    total = draw(st.integers(100, 2000))
    pct = draw(st.floats(0.05, 0.45))
    div = draw(st.floats(1.5, 100.0))
    final_div = draw(st.floats(1.0, 1e5))
    sched = OneCycle(
        max_lr,
        total_steps=total,
        pct_start=pct,
        anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        div_factor=div,
        final_div_factor=final_div,
        three_phase=draw(st.booleans()),
    )
    return sched, max_lr / div / final_div, max_lr


@st.composite
def chebyshev(draw):
    mu = draw(st.floats(1e-4, 10.0))
    L = mu * draw(st.floats(1.0, 1e4))
    sched = Chebyshev(mu, L, draw(lengths))
    return sched, 1 / L, 1 / mu  # its rates are the inverses of curvatures in [mu, L]


@st.composite
def warmup_stable_decay(draw, warmup=True):
    lr = draw(rates)
    min_lr = lr * draw(fractions)
    total = draw(lengths)
    decay_steps = draw(st.integers(1, total))
    warmup_steps = draw(st.integers(0, total - decay_steps)) if warmup else 0
    decay = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
    sched = WarmupStableDecay(lr, total, warmup_steps=warmup_steps, decay_steps=decay_steps, decay=decay,
                              min_lr=min_lr)
    return sched, (0.0 if warmup_steps else min_lr), lr


BASIC = [
    constant(),
    time_decay(),
    step_decay(),
    multistep_decay(),
    exponential_decay(),
    polynomial_decay(),
    cosine_decay(),
    cyclic(),
    warm_restarts(),
    one_cycle(),
    chebyshev(),
    warmup_stable_decay(),
]


@st.composite
def warmup(draw):
    inner, lo, hi = draw(st.one_of(*BASIC))
    start_lr = draw(st.floats(0.0, 2 * hi))
    sched = Warmup(inner, warmup_steps=draw(lengths), start_lr=start_lr)
    return sched, min(lo, start_lr), max(hi, start_lr)


@st.composite
def join(draw):
    parts = draw(st.lists(st.one_of(*BASIC), min_size=1, max_size=4))
    n = len(parts) - 1
    bounds = sorted(draw(st.sets(st.integers(1, 3000), min_size=n, max_size=n)))
    sched = Join([p[0] for p in parts], boundaries=bounds)
    return sched, min(p[1] for p in parts), max(p[2] for p in parts)


ANY = st.one_of(*BASIC, warmup(), join())

DECAYS = st.one_of(
    time_decay(),
    step_decay(),
    multistep_decay(),
    exponential_decay(),
    polynomial_decay(),
    cosine_decay(),
    warmup_stable_decay(warmup=False),
)


# ------------------------------------------------------------------- bounds


@SETTINGS
@given(case=ANY, t=step_arrays)
def test_values_within_bounds(case, t):
    sched, lo, hi = case
    values = sched(t)
    slack = REL * hi
    assert np.all(np.isfinite(values))
    assert np.all(values >= lo - slack), (sched, t[values < lo - slack])
    assert np.all(values <= hi + slack), (sched, t[values > hi + slack])


@SETTINGS
@given(case=ANY)
def test_step_zero_within_bounds_and_positive_unless_warmup(case):
    sched, lo, hi = case
    v0 = sched(0)
    assert lo - REL * hi <= v0 <= hi + REL * hi
    if not isinstance(sched, Warmup) and getattr(sched, "warmup_steps", 0) == 0:  # a warmup from 0
        assert v0 > 0


@SETTINGS
@given(case=ANY)
def test_far_future_steps_are_finite_quiet_and_within_bounds(case):
    """Long runs (10**4 .. 10**12 steps): no overflow, no NaN, no numpy warning."""
    sched, lo, hi = case
    t = np.array([1e4, 1e5, 1e6, 1e9, 1e12])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # also outside the suite's own config
        values = sched(t)
        scalar = sched(10**9)
    assert np.all(np.isfinite(values)) and math.isfinite(scalar)
    slack = REL * hi
    assert np.all((values >= lo - slack) & (values <= hi + slack)), (sched, values)


@SETTINGS
@given(case=DECAYS, t=step_arrays)
def test_decays_are_monotone_non_increasing(case, t):
    sched, _, hi = case
    values = sched(np.sort(t))
    assert np.all(np.diff(values) <= REL * hi), sched


@SETTINGS
@given(case=DECAYS)
def test_decays_start_at_lr(case):
    sched, _, hi = case
    assert sched(0) == pytest.approx(hi, rel=REL)


@SETTINGS
@given(
    lr=rates,
    min_frac=fractions,
    T_0_quarters=st.integers(4, 400),
    t_eighths=st.lists(st.integers(0, 8000), min_size=1, max_size=20),
    k=st.integers(1, 50),
)
def test_warm_restarts_periodic_when_t_mult_is_1(lr, min_frac, T_0_quarters, t_eighths, k):
    # T_0 and t are multiples of 1/4 and 1/8, so t + k * T_0 is exact in
    # float64 and the comparison needs no slack beyond rounding in cos.
    T_0 = T_0_quarters / 4
    sched = WarmRestarts(lr, T_0=T_0, T_mult=1, min_lr=lr * min_frac, restart_decay=1.0)
    t = np.array(t_eighths) / 8
    np.testing.assert_allclose(sched(t + k * T_0), sched(t), rtol=1e-9, atol=1e-12 * lr)


@SETTINGS
@given(
    lr=rates,
    min_frac=fractions,
    T_0=st.integers(1, 300),
    T_mult=st.integers(1, 3),
    decay=st.floats(0.1, 1.0),
)
def test_warm_restarts_peak_after_each_restart(lr, min_frac, T_0, T_mult, decay):
    """At the start of cycle i the rate is min_lr + (lr - min_lr) * restart_decay**i.

    Integer T_0 and T_mult: the restarts fall on exact integers, where a
    schedule must not confuse "end of cycle i" with "start of cycle i + 1".
    """
    min_lr = lr * min_frac
    sched = WarmRestarts(lr, T_0=T_0, T_mult=T_mult, min_lr=min_lr, restart_decay=decay)
    start, length = 0, T_0
    for i in range(6):
        expected = min_lr + (lr - min_lr) * decay**i
        assert sched(start) == pytest.approx(expected, rel=1e-9, abs=1e-12 * lr), (i, start)
        assert sched(np.array([start]))[0] == pytest.approx(expected, rel=1e-9, abs=1e-12 * lr)
        start += length
        length *= T_mult


@SETTINGS
@given(
    lr=rates,
    min_frac=fractions,
    T_0=st.integers(1, 300),
    T_mult=st.sampled_from([1, 2, 3, 4, 1.5, 2.5]),
    decay=st.floats(0.1, 1.0),
)
def test_warm_restarts_one_ulp_before_a_restart_is_the_bottom(lr, min_frac, T_0, T_mult, decay):
    """At the largest float below a restart the cycle is at its end (about min_lr).

    A cycle index found with a logarithm lands on the wrong side of a restart
    for many such steps; the value there must still be the bottom of the
    ending cycle, not the peak of the next one.
    """
    min_lr = lr * min_frac
    sched = WarmRestarts(lr, T_0=T_0, T_mult=T_mult, min_lr=min_lr, restart_decay=decay)
    start, length = 0.0, float(T_0)  # exact: T_0 is an integer, T_mult a short binary fraction
    for i in range(1, 9):
        start += length
        length *= T_mult
        before = float(np.nextafter(start, -np.inf))
        ending_peak = min_lr + (lr - min_lr) * decay ** (i - 1)
        for value in (sched(before), sched(np.array([before]))[0]):
            # (1 + cos(pi * (1 - d))) / 2 ~ (pi * d)**2 / 4 for d of order 1e-13
            upper = min_lr + 1e-9 * (ending_peak - min_lr) + 1e-15 * lr
            assert min_lr - 1e-12 * lr <= value <= upper, (i, start, value)
        peak = min_lr + (lr - min_lr) * decay**i
        assert sched(start) == pytest.approx(peak, rel=1e-9, abs=1e-12 * lr)


@SETTINGS
@given(case=chebyshev(), t=st.lists(st.integers(0, 10**6), min_size=1, max_size=20), k=st.integers(1, 10**6))
def test_chebyshev_is_periodic_and_each_cycle_is_its_n_rates(case, t, k):
    """The rate of step t is the rate of t + k n, and a cycle is the n rates, smallest first."""
    sched, _, _ = case
    t = np.array(t, dtype=np.float64)
    np.testing.assert_array_equal(sched(t + k * sched.n), sched(t))
    cycle = sched(np.arange(sched.n))
    assert np.all(np.diff(cycle) >= -REL * cycle.max())  # the roots from L down to mu: rates rising
    # the roots 1/alpha_k of the cycle's polynomial are curvatures in [mu, L]
    assert np.all((1 / cycle >= sched.mu * (1 - REL)) & (1 / cycle <= sched.L * (1 + REL)))


# ------------------------------------------------------- a schedule is a value


@SETTINGS
@given(case=ANY, t=step_arrays)
def test_scalar_and_array_calls_agree(case, t):
    sched, _, hi = case
    array = sched(t)
    scalars = np.array([sched(float(x)) for x in t])
    np.testing.assert_allclose(array, scalars, rtol=1e-12, atol=REL * hi)
    ints = t.astype(np.int64)
    np.testing.assert_allclose(
        sched(ints), [sched(int(x)) for x in ints], rtol=1e-12, atol=REL * hi
    )


@SETTINGS
@given(case=ANY, t=step_arrays, s=steps)
def test_no_hidden_state(case, t, s):
    sched, _, _ = case
    fresh = copy.deepcopy(sched)
    first = sched(t)
    sched(s)
    sched(np.flip(t))
    second = sched(t)
    np.testing.assert_array_equal(first, second)
    assert sched == fresh
    np.testing.assert_array_equal(fresh(t), first)


@SETTINGS
@given(case=ANY, t=step_arrays)
def test_pickle_round_trip(case, t):
    sched, _, _ = case
    clone = pickle.loads(pickle.dumps(sched))
    assert clone == sched
    assert type(clone) is type(sched)
    np.testing.assert_array_equal(clone(t), sched(t))
    assert clone(float(t[0])) == sched(float(t[0]))


@SETTINGS
@given(case=ANY)
def test_schedules_are_frozen_dataclasses(case):
    sched, _, _ = case
    assert dataclasses.is_dataclass(sched)
    field = dataclasses.fields(sched)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(sched, field, getattr(sched, field))


# ---------------------------------------------------------------------- repr

REPR_CASES = [
    pytest.param(lambda: Constant(0.125), ["0.125"], id="Constant"),
    pytest.param(
        lambda: TimeDecay(0.125, gamma=0.5, power=2.0), ["0.125", "0.5", "2.0"], id="TimeDecay"
    ),
    pytest.param(
        lambda: StepDecay(0.125, step_size=30, gamma=0.5), ["0.125", "30", "0.5"], id="StepDecay"
    ),
    pytest.param(
        lambda: MultiStepDecay(0.125, milestones=[30, 80], gamma=0.5),
        ["0.125", "30", "80", "0.5"],
        id="MultiStepDecay",
    ),
    pytest.param(
        lambda: ExponentialDecay(0.125, gamma=0.95), ["0.125", "0.95"], id="ExponentialDecay"
    ),
    pytest.param(
        lambda: PolynomialDecay(0.125, total_steps=300, power=2.0, min_lr=0.001),
        ["0.125", "300", "2.0", "0.001"],
        id="PolynomialDecay",
    ),
    pytest.param(
        lambda: CosineDecay(0.125, total_steps=300, min_lr=0.001),
        ["0.125", "300", "0.001"],
        id="CosineDecay",
    ),
    pytest.param(
        lambda: Cyclic(0.001, 0.125, 20, step_size_down=35, mode="exp_range", gamma=0.99),
        ["0.001", "0.125", "20", "35", "exp_range", "0.99"],
        id="Cyclic",
    ),
    pytest.param(
        lambda: WarmRestarts(0.125, T_0=10, T_mult=2, min_lr=0.001, restart_decay=0.8),
        ["0.125", "10", "2", "0.001", "0.8"],
        id="WarmRestarts",
    ),
    pytest.param(
        lambda: OneCycle(0.125, 1000, pct_start=0.25, anneal_strategy="linear", three_phase=True),
        ["0.125", "1000", "0.25", "linear", "True"],
        id="OneCycle",
    ),
    pytest.param(
        lambda: Warmup(CosineDecay(0.125, total_steps=300), warmup_steps=17, start_lr=0.001),
        ["CosineDecay", "0.125", "300", "17", "0.001"],
        id="Warmup",
    ),
    pytest.param(
        lambda: Join([Constant(0.125), ExponentialDecay(0.5, gamma=0.95)], boundaries=[17]),
        ["Constant", "ExponentialDecay", "0.125", "0.5", "0.95", "17"],
        id="Join",
    ),
    pytest.param(lambda: Chebyshev(mu=0.125, L=8.0, n=17), ["0.125", "8.0", "17"], id="Chebyshev"),
    pytest.param(lambda: WarmupStableDecay(0.125, 300, warmup_steps=17, decay_steps=60, decay="1-sqrt", min_lr=0.001),
                 ["0.125", "300", "17", "60", "1-sqrt", "0.001"], id="WarmupStableDecay"),
]


@pytest.mark.parametrize(("make", "needles"), REPR_CASES)
def test_repr_is_readable(make, needles):
    sched = make()
    text = repr(sched)
    assert text.startswith(type(sched).__name__ + "(")
    assert " at 0x" not in text
    assert "\n" not in text
    for needle in needles:
        assert needle in text, (needle, text)


@SETTINGS
@given(case=ANY)
def test_repr_names_every_field_value(case):
    sched, _, _ = case
    text = repr(sched)
    assert type(sched).__name__ in text
    for field in dataclasses.fields(sched):
        assert repr(getattr(sched, field.name)) in text, (field.name, text)


# -------------------------------------------------------------- return types


@SETTINGS
@given(case=ANY, t=st.integers(0, 10_000))
def test_int_step_gives_python_float(case, t):
    sched, _, _ = case
    assert type(sched(t)) is float
    assert type(sched(float(t))) is float
    assert type(sched(t + 0.5)) is float


@pytest.mark.parametrize("shape", [(0,), (7,), (3, 4), (0, 3), (2, 0), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64, np.float32])
@settings(deadline=None, max_examples=15)
@given(case=ANY)
def test_array_gives_float64_array_of_same_shape(case, shape, dtype):
    sched, _, _ = case
    n = math.prod(shape)
    t = (np.arange(n) * 37 % 1500).astype(dtype).reshape(shape)
    before = t.copy()
    out = sched(t)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert out.shape == shape
    np.testing.assert_array_equal(t, before)  # the input is not modified
    if n:
        flat = [sched(float(x)) for x in t.ravel()]
        np.testing.assert_allclose(out.ravel(), flat, rtol=1e-12, atol=1e-15)
