"""``lrcourse.torch.ScheduleLR``: a schedule driving a torch optimizer.

The contract: after construction every group's lr is
``schedule(0) * group.get("lr_scale", 1.0)`` (the optimizer's own lr is
ignored), after k calls of ``step()`` it is ``schedule(k) * lr_scale``; the
state dict is plain data (loadable with ``weights_only=True``), records the
schedule's repr and refuses to load into a scheduler with another schedule;
resuming from a checkpoint reproduces an uninterrupted run; the standard loop
emits no warnings (the suite runs with warnings as errors).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from lrcourse.schedules import (
    Constant,
    CosineDecay,
    Cyclic,
    ExponentialDecay,
    Join,
    OneCycle,
    StepDecay,
    Warmup,
    WarmRestarts,
    WarmupStableDecay,
)
from lrcourse.torch import ScheduleLR

SCHEDULES = [
    pytest.param(Constant(0.1), id="Constant"),
    pytest.param(StepDecay(0.1, step_size=7, gamma=0.5), id="StepDecay"),
    pytest.param(
        Warmup(CosineDecay(0.1, total_steps=50, min_lr=1e-3), warmup_steps=10),
        id="Warmup-Cosine",
    ),
    pytest.param(Cyclic(0.001, 0.1, step_size_up=5, mode="triangular2"), id="Cyclic"),
    pytest.param(WarmRestarts(0.1, T_0=8, T_mult=2, restart_decay=0.8), id="WarmRestarts"),
    pytest.param(OneCycle(0.1, total_steps=60), id="OneCycle"),
    pytest.param(WarmupStableDecay(0.1, total_steps=60, warmup_steps=5, decay="1-sqrt"), id="WarmupStableDecay"),
    pytest.param(
        Join([Constant(0.1), ExponentialDecay(0.05, gamma=0.9)], boundaries=[20]), id="Join"
    ),
]


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


def _groups(model: torch.nn.Module) -> list[dict]:
    """Three groups: default scale, half scale, ten times scale."""
    first, _, last = model
    return [
        {"params": [first.weight]},
        {"params": [first.bias, last.bias], "lr_scale": 0.5},
        {"params": [last.weight], "lr_scale": 10.0},
    ]


SCALES = [1.0, 0.5, 10.0]


def _train_step(model, optimizer, scheduler, k: int) -> None:
    """One update on a deterministic batch, then the scheduler, torch's order."""
    g = torch.Generator().manual_seed(1000 + k)
    x = torch.randn(8, 3, generator=g)
    y = torch.randn(8, 1, generator=g)
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()


def _lrs(optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


# ----------------------------------------------------------------- basics


def test_the_rate_depends_on_the_step_alone_not_on_the_rates_before():
    """step(epoch) jumps anywhere, forwards and back, and the rate is schedule(epoch) * scale there.

    A scheduler that updates the previous rate (torch's recursive get_lr, or a counter
    of calls) gives other rates after a jump; ScheduleLR reads the closed form at
    last_epoch. torch deprecates step(epoch), hence the UserWarning filter.
    """
    model = _model()
    optimizer = torch.optim.SGD(_groups(model), lr=1.0)
    schedule = WarmRestarts(0.1, T_0=8, T_mult=2, restart_decay=0.8)
    scheduler = ScheduleLR(optimizer, schedule)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for epoch in (25, 3, 60, 8, 0, 7):
            scheduler.step(epoch)
            assert scheduler.last_epoch == epoch
            assert _lrs(optimizer) == pytest.approx([schedule(epoch) * s for s in SCALES], rel=1e-15)
            assert scheduler.get_last_lr() == _lrs(optimizer)
    _train_step(model, optimizer, scheduler, 0)  # an ordinary step carries on from epoch 7
    assert _lrs(optimizer) == pytest.approx([schedule(8) * s for s in SCALES], rel=1e-15)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_lr_follows_the_schedule_times_scale(schedule):
    model = _model()
    # the optimizer's own lr (123.0) is ignored: the schedule is the absolute rate
    optimizer = torch.optim.SGD(_groups(model), lr=123.0, momentum=0.9)
    scheduler = ScheduleLR(optimizer, schedule)
    n = 60
    for k in range(n):
        expected = [schedule(k) * s for s in SCALES]
        np.testing.assert_allclose(_lrs(optimizer), expected, rtol=1e-15, atol=0)
        np.testing.assert_allclose(scheduler.get_last_lr(), expected, rtol=1e-15, atol=0)
        _train_step(model, optimizer, scheduler, k)
    np.testing.assert_allclose(_lrs(optimizer), [schedule(n) * s for s in SCALES], rtol=1e-15)


def test_lr_right_after_construction_is_schedule_at_zero():
    model = _model()
    optimizer = torch.optim.Adam(_groups(model), lr=5.0)
    sched = Warmup(Constant(1.0), warmup_steps=4, start_lr=0.25)
    scheduler = ScheduleLR(optimizer, sched)
    assert _lrs(optimizer) == pytest.approx([0.25, 0.125, 2.5], rel=1e-15)
    assert scheduler.get_last_lr() == pytest.approx([0.25, 0.125, 2.5], rel=1e-15)
    _train_step(model, optimizer, scheduler, 0)
    assert _lrs(optimizer) == pytest.approx([0.4375, 0.21875, 4.375], rel=1e-15)


def test_group_lr_scale_is_not_consumed():
    """lr_scale stays in the group, so a later step still applies it."""
    model = _model()
    optimizer = torch.optim.SGD(_groups(model), lr=1.0)
    scheduler = ScheduleLR(optimizer, StepDecay(1.0, step_size=1, gamma=0.5))
    for k in range(5):
        _train_step(model, optimizer, scheduler, k)
    assert [g.get("lr_scale", 1.0) for g in optimizer.param_groups] == SCALES
    assert _lrs(optimizer) == pytest.approx([0.5**5 * s for s in SCALES], rel=1e-15)


def test_scaled_group_moves_parameters_by_scaled_rate():
    """The scale reaches the update itself: plain SGD moves by lr * scale * grad."""
    w = torch.nn.Parameter(torch.tensor([1.0, 1.0], dtype=torch.float64))
    v = torch.nn.Parameter(torch.tensor([1.0, 1.0], dtype=torch.float64))
    optimizer = torch.optim.SGD([{"params": [w]}, {"params": [v], "lr_scale": 0.25}], lr=9.0)
    scheduler = ScheduleLR(optimizer, Constant(0.1))
    optimizer.zero_grad()
    (w.sum() + v.sum()).backward()  # both gradients are ones
    optimizer.step()
    scheduler.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.9, 0.9], dtype=torch.float64))
    torch.testing.assert_close(v.detach(), torch.tensor([0.975, 0.975], dtype=torch.float64))


