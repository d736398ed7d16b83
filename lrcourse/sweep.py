r"""Run K learning rates (or any hyperparameter grid) at once, as one vectorised computation.

The NumPy optimizers of :mod:`lrcourse.numpy` accept a hyperparameter of shape
``(K,)`` against parameters with a leading axis of ``K``: run ``k`` uses value ``k``.
:func:`sweep` uses exactly that. It stacks ``K`` copies of the starting point, gets
the ``K`` gradients in one call, and takes one optimizer step for all runs:

- for a test problem of :mod:`lrcourse.problems`, ``problem.grad`` of the ``(K, d)``
  array is already one gradient per row;
- for a torch model, ``torch.func.vmap`` maps the model over stacked weights (one
  forward pass computes all ``K`` losses) and autograd differentiates their sum.
  The runs share no weights, so :math:`\partial (\sum_j L_j) / \partial \theta_k =
  \partial L_k / \partial \theta_k`: one backward pass gives every run its own
  gradient. The gradients reach the NumPy optimizer without a copy
  (``tensor.numpy()`` and ``torch.from_numpy`` share memory on the CPU).

So the optimizer's formula is the one of :mod:`lrcourse.numpy`, never a second copy,
and the runs match ``K`` separate runs (the tests check it against ``torch.optim``).

>>> import numpy as np
>>> from lrcourse.numpy import SGD
>>> from lrcourse.problems import Quadratic
>>> bowl = Quadratic(kappa=10.0)  # L = 1: gradient descent diverges for lr > 2 / L = 2
>>> result = sweep(bowl, SGD, lr=[0.5, 1.9, 2.1], steps=100)
>>> result.losses.shape, (result.final_loss < result.losses[:, 0]).tolist()
((3, 101), [True, True, False])

A run that overflows is flagged, and leaves the others alone:

>>> from lrcourse.problems import Rosenbrock
>>> sweep(Rosenbrock(), SGD, lr=[1e-3, 1e-1], steps=100).diverged.tolist()
[False, True]
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn
from torch.func import functional_call, vmap
from torch.overrides import TorchFunctionMode

from lrcourse.device import get_device
from lrcourse.models import seeded
from lrcourse.numpy._tree import Params
from lrcourse.problems import Problem
from lrcourse.schedules import Schedule

__all__ = ["sweep", "grid", "SweepResult", "ScaledSchedule", "vmap_loss", "run_outputs", "run_scores"]


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The ``K`` runs of a :func:`sweep`, side by side.

    ``losses[k, t]`` is run ``k``'s loss after ``t`` updates (``t = 0`` is the
    start), shape ``(K, steps + 1)``; NaN or inf where a run diverged. ``params``
    holds the final parameters with a leading axis ``K`` (an array for a problem, a
    dict of arrays by parameter name for a model). ``hyperparams`` maps each swept
    hyperparameter (``"lr"``, ``"momentum"``, ``"betas[0]"``…) to its ``K`` values.
    ``fixed`` holds the hyperparameters shared by all runs, as given. ``path``, when
    asked for, is every iterate of a problem's runs, shape ``(K, steps + 1, d)``
    (ready for :func:`lrcourse.plots.plot_contours`). ``backend`` names where the
    optimizer ran.
    """

    losses: NDArray[np.float64]
    params: Params
    hyperparams: dict[str, NDArray[np.float64]]
    path: NDArray[np.float64] | None = None
    backend: str = "numpy"
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def K(self) -> int:
        """The number of runs."""
        return int(self.losses.shape[0])

    @property
    def steps(self) -> int:
        """The number of updates of each run."""
        return int(self.losses.shape[1] - 1)

    @property
    def lr(self) -> NDArray[np.float64]:
        """Each run's learning rate, shape ``(K,)`` (the base rate when a schedule was given)."""
        return self.hyperparams["lr"]

    @property
    def final_loss(self) -> NDArray[np.float64]:
        """Each run's loss after the last update."""
        return self.losses[:, -1]

    @property
    def diverged(self) -> NDArray[np.bool_]:
        """Whether each run's loss became NaN or infinite at some step."""
        return ~np.isfinite(self.losses).all(axis=1)

    def best(self) -> int:
        """Return the index of the run with the lowest final loss among those that did not diverge."""
        final = np.where(self.diverged, np.inf, self.final_loss)
        if np.all(np.isinf(final)):
            raise ValueError("every run diverged: there is no best run")
        return int(np.argmin(final))

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the sweep with :func:`lrcourse.plots.plot_sweep` and return the axes."""
        from lrcourse.plots import plot_sweep

        return plot_sweep(self, ax, **kwargs)


@dataclass(frozen=True)
class ScaledSchedule:
    """The rates ``base * schedule(step)``: one schedule shape, ``K`` base learning rates.

    A callable of the step count, as the NumPy optimizers accept for ``lr``: at step
    ``t`` run ``k`` uses ``base[k] * schedule(t)``.

    >>> from lrcourse.schedules import StepDecay
    >>> ScaledSchedule(np.array([0.1, 1.0]), StepDecay(1.0, step_size=10, gamma=0.5))(10)
    array([0.05, 0.5 ])

    ``schedule`` may also be a tuple of ``K`` schedules, one per run: run ``k`` uses
    ``base[k] * schedule[k](t)``.

    >>> ScaledSchedule(np.array([1.0, 1.0]), (StepDecay(1.0, step_size=10, gamma=0.5), StepDecay(1.0, 5)))(10)
    array([0.5 , 0.01])
    """

    base: NDArray[np.float64]
    schedule: Schedule | tuple[Schedule, ...]

    def __call__(self, step: int) -> NDArray[np.float64]:
        if isinstance(self.schedule, tuple):  # one schedule per run
            return self.base * np.array([schedule(step) for schedule in self.schedule])
        return self.base * self.schedule(step)


def grid(**axes: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Return every combination of the given values, flattened to ``K`` runs.

    The first axis varies slowest. Pass the result to :func:`sweep` with ``**``.

    >>> g = grid(lr=[0.1, 0.01], momentum=[0.0, 0.5, 0.9])
    >>> g["lr"].tolist(), g["momentum"].tolist()
    ([0.1, 0.1, 0.1, 0.01, 0.01, 0.01], [0.0, 0.5, 0.9, 0.0, 0.5, 0.9])
    """
    values = {name: np.asarray(v, dtype=np.float64).reshape(-1) for name, v in axes.items()}
    combos = list(itertools.product(*values.values()))
    return {name: np.array([combo[i] for combo in combos]) for i, name in enumerate(values)}


