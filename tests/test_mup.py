"""μP for the course's MLP: WidthMLP's parametrizations, mup_param_groups' rates, and a coordinate check.

The coordinate check (Yang et al., 2022, Section 4 and their ``mup`` package's
``coord_check``): train WidthMLPs of widths 32 … 1024 for a few steps at one base rate
and measure the typical coordinate size (root mean square) of every layer's output and
of its change. Under μP none of them depends on the width; under the standard
parametrization the change of the last hidden layer and of the output grows with it.
Measured here (float64, 3 seeds, ratio width 1024 / width 32 of [h1, h2, Δh1, Δh2, Δf]):
SGD μP [0.99 1.06 0.98 0.79 0.76], SP [0.99 1.06 0.19 4.2 7.2]; Adam μP [0.99 1.06 1.01
0.96 0.87], SP [0.99 1.06 0.76 4.3 7.6].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrcourse.torch.models import WidthMLP
from lrcourse.torch.param_groups import mup_param_groups

WIDTHS = (32, 64, 128, 256, 512, 1024)
RATES = {"sgd": 0.1, "adam": 1e-2}


def coordinates(model: WidthMLP, optimizer: str, steps: int = 4) -> list[float]:
    """Return the RMS of [h_1, h_2] after the steps and of [Δh_1, Δh_2, Δf], on a fixed batch (float64)."""
    g = torch.Generator().manual_seed(100)
    X = torch.randn(64, 16, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (64,), generator=g)
    model = model.double()
    groups = mup_param_groups(model, RATES[optimizer], optimizer, verbose=False)
    opt = torch.optim.SGD(groups) if optimizer == "sgd" else torch.optim.Adam(groups)
    with torch.no_grad():
        before = model.activations(X)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    with torch.no_grad():
        after = model.activations(X)
    rms = [a.pow(2).mean().sqrt().item() for a in after[:-1]]
    return rms + [(b - a).pow(2).mean().sqrt().item() for a, b in zip(before, after)]


def coordinate_check(parametrization: str, optimizer: str, *, rescale_readout: bool = True) -> np.ndarray:
    """Return the coordinates of :func:`coordinates` by width (rows), averaged over 3 seeds."""
    rows = []
    for width in WIDTHS:
        runs = []
        for seed in range(3):
            model = WidthMLP(16, 4, width=width, parametrization=parametrization, base_width=32, seed=seed)
            if not rescale_readout:  # the deliberately wrong variant: μP's multiplier without MuReadout's init
                with torch.no_grad():
                    model.layers[-1].weight.div_(math.sqrt(model.width_mult))
            runs.append(coordinates(model, optimizer))
        rows.append(np.mean(runs, axis=0))
    return np.array(rows)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_coordinates_do_not_depend_on_the_width_under_mup(optimizer: str, one_torch_thread: None) -> None:
    table = coordinate_check("mup", optimizer)
    ratio = table[-1] / table[0]
    assert np.all((ratio > 0.6) & (ratio < 1.5)), ratio


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_change_grows_with_the_width_under_the_standard_parametrization(optimizer: str,
                                                                           one_torch_thread: None) -> None:
    table = coordinate_check("standard", optimizer)
    ratio = table[-1] / table[0]
    assert ratio[3] > 3 and ratio[4] > 5, ratio  # Δh_2 and Δf: the updates grow with the width
    assert table[-1, 4] > 2 * table[2, 4], table[:, 4]  # and still from width 128 to 1024


def test_the_check_fails_without_the_readouts_initialisation(one_torch_thread: None) -> None:
    """μP's output multiplier with the readout left at variance 1/n: the input layer's change shrinks with n."""
    ratio = coordinate_check("mup", "sgd", rescale_readout=False)
    ratio = ratio[-1] / ratio[0]
    assert ratio[2] < 0.4, ratio


def test_at_the_base_width_mup_is_the_standard_parametrization() -> None:
    sp, mup = (WidthMLP(10, 3, width=32, depth=3, parametrization=p, base_width=32, seed=4)
               for p in ("standard", "mup"))
    for a, b in zip(sp.parameters(), mup.parameters()):
        assert torch.equal(a, b)
    x = torch.randn(7, 10)
    assert torch.equal(sp(x), mup(x))
    for optimizer in ("sgd", "adam"):
        assert all(g["lr_scale"] == 1 for g in mup_param_groups(mup, 0.1, optimizer, verbose=False))


def test_the_initialisation_and_the_output_multiplier() -> None:
    sp, mup = (WidthMLP(10, 3, width=512, parametrization=p, base_width=32, seed=1) for p in ("standard", "mup"))
    m = 16.0
    assert mup.width_mult == sp.width_mult == m and mup.output_multiplier == 1 / m and sp.output_multiplier == 1
    for i, (a, b) in enumerate(zip(sp.layers, mup.layers)):  # the same draws; the readout's times sqrt(m)
        assert torch.allclose(b.weight, a.weight * (math.sqrt(m) if i == 2 else 1.0), rtol=1e-6)
        assert not a.bias.detach().any()
    std = [layer.weight.detach().std().item() * math.sqrt(layer.in_features) for layer in sp.layers]
    assert np.allclose(std, 1.0, atol=0.1)  # N(0, 1/fan_in)
    assert abs(mup.layers[2].weight.detach().std().item() * math.sqrt(32) - 1) < 0.1  # N(0, 1/n_0)
    x = torch.randn(5, 10)
    h = F.relu(mup.layers[1](F.relu(mup.layers[0](x))))
    assert torch.allclose(mup(x), (h @ mup.layers[2].weight.T + mup.layers[2].bias) / m, atol=1e-6)
    assert [a.shape for a in mup.activations(x)] == [(5, 512), (5, 512), (5, 3)]


def test_the_groups_have_the_rates_of_the_mup_package() -> None:
    model = WidthMLP(8, 2, width=128, depth=3, parametrization="mup", base_width=32)  # m = 4
    expected = {  # (SGD, Adam) factors by hand, from MuSGD and MuAdam
        "layers.0.weight": (4, 1), "layers.0.bias": (4, 1),
        "layers.1.weight": (1, 0.25), "layers.1.bias": (4, 1),
        "layers.2.weight": (1, 0.25), "layers.2.bias": (4, 1),
        "layers.3.weight": (4, 1), "layers.3.bias": (1, 1),
    }
    for column, optimizer in enumerate(("sgd", "adam")):
        groups = mup_param_groups(model, 0.02, optimizer, weight_decay=0.1, verbose=False)
        assert {g["name"]: g["lr_scale"] for g in groups} == {k: v[column] for k, v in expected.items()}
        assert all(math.isclose(g["lr"], 0.02 * g["lr_scale"]) and g["weight_decay"] == 0.1 for g in groups)
        ids = [id(p) for g in groups for p in g["params"]]
        assert sorted(ids) == sorted(id(p) for p in model.parameters())  # every parameter once
    standard = WidthMLP(8, 2, width=128, depth=3, parametrization="standard", base_width=32)
    assert all(g["lr_scale"] == 1 for g in mup_param_groups(standard, 0.02, "sgd", verbose=False))


def test_the_groups_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    mup_param_groups(WidthMLP(8, 2, width=64, parametrization="mup"), 0.01, "adam")
    out = capsys.readouterr().out
    assert "layers.1.weight" in out and "0.005" in out and "trainable" in out


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: WidthMLP(4, 2, parametrization="ntk"), ValueError, "parametrization"),
    (lambda: WidthMLP(4, 2, width=0), ValueError, "width"),
    (lambda: WidthMLP(4, 2, depth=0), ValueError, "depth"),
    (lambda: WidthMLP(4, 2, base_width=0), ValueError, "base_width"),
    (lambda: mup_param_groups(WidthMLP(4, 2), 0.1, "lion"), ValueError, "optimizer"),
    (lambda: mup_param_groups(WidthMLP(4, 2), 0.0), ValueError, "lr"),
    (lambda: mup_param_groups(torch.nn.Linear(4, 2), 0.1), TypeError, "model"),
])
def test_bad_input(call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()
