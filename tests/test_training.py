"""fit and History: against a hand-written training loop, seeds, schedulers, clipping, divergence."""

from __future__ import annotations

import io
import math
import sys
import types

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR

import lrcourse.numpy as lnp
import lrcourse.torch as ltorch
from lrcourse.torch.data import adding, load
from lrcourse.torch.models import MLP, SequenceRegressor, SoftmaxRegression
from lrcourse.schedules import CosineDecay, Warmup
from lrcourse.torch import torch_scheduler_lrs
from lrcourse.torch.runtime import show_progress
from lrcourse.torch.training import History, default_loss, evaluate, fit


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def wine() -> object:
    return load("wine")


@pytest.fixture(scope="module")
def wine64() -> object:
    return load("wine", dtype=np.float64)


def reference_loop(model, optimizer, loader, epochs, seed, clip=None):
    """The training loop written out: what fit must do, step for step."""
    torch.manual_seed(seed)
    losses, norms = [], []
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            losses.append(loss.item())
            loss.backward()
            grads = [p.grad for p in model.parameters()]
            norm = torch.sqrt(sum((g**2).sum() for g in grads)).item()
            norms.append(norm)
            if clip is not None and norm > clip:
                for g in grads:  # torch's convention: clip / (norm + 1e-6), a hair below the bound
                    g.mul_(clip / (norm + 1e-6))
            optimizer.step()
    return losses, norms


def test_fit_is_the_hand_written_loop(wine64) -> None:
    loader = wine64.loader("train", batch_size=32, device="cpu")
    model = MLP(13, 3, hidden=(8,), seed=1).double()
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loader, epochs=3, seed=7,
                  progress=False, device="cpu")
    reference = MLP(13, 3, hidden=(8,), seed=1).double()
    losses, norms = reference_loop(reference, torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9),
                                   loader, epochs=3, seed=7)
    np.testing.assert_array_equal(history.loss, losses)
    np.testing.assert_allclose(history.grad_norm, norms, rtol=1e-12)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert history.steps == 12 and len(history.lrs) == 12 and history.epoch_loss == pytest.approx(
        [np.mean(losses[i:i + 4]) for i in (0, 4, 8)])
    assert not history.diverged


def test_clipping_scales_the_gradient_to_the_bound_and_records_the_norm_before(wine64) -> None:
    loader = wine64.loader("train", batch_size=32, device="cpu")
    model = MLP(13, 3, hidden=(8,), seed=1).double()
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.5), loader, epochs=2, seed=0, clip=0.3,
                  progress=False, device="cpu")
    reference = MLP(13, 3, hidden=(8,), seed=1).double()
    losses, norms = reference_loop(reference, torch.optim.SGD(reference.parameters(), lr=0.5), loader, 2, 0, clip=0.3)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-10)
    np.testing.assert_allclose(history.grad_norm, norms, rtol=1e-10)
    assert max(history.grad_norm) > 0.3  # clipping did happen


def test_same_seed_same_history_other_seed_other_batches(wine) -> None:
    def run(seed: int) -> History:
        model = SoftmaxRegression(13, 3, seed=0)
        loader = wine.loader("train", batch_size=16, device="cpu")
        return fit(model, ltorch.Adam(model.parameters(), lr=0.01), loader, steps=20, seed=seed,
                   val_data=wine.tensors("val", "cpu"), progress=False, device="cpu")

    state = torch.get_rng_state()
    a, b, c = run(3), run(3), run(4)
    assert torch.equal(torch.get_rng_state(), state)  # fit leaves the caller's generator alone
    assert a == b  # every field: losses, rates, norms, epochs, validation
    assert a.loss != c.loss


def test_steps_and_epochs_count_updates(wine) -> None:
    loader = wine.loader("train", batch_size=50, device="cpu")  # 106 examples: 3 batches per epoch
    model = SoftmaxRegression(13, 3)
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, steps=7, progress=False,
                  val_data=wine.tensors("val", "cpu"), device="cpu")
    assert history.steps == 7 and len(history.epoch_loss) == 3  # 3 + 3 + 1
    assert history.epoch_loss[2] == history.loss[6]
    assert history.val_step == [0, 3, 6, 7]  # before training, each epoch end, the end
    full = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), wine.tensors("train", "cpu"), epochs=4,
               progress=False, device="cpu")
    assert full.steps == 4 and full.epoch_loss == full.loss  # full batch: one step per epoch


