"""lrcourse.torch optimizers at the edges torch.optim handles: complex params, sparse gradients, overflow.

Each expectation comes from torch.optim in float64 (complex128), or from a property
that holds whatever torch does: a complex parameter is updated as the pair of reals
``torch.view_as_real`` shows.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import lrcourse.torch as ltorch

INDUCTOR_IMPORT_WARNING = "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"  # see test_optimizer_parity
# torch.optim.Adagrad builds sparse tensors without saying whether to check them, and torch warns once per process.
SPARSE_INVARIANTS_WARNING = "ignore:Sparse invariant checks are implicitly disabled:UserWarning"

# Every option that changes how a complex number is handled: the squares (g², ḡ²), the roots,
# the maximum of AMSGrad, the momentum buffers, weight decay.
COMPLEX_CASES = [
    pytest.param("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, id="SGD-nesterov-wd"),
    pytest.param("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, id="SGD-momentum-dampening"),
    pytest.param("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.2},
                 id="Adagrad-all"),
    pytest.param("RMSprop", {"lr": 0.01, "weight_decay": 0.1}, id="RMSprop-wd"),
    pytest.param("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1},
                 id="RMSprop-centered-momentum-wd"),
    pytest.param("Adam", {"lr": 0.05, "weight_decay": 0.1}, id="Adam-wd"),
    pytest.param("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}, id="Adam-amsgrad-wd"),
    pytest.param("AdamW", {"lr": 0.05, "amsgrad": True}, id="AdamW-amsgrad"),
]


def complex_problem() -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """A complex matrix z and a real vector w, and the data of a least-squares loss on both."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, 2, dtype=torch.complex128, generator=gen)
    w = torch.randn(4, dtype=torch.float64, generator=gen)
    a = torch.randn(5, 3, dtype=torch.complex128, generator=gen)
    b = torch.randn(5, 2, dtype=torch.complex128, generator=gen)
    return [z, w], a, b


def loss(params: list[torch.Tensor], a: torch.Tensor, b: torch.Tensor, t: int) -> torch.Tensor:
    """|a z − b|² plus a quartic in w; the gradients change in size and phase from step to step."""
    z, w = params
    return (a @ z - t * b).abs().pow(2).sum() + (w**4).sum() + (w[0] * z[0, 0]).real


def run(lib: Any, name: str, options: dict[str, Any], steps: int = 12, **extra: Any) -> tuple[list[torch.Tensor], Any]:
    start, a, b = complex_problem()
    params = [p.clone().requires_grad_() for p in start]
    opt = getattr(lib, name)(params, **options, **extra)
    for t in range(1, steps + 1):
        opt.zero_grad()
        loss(params, a, b, t).backward()
        opt.step()
    return [p.detach() for p in params], opt


# --- complex parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "options"), COMPLEX_CASES)
def test_complex_params_match_torch_optim(name: str, options: dict[str, Any]) -> None:
    """torch.optim views a complex param as pairs of reals: the same numbers, the same (complex) state."""
    ours, opt = run(ltorch, name, options)
    theirs, ref = run(torch.optim, name, options)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)
    for p, q in zip(opt.param_groups[0]["params"], ref.param_groups[0]["params"]):
        for key, value in ref.state[q].items():
            assert opt.state[p][key].dtype == value.dtype, f"state[{key!r}]"
            torch.testing.assert_close(opt.state[p][key], value, rtol=1e-12, atol=1e-14, msg=f"state[{key!r}]")
    assert not torch.equal(ours[0], complex_problem()[0][0]), "the complex param moved"


@pytest.mark.parametrize(("name", "options"), COMPLEX_CASES)
def test_a_complex_param_is_updated_as_its_pair_of_reals(name: str, options: dict[str, Any]) -> None:
    """Independent of torch.optim: z and the real tensor view_as_real(z), given the same gradients, stay equal."""
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(6, dtype=torch.complex128, generator=gen).requires_grad_()
    x = torch.view_as_real(z.detach()).clone().requires_grad_()
    opt_z, opt_x = getattr(ltorch, name)([z], **options), getattr(ltorch, name)([x], **options)
    for t in range(1, 9):
        g = torch.randn(6, dtype=torch.complex128, generator=gen) * 10.0 ** (t % 3 - 1)
        z.grad, x.grad = g, torch.view_as_real(g).clone()
        opt_z.step()
        opt_x.step()
        torch.testing.assert_close(torch.view_as_real(z.detach()), x.detach(), rtol=1e-13, atol=1e-15)


