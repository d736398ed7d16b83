"""lrcourse.torch.runtime, what the loops share: seeding, batches, the progress bar, setting the rate.

The seeding tests are written against the bug of issue 13: ``seeded`` used to call
``torch.manual_seed``, which reseeds every CUDA and MPS generator (through
``torch.cuda.manual_seed_all`` and ``torch.mps.manual_seed``) and, inside
``fork_rng(devices=[])``, never restores them. So building a model or fitting on the
CPU changed what the GPU would draw next. Here the accelerators' seeding functions are
replaced by recorders: on a machine without a GPU the CPU paths must not call them.
"""

from __future__ import annotations

import io
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

import lrcourse.numpy as lnp
import lrcourse.torch.models as models
from lrcourse.torch import lr_range_test
from lrcourse.torch.runtime import batches_per_epoch, check_data, cycle, one_epoch, progress_bar, seeded, set_lr, show_progress
from lrcourse.torch.sweep import sweep_model
from lrcourse.torch.training import fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py

# Every model of lrcourse.torch.models, built as a chapter builds it. A new model joins
# this table (test_the_table_has_every_model checks that it did).
BUILDERS = {
    "SoftmaxRegression": lambda: models.SoftmaxRegression(4, 3),
    "MLP": lambda: models.MLP(4, 3, hidden=(5, 5)),
    "SmallCNN": lambda: models.SmallCNN(),
    "SequenceRegressor": lambda: [models.SequenceRegressor(cell, hidden_size=4) for cell in ("rnn", "irnn", "lstm")],
    "BodyHead": lambda: models.BodyHead(4, 3, hidden=(5,)).replace_head(2),
    "pretrain_digits": lambda: models.pretrain_digits(steps=2, hidden=(4,)),
    "CharMLP": lambda: models.CharMLP(6, context=3, embedding_dim=2, hidden=(4,)),
    "WidthMLP": lambda: [models.WidthMLP(4, 3, width=8, parametrization=p) for p in ("standard", "mup")],
    "TinyTransformer": lambda: [models.TinyTransformer(6, context=4, d_model=8, n_heads=2, norm=n)
                                for n in ("pre", "post")],
}


def test_the_table_has_every_model() -> None:
    assert set(BUILDERS) == set(models.__all__)


def small_fit(device: str = "cpu", seed: int = 0) -> list[float]:
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))  # dropout draws every step
    g = torch.Generator().manual_seed(1)  # the same weights and data every call, from a generator of its own
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    X, y = torch.randn(16, 4, generator=g), torch.arange(16) % 2
    return fit(model, torch.optim.SGD(model.parameters(), lr=0.1), (X.to(device), y.to(device)), steps=5,
               seed=seed, progress=False, device=device).loss