def test_validation_metrics_equal_an_independent_evaluation(wine64) -> None:
    model = SoftmaxRegression(13, 3).double()
    X_val, y_val = wine64.tensors("val", "cpu")
    with torch.no_grad():
        logits = model(X_val)
        loss0 = torch.nn.functional.cross_entropy(logits, y_val).item()
        accuracy0 = (logits.argmax(1) == y_val).double().mean().item()
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), wine64.tensors("train", "cpu"), steps=5,
                  val_data=(X_val, y_val), eval_every=2, progress=False, device="cpu")
    assert history.val_step == [0, 2, 4, 5]
    assert history.val["loss"][0] == pytest.approx(loss0, rel=1e-12)
    assert history.val["accuracy"][0] == pytest.approx(accuracy0)
    final = evaluate(model, (X_val, y_val), device="cpu")
    assert history.val["loss"][-1] == pytest.approx(final["loss"], rel=1e-12)
    # Over a loader, batch losses are weighted by batch size: the same number.
    by_batches = evaluate(model, wine64.loader("val", batch_size=7, device="cpu"), device="cpu")
    assert by_batches["loss"] == pytest.approx(final["loss"], rel=1e-12)
    assert by_batches["accuracy"] == final["accuracy"]


def test_lrcourse_schedule_gives_its_closed_form_per_step(wine) -> None:
    model = SoftmaxRegression(13, 3)
    schedule = Warmup(CosineDecay(0.1, total_steps=20), warmup_steps=5)
    history = fit(model, ltorch.SGD(model.parameters(), lr=1.0), wine.tensors("train", "cpu"), steps=20,
                  scheduler=schedule, progress=False, device="cpu")
    np.testing.assert_array_equal(history.lr, schedule(np.arange(20)))
    assert history.lr[0] == 0.0  # warmup starts at zero: the first update uses schedule(0)


def test_torch_scheduler_is_stepped_once_per_update(wine) -> None:
    model = SoftmaxRegression(13, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, optimizer, wine.tensors("train", "cpu"), steps=9,
                  scheduler=StepLR(optimizer, step_size=4, gamma=0.5), progress=False, device="cpu")
    expected = torch_scheduler_lrs(lambda opt: StepLR(opt, step_size=4, gamma=0.5), steps=9, lr=0.1)
    np.testing.assert_allclose(history.lr, expected, rtol=1e-15)


def test_reduce_on_plateau_reads_the_validation_loss(wine) -> None:
    model = SoftmaxRegression(13, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-12)  # nothing improves
    scheduler = ReduceLROnPlateau(optimizer, factor=0.1, patience=1, eps=0.0)  # eps: no minimum decay
    history = fit(model, optimizer, wine.tensors("train", "cpu"), steps=5, scheduler=scheduler,
                  val_data=wine.tensors("val", "cpu"), progress=False, device="cpu")
    # Evaluations after updates 1, 2, 3: the first sets the best, the third exceeds patience 1.
    np.testing.assert_allclose(history.lr, [1e-12, 1e-12, 1e-12, 1e-13, 1e-13])
    with pytest.raises(ValueError, match="ReduceLROnPlateau scheduler needs val_data"):
        fit(model, optimizer, wine.tensors("train", "cpu"), steps=1, scheduler=scheduler, progress=False)


def test_divergence_stops_the_run_and_keeps_the_history() -> None:
    diabetes = load("diabetes", dtype=np.float64)
    model = MLP(10, 1, hidden=(16,)).double()
    history = fit(model, torch.optim.SGD(model.parameters(), lr=5.0), diabetes.tensors("train", "cpu"),
                  steps=200, progress=False, device="cpu")
    assert history.diverged and history.steps < 200
    assert not math.isfinite(history.loss[-1]) and all(math.isfinite(v) for v in history.loss[:-1])
    assert math.isnan(history.grad_norm[-1]) and len(history.grad_norm) == len(history.lrs) == history.steps
    assert history.loss[1] > history.loss[0]  # it was going up before it overflowed


