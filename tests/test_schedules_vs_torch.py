"""Compare every schedule with the trusted implementation: torch's schedulers.

torch's schedulers run on Python floats (float64). Each is driven exactly as in
a training loop (read the rate, ``optimizer.step()``, ``scheduler.step()``), so
the value recorded at index ``t`` is the rate of the update applied after
``t`` updates, which is what ``sched(t)`` means. Known convention differences
are asserted on purpose, not hidden.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler

from lrcourse.schedules import (
    Constant,
    CosineDecay,
    Cyclic,
    ExponentialDecay,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    StepDecay,
    Warmup,
    WarmRestarts,
)

RTOL = 1e-12


def _optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def torch_lrs(make_scheduler, n: int, lr: float = 1.0) -> np.ndarray:
    """The learning rate torch uses for updates 0 .. n-1."""
    optimizer = _optimizer(lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(n):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs, dtype=np.float64)


def assert_matches(ours: np.ndarray, theirs: np.ndarray, scale: float) -> None:
    # absolute slack of a few ulps of the largest rate: torch's recursive
    # updates lose the last bits of rates that decay towards zero
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-14 * scale)


# ------------------------------------------------------------------ StepLR


@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.99), (7, 0.5), (30, 0.1), (100, 0.9)])
def test_step_decay_matches_steplr(step_size, gamma):
    n = 1000
    theirs = torch_lrs(
        lambda o: lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), n, lr=0.1
    )
    ours = StepDecay(0.1, step_size=step_size, gamma=gamma)(np.arange(n))
    assert_matches(ours, theirs, 0.1)


@pytest.mark.parametrize(
    ("milestones", "gamma"),
    [((30, 80), 0.1), ((1, 2, 3, 500), 0.5), ((99, 100, 101, 299), 0.9)],
)
def test_multistep_decay_matches_multisteplr(milestones, gamma):
    n = 600
    theirs = torch_lrs(
        lambda o: lr_scheduler.MultiStepLR(o, milestones=list(milestones), gamma=gamma),
        n,
        lr=0.3,
    )
    ours = MultiStepDecay(0.3, milestones=milestones, gamma=gamma)(np.arange(n))
    assert_matches(ours, theirs, 0.3)


@pytest.mark.parametrize("gamma", [0.9, 0.99, 0.999, 1.0])
def test_exponential_decay_matches_exponentiallr(gamma):
    n = 1000
    theirs = torch_lrs(lambda o: lr_scheduler.ExponentialLR(o, gamma=gamma), n, lr=0.1)
    ours = ExponentialDecay(0.1, gamma=gamma)(np.arange(n))
    assert_matches(ours, theirs, 0.1)


@pytest.mark.parametrize(("total", "power"), [(100, 1.0), (300, 2.0), (257, 0.5), (1, 1.0)])
def test_polynomial_decay_matches_polynomiallr(total, power):
    """Including the steps after ``total_iters``, where both hold 0."""
    n = 1000
    theirs = torch_lrs(
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=total, power=power), n, lr=0.1
    )
    ours = PolynomialDecay(0.1, total_steps=total, power=power)(np.arange(n))
    assert_matches(ours, theirs, 0.1)
    assert np.all(ours[total:] == 0.0)


# --------------------------------------------------------- CosineAnnealingLR


@pytest.mark.parametrize(("total", "min_lr"), [(300, 0.0), (300, 1e-3), (1000, 0.0), (7, 0.01)])
def test_cosine_decay_matches_cosineannealinglr_within_tmax(total, min_lr):
    theirs = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=min_lr),
        total + 1,
        lr=0.1,
    )
    ours = CosineDecay(0.1, total_steps=total, min_lr=min_lr)(np.arange(total + 1))
    assert_matches(ours, theirs, 0.1)


def test_cosine_decay_holds_min_lr_where_torch_rises_again():
    """The known convention difference, asserted on purpose.

    torch's CosineAnnealingLR keeps following the cosine after ``T_max`` (the
    rate climbs back to the initial rate at ``2 * T_max``); our CosineDecay
    holds ``min_lr`` for ever.
    """
    total, lr, min_lr = 100, 0.1, 1e-3
    n = 2 * total + 1
    theirs = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=min_lr), n, lr=lr
    )
    ours = CosineDecay(lr, total_steps=total, min_lr=min_lr)(np.arange(n))

    # equal up to T_max ...
    assert_matches(ours[: total + 1], theirs[: total + 1], lr)
    # ... then ours holds min_lr ...
    np.testing.assert_allclose(ours[total:], min_lr, rtol=RTOL)
    # ... while torch's rises again, back to lr at 2 * T_max
    assert np.all(np.diff(theirs[total:]) > 0)
    assert np.all(theirs[total + 1 :] > min_lr * (1 + 1e-6))
    assert theirs[2 * total] == pytest.approx(lr, rel=1e-9)


# ----------------------------------------------- CosineAnnealingWarmRestarts


@pytest.mark.parametrize(
    ("T_0", "T_mult", "min_lr"),
    [(10, 1, 0.0), (10, 1, 1e-3), (3, 2, 0.0), (5, 2, 1e-3), (1, 2, 0.0), (4, 3, 0.0)],
)
def test_warm_restarts_matches_torch_integer_steps(T_0, T_mult, min_lr):
    n = 1000
    theirs = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=T_0, T_mult=T_mult, eta_min=min_lr
        ),
        n,
        lr=0.1,
    )
    ours = WarmRestarts(0.1, T_0=T_0, T_mult=T_mult, min_lr=min_lr)(np.arange(n))
    assert_matches(ours, theirs, 0.1)


def torch_warm_restarts_at(steps, T_0, T_mult, min_lr, lr):
    """torch's lr at (fractional) steps, through the deprecated ``step(epoch)``."""
    optimizer = _optimizer(lr)
    scheduler = lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=T_0, T_mult=T_mult, eta_min=min_lr
    )
    lrs = []
    for t in steps:
        optimizer.step()
        # Passing an epoch to step() is deprecated in torch; depending on the
        # version it warns (UserWarning), and the suite treats warnings as
        # errors, so allow it here and only here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            scheduler.step(t)
        lrs.append(optimizer.param_groups[0]["lr"])
    return np.array(lrs, dtype=np.float64)