@pytest.fixture
def accelerator_seeding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the CUDA and MPS seeding functions by recorders; return the list of the calls."""
    calls: list[str] = []
    for module, name in ((torch.cuda, "manual_seed_all"), (torch.cuda, "manual_seed"), (torch.mps, "manual_seed")):
        monkeypatch.setattr(module, name, lambda seed, _name=f"{module.__name__}.{name}": calls.append(_name))
    return calls


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_building_a_model_seeds_no_accelerator(name: str, accelerator_seeding: list[str]) -> None:
    BUILDERS[name]()
    assert accelerator_seeding == []


def test_the_cpu_loops_seed_no_accelerator(accelerator_seeding: list[str]) -> None:
    small_fit()
    X, y = torch.randn(16, 4), torch.arange(16) % 2
    sweep_model(models.SoftmaxRegression(4, 2), lnp.SGD, lr=[0.1, 0.2], steps=3, data=(X, y), device="cpu")
    model = models.SoftmaxRegression(4, 2)
    lr_range_test(model, torch.optim.SGD(model.parameters(), lr=1e-3), torch.nn.functional.cross_entropy, (X, y),
                  num_steps=5, progress=False)
    assert accelerator_seeding == []


def test_seeded_seeds_the_cpu_generator_and_restores_it() -> None:
    torch.rand(1)  # somewhere in the middle of the caller's stream
    before = torch.get_rng_state()
    with seeded(7):
        drawn = torch.rand(5)
    torch.testing.assert_close(drawn, torch.rand(5, generator=torch.Generator().manual_seed(7)), rtol=0, atol=0)
    assert torch.equal(torch.get_rng_state(), before)


def test_seeded_restores_the_cpu_generator_after_an_exception() -> None:
    before = torch.get_rng_state()
    with pytest.raises(KeyboardInterrupt):
        with seeded(3):
            torch.rand(100)
            raise KeyboardInterrupt
    assert torch.equal(torch.get_rng_state(), before)


def test_seeded_none_draws_from_the_callers_stream() -> None:
    torch.manual_seed(11)
    with seeded(None):
        inside = torch.rand(3)
    after = torch.rand(3)
    torch.manual_seed(11)
    torch.testing.assert_close(torch.cat([inside, after]), torch.rand(6), rtol=0, atol=0)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, ValueError), (True, TypeError), ("3", TypeError)])
def test_seeded_refuses_a_bad_seed(seed, error) -> None:
    before = torch.get_rng_state()
    with pytest.raises(error, match="seed must be an integer >= 0"):
        with seeded(seed):
            pass
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("device", ["tpu", 1.5, True])
def test_seeded_refuses_a_device_that_is_not_one(device) -> None:
    before = torch.get_rng_state()
    with pytest.raises(ValueError, match="device must be one of 'cpu', 'cuda'"):
        with seeded(0, device):
            pass
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_seeded_on_a_missing_gpu_says_so() -> None:
    with pytest.raises(ValueError, match="device 'cuda' is not available: this machine has 0 CUDA device"):
        with seeded(0, "cuda"):
            pass


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_cpu_leaves_the_cuda_generator_alone() -> None:
    torch.rand(1, device="cuda")
    before = torch.cuda.get_rng_state()
    for build in BUILDERS.values():
        build()
    assert torch.equal(torch.cuda.get_rng_state(), before)
    small_fit("cpu")
    assert torch.equal(torch.cuda.get_rng_state(), before)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_seeds_the_cuda_generator_and_restores_it() -> None:
    torch.rand(1, device="cuda")
    before = torch.cuda.get_rng_state()
    first = small_fit("cuda", seed=0)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    torch.rand(10, device="cuda")  # the caller's stream moves on; the seeded run must not care
    assert small_fit("cuda", seed=0) == first  # the dropout masks come from the seeded CUDA generator
    assert small_fit("cuda", seed=1) != first
    cpu_before = torch.get_rng_state()
    with seeded(5, "cuda"):
        drawn = torch.rand(4, device="cuda")
    assert torch.equal(drawn, torch.rand(4, device="cuda", generator=torch.Generator("cuda").manual_seed(5)))
    assert torch.equal(torch.get_rng_state(), cpu_before)


# Batches: one version of the cycling for fit, sweep_model and the range test.

X, Y = torch.arange(12.0).reshape(6, 2), torch.arange(6)
BATCHES = [(X[:2], Y[:2]), (X[2:4], Y[2:4]), (X[4:], Y[4:])]


def labels(batches) -> list[list[int]]:
    return [y.tolist() for _, y in batches]


def test_cycle_goes_round_a_list_of_batches() -> None:
    batches = cycle(BATCHES)
    assert labels(next(batches) for _ in range(7)) == [[0, 1], [2, 3], [4, 5]] * 2 + [[0, 1]]


def test_cycle_repeats_the_full_batch() -> None:
    batches = cycle((X, Y))
    for _ in range(3):
        x, y = next(batches)
        assert x is X and y is Y


def test_cycle_detects_an_exhausted_generator() -> None:
    batches = cycle(batch for batch in BATCHES)
    assert labels(next(batches) for _ in range(3)) == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match="data ran out: it gave no batches on its second pass.*not a generator"):
        next(batches)


def test_an_empty_loader_is_an_error_not_an_endless_loop() -> None:
    with pytest.raises(ValueError, match="data must hold at least one batch, got an empty iterable"):
        next(cycle([]))
    empty = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[:0], Y[:0]), batch_size=2)
    with pytest.raises(ValueError, match="data must hold at least one batch"):
        next(cycle(empty))
    with pytest.raises(ValueError, match="data must hold at least one batch"):
        list(one_epoch([]))
    assert list(one_epoch([], empty_ok=True)) == []


def test_one_epoch_of_a_used_up_generator_says_so() -> None:
    generator = (batch for batch in BATCHES)
    assert labels(one_epoch(generator)) == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match="or a generator that was already used up"):
        list(one_epoch(generator))


def test_a_dataloader_yields_its_batches_and_shuffles_alike_under_one_seed() -> None:
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=4, shuffle=True)
    with seeded(0):
        first = labels(one_epoch(loader))
    with seeded(0):
        again = labels(one_epoch(loader))
    assert first == again and sorted(sum(first, [])) == list(range(6)) and [len(b) for b in first] == [4, 2]
    assert batches_per_epoch(loader) == 2


def test_batches_per_epoch() -> None:
    assert batches_per_epoch((X, Y)) == 1
    assert batches_per_epoch(BATCHES) == 3
    assert batches_per_epoch(batch for batch in BATCHES) is None


@pytest.mark.parametrize(
    "data, match",
    [
        ([(X, Y, Y)], "data must yield \\(x, y\\) pairs, got a tuple of length 3"),
        ([X], "data must yield \\(x, y\\) pairs, got a Tensor"),
        ([(X,)], "got a tuple of length 1"),
        ((X, Y, Y), "got a tuple of 3 tensors"),
        ((X,), "got a tuple of 1 tensors"),
        (X, "data must be a pair \\(X, y\\) of tensors or an iterable of \\(x, y\\) batches, got a Tensor"),
        (5, "got a int"),
    ],
)
def test_bad_batches_are_named(data, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        next(cycle(data))
    with pytest.raises(ValueError, match=match):
        list(one_epoch(data))


def test_errors_call_the_data_by_its_name() -> None:
    with pytest.raises(ValueError, match="val_data must be a pair \\(X, y\\) of tensors .*, got a int"):
        check_data(5, "val_data")
    with pytest.raises(ValueError, match="val_data must yield \\(x, y\\) pairs, got a str"):
        list(one_epoch("xy", name="val_data"))
    with pytest.raises(ValueError, match="val_data ran out"):
        batches = cycle((batch for batch in BATCHES), name="val_data")
        for _ in range(4):
            next(batches)
    check_data((X, Y))  # the two forms: no error
    check_data(BATCHES)


@pytest.mark.parametrize("empty_ok", ["yes", None, 1.0])
def test_empty_ok_is_a_flag(empty_ok) -> None:
    with pytest.raises(TypeError, match="empty_ok must be True or False"):
        list(one_epoch([], empty_ok=empty_ok))


# The progress bar.

@pytest.fixture
def not_interactive(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No LRCOURSE_PROGRESS, no IPython; each test sets ``sys.stderr`` itself (pytest's capture resets it)."""
    monkeypatch.delenv("LRCOURSE_PROGRESS", raising=False)
    monkeypatch.setitem(sys.modules, "IPython", None)
    return monkeypatch


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("setting, shown", [("0", False), ("false", False), ("No", False), (" off ", False),
                                            ("", False), ("1", True), ("yes", True), ("true", True)])
