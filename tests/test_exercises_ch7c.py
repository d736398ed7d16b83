"""The checkers of chapter 7 part III's exercises: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse.exercises.ch7c import check_clip_threshold, check_psnr, clip_threshold_reference, psnr_reference

# ---------------------------------------------------------------- PSNR


def good_psnr(prediction, target):
    return 10 * np.log10(1.0 / np.mean((np.asarray(prediction) - np.asarray(target)) ** 2))


def test_psnr_reference_by_hand():
    target = np.array([[0.2, 0.4, 0.6], [0.8, 1.0, 0.0]])
    assert psnr_reference(target + 0.1, target) == pytest.approx(20.0, rel=1e-12)    # MSE 0.01
    assert psnr_reference(target + 0.01, target) == pytest.approx(40.0, rel=1e-12)   # MSE 1e-4
    assert psnr_reference(np.full((1, 3), 0.0), np.full((1, 3), 0.5)) == pytest.approx(10 * np.log10(4))


def test_psnr_right_answer_passes():
    assert check_psnr(good_psnr)


@pytest.mark.parametrize("wrong, what", [
    (lambda p, t: 10 * np.log(1.0 / np.mean((p - t) ** 2)), "the natural logarithm"),
    (lambda p, t: 20 * np.log10(1.0 / np.mean((p - t) ** 2)), "20 with the MSE"),
    (lambda p, t: 10 * np.log10(1.0 / np.sqrt(np.mean((p - t) ** 2))), "the RMSE with 10"),
    (lambda p, t: 10 * np.log10(1.0 / np.sum((p - t) ** 2)), "the sum, not the mean"),
    (lambda p, t: 10 * np.log10(np.mean((p - t) ** 2)), "the sign flipped"),
])
def test_psnr_wrong_answers_are_reported(wrong, what):
    result = check_psnr(wrong)
    assert not result, what
    assert "10 · log10" in result.message


def test_psnr_starter_is_not_attempted():
    def starter(prediction, target):
        raise NotImplementedError("write your code here")

    result = check_psnr(starter)
    assert not result and result.status == "not attempted"


# ---------------------------------------------------------------- the clipping threshold


def good_threshold(norms, q):
    norms = np.asarray(norms, dtype=float)
    return float(np.quantile(norms[np.isfinite(norms)], q))


def test_threshold_reference_by_hand():
    assert clip_threshold_reference(np.arange(1.0, 12.0), 0.9) == pytest.approx(10.0)
    assert clip_threshold_reference([1.0, np.nan, 3.0, np.inf], 0.5) == pytest.approx(2.0)


def test_threshold_right_answer_passes():
    assert check_clip_threshold(good_threshold)


@pytest.mark.parametrize("wrong, what", [
    (lambda n, q: float(np.quantile(n, q)), "the NaN and inf kept"),
    (lambda n, q: float(np.percentile(np.asarray(n)[np.isfinite(n)], q)), "np.percentile with a fraction"),
    (lambda n, q: float(np.mean(np.asarray(n)[np.isfinite(n)])), "the mean"),
    (lambda n, q: float(np.max(np.asarray(n)[np.isfinite(n)])), "the largest norm"),
    (lambda n, q: float(np.nanquantile(n, q)), "NaN dropped but inf kept"),
])
def test_threshold_wrong_answers_are_reported(wrong, what):
    result = check_clip_threshold(wrong)
    assert not result, what
    assert "np.isfinite" in result.message


def test_threshold_starter_is_not_attempted():
    def starter(norms, q):
        raise NotImplementedError("write your code here")

    result = check_clip_threshold(starter)
    assert not result and result.status == "not attempted"


def test_threshold_cases_hold_nonfinite_norms_and_several_quantiles():
    seen = []

    def spy(norms, q):
        seen.append((bool(np.isfinite(norms).all()), q))
        return good_threshold(norms, q)

    assert check_clip_threshold(spy)
    assert any(not finite for finite, _ in seen) and any(finite for finite, _ in seen)
    assert len({q for _, q in seen}) >= 3
