"""``WarmupStableDecay``: hand values at every boundary, and transformers' ``get_wsd_schedule``.

The boundaries of a schedule with warmup W, total T and cooldown D are 0, W - 1, W,
W + 1 (warmup into stable), S - 1, S, S + 1 with S = T - D (stable into decay),
T - 1 (the last update), T and T + 1 (the floor, held). Each is written as pencil
arithmetic. transformers is not a dependency: its ``_get_wsd_scheduler_lambda`` is
typed below from its formula (transformers/optimization.py, the version with
``warmup_type`` and ``decay_type``), as the reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.schedules import CosineDecay, WarmupStableDecay

WSD = WarmupStableDecay


def transformers_wsd_factor(step: int, *, warmup: int, stable: int, decay: int, decay_type: str,
                            min_lr_ratio: float) -> float:
    """transformers' WSD multiplier (linear warmup, ``num_cycles=0.5``), typed from its formula."""
    if step < warmup:
        progress = step / max(1, warmup)
        return max(0.0, progress * (1.0 - min_lr_ratio) + min_lr_ratio)  # from min_lr_ratio, not 0
    if step < warmup + stable:
        return 1.0
    if step < warmup + stable + decay:
        progress = (step - warmup - stable) / max(1, decay)
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))
        else:  # "1-sqrt"
            factor = 1.0 - math.sqrt(progress)
        return max(0.0, factor * (1.0 - min_lr_ratio) + min_lr_ratio)
    return min_lr_ratio


# (id, factory, [(step, expected)]): W = 4, T = 20, D = 8, so S = 12.
CASES = [
    ("linear", lambda: WSD(2.0, total_steps=20, warmup_steps=4, decay_steps=8),
     [(0, 0.0), (1, 0.5), (3, 1.5), (4, 2.0), (5, 2.0), (11, 2.0), (12, 2.0), (13, 2.0 * 7 / 8),
      (16, 2.0 * 4 / 8), (19, 2.0 * 1 / 8), (20, 0.0), (21, 0.0), (10**9, 0.0), (2.5, 1.25), (12.5, 2.0 * 15 / 16)]),
    ("cosine-min_lr", lambda: WSD(2.0, total_steps=20, warmup_steps=4, decay_steps=8, decay="cosine", min_lr=0.5),
     [(0, 0.0), (1, 0.5), (3, 1.5), (4, 2.0), (11, 2.0), (12, 2.0),
      (13, 0.5 + 1.5 * (1 + math.cos(math.pi / 8)) / 2), (16, 0.5 + 1.5 * 0.5),
      (19, 0.5 + 1.5 * (1 + math.cos(7 * math.pi / 8)) / 2), (20, 0.5), (21, 0.5)]),
    ("1-sqrt", lambda: WSD(2.0, total_steps=20, warmup_steps=4, decay_steps=8, decay="1-sqrt"),
     [(0, 0.0), (4, 2.0), (11, 2.0), (12, 2.0), (13, 2.0 * (1 - math.sqrt(1 / 8))), (14, 2.0 * 0.5),
      (19, 2.0 * (1 - math.sqrt(7 / 8))), (20, 0.0), (21, 0.0)]),
    ("no-warmup", lambda: WSD(1.0, total_steps=10, decay_steps=2),
     [(0, 1.0), (1, 1.0), (7, 1.0), (8, 1.0), (9, 0.5), (10, 0.0), (11, 0.0)]),
    ("no-stable", lambda: WSD(1.0, total_steps=6, warmup_steps=2, decay_steps=4),  # W = S
     [(0, 0.0), (1, 0.5), (2, 1.0), (3, 0.75), (5, 0.25), (6, 0.0)]),
    ("all-decay", lambda: WSD(1.0, total_steps=4, decay_steps=4),  # PolynomialDecay(1.0, 4)
     [(0, 1.0), (1, 0.75), (2, 0.5), (3, 0.25), (4, 0.0)]),
    ("one-step", lambda: WSD(1.0, total_steps=1),  # D defaults to 1
     [(0, 1.0), (1, 0.0), (2, 0.0)]),
    ("min_lr-equals-lr", lambda: WSD(0.3, total_steps=10, warmup_steps=2, decay_steps=3, min_lr=0.3),
     [(0, 0.0), (1, 0.15), (2, 0.3), (8, 0.3), (10, 0.3), (11, 0.3)]),
]


@pytest.mark.parametrize(("factory", "step", "expected"), [
    pytest.param(factory, step, expected, id=f"{name}-t={step}")
    for name, factory, points in CASES for step, expected in points])
