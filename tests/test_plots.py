"""lrcourse.plots: what each figure draws, and its errors for bad input."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from lrcourse.plots import PALETTE, plot_contours, plot_losses, plot_range_test, plot_schedules, use_book_style
from lrcourse.problems import Quadratic, Rosenbrock
from lrcourse.schedules import Constant, CosineDecay


@pytest.fixture(autouse=True)
def _clean_figures():
    with matplotlib.rc_context():
        yield
    plt.close("all")


def _labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_book_style_uses_the_colour_blind_safe_palette():
    use_book_style()
    cycle = [to_hex(c["color"]) for c in plt.rcParams["axes.prop_cycle"]]
    assert cycle == [c.lower() for c in PALETTE]


def test_plot_schedules_draws_each_closed_form():
    ax = plot_schedules({"c": Constant(0.1), "cos": CosineDecay(0.1, total_steps=9)}, 10)
    cos_line = ax.get_lines()[1]
    np.testing.assert_allclose(cos_line.get_ydata(), CosineDecay(0.1, total_steps=9)(np.arange(10)))
    with pytest.raises(ValueError, match="steps"):
        plot_schedules([Constant(0.1)], 0)


def test_plot_losses_overlays_runs_and_marks_a_diverged_one():
    losses = {"good": [4.0, 2.0, 1.0, 0.5], "bad": [4.0, 9.0, np.inf, np.nan]}
    ax = plot_losses(losses)
    assert ax.get_yscale() == "log"
    assert _labels(ax) == ["good", "bad (diverged at t = 2)"]
    bad = [line for line in ax.get_lines() if line.get_label().startswith("bad")][0]
    np.testing.assert_array_equal(bad.get_ydata(), [4.0, 9.0])  # drawn up to its last finite value
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_ydata()) == [9.0]


def test_plot_losses_takes_a_batch_of_runs_with_labels():
    ax = plot_losses(np.array([[3.0, 2.0, 1.0], [3.0, 1.0, 0.5]]), labels=["α = 0.1", "α = 0.2"], log=False)
    assert _labels(ax) == ["α = 0.1", "α = 0.2"] and ax.get_yscale() == "linear"


@pytest.mark.parametrize(
    ("losses", "kwargs", "name"),
    [
        ([1.0, 0.0], {}, "log"),
        (np.ones((2, 3)), {"labels": ["one"]}, "labels"),
        (np.ones((2, 3, 4)), {}, "losses"),
    ],
)
def test_plot_losses_bad_input(losses, kwargs, name):
    with pytest.raises(ValueError, match=name):
        plot_losses(losses, **kwargs)


def test_plot_contours_draws_the_minimum_and_truncates_a_diverged_path():
    problem = Rosenbrock()
    path = np.array([[-1.0, 1.0], [-0.5, 0.5], [np.nan, np.nan], [0.0, 0.0]])
    ax = plot_contours(problem, {"GD": path})
    (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
    assert ax.get_xlim() == (x_lo, x_hi) and ax.get_ylim() == (y_lo, y_hi)
    gd = [line for line in ax.get_lines() if line.get_label() == "GD"][0]
    np.testing.assert_array_equal(gd.get_xdata(), [-1.0, -0.5])
    star = [line for line in ax.get_lines() if line.get_label() == "minimum"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == tuple(problem.minimum)


def test_plot_contours_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        plot_contours(Quadratic(kappa=10.0, dim=3))
    with pytest.raises(ValueError, match="trajectories"):
        plot_contours(Rosenbrock(), {"bad": np.zeros((5, 3))})
    with pytest.raises(ValueError, match="levels"):
        plot_contours(Rosenbrock(), levels=1)


def test_plot_range_test_marks_rules_references_and_divergence():
    lrs = np.geomspace(1e-4, 1.0, 50)
    losses = 1.0 / (1.0 + 100 * lrs) + lrs**3
    ax = plot_range_test(lrs, losses, losses, suggestions={"minimum": 0.01, "steep": 0.003},
                         diverged_at=0.9, references={"2/L": 0.5})
    assert ax.get_xscale() == "log"
    labels = _labels(ax)
    assert labels[:2] == ["loss", "smoothed loss"]
    assert any(label.startswith("minimum") for label in labels) and any(label.startswith("2/L") for label in labels)
    assert any(label.startswith("diverged at") for label in labels)


@pytest.mark.parametrize(
    ("lrs", "losses", "name"),
    [(np.geomspace(1e-3, 1, 5), np.ones(4), "lrs and losses"), (np.linspace(-1, 1, 5), np.ones(5), "positive")],
)
def test_plot_range_test_bad_input(lrs, losses, name):
    with pytest.raises(ValueError, match=name):
        plot_range_test(lrs, losses)


def test_plot_diagnosis_draws_each_symptom_in_the_seeds_colour_with_its_remedy():
    from lrcourse.plots import DIAGNOSES, plot_diagnosis

    curves = {"too_low": [2.0, 1.9, 1.8], "good": [2.0, 1.0, 0.5], "too_high_start": [2.0, 3.0, np.nan]}
    ax = plot_diagnosis(curves)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert len(lines) == 3
    for key in curves:
        colour, diagnosis, remedy = DIAGNOSES[key]
        label = f"{diagnosis}\n    remedy: {remedy}"
        assert to_hex(lines[label].get_color()) == colour.lower()
    red = lines[f"{DIAGNOSES['too_high_start'][1]}\n    remedy: {DIAGNOSES['too_high_start'][2]}"]
    np.testing.assert_array_equal(red.get_ydata(), [2.0, 3.0])  # cut at the first non-finite loss
    assert [line.get_label() for line in ax.get_lines()][0].startswith("good")  # the seed's order


def test_plot_diagnosis_bad_input():
    from lrcourse.plots import plot_diagnosis

    with pytest.raises(ValueError, match="curves"):
        plot_diagnosis({"fine": [1.0, 0.5]})
    with pytest.raises(ValueError, match="curves"):
        plot_diagnosis({})
    with pytest.raises(ValueError, match="1-D"):
        plot_diagnosis({"good": np.ones((2, 2))})
