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

RATES = {"good": 0.01, "too_high_start": 0.25, "too_high_later": 0.2, "too_low": 0.001}


@pytest.fixture(scope="module")
def curves() -> dict[str, np.ndarray]:
    data = load("diabetes")
    train = data.tensors("train", "cpu")
    per_epoch = math.ceil(len(train[0]) / 16)
    result = {}
    for symptom, lr in RATES.items():
        model = MLP(data.n_features, 1, hidden=())
        history = fit(model, torch.optim.SGD(model.parameters(), lr=lr), data.loader("train", batch_size=16),
                      epochs=40, val_data=train, eval_every=per_epoch, progress=False, device="cpu")
        result[symptom] = np.array(history.val["loss"])
    return result


def test_all_runs_start_from_the_same_loss(curves):
    starts = {symptom: curve[0] for symptom, curve in curves.items()}
    assert len(set(starts.values())) == 1, starts


def test_good_rate_slides_down_and_levels_off_lowest(curves):
    good = curves["good"]
    assert good[-1] < 0.35 * good[0]
    assert np.ptp(good[-10:]) < 0.02  # levelled off
    assert good[-10:].mean() == min(c[-10:].mean() for c in curves.values())


def test_too_high_from_the_start_rises_first(curves):
    assert curves["too_high_start"][1] > curves["too_high_start"][0]


def test_too_high_later_drops_fast_then_stalls_above_the_good_run(curves):
    later, good = curves["too_high_later"], curves["good"]
    assert later[1] < good[1]  # faster than the good rate at first
    assert np.median(later[-20:]) > 1.1 * np.median(good[-20:])  # then stuck higher


def test_too_low_falls_slowly_all_the_way(curves):
    low, good = curves["too_low"], curves["good"]
    assert np.all(np.diff(low) < 0)  # always falling
    assert low[10] > 1.5 * good[10]  # but slowly
    assert low[-1] > good[-1]


def test_the_figure_draws_all_four(curves):
    ax = plot_diagnosis(curves)
    assert len(ax.get_lines()) == 4