def test_boundary_values_by_hand(factory, step, expected):
    got = factory()(step)
    assert type(got) is float
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("factory", "points"), [pytest.param(f, p, id=n) for n, f, p in CASES])
def test_array_call_gives_the_same_values(factory, points):
    steps = np.array([s for s, _ in points], dtype=np.float64)
    np.testing.assert_allclose(factory()(steps), [e for _, e in points], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("decay", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize(("total", "warmup", "decay_steps"), [(100, 10, 20), (50, 0, 50), (37, 5, 1), (7, 6, 1)])
def test_agrees_with_transformers_get_wsd_schedule_when_min_lr_is_0(decay, total, warmup, decay_steps):
    lr = 0.3
    sched = WSD(lr, total_steps=total, warmup_steps=warmup, decay_steps=decay_steps, decay=decay)
    steps = np.arange(total + 5)
    expected = [lr * transformers_wsd_factor(int(t), warmup=warmup, stable=total - warmup - decay_steps,
                                             decay=decay_steps, decay_type=decay, min_lr_ratio=0.0) for t in steps]
    np.testing.assert_allclose(sched(steps), expected, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("decay", ["linear", "cosine", "1-sqrt"])
def test_with_min_lr_agrees_with_transformers_after_the_warmup_and_differs_in_it_on_purpose(decay):
    """transformers warms up from min_lr; this schedule from 0 (Hägele et al., MiniCPM)."""
    lr, min_lr, total, warmup, decay_steps = 0.4, 0.1, 60, 10, 15
    sched = WSD(lr, total_steps=total, warmup_steps=warmup, decay_steps=decay_steps, decay=decay, min_lr=min_lr)
    steps = np.arange(total + 5)
    expected = np.array([lr * transformers_wsd_factor(int(t), warmup=warmup, stable=total - warmup - decay_steps,
                                                      decay=decay_steps, decay_type=decay, min_lr_ratio=min_lr / lr)
                         for t in steps])
    got = sched(steps)
    np.testing.assert_allclose(got[warmup:], expected[warmup:], rtol=1e-13)
    assert got[0] == 0.0 and expected[0] == pytest.approx(min_lr)
    np.testing.assert_allclose(got[:warmup], lr * steps[:warmup] / warmup, rtol=1e-13)


def test_the_reference_can_fail():
    """A deliberately wrong variant (cooldown starting one step late) is caught by the comparison."""
    sched = WSD(0.3, total_steps=40, warmup_steps=4, decay_steps=10, decay="1-sqrt")
    late = [0.3 * transformers_wsd_factor(t, warmup=4, stable=27, decay=10, decay_type="1-sqrt", min_lr_ratio=0.0)
            for t in range(45)]
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(sched(np.arange(45)), late, rtol=1e-13, atol=1e-16)


def test_all_decay_linear_is_polynomial_decay_and_cosine_is_cosine_decay():
    from lrcourse.schedules import PolynomialDecay

    t = np.arange(0, 40, 0.5)
    np.testing.assert_allclose(WSD(0.7, 30, decay_steps=30, min_lr=0.1)(t),
                               PolynomialDecay(0.7, 30, min_lr=0.1)(t), rtol=1e-14)
    np.testing.assert_allclose(WSD(0.7, 30, decay_steps=30, decay="cosine", min_lr=0.1)(t),
                               CosineDecay(0.7, 30, min_lr=0.1)(t), rtol=1e-14)


def test_the_stable_phase_does_not_depend_on_the_horizon():
    """What lets a cooldown branch off one constant-rate run: two horizons share the stable prefix."""
    short = WSD(0.5, total_steps=100, warmup_steps=10, decay_steps=20, decay="1-sqrt")
    long = WSD(0.5, total_steps=300, warmup_steps=10, decay_steps=20, decay="1-sqrt")
    t = np.arange(80)
    assert np.array_equal(short(t), long(t))
    np.testing.assert_array_equal(short(np.arange(80, 101)), long(np.arange(280, 301)))


@pytest.mark.parametrize(("total", "expected"), [(1, 1), (2, 1), (4, 1), (7, 1), (8, 2), (10, 2), (12, 2), (13, 3),
                                                 (100, 20), (1001, 200), (1003, 201)])
def test_decay_steps_defaults_to_a_fifth_of_the_run_rounded(total, expected):
    assert WSD(1.0, total_steps=total).decay_steps == expected
    assert WSD(1.0, total_steps=total).decay == "linear"


def test_defaults_and_repr():
    sched = WSD(0.1, total_steps=50)
    assert (sched.warmup_steps, sched.decay_steps, sched.decay, sched.min_lr) == (0, 10, "linear", 0.0)
    assert repr(sched) == "WarmupStableDecay(lr=0.1, total_steps=50, warmup_steps=0, decay_steps=10, " \
                          "decay='linear', min_lr=0.0)"


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(total_steps=10, warmup_steps=5, decay_steps=6), "decay_steps"),  # W + D > T
    (dict(total_steps=10, warmup_steps=9), "warmup_steps"),  # the default D = 2 does not fit
    (dict(total_steps=10, warmup_steps=10, decay_steps=1), "warmup_steps"),
    (dict(total_steps=10, decay_steps=0), "decay_steps"),
    (dict(total_steps=10, decay_steps=11), "decay_steps"),
    (dict(total_steps=0), "total_steps"),
    (dict(total_steps=10, decay="sqrt"), "decay"),
    (dict(total_steps=10, decay="Cosine"), "decay"),
    (dict(total_steps=10, min_lr=0.2), "min_lr"),
    (dict(total_steps=10, warmup_steps=-1), "warmup_steps"),
])
def test_phases_that_do_not_fit_are_refused_by_name(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        WSD(0.1, **kwargs)


def test_largest_values_are_finite():
    sched = WSD(1.7e308, total_steps=2**53, warmup_steps=2**52, decay="1-sqrt", min_lr=1e308)
    values = sched(np.array([0.0, 1.0, 2.0**52, 2.0**53 - 1, 2.0**53, 1.7e308]))
    assert np.all(np.isfinite(values)) and values[0] == 0.0 and values[2] == 1.7e308 and values[-1] == 1e308
