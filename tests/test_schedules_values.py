"""Every schedule at step 0, at each boundary, boundary - 1, boundary + 1 and its last step.

The expected values are worked out by hand and written as literal arithmetic,
so that each case can be checked with a pencil (``0.1 * 0.5**2`` rather than
a call to the code under test). Boundaries are where bugs live: each case list
names the boundaries it probes.

Conventions pinned here (see the API notes in ``lrcourse.schedules``):

* ``sched(t)`` is the rate for the update applied after ``t`` updates, so
  ``sched(0)`` is the rate of the very first update;
* decays that end (``PolynomialDecay``, ``CosineDecay``, ``OneCycle``) hold
  their final value after the end;
* a boundary belongs to the segment that *starts* there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.problems import Quadratic
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

SQRT2_2 = math.sqrt(2) / 2  # cos(pi/4)
SQRT3_2 = math.sqrt(3) / 2  # cos(pi/6)

# Each entry: (id, zero-argument factory, [(step, expected value), ...]).
# Factories (not instances) so that a constructor bug fails one test, not
# the collection of the whole file.
CASES = [
    # ---------------------------------------------------------------- Constant
    (
        "Constant",
        lambda: Constant(0.1),
        [(0, 0.1), (1, 0.1), (2.5, 0.1), (1_000_000, 0.1)],
    ),
    # --------------------------------------------------------------- TimeDecay
    (
        "TimeDecay-power1",
        lambda: TimeDecay(0.1, gamma=0.5),
        [
            (0, 0.1),
            (1, 0.1 / 1.5),
            (2, 0.1 / 2.0),
            (3, 0.1 / 2.5),
            (2.5, 0.1 / 2.25),
            (10, 0.1 / 6.0),
        ],
    ),
    (
        "TimeDecay-power2",
        lambda: TimeDecay(0.1, gamma=0.5, power=2.0),
        [
            (0, 0.1),
            (2, 0.1 / 2.0**2),
            (3, 0.1 / 2.5**2),
            (6, 0.1 / 4.0**2),
        ],
    ),
    (
        "TimeDecay-power0.5",
        lambda: TimeDecay(1.0, gamma=1.0, power=0.5),
        [(0, 1.0), (3, 1.0 / 2.0), (8, 1.0 / 3.0), (99, 1.0 / 10.0)],
    ),
    (
        "TimeDecay-gamma0",
        lambda: TimeDecay(0.1, gamma=0.0),
        [(0, 0.1), (1, 0.1), (1000, 0.1)],
    ),
    # --------------------------------------------------------------- StepDecay
    # boundaries at 10, 20, 30; last step probed: 30
    (
        "StepDecay",
        lambda: StepDecay(0.1, step_size=10, gamma=0.5),
        [
            (0, 0.1),
            (1, 0.1),
            (9, 0.1),
            (9.5, 0.1),
            (10, 0.1 * 0.5),
            (11, 0.1 * 0.5),
            (19, 0.1 * 0.5),
            (20, 0.1 * 0.5**2),
            (21, 0.1 * 0.5**2),
            (29, 0.1 * 0.5**2),
            (30, 0.1 * 0.5**3),
        ],
    ),
    (
        "StepDecay-default-gamma",
        lambda: StepDecay(1.0, step_size=3),
        [(0, 1.0), (2, 1.0), (3, 0.1), (5, 0.1), (6, 0.1**2), (7, 0.1**2)],
    ),
    (
        "StepDecay-step_size1",
        lambda: StepDecay(1.0, step_size=1, gamma=0.5),
        [(0, 1.0), (0.5, 1.0), (1, 0.5), (2, 0.25), (10, 0.5**10)],
    ),
    # ---------------------------------------------------------- MultiStepDecay
    # boundaries at 30 and 80; last step probed: 100
    (
        "MultiStepDecay",
        lambda: MultiStepDecay(0.1, milestones=(30, 80)),
        [
            (0, 0.1),
            (29, 0.1),
            (29.5, 0.1),
            (30, 0.1 * 0.1),
            (31, 0.1 * 0.1),
            (79, 0.1 * 0.1),
            (80, 0.1 * 0.1**2),
            (81, 0.1 * 0.1**2),
            (100, 0.1 * 0.1**2),
        ],
    ),
    (
        "MultiStepDecay-adjacent-milestones",
        lambda: MultiStepDecay(1.0, milestones=[1, 2, 5], gamma=0.5),
        [
            (0, 1.0),
            (1, 0.5),
            (2, 0.25),
            (3, 0.25),
            (4, 0.25),
            (5, 0.125),
            (6, 0.125),
        ],
    ),
    # -------------------------------------------------------- ExponentialDecay
    (
        "ExponentialDecay",
        lambda: ExponentialDecay(0.1, gamma=0.9),
        [
            (0, 0.1),
            (1, 0.1 * 0.9),
            (2, 0.1 * 0.9**2),
            (2.5, 0.1 * 0.9**2.5),
            (10, 0.1 * 0.9**10),
            (100, 0.1 * 0.9**100),
        ],
    ),
    (
        "ExponentialDecay-gamma1",
        lambda: ExponentialDecay(0.1, gamma=1.0),
        [(0, 0.1), (1, 0.1), (1000, 0.1)],
    ),
    # --------------------------------------------------------- PolynomialDecay
    # boundary (end of decay) at 100; last steps probed: 101, 1000
    (
        "PolynomialDecay-power2-min_lr",
        lambda: PolynomialDecay(0.1, total_steps=100, power=2.0, min_lr=0.01),
        [
            (0, 0.1),
            (1, 0.01 + 0.09 * 0.99**2),
            (50, 0.01 + 0.09 * 0.5**2),
            (99, 0.01 + 0.09 * 0.01**2),
            (100, 0.01),
            (101, 0.01),
            (1000, 0.01),
        ],
    ),
    (
        "PolynomialDecay-linear",
        lambda: PolynomialDecay(1.0, total_steps=4),
        [
            (0, 1.0),
            (1, 0.75),
            (2, 0.5),
            (2.5, 0.375),
            (3, 0.25),
            (4, 0.0),
            (5, 0.0),
            (40, 0.0),
        ],
    ),
    (
        "PolynomialDecay-sqrt",
        lambda: PolynomialDecay(2.0, total_steps=4, power=0.5),
        [(0, 2.0), (3, 2.0 * 0.5), (4, 0.0), (5, 0.0)],
    ),
    # ------------------------------------------------------------- CosineDecay
    (
        "CosineDecay-T4",
        lambda: CosineDecay(1.0, total_steps=4),
        [
            (0, 1.0),
            (1, (1 + SQRT2_2) / 2),
            (2, 0.5),
            (3, (1 - SQRT2_2) / 2),
            (4, 0.0),
            (5, 0.0),
            (100, 0.0),
        ],
    ),
    (
        "CosineDecay-T6-min_lr",
        lambda: CosineDecay(0.5, total_steps=6, min_lr=0.1),
        [
            (0, 0.5),
            (1, 0.1 + 0.4 * (1 + SQRT3_2) / 2),
            (2, 0.1 + 0.4 * 0.75),
            (3, 0.1 + 0.4 * 0.5),
            (4, 0.1 + 0.4 * 0.25),
            (5, 0.1 + 0.4 * (1 - SQRT3_2) / 2),
            (6, 0.1),
            (7, 0.1),
            (60, 0.1),
        ],
    ),
    (
        "CosineDecay-min_lr-equals-lr",
        lambda: CosineDecay(0.3, total_steps=10, min_lr=0.3),
        [(0, 0.3), (5, 0.3), (10, 0.3), (11, 0.3)],
    ),
    # ------------------------------------------------------------------ Cyclic
    # triangular, up 4, down 6: peak at 4, cycle ends at 10, next peak at 14
    (
        "Cyclic-triangular-asymmetric",
        lambda: Cyclic(0.1, 1.0, step_size_up=4, step_size_down=6),
        [
            (0, 0.1),
            (1, 0.1 + 0.9 * 1 / 4),
            (2, 0.1 + 0.9 * 2 / 4),
            (3, 0.1 + 0.9 * 3 / 4),
            (4, 1.0),
            (5, 0.1 + 0.9 * 5 / 6),
            (7, 0.1 + 0.9 * 3 / 6),
            (9, 0.1 + 0.9 * 1 / 6),
            (10, 0.1),
            (11, 0.1 + 0.9 * 1 / 4),
            (13, 0.1 + 0.9 * 3 / 4),
            (14, 1.0),
            (15, 0.1 + 0.9 * 5 / 6),
            (20, 0.1),
        ],
    ),
    # step_size_down=None means step_size_down = step_size_up
    (
        "Cyclic-triangular-symmetric",
        lambda: Cyclic(0.1, 1.0, step_size_up=4),
        [
            (0, 0.1),
            (2, 0.1 + 0.9 * 0.5),
            (3, 0.1 + 0.9 * 0.75),
            (4, 1.0),
            (5, 0.1 + 0.9 * 0.75),
            (6, 0.1 + 0.9 * 0.5),
            (7, 0.1 + 0.9 * 0.25),
            (8, 0.1),
            (9, 0.1 + 0.9 * 0.25),
            (12, 1.0),
            (16, 0.1),
        ],
    ),
    # triangular2: the amplitude halves at the start of each cycle (8, 16)
    (
        "Cyclic-triangular2",
        lambda: Cyclic(0.1, 1.0, step_size_up=4, mode="triangular2"),
        [
            (0, 0.1),
            (3, 0.1 + 0.9 * 3 / 4),
            (4, 1.0),
            (5, 0.1 + 0.9 * 3 / 4),
            (7, 0.1 + 0.9 * 1 / 4),
            (8, 0.1),
            (9, 0.1 + 0.9 * 0.5 * 1 / 4),
            (11, 0.1 + 0.9 * 0.5 * 3 / 4),
            (12, 0.1 + 0.9 * 0.5),
            (13, 0.1 + 0.9 * 0.5 * 3 / 4),
            (15, 0.1 + 0.9 * 0.5 * 1 / 4),
            (16, 0.1),
            (17, 0.1 + 0.9 * 0.25 * 1 / 4),
            (20, 0.1 + 0.9 * 0.25),
        ],
    ),
    # exp_range: the amplitude is scaled by gamma**t at every step t
    (
        "Cyclic-exp_range",
        lambda: Cyclic(0.1, 1.0, step_size_up=4, mode="exp_range", gamma=0.9),
        [
            (0, 0.1),
            (1, 0.1 + 0.9 * 1 / 4 * 0.9**1),
            (2, 0.1 + 0.9 * 2 / 4 * 0.9**2),
            (3, 0.1 + 0.9 * 3 / 4 * 0.9**3),
            (4, 0.1 + 0.9 * 0.9**4),
            (5, 0.1 + 0.9 * 3 / 4 * 0.9**5),
            (6, 0.1 + 0.9 * 2 / 4 * 0.9**6),
            (8, 0.1),
            (9, 0.1 + 0.9 * 1 / 4 * 0.9**9),
            (12, 0.1 + 0.9 * 0.9**12),
        ],
    ),
    # a long run of short cycles: at step 2049 the amplitude is 0.5**1024,
    # below the smallest normal float; the rate is base_lr (2**1024 overflows,
    # so an implementation that divides by 2**(cycle - 1) must not warn)
    (
        "Cyclic-triangular2-long-run",
        lambda: Cyclic(0.1, 1.0, step_size_up=1, mode="triangular2"),
        [
            (0, 0.1),
            (1, 1.0),
            (3, 0.1 + 0.9 * 0.5),
            (21, 0.1 + 0.9 * 0.5**10),
            (2047, 0.1 + 0.9 * 0.5**1023),
            (2049, 0.1 + 0.9 * 0.5**1024),
            (5001, 0.1 + 0.9 * 0.5**2500),
            (10**6, 0.1),
        ],
    ),
    (
        "Cyclic-base-equals-max",
        lambda: Cyclic(0.5, 0.5, step_size_up=3),
        [(0, 0.5), (3, 0.5), (4, 0.5), (6, 0.5)],
    ),
    # --------------------------------------------------------------- Chebyshev
    # mu = 1, L = 3: the centre (L + mu)/2 = 2 and the half-width (L - mu)/2 = 1, so the
    # rate of step t is 1 / (2 + cos(pi (2k + 1) / (2n))) with k = t mod n.
    # n = 2: cos(pi/4) = +sqrt(2)/2 then cos(3 pi/4) = -sqrt(2)/2; boundaries: the last
    # step of a cycle (1) and the wrap (2), a fractional step takes the step below it.
    (
        "Chebyshev-n2",
        lambda: Chebyshev(mu=1.0, L=3.0, n=2),
        [
            (0, 1 / (2 + SQRT2_2)),
            (1, 1 / (2 - SQRT2_2)),
            (2, 1 / (2 + SQRT2_2)),
            (3, 1 / (2 - SQRT2_2)),
            (2.5, 1 / (2 + SQRT2_2)),
            (1_000_001, 1 / (2 - SQRT2_2)),
        ],
    ),
    # n = 3: cos(pi/6) = sqrt(3)/2, cos(pi/2) = 0, cos(5 pi/6) = -sqrt(3)/2
    (
        "Chebyshev-n3",
        lambda: Chebyshev(mu=1.0, L=3.0, n=3),
        [
            (0, 1 / (2 + SQRT3_2)),
            (1, 1 / 2),
            (2, 1 / (2 - SQRT3_2)),
            (3, 1 / (2 + SQRT3_2)),
            (5, 1 / (2 - SQRT3_2)),
            (6, 1 / (2 + SQRT3_2)),
        ],
    ),
    # n = 1: cos(pi/2) = 0, the rate 2/(mu + L) = 1/2 at every step
    ("Chebyshev-n1", lambda: Chebyshev(mu=1.0, L=3.0, n=1), [(0, 0.5), (1, 0.5), (7.5, 0.5), (10**9, 0.5)]),
    # mu = L: the half-width is 0, every rate is 1/L
    ("Chebyshev-mu=L", lambda: Chebyshev(mu=4.0, L=4.0, n=5), [(0, 0.25), (4, 0.25), (5, 0.25)]),
    # ------------------------------------------------------------ WarmRestarts
    # T_0 = 4: restarts at 4, 8
    (
        "WarmRestarts-T4",
        lambda: WarmRestarts(1.0, T_0=4),
        [
            (0, 1.0),
            (1, (1 + SQRT2_2) / 2),
            (2, 0.5),
            (3, (1 - SQRT2_2) / 2),
            (4, 1.0),
            (5, (1 + SQRT2_2) / 2),
            (7, (1 - SQRT2_2) / 2),
            (8, 1.0),
            (9, (1 + SQRT2_2) / 2),
        ],
    ),
    # T_0 = 6 with min_lr: restarts at 6, 12
    (
        "WarmRestarts-T6-min_lr",
        lambda: WarmRestarts(0.5, T_0=6, min_lr=0.1),
        [
            (0, 0.5),
            (2, 0.1 + 0.4 * 0.75),
            (3, 0.1 + 0.4 * 0.5),
            (5, 0.1 + 0.4 * (1 - SQRT3_2) / 2),
            (6, 0.5),
            (7, 0.1 + 0.4 * (1 + SQRT3_2) / 2),
            (11, 0.1 + 0.4 * (1 - SQRT3_2) / 2),
            (12, 0.5),
        ],
    ),
    # T_0 = 2, T_mult = 2: cycles [0, 2), [2, 6), [6, 14), [14, 30)
    (
        "WarmRestarts-T_mult2",
        lambda: WarmRestarts(1.0, T_0=2, T_mult=2),
        [
            (0, 1.0),
            (1, 0.5),
            (2, 1.0),
            (3, (1 + SQRT2_2) / 2),
            (4, 0.5),
            (5, (1 - SQRT2_2) / 2),
            (6, 1.0),
            (7, (1 + math.cos(math.pi / 8)) / 2),
            (10, 0.5),
            (13, (1 + math.cos(7 * math.pi / 8)) / 2),
            (14, 1.0),
            (15, (1 + math.cos(math.pi / 16)) / 2),
            (22, 0.5),
            (29, (1 + math.cos(15 * math.pi / 16)) / 2),
            (30, 1.0),
        ],
    ),
    # the seed's "reset to 0.8x the initial value": peaks 1.0, 0.8, 0.64, ...
    (
        "WarmRestarts-restart_decay",
        lambda: WarmRestarts(1.0, T_0=4, restart_decay=0.8),
        [
            (0, 1.0),
            (2, 0.5),
            (3, (1 - SQRT2_2) / 2),
            (4, 0.8),
            (5, 0.8 * (1 + SQRT2_2) / 2),
            (6, 0.8 * 0.5),
            (7, 0.8 * (1 - SQRT2_2) / 2),
            (8, 0.8**2),
            (10, 0.8**2 * 0.5),
            (12, 0.8**3),
        ],
    ),
    # peak_i = min_lr + (lr - min_lr) * restart_decay**i, cycles [0,2), [2,6), [6,14)
    (
        "WarmRestarts-restart_decay-min_lr-T_mult2",
        lambda: WarmRestarts(1.0, T_0=2, T_mult=2, min_lr=0.1, restart_decay=0.8),
        [
            (0, 1.0),
            (1, 0.1 + 0.9 * 0.5),
            (2, 0.1 + 0.9 * 0.8),
            (4, 0.1 + 0.9 * 0.8 * 0.5),
            (5, 0.1 + 0.9 * 0.8 * (1 - SQRT2_2) / 2),
            (6, 0.1 + 0.9 * 0.8**2),
            (10, 0.1 + 0.9 * 0.8**2 * 0.5),
            (14, 0.1 + 0.9 * 0.8**3),
        ],
    ),
    # fractional T_0: restarts at 2.5, 5, 7.5
    (
        "WarmRestarts-fractional-T_0",
        lambda: WarmRestarts(1.0, T_0=2.5),
        [
            (0, 1.0),
            (1.25, 0.5),
            (2, (1 + math.cos(math.pi * 2 / 2.5)) / 2),
            (2.5, 1.0),
            (3, (1 + math.cos(math.pi * 0.5 / 2.5)) / 2),
            (3.75, 0.5),
            (5, 1.0),
            (7.5, 1.0),
        ],
    ),
    # fractional T_mult: cycles of length 2, 3, 4.5 -> restarts at 2, 5, 9.5
    (
        "WarmRestarts-fractional-T_mult",
        lambda: WarmRestarts(1.0, T_0=2, T_mult=1.5),
        [
            (0, 1.0),
            (1, 0.5),
            (2, 1.0),
            (3.5, 0.5),
            (4, (1 + math.cos(math.pi * 2 / 3)) / 2),
            (5, 1.0),
            (6, (1 + math.cos(math.pi * 1 / 4.5)) / 2),
            (7.25, 0.5),
            (9, (1 + math.cos(math.pi * 4 / 4.5)) / 2),
            (9.5, 1.0),
            (10, (1 + math.cos(math.pi * 0.5 / 6.75)) / 2),
        ],
    ),
    # fractional steps inside a cycle
    (
        "WarmRestarts-fractional-steps",
        lambda: WarmRestarts(1.0, T_0=4),
        [
            (0.5, (1 + math.cos(math.pi / 8)) / 2),
            (3.5, (1 + math.cos(7 * math.pi / 8)) / 2),
            (4.5, (1 + math.cos(math.pi / 8)) / 2),
        ],
    ),
    # ---------------------------------------------------------------- OneCycle
    # max_lr 1, T 100: initial 1/25 = 0.04, final 0.04/1e4 = 4e-6.
    # torch's phase ends: 0.3*100 - 1 = 29 and 100 - 1 = 99.
    (
        "OneCycle-cos",
        lambda: OneCycle(1.0, total_steps=100),
        [
            (0, 0.04),
            (1, 0.04 + (1.0 - 0.04) * (1 - math.cos(math.pi * 1 / 29)) / 2),
            (28, 0.04 + (1.0 - 0.04) * (1 - math.cos(math.pi * 28 / 29)) / 2),
            (29, 1.0),
            (30, 4e-6 + (1.0 - 4e-6) * (1 + math.cos(math.pi * 1 / 70)) / 2),
            (64, 4e-6 + (1.0 - 4e-6) * 0.5),
            (98, 4e-6 + (1.0 - 4e-6) * (1 + math.cos(math.pi * 69 / 70)) / 2),
            (99, 4e-6),
            (100, 4e-6),
            (101, 4e-6),
            (1000, 4e-6),
        ],
    ),
    (
        "OneCycle-linear",
        lambda: OneCycle(1.0, total_steps=100, anneal_strategy="linear"),
        [
            (0, 0.04),
            (10, 0.04 + 0.96 * 10 / 29),
            (28, 0.04 + 0.96 * 28 / 29),
            (29, 1.0),
            (30, 1.0 - (1.0 - 4e-6) * 1 / 70),
            (64, 1.0 - (1.0 - 4e-6) * 35 / 70),
            (98, 1.0 - (1.0 - 4e-6) * 69 / 70),
            (99, 4e-6),
            (100, 4e-6),
        ],
    ),
    # three phases: ends at 29, 2*30 - 2 = 58, 99
    (
        "OneCycle-three_phase-linear",
        lambda: OneCycle(1.0, total_steps=100, anneal_strategy="linear", three_phase=True),
        [
            (0, 0.04),
            (28, 0.04 + 0.96 * 28 / 29),
            (29, 1.0),
            (30, 1.0 - 0.96 * 1 / 29),
            (57, 1.0 - 0.96 * 28 / 29),
            (58, 0.04),
            (59, 0.04 - (0.04 - 4e-6) * 1 / 41),
            (98, 0.04 - (0.04 - 4e-6) * 40 / 41),
            (99, 4e-6),
            (100, 4e-6),
        ],
    ),
    (
        "OneCycle-three_phase-cos",
        lambda: OneCycle(1.0, total_steps=100, three_phase=True),
        [
            (0, 0.04),
            (29, 1.0),
            (30, 0.04 + 0.96 * (1 + math.cos(math.pi * 1 / 29)) / 2),
            (58, 0.04),
            (59, 4e-6 + (0.04 - 4e-6) * (1 + math.cos(math.pi * 1 / 41)) / 2),
            (99, 4e-6),
            (100, 4e-6),
        ],
    ),
    # a fractional phase end: 0.25*10 - 1 = 1.5; div 10 -> initial 0.2,
    # final div 100 -> final 0.002
    (
        "OneCycle-fractional-phase-end",
        lambda: OneCycle(
            2.0,
            total_steps=10,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
        ),
        [
            (0, 0.2),
            (1, 0.2 + 1.8 * 1 / 1.5),
            (2, 2.0 - (2.0 - 0.002) * 0.5 / 7.5),
            (8, 2.0 - (2.0 - 0.002) * 6.5 / 7.5),
            (9, 0.002),
            (10, 0.002),
        ],
    ),
    # ------------------------------------------------------------------ Warmup
    # warm up over 4 steps from 0 to CosineDecay(1, 6)(0) = 1, then the cosine
    # restarted at 0; the cosine ends at 4 + 6 = 10
    (
        "Warmup-cosine",
        lambda: Warmup(CosineDecay(1.0, total_steps=6), warmup_steps=4),
        [
            (0, 0.0),
            (1, 0.25),
            (2, 0.5),
            (3, 0.75),
            (3.5, 0.875),
            (4, 1.0),
            (5, (1 + SQRT3_2) / 2),
            (6, 0.75),
            (9, (1 - SQRT3_2) / 2),
            (10, 0.0),
            (11, 0.0),
        ],
    ),
    (
        "Warmup-start_lr",
        lambda: Warmup(Constant(0.5), warmup_steps=5, start_lr=0.1),
        [
            (0, 0.1),
            (1, 0.1 + 0.4 * 1 / 5),
            (2.5, 0.1 + 0.4 * 0.5),
            (4, 0.1 + 0.4 * 4 / 5),
            (5, 0.5),
            (6, 0.5),
            (500, 0.5),
        ],
    ),
    # warmup_steps=1: only step 0 is warmed (at start_lr)
    (
        "Warmup-one-step",
        lambda: Warmup(ExponentialDecay(1.0, gamma=0.5), warmup_steps=1, start_lr=0.2),
        [(0, 0.2), (0.5, 0.2 + 0.8 * 0.5), (1, 1.0), (2, 0.5), (3, 0.25)],
    ),
    # -------------------------------------------------------------------- Join
    # boundaries at 10 and 20
    (
        "Join-three",
        lambda: Join(
            [Constant(0.1), ExponentialDecay(0.05, gamma=0.5), Constant(0.001)],
            boundaries=[10, 20],
        ),
        [
            (0, 0.1),
            (9, 0.1),
            (9.5, 0.1),
            (10, 0.05),
            (10.5, 0.05 * 0.5**0.5),
            (11, 0.05 * 0.5),
            (19, 0.05 * 0.5**9),
            (20, 0.001),
            (21, 0.001),
            (1000, 0.001),
        ],
    ),
    # a linear decay joined with a cosine, boundary at 5
    (
        "Join-polynomial-cosine",
        lambda: Join(
            [PolynomialDecay(1.0, total_steps=5), CosineDecay(1.0, total_steps=4)],
            boundaries=[5],
        ),
        [
            (0, 1.0),
            (4, 0.2),
            (5, 1.0),
            (6, (1 + SQRT2_2) / 2),
            (9, 0.0),
            (10, 0.0),
        ],
    ),
    # a Join of one schedule has no boundaries and is that schedule
    (
        "Join-single",
        lambda: Join([StepDecay(1.0, step_size=2, gamma=0.5)], boundaries=[]),
        [(0, 1.0), (1, 1.0), (2, 0.5), (4, 0.25)],
    ),
    # composition: Join inside Warmup
    (
        "Warmup-of-Join",
        lambda: Warmup(
            Join([Constant(1.0), Constant(0.1)], boundaries=[3]), warmup_steps=2
        ),
        [(0, 0.0), (1, 0.5), (2, 1.0), (4, 1.0), (5, 0.1), (6, 0.1)],
    ),
    # ------------------------------------------------------- WarmupStableDecay
    # W = 2, T = 10, D = 4: warmup 0..1, stable 2..5, cooldown 6..9, floor from 10
    # (more cases, each decay shape, in tests/test_wsd.py)
    (
        "WarmupStableDecay-linear",
        lambda: WarmupStableDecay(1.0, total_steps=10, warmup_steps=2, decay_steps=4),
        [(0, 0.0), (1, 0.5), (2, 1.0), (5, 1.0), (6, 1.0), (7, 0.75), (9, 0.25), (10, 0.0), (11, 0.0)],
    ),
    (
        "WarmupStableDecay-1-sqrt-min_lr",
        lambda: WarmupStableDecay(1.0, total_steps=10, warmup_steps=2, decay_steps=4, decay="1-sqrt", min_lr=0.2),
        [(0, 0.0), (1, 0.5), (2, 1.0), (6, 1.0), (7, 0.2 + 0.8 * 0.5), (9, 0.2 + 0.8 * (1 - math.sqrt(0.75))),
         (10, 0.2), (11, 0.2)],
    ),
]


def _flatten(cases):
    for name, factory, points in cases:
        for step, expected in points:
            yield pytest.param(factory, step, expected, id=f"{name}-t={step}")


@pytest.mark.parametrize(("factory", "step", "expected"), list(_flatten(CASES)))
def test_scalar_value(factory, step, expected):
    sched = factory()
    got = sched(step)
    assert type(got) is float
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("factory", "points"),
    [pytest.param(factory, points, id=name) for name, factory, points in CASES],
)
def test_array_values(factory, points):
    """The same boundary cases, all in one array call (the np.where paths)."""
    sched = factory()
    steps = np.array([float(s) for s, _ in points])
    expected = np.array([e for _, e in points])
    got = sched(steps)
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.float64
    assert got.shape == steps.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("factory", "points"),
    [
        pytest.param(factory, points, id=name)
        for name, factory, points in CASES
        if all(float(s).is_integer() for s, _ in points)
    ],
)
def test_integer_array_values(factory, points):
    """Integer arrays (what ``np.arange(T)`` gives) agree with the hand values."""
    sched = factory()
    steps = np.array([int(s) for s, _ in points], dtype=np.int64)
    expected = np.array([e for _, e in points])
    got = sched(steps)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------- conventions


def test_first_update_uses_step_zero_warmup_is_start_lr():
    """Step 0 is the first update; a warmup from start_lr=0 gives it rate 0, on purpose.

    This is optax's convention for a linear warmup from init_value=0, and the one
    Warmup documents. nanoGPT had it too (learning_rate * it / warmup_iters, 0 at
    it = 0) and moved away from it: issue #443 found the first update wasted, and pull
    request #578 made the rate (it + 1) / (warmup_iters + 1), non-zero from iteration 0.
    Warmup gives that convention with start_lr = peak / (W + 1) (the next test).
    """
    sched = Warmup(Constant(1.0), warmup_steps=10)
    assert sched(0) == 0.0 and sched(1) == pytest.approx(0.1) and sched(10) == 1.0
    assert Warmup(Constant(1.0), warmup_steps=10, start_lr=0.25)(0) == 0.25


def test_warmup_gives_nanogpt_get_lr_with_start_lr_peak_over_w_plus_1():
    """nanoGPT's get_lr after karpathy/nanoGPT#578, written out, against Warmup(CosineDecay).

    Every iteration from 0 to past lr_decay_iters, so that iteration 0, the end of the
    warmup (W - 1, W, W + 1) and the floor after lr_decay_iters are all compared.
    """
    learning_rate, min_lr, warmup_iters, lr_decay_iters = 6e-4, 6e-5, 20, 200

    def get_lr(it):  # nanoGPT's train.py, as of #578
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    sched = Warmup(CosineDecay(learning_rate, total_steps=lr_decay_iters - warmup_iters, min_lr=min_lr),
                   warmup_steps=warmup_iters, start_lr=learning_rate / (warmup_iters + 1))
    its = np.arange(260)
    np.testing.assert_allclose(sched(its), [get_lr(it) for it in its], rtol=1e-12, atol=0)
    assert sched(0) > 0  # every update counts


def test_decays_hold_their_floor_after_the_end():
    assert PolynomialDecay(1.0, total_steps=10, min_lr=0.25)(10**6) == pytest.approx(0.25)
    assert CosineDecay(1.0, total_steps=10, min_lr=0.25)(10**6) == pytest.approx(0.25)
    assert OneCycle(1.0, total_steps=10)(10**6) == pytest.approx(1.0 / 25.0 / 1e4)
    assert WarmupStableDecay(1.0, total_steps=10, min_lr=0.25)(10**6) == pytest.approx(0.25)


def test_milestones_stored_as_tuple():
    assert MultiStepDecay(0.1, milestones=[3, 7]).milestones == (3, 7)


def test_join_schedules_stored_as_tuple():
    a, b = Constant(0.1), Constant(0.2)
    assert Join([a, b], boundaries=[5]).schedules == (a, b)


def test_default_arguments():
    """The defaults the book relies on."""
    assert StepDecay(1.0, step_size=1)(1) == pytest.approx(0.1)
    assert MultiStepDecay(1.0, milestones=(1,))(1) == pytest.approx(0.1)
    assert TimeDecay(1.0, gamma=1.0)(1) == pytest.approx(0.5)
    assert PolynomialDecay(1.0, total_steps=2)(1) == pytest.approx(0.5)
    assert CosineDecay(1.0, total_steps=2)(2) == pytest.approx(0.0, abs=1e-15)
    assert WarmRestarts(1.0, T_0=2)(2) == pytest.approx(1.0)
    assert Cyclic(0.1, 1.0, step_size_up=2)(4) == pytest.approx(0.1)
    assert Warmup(Constant(1.0), warmup_steps=2)(1) == pytest.approx(0.5)
    one = OneCycle(1.0, total_steps=100)
    assert (one.pct_start, one.anneal_strategy, one.three_phase) == (0.3, "cos", False)
    assert (one.div_factor, one.final_div_factor) == (25.0, 1e4)


# --------------------------------------------------- Chebyshev on a quadratic


@pytest.mark.parametrize(("kappa", "n"), [(10.0, 4), (100.0, 16), (100.0, 40), (1000.0, 25)])
def test_one_chebyshev_cycle_reaches_the_chebyshev_bound_on_a_quadratic(kappa, n):
    """After one cycle of n steps the relative error is at most 1/T_n((κ+1)/(κ-1)) <= 2 q^n.

    Gradient descent at the rates of one cycle multiplies the eigen-coordinate of
    curvature λ by p_n(λ) = prod_k (1 - α_k λ), the scaled Chebyshev polynomial
    T_n((L + μ - 2λ)/(L - μ)) / T_n((κ+1)/(κ-1)). The bounds are computed here from
    their closed forms, not from the schedule: 1/T_n(x) = 1/cosh(n arccosh x) and
    2 q^n with q = (√κ - 1)/(√κ + 1). The bowl's curvatures include μ and L, where
    |T_n| = 1: there |p_n| is the bound itself.
    """
    bowl = Quadratic(kappa=kappa, L=1.0, dim=60)
    sched = Chebyshev(mu=bowl.mu, L=bowl.L, n=n)
    theta = np.asarray(bowl.x0, dtype=np.float64)
    start = np.linalg.norm(theta)
    for rate in sched(np.arange(n)):
        theta = theta - rate * bowl.grad(theta)
    error = np.linalg.norm(theta) / start
    q = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    one_over_t_n = 1 / math.cosh(n * math.acosh((kappa + 1) / (kappa - 1)))
    assert one_over_t_n <= 2 * q**n
    assert error <= one_over_t_n * (1 + 1e-9)
    # the polynomial itself, at every curvature of the bowl: exactly the scaled T_n
    lam = bowl.eigenvalues
    p_n = np.prod(1 - np.outer(sched(np.arange(n)), lam), axis=0)
    x = np.clip((bowl.L + bowl.mu - 2 * lam) / (bowl.L - bowl.mu), -1, 1)  # T_n(x) = cos(n arccos x) on [-1, 1]
    np.testing.assert_allclose(p_n, np.cos(n * np.arccos(x)) * one_over_t_n, rtol=1e-6, atol=1e-12 * one_over_t_n)
    assert np.max(np.abs(p_n)) == pytest.approx(one_over_t_n, rel=1e-6)
    # and a constant rate, even the best one, is far behind after the same n steps
    assert error < bowl.contraction(bowl.lr_optimal) ** n


def test_chebyshev_cycle_repeats_and_the_second_cycle_squares_the_bound():
    """The schedule is periodic in n; two cycles give at most (1/T_n)^2."""
    sched = Chebyshev(mu=0.01, L=1.0, n=12)
    t = np.arange(12)
    np.testing.assert_array_equal(sched(t + 12), sched(t))
    np.testing.assert_array_equal(sched(t + 12 * 10**6), sched(t))
    bowl = Quadratic(kappa=100.0, dim=30)
    theta = np.asarray(bowl.x0, dtype=np.float64)
    for rate in sched(np.arange(24)):
        theta = theta - rate * bowl.grad(theta)
    one_over_t_n = 1 / math.cosh(12 * math.acosh(101 / 99))
    assert np.linalg.norm(theta) / np.linalg.norm(bowl.x0) <= one_over_t_n**2 * (1 + 1e-9)
