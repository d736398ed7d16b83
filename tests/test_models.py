"""Models: shapes and weight counts by hand, seeding, recurrences against a hand-written loop, fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrcourse.torch.data import load
from lrcourse.torch.models import MLP, BodyHead, SequenceRegressor, SmallCNN, SoftmaxRegression, pretrain_digits, seeded
from lrcourse.schedules import Constant
from lrcourse.torch import ScheduleLR
from lrcourse.torch.training import evaluate


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def n_weights(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "model, x, out_shape, count",
    [
        (SoftmaxRegression(64, 10), torch.zeros(7, 64), (7, 10), 64 * 10 + 10),
        (MLP(13, 3, hidden=(8,)), torch.zeros(7, 13), (7, 3), 13 * 8 + 8 + 8 * 3 + 3),
        (MLP(64, 10, hidden=(32, 16)), torch.zeros(7, 64), (7, 10), 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10),
        (SmallCNN(), torch.zeros(7, 64), (7, 10), (9 * 16 + 16) + (16 * 9 * 32 + 32) + (128 * 10 + 10)),
        (SequenceRegressor("rnn", 16), torch.zeros(7, 30, 2), (7,), (2 * 16 + 16 * 16 + 2 * 16) + 16 + 1),
        (SequenceRegressor("lstm", 32), torch.zeros(7, 30, 2), (7,), 4 * (2 * 32 + 32 * 32 + 2 * 32) + 32 + 1),
        (BodyHead(64, 5, hidden=(64, 64)), torch.zeros(7, 64), (7, 5), (64 * 64 + 64) * 2 + 64 * 5 + 5),
    ],
    ids=["softmax", "mlp1", "mlp2", "cnn", "rnn", "lstm", "bodyhead"],
)
def test_output_shapes_and_weight_counts(model: torch.nn.Module, x: torch.Tensor, out_shape: tuple, count: int) -> None:
    assert model(x).shape == out_shape
    assert n_weights(model) == count


def test_softmax_regression_is_linear_scores() -> None:
    model = SoftmaxRegression(4, 3)
    x = torch.randn(5, 4)
    expected = x @ model.linear.weight.T + model.linear.bias
    torch.testing.assert_close(model(x), expected)


def test_cnn_takes_rows_or_images() -> None:
    x = torch.randn(3, 64)
    torch.testing.assert_close(SmallCNN()(x), SmallCNN()(x.reshape(3, 1, 8, 8)))


def test_seed_fixes_the_weights_and_leaves_the_global_generator_alone() -> None:
    state = torch.get_rng_state()
    a, b, c = MLP(10, 3, seed=4), MLP(10, 3, seed=4), MLP(10, 3, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    torch.manual_seed(1)
    d = MLP(10, 3, seed=None)
    torch.manual_seed(1)
    e = MLP(10, 3, seed=None)
    assert all(torch.equal(pd, pe) for pd, pe in zip(d.parameters(), e.parameters()))
    with seeded(0):
        first = torch.rand(3)
    with seeded(0):
        assert torch.equal(torch.rand(3), first)


@pytest.mark.parametrize("cell", ["rnn", "irnn"])
def test_recurrence_matches_a_hand_written_loop(cell: str) -> None:
    model = SequenceRegressor(cell, hidden_size=6).double()
    x = torch.rand(4, 9, 2, dtype=torch.float64)
    rnn = model.rnn
    activation = torch.tanh if cell == "rnn" else torch.relu
    h = torch.zeros(4, 6, dtype=torch.float64)
    for s in range(9):  # h_s = f(W x_s + b_W + U h_{s-1} + b_U)
        h = activation(x[:, s] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
    expected = (h @ model.head.weight.T + model.head.bias).squeeze(-1)
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)


def test_irnn_starts_at_the_identity() -> None:
    rnn = SequenceRegressor("irnn", hidden_size=5).rnn
    assert torch.equal(rnn.weight_hh_l0, torch.eye(5))
    assert torch.equal(rnn.bias_hh_l0, torch.zeros(5)) and torch.equal(rnn.bias_ih_l0, torch.zeros(5))
    assert rnn.weight_ih_l0.abs().max() < 0.01 and rnn.nonlinearity == "relu"


def test_param_groups_split_body_and_head() -> None:
    model = BodyHead(64, 5, hidden=(16, 8))
    groups = model.param_groups(lr=0.02, body_scale=0.1)
    assert [g["name"] for g in groups] == ["body", "head"]
    assert [g["lr"] for g in groups] == [pytest.approx(0.002), 0.02] and [g["lr_scale"] for g in groups] == [0.1, 1.0]
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # every weight exactly once
    # Fixed rates and ScheduleLR agree.
    optimizer = torch.optim.SGD(groups, lr=0.02)
    assert [g["lr"] for g in optimizer.param_groups] == [pytest.approx(0.002), 0.02]
    ScheduleLR(optimizer, Constant(0.5))
    assert [g["lr"] for g in optimizer.param_groups] == [pytest.approx(0.05), 0.5]


def test_replace_head_keeps_the_body() -> None:
    model = BodyHead(64, 5, hidden=(16,))
    body = [p.clone() for p in model.body.parameters()]
    model.replace_head(3, seed=1)
    assert model(torch.zeros(2, 64)).shape == (2, 3)
    assert all(torch.equal(a, b) for a, b in zip(body, model.body.parameters()))
    other = BodyHead(64, 5, hidden=(16,))
    other.replace_head(3, seed=1)
    assert torch.equal(model.head.weight, other.head.weight)


def test_pretraining_is_quick_accurate_and_reproducible() -> None:
    model = pretrain_digits(steps=150)
    accuracy = evaluate(model, load("digits", classes=(0, 1, 2, 3, 4)).tensors("val", "cpu"), device="cpu")["accuracy"]
    assert accuracy > 0.95
    again = pretrain_digits(steps=150)
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
    # The fine-tuning task: new classes, new head, the pretrained body.
    later = load("digits", classes=(5, 6, 7, 8, 9))
    model.replace_head(later.n_classes)
    X, _ = later.tensors("train", "cpu")
    assert model(X).shape == (len(X), 5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SoftmaxRegression(64, 1), "n_classes must be an integer >= 2"),
        (lambda: SoftmaxRegression(0, 3), "n_features must be an integer >= 1"),
        (lambda: MLP(4, 2, hidden=(8, 0)), "hidden\\[1\\] must be an integer >= 1, got 0"),
        (lambda: MLP(4, 2, hidden=(8, 2.5)), "hidden\\[1\\] must be an integer >= 1, got 2.5"),
        (lambda: SmallCNN(n_classes=1.5), "n_classes must be an integer >= 2"),
        (lambda: SequenceRegressor("gru"), "cell must be one of 'rnn', 'irnn', 'lstm'"),
        (lambda: SequenceRegressor("lstm", hidden_size=0), "hidden_size must be an integer >= 1"),
        (lambda: BodyHead(64, 5, hidden=()), "hidden must name at least one layer width"),
        (lambda: BodyHead().param_groups(lr=0.1, body_scale=-1.0), "body_scale must be a finite number in \\[0, inf\\)"),
        (lambda: BodyHead().param_groups(lr=float("inf"), body_scale=0.1), "lr must be a finite number in \\[0, inf\\)"),
        (lambda: pretrain_digits(steps=1, lr=-0.1), "lr must be a finite number in \\[0, inf\\)"),
        (lambda: pretrain_digits(steps=1, seed=-1), "seed must be an integer >= 0"),
        (lambda: pretrain_digits((3,), steps=1), "classes must be at least two digit classes"),
        (lambda: pretrain_digits((3, 10), steps=1), "classes must be at least two digit classes"),
        (lambda: pretrain_digits(steps=0), "steps must be an integer >= 1"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MLP(4, 2, hidden=64), "hidden must be a sequence of layer widths \\(integers >= 1\\), got 64"),
        (lambda: MLP(4, 2, hidden=None), "hidden must be a sequence of layer widths"),
        (lambda: MLP(4, 2, hidden="64"), "hidden must be a sequence of layer widths"),
        (lambda: BodyHead(hidden=None), "hidden must be a sequence of layer widths"),
        (lambda: BodyHead().param_groups(lr=None, body_scale=0.1), "lr must be a real number, got None"),
        (lambda: BodyHead().param_groups(lr=0.1, body_scale=True), "body_scale must be a real number, got True"),
        (lambda: BodyHead().param_groups(lr=[0.1], body_scale=0.1), "lr must be a real number"),
        (lambda: BodyHead().param_groups(lr=0.1, body_scale=0.1, head_scale="1"), "head_scale must be a real number"),
        (lambda: pretrain_digits(steps=1, lr="0.01"), "lr must be a real number"),
        (lambda: pretrain_digits(steps=1, seed="0"), "seed must be an integer >= 0"),
        (lambda: pretrain_digits(None, steps=1), "classes must be at least two digit classes"),
        (lambda: pretrain_digits((0, 1.5), steps=1), "classes must be at least two digit classes"),
    ],
)
def test_wrong_kinds_raise_type_error_naming_the_parameter(make, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        make()


def test_models_train_on_their_data() -> None:
    # Not only shapes: a few full-batch steps lower each model's loss on its dataset.
    digits = load("digits")
    X, y = digits.tensors("train", "cpu")
    for model in (SoftmaxRegression(64, 10), MLP(64, 10), SmallCNN()):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        before = torch.nn.functional.cross_entropy(model(X), y).item()
        for _ in range(20):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
        assert torch.nn.functional.cross_entropy(model(X), y).item() < 0.5 * before
    assert np.isfinite(before)


def test_small_cnn_pools_before_relu_with_the_values_and_gradients_of_relu_then_pool() -> None:
    # max commutes with the non-decreasing ReLU; ties of non-positive windows get a zero gradient either way
    def relu_then_pool(cnn: SmallCNN, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, 8, 8)
        x = torch.nn.functional.max_pool2d(torch.relu(cnn.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(cnn.conv2(x)), 2)
        return cnn.linear(x.flatten(1))

    x = torch.randn(40, 64, generator=torch.Generator().manual_seed(0))
    x[:5] = -1.0  # windows where every value is negative (all-zero after a ReLU)
    cnn = SmallCNN(seed=3)
    grads = []
    for forward in (cnn, lambda x: relu_then_pool(cnn, x)):
        cnn.zero_grad()
        out = forward(x)
        (out ** 2).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in cnn.parameters()]))
    assert torch.equal(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1]):
        assert torch.equal(a, b)
