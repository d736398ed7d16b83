"""μP for the course's MLP: WidthMLP's parametrizations, mup_param_groups' rates, and a coordinate check.

The coordinate check (Yang et al., 2022, Section 4 and their ``mup`` package's
``coord_check``): train WidthMLPs of widths 32 … 1024 for a few steps at one base rate
and measure the typical coordinate size (root mean square) of every layer's output and
of its change. Under μP none of them depends on the width; under the standard
parametrization the change of the last hidden layer and of the output grows with it.
Measured here (float64, 3 seeds, ratio width 1024 / width 32 of [h1, h2, Δh1, Δh2, Δf]),
with the readout's bias outside the multiplier (W (h/m) + b, issue 16): SGD μP [0.99 1.09
0.98 0.77 0.84], SP [0.99 0.79 0.19 4.17 7.24]; Adam μP [1.01 1.13 1.01 0.95 0.88], SP
[0.92 1.97 0.76 4.29 7.58]. With the former (W h + b)/m, μP's were SGD [0.99 1.09 0.98 0.79
0.76], Adam [1.01 1.14 1.01 0.96 0.87], SP's the same digits.
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
    x, y = torch.randn(7, 10), torch.arange(7) % 3
    assert torch.equal(sp(x), mup(x))
    for optimizer in ("sgd", "adam"):
        assert all(g["lr_scale"] == 1 for g in mup_param_groups(mup, 0.1, optimizer, verbose=False))
    optimizers = [torch.optim.Adam(mup_param_groups(model, 0.01, "adam", verbose=False)) for model in (sp, mup)]
    for _ in range(3):  # and they train alike, the readout's bias too
        for model, optimizer in zip((sp, mup), optimizers):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    for a, b in zip(sp.parameters(), mup.parameters()):
        assert torch.equal(a, b)
    assert sp.layers[-1].bias.detach().any() and torch.equal(sp(x), mup(x))


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
    with torch.no_grad():  # a bias that is not 0, so that where the multiplier acts shows
        mup.layers[2].bias.normal_()
    h = F.relu(mup.layers[1](F.relu(mup.layers[0](x))))
    assert torch.allclose(mup(x), (h / m) @ mup.layers[2].weight.T + mup.layers[2].bias, atol=1e-6)  # W (h/m) + b
    assert [a.shape for a in mup.activations(x)] == [(5, 512), (5, 512), (5, 3)]


def test_the_standard_parametrization_is_unchanged_bit_for_bit() -> None:
    """SP's output is the readout of the last hidden layer, as before the multiplier moved in front of the bias.

    The former forward computed ``output_multiplier * readout(h)``, with the multiplier 1.0 in SP: the same
    bits as ``readout(h)``, with biases that are not 0, in float32 and float64, before and after a step.
    """
    for dtype in (torch.float32, torch.float64):
        model = WidthMLP(10, 3, width=256, depth=3, parametrization="standard", base_width=32, seed=2).to(dtype)
        with torch.no_grad():
            for layer in model.layers:
                layer.bias.normal_()
        x = torch.randn(9, 10, dtype=dtype)
        for _ in range(2):
            h = x
            for layer in model.layers[:-1]:
                h = F.relu(layer(h))
            assert torch.equal(model(x), model.output_multiplier * model.layers[-1](h))  # the former formula
            assert torch.equal(model(x), model.layers[-1](h))
            optimizer = torch.optim.SGD(mup_param_groups(model, 0.1, "sgd", verbose=False))
            F.cross_entropy(model(x), torch.arange(9) % 3).backward()
            optimizer.step()


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


# Tensor Programs V (Yang et al., 2022, arXiv:2203.03466), Table 3, "μP for general neural networks": each
# tensor's learning rate as a power of its fan_in and fan_out (a bias has fan_in 1 and fan_out its size), for a
# network with no output multiplier and the output weights initialised at variance 1/fan_in^2:
#
#                   input weights & all biases   output weights   hidden weights
#     Init. Var.    1/fan_in                     1/fan_in^2       1/fan_in
#     SGD LR        fan_out                      1/fan_in         1
#     Adam LR       1                            1/fan_in         1/fan_in
#
# As (power of fan_in, power of fan_out), by column:
TABLE_3 = {"sgd": {"input weights & all biases": (0, 1), "output weights": (-1, 0), "hidden weights": (0, 0)},
           "adam": {"input weights & all biases": (0, 0), "output weights": (-1, 0), "hidden weights": (-1, 0)}}


def table_3_column(name: str, n_layers: int) -> str:
    """The column of Table 3 that a WidthMLP tensor (``layers.i.weight`` / ``.bias``) belongs to."""
    i, kind = int(name.split(".")[1]), name.split(".")[2]
    if kind == "bias" or i == 0:
        return "input weights & all biases"
    return "output weights" if i == n_layers - 1 else "hidden weights"


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a linear layer's weight (out, in) or bias (out,)."""
    return (tensor.shape[1], tensor.shape[0]) if tensor.ndim == 2 else (1, tensor.shape[0])


def mup_package_factor(tensor: torch.Tensor, base_tensor: torch.Tensor, optimizer: str) -> float:
    """The rate factor the ``mup`` package (microsoft/mup, ``mup/optim.py``) gives a tensor, from its base shape.

    ``MuSGD``: a tensor with one dimension that grows with the width ("vector-like": the
    input weights, every bias but the output's, the output weights) times its width
    multiplier; one with two (the hidden weights) divided by fan_in's multiplier over
    fan_out's (1 here); one with none (the output bias) times 1. ``MuAdam``: the hidden
    weights divided by their width multiplier (fan_in's), every other tensor times 1.
    """
    ratios = [n / n0 for n, n0 in zip(tensor.shape, base_tensor.shape)]
    grown = [r for r in ratios if r != 1]
    if optimizer == "sgd":
        return grown[0] if len(grown) == 1 else ratios[0] / ratios[1] if len(grown) == 2 else 1.0  # (out, in)
    return 1.0 / ratios[1] if len(grown) == 2 else 1.0


