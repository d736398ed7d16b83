"""TinyTransformer: shapes, causality, pre- and post-LN as defined, a hand-written forward, and the loops.

It must train under fit, sweep_model (vmap over K copies of its weights) and
lr_range_test on char_sequences, with their default losses: its scores are laid out
(N, n_chars, T), the layout in which F.cross_entropy takes a target per position.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrcourse.numpy as lnp
from lrcourse.torch import fit, lr_range_test, sweep_model
from lrcourse.torch.data import TextDataset, char_sequences
from lrcourse.torch.models import TinyTransformer


@pytest.fixture(scope="module")
def data() -> TextDataset:
    return char_sequences(16, n_train=600, n_val=100, n_test=100, seed=1)


def written_out(model: TinyTransformer, x: torch.Tensor) -> torch.Tensor:
    """The model's forward pass from its weights, one head and one position at a time where it matters."""
    w = {name: p.detach() for name, p in model.named_parameters()}
    d, T, heads = w["token.weight"].shape[1], x.shape[1], model.blocks[0].n_heads
    dh = d // heads

    def ln(h: torch.Tensor, name: str) -> torch.Tensor:
        mean, var = h.mean(-1, keepdim=True), h.var(-1, unbiased=False, keepdim=True)
        return (h - mean) / torch.sqrt(var + 1e-5) * w[name + ".weight"] + w[name + ".bias"]

    def linear(h: torch.Tensor, name: str) -> torch.Tensor:
        return h @ w[name + ".weight"].T + w[name + ".bias"]

    def attention(h: torch.Tensor, b: str) -> torch.Tensor:
        q, k, v = linear(h, b + ".qkv").split(d, dim=-1)
        out = torch.zeros_like(h)
        for head in range(heads):
            cols = slice(head * dh, (head + 1) * dh)
            for i in range(T):  # position i attends to positions 0 … i only
                scores = torch.einsum("nc,njc->nj", q[:, i, cols], k[:, : i + 1, cols]) / math.sqrt(dh)
                weights = torch.softmax(scores, dim=-1)
                out[:, i, cols] = torch.einsum("nj,njc->nc", weights, v[:, : i + 1, cols])
        return linear(out, b + ".proj")

    def mlp(h: torch.Tensor, b: str) -> torch.Tensor:
        u = linear(h, b + ".fc")
        return linear(0.5 * u * (1 + torch.erf(u / math.sqrt(2))), b + ".out")  # the exact GELU

    h = w["token.weight"][x] + w["position.weight"][:T]
    for i in range(len(model.blocks)):
        b = f"blocks.{i}"
        if model.norm == "pre":
            h = h + attention(ln(h, b + ".ln1"), b)
            h = h + mlp(ln(h, b + ".ln2"), b)
        else:
            h = ln(h + attention(h, b), b + ".ln1")
            h = ln(h + mlp(h, b), b + ".ln2")
    if model.norm == "pre":
        h = ln(h, "ln_f")
    return linear(h, "head").transpose(1, 2)