def test_clipping_tames_the_exploding_gradients_of_the_adding_problem() -> None:
    # The IRNN of Le et al. on the adding problem with T = 50: the first update pushes the
    # recurrent matrix above the identity, and without clipping the next gradient is about
    # 1e6 in norm: the loss leaps to about 1e4 and the run ends far worse than the constant
    # guess (loss 1/6). Clipped to norm 1, the same run (same seed, same batches) stays sane.
    data = adding(length=50, n_train=512, seed=0)
    loader = data.loader("train", batch_size=32, device="cpu")

    def run(clip: float | None) -> History:
        model = SequenceRegressor("irnn", hidden_size=32, seed=0)
        return fit(model, torch.optim.SGD(model.parameters(), lr=0.03), loader, steps=30, clip=clip, seed=0,
                   progress=False, device="cpu")

    wild, clipped = run(None), run(1.0)
    assert max(wild.grad_norm) > 1e5 and max(wild.loss) > 1e3 and np.mean(wild.loss[-10:]) > 1.0
    assert max(clipped.grad_norm) > 10  # the gradients still spike; clipping bounds the step
    assert max(clipped.loss) < 2.0 and np.mean(clipped.loss[-10:]) < 0.5


def test_default_loss_matches_torch() -> None:
    logits, labels = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 3, 1, 1, 2, 0])
    assert default_loss(logits, labels) == torch.nn.functional.cross_entropy(logits, labels)
    output, target = torch.randn(6, 1), torch.randn(6)
    assert default_loss(output, target) == torch.nn.functional.mse_loss(output[:, 0], target)


def test_progress_bar_shows_only_when_interactive(monkeypatch: pytest.MonkeyPatch, wine) -> None:
    monkeypatch.delenv("LRCOURSE_PROGRESS", raising=False)
    model = SoftmaxRegression(13, 3)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), wine.tensors("train", "cpu"), steps=3, device="cpu")
    assert stderr.getvalue() == ""  # not a terminal: silent
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), wine.tensors("train", "cpu"), steps=3, device="cpu",
        progress=True)
    assert "fit" in stderr.getvalue() and "3/3" in stderr.getvalue()
    # In a Jupyter kernel it shows, unless LRCOURSE_PROGRESS=0.
    kernel_shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel_shell))
    assert show_progress(None) is True
    monkeypatch.setenv("LRCOURSE_PROGRESS", "0")
    assert show_progress(None) is False and show_progress(True) is True


def test_any_torch_optimizer(wine64) -> None:
    # lrcourse.torch and torch.optim optimizers both drive fit, to the same numbers.
    def run(make) -> list[float]:
        model = SoftmaxRegression(13, 3).double()
        return fit(model, make(model.parameters()), wine64.tensors("train", "cpu"), steps=15, progress=False,
                   device="cpu").loss

    np.testing.assert_allclose(run(lambda p: ltorch.Adam(p, lr=0.05)), run(lambda p: torch.optim.Adam(p, lr=0.05)),
                               rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "give exactly one of steps and epochs"),
        ({"steps": 3, "epochs": 1}, "give exactly one of steps and epochs"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"epochs": 1.5}, "epochs must be an integer >= 1"),
        ({"steps": 3, "eval_every": 0}, "eval_every must be an integer >= 1"),
        ({"steps": 3, "clip": 0.0}, "clip must be a finite number in \\(0, inf\\)"),
        ({"steps": 3, "device": "tpu"}, "device must be one of"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(kwargs: dict, match: str, wine) -> None:
    model = SoftmaxRegression(13, 3)
    with pytest.raises(ValueError, match=match):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), wine.tensors("train", "cpu"), progress=False, **kwargs)


def test_steps_must_be_a_count_not_a_flag(wine) -> None:
    model = SoftmaxRegression(13, 3)
    for steps in (True, False):
        with pytest.raises(TypeError, match=f"steps must be an integer >= 1, got {steps}"):
            fit(model, torch.optim.SGD(model.parameters(), lr=0.1), wine.tensors("train", "cpu"), steps=steps,
                progress=False, device="cpu")


