"""Batched sweeps give the numbers of K separate runs: NumPy problems, torch models, grids, divergence.

The references are separate runs written out: a loop with one lrcourse.numpy optimizer
per rate for the test problems, and a plain torch loop with ``torch.optim`` and
``F.cross_entropy`` (float64) for the models, so the torch path is checked against
torch's own optimizer, not against lrcourse's.
"""

from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import lrcourse.numpy as lnp  # noqa: E402
import lrcourse.torch as ltorch  # noqa: E402
from lrcourse.torch.data import load  # noqa: E402
from lrcourse.torch.models import MLP, BodyHead, SmallCNN, SoftmaxRegression  # noqa: E402
from lrcourse.plots import plot_sweep  # noqa: E402
from lrcourse.problems import Beale, NoisyQuadratic, Problem, Quadratic, Rosenbrock, Saddle  # noqa: E402
from lrcourse.schedules import StepDecay, Warmup  # noqa: E402
from lrcourse.sweep import ScaledSchedule, grid, sweep  # noqa: E402
from lrcourse.torch import run_outputs, run_scores, sweep_model, vmap_loss  # noqa: E402
from lrcourse.torch.training import fit  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


OPTIMIZERS = [
    (lnp.SGD, {}),
    (lnp.SGD, {"momentum": 0.9, "nesterov": True}),
    (lnp.Adagrad, {"lr_decay": 0.01}),
    (lnp.RMSprop, {"centered": True, "momentum": 0.5}),
    (lnp.Adam, {"amsgrad": True}),
    (lnp.AdamW, {"weight_decay": 0.1}),
]
OPT_IDS = [f"{cls.__name__}{options}" for cls, options in OPTIMIZERS]
PROBLEMS = [Rosenbrock(), Beale(), Saddle(), Quadratic(kappa=20.0, dim=3, angle=0.5), NoisyQuadratic(noise=0.5)]


def separate_run(problem: Problem, optimizer, steps: int, seed: int, x0=None) -> tuple[np.ndarray, np.ndarray]:
    """One run at a time, the plain way: return its losses (steps + 1) and its final point."""
    theta = np.array(problem.x0 if x0 is None else x0, dtype=np.float64)
    rng = np.random.default_rng(seed)
    state = optimizer.init(theta)
    losses = [problem.value(theta)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            theta, state = optimizer.step(theta, problem.sample_grad(theta, rng), state)
            losses.append(problem.value(theta))
    return np.array(losses), theta


def assert_same_run(losses, expected_losses, final=None, expected_final=None, x0=None) -> None:
    """Assert that two runs agree up to rounding: relative 1e-12, and absolute 1e-12 of the starting scale.

    Near a minimum the loss falls to ~1e-20 and its last bits are rounding of the
    iterates (another CPU's SIMD width gave 8e-12 apart on a loss of 2.77e-20), so the
    absolute tolerance is scaled to the starting loss, and to the start for the point.
    """
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12, atol=1e-12 * abs(expected_losses[0]),
                               equal_nan=True)
    if final is not None:
        scale = max(1.0, float(np.max(np.abs(x0))))
        np.testing.assert_allclose(final, expected_final, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


@pytest.mark.parametrize("problem", PROBLEMS, ids=[type(p).__name__ for p in PROBLEMS])
@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=OPT_IDS)
def test_problem_sweep_equals_separate_runs(problem: Problem, cls, options: dict) -> None:
    lrs = np.geomspace(1e-4, 0.3, 6)  # from crawling to diverging (SGD on Rosenbrock)
    result = sweep(problem, cls, lr=lrs, steps=60, seed=5, **options)
    assert result.losses.shape == (6, 61) and result.params.shape == (6, problem.dim)
    for k, lr in enumerate(lrs):
        losses, final = separate_run(problem, cls(lr=lr, **options), 60, seed=5)
        assert_same_run(result.losses[k], losses, result.params[k], final, problem.x0)
    np.testing.assert_array_equal(result.losses[:, 0], problem.value(np.array(problem.x0)))  # before any update
    np.testing.assert_array_equal(result.lr, lrs)


def test_a_diverging_run_leaves_the_others_alone() -> None:
    result = sweep(Rosenbrock(), lnp.SGD, lr=[1e-4, 0.5, 1e-3], steps=100)
    assert result.diverged.tolist() == [False, True, False]
    assert np.isnan(result.losses[1, -1])
    for k in (0, 2):
        losses, _ = separate_run(Rosenbrock(), lnp.SGD(lr=result.lr[k]), 100, seed=0)
        np.testing.assert_array_equal(result.losses[k], losses)
    assert result.best() == 2
    with pytest.raises(ValueError, match="every run diverged"):
        sweep(Rosenbrock(), lnp.SGD, lr=[0.5, 1.0], steps=100).best()


