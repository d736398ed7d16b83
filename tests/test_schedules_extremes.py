"""Extreme but valid parameters and steps: every schedule gives a finite rate >= 0, or refuses at construction.

A schedule is called at every step of a run, with parameters a user typed, so it must
not turn a valid input into NaN, inf or an exception deep inside NumPy. For each
schedule the parameters range over the whole float64 line that their checks allow
(from the smallest subnormal, 5e-324, to the largest float, 1.8e308), the integer
counts up to 2**53 (``lrcourse.validation.MAX_STEPS``) and the steps from 0 to
1.8e308. Each draw ends one of two ways:

* construction refuses it with a ``ValueError`` that names a parameter and its range
  (a Cyclic cycle longer than the float range, a OneCycle whose initial rate
  ``max_lr / div_factor`` overflows, a count of steps above 2**53);
* or every valid step gives a finite rate in the schedule's interval (``[0, lr]`` for
  a decay, ``[base_lr, max_lr]`` for Cyclic, ...), without a NumPy warning.

These are promises of finiteness and bounds. Far past any real run (cycles whose
length exceeds the float range, ``gamma * t`` beyond 1.8e308) the value is the limit
the float arithmetic reaches, not necessarily the exact closed form.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lrcourse.range_test import Ramp
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
from lrcourse.validation import MAX_STEPS

BIG = sys.float_info.max  # 1.7976931348623157e308
TINY = 5e-324  # the smallest positive float (a subnormal)
REL = 1e-12
SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.filter_too_much])

# Each strategy mixes ordinary values with the ends of the float range, so that both
# the everyday case and the extremes are drawn often.
positive = st.one_of(
    st.floats(min_value=TINY, max_value=BIG),
    st.sampled_from([TINY, 1e-308, 1e-3, 1.0, 1e300, 1e308, BIG]),
)
unit = st.one_of(st.floats(min_value=TINY, max_value=1.0), st.sampled_from([TINY, 1e-300, 0.5, 1.0]))  # (0, 1]
fraction = st.one_of(st.floats(min_value=0.0, max_value=1.0), st.sampled_from([0.0, TINY, 1.0]))  # [0, 1]
at_least_one = st.one_of(st.floats(min_value=1.0, max_value=BIG), st.sampled_from([1.0, 2.0, 1e300, 1e308, BIG]))
counts = st.one_of(st.integers(1, 100), st.integers(1, MAX_STEPS), st.sampled_from([1, 2, MAX_STEPS]))
steps = st.one_of(
    st.integers(0, 1000),
    st.integers(0, 2**64),
    st.floats(min_value=0.0, max_value=BIG),
    st.sampled_from([0, TINY, 1.0, 2.0**53, 1e300, 1e308, BIG]),
)
step_arrays = st.lists(steps, min_size=1, max_size=8).map(lambda xs: np.array(xs, dtype=np.float64))


def build(make, *args, **kwargs):
    """Construct, or skip the draw if construction refuses it with a ValueError naming a parameter."""
    try:
        return make(*args, **kwargs)
    except ValueError as error:
        assert " must be " in str(error), error  # "<name> must be <allowed>, got <value>"
        assume(False)


@st.composite
def decays(draw):
    """A decay from lr: (schedule, lowest value, highest value)."""
    lr = draw(positive)
    kind = draw(st.sampled_from(["constant", "time", "step", "multistep", "exp", "poly", "cos"]))
    if kind == "constant":
        return build(Constant, lr), lr, lr
    if kind == "time":
        gamma = draw(st.one_of(st.just(0.0), positive))
        return build(TimeDecay, lr, gamma=gamma, power=draw(positive)), 0.0, lr
    if kind == "step":
        return build(StepDecay, lr, step_size=draw(counts), gamma=draw(unit)), 0.0, lr
    if kind == "multistep":
        milestones = sorted(draw(st.sets(counts, min_size=1, max_size=4)))
        return build(MultiStepDecay, lr, milestones=milestones, gamma=draw(unit)), 0.0, lr
    if kind == "exp":
        return build(ExponentialDecay, lr, gamma=draw(unit)), 0.0, lr
    min_lr = lr * draw(fraction)
    if kind == "poly":
        return build(PolynomialDecay, lr, total_steps=draw(counts), power=draw(positive), min_lr=min_lr), min_lr, lr
    return build(CosineDecay, lr, total_steps=draw(counts), min_lr=min_lr), min_lr, lr


@st.composite
def cyclic(draw):
    max_lr = draw(positive)
    base_lr = max(TINY, max_lr * draw(fraction))
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    sched = build(Cyclic, base_lr, max_lr, draw(at_least_one), step_size_down=draw(st.none() | at_least_one),
                  mode=mode, gamma=draw(unit))
    return sched, base_lr, max_lr


@st.composite
def warm_restarts(draw):
    lr = draw(positive)
    min_lr = lr * draw(fraction)
    sched = build(WarmRestarts, lr, T_0=draw(at_least_one), T_mult=draw(at_least_one), min_lr=min_lr,
                  restart_decay=draw(unit))
    return sched, min_lr, lr


@st.composite
def one_cycle(draw):
    max_lr = draw(positive)
    div, final_div = draw(positive), draw(positive)
    sched = build(OneCycle, max_lr, total_steps=draw(st.integers(2, MAX_STEPS) | st.sampled_from([2, 3, MAX_STEPS])),
                  pct_start=draw(st.floats(TINY, 1.0, exclude_max=True)),
                  anneal_strategy=draw(st.sampled_from(["cos", "linear"])), div_factor=div,
                  final_div_factor=final_div, three_phase=draw(st.booleans()))
    return sched, 0.0, max(max_lr, max_lr / div, max_lr / div / final_div)  # div_factor < 1 starts above max_lr


@st.composite
def ramp(draw):
    start = draw(positive)
    end = draw(positive)
    assume(end > start)
    return build(Ramp, start, end, num_steps=draw(st.integers(2, MAX_STEPS) | st.sampled_from([2, MAX_STEPS])),
                 kind=draw(st.sampled_from(["exp", "linear"]))), start, end


@st.composite
def chebyshev(draw):
    mu = draw(positive)
    L = draw(positive)
    mu, L = min(mu, L), max(mu, L)
    sched = build(Chebyshev, mu, L, draw(counts))  # refuses a mu whose inverse overflows
    return sched, 1 / L, 1 / mu


@st.composite
def warmup_stable_decay(draw):
    lr = draw(positive)
    min_lr = lr * draw(fraction)
    total = draw(counts)
    decay_steps = draw(st.integers(1, total) | st.sampled_from([1, total]))
    warmup_steps = draw(st.integers(0, total - decay_steps) | st.sampled_from([0, total - decay_steps]))
    sched = build(WarmupStableDecay, lr, total, warmup_steps=warmup_steps, decay_steps=decay_steps,
                  decay=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])), min_lr=min_lr)
    return sched, 0.0, lr


BASIC = st.one_of(decays(), cyclic(), warm_restarts(), one_cycle(), ramp(), chebyshev(), warmup_stable_decay())


@st.composite
def warmup(draw):
    inner, lo, hi = draw(BASIC)
    start_lr = draw(st.one_of(st.just(0.0), positive))
    return build(Warmup, inner, warmup_steps=draw(counts), start_lr=start_lr), min(lo, start_lr), max(hi, start_lr)


@st.composite
def join(draw):
    parts = draw(st.lists(BASIC, min_size=2, max_size=3))
    boundaries = sorted(draw(st.sets(st.floats(TINY, BIG) | st.sampled_from([TINY, 1.0, 1e308, BIG]),
                                     min_size=len(parts) - 1, max_size=len(parts) - 1)))
    sched = build(Join, [p[0] for p in parts], boundaries=boundaries)
    return sched, min(p[1] for p in parts), max(p[2] for p in parts)


ANY = st.one_of(BASIC, warmup(), join())


@SETTINGS
@given(case=ANY, t=step_arrays)
def test_every_valid_step_gives_a_finite_rate_within_bounds(case, t):
    sched, lo, hi = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow or an invalid operation is a failure too
        values = sched(t)
        first = sched(float(t[0]))
    assert np.all(np.isfinite(values)) and math.isfinite(first), (sched, t, values)
    slack = REL * hi + 1e-320  # a few ulps, of a subnormal rate too
    assert np.all((values >= max(lo - slack, 0.0)) & (values <= hi + slack)), (sched, t, values)


# ---------------------------------------------------------- the cases
# Each gave NaN, inf or an OverflowError at call time before.


def test_cyclic_whose_cycle_is_longer_than_the_float_range_is_refused():
    """Cyclic(.1, 1., 1e308) gave NaN: the cycle length up + down overflowed to inf."""
    with pytest.raises(ValueError, match=r"step_size_up \+ step_size_down must be"):
        Cyclic(0.1, 1.0, 1e308)
    with pytest.raises(ValueError, match=r"step_size_up \+ step_size_down must be"):
        Cyclic(0.1, 1.0, BIG / 2, step_size_down=BIG, mode="triangular2")
    longest = Cyclic(0.1, 1.0, BIG / 2, step_size_down=BIG / 2)  # the longest cycle there is
    assert longest(0) == pytest.approx(0.1) and longest(BIG / 2) == pytest.approx(1.0)
    steep = Cyclic(0.1, 1.0, 1.0, step_size_down=BIG / 2)  # one step up, then the longest fall
    assert steep(np.array([0.0, BIG / 4])) == pytest.approx([0.1, 0.55])


def test_warm_restarts_with_a_huge_t_mult_stays_in_its_second_cycle():
    """WarmRestarts(.1, 10, T_mult=1e308)(50) gave NaN: log1p(t / T_0 * (T_mult - 1)) overflowed.

    Cycle 0 is steps [0, 10), cycle 1 starts at 10 and lasts 1e309 steps: at step 50 it
    has run 40 of them, so the rate is the peak, 0.1, to 17 digits.
    """
    sched = WarmRestarts(0.1, 10, T_mult=1e308)
    assert sched(50) == pytest.approx(0.1, rel=1e-15)
    assert sched(5) == pytest.approx(0.05, rel=1e-12)  # halfway through cycle 0
    assert sched(np.array([0.0, 10.0, 1e308])) == pytest.approx([0.1, 0.1, 0.1 * (1 + math.cos(math.pi / 10)) / 2])


@pytest.mark.parametrize(("T_0", "T_mult", "t", "start", "length"), [
    # T_mult = 3, T_0 = 1: t (T_mult - 1) overflows for t > 9e307, though the cycle
    # (number 646, from (3**646 - 1) / 2 = 8.3e307, of length 3**646 = 1.6e308) does not
    (1.0, 3.0, 1.5e308, (3.0**646 - 1) / 2, 3.0**646),
    (1.0, 2.0, 1e308, 2.0**1023 - 1, 2.0**1023),  # cycle 1023 of a doubling schedule, the last one
])
def test_warm_restarts_far_out_matches_the_closed_form(T_0, T_mult, t, start, length):
    sched = WarmRestarts(1.0, T_0, T_mult=T_mult)
    expected = (1 + math.cos(math.pi * ((t - start) / length))) / 2
    assert sched(t) == pytest.approx(expected, rel=1e-12)


def test_an_exponential_ramp_across_the_whole_float_range_is_finite():
    """Ramp(1e-3, 1e308)(1) gave inf: its factor end_lr / start_lr = 1e311 overflowed, and so did its powers.

    Its rates are the geometric interpolation start_lr^(1 - s) end_lr^s, s = t / (N - 1):
    here 10^(-3 + 311 t / 31), to 12 digits, the first exactly start_lr and the last end_lr.
    """
    sched = Ramp(1e-3, 1e308, num_steps=32)  # 311 decades in 31 steps
    t = np.arange(32)
    expected = 10.0 ** (-3.0 + 311.0 * t / 31)
    np.testing.assert_allclose(sched(t), expected, rtol=1e-12)
    assert sched(31) == 1e308 and sched(1e308) == 1e308 and sched(0) == 1e-3
    assert Ramp(TINY, BIG, num_steps=3)(2) == BIG and Ramp(3.0, BIG, num_steps=2)(1) == BIG  # start * (BIG / 3) was inf
    assert Ramp(TINY, 1.0, kind="linear")(99) == 1.0


@pytest.mark.parametrize("make", [
    lambda n: CosineDecay(0.1, total_steps=n),
    lambda n: PolynomialDecay(0.1, total_steps=n),
    lambda n: StepDecay(0.1, step_size=n),
    lambda n: MultiStepDecay(0.1, milestones=[1, n]),
    lambda n: OneCycle(0.1, total_steps=n),
    lambda n: Warmup(Constant(0.1), warmup_steps=n),
    lambda n: Ramp(0.1, 1.0, num_steps=n),
    lambda n: Chebyshev(0.01, 1.0, n=n),
    lambda n: WarmupStableDecay(0.1, total_steps=n),
], ids=["CosineDecay", "PolynomialDecay", "StepDecay", "MultiStepDecay", "OneCycle", "Warmup", "Ramp", "Chebyshev",
        "WarmupStableDecay"])
def test_a_step_count_beyond_2_to_the_53_is_refused_at_construction(make):
    """CosineDecay(.1, 10**400) was accepted and raised OverflowError at every call.

    A count is used as a float64 number, exact only up to 2**53: beyond it is refused
    when the schedule is built, with the allowed range in the message.
    """
    for n in (MAX_STEPS + 1, 10**400):
        with pytest.raises(ValueError, match=f"must be .*{MAX_STEPS}"):
            make(n)
    assert math.isfinite(make(MAX_STEPS)(12345))


def test_a_join_boundary_beyond_the_float_range_is_refused():
    with pytest.raises(ValueError, match="boundaries"):
        Join([Constant(1.0), Constant(2.0)], boundaries=[10**400])  # was a TypeError from np.isfinite


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"div_factor": 1e-308}, "div_factor"),  # max_lr / div_factor = 1e308 / 1e-308 overflows
    ({"div_factor": 1.0, "final_div_factor": 1e-300}, "final_div_factor"),
])
def test_one_cycle_whose_initial_or_final_rate_overflows_is_refused(kwargs, name):
    """OneCycle(1e308, ..., div_factor=1e-308) gave NaN: its initial rate was inf."""
    with pytest.raises(ValueError, match=f"^{name} must be"):
        OneCycle(1e308, total_steps=100, **kwargs)


def test_time_decay_far_out_is_zero_without_a_warning():
    """1 + gamma t overflows to inf for gamma t > 1.8e308; its power -p is the limit, 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert TimeDecay(1e308, gamma=1e308, power=1.0)(1e308) == 0.0


