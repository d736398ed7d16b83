"""lrcourse.metrics: recalls against scikit-learn, windows on hand-made sweeps, intervals against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, recall_score

from lrcourse.metrics import (Interval, Window, balanced_accuracy, good_window, holm, holm_verdicts, paired_interval,
                              per_class_recall)


@pytest.mark.parametrize("seed", range(5))
def test_recall_and_balanced_accuracy_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 8))
    y_true = rng.integers(0, n_classes, size=200)
    y_true[:n_classes] = np.arange(n_classes)  # every class present
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, n_classes, size=200))
    expected = recall_score(y_true, y_pred, average=None, labels=np.arange(n_classes))
    np.testing.assert_allclose(per_class_recall(y_true, y_pred, n_classes), expected, rtol=0, atol=1e-15)
    assert balanced_accuracy(y_true, y_pred, n_classes) == pytest.approx(balanced_accuracy_score(y_true, y_pred),
                                                                         abs=1e-15)


def test_recall_of_many_runs_at_once_equals_one_run_at_a_time():
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 4, size=50)
    y_pred = rng.integers(0, 4, size=(3, 2, 50))
    stacked = per_class_recall(y_true, y_pred, 4)
    assert stacked.shape == (3, 2, 4)
    for i in range(3):
        for j in range(2):
            np.testing.assert_array_equal(stacked[i, j], per_class_recall(y_true, y_pred[i, j], 4))
    assert balanced_accuracy(y_true, y_pred, 4).shape == (3, 2)


def test_an_absent_class_has_no_recall_and_is_left_out_of_the_balanced_accuracy():
    recall = per_class_recall([0, 0, 1], [0, 1, 1], n_classes=3)
    assert recall[:2].tolist() == [0.5, 1.0] and np.isnan(recall[2])
    assert balanced_accuracy([0, 0, 1], [0, 1, 1], n_classes=3) == pytest.approx(0.75)


def test_a_majority_only_classifier_is_exposed():
    y_true = np.array([0] * 95 + [1] * 5)
    y_pred = np.zeros(100, dtype=int)
    assert np.mean(y_true == y_pred) == 0.95
    assert balanced_accuracy(y_true, y_pred, 2) == 0.5


@pytest.mark.parametrize("kwargs, match", [
    (dict(y_true=[0, 1], y_pred=[0, 1], n_classes=1), "n_classes"),
    (dict(y_true=[0, 2], y_pred=[0, 1], n_classes=2), r"y_true must hold labels in \[0, 1\]"),
    (dict(y_true=[0, 1], y_pred=[0, -1], n_classes=2), "y_pred must hold labels"),
    (dict(y_true=[0, 1], y_pred=[0, 1, 1], n_classes=2), "last axis"),
    (dict(y_true=[[0, 1]], y_pred=[0, 1], n_classes=2), "one-dimensional"),
    (dict(y_true=[], y_pred=[], n_classes=2), "non-empty"),
    (dict(y_true=[0.5, 1], y_pred=[0, 1], n_classes=2), "integer class labels"),
])
def test_recall_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        per_class_recall(**kwargs)


RATES = np.geomspace(1e-3, 10, 9)  # half a decade apart


def test_window_is_the_contiguous_run_around_the_best():
    scores = np.array([0.2, 0.90, 0.95, 0.96, 0.97, 0.40, 0.965, 0.1, 0.1])
    window = good_window(RATES, scores, tolerance=0.02)
    # 0.95 to 0.97 are within 0.02 of the best; the 0.965 beyond the dip does not count
    assert window == Window(float(RATES[2]), float(RATES[4]), pytest.approx(1.0), False)


def test_window_of_a_lone_best_rate_has_zero_width_and_edges_are_flagged():
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.3, 0.2, 0.1, 0.1, 0.1])
    assert good_window(RATES, scores, tolerance=0.05).decades == 0.0
    rising = np.linspace(0.5, 0.99, 9)
    window = good_window(RATES, rising, tolerance=0.2)
    assert window.at_edge and window.high == RATES[-1]
    assert window.low == RATES[np.argmax(rising >= 0.79)]


def test_window_for_a_loss_and_with_failed_runs():
    losses = np.array([2.3, 1.0, 0.30, 0.25, 0.28, np.nan, 0.26, np.inf, np.inf])
    window = good_window(RATES, losses, tolerance=0.05, higher_is_better=False)
    assert (window.low, window.high) == (float(RATES[2]), float(RATES[4]))  # the NaN run cuts the window
    assert good_window(RATES, losses, tolerance=0.0, higher_is_better=False).decades == 0.0


@pytest.mark.parametrize("rates, scores, tolerance, match", [
    ([0.1, 0.01], [1.0, 0.5], 0.1, "increasing"),
    ([0.0, 0.1], [1.0, 0.5], 0.1, "> 0"),
    ([0.01, 0.1], [1.0], 0.1, "shape"),
    ([], [], 0.1, "non-empty"),
    ([0.01, 0.1], [1.0, 0.5], -0.1, "tolerance"),
    ([0.01, 0.1], [1.0, 0.5], float("nan"), "tolerance"),
    ([0.01, 0.1], [np.nan, np.nan], 0.1, "every run failed"),
])
def test_window_rejects_bad_input(rates, scores, tolerance, match):
    with pytest.raises(ValueError, match=match):
        good_window(rates, scores, tolerance)


@pytest.mark.parametrize("seed", range(4))
def test_paired_interval_matches_scipys_paired_t_interval(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 0.3, size=6)
    b = a - rng.normal(0.2, 0.1, size=6)
    interval = paired_interval(a, b)
    expected = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert interval.low == pytest.approx(expected.low, rel=1e-12)
    assert interval.high == pytest.approx(expected.high, rel=1e-12)
    assert interval.n == 6


def test_paired_interval_verdicts():
    assert paired_interval([1.0, 1.1, 1.2], [0.0, 0.1, 0.15]).verdict() == "higher"
    assert paired_interval([0.0, 0.1, 0.15], [1.0, 1.1, 1.2]).verdict("up", "down") == "down"
    assert paired_interval([1.0, 0.0, 1.0], [0.0, 1.0, 0.5]).verdict() == "within noise"


@pytest.mark.parametrize("a, b, kwargs, match", [
    ([1.0], [0.0], {}, "at least 2"),
    ([1.0, 2.0], [0.0], {}, "same length"),
    ([1.0, np.nan], [0.0, 0.0], {}, "finite"),
    ([1.0, 2.0], [0.0, 0.0], {"confidence": 1.0}, "confidence"),
])
def test_paired_interval_rejects_bad_input(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        paired_interval(a, b, **kwargs)


def test_a_number_of_the_wrong_kind_is_a_type_error_naming_it():
    """A bool, a string or None where a number or a flag is asked for: TypeError, not a ValueError or a wrong answer.

    ``higher_is_better="no"`` was read as true, and ``confidence=None`` reached scipy.
    """
    cases = [
        (lambda: per_class_recall([0, 1], [0, 1], n_classes=True), "n_classes must be an integer >= 2, got True"),
        (lambda: good_window([0.01, 0.1], [1.0, 0.5], True), "tolerance must be a real number, got True"),
        (lambda: good_window([0.01, 0.1], [1.0, 0.5], "0.1"), "tolerance must be a real number"),
        (lambda: good_window([0.01, 0.1], [1.0, 0.5], 0.1, higher_is_better="no"),
         "higher_is_better must be True or False, got 'no'"),
        (lambda: paired_interval([1.0, 2.0], [0.0, 0.0], None), "confidence must be a real number, got None"),
    ]
    for call, match in cases:
        with pytest.raises(TypeError, match=match):
            call()


def test_numpy_scalars_are_numbers():
    """What a sweep's arrays give (np.float32, np.int64, NumPy bools) is accepted, with the same result."""
    rates, scores = [0.001, 0.01, 0.1, 1.0], [0.5, 0.94, 0.95, 0.2]
    assert good_window(rates, scores, np.float32(0.02), higher_is_better=np.bool_(True)) == good_window(
        rates, scores, 0.02)
    assert paired_interval([0.9, 0.93, 0.92], [0.9, 0.91, 0.91], np.float32(0.9)) == paired_interval(
        [0.9, 0.93, 0.92], [0.9, 0.91, 0.91], float(np.float32(0.9)))
    assert per_class_recall([0, 1, 1], [0, 1, 0], np.int64(2)).tolist() == [1.0, 0.5]