def test_fit_on_a_generator_with_steps_sees_the_batches_a_list_gives(wine64) -> None:
    batches = list(wine64.loader("train", batch_size=32, shuffle=False, device="cpu"))  # 4 batches

    def run(data, steps: int) -> History:
        model = SoftmaxRegression(13, 3).double()
        return fit(model, torch.optim.SGD(model.parameters(), lr=0.1), data, steps=steps, progress=False,
                   device="cpu")

    from_a_generator = run((batch for batch in batches), steps=4)
    assert from_a_generator == run(batches, steps=4) and from_a_generator.steps == 4
    with pytest.raises(ValueError, match="generator that was already used up"):  # a second epoch: nothing left
        run((batch for batch in batches), steps=6)


def test_fit_on_a_generator_with_epochs_asks_for_steps(wine64) -> None:
    model = SoftmaxRegression(13, 3).double()
    generator = (batch for batch in wine64.loader("train", batch_size=32, device="cpu"))
    with pytest.raises(ValueError, match="epochs needs data whose length is known .* got a generator: give steps"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), generator, epochs=1, progress=False, device="cpu")


def test_evaluate_on_no_data_is_a_value_error() -> None:
    model = SoftmaxRegression(2, 2)
    with pytest.raises(ValueError, match="data must hold at least one batch, got an empty iterable"):
        evaluate(model, [], device="cpu")
    with pytest.raises(ValueError, match="data must hold at least one example, got batches of size 0"):
        evaluate(model, (torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), device="cpu")
    assert model.training  # left in the mode it was in, also when it raises


def test_evaluate_on_a_generator_equals_the_full_batch(wine64) -> None:
    model = SoftmaxRegression(13, 3).double()
    batches = wine64.loader("val", batch_size=10, device="cpu")
    assert evaluate(model, (b for b in batches), device="cpu") == pytest.approx(
        evaluate(model, wine64.tensors("val", "cpu"), device="cpu"), rel=1e-12)


def other_optimizer(model):
    return torch.optim.SGD(SoftmaxRegression(13, 3).parameters(), lr=0.1)


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"optimizer": lnp.SGD(lr=0.1)}, TypeError, "optimizer must be a torch.optim.Optimizer"),
        ({"optimizer": torch.optim.SGD}, TypeError, "optimizer must be a torch.optim.Optimizer"),
        ({"optimizer": other_optimizer}, ValueError, "optimizer must be built on the model's parameters"),
        ({"model": "mlp"}, TypeError, "model must be a torch.nn.Module, got 'mlp'"),
        ({"loss_fn": "cross_entropy"}, TypeError, "loss_fn must be a function loss_fn\\(output, target\\)"),
        ({"loss_fn": 5}, TypeError, "loss_fn must be a function"),
        ({"scheduler": "cosine"}, TypeError, "scheduler must be a torch scheduler or an lrcourse schedule"),
        ({"scheduler": 0.1}, TypeError, "scheduler must be a torch scheduler or an lrcourse schedule"),
        ({"device": "gpu"}, ValueError, "device must be one of 'cpu', 'cuda'"),
        ({"device": 1.5}, ValueError, "device must be one of"),
        ({"progress": "yes"}, TypeError, "progress must be True, False or None, got 'yes'"),
        ({"progress": 1}, TypeError, "progress must be True, False or None, got 1"),
        ({"val_data": []}, ValueError, "val_data must hold at least one batch"),
        ({"val_data": 5}, ValueError, "val_data must be a pair \\(X, y\\) of tensors or an iterable"),
        ({"val_data": "xy"}, ValueError, "val_data must yield \\(x, y\\) pairs, got a str"),
        ({"clip": -1.0}, ValueError, "clip must be a finite number in \\(0, inf\\)"),
        ({"clip": "1"}, TypeError, "clip must be a real number"),
    ],
)
def test_a_bad_argument_is_refused_before_anything_changes(wine, change: dict, error, match: str) -> None:
    model = MLP(13, 3, hidden=(4,)).eval()
    arguments = {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
                 "data": wine.tensors("train", "cpu"), "steps": 2, "progress": False, "device": "cpu", **change}
    if callable(arguments["optimizer"]) and not isinstance(arguments["optimizer"], type):
        arguments["optimizer"] = arguments["optimizer"](model)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    with pytest.raises(error, match=match):
        fit(**arguments)
    assert not model.training  # not even put in training mode
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"model": None}, TypeError, "model must be a torch.nn.Module, got None"),
        ({"loss_fn": "mse"}, TypeError, "loss_fn must be a function loss_fn\\(output, target\\)"),
        ({"data": 5}, ValueError, "data must be a pair \\(X, y\\) of tensors or an iterable"),
        ({"data": "xy"}, ValueError, "data must yield \\(x, y\\) pairs, got a str"),
        ({"device": "tpu"}, ValueError, "device must be one of"),
    ],
)
def test_evaluate_refuses_bad_arguments_by_name(wine, change: dict, error, match: str) -> None:
    arguments = {"model": SoftmaxRegression(13, 3), "data": wine.tensors("val", "cpu"), "device": "cpu", **change}
    with pytest.raises(error, match=match):
        evaluate(**arguments)


