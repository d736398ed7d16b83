"""The seed's loss-curve diagnosis, from real runs: each chosen rate shows its symptom.

A linear model trained by minibatch SGD (batches of 16) on scikit-learn's bundled
diabetes data, for which full-batch gradient descent is stable below 2/L ≈ 0.24. The
curve is the full training loss at every epoch boundary, starting before the first
update. These are the runs behind :func:`lrcourse.plots.plot_diagnosis`'s figure in
the book; the test keeps the rates honest.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lrcourse.torch.data import load
from lrcourse.torch.models import MLP
from lrcourse.plots import plot_diagnosis
from lrcourse.torch.training import fit

RATES = {"good": 0.01, "too_high_start": 0.3, "too_high_later": 0.2, "too_low": 0.001}
SEEDS = (0, 1, 2)  # batch orders; chapter 1 shows seven, from the same initial weights


@pytest.fixture(scope="module")
def runs() -> dict[str, list]:
    data = load("diabetes")
    train = data.tensors("train", "cpu")
    per_epoch = math.ceil(len(train[0]) / 16)
    result: dict[str, list] = {}
    for symptom, lr in RATES.items():
        for seed in SEEDS:
            model = MLP(data.n_features, 1, hidden=())
            history = fit(model, torch.optim.SGD(model.parameters(), lr=lr), data.loader("train", batch_size=16),
                          epochs=40, val_data=train, eval_every=per_epoch, seed=seed, progress=False, device="cpu")
            result.setdefault(symptom, []).append(history)
    return result


@pytest.fixture(scope="module")
def curves(runs) -> dict[str, list[np.ndarray]]:
    return {symptom: [np.array(h.val["loss"]) for h in histories] for symptom, histories in runs.items()}


def test_all_runs_start_from_the_same_loss(curves):
    starts = {float(curve[0]) for runs in curves.values() for curve in runs}
    assert len(starts) == 1, starts


def test_good_rate_slides_down_and_levels_off_lowest(curves):
    for k, good in enumerate(curves["good"]):
        assert good[-1] < 0.35 * good[0]
        assert np.ptp(good[-10:]) < 0.02  # levelled off
        others = [runs[k][-10:].mean() for symptom, runs in curves.items() if symptom != "too_high_start"]
        assert good[-10:].mean() == min(others)


def test_too_high_from_the_start_rises_at_once_then_diverges(runs, curves):
    for history, curve in zip(runs["too_high_start"], curves["too_high_start"]):
        assert curve[1] > curve[0]  # the loss rises in the first epoch
        assert history.diverged  # and the run ends in NaN or inf, as chapter 1 shows


def test_too_high_later_drops_fast_then_stalls_above_the_good_run(runs, curves):
    for history, later, good in zip(runs["too_high_later"], curves["too_high_later"], curves["good"]):
        assert not history.diverged
        assert later[1] < good[1]  # faster than the good rate at first
        assert np.median(later[-20:]) > 1.1 * np.median(good[-20:])  # then stuck higher


def test_too_low_falls_slowly_all_the_way(curves):
    for low, good in zip(curves["too_low"], curves["good"]):
        assert np.all(np.diff(low) < 0)  # always falling
        assert low[10] > 1.5 * good[10]  # but slowly
        assert low[-1] > good[-1]


def test_the_figure_draws_all_four(curves):
    ax = plot_diagnosis({symptom: runs[0] for symptom, runs in curves.items()})
    assert len(ax.get_lines()) == 4