# --- the paired t test behind an interval: p-value, minimum detectable effect, Holm's correction ---


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_p_value_matches_scipys_paired_t_test(seed, confidence):
    rng = np.random.default_rng(seed)
    n = 4 + seed
    a = rng.normal(1.0, 0.3, size=n)
    b = a - rng.normal(0.1 * seed, 0.2, size=n)
    interval = paired_interval(a, b, confidence)
    assert interval.confidence == confidence
    assert interval.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-10)
    assert interval.standard_error == pytest.approx(stats.sem(a - b), rel=1e-12)
    assert (interval.p_value < 1 - confidence) == interval.excludes_zero


def test_p_value_without_spread():
    assert paired_interval([1.0, 2.0, 3.0], [0.5, 1.5, 2.5]).p_value == 0.0   # every difference 0.5: s = 0
    assert paired_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).p_value == 1.0   # every difference 0


@pytest.mark.parametrize("n", [3, 5, 10])
@pytest.mark.parametrize("power", [0.5, 0.8, 0.9])
def test_detectable_is_the_formula_with_scipys_t(n, power):
    rng = np.random.default_rng(n)
    d = rng.normal(0.0, 0.5, size=n)
    interval = paired_interval(d, np.zeros(n))
    expected = (stats.t.ppf(0.975, n - 1) + stats.t.ppf(power, n - 1)) * d.std(ddof=1) / np.sqrt(n)
    assert interval.detectable(power) == pytest.approx(expected, rel=1e-12)
    at_90 = paired_interval(d, np.zeros(n), 0.9)
    assert at_90.detectable(power) == pytest.approx(
        (stats.t.ppf(0.95, n - 1) + stats.t.ppf(power, n - 1)) * d.std(ddof=1) / np.sqrt(n), rel=1e-12)