def test_grid_sweeps_every_combination() -> None:
    g = grid(lr=[0.01, 0.001], momentum=[0.0, 0.5, 0.9])
    result = sweep(Beale(), lnp.SGD, steps=40, **g)
    assert result.K == 6 and set(result.hyperparams) == {"lr", "momentum"}
    for k in range(6):
        lr, momentum = g["lr"][k], g["momentum"][k]
        losses, _ = separate_run(Beale(), lnp.SGD(lr=lr, momentum=momentum), 40, seed=0)
        assert_same_run(result.losses[k], losses)


@pytest.mark.parametrize("axis, error, match", [
    (None, TypeError, "lr must be a number or a non-empty 1-D list of numbers, got None"),
    ("0.1", TypeError, "lr must be a number or a non-empty 1-D list of numbers, got '0.1'"),
    (True, TypeError, "got True"),
    ([0.1, "0.2"], TypeError, "got \\[0.1, '0.2'\\]"),
    ([], ValueError, "lr must be a number or a non-empty 1-D list of values, got shape \\(0,\\)"),
    ([[0.1]], ValueError, "got shape \\(1, 1\\)"),
    ([0.1, np.nan], ValueError, "lr must be a list of finite numbers, got \\[0.1, nan\\]"),
])
def test_grid_refuses_an_axis_that_is_not_numbers(axis, error, match: str) -> None:
    with pytest.raises(error, match=match):
        grid(lr=axis, momentum=[0.0, 0.9])
    assert grid(lr=0.1, momentum=(0.0, 0.9))["lr"].tolist() == [0.1, 0.1]  # one number is an axis of one


def test_a_tuple_hyperparameter_is_looked_into() -> None:
    beta1 = np.array([0.0, 0.5, 0.9])
    result = sweep(Saddle(), lnp.Adam, lr=0.05, betas=(beta1, 0.999), steps=30)
    np.testing.assert_array_equal(result.hyperparams["betas[0]"], beta1)
    np.testing.assert_array_equal(result.lr, [0.05] * 3)  # a shared rate is still listed per run
    assert result.fixed == {"lr": 0.05}
    for k in range(3):
        losses, _ = separate_run(Saddle(), lnp.Adam(lr=0.05, betas=(beta1[k], 0.999)), 30, seed=0)
        assert_same_run(result.losses[k], losses)


def test_a_tuple_of_numbers_is_swept_like_a_list() -> None:
    as_tuple = sweep(Beale(), lnp.SGD, lr=(1e-3, 1e-2), momentum=(0.0, 0.5), steps=30)
    assert as_tuple.K == 2 and as_tuple.fixed == {}
    np.testing.assert_array_equal(as_tuple.hyperparams["momentum"], [0.0, 0.5])
    for k, (lr, momentum) in enumerate([(1e-3, 0.0), (1e-2, 0.5)]):
        losses, _ = separate_run(Beale(), lnp.SGD(lr=lr, momentum=momentum), 30, seed=0)
        assert_same_run(as_tuple.losses[k], losses)


def test_betas_is_a_pair_shared_by_the_runs_unless_an_item_is_swept() -> None:
    # Adam's betas defaults to a tuple: a tuple given for it is one pair (beta1, beta2),
    # not two runs; a list or array inside it sweeps that item.
    shared = sweep(Saddle(), lnp.Adam, lr=(0.01, 0.05, 0.1), betas=(0.8, 0.99), steps=30)
    assert shared.K == 3 and set(shared.hyperparams) == {"lr"} and shared.fixed == {"betas": (0.8, 0.99)}
    for k, lr in enumerate([0.01, 0.05, 0.1]):
        losses, _ = separate_run(Saddle(), lnp.Adam(lr=lr, betas=(0.8, 0.99)), 30, seed=0)
        assert_same_run(shared.losses[k], losses)
    assert sweep(Saddle(), lnp.Adam, lr=0.01, betas=(0.8, 0.99), steps=3).K == 1
    both = sweep(Saddle(), lnp.AdamW, lr=(0.01, 0.05), betas=(0.9, [0.99, 0.999]), steps=30)
    np.testing.assert_array_equal(both.hyperparams["betas[1]"], [0.99, 0.999])
    for k, (lr, beta2) in enumerate([(0.01, 0.99), (0.05, 0.999)]):
        losses, _ = separate_run(Saddle(), lnp.AdamW(lr=lr, betas=(0.9, beta2)), 30, seed=0)
        assert_same_run(both.losses[k], losses)


def test_a_function_that_builds_the_optimizer_is_read_by_its_signature() -> None:
    def adam(lr=1e-3, betas=(0.9, 0.999)):
        return lnp.Adam(lr=lr, betas=betas)

    result = sweep(Saddle(), adam, lr=(0.01, 0.05), betas=(0.8, 0.99), steps=10)
    expected = sweep(Saddle(), lnp.Adam, lr=[0.01, 0.05], betas=(0.8, 0.99), steps=10)
    np.testing.assert_array_equal(result.losses, expected.losses)


