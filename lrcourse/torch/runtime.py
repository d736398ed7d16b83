"""What every loop of :mod:`lrcourse.torch` shares: seeding, batches, the progress bar, setting the rate.

One copy of each, used by :func:`~lrcourse.torch.fit`, :func:`~lrcourse.torch.sweep_model`,
:func:`~lrcourse.torch.lr_range_test`, :class:`~lrcourse.torch.ScheduleLR` and the
models' constructors:

- :func:`seeded`: run a block with torch's generators seeded, then put them back;
- :func:`cycle` and :func:`one_epoch`: the batches of ``data``, a full batch ``(X, y)``
  or any iterable of ``(x, y)`` pairs (a DataLoader, a list);
- :func:`show_progress` and :func:`progress_bar`: a tqdm bar where someone can see it;
- :func:`set_lr`: write a param group's rate, also when torch keeps it as a tensor.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from lrcourse.torch.device import get_device
from lrcourse.validation import check, flag, integer, real

__all__ = ["Batch", "Data", "seeded", "is_full_batch", "check_data", "cycle", "one_epoch", "batches_per_epoch",
           "show_progress", "progress_bar", "set_lr", "optimizer_tensors", "held_parameters"]

Batch = tuple[torch.Tensor, torch.Tensor]
Data = Batch | Iterable[Batch]
"""A pair ``(X, y)`` of tensors (the full batch), or an iterable of such pairs (a DataLoader, a list)."""


@contextlib.contextmanager
def seeded(seed: int | None, device: str | torch.device | None = None) -> Iterator[None]:
    """Run the block with torch's CPU generator (and ``device``'s) seeded with ``seed``; restore them after.

    The CPU generator is always seeded. With ``device`` a CUDA or MPS device, that
    device's generator is seeded too (dropout on a GPU draws from it). Every generator
    that was seeded gets its state back when the block ends, also on an exception; no
    other generator is touched (``torch.manual_seed`` would reseed every GPU and never
    restore them). With ``seed=None`` the block uses, and advances, the generators as
    they are.

    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    if seed is None:
        yield
        return
    seed = integer("seed", seed, low=0)
    where = get_device(device) if device is not None else torch.device("cpu")
    kind = where.type
    cpu_state = torch.random.get_rng_state()
    cuda_index = None
    if kind == "cuda":
        cuda_index = torch.cuda.current_device() if where.index is None else where.index
        cuda_state = torch.cuda.get_rng_state(cuda_index)
    elif kind == "mps":
        mps_state = torch.mps.get_rng_state()
    try:
        torch.random.default_generator.manual_seed(seed)
        if cuda_index is not None:
            torch.cuda.default_generators[cuda_index].manual_seed(seed)
        elif kind == "mps":
            torch.mps.manual_seed(seed)
        yield
    finally:
        torch.random.set_rng_state(cpu_state)
        if cuda_index is not None:
            torch.cuda.set_rng_state(cuda_state, cuda_index)
        elif kind == "mps":
            torch.mps.set_rng_state(mps_state)


def is_full_batch(data: Any) -> bool:
    """Tell whether ``data`` is one batch ``(X, y)``: a tuple of two tensors."""
    return isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)