def test_bad_data_raises_value_error() -> None:
    model = SoftmaxRegression(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="data must hold at least one batch"):
        fit(model, optimizer, [], steps=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="data must be a pair \\(X, y\\)"):
        fit(model, optimizer, (torch.zeros(2, 2), torch.zeros(2), torch.zeros(2)), steps=1, progress=False,
            device="cpu")


def test_train_step_checks_its_arguments_as_fit_does() -> None:
    """An optimizer of another model trained nothing and said nothing; clip 0 zeroed the step; '1' reached torch."""
    from lrcourse.torch.training import train_step

    model = SoftmaxRegression(2, 2)
    x, y = torch.randn(4, 2, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 0, 1])
    before = [p.detach().clone() for p in model.parameters()]
    cases = [({"optimizer": torch.optim.SGD(SoftmaxRegression(2, 2).parameters(), lr=0.1)}, ValueError,
              "optimizer must be built on the model's parameters"),
             ({"model": "mlp"}, TypeError, "model must be a torch.nn.Module"),
             ({"loss_fn": "mse"}, TypeError, "loss_fn must be a function"),
             ({"clip": "1"}, TypeError, "clip must be a real number"),
             ({"clip": 0.0}, ValueError, "clip must be a number in \\(0, inf\\]"),
             ({"clip": math.nan}, ValueError, "clip must be a number in \\(0, inf\\]")]
    for change, error, match in cases:
        arguments = {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
                     "loss_fn": default_loss, "x": x, "y": y, **change}
        with pytest.raises(error, match=match):
            train_step(**arguments)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    # clip=inf only measures, as clip=None does; loss_fn=None is fit's default loss
    _, measured = train_step(model, torch.optim.SGD(model.parameters(), lr=0.0), None, x, y, clip=math.inf)
    _, unclipped = train_step(model, torch.optim.SGD(model.parameters(), lr=0.0), default_loss, x, y)
    assert measured == unclipped > 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_matches_the_cpu(wine64) -> None:
    def run(device: str) -> list[float]:
        model = SoftmaxRegression(13, 3).double()
        return fit(model, torch.optim.Adam(model.parameters(), lr=0.05), wine64.tensors("train", device), steps=10,
                   progress=False, device=device).loss

    np.testing.assert_allclose(run("cuda"), run("cpu"), rtol=1e-10)


def test_evaluate_scores_a_target_at_every_position() -> None:
    # scores (N, C, T): the accuracy is over the N·T positions, the loss cross_entropy's mean
    from lrcourse.torch.models import TinyTransformer

    torch.manual_seed(0)
    model = TinyTransformer(seed=0)
    x = torch.randint(0, 38, (6, 12))
    y = torch.randint(0, 38, (6, 12))
    with torch.no_grad():
        scores = model(x)
    metrics = evaluate(model, (x, y), device="cpu")
    assert scores.shape[:2] == (6, 38) and scores.shape[2] == 12
    assert metrics["accuracy"] == int((scores.argmax(dim=1) == y).sum()) / y.numel()
    assert metrics["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(scores, y)), rel=1e-6)
    # with C = T the old argmax(dim=-1) would be silently wrong: the classes are on dim 1
    assert 0.0 <= metrics["accuracy"] <= 1.0