def sweep(target: Problem | nn.Module, optimizer: Callable[..., Any], *, steps: int,
          data: Any = None, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
          x0: ArrayLike | Sequence[nn.Module] | Mapping[str, ArrayLike] | None = None, schedule: Schedule | Sequence[Schedule] | None = None, seed: int = 0,
          path: bool = False, device: str | torch.device | None = None, wide_linear: bool = True,
          **hyperparams: Any) -> SweepResult:
    """Train ``K`` copies of a problem or model at once, one per hyperparameter value.

    ``optimizer`` is a :mod:`lrcourse.numpy` optimizer class (or any function that
    builds one from keyword arguments); ``hyperparams`` are its arguments. Each one
    given as a list or 1-D array of length ``K`` is swept, all with the same ``K``
    (run ``k`` gets the ``k``-th value of each: use :func:`grid` for every
    combination); numbers are shared by all runs; a tuple such as ``betas`` is looked
    into, so ``betas=(np.array([0.8, 0.9]), 0.999)`` sweeps :math:`\\beta_1`. With a
    ``schedule``, run ``k``'s rate at step ``t`` is ``lr[k] * schedule(t)``
    (give the schedule a peak of 1). ``schedule`` may also be a list of ``K``
    schedules, one per run: run ``k``'s rate is ``lr[k] * schedule[k](t)`` (``lr=1.0``
    and schedules with their own peaks compare ``K`` schedules side by side, from the
    same start and on the same batches).

    ``target`` is either

    - a :class:`lrcourse.problems.Problem`: every run starts at ``x0`` (default
      ``target.x0``; or one start per run, shape ``(K, d)``), gradients are
      ``target.sample_grad`` (noise drawn from a generator seeded with ``seed``, the
      same draw for every run), losses are ``target.value``, in float64 on the CPU.
      ``path=True`` keeps every iterate;
    - a ``torch.nn.Module``: every run starts from the module's current weights
      (the module itself is not modified), or, with ``x0``, each from its own: a
      list of ``K`` modules of the same architecture (for instance built with ``K``
      seeds, to sweep seeds and rates in one call), or a dict of arrays of shape
      ``(K, ...)`` by parameter name, like the ``params`` of a :class:`SweepResult`. ``data`` is ``(X, y)`` (full batch) or a
      DataLoader (every run sees the same batches, drawn with torch's generator
      seeded with ``seed``), ``loss_fn(output, y)`` defaults to :func:`vmap_loss`
      (the cross-entropy for integer targets, the mean squared error otherwise).
      The weights live on ``device`` (default :func:`lrcourse.device.get_device`)
      in the module's dtype. On the CPU the optimizer works on the same memory as
      torch. On a CUDA device it runs on CuPy arrays that share the GPU memory
      (DLPack) if CuPy is installed; otherwise (and on MPS) every step copies the
      gradients to the host and the new weights back, correct but slower
      (``backend`` says which happened). Models with buffers (batch norm) or
      randomness (dropout) are not supported. With ``wide_linear`` (the default) a
      linear layer whose input is the same for every run (the first layer of
      softmax regression or of an MLP) computes the ``K`` runs' products
      :math:`X W_k^\\top` as one wide product of :math:`X` with the ``K`` weight
      matrices stacked, instead of the ``K`` thin products that ``vmap`` makes of
      it: the same numbers up to rounding, several times faster.
      ``wide_linear=False`` leaves every layer to ``vmap`` (the reference the fast
      path is tested against).

    A run whose loss becomes NaN or inf keeps going as NaN (its numbers never mix
    with the other runs') and is flagged in ``diverged``.

    Speed: ``K`` runs of a test problem cost about one (a step is a few NumPy calls
    whatever ``K``). ``K`` runs of a model do ``K`` times the arithmetic in one call
    instead of ``K`` calls: much faster than a loop when a step is small (minibatches),
    less so when one run's step already keeps the CPU busy (``benchmarks/README.md``).
    On a CPU, float32 runs at large rates can produce subnormal numbers, which x86
    processors handle up to a hundred times slower; ``torch.set_flush_denormal(True)``
    before the sweep avoids that.
    """
    if not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    swept, K = _swept_values(hyperparams)
    swept_names = {key.partition("[")[0] for key in swept}  # "betas[0]" is part of betas
    fixed = {name: value for name, value in hyperparams.items() if name not in swept_names}
    arguments = _as_arrays(hyperparams)
    if isinstance(schedule, (list, tuple)):  # one schedule per run
        if not (schedule and all(isinstance(s, Schedule) for s in schedule)):
            raise ValueError(f"schedule must be an lrcourse.schedules schedule or a non-empty list of them, "
                             f"got {schedule!r}")
        if K != len(schedule) and swept:
            raise ValueError(f"schedule must give one schedule per run: got {len(schedule)} schedules for "
                             f"K = {K} runs of the swept hyperparameters")
        K, schedule = len(schedule), tuple(schedule)
    elif schedule is not None and not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be an lrcourse.schedules schedule or a list of them, got {schedule!r}")
    if schedule is not None:
        if "lr" not in arguments or not np.all(np.asarray(arguments["lr"]) >= 0):
            raise ValueError(f"lr (the base rates, >= 0) must be given with a schedule, got {hyperparams.get('lr')!r}")
        arguments["lr"] = ScaledSchedule(np.broadcast_to(arguments["lr"], (K,)).astype(np.float64), schedule)
    opt = optimizer(**arguments)
    if "lr" not in swept:  # one rate for every run: still listed per run
        rate = arguments["lr"].base if schedule is not None else opt.lr
        swept["lr"] = np.broadcast_to(np.asarray(rate, dtype=np.float64), (K,)).copy()
    if isinstance(target, Problem):
        if data is not None or loss_fn is not None:
            raise ValueError("data and loss_fn apply to torch models only, not to a Problem")
        losses, params, iterates = _sweep_problem(target, opt, K, steps, x0, seed, path)
        return SweepResult(losses, params, swept, iterates, "numpy", fixed)
    if isinstance(target, nn.Module):
        if path:
            raise ValueError("path applies to Problems only: a model's runs keep their final weights in params")
        if data is None:
            raise ValueError("data must be given for a torch model: a pair (X, y) or a DataLoader")
        losses, params, backend = _sweep_model(target, opt, K, steps, data, loss_fn, seed, device, x0,
                                               wide_linear)
        return SweepResult(losses, params, swept, None, backend, fixed)
    raise ValueError(f"target must be an lrcourse.problems Problem or a torch.nn.Module, got {type(target).__name__}")