def check_data(data: Any, name: str = "data") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``data`` has the form of :data:`Data`.

    Only the form is checked, without drawing a batch: a pair ``(X, y)`` of tensors, or
    an iterable that is not a tensor (its batches are checked as they come, by
    :func:`one_epoch`).
    """
    allowed = f"{name} must be a pair (X, y) of tensors or an iterable of (x, y) batches"
    if is_full_batch(data):
        return
    if isinstance(data, tuple) and data and all(isinstance(t, torch.Tensor) for t in data):
        raise ValueError(f"{allowed}, got a tuple of {len(data)} tensors")
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise ValueError(f"{allowed}, got a {type(data).__name__}")


def _pair(batch: Any, name: str) -> Batch:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ValueError(f"{name} must yield (x, y) pairs, got a {type(batch).__name__}"
                         + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    return batch[0], batch[1]


def _empty(name: str) -> str:
    return f"{name} must hold at least one batch, got an empty iterable"


def one_epoch(data: Data, device: str | torch.device | None = None, *, empty_ok: bool = False,
              name: str = "data") -> Iterator[Batch]:
    """Yield one pass of ``data``: the full batch once, or every batch of the iterable, moved to ``device``.

    A pass that yields nothing raises ``ValueError`` (unless ``empty_ok``): an empty
    loader, or a generator that a previous pass used up. Errors call the argument
    ``name`` (``"val_data"`` for :func:`~lrcourse.torch.fit`'s validation data).
    """
    flag("empty_ok", empty_ok)
    check_data(data, name)
    if is_full_batch(data):
        x, y = data  # type: ignore[misc]
        yield (x, y) if device is None else (x.to(device), y.to(device))
        return
    count = 0
    for batch in data:  # type: ignore[union-attr]
        x, y = _pair(batch, name)
        count += 1
        yield (x, y) if device is None else (x.to(device), y.to(device))
    if count == 0 and not empty_ok:
        raise ValueError(_empty(name) + " (or a generator that was already used up)")


def cycle(data: Data, device: str | torch.device | None = None, *, name: str = "data") -> Iterator[Batch]:
    """Yield batches forever: the full batch ``(X, y)`` again and again, or one pass of ``data`` after another.

    A generator runs out after its first pass: the second pass then gives nothing, and
    this raises ``ValueError`` saying so, instead of stopping early or looping forever.

    >>> X, y = torch.zeros(4, 2), torch.arange(4)
    >>> batches = cycle([(X[:2], y[:2]), (X[2:], y[2:])])
    >>> [next(batches)[1].tolist() for _ in range(3)]
    [[0, 1], [2, 3], [0, 1]]
    """
    passes = 0
    while True:
        count = 0
        for batch in one_epoch(data, device, empty_ok=True, name=name):
            count += 1
            yield batch
        if count == 0:
            raise ValueError(_empty(name) if passes == 0 else
                             f"{name} ran out: it gave no batches on its second pass; pass something that can be "
                             "iterated again, such as a DataLoader or a list, not a generator")
        passes += 1


def batches_per_epoch(data: Data) -> int | None:
    """Return the number of batches in one pass of ``data`` (1 for a full batch), or ``None`` if it has no length."""
    if is_full_batch(data):
        return 1
    try:
        return len(data)  # type: ignore[arg-type]
    except TypeError:
        return None


def show_progress(progress: bool | None) -> bool:
    """Decide whether to show a progress bar: ``progress`` if given, else the environment's say.

    ``LRCOURSE_PROGRESS=0`` (or ``false``, ``no``, ``off``) turns bars off and any other
    value on; without it a bar shows in a notebook or when standard error is a terminal,
    not when the output goes to a file or a pipe.
    """
    if progress is not None:
        check(isinstance(progress, bool), "progress", "True, False or None", progress, TypeError)
        return progress
    setting = os.environ.get("LRCOURSE_PROGRESS")
    if setting is not None:
        return setting.strip().lower() not in ("0", "false", "no", "off", "")
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    in_notebook = shell is not None and hasattr(shell, "kernel")
    return in_notebook or sys.stderr.isatty()


def progress_bar(total: int | None, progress: bool | None, desc: str, *, leave: bool = True) -> Any:
    """Return a tqdm bar of ``total`` steps named ``desc``, shown as :func:`show_progress` decides.

    ``total=None`` gives a bar of unknown length (a count of steps, no percentage).
    """
    if total is not None:
        total = integer("total", total, low=0)
    return tqdm(total=total, desc=desc, unit="step", disable=not show_progress(progress), leave=leave)


def set_lr(group: dict[str, Any], lr: float) -> None:
    """Set a param group's learning rate to ``lr``, in place when torch keeps it as a tensor.

    Capturable and compiled optimizers hold ``group["lr"]`` as a tensor that a captured
    graph reads; replacing it with a number would leave the graph reading the old rate.

    >>> group = {"lr": torch.tensor(0.1)}
    >>> set_lr(group, 0.5)
    >>> group["lr"]
    tensor(0.5000)

    ``lr`` must be a finite number >= 0 (``ValueError`` otherwise, ``TypeError`` for
    something that is not a real number): a NaN or negative rate would be used as it is.
    """
    lr = real("lr", lr, low=0.0)
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(lr)
    else:
        group["lr"] = lr


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Return the tensors ``optimizer`` updates, each once, in the order of its param groups."""
    unique = {id(p): p for group in optimizer.param_groups for p in group["params"]}
    return list(unique.values())


def held_parameters(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Return the parameters of ``model`` that ``optimizer`` updates; refuse an optimizer that updates none.

    An optimizer built on another model, or on a copy of this one, would train nothing
    that the loss depends on: :func:`~lrcourse.torch.fit`, :func:`~lrcourse.torch.training.train_step`
    and :func:`~lrcourse.torch.lr_range_test` refuse it with this ``ValueError``.
    ``TypeError`` if ``model`` is not a module or ``optimizer`` not an optimizer.
    """
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    check(isinstance(optimizer, torch.optim.Optimizer), "optimizer",
          "a torch.optim.Optimizer (of lrcourse.torch or torch.optim) built on the model's parameters", optimizer,
          TypeError)
    tensors = optimizer_tensors(optimizer)
    own = {id(p) for p in model.parameters()}
    held = [p for p in tensors if id(p) in own]
    if not held:
        raise ValueError(f"optimizer must hold parameters of model, but none of its {len(tensors)} parameters is "
                         "one of the model's: was it built on another model, or on a copy of this one? The "
                         "optimizer must be built on the model's parameters (model.parameters())")
    return held
