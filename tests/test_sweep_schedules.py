"""sweep with one schedule per run: the same numbers as one sweep per schedule, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrcourse.torch.models import MLP
from lrcourse.numpy import SGD
from lrcourse.problems import NoisyQuadratic
from lrcourse.schedules import Constant, CosineDecay, Cyclic, OneCycle, WarmRestarts
from lrcourse.sweep import ScaledSchedule, sweep
from lrcourse.torch import sweep_model

SCHEDULES = [Constant(0.3), CosineDecay(0.5, total_steps=40), Cyclic(0.05, 0.5, step_size_up=7),
             OneCycle(0.6, total_steps=40), WarmRestarts(0.5, T_0=10, restart_decay=0.8)]


def test_scaled_schedules_give_each_run_its_own_rate():
    rates = ScaledSchedule(np.array([1.0, 2.0, 1.0, 1.0, 1.0]), tuple(SCHEDULES))
    for t in (0, 7, 10, 39):
        expected = [s(t) for s in SCHEDULES]
        expected[1] *= 2.0
        np.testing.assert_array_equal(rates(t), expected)


def test_schedules_side_by_side_match_one_sweep_each_on_a_problem():
    problem = NoisyQuadratic(kappa=10.0, dim=5, noise=0.1)
    together = sweep(problem, SGD, lr=1.0, momentum=0.5, schedule=SCHEDULES, steps=40, seed=3)
    assert together.K == len(SCHEDULES)
    for k, schedule in enumerate(SCHEDULES):
        alone = sweep(problem, SGD, lr=[1.0], momentum=0.5, schedule=schedule, steps=40, seed=3)
        # absolute tolerance scaled to the starting loss: near the minimum only rounding is left
        np.testing.assert_allclose(together.losses[k], alone.losses[0], rtol=1e-12, atol=1e-12 * alone.losses[0, 0])


def test_schedules_side_by_side_match_one_sweep_each_on_a_model():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 6, generator=g), torch.randint(0, 3, (64,), generator=g)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16, shuffle=True)
    model = MLP(6, 3, hidden=(8,), seed=1).double()
    data = [(a.double(), b) for a, b in loader]
    together = sweep_model(model, SGD, lr=[1.0, 0.5, 2.0, 1.0, 1.0], schedule=SCHEDULES, steps=30, data=data,
                     device="cpu")
    for k, (lr, schedule) in enumerate(zip([1.0, 0.5, 2.0, 1.0, 1.0], SCHEDULES)):
        alone = sweep_model(model, SGD, lr=[lr], schedule=schedule, steps=30, data=data, device="cpu")
        np.testing.assert_allclose(together.losses[k], alone.losses[0], rtol=1e-10)
    np.testing.assert_array_equal(together.lr, [1.0, 0.5, 2.0, 1.0, 1.0])


@pytest.mark.parametrize(("schedule", "lr", "match"), [
    ([], 1.0, "non-empty list"),
    ([Constant(0.1), 0.5], 1.0, "non-empty list"),
    ([Constant(0.1), Constant(0.2)], [1.0, 2.0, 3.0], "one schedule per run"),
    ("cosine", 1.0, "schedule must be"),
])
def test_bad_schedules_are_clear_errors(schedule, lr, match):
    with pytest.raises(ValueError, match=match):
        sweep(NoisyQuadratic(), SGD, lr=lr, schedule=schedule, steps=3)