@pytest.mark.parametrize(
    ("T_0", "T_mult", "min_lr", "iters_per_epoch", "epochs"),
    [
        (10, 1, 0.0, 7, 100),
        (3, 1, 1e-3, 4, 100),
        (3, 2, 0.0, 7, 94),
        (2, 2, 1e-3, 5, 126),
        (5, 3, 0.0, 3, 200),
    ],
)
def test_warm_restarts_matches_torch_fractional_steps(
    T_0, T_mult, min_lr, iters_per_epoch, epochs
):
    """torch's documented per-batch usage: ``scheduler.step(epoch + i / iters)``."""
    steps = [e + i / iters_per_epoch for e in range(epochs) for i in range(iters_per_epoch)]
    theirs = torch_warm_restarts_at(steps, T_0, T_mult, min_lr, lr=0.1)
    sched = WarmRestarts(0.1, T_0=T_0, T_mult=T_mult, min_lr=min_lr)
    ours = sched(np.array(steps))
    assert_matches(ours, theirs, 0.1)
    # and one scalar call per step, as a training loop would make them
    ours_scalar = np.array([sched(t) for t in steps[:: max(1, len(steps) // 97)]])
    assert_matches(ours_scalar, theirs[:: max(1, len(steps) // 97)], 0.1)


# ------------------------------------------------------------------ CyclicLR


@pytest.mark.parametrize(
    ("mode", "gamma"), [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.995)]
)
@pytest.mark.parametrize(("up", "down"), [(20, None), (20, 35), (1, 1), (50, 7)])
def test_cyclic_matches_cycliclr(mode, gamma, up, down):
    n = 1000
    theirs = torch_lrs(
        lambda o: lr_scheduler.CyclicLR(
            o,
            base_lr=0.001,
            max_lr=0.1,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=gamma,
            cycle_momentum=False,
        ),
        n,
    )
    ours = Cyclic(0.001, 0.1, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)(
        np.arange(n)
    )
    assert_matches(ours, theirs, 0.1)


# ---------------------------------------------------------------- OneCycleLR


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize(
    ("total", "pct_start", "div_factor", "final_div_factor"),
    [
        (100, 0.3, 25.0, 1e4),
        (1000, 0.25, 25.0, 1e4),
        (257, 0.1, 10.0, 100.0),
        (333, 0.45, 5.0, 1e3),
    ],
)
def test_onecycle_matches_onecyclelr(
    anneal_strategy, three_phase, total, pct_start, div_factor, final_div_factor
):
    max_lr = 0.5
    theirs = torch_lrs(
        lambda o: lr_scheduler.OneCycleLR(
            o,
            max_lr=max_lr,
            total_steps=total,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
            cycle_momentum=False,
        ),
        total,
    )
    sched = OneCycle(
        max_lr,
        total_steps=total,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )
    assert_matches(sched(np.arange(total)), theirs, max_lr)
    # after the last step torch refuses to go on; we hold the final rate.
    # (torch's linear anneal computes it as (end - start) * 1 + start, which
    # is exact only up to rounding at the scale of max_lr, hence atol.)
    final = max_lr / div_factor / final_div_factor
    assert theirs[-1] == pytest.approx(final, rel=RTOL, abs=1e-14 * max_lr)
    held = sched(np.arange(total - 1, total + 50))
    np.testing.assert_allclose(held, final, rtol=RTOL, atol=1e-14 * max_lr)
    assert np.all(held[2:] == held[1]), "OneCycle must hold one value after the end"


def test_issue_acceptance_onecycle_equals_torch():
    """The issue's acceptance check, with torch's defaults as written there."""
    optimizer = _optimizer(1.0)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=100)
    theirs = []
    for _ in range(100):
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    ours = OneCycle(1.0, 100)(np.arange(100))
    np.testing.assert_allclose(ours, np.array(theirs), rtol=RTOL, atol=1e-15)


# ------------------------------------------------------------------ LinearLR


@pytest.mark.parametrize(("start_factor", "warmup"), [(0.1, 10), (1 / 3, 7), (0.5, 1)])
def test_warmup_matches_linearlr(start_factor, warmup):
    """Warmup of a constant from ``start_lr = start_factor * lr`` is LinearLR."""
    n, lr = 300, 0.2
    theirs = torch_lrs(
        lambda o: lr_scheduler.LinearLR(o, start_factor=start_factor, total_iters=warmup),
        n,
        lr=lr,
    )
    ours = Warmup(Constant(lr), warmup_steps=warmup, start_lr=start_factor * lr)(np.arange(n))
    assert_matches(ours, theirs, lr)
