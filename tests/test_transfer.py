"""The fine-tuning recipes of lrcourse.torch.transfer: what is frozen when, each group's rate, the flags put back.

The references are written out here from their sources: fastai's ``even_mults`` and
``Learner.fine_tune`` (``callback/schedule.py``: ``fit_one_cycle(freeze_epochs,
slice(base_lr), pct_start=0.99)``, then ``base_lr /= 2``, ``unfreeze()``,
``fit_one_cycle(epochs, slice(base_lr / lr_mult, base_lr), pct_start, div)``) with
torch's own ``OneCycleLR`` for the schedule (``div_final`` = ``div_factor`` ×
``final_div_factor``), and LP-FT as two plain runs of ``fit``.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR

from lrcourse.torch import fine_tune, lp_ft, spread_rates
from lrcourse.torch.models import BodyHead
from lrcourse.torch.training import fit


def even_mults(start: float, stop: float, n: int) -> np.ndarray:
    """fastai.torch_core.even_mults, as fastai writes it."""
    if n == 1:
        return np.array(stop)
    mult = stop / start
    step = mult ** (1 / (n - 1))
    return np.array([start * (step**i) for i in range(n)])


def data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(60, 8, generator=generator), torch.arange(60) % 3


def model() -> BodyHead:
    return BodyHead(8, 3, hidden=(16, 12), seed=0)


def snapshot(m: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in m.named_parameters()}


@pytest.mark.parametrize("low, high, n", [(1e-4, 1e-2, 3), (1e-5, 1e-3, 4), (0.01, 0.01, 5), (0.003, 0.3, 2)])
def test_spread_rates_are_fastai_even_mults(low: float, high: float, n: int) -> None:
    rates = spread_rates(low, high, n)
    np.testing.assert_allclose(rates, even_mults(low, high, n), rtol=1e-12)
    assert rates[-1] == high and len(rates) == n
    assert np.allclose(np.diff(np.log(rates)), np.log(high / low) / (n - 1))


def test_spread_rates_of_one_layer_is_the_top_rate() -> None:
    assert spread_rates(1e-4, 1e-2, 1) == [1e-2]


def test_spread_rates_refuses_a_low_rate_above_the_high_one() -> None:
    with pytest.raises(ValueError, match="lr_low"):
        spread_rates(0.1, 0.01, 3)


def test_fine_tune_freezes_the_body_first_then_trains_every_layer() -> None:
    m, seen = model(), []

    def optimizer(groups):  # record what each phase's optimizer holds
        seen.append({id(p) for group in groups for p in group["params"]})
        return torch.optim.Adam(groups)

    frozen, unfrozen = fine_tune(m, data(), lr=0.01, steps=12, freeze_steps=4, optimizer=optimizer, device="cpu")
    head = {id(p) for p in m.head.parameters()}
    assert seen[0] == head and seen[1] == {id(p) for p in m.parameters()}
    assert len(frozen.loss) == 4 and len(unfrozen.loss) == 8


@pytest.mark.parametrize("recipe", ["fine_tune", "lp_ft"])
def test_the_first_phase_leaves_the_body_bit_for_bit(recipe: str) -> None:
    m = model()
    before, at_second_phase = snapshot(m), []

    def optimizer(groups):  # the second phase's optimizer is built when the first phase is over
        at_second_phase.append(snapshot(m))
        return torch.optim.Adam(groups)

    if recipe == "fine_tune":
        fine_tune(m, data(), lr=0.01, steps=12, freeze_steps=4, optimizer=optimizer, device="cpu")
    else:
        lp_ft(m, data(), probe_lr=0.01, lr=0.01, steps=12, probe_steps=4, optimizer=optimizer, device="cpu")
    after_first = at_second_phase[1]
    for name in before:
        moved = not torch.equal(after_first[name], before[name])
        assert moved == name.startswith("head"), name  # the head moved, the body did not, by one bit
    assert all(not torch.equal(p, after_first[name]) for name, p in m.named_parameters())  # then every layer


@pytest.mark.parametrize("lr_mult, pct_start, div, div_final", [(100.0, 0.3, 5.0, 1e5), (10.0, 0.5, 25.0, 1e4)])
def test_fine_tune_is_fastai_fine_tune_with_torch_one_cycle(lr_mult, pct_start, div, div_final) -> None:
    lr, steps, freeze_steps = 0.02, 15, 5
    m = model()
    frozen, unfrozen = fine_tune(m, data(), lr=lr, steps=steps, freeze_steps=freeze_steps, lr_mult=lr_mult,
                                 pct_start=pct_start, div=div, div_final=div_final, device="cpu")
    # the reference: fastai's recipe, written with torch's OneCycleLR and the layers' rates from even_mults
    ref = model()
    for p in ref.body.parameters():
        p.requires_grad_(False)
    opt1 = torch.optim.Adam([{"params": list(ref.head.parameters()), "lr": lr}])
    h1 = fit(ref, opt1, data(), steps=freeze_steps, progress=False, device="cpu",
             scheduler=OneCycleLR(opt1, lr, total_steps=freeze_steps, pct_start=0.99, div_factor=25,
                                  final_div_factor=div_final / 25))
    for p in ref.parameters():
        p.requires_grad_(True)
    base = lr / 2
    rates = even_mults(base / lr_mult, base, 3)
    layers = [ref.body[0], ref.body[2], ref.head]
    opt2 = torch.optim.Adam([{"params": list(layer.parameters()), "lr": r} for layer, r in zip(layers, rates)])
    h2 = fit(ref, opt2, data(), steps=steps - freeze_steps, progress=False, device="cpu",
             scheduler=OneCycleLR(opt2, list(rates), total_steps=steps - freeze_steps, pct_start=pct_start,
                                  div_factor=div, final_div_factor=div_final / div))
    np.testing.assert_allclose(np.array(frozen.lrs), np.array(h1.lrs), rtol=1e-9)
    np.testing.assert_allclose(np.array(unfrozen.lrs), np.array(h2.lrs), rtol=1e-9)
    # the rates each group gets: the head lr/2 at the peak, each layer below lr_mult**(1/2) times less
    peak = np.array(unfrozen.lrs).max(axis=0)
    np.testing.assert_allclose(peak, [base / lr_mult, base / lr_mult**0.5, base], rtol=1e-9)
    # the frozen phase warms up over 99 % of it, towards lr, and ends on div_final times less
    first = np.array(frozen.lrs)[:, 0]
    assert np.all(np.diff(first[:-1]) > 0) and first[:-1].max() <= lr and first[-1] == pytest.approx(lr / div_final)
    for a, b in zip(m.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_lp_ft_is_a_probe_then_every_layer_from_the_probed_head() -> None:
    m = model()
    before = snapshot(m)
    probe, tuned = lp_ft(m, data(), probe_lr=0.05, lr=0.005, steps=14, probe_steps=6, device="cpu")
    assert [len(probe.loss), len(tuned.loss)] == [6, 8]
    assert all(lrs == (0.05,) for lrs in probe.lrs) and all(lrs == (0.005,) * 3 for lrs in tuned.lrs)
    ref = model()
    for p in ref.body.parameters():
        p.requires_grad_(False)
    fit(ref, torch.optim.Adam(ref.head.parameters(), lr=0.05), data(), steps=6, progress=False, device="cpu")
    for name, p in ref.body.named_parameters():
        assert torch.equal(p, before["body." + name])  # the probe left the body alone
    probed = snapshot(ref)
    for p in ref.parameters():
        p.requires_grad_(True)
    h = fit(ref, torch.optim.Adam(ref.parameters(), lr=0.005), data(), steps=8, progress=False, device="cpu")
    assert tuned.loss[0] == pytest.approx(h.loss[0], rel=1e-6)  # the second phase starts at the probed head
    assert not torch.equal(probed["head.weight"], before["head.weight"])
    for a, b in zip(m.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("recipe", ["fine_tune", "lp_ft"])
def test_the_flags_are_put_back_on_return_and_on_error(recipe: str) -> None:
    m = model()
    m.body[0].bias.requires_grad_(False)  # the caller's own choice
    flags = [p.requires_grad for p in m.parameters()]
    run = (functools.partial(fine_tune, lr=0.01, steps=6, freeze_steps=2) if recipe == "fine_tune"
           else functools.partial(lp_ft, probe_lr=0.01, lr=0.01, steps=6, probe_steps=2))
    run(m, data(), device="cpu")
    assert [p.requires_grad for p in m.parameters()] == flags
    calls = []

    def failing_loss(output, target):  # fails in the second phase, once every layer is unfrozen
        calls.append(all(p.requires_grad for p in m.parameters()))
        if calls[-1]:
            raise RuntimeError("boom")
        return nn.functional.cross_entropy(output, target)

    with pytest.raises(RuntimeError, match="boom"):
        run(m, data(), loss_fn=failing_loss, device="cpu")
    assert calls[0] is False and calls[-1] is True
    assert [p.requires_grad for p in m.parameters()] == flags


def test_the_budget_is_split_and_checked() -> None:
    with pytest.raises(ValueError, match="freeze_steps"):
        fine_tune(model(), data(), lr=0.01, steps=10, freeze_steps=9)
    with pytest.raises(ValueError, match="probe_steps"):
        lp_ft(model(), data(), probe_lr=0.01, lr=0.01, steps=10, probe_steps=10)
    with pytest.raises(ValueError, match="layers"):
        fine_tune(nn.Linear(3, 2), (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), lr=0.01, steps=10,
                  freeze_steps=3)


def test_custom_layers_decide_the_groups() -> None:
    m = model()
    frozen, unfrozen = fine_tune(copy.deepcopy(m), data(), lr=0.01, steps=13, freeze_steps=3,
                                 layers=["body", "head"], device="cpu")
    assert len(frozen.lrs[0]) == 1 and len(unfrozen.lrs[0]) == 2
    np.testing.assert_allclose(np.array(unfrozen.lrs).max(axis=0), [0.005 / 100, 0.005], rtol=1e-9)


def test_fine_tune_cycles_adam_beta1_as_fastai_moms() -> None:
    # fastai's moms=(0.95, 0.85, 0.95): beta1 at 0.95 at the start of each phase, 0.85 at its peak rate
    built, seen = [], []

    def optimizer(groups):
        built.append(torch.optim.Adam(groups))
        return built[-1]

    def loss(output, target):  # called once per update, before the step: the beta1 that step uses
        seen.append((len(built), built[-1].param_groups[0]["betas"][0], built[-1].param_groups[0]["lr"]))
        return nn.functional.cross_entropy(output, target)

    fine_tune(model(), data(), lr=0.01, steps=30, freeze_steps=10, optimizer=optimizer, loss_fn=loss, device="cpu")
    for phase in (1, 2):
        beta1 = np.array([b for p, b, _ in seen if p == phase])
        lrs = np.array([r for p, _, r in seen if p == phase])
        assert beta1[0] == pytest.approx(0.95) and 0.85 - 1e-12 <= beta1.min() < 0.86  # 0.85 at the peak
        assert int(np.argmin(beta1)) == int(np.argmax(lrs))  # the lowest beta1 at the highest rate
        assert np.all(beta1 <= 0.95 + 1e-12)
    built.clear()
    seen.clear()
    fine_tune(model(), data(), lr=0.01, steps=30, freeze_steps=10, cycle_momentum=False, optimizer=optimizer,
              loss_fn=loss, device="cpu")
    assert len(seen) == 30 and all(b == 0.9 for _, b, _ in seen)  # torch's own beta1, untouched