def test_schedule_scales_every_base_rate() -> None:
    schedule = Warmup(StepDecay(1.0, step_size=10, gamma=0.5), warmup_steps=5)
    lrs = np.array([0.1, 0.5, 1.0])
    result = sweep(Quadratic(kappa=5.0), lnp.SGD, lr=lrs, schedule=schedule, steps=30)
    for k, lr in enumerate(lrs):
        losses, _ = separate_run(Quadratic(kappa=5.0), lnp.SGD(lr=lambda t, lr=lr: lr * schedule(t)), 30, seed=0)
        assert_same_run(result.losses[k], losses)
    np.testing.assert_array_equal(result.lr, lrs)
    np.testing.assert_allclose(ScaledSchedule(lrs, schedule)(12), lrs * schedule(12))


def test_one_start_per_run_and_the_path() -> None:
    starts = np.array([[-1.0, 1.0], [0.5, 0.5], [2.0, -0.5]])
    result = sweep(Rosenbrock(), lnp.Adam, lr=[1e-2] * 3, x0=starts, steps=25, path=True)
    assert result.path.shape == (3, 26, 2)
    np.testing.assert_array_equal(result.path[:, 0], starts)
    np.testing.assert_array_equal(result.path[:, -1], result.params)
    np.testing.assert_array_equal(result.losses, Rosenbrock().value(result.path))
    for k in range(3):
        losses, _ = separate_run(Rosenbrock(), lnp.Adam(lr=1e-2), 25, seed=0, x0=starts[k])
        assert_same_run(result.losses[k], losses)
    assert sweep(Rosenbrock(), lnp.Adam, lr=1e-2, steps=5).K == 1  # a single number: one run


def torch_runs(model, make_optimizer, lrs, X, y, steps):
    """K separate plain torch runs (torch.optim, F.cross_entropy): losses (K, steps + 1) and final weights."""
    all_losses, finals = [], []
    for lr in lrs:
        m = copy.deepcopy(model)
        optimizer = make_optimizer(m.parameters(), lr)
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.cross_entropy(m(X), y)
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            losses.append(F.cross_entropy(m(X), y).item())
        all_losses.append(losses)
        finals.append({name: p.detach().numpy().copy() for name, p in m.named_parameters()})
    return np.array(all_losses), finals


@pytest.fixture(scope="module")
def wine64():
    return load("wine", dtype=np.float64)


@pytest.mark.parametrize(
    "cls, options, torch_optimizer",
    [
        (lnp.Adam, {}, lambda params, lr: torch.optim.Adam(params, lr=lr)),
        (lnp.SGD, {"momentum": 0.9}, lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)),
        (lnp.RMSprop, {}, lambda params, lr: torch.optim.RMSprop(params, lr=lr)),
    ],
    ids=["Adam", "SGD-momentum", "RMSprop"],
)
def test_model_sweep_equals_separate_torch_optim_runs(wine64, cls, options: dict, torch_optimizer) -> None:
    X, y = wine64.tensors("train", "cpu")
    model = SoftmaxRegression(13, 3).double()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    lrs = np.array([1e-3, 1e-2, 1e-1, 1.0])
    result = sweep_model(model, cls, lr=lrs, steps=25, data=(X, y), device="cpu", **options)
    expected, finals = torch_runs(model, torch_optimizer, lrs, X, y, 25)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-10, atol=1e-13)
    for k in range(len(lrs)):
        for name in finals[k]:
            np.testing.assert_allclose(result.params[name][k], finals[k][name], rtol=1e-9, atol=1e-12)
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())  # the model is untouched
    assert result.backend == "numpy" and result.params["linear.weight"].shape == (4, 3, 13)


def test_model_sweep_over_a_loader_sees_the_batches_fit_sees(wine64) -> None:
    loader = wine64.loader("train", batch_size=20, device="cpu")  # 6 batches per epoch: crosses epochs
    model = MLP(13, 3, hidden=(8,)).double()
    lrs = [0.01, 0.1, 0.5]
    result = sweep_model(model, lnp.SGD, lr=lrs, momentum=0.5, steps=15, data=loader, seed=3, device="cpu")
    for k, lr in enumerate(lrs):
        m = copy.deepcopy(model)
        history = fit(m, torch.optim.SGD(m.parameters(), lr=lr, momentum=0.5), loader, steps=15, seed=3,
                      progress=False, device="cpu")
        np.testing.assert_allclose(result.losses[k, :15], history.loss, rtol=1e-10)