def _sweep_problem(problem: Problem, opt: Any, K: int, steps: int, x0: ArrayLike | None, seed: int,
                   keep_path: bool) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    start = np.asarray(problem.x0 if x0 is None else x0, dtype=np.float64)
    if start.shape not in ((problem.dim,), (K, problem.dim)):
        raise ValueError(f"x0 must have shape ({problem.dim},) or ({K}, {problem.dim}), got {start.shape}")
    theta = np.broadcast_to(start, (K, problem.dim)).copy()
    rng = np.random.default_rng(seed)
    state = opt.init(theta)
    losses = np.empty((K, steps + 1))
    iterates = np.empty((K, steps + 1, problem.dim)) if keep_path else None
    # A diverging run overflows to inf and then NaN: that is a result here, not an error.
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            losses[:, t] = problem.value(theta)
            if iterates is not None:
                iterates[:, t] = theta
            if t < steps:
                theta, state = opt.step(theta, problem.sample_grad(theta, rng), state)
    return losses, theta, iterates


def _sweep_model(model: nn.Module, opt: Any, K: int, steps: int, data: Any,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, seed: int,
                 device: str | torch.device | None, x0: Any = None,
                 wide_linear: bool = True) -> tuple[NDArray[np.float64], dict[str, NDArray[Any]], str]:
    if any(True for _ in model.buffers()):
        raise ValueError("sweep does not support models with buffers (e.g. batch norm's running statistics)")
    loss_fn = loss_fn or vmap_loss
    device = get_device(device)
    net = copy.deepcopy(model).to(device)  # only its structure is used: the weights come from `params`
    bridge = _Bridge(device)
    starts = _model_starts(net, x0, K)
    params = {name: bridge.to_array(start) for name, start in starts.items()}
    state = opt.init(params)
    history = []

    def run_loss(weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(net, weights, (x,)), y)

    losses_of_runs = vmap(run_loss, in_dims=(0, None, None))  # weights stacked on axis 0, data shared
    if wide_linear:  # the same computation, with the wide product for the linear layers that see the data
        def wide_run_loss(weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            with _SweptLinear(weights.values()):
                return run_loss(weights, x, y)

        losses_of_runs = vmap(wide_run_loss, in_dims=(0, None, None))
    with seeded(seed):
        batches = _stream(data, device)
        for t in range(steps + 1):
            x, y = next(batches)
            weights = {name: bridge.to_tensor(a).requires_grad_(t < steps) for name, a in params.items()}
            losses = losses_of_runs(weights, x, y)  # (K,): one forward pass for every run
            history.append(losses.detach())
            if t == steps:
                break
            # The runs share no weights, so the gradient of the sum is each run's own gradient.
            grads = torch.autograd.grad(losses.sum(), list(weights.values()))
            with np.errstate(over="ignore", invalid="ignore"):  # diverging runs: see _sweep_problem
                params, state = opt.step(params, {name: bridge.to_array(g) for name, g in zip(weights, grads)}, state)
    losses_array = torch.stack(history, dim=1).to("cpu", torch.float64).numpy()
    return losses_array, {name: bridge.to_numpy(a) for name, a in params.items()}, bridge.backend


def _model_starts(net: nn.Module, x0: Any, K: int) -> dict[str, torch.Tensor]:
    """Return each parameter of ``net`` stacked ``K`` times: copies of its own, or the runs' starts ``x0``."""
    own = dict(net.named_parameters())
    if x0 is None:
        return {name: p.detach().expand(K, *p.shape).clone() for name, p in own.items()}
    if isinstance(x0, Mapping):
        given = {name: torch.as_tensor(np.asarray(value)) for name, value in x0.items()}
    elif isinstance(x0, Sequence) and all(isinstance(m, nn.Module) for m in x0) and len(x0) > 0:
        runs = [dict(m.named_parameters()) for m in x0]
        if any(run.keys() != own.keys() or any(run[n].shape != p.shape for n, p in own.items()) for run in runs):
            raise ValueError(f"x0: every module must have the model's parameters and shapes, "
                             f"{ {name: tuple(p.shape) for name, p in own.items()} }")
        given = {name: torch.stack([run[name].detach().to("cpu") for run in runs]) for name in own}
    else:
        raise ValueError(f"x0 for a model must be a list of K modules or a dict of (K, ...) arrays by parameter "
                         f"name, got {type(x0).__name__}")
    if given.keys() != own.keys():
        raise ValueError(f"x0 must give the model's parameters {sorted(own)}, got {sorted(given)}")
    for name, p in own.items():
        if tuple(given[name].shape) != (K, *p.shape):
            raise ValueError(f"x0 must give one start per run: {name} must have shape {(K, *p.shape)}, "
                             f"got {tuple(given[name].shape)}")
    return {name: given[name].to(p.device, p.dtype).clone() for name, p in own.items()}


@torch.library.custom_op("lrcourse::swept_linear", mutates_args=())
def _swept_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear`` as an operator of its own, so that it can have its own rule under ``vmap`` (below)."""
    return torch.nn.functional.linear(x, weight, bias)


def _swept_linear_vmap(info: Any, in_dims: tuple[int | None, ...], x: torch.Tensor, weight: torch.Tensor,
                       bias: torch.Tensor | None) -> tuple[torch.Tensor, int]:
    r"""Compute ``F.linear`` for ``K`` runs' weights at once, on the stacked tensors; the runs go on axis 0.

    When the input ``X`` (``N`` rows of ``D`` features) is the same for every run,
    vmap's own rule makes ``K`` thin products :math:`X W_k^\top` (a batched ``bmm``
    over ``X`` expanded ``K`` times) and their backward ``K`` more, slow when the
    layer is narrow (10 classes). They are the blocks of one wide product: the
    weights stacked into a ``(K·C, D)`` matrix give every run's outputs in one
    ``(K·C, D) × (D, N)`` product, and the backward is two more of that size.

    The result is laid out ``(K, C, N)`` in memory, each run's outputs feature by
    feature: how :func:`vmap_loss` reads the scores (so the cross-entropy copies
    nothing), and how the next linear layer gets its input. That layer, with an input
    per run, computes :math:`(W_k H_k^\top)^\top` with contiguous operands and leaves
    its result in the same layout; an input laid out otherwise goes to the ``K``
    products :math:`H_k W_k^\top` that vmap's rule makes.
    """
    x_dim, w_dim, b_dim = in_dims
    K = info.batch_size
    w = weight.movedim(w_dim, 0) if w_dim is not None else weight.expand(K, *weight.shape)
    _, C, D = w.shape
    b = None if bias is None else bias.movedim(b_dim, 0) if b_dim is not None else bias.expand(K, C)
    if x_dim is None:  # one input for every run: one wide product
        rows = x.reshape(-1, D).T
        stacked = w.reshape(K * C, D)
        out = stacked @ rows if b is None else torch.addmm(b.reshape(K * C, 1), stacked, rows)
        return out.view(K, C, -1).transpose(1, 2).reshape(K, *x.shape[:-1], C), 0
    xs = x.movedim(x_dim, 0)
    if xs.ndim == 3 and xs.transpose(1, 2).is_contiguous():  # laid out (K, D, N), as a wide product leaves it
        out = torch.bmm(w, xs.transpose(1, 2)) if b is None else torch.baddbmm(b.unsqueeze(2), w, xs.transpose(1, 2))
        return out.transpose(1, 2), 0
    out = torch.matmul(xs.reshape(K, -1, D), w.transpose(1, 2)).reshape(K, *xs.shape[1:-1], C)
    if b is not None:
        out = out + b.reshape(K, *[1] * (out.ndim - 2), C)
    return out, 0


_swept_linear.register_vmap(_swept_linear_vmap)


class _SweptLinear(TorchFunctionMode):
    """Within the block, send ``F.linear`` calls on the sweep's stacked weights to :func:`_swept_linear`."""

    def __init__(self, weights: Iterable[torch.Tensor]) -> None:
        super().__init__()
        self.weights = {id(w) for w in weights}  # the batched tensors vmap made of the runs' weights

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.nn.functional.linear:
            x, weight, bias = (list(args) + [kwargs.get(k) for k in ("input", "weight", "bias")[len(args):]])[:3]
            if id(weight) in self.weights and (bias is None or id(bias) in self.weights):
                return _swept_linear(x, weight, bias)
        return func(*args, **kwargs)


