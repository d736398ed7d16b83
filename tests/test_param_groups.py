"""Per-layer param groups: the layers found, the rates, freezing, no decay on biases and norms, ScheduleLR."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lrcourse.torch.models import MLP, BodyHead, SequenceRegressor, SmallCNN
from lrcourse.schedules import CosineDecay, Warmup
from lrcourse.torch import AdamW, ScheduleLR, layerwise_param_groups, param_groups_table
from lrcourse.torch.param_groups import default_layers


class NormNet(nn.Module):
    """Embedding, a linear layer with layer norm, batch norm, and a head: every kind of tensor."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(10, 6)
        self.hidden = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.bn = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.bn(self.norm(self.hidden(self.embed(tokens)))))


def test_default_layers_are_the_modules_owning_parameters_in_order():
    assert default_layers(MLP(4, 2, hidden=(8, 8))) == ["layers.0", "layers.2", "layers.4"]
    assert default_layers(SmallCNN()) == ["conv1", "conv2", "linear"]
    assert default_layers(SequenceRegressor("lstm", hidden_size=4)) == ["rnn", "head"]
    assert default_layers(NormNet()) == ["embed", "hidden", "norm", "bn", "head"]


def test_rates_fall_by_the_factor_per_layer_from_the_top():
    model = BodyHead(64, 5, hidden=(32, 32))
    groups = layerwise_param_groups(model, lr=0.01, verbose=False)
    assert [g["name"] for g in groups] == ["body.0", "body.2", "head"]
    np.testing.assert_allclose([g["lr"] for g in groups], [0.01 / 2.6**2, 0.01 / 2.6, 0.01], rtol=1e-15)
    np.testing.assert_allclose([g["lr_scale"] for g in groups], [2.6**-2, 2.6**-1, 1.0], rtol=1e-15)
    assert [g["params"] for g in groups] == [list(model.body[0].parameters()), list(model.body[2].parameters()),
                                             list(model.head.parameters())]
    same = layerwise_param_groups(model, lr=0.01, decay=1.0, verbose=False)
    assert [g["lr"] for g in same] == [0.01] * 3


def test_named_layers_take_everything_under_them():
    model = BodyHead(64, 5, hidden=(32, 32))
    groups = layerwise_param_groups(model, lr=1e-3, decay=10.0, layers=["body", "head"], verbose=False)
    assert [(g["name"], g["lr"], len(g["params"])) for g in groups] == [("body", 1e-4, 4), ("head", 1e-3, 2)]


def test_no_weight_decay_on_biases_and_norms():
    model = NormNet()
    groups = layerwise_param_groups(model, lr=1.0, decay=1.0, weight_decay=0.1, verbose=False)
    decayed = {id(p) for g in groups if g["weight_decay"] == 0.1 for p in g["params"]}
    names = {name for name, p in model.named_parameters() if id(p) in decayed}
    assert names == {"embed.weight", "hidden.weight", "head.weight"}
    assert all(g["name"].endswith("(no decay)") for g in groups if g["weight_decay"] == 0.0)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_weight_decay_reaches_only_the_decayed_groups_of_adamw():
    # With zero gradients AdamW's step is the decay alone: θ ← θ (1 − α λ) for the
    # decayed tensors, nothing for biases and norms. Checked for torch's and ours.
    for optimizer_class in (torch.optim.AdamW, AdamW):
        model = NormNet()
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        groups = layerwise_param_groups(model, lr=0.1, decay=2.0, weight_decay=0.5, verbose=False)
        optimizer = optimizer_class(groups)
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        optimizer.step()
        rate = {id(p): g["lr"] * g["weight_decay"] for g in groups for p in g["params"]}
        for name, p in model.named_parameters():
            torch.testing.assert_close(p.detach(), before[name] * (1 - rate[id(p)]), rtol=1e-6, atol=0,
                                       msg=f"{optimizer_class.__name__} {name}")


def test_freezing_the_lower_layers_and_unfreezing_them():
    model = MLP(4, 2, hidden=(8, 8))
    groups = layerwise_param_groups(model, lr=0.1, freeze=2, verbose=False)
    assert [g["name"] for g in groups] == ["layers.4"] and groups[0]["lr"] == 0.1
    frozen = [p for name, p in model.named_parameters() if not name.startswith("layers.4")]
    assert all(not p.requires_grad for p in frozen)
    before = [p.clone() for p in frozen]
    optimizer = torch.optim.SGD(groups)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    assert all(p.grad is None and torch.equal(p, q) for p, q in zip(frozen, before))
    again = layerwise_param_groups(model, lr=0.1, freeze=0, verbose=False)  # gradual unfreezing
    assert len(again) == 3 and all(p.requires_grad for p in model.parameters())