def test_complex_params_keep_a_state_dict_that_loads_into_torch_optim() -> None:
    """The state stays complex, as torch's: a run may continue in torch.optim.Adam."""
    _, opt = run(ltorch, "Adam", {"lr": 0.05, "amsgrad": True}, steps=5)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert all(state[key].dtype == torch.complex128 for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
    reference = torch.optim.Adam(opt.param_groups[0]["params"], lr=0.05, amsgrad=True)
    reference.load_state_dict(opt.state_dict())
    assert reference.state[reference.param_groups[0]["params"][0]]["exp_avg"].dtype == torch.complex128


@pytest.mark.filterwarnings(INDUCTOR_IMPORT_WARNING)
def test_compiled_complex_adam_matches_the_loop() -> None:
    torch._dynamo.reset()
    try:
        loop, _ = run(ltorch, "Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}, steps=4)
        fast, _ = run(ltorch, "Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}, steps=4, impl="compiled")
    finally:
        torch._dynamo.reset()
    for p, q in zip(fast, loop):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


# --- sparse gradients ---------------------------------------------------------------------------


def embedding_run(lib: Any, name: str, steps: int = 6, **options: Any) -> tuple[torch.Tensor, Any]:
    """An nn.Embedding(sparse=True) and a dense Linear layer in one group, batches with repeated indices."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(7, 3, sparse=True).double()
    head = torch.nn.Linear(3, 1).double()
    opt = getattr(lib, name)([*emb.parameters(), *head.parameters()], **options)
    batches = [[0, 2, 2, 5], [1, 2], [6, 0, 0, 0], [3], [2, 5, 5], [4, 1]]
    for t in range(steps):
        opt.zero_grad()
        head(emb(torch.tensor(batches[t % len(batches)]))).pow(2).sum().backward()
        assert emb.weight.grad.is_sparse
        opt.step()
    return torch.cat([emb.weight.detach().flatten(), head.weight.detach().flatten()]), opt


@pytest.mark.filterwarnings(SPARSE_INVARIANTS_WARNING)
@pytest.mark.parametrize("options", [{"lr": 0.1}, {"lr": 0.1, "lr_decay": 0.3, "initial_accumulator_value": 0.5},
                                     {"lr": 0.1, "eps": 0.0}], ids=["default", "decay-init", "eps0"])
def test_adagrad_with_sparse_gradients_matches_torch_optim(options: dict[str, Any]) -> None:
    ours, opt = embedding_run(ltorch, "Adagrad", **options)
    theirs, ref = embedding_run(torch.optim, "Adagrad", **options)
    torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=0)
    weight, ref_weight = opt.param_groups[0]["params"][0], ref.param_groups[0]["params"][0]
    torch.testing.assert_close(opt.state[weight]["sum"], ref.state[ref_weight]["sum"], rtol=1e-13, atol=0)
    assert opt.state[weight]["step"].item() == 6 and not opt.state[weight]["sum"].is_sparse
    assert torch.isfinite(ours).all()  # eps = 0: the rows no batch touched are left alone, not 0 / 0


def test_adagrad_refuses_sparse_gradients_with_weight_decay_as_torch_does() -> None:
    with pytest.raises(RuntimeError, match="weight_decay option is not compatible with sparse gradients"):
        embedding_run(ltorch, "Adagrad", lr=0.1, weight_decay=0.01)


def test_adagrad_refuses_a_sparse_gradient_of_a_complex_param() -> None:
    p = torch.zeros(3, 2, dtype=torch.complex128, requires_grad=True)
    p.grad = torch.ones(3, 2, dtype=torch.complex128).to_sparse()
    opt = ltorch.Adagrad([p], lr=0.1)
    with pytest.raises(RuntimeError, match="complex"):
        opt.step()
    assert not opt.state[p] and torch.equal(p.detach(), torch.zeros(3, 2, dtype=torch.complex128))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_with_sparse_gradients_matches_torch_optim(momentum: float) -> None:
    ours, _ = embedding_run(ltorch, "SGD", lr=0.1, momentum=momentum)
    theirs, _ = embedding_run(torch.optim, "SGD", lr=0.1, momentum=momentum)
    torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["RMSprop", "Adam", "AdamW"])
@pytest.mark.parametrize("impl", ["loop", "compiled"])
def test_the_others_refuse_sparse_gradients_like_torch(name: str, impl: str) -> None:
    """torch.optim's message, naming the optimizer, before any param or state changes."""
    with pytest.raises(RuntimeError, match=f"^{name} does not support sparse gradients"):
        embedding_run(ltorch, name, lr=0.1, impl=impl)
    p = torch.ones(3, requires_grad=True)
    opt = getattr(ltorch, name)([p], lr=0.1, impl=impl)
    p.grad = torch.ones(3).to_sparse()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        opt.step()
    assert not opt.state[p] and torch.equal(p.detach(), torch.ones(3))


# --- overflow in centered RMSprop ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_centered_rmsprop_at_overflow_keeps_torchs_infs_and_nans(dtype: torch.dtype, momentum: float) -> None:
    """v overflows to inf while ḡ stays finite: torch's v − ḡ² (an addcmul) is inf, not inf − inf = NaN.

    Compared elementwise with torch.optim.RMSprop, every inf and NaN in its place.
    """
    huge = torch.finfo(dtype).max ** 0.5  # its square (times 1 − β) is still inf, its tenth is not
    grads = [
        [4 * huge, -4 * huge, 1e3 * huge, 0.5, 0.0, float("inf"), float("nan"), 1.0],
        [1.0, 2.0, 4 * huge, 0.5, 4 * huge, 1.0, 1.0, 1.0],
        [0.1, -0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    ]
    ours = torch.linspace(-1.0, 1.0, 8, dtype=dtype).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()
    options = {"lr": 0.01, "centered": True, "momentum": momentum}
    opt, ref = ltorch.RMSprop([ours], **options), torch.optim.RMSprop([theirs], **options)
    for g in grads:
        ours.grad, theirs.grad = torch.tensor(g, dtype=dtype), torch.tensor(g, dtype=dtype)
        opt.step()
        ref.step()
        for a, b in [(ours.detach(), theirs.detach())] + [(opt.state[ours][k], v) for k, v in ref.state[theirs].items()]:
            assert torch.equal(a.isnan(), b.isnan()) and torch.equal(a.isinf(), b.isinf())
            torch.testing.assert_close(a, b, rtol=1e-6 if dtype == torch.float32 else 1e-13, atol=0, equal_nan=True)
    assert ref.state[theirs]["square_avg"].isinf().any() and theirs.isfinite().any()  # the case was reached