def test_warmup_into_a_huge_rate_does_not_overflow_on_the_ramp():
    """Warmup(Constant(1e300), ..., start_lr=1.7e308): (target - start) * t overflowed before the division by W."""
    sched = Warmup(Constant(1e300), warmup_steps=10, start_lr=1.7e308)
    assert sched(5) == pytest.approx(1.7e308 / 2 + 1e300 / 2, rel=1e-12)


@pytest.mark.parametrize(("T_0", "T_mult"), [(7, 1.3), (3, 1.8), (13, 1.2), (7, 2.7), (15, 3.3), (10, 1.1)])
def test_warm_restarts_restart_at_the_peak_with_a_decimal_t_mult(T_0, T_mult):
    """The first restart, at t = T_0, is the peak: WarmRestarts(0.1, T_0=7, T_mult=1.3)(7) gave 0.0.

    S_1 = T_0 (T_mult - 1) / (T_mult - 1) was computed as (T_0 (T_mult - 1)) / (T_mult - 1),
    which rounds to 7.000000000000001 > 7: step 7 was taken for the end of cycle 0, its
    bottom. Dividing first gives T_0 times exactly 1.
    """
    sched = WarmRestarts(0.1, T_0=T_0, T_mult=T_mult)
    assert sched(T_0) == pytest.approx(0.1, rel=1e-12)
    assert sched(float(np.nextafter(T_0, 0))) == pytest.approx(0.0, abs=1e-15)