def test_lrcourse_progress_decides_when_progress_is_none(not_interactive, setting: str, shown: bool) -> None:
    not_interactive.setattr(sys, "stderr", Terminal())  # the variable wins over the terminal too
    not_interactive.setenv("LRCOURSE_PROGRESS", setting)
    assert show_progress(None) is shown
    assert show_progress(True) is True and show_progress(False) is False  # an explicit choice wins


def test_without_the_variable_a_bar_shows_in_a_terminal_or_a_notebook(not_interactive) -> None:
    not_interactive.setattr(sys, "stderr", io.StringIO())  # a file, not a terminal
    assert show_progress(None) is False
    not_interactive.setattr(sys, "stderr", Terminal())
    assert show_progress(None) is True
    not_interactive.setattr(sys, "stderr", io.StringIO())
    kernel = types.SimpleNamespace(kernel=object())  # what IPython's shell has in a Jupyter kernel
    not_interactive.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel))
    assert show_progress(None) is True
    not_interactive.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))  # plain python
    assert show_progress(None) is False


def test_progress_bar_writes_only_when_shown(not_interactive) -> None:
    not_interactive.setattr(sys, "stderr", io.StringIO())
    for progress in (None, False, True):
        with progress_bar(3, progress, "fit") as bar:
            bar.update(3)
    assert sys.stderr.getvalue().count("3/3") == 1  # one bar: the one asked for


@pytest.mark.parametrize("progress", ["yes", 1, 0.0, np.float64(1.0)])
def test_progress_must_be_a_bool_or_none(progress) -> None:
    with pytest.raises(TypeError, match="progress must be True, False or None, got"):
        show_progress(progress)


@pytest.mark.parametrize("total, error", [("3", TypeError), (True, TypeError), (-1, ValueError),
                                          (2.5, ValueError), (float("nan"), ValueError)])
def test_progress_bar_total_is_a_count(total, error) -> None:
    with pytest.raises(error, match="total must be an integer >= 0"):
        progress_bar(total, False, "fit")


def test_progress_bar_of_unknown_length() -> None:
    with progress_bar(None, False, "fit") as bar:
        assert bar.total is None


# Setting the rate.

def test_set_lr_replaces_a_number() -> None:
    group = {"lr": 0.1}
    set_lr(group, 0.25)
    assert group["lr"] == 0.25 and type(group["lr"]) is float


def test_set_lr_fills_a_tensor_rate_in_place_and_the_optimizer_uses_it() -> None:
    # torch.optim keeps a tensor lr as given (capturable and compiled optimizers read it
    # from their graph): set_lr must write into that tensor, not replace it by a number.
    w = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    optimizer = torch.optim.SGD([w], lr=torch.tensor(0.1, dtype=torch.float64))
    rate = optimizer.param_groups[0]["lr"]
    set_lr(optimizer.param_groups[0], 0.5)
    assert optimizer.param_groups[0]["lr"] is rate and rate.item() == 0.5
    w.grad = torch.tensor([1.0, 1.0], dtype=torch.float64)
    optimizer.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.5, -2.5], dtype=torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize("lr, error", [(None, TypeError), ("0.1", TypeError), (True, TypeError), (1j, TypeError),
                                       ([0.1], TypeError), (float("inf"), ValueError), (float("nan"), ValueError),
                                       (-1.0, ValueError)])
def test_set_lr_refuses_a_rate_that_is_not_a_finite_number_at_least_zero(lr, error) -> None:
    group = {"lr": torch.tensor(0.1)}
    with pytest.raises(error, match="lr must be (a real number|a finite number in \\[0, inf\\))"):
        set_lr(group, lr)
    assert group["lr"].item() == pytest.approx(0.1)  # untouched
