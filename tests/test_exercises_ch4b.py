"""The checkers of chapter 4 part II: right answers pass, the usual wrong ones get a useful report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrcourse.exercises.ch4b import (
    check_clip_global_norm,
    check_layer_rates,
    clip_global_norm_reference,
    layer_rates_reference,
)

# ------------------------------------------------------------ clip by global norm


def good_clip(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return [g * scale for g in grads], norm


def test_clip_right_answers_pass():
    assert check_clip_global_norm(good_clip)
    # the same through torch's own function, on copies of the arrays
    def via_torch(grads, max_norm):
        params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        return [p.grad.numpy() for p in params], float(norm)
    assert check_clip_global_norm(via_torch)


def test_clip_reference_agrees_with_torch_on_a_hand_case():
    flat, norm = clip_global_norm_reference([np.array([[3.0, 0.0]]), np.array([4.0])], 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(flat, np.array([3.0, 0.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)


def per_array(grads, max_norm):  # each array clipped on its own: not the global norm
    out = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]
    return out, float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def by_value(grads, max_norm):  # clamping entries is a different rule
    return [np.clip(g, -max_norm, max_norm) for g in grads], float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def always_scale(grads, max_norm):  # rescales small gradients up to the threshold too
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    return [g * max_norm / (norm + 1e-6) for g in grads], norm


def norm_after(grads, max_norm):  # returns the norm after clipping
    clipped, _ = good_clip(grads, max_norm)
    return clipped, float(np.sqrt(sum(np.sum(g * g) for g in clipped)))


def no_eps(grads, max_norm):  # c / ||g||: NaN on the zero gradient, a hair off elsewhere
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return [g * min(1.0, max_norm / norm) for g in grads], norm


def in_place(grads, max_norm):
    clipped, norm = good_clip(grads, max_norm)
    for g, c in zip(grads, clipped):
        g[...] = c
    return grads, norm


@pytest.mark.parametrize("wrong, expected", [
    (per_array, "disagrees with the reference"),
    (by_value, "disagrees with the reference"),
    (always_scale, "disagrees with the reference"),
    (norm_after, "its output number 2"),
    (no_eps, "disagrees with the reference"),
    (in_place, "changed in place"),
    (lambda grads, max_norm: good_clip(grads, max_norm)[0], "return a pair"),
    (lambda grads, max_norm: (np.concatenate([g.ravel() for g in grads]), 1.0), "must be a list"),
    (lambda grads, max_norm: ([g.ravel() for g in grads], 1.0), "has shape"),
])
def test_clip_wrong_answers_are_reported(wrong, expected):
    result = check_clip_global_norm(wrong)
    assert not result
    assert expected in result.message
    assert "Hint:" in result.message


def test_clip_starter_reports_not_implemented():
    def starter(grads, max_norm):
        raise NotImplementedError("write your code here")

    result = check_clip_global_norm(starter)
    assert not result and result.status == "not attempted" and "not attempted yet" in result.message


def test_clip_cases_cover_above_below_and_zero():
    seen = []

    def spy(grads, max_norm):
        clipped, norm = good_clip(grads, max_norm)
        seen.append((norm, max_norm))
        return clipped, norm

    assert check_clip_global_norm(spy)
    assert any(norm > c for norm, c in seen) and any(0 < norm < c for norm, c in seen)
    assert any(norm == 0 for norm, _ in seen)


# --------------------------------------------------------------- layer rates


def good_rates(lr, decay, n_layers, freeze):
    layers = np.arange(n_layers)
    return np.where(layers < freeze, 0.0, lr * float(decay) ** -(n_layers - 1.0 - layers))


def test_layer_rates_reference_is_ulmfit():
    np.testing.assert_allclose(layer_rates_reference(0.01, 2.6, 3, 0), [0.01 / 2.6**2, 0.01 / 2.6, 0.01], rtol=1e-15)
    np.testing.assert_array_equal(layer_rates_reference(1e-3, 10.0, 4, 2)[:2], [0.0, 0.0])
    assert layer_rates_reference(0.5, 3.0, 1, 0).tolist() == [0.5]


def test_layer_rates_right_answer_passes():
    assert check_layer_rates(good_rates)


@pytest.mark.parametrize("wrong, what", [
    (lambda lr, d, n, f: np.array([lr * d ** -l for l in range(n)]), "reversed: the input layer gets lr"),
    (lambda lr, d, n, f: np.array([lr * d ** -(n - l) for l in range(n)]), "off by one: the top layer gets lr / decay"),
    (lambda lr, d, n, f: good_rates(lr, d, n, 0), "freezing ignored"),
    (lambda lr, d, n, f: np.array([lr / (d * (n - 1 - l)) if l < n - 1 else lr for l in range(n)]), "linear, not geometric"),
    (lambda lr, d, n, f: good_rates(lr, d, n, f)[::-1], "output first"),
])
def test_layer_rates_usual_mistakes_fail(wrong, what):
    result = check_layer_rates(wrong)
    assert not result, what
    assert "Hint:" in result.message


@pytest.mark.parametrize("checker, good", [(check_clip_global_norm, good_clip), (check_layer_rates, good_rates)])
def test_the_number_of_cases_and_the_seed_can_be_chosen(checker, good):
    assert checker(good, n=1).message.endswith("on all 1 random cases.")
    assert checker(good, n=40, seed=7).message.endswith("on all 40 random cases.")
    with pytest.raises(ValueError, match="n must be"):
        checker(good, n=0)