# --------------------------------------------------------------- warnings


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_standard_loop_emits_no_warnings(schedule):
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer = torch.optim.AdamW(_groups(model), lr=1.0)
        scheduler = ScheduleLR(optimizer, schedule)
        for k in range(30):
            _train_step(model, optimizer, scheduler, k)
            scheduler.get_last_lr()
        scheduler.state_dict()


# ------------------------------------------------------------- state dict

PLAIN = (bool, int, float, str, type(None))


def _assert_plain(obj, path="state"):
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert isinstance(key, PLAIN), f"{path}: key {key!r}"
            _assert_plain(value, f"{path}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _assert_plain(value, f"{path}[{i}]")
    else:
        assert isinstance(obj, PLAIN), f"{path} is a {type(obj).__name__}: {obj!r}"


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_state_dict_is_plain_data(schedule):
    model = _model()
    optimizer = torch.optim.SGD(_groups(model), lr=1.0)
    scheduler = ScheduleLR(optimizer, schedule)
    for k in range(3):
        _train_step(model, optimizer, scheduler, k)
    state = scheduler.state_dict()
    _assert_plain(state)
    # the repr of the schedule is stored as a string
    assert repr(schedule) in [v for v in state.values() if isinstance(v, str)]
    # and it survives torch.save / torch.load(weights_only=True)
    assert _roundtrip(state) == state


def test_load_state_dict_refuses_a_different_schedule():
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = ScheduleLR(optimizer, CosineDecay(0.1, total_steps=100))
    _train_step(model, optimizer, scheduler, 0)
    state = _roundtrip(scheduler.state_dict())

    other_optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    other = ScheduleLR(other_optimizer, CosineDecay(0.1, total_steps=200))
    with pytest.raises(ValueError):
        other.load_state_dict(state)

    same_optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    same = ScheduleLR(same_optimizer, CosineDecay(0.1, total_steps=100))
    same.load_state_dict(state)  # an equal schedule (same repr) loads
    assert same.last_epoch == scheduler.last_epoch


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_resume_from_checkpoint_matches_uninterrupted_run(schedule):
    total, cut = 60, 37

    # the uninterrupted run
    model = _model()
    optimizer = torch.optim.SGD(_groups(model), lr=1.0, momentum=0.9)
    scheduler = ScheduleLR(optimizer, schedule)
    reference_lrs = []
    for k in range(total):
        reference_lrs.append(_lrs(optimizer))
        _train_step(model, optimizer, scheduler, k)
    reference_params = [p.detach().clone() for p in model.parameters()]

    # the same run, interrupted after `cut` steps
    model = _model()
    optimizer = torch.optim.SGD(_groups(model), lr=1.0, momentum=0.9)
    scheduler = ScheduleLR(optimizer, schedule)
    lrs = []
    for k in range(cut):
        lrs.append(_lrs(optimizer))
        _train_step(model, optimizer, scheduler, k)
    checkpoint = _roundtrip(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        }
    )
    del model, optimizer, scheduler

    # fresh objects, resumed in torch's documented order: build the scheduler,
    # then load the optimizer state, then the scheduler state
    model = _model()
    model.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.SGD(_groups(model), lr=1.0, momentum=0.9)
    scheduler = ScheduleLR(optimizer, schedule)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    assert _lrs(optimizer) == pytest.approx([schedule(cut) * s for s in SCALES], rel=1e-15)
    assert scheduler.get_last_lr() == pytest.approx(_lrs(optimizer), rel=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(cut, total):
            lrs.append(_lrs(optimizer))
            _train_step(model, optimizer, scheduler, k)

    assert lrs == reference_lrs  # exactly equal, not approximately
    for p, q in zip(model.parameters(), reference_params, strict=True):
        torch.testing.assert_close(p.detach(), q, rtol=0, atol=0)


def test_two_schedulers_on_one_optimizer_are_independent_objects():
    """Constructing a second ScheduleLR leaves the first's schedule untouched."""
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    first = ScheduleLR(optimizer, Constant(0.1))
    ScheduleLR(torch.optim.SGD(model.parameters(), lr=1.0), Constant(0.2))
    _train_step(model, optimizer, first, 0)
    assert _lrs(optimizer) == [0.1]


def test_load_state_dict_refuses_a_state_not_saved_by_schedulelr():
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = ScheduleLR(optimizer, CosineDecay(0.1, total_steps=100))
    state = scheduler.state_dict()
    del state["schedule"]
    with pytest.raises(ValueError, match="schedule"):
        scheduler.load_state_dict(state)


def test_resume_with_optimizer_state_loaded_before_the_scheduler_is_built():
    """The other order: load the optimizer, then build and load the scheduler.

    Building the scheduler sets the rates to schedule(0); loading its state must set
    them to the resumed step's, so the groups and get_last_lr agree.
    """
    schedule = CosineDecay(0.1, total_steps=100)
    model = _model()
    optimizer = torch.optim.SGD(_groups(model), lr=1.0)
    scheduler = ScheduleLR(optimizer, schedule)
    for k in range(37):
        _train_step(model, optimizer, scheduler, k)
    checkpoint = _roundtrip({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})

    optimizer = torch.optim.SGD(_groups(model), lr=1.0)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = ScheduleLR(optimizer, schedule)
    assert _lrs(optimizer) == pytest.approx([schedule(0) * s for s in SCALES], rel=1e-15)
    scheduler.load_state_dict(checkpoint["scheduler"])
    assert _lrs(optimizer) == pytest.approx([schedule(37) * s for s in SCALES], rel=1e-15)
    assert scheduler.get_last_lr() == _lrs(optimizer)


def test_a_group_at_scale_zero_is_frozen():
    """lr_scale = 0 gives a group rate zero at every step: its parameters never move."""
    model = _model()
    first, _, last = model
    optimizer = torch.optim.SGD([{"params": first.parameters(), "lr_scale": 0.0},
                                 {"params": last.parameters()}], lr=1.0)
    scheduler = ScheduleLR(optimizer, CosineDecay(0.1, total_steps=10))
    frozen = [p.detach().clone() for p in first.parameters()]
    moving = [p.detach().clone() for p in last.parameters()]
    for k in range(5):
        assert _lrs(optimizer)[0] == 0.0
        _train_step(model, optimizer, scheduler, k)
    assert all(torch.equal(p, q) for p, q in zip(first.parameters(), frozen))
    assert not all(torch.equal(p, q) for p, q in zip(last.parameters(), moving))


def test_a_negative_or_non_finite_lr_scale_is_refused():
    for scale in (-0.5, float("nan"), float("inf")):
        optimizer = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr_scale": scale}], lr=1.0)
        with pytest.raises(ValueError, match="lr_scale"):
            ScheduleLR(optimizer, Constant(0.1))


def test_an_lr_scale_that_is_not_a_number_is_a_typeerror():
    """True was taken for 1 and '0.5' failed later, in the multiplication; None, complex and lists too."""
    for scale in (True, "0.5", None, 1j, [0.5]):
        optimizer = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr_scale": scale}], lr=1.0)
        with pytest.raises(TypeError, match="^lr_scale of param group 0 must be a real number"):
            ScheduleLR(optimizer, Constant(0.1))