def run_outputs(model: nn.Module, params: Mapping[str, NDArray[Any]], X: torch.Tensor) -> torch.Tensor:
    """Return the outputs on ``X`` of the ``K`` trained runs of a model sweep, shape ``(K, N, ...)``.

    ``params`` is the ``params`` of the :class:`SweepResult` of a sweep of ``model`` (each array with
    the runs on axis 0); one forward pass maps the model over the runs, without
    gradients. The module's own weights are not used or changed.

    >>> from lrcourse.models import SoftmaxRegression
    >>> model = SoftmaxRegression(3, 2)
    >>> params = {name: np.stack([p.detach().numpy(), 0 * p.detach().numpy()]) for name, p in model.named_parameters()}
    >>> run_outputs(model, params, torch.ones(4, 3)).shape, bool((run_outputs(model, params, torch.ones(4, 3))[1] == 0).all())
    (torch.Size([2, 4, 2]), True)
    """
    weights = {name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in params.items()}
    with torch.no_grad():
        return vmap(lambda w: functional_call(model, w, (X,)))(weights)


def run_scores(model: nn.Module, params: Mapping[str, NDArray[Any]], X: torch.Tensor,
               y: torch.Tensor) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the cross-entropy and the accuracy on ``(X, y)`` of each of the ``K`` runs of a classifier sweep.

    Both have shape ``(K,)``, from one forward pass (:func:`run_outputs`). A run whose
    loss is not finite (it diverged: its weights hold NaN or inf) gets the loss
    ``inf``; its accuracy is what its outputs give.
    """
    scores = run_outputs(model, params, X)  # (K, N, classes)
    loss = torch.nn.functional.cross_entropy(scores.permute(0, 2, 1), y.expand(len(scores), -1),
                                             reduction="none").mean(dim=1).numpy()
    accuracy = (scores.argmax(dim=-1) == y).double().mean(dim=1).numpy()
    return np.where(np.isfinite(loss), loss, np.inf), accuracy


def vmap_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return :func:`lrcourse.training.default_loss`, in the layout that runs fastest under ``vmap``.

    For class scores of shape ``(N, C)`` and integer targets this is the same
    ``F.cross_entropy``, called on the scores transposed to shape ``(1, C, N)`` (the
    classes along the middle axis, as torch accepts for images). The value is the
    same; the speed is not: mapped over ``K`` runs, torch's log-softmax over rows of
    10 classes works one short row at a time, while over the middle axis it works on
    ``N`` rows at once with vector instructions. For the digits with ``K = 64`` a
    forward and backward step takes 2.8 ms instead of 8.9 ms (2 threads).

    >>> z, y = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]), torch.tensor([1, 2])
    >>> bool(torch.isclose(vmap_loss(z, y), torch.nn.functional.cross_entropy(z, y)))
    True
    """
    from lrcourse.training import default_loss

    if torch.is_floating_point(target) or output.ndim != 2:
        return default_loss(output, target)
    return torch.nn.functional.cross_entropy(output.T[None], target[None])