FINE_TUNING = [
    (lnp.Adam, {"weight_decay": 0.1}, lambda params, lr: torch.optim.Adam(params, lr=lr, weight_decay=0.1)),
    (lnp.SGD, {"momentum": 0.9, "weight_decay": 0.01},
     lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=0.01)),
    (lnp.AdamW, {"weight_decay": 0.1}, lambda params, lr: ltorch.AdamW(params, lr=lr, weight_decay=0.1)),
    (lnp.RMSprop, {"momentum": 0.5}, lambda params, lr: ltorch.RMSprop(params, lr=lr, momentum=0.5)),
]


@pytest.mark.parametrize("cls, options, make_optimizer", FINE_TUNING, ids=["Adam", "SGD", "lrcourse AdamW",
                                                                         "lrcourse RMSprop"])
@pytest.mark.parametrize("wide_linear", [True, False], ids=["wide", "vmap"])
def test_a_frozen_body_stays_frozen_as_in_separate_runs(wine64, cls, options, make_optimizer,
                                                        wide_linear: bool) -> None:
    # Fine-tuning: the body's parameters have requires_grad=False. Separate runs (fit, with
    # torch.optim or lrcourse.torch, which skip a parameter without a gradient) leave them
    # as they are, weight decay and momentum included; the sweep must do the same.
    loader = wine64.loader("train", batch_size=32, device="cpu")
    model = BodyHead(13, 3, hidden=(8,), seed=1).double()
    model.body.requires_grad_(False)
    body = {name: p.detach().clone() for name, p in model.named_parameters() if name.startswith("body")}
    lrs = [0.01, 0.1, 0.5]
    result = sweep_model(model, cls, lr=lrs, steps=10, data=loader, seed=4, device="cpu", wide_linear=wide_linear,
                         **options)
    for k, lr in enumerate(lrs):
        alone = copy.deepcopy(model)
        history = fit(alone, make_optimizer(alone.parameters(), lr), loader, steps=10, seed=4, progress=False,
                      device="cpu")
        np.testing.assert_allclose(result.losses[k, :10], history.loss, rtol=1e-10)
        for name, p in alone.named_parameters():
            np.testing.assert_allclose(result.params[name][k], p.detach().numpy(), rtol=1e-9, atol=1e-12)
    for name, start in body.items():  # bit for bit: the frozen body never moved
        np.testing.assert_array_equal(result.params[name], np.broadcast_to(start.numpy(), (3, *start.shape)))
    assert not np.allclose(result.params["head.weight"][0], model.head.weight.detach().numpy())  # the head did


def test_frozen_parameters_with_one_start_per_run_keep_their_own_start(wine64) -> None:
    X, y = wine64.tensors("train", "cpu")
    starts = [BodyHead(13, 3, hidden=(8,), seed=s).double() for s in (0, 1)]
    for start in starts:
        start.body.requires_grad_(False)
    result = sweep_model(starts[0], lnp.Adam, lr=[0.1, 0.1], x0=starts, steps=5, data=(X, y), device="cpu")
    for k, start in enumerate(starts):
        np.testing.assert_array_equal(result.params["body.0.weight"][k], start.body[0].weight.detach().numpy())
        alone = sweep_model(start, lnp.Adam, lr=[0.1], steps=5, data=(X, y), device="cpu")
        np.testing.assert_allclose(result.losses[k], alone.losses[0], rtol=1e-12)


def test_a_model_with_every_parameter_frozen_is_refused() -> None:
    model = SoftmaxRegression(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="model must have at least one parameter with requires_grad=True"):
        sweep_model(model, lnp.SGD, lr=[0.1], steps=2, data=(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)),
                    device="cpu")