def test_detectable_effect_is_found_about_as_often_as_the_power_says():
    """Simulate: a true difference of one MDE (from the known s) is found by the paired t test about 80 % of the time.

    The formula neglects the t distribution's noncentrality, so with 10 pairs the power is a little below 0.8.
    """
    rng = np.random.default_rng(0)
    n, sigma, trials = 10, 1.0, 20000
    mde = (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * sigma / np.sqrt(n)
    d = rng.normal(mde, sigma, size=(trials, n))
    found = stats.ttest_1samp(d, 0.0, axis=1).pvalue < 0.05
    exact = 1 - stats.nct.cdf(stats.t.ppf(0.975, n - 1), n - 1, mde * np.sqrt(n) / sigma)  # the exact power
    assert found.mean() == pytest.approx(exact, abs=0.015)
    assert 0.72 < found.mean() < 0.82


def test_holm_textbook_example():
    """p = 0.01, 0.04, 0.03, 0.005 (m = 4): sorted 0.005, 0.01, 0.03, 0.04, multiplied by 4, 3, 2, 1:
    0.02, 0.03, 0.06, 0.04, then made monotone: 0.02, 0.03, 0.06, 0.06; back in the given order."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    # at 0.05, the step-down rejects 0.005 (≤ 0.05/4) and 0.01 (≤ 0.05/3), stops at 0.03 (> 0.05/2):
    # 0.04 ≤ 0.05/1 is not rejected, since the procedure stopped before it
    assert (holm([0.01, 0.04, 0.03, 0.005]) <= 0.05).tolist() == [True, False, False, True]
    assert holm([0.3]).tolist() == [0.3]                       # one test: nothing to correct
    assert holm([0.5, 0.5, 0.5]).tolist() == [1.0, 1.0, 1.0]   # capped at 1


def step_down(p, alpha):
    """Holm's procedure as Holm wrote it, in a loop: reject in order until the first p_(j) > alpha / (m - j + 1)."""
    m = len(p)
    rejected = [False] * m
    for j, i in enumerate(sorted(range(m), key=lambda i: p[i])):
        if p[i] > alpha / (m - j):
            break
        rejected[i] = True
    return rejected


@pytest.mark.parametrize("seed", range(20))
def test_holm_properties(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.1, size=rng.integers(1, 12)) ** rng.uniform(0.5, 2)
    adjusted = holm(p)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)              # monotone in the raw p-values
    for alpha in (0.01, 0.05, 0.1):
        assert (adjusted <= alpha).tolist() == step_down(p, alpha)
    bonferroni = np.minimum(1, len(p) * p)
    assert np.all(adjusted <= bonferroni + 1e-15)            # never more conservative than Bonferroni