class _Bridge:
    """Hand tensors to the optimizer's array library and back, without copies where possible."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cupy = None
        if device.type == "cuda":
            try:
                import cupy  # type: ignore[import-not-found]

                self.cupy = cupy
            except ImportError:
                pass
        if device.type == "cpu":
            self.backend = "numpy"
        elif self.cupy is not None:
            self.backend = "cupy"
        else:
            self.backend = "numpy (host copies)"

    def to_array(self, tensor: torch.Tensor) -> Any:
        if self.device.type == "cpu":
            return tensor.detach().numpy()  # shares memory
        if self.cupy is not None:
            return self.cupy.from_dlpack(tensor.detach())  # shares GPU memory
        return tensor.detach().cpu().numpy()

    def to_tensor(self, array: Any) -> torch.Tensor:
        if self.device.type == "cpu":
            return torch.from_numpy(array)  # shares memory
        if self.cupy is not None:
            return torch.from_dlpack(array)
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def to_numpy(self, array: Any) -> NDArray[Any]:
        return self.cupy.asnumpy(array) if self.cupy is not None else np.asarray(array)


def _stream(data: Any, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield batches forever: the pair itself, or one epoch of the loader after another."""
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(f"data must be a pair (X, y) or a DataLoader of pairs, got a tuple of {len(data)}")
        x, y = data[0].to(device), data[1].to(device)
        while True:
            yield x, y
    while True:
        empty = True
        for x, y in data:
            empty = False
            yield x.to(device), y.to(device)
        if empty:
            raise ValueError("data must hold at least one batch, got an empty loader")


def _swept_values(hyperparams: Mapping[str, Any]) -> tuple[dict[str, NDArray[np.float64]], int]:
    """Find the swept hyperparameters (lists and 1-D arrays, also inside tuples) and their common length K."""
    swept: dict[str, NDArray[np.float64]] = {}

    def visit(name: str, value: Any) -> None:
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                visit(f"{name}[{i}]", item)
        elif not callable(value) and not isinstance(value, (bool, str)) and np.ndim(value) > 0:
            array = np.asarray(value, dtype=np.float64)
            if array.ndim != 1 or len(array) == 0:
                raise ValueError(f"{name} must be a number or a non-empty 1-D list of values, got shape {array.shape}")
            swept[name] = array

    for name, value in hyperparams.items():
        visit(name, value)
    lengths = {name: len(values) for name, values in swept.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"swept hyperparameters must all have the same length K, got {lengths}")
    return swept, next(iter(lengths.values()), 1)


def _as_arrays(hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """Turn lists into arrays (inside tuples too), for the optimizer to broadcast."""
    def convert(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(convert(item) for item in value)
        if isinstance(value, list):
            return np.asarray(value, dtype=np.float64)
        return value

    return {name: convert(value) for name, value in hyperparams.items()}