def readout_multiplier(model: WidthMLP, kind: str) -> float:
    """The factor :math:`c` with which the readout's ``weight`` or ``bias`` enters the output, measured.

    The output is linear in the readout's tensors: adding :math:`D` to the bias moves it by
    :math:`c\\,D`, adding :math:`D` to the weights by :math:`c\\,D h_L`. Measured in float64
    on a random batch, from the model's own forward, so that the test sees what the network
    computes, not what a docstring says.
    """
    model = model.double()
    x = torch.randn(5, model.layers[0].in_features, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    readout = model.layers[-1]
    tensor = getattr(readout, kind)
    with torch.no_grad():
        h = model.activations(x)[-2]
        before = model(x)
        delta = torch.ones_like(tensor)
        tensor.add_(delta)
        moved = model(x) - before
        tensor.sub_(delta)
    expected = delta.expand_as(before) if kind == "bias" else h @ delta.T  # the move with c = 1
    c = (moved / expected).mean().item()
    assert torch.allclose(moved, c * expected, rtol=1e-9, atol=1e-12)  # one factor for every output
    return c


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("width", [128, 512])
def test_every_groups_rate_follows_the_mup_package_and_table_3(optimizer: str, width: int) -> None:
    """Every group's factor against microsoft/mup's ``MuSGD``/``MuAdam`` and, with the multiplier, Table 3.

    ``lr_scale`` is the factor on the rate tuned at the base width, as ``mup`` sets it
    relative to the base shapes (``set_base_shapes``); it must equal the package's rule
    for every tensor. Table 3 is written for a network without an output multiplier, ours
    has one (:math:`1/m` on the readout, as ``MuReadout``): a tensor that enters the
    network as :math:`c\\,\\theta` and trains :math:`\\theta` at the rate :math:`\\eta`
    trains :math:`c\\,\\theta` at :math:`c^2\\eta` with SGD and :math:`c\\,\\eta` with Adam
    (whose step does not depend on the gradient's scale). With that conversion each
    factor must be Table 3's ratio of fan_in and fan_out powers between the width and
    the base width, for every tensor. :math:`c` is measured from the model's forward
    (:func:`readout_multiplier`): :math:`1/m` for the output weights, 1 for the output bias
    (``W (h/m) + b``) and for every other tensor.
    """
    depth, base_width = 3, 32
    model = WidthMLP(8, 3, width=width, depth=depth, parametrization="mup", base_width=base_width, seed=None)
    base = WidthMLP(8, 3, width=base_width, depth=depth, parametrization="mup", base_width=base_width, seed=None)
    m = width / base_width
    groups = mup_param_groups(model, 0.05, optimizer, verbose=False)
    base_params = dict(base.named_parameters())
    assert len(groups) == 2 * (depth + 1)
    for group in groups:
        name, (tensor,) = group["name"], group["params"]
        base_tensor = base_params[name]
        assert group["lr_scale"] == pytest.approx(mup_package_factor(tensor, base_tensor, optimizer),
                                                  rel=1e-12), name
        a, b = TABLE_3[optimizer][table_3_column(name, depth + 1)]
        (fan_in, fan_out), (fan_in0, fan_out0) = fans(tensor), fans(base_tensor)
        table = (fan_in / fan_in0) ** a * (fan_out / fan_out0) ** b
        c = readout_multiplier(model, name.split(".")[2]) if name.startswith(f"layers.{depth}.") else 1.0
        effective = group["lr_scale"] * (c ** 2 if optimizer == "sgd" else c)
        assert effective == pytest.approx(table, rel=1e-12), (name, effective, table)
    assert model.output_multiplier == pytest.approx(1 / m)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_output_bias_follows_table_3(optimizer: str) -> None:
    """The output bias, the tensor where ``WidthMLP`` once differed from Table 3 and from the ``mup`` package.

    Table 3 puts the output bias with "all biases": SGD rate times fan_out, which is the
    number of outputs and does not grow, Adam's times 1; so its rate must not change with
    the width. ``mup``'s ``MuReadout`` computes :math:`W (h/m) + b`: the bias is outside
    the multiplier and keeps its rate (factor 1). ``WidthMLP`` computed
    :math:`(W h + b)/m` until issue 16's review, so with :func:`mup_param_groups`' factor
    1 the bias the network sees trained at :math:`1/m^2` (SGD) or :math:`1/m` (Adam) of
    the base rate: at width 512 and base 32, 256 or 16 times slower than Table 3's. Now
    it computes ``MuReadout``'s form: the measured multiplier of the bias is 1, of the
    weights :math:`1/m`.
    """
    depth, width = 2, 512
    model = WidthMLP(8, 3, width=width, depth=depth, parametrization="mup", base_width=32, seed=None)
    (group,) = [g for g in mup_param_groups(model, 0.05, optimizer, verbose=False)
                if g["name"] == f"layers.{depth}.bias"]
    c = readout_multiplier(model, "bias")
    assert c == pytest.approx(1.0, rel=1e-12)
    assert readout_multiplier(model, "weight") == pytest.approx(model.output_multiplier, rel=1e-12)
    effective = group["lr_scale"] * (c ** 2 if optimizer == "sgd" else c)
    assert effective == pytest.approx(1.0, rel=1e-12)