def test_holm_verdicts():
    strong, negative, weak = Interval(0.5, 0.2, 5), Interval(-0.5, 0.45, 5), Interval(0.1, 0.3, 5)
    assert [i.verdict() for i in (strong, negative, weak)] == ["higher", "lower", "within noise"]
    assert holm_verdicts([strong, negative, weak]) == ["higher", "within noise", "within noise"]
    assert holm_verdicts([negative]) == ["lower"]                           # a family of one keeps its verdict
    assert holm_verdicts([negative], alpha=0.2, lower="down") == ["down"]


@pytest.mark.parametrize("call, error, match", [
    (lambda: holm([]), ValueError, "p_values must be a non-empty"),
    (lambda: holm([[0.1, 0.2]]), ValueError, "p_values must be a non-empty 1-D"),
    (lambda: holm([0.1, 1.5]), ValueError, "p_values"),
    (lambda: holm(["0.1"]), TypeError, "p_values"),
    (lambda: holm_verdicts([0.01]), TypeError, "intervals"),
    (lambda: holm_verdicts([Interval(1.0, 0.5, 5)], alpha=1.0), ValueError, "alpha"),
    (lambda: Interval(1.0, 0.5, 5).detectable(power=1.0), ValueError, "power"),
])
def test_holm_and_detectable_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_noise_class_has_a_band_around_each_threshold() -> None:
    from lrcourse.metrics import Interval, noise_class, noise_words

    # half 1, band 0.25: beyond when an end clears 0 by > 0.25; within when 0 lies > 0.25 inside
    cases = {-1.26: "lower", -1.24: "edge", -0.76: "edge", -0.74: "within", 0.0: "within", 0.74: "within",
             0.76: "edge", 1.24: "edge", 1.26: "higher"}
    for mean, expected in cases.items():
        assert noise_class(Interval(mean, 1.0, 5)) == expected, mean
    # margin 0: the plain verdict, with "edge" only where an end sits exactly on 0
    assert [noise_class(Interval(m, 1.0, 5), 0.0) for m in (-1.01, -0.99, 1.0, 1.01)] == ["lower", "within", "edge",
                                                                                          "higher"]
    # where excludes_zero says "beyond", noise_class says "beyond" or "edge", never "within"; and conversely
    for mean in np.linspace(-2, 2, 401):
        interval = Interval(float(mean), 1.0, 5)
        word = noise_class(interval)
        assert (word == "within") <= (not interval.excludes_zero)
        assert (word in ("lower", "higher")) <= interval.excludes_zero
    assert noise_words(Interval(-1.1, 1.0, 5)) == "lower, at the edge of the noise"
    assert noise_words(Interval(2.0, 1.0, 5)) == "higher, beyond the noise"


def test_interval_text_formats_the_mean_and_an_unsigned_half_width() -> None:
    from lrcourse.metrics import Interval, interval_text

    assert interval_text(Interval(-0.12, 0.045, 5)) == "-0.120 ± 0.045"
    assert interval_text(Interval(0.12, 0.045, 5)) == "+0.120 ± 0.045"
    assert interval_text(Interval(0.5, 0.25, 5), "{:+.2f}") == "+0.50 ± 0.25"
    assert interval_text(Interval(1.5, 0.25, 5), "{:.2f}") == "1.50 ± 0.25"