def test_shapes_and_weight_counts() -> None:
    model = TinyTransformer()  # 2 layers, d = 64, 4 heads, 38 characters, context 64
    x = torch.randint(0, 38, (3, 64), generator=torch.Generator().manual_seed(0))
    assert model(x).shape == (3, 38, 64) and model(x[:, :10]).shape == (3, 38, 10)
    blocks = 2 * (2 * 2 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64)
    embeddings, head = 38 * 64 + 64 * 64, 64 * 38 + 38
    assert sum(p.numel() for p in model.parameters()) == blocks + embeddings + head + 2 * 64  # pre-LN: ln_f
    assert sum(p.numel() for p in TinyTransformer(norm="post").parameters()) == blocks + embeddings + head
    assert list(model.named_buffers()) == []  # sweep_model refuses buffers: the mask is made in forward


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_the_forward_pass_is_the_one_written_out(norm: str) -> None:
    model = TinyTransformer(38, context=12, d_model=16, n_heads=4, norm=norm, seed=3).double()
    with torch.no_grad():  # move the norms and biases off their initial values, so every term is tested
        for name, p in model.named_parameters():
            if "ln" in name or name.endswith("bias"):
                p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype, generator=torch.Generator().manual_seed(len(name))))
    x = torch.randint(0, 38, (4, 12), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(model(x), written_out(model, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_a_later_token_leaves_earlier_outputs_unchanged(norm: str) -> None:
    model = TinyTransformer(38, context=20, norm=norm, seed=2).double()
    x = torch.randint(0, 38, (3, 20), generator=torch.Generator().manual_seed(4))
    changed = x.clone()
    changed[:, 11] = (x[:, 11] + 5) % 38
    a, b = model(x), model(changed)
    torch.testing.assert_close(a[:, :, :11], b[:, :, :11], rtol=0, atol=1e-13)
    assert (a[:, :, 11:] - b[:, :, 11:]).abs().amax(dim=(0, 1)).min() > 1e-6  # every later position sees it


def test_pre_and_post_ln_differ_as_defined() -> None:
    pre, post = (TinyTransformer(38, context=8, d_model=16, norm=n, seed=5).double() for n in ("pre", "post"))
    shared = dict(post.named_parameters())
    assert all(torch.equal(p, shared[name]) for name, p in pre.named_parameters() if name in shared)
    x = torch.randint(0, 38, (2, 8), generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(pre(x), post(x))
    # With the residual branches' output projections at zero, a pre-LN block is the identity on the
    # residual stream, and a post-LN block normalises it.
    for model in (pre, post):
        with torch.no_grad():
            for block in model.blocks:
                block.proj.weight.zero_(), block.proj.bias.zero_(), block.out.weight.zero_(), block.out.bias.zero_()
    stream = pre.token.weight[x] + pre.position.weight[:8]
    block = pre.blocks[0]
    torch.testing.assert_close(block(stream), stream)
    torch.testing.assert_close(post.blocks[0](stream), F.layer_norm(F.layer_norm(stream, (16,)), (16,)))


def test_the_seed_fixes_the_weights_and_leaves_the_global_generator_alone() -> None:
    state = torch.get_rng_state()
    a, b, c = TinyTransformer(seed=1), TinyTransformer(seed=1), TinyTransformer(seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.token.weight, c.token.weight)
    assert abs(a.token.weight.detach().std().item() - 0.02) < 0.002  # GPT-2's initialisation
    assert abs(a.blocks[0].proj.weight.detach().std().item() - 0.01) < 0.001  # 0.02 / sqrt(2 · 2 layers)


def test_a_short_fit_lowers_the_loss(data: TextDataset, one_torch_thread: None) -> None:
    model = TinyTransformer(context=16, seed=0)
    history = fit(model, torch.optim.Adam(model.parameters(), lr=3e-3), data.loader("train", 32, device="cpu"),
                  steps=60, seed=0, progress=False, device="cpu")
    assert abs(history.loss[0] - math.log(38)) < 0.1  # small initial scores: about uniform
    X, y = data.tensors("val", "cpu")
    with torch.no_grad():
        val = F.cross_entropy(model(X), y).item()
    assert history.loss[-1] < history.loss[0] - 0.7 and val < math.log(38) - 0.7, (history.loss[-1], val)


@pytest.mark.parametrize(("norm", "cls", "options", "make", "lrs"), [
    ("pre", lnp.Adam, {}, lambda params, lr: torch.optim.Adam(params, lr=lr), [1e-3, 3e-3, 1e-2]),
    ("post", lnp.Adam, {}, lambda params, lr: torch.optim.Adam(params, lr=lr), [1e-3, 3e-3, 1e-2]),
    ("pre", lnp.SGD, {"momentum": 0.9}, lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
     [0.03, 0.1, 0.3]),
], ids=["pre-Adam", "post-Adam", "pre-SGD-momentum"])
def test_a_sweep_of_three_runs_equals_three_separate_fits(data: TextDataset, norm: str, cls, options, make, lrs,
                                                          one_torch_thread: None) -> None:
    model = TinyTransformer(context=16, d_model=32, norm=norm, seed=0).double()
    loader = data.loader("train", batch_size=32, device="cpu")
    result = sweep_model(model, cls, lr=lrs, steps=8, data=loader, seed=2, device="cpu", **options)
    for k, lr in enumerate(lrs):
        m = copy.deepcopy(model)
        history = fit(m, make(m.parameters(), lr), loader, steps=8, seed=2, progress=False, device="cpu")
        np.testing.assert_allclose(result.losses[k, :8], history.loss, rtol=1e-10)
        for name, p in m.named_parameters():
            np.testing.assert_allclose(result.params[name][k], p.detach().numpy(), rtol=1e-7, atol=1e-9)
    assert not np.allclose(result.losses[0], result.losses[2])


def test_the_range_test_runs_and_puts_the_weights_back(data: TextDataset, one_torch_thread: None) -> None:
    model = TinyTransformer(context=16, d_model=32, seed=0)
    before = copy.deepcopy(model.state_dict())
    result = lr_range_test(model, torch.optim.Adam(model.parameters(), lr=1e-3), F.cross_entropy,
                           data.loader("train", 32, device="cpu"), start_lr=1e-4, end_lr=10.0, num_steps=40,
                           progress=False)
    assert all(np.isfinite(result.smoothed)) and len(result.lrs) >= 10
    assert all(torch.equal(before[name], p) for name, p in model.state_dict().items())


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: TinyTransformer(norm="sandwich"), ValueError, "norm"),
    (lambda: TinyTransformer(d_model=30, n_heads=4), ValueError, "n_heads"),
    (lambda: TinyTransformer(n_layers=0), ValueError, "n_layers"),
    (lambda: TinyTransformer(context=8)(torch.zeros(2, 9, dtype=torch.int64)), ValueError, "shape"),
    (lambda: TinyTransformer(context=8)(torch.zeros(2, 8)), TypeError, "integer"),
])
def test_bad_input(call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()