def test_chebyshev_across_the_whole_float_range_is_finite():
    """mu = 1e-308 and L = 1.7e308: L + mu and the rate 1/mu stay finite; the denominators never fall below mu.

    The denominator (L + mu)/2 + (L - mu)/2 cos(x) is computed as mu + (L - mu) cos^2(x/2):
    (L + mu) would overflow, and (L + mu)/2 - (L - mu)/2 rounds to 0 (a rate of inf)
    once cos(x) rounds to -1, which it does for n above about 10^8.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wide = Chebyshev(1e-308, 1.7e308, n=MAX_STEPS)
        rates = wide(np.array([0.0, MAX_STEPS - 1.0, 1e308, BIG]))
        assert np.all(np.isfinite(rates)) and np.all(rates <= 1e308 * (1 + REL))
        three = Chebyshev(1e-308, 1.7e308, n=3)  # cos^2(pi/4) = 1/2, cos^2(5 pi/12) = (1 - sqrt(3)/2)/2
        assert three(1) == pytest.approx(1 / (1.7e308 / 2), rel=1e-12)
        assert three(2) == pytest.approx(1 / (1.7e308 * (1 - math.sqrt(3) / 2) / 2), rel=1e-12)
        assert Chebyshev(1e-308, 1e-308, n=7)(6) == pytest.approx(1e308, rel=1e-15)  # mu = L: 1/mu
        assert Chebyshev(0.01, 1.0, n=10**9)(10**9 - 1) == pytest.approx(100.0, rel=1e-9)
    with pytest.raises(ValueError, match="^mu must be"):
        Chebyshev(TINY, 1.0, n=3)