class Noisy(torch.nn.Module):
    """A layer that draws in forward without being a Dropout: the input plus Gaussian noise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.1 * torch.randn_like(x)


@pytest.mark.parametrize("random_layer", [torch.nn.Dropout(0.5), torch.nn.AlphaDropout(0.2), Noisy()],
                         ids=["Dropout", "AlphaDropout", "noise"])
@pytest.mark.parametrize("wide_linear", [True, False], ids=["wide", "vmap"])
def test_randomness_in_the_model_is_refused_with_a_way_out(wine64, random_layer, wide_linear: bool) -> None:
    X, y = wine64.tensors("train", "cpu")
    model = torch.nn.Sequential(torch.nn.Linear(13, 8), torch.nn.ReLU(), random_layer, torch.nn.Linear(8, 3)).double()
    with pytest.raises(ValueError, match="sweep_model does not support randomness in the model \\(dropout.*"
                                         "model.eval\\(\\).*lrcourse.torch.fit"):
        sweep_model(model, lnp.SGD, lr=[0.1, 0.2], steps=3, data=(X, y), device="cpu", wide_linear=wide_linear)


def test_a_dropout_model_in_evaluation_mode_sweeps_without_dropout(wine64) -> None:
    X, y = wine64.tensors("train", "cpu")
    model = torch.nn.Sequential(torch.nn.Linear(13, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 3)).double().eval()
    lrs = [0.1, 0.5]
    result = sweep_model(model, lnp.SGD, lr=lrs, steps=5, data=(X, y), device="cpu")
    without_dropout = torch.nn.Sequential(model[0], model[1], model[3])
    expected, _ = torch_runs(without_dropout, lambda params, lr: torch.optim.SGD(params, lr=lr), lrs, X, y, 5)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-10)


def test_model_sweep_reads_tuples_as_the_problem_sweep_does(wine64) -> None:
    X, y = wine64.tensors("train", "cpu")
    model = SoftmaxRegression(13, 3).double()
    lrs = (1e-2, 1e-1)
    result = sweep_model(model, lnp.Adam, lr=lrs, betas=(0.8, 0.99), steps=10, data=(X, y), device="cpu")
    expected, _ = torch_runs(model, lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.8, 0.99)), lrs,
                             X, y, 10)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-10)
    beta1 = np.array([0.0, 0.5, 0.9])
    swept = sweep_model(model, lnp.Adam, lr=0.1, betas=(beta1, 0.999), steps=10, data=(X, y), device="cpu")
    np.testing.assert_array_equal(swept.hyperparams["betas[0]"], beta1)
    for k, b in enumerate(beta1):
        alone, _ = torch_runs(model, lambda params, lr, b=b: torch.optim.Adam(params, lr=lr, betas=(b, 0.999)), [0.1],
                              X, y, 10)
        np.testing.assert_allclose(swept.losses[k], alone[0], rtol=1e-10)


def test_cnn_sweep_under_vmap_equals_separate_runs() -> None:
    digits = load("digits", dtype=np.float64)
    X, y = (t[:200] for t in digits.tensors("train", "cpu"))
    model = SmallCNN().double()
    lrs = [1e-3, 1e-2]
    result = sweep_model(model, lnp.Adam, lr=lrs, steps=4, data=(X, y), device="cpu")
    expected, _ = torch_runs(model, lambda params, lr: torch.optim.Adam(params, lr=lr), lrs, X, y, 4)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-10)


def test_float32_model_sweep_stays_close_to_torch(wine64) -> None:
    wine = load("wine")
    X, y = wine.tensors("train", "cpu")
    model = SoftmaxRegression(13, 3)
    result = sweep_model(model, lnp.Adam, lr=[1e-2, 1e-1], steps=20, data=(X, y), device="cpu")
    expected, _ = torch_runs(model, lambda params, lr: torch.optim.Adam(params, lr=lr), [1e-2, 1e-1], X, y, 20)
    assert result.params["linear.weight"].dtype == np.float32
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)


def test_vmap_loss_is_torch_cross_entropy_and_mse() -> None:
    logits, labels = torch.randn(50, 7, dtype=torch.float64) * 30, torch.randint(0, 7, (50,))
    torch.testing.assert_close(vmap_loss(logits, labels), F.cross_entropy(logits, labels), rtol=1e-14, atol=0)
    output, target = torch.randn(9, 1, dtype=torch.float64), torch.randn(9, dtype=torch.float64)
    torch.testing.assert_close(vmap_loss(output, target), F.mse_loss(output[:, 0], target))
    scores, classes = torch.randn(4, 3, 5, dtype=torch.float64), torch.randint(0, 3, (4, 5))  # (N, C, d): torch's rule
    torch.testing.assert_close(vmap_loss(scores, classes), F.cross_entropy(scores, classes))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sweep(Beale(), lnp.SGD, lr=[0.1], steps=0), "steps must be an integer >= 1"),
        (lambda: sweep(Beale(), lnp.SGD, lr=[0.1, 0.2], momentum=[0.1, 0.2, 0.3], steps=2),
         "swept hyperparameters must all have the same length K"),
        (lambda: sweep(Beale(), lnp.SGD, lr=np.ones((2, 2)), steps=2), "lr must be a number or a non-empty 1-D"),
        (lambda: sweep(Beale(), lnp.SGD, lr=[], steps=2), "lr must be a number or a non-empty 1-D"),
        (lambda: sweep(Beale(), lnp.SGD, lr=[0.1, -0.1], steps=2), "lr must be finite and in \\[0, inf\\)"),
        (lambda: sweep(Beale(), lnp.SGD, lr=[0.1], steps=2, schedule=lambda t: 1.0), "schedule must be an lrcourse"),
        (lambda: sweep(Beale(), lnp.SGD, steps=2, schedule=StepDecay(1.0, 5, 0.5)), "lr \\(the base rates, >= 0\\)"),
        (lambda: sweep(Beale(), lnp.SGD, lr=[0.1], steps=2, x0=[1.0, 2.0, 3.0]), "x0 must have shape \\(2,\\) or \\(1, 2\\)"),
        (lambda: sweep_model(Beale(), lnp.SGD, lr=[0.1], steps=2, data=(1, 2)), "model must be a torch.nn.Module"),
        (lambda: sweep(SoftmaxRegression(2, 2), lnp.SGD, lr=[0.1], steps=2),
         "problem must be an lrcourse.problems Problem \\(for a torch model use lrcourse.torch.sweep_model\\)"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), lnp.SGD, lr=[0.1], steps=2, data=None), "data must be given"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), lnp.SGD, lr=[0.1, 0.2], steps=2, data=(1, 2),
                       x0=[SoftmaxRegression(2, 2)]), "x0 must give one start per run: linear.weight must have "
                                                        "shape \\(2, 2, 2\\)"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), lnp.SGD, lr=[0.1], steps=2, data=(1, 2),
                       x0=[SoftmaxRegression(3, 2)]), "x0: every module must have the model's parameters and shapes"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), lnp.SGD, lr=[0.1], steps=2, data=(1, 2),
                       x0={"weight": np.zeros((1, 2, 2))}), "x0 must give the model's parameters"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), lnp.SGD, lr=[0.1], steps=2, data=(1, 2), x0=np.zeros((1, 6))),
         "x0 for a model must be a list of K modules or a dict"),
        (lambda: sweep_model(torch.nn.BatchNorm1d(3), lnp.SGD, lr=[0.1], steps=2, data=(torch.zeros(2, 3), torch.zeros(2))),
         "sweep_model does not support models with buffers \\(batch norm.s running statistics\\), got a model "
         "with the buffers \\[.running_mean., .running_var., .num_batches_tracked.\\]"),
        (lambda: sweep("rosenbrock", lnp.SGD, lr=[0.1], steps=2), "problem must be an lrcourse.problems Problem"),
        (lambda: sweep(Beale(), lnp.Adam, lr=[0.1], betas=(1.5, 0.9), steps=2), "betas\\[0\\] must be a finite number in \\[0, 1\\)"),
        (lambda: sweep(Beale(), lnp.SGD, lr=(0.1, "0.2"), steps=2), "lr must be a number or a non-empty 1-D list"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), torch.optim.Adam, lr=[0.1], steps=2, data=(1, 2)),
         "optimizer must be an lrcourse.numpy optimizer class, got the torch optimizer torch.optim.adam.Adam: "
         "a sweep updates its K runs with lrcourse.numpy.Adam"),
        (lambda: sweep_model(SoftmaxRegression(2, 2), ltorch.SGD, lr=[0.1], steps=2, data=(1, 2)),
         "got the torch optimizer lrcourse.torch.optim.sgd.SGD: a sweep updates its K runs with lrcourse.numpy.SGD"),
        (lambda: sweep(Beale(), lnp.Adam(lr=0.1), lr=[0.1], steps=2),
         "optimizer must be an lrcourse.numpy optimizer class \\(the class, not an instance: the hyperparameters go "
         "to the sweep as keywords\\), got Adam\\(lr=0.1"),
        (lambda: sweep(Beale(), lnp.SGD, lr=[0.1, 1j], steps=2), "lr must be a number or a non-empty 1-D list"),
        (lambda: sweep(Beale(), lnp.SGD, lr=(0.1, [0.2, 0.3]), steps=2), "lr must be a number or a non-empty 1-D"),
        (lambda: sweep(Beale(), lnp.Adam, lr=[0.1], betas=(np.ones((2, 2)), 0.9), steps=2),
         "betas\\[0\\] must be a number or a non-empty 1-D list"),
    ],
)
def test_bad_input_raises_an_error_naming_the_parameter(call, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_the_chapter_one_liner() -> None:
    # The "done when": 64 rates on Rosenbrock in one line, the plot in one more.
    import lrcourse.numpy
    from lrcourse import problems

    result = sweep(problems.Rosenbrock(), lrcourse.numpy.Adam, lr=np.geomspace(1e-4, 1, 64), steps=200)
    ax = result.plot()
    assert result.losses.shape == (64, 201) and result.params.shape == (64, 2)
    assert ax.get_xlabel() == r"learning rate $\alpha$" and result.final_loss.min() < 0.01 < result.final_loss.max()
    plt.close("all")


def test_plot_final_loss_against_the_rate() -> None:
    lrs = np.geomspace(1e-5, 1e-1, 9)
    result = sweep(Rosenbrock(), lnp.SGD, lr=lrs, steps=100)
    assert result.diverged.any() and not result.diverged.all()
    ax = result.plot()
    curve, best = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(curve.get_xdata(), lrs[~result.diverged])
    np.testing.assert_array_equal(curve.get_ydata(), result.final_loss[~result.diverged])
    assert best.get_xdata()[0] == lrs[result.best()]
    crosses = ax.lines[-1]
    assert len(crosses.get_xdata()) == result.diverged.sum()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    plt.close("all")


def test_plot_curves_one_line_per_run() -> None:
    result = sweep(Saddle(), lnp.SGD, lr=[0.01, 0.1, 0.5], steps=50)  # losses go negative: a linear axis
    ax = plot_sweep(result, kind="curves")
    assert len(ax.lines) == 3 and ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), result.losses[0])  # sorted by rate
    with pytest.raises(ValueError, match="kind must be 'final' or 'curves'"):
        plot_sweep(result, kind="surface")
    with pytest.raises(ValueError, match="x must be one of the swept hyperparameters \\['lr'\\]"):
        plot_sweep(result, x="momentum")
    plt.close("all")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_model_sweep_on_cuda_matches_the_cpu(wine64) -> None:
    X, y = wine64.tensors("train", "cpu")
    model = SoftmaxRegression(13, 3).double()
    on_cpu = sweep_model(model, lnp.Adam, lr=[1e-2, 1e-1], steps=10, data=(X, y), device="cpu")
    on_gpu = sweep_model(model, lnp.Adam, lr=[1e-2, 1e-1], steps=10, data=(X, y), device="cuda")
    assert on_gpu.backend in ("cupy", "numpy (host copies)")
    np.testing.assert_allclose(on_gpu.losses, on_cpu.losses, rtol=1e-10)


def test_run_scores_equal_each_run_evaluated_alone():
    digits = load("digits", seed=0)
    X, y = digits.tensors("train", "cpu")
    X_val, y_val = digits.tensors("val", "cpu")
    model = MLP(X.shape[1], 10, hidden=(8,), seed=0)
    result = sweep_model(model, lnp.SGD, lr=[0.01, 0.3, 1e4], steps=20, data=(X, y), device="cpu")
    loss, accuracy = run_scores(model, result.params, X_val, y_val)
    assert result.diverged.tolist() == [False, False, True]
    for k in range(2):
        alone = copy.deepcopy(model)
        alone.load_state_dict({name: torch.from_numpy(array[k]) for name, array in result.params.items()})
        with torch.no_grad():
            out = alone(X_val)
        assert loss[k] == pytest.approx(F.cross_entropy(out, y_val).item(), rel=1e-5)
        assert accuracy[k] == pytest.approx((out.argmax(1) == y_val).double().mean().item())
        torch.testing.assert_close(run_outputs(model, result.params, X_val)[k], out, rtol=1e-5, atol=1e-6)
    assert loss[2] == np.inf


WIDE_MODELS = [
    ("softmax regression", lambda: SoftmaxRegression(64, 10, seed=1)),
    ("MLP", lambda: MLP(64, 10, hidden=(16, 12), seed=1)),
    ("BodyHead", lambda: BodyHead(64, 10, hidden=(16,), seed=1)),
    ("CNN", lambda: SmallCNN(seed=1)),
]


@pytest.mark.parametrize("make_model", [m for _, m in WIDE_MODELS], ids=[name for name, _ in WIDE_MODELS])
@pytest.mark.parametrize("batching", ["full batch", "loader"])
def test_wide_linear_equals_vmaps_own_batching(make_model, batching: str) -> None:
    # The fast path (one wide product for a layer that every run sees the same input of,
    # features-major layouts after it) against vmap's own rule for every layer, in float64:
    # the same numbers up to rounding, scaled to the quantity (the starting loss, the
    # weights' size), for runs from crawling to large steps.
    digits = load("digits", dtype=np.float64, seed=0)
    X, y = (t[:300] for t in digits.tensors("train", "cpu"))
    data = (X, y) if batching == "full batch" else torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, y), batch_size=64, shuffle=True)
    model = make_model().double()
    lrs = np.geomspace(1e-3, 0.1, 5)
    fast = sweep_model(model, lnp.Adam, lr=lrs, steps=12, data=data, seed=2, device="cpu")
    plain = sweep_model(model, lnp.Adam, lr=lrs, steps=12, data=data, seed=2, device="cpu", wide_linear=False)
    np.testing.assert_allclose(fast.losses, plain.losses, rtol=1e-10, atol=1e-12 * plain.losses[:, 0].max())
    for name, weights in plain.params.items():
        scale = np.abs(weights).max()
        np.testing.assert_allclose(fast.params[name], weights, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("model", [SoftmaxRegression(64, 10), MLP(64, 10, hidden=(16,))], ids=["softmax", "MLP"])
def test_wide_linear_makes_one_product_for_the_shared_input(model) -> None:
    # The speed of the fast path is its layout: the layer on the shared data must be one
    # mm/addmm of K·C rows, not vmap's bmm over the data expanded K times (a torch release
    # that changed how the rule is called would make this fail, not just slow down).
    X, y = torch.randn(50, 64), torch.randint(0, 10, (50,))
    with torch.profiler.profile(record_shapes=True) as prof:
        sweep_model(model, lnp.SGD, lr=np.full(8, 0.1), steps=1, data=(X, y), device="cpu")
    bmm_on_the_data = [e.input_shapes for e in prof.events() if e.name == "aten::bmm"
                       and e.input_shapes[0][1:] in ([50, 64], [64, 50])]
    wide = [e.input_shapes for e in prof.events() if e.name in ("aten::addmm", "aten::mm")
            and [8 * model(X[:1]).shape[1] if isinstance(model, SoftmaxRegression) else 8 * 16, 64] in e.input_shapes]
    assert not bmm_on_the_data and wide


def test_one_start_per_run_sweeps_seeds_and_rates_in_one_call(wine64) -> None:
    # Chapter 5's use: seeds x rates as one sweep, each run from its own initialisation.
    X, y = wine64.tensors("train", "cpu")
    seeds, lrs = [0, 1, 2], np.array([1e-2, 1e-1])
    starts = [MLP(13, 3, hidden=(8,), seed=s).double() for s in seeds for _ in lrs]
    g = grid(seed=seeds, lr=lrs)
    together = sweep_model(starts[0], lnp.Adam, lr=g["lr"], x0=starts, steps=15, data=(X, y), device="cpu")
    for k, (s, lr) in enumerate(zip(g["seed"], g["lr"])):
        alone = sweep_model(MLP(13, 3, hidden=(8,), seed=int(s)).double(), lnp.Adam, lr=[lr], steps=15, data=(X, y),
                      device="cpu")
        np.testing.assert_allclose(together.losses[k], alone.losses[0], rtol=1e-10, atol=1e-12)
        for name, weights in alone.params.items():
            np.testing.assert_allclose(together.params[name][k], weights[0], rtol=1e-10, atol=1e-12)
    again = sweep_model(starts[0], lnp.Adam, lr=g["lr"], x0=together.params, steps=5, data=(X, y), device="cpu")
    assert again.losses[:, 0] == pytest.approx(together.losses[:, -1], rel=1e-12)  # a dict of (K, ...) arrays


def test_max_norm_clips_each_run_as_clip_grad_norm_does_in_separate_runs(wine64) -> None:
    # Each run is clipped by its own global norm, as torch.nn.utils.clip_grad_norm_ clips one run: K separate torch
    # runs (Adam, float64, an MLP of two layers) with thresholds that clip every step, some steps, or nothing.
    X, y = wine64.tensors("train", "cpu")
    model = MLP(13, 3, hidden=(8,)).double()
    lrs = np.array([0.01, 0.05, 0.05, 0.2])
    norms = [0.005, 0.2, np.inf, 1.0]
    result = sweep_model(model, lnp.Adam, lr=lrs, steps=30, data=(X, y), device="cpu", max_norm=norms)
    clipped = []
    for lr, max_norm in zip(lrs, norms):
        m = copy.deepcopy(model)
        optimizer = torch.optim.Adam(m.parameters(), lr=lr)
        losses, hits = [], 0
        for _ in range(30):
            optimizer.zero_grad()
            loss = F.cross_entropy(m(X), y)
            losses.append(loss.item())
            loss.backward()
            hits += int(torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm) > max_norm)
            optimizer.step()
        with torch.no_grad():
            losses.append(F.cross_entropy(m(X), y).item())
        np.testing.assert_allclose(result.losses[len(clipped)], losses, rtol=1e-6, atol=1e-6)
        for name, p in m.named_parameters():
            np.testing.assert_allclose(result.params[name][len(clipped)], p.detach().numpy(), rtol=1e-6, atol=1e-6)
        clipped.append(hits)
    assert clipped[0] == 30 and 0 < clipped[1] < 30 and clipped[2] == 0  # the cases: every step, some, none
    unclipped = sweep_model(model, lnp.Adam, lr=lrs, steps=30, data=(X, y), device="cpu")
    assert not np.allclose(unclipped.losses[0], result.losses[0])  # clipping changed the clipped runs
    np.testing.assert_array_equal(unclipped.losses[2], result.losses[2])  # and inf left its run alone


def test_one_max_norm_for_every_run_equals_the_same_threshold_per_run(wine64) -> None:
    X, y = wine64.tensors("train", "cpu")
    model = SoftmaxRegression(13, 3).double()
    shared = sweep_model(model, lnp.SGD, lr=[0.1, 1.0], steps=10, data=(X, y), device="cpu", max_norm=0.3)
    each = sweep_model(model, lnp.SGD, lr=[0.1, 1.0], steps=10, data=(X, y), device="cpu", max_norm=[0.3, 0.3])
    np.testing.assert_array_equal(shared.losses, each.losses)