def test_the_summary_names_layers_counts_and_rates(capsys):
    model = MLP(4, 2, hidden=(8,))
    layerwise_param_groups(model, lr=0.01, freeze=1, weight_decay=0.1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["group", "params", "lr", "lr_scale", "weight_decay"]
    assert lines[1].split() == ["layers.2", "16", "0.01", "1", "0.1"]
    assert lines[2].split() == ["layers.2", "(no", "decay)", "2", "0.01", "1", "0"]
    assert lines[3].split() == ["trainable", "18", "of", "58"]


def test_the_table_reads_any_groups():
    w = nn.Parameter(torch.zeros(1000))
    table = param_groups_table([{"params": [w], "lr": 3e-4}])
    assert table.splitlines()[1].split() == ["0", "1,000", "0.0003", "-", "-"]


def test_schedulelr_keeps_every_layers_ratio():
    model = BodyHead(64, 5, hidden=(32, 32))
    groups = layerwise_param_groups(model, lr=1.0, verbose=False)
    optimizer = torch.optim.SGD(groups)
    schedule = Warmup(CosineDecay(0.1, total_steps=20), warmup_steps=5)
    scheduler = ScheduleLR(optimizer, schedule)
    for step in range(25):
        rates = [g["lr"] for g in optimizer.param_groups]
        np.testing.assert_allclose(rates, [schedule(step) * 2.6**-2, schedule(step) / 2.6, schedule(step)],
                                   rtol=1e-14)
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"lr": 0.0}, "lr"),
    ({"decay": 0.5}, "decay"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"freeze": 3}, "freeze"),
    ({"freeze": -1}, "freeze"),
    ({"layers": ["body", "nope"]}, "layers must name submodules"),
    ({"layers": ["body", "body.0", "head"]}, "layers must not overlap"),
    ({"layers": ["head"]}, "layers must cover every parameter"),
])
def test_bad_input(kwargs, name):
    arguments = {"lr": 0.1, **kwargs}
    with pytest.raises(ValueError, match=name):
        layerwise_param_groups(BodyHead(64, 5, hidden=(32, 32)), verbose=False, **arguments)


def test_a_model_without_parameters_is_a_clear_error():
    with pytest.raises(ValueError, match="model must have parameters"):
        layerwise_param_groups(nn.ReLU(), lr=0.1, verbose=False)


def sequential() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"layers": "02"}, "layers must be a sequence of submodule names"),  # was read as ["0", "2"]
    ({"layers": [0, 2]}, "layers must be a sequence of submodule names"),
    ({"verbose": "no"}, "verbose must be True or False"),  # was read as true
    ({"freeze": True}, "freeze must be an integer"),  # was one frozen layer
    ({"lr": "0.1"}, "lr must be a real number"),
    ({"decay": None}, "decay must be a real number"),
])
def test_a_value_of_the_wrong_kind_is_a_type_error(kwargs, match):
    arguments = {"lr": 0.1, "verbose": False, **kwargs}
    with pytest.raises(TypeError, match=match):
        layerwise_param_groups(sequential(), **arguments)


def test_numpy_scalars_give_the_groups_python_numbers_give():
    """A rate from a NumPy grid (np.float32 too) and a NumPy count are numbers; np.float32 was refused."""
    def rates(lr, decay, freeze):
        groups = layerwise_param_groups(sequential(), lr, decay=decay, freeze=freeze, verbose=False)
        return [(group["name"], group["lr"], group["lr_scale"]) for group in groups]

    assert rates(np.float32(0.5), np.float64(2.0), np.int64(0)) == rates(0.5, 2.0, 0) == [
        ("0", 0.25, 0.5), ("2", 0.5, 1.0)]
    assert rates(0.5, 2, np.int64(1)) == [("2", 0.5, 1.0)]


def test_the_table_counts_a_group_given_one_tensor():
    """torch accepts ``{"params": tensor}``; the table counted that tensor's rows, not the tensor."""
    model = nn.Linear(2, 3)
    table = param_groups_table([{"params": model.weight, "lr": 0.1}, {"params": [model.bias], "lr": 0.1}], model)
    assert table.splitlines()[1].split()[:2] == ["0", "6"]
    assert table.splitlines()[-1].split() == ["trainable", "9", "of", "9"]


@pytest.mark.parametrize(("groups", "model", "match"), [
    ({"params": []}, None, "groups must be a list of param groups"),
    ([[torch.zeros(1)]], None, "groups must be a list of param groups"),
    ([{"lr": 0.1}], None, "groups must be a list of param groups"),
    ([], "model", "model must be a torch.nn.Module or None"),
])
def test_the_table_refuses_what_is_not_groups(groups, model, match):
    with pytest.raises(TypeError, match=match):
        param_groups_table(groups, model)
