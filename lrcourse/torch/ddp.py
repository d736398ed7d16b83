r"""Data-parallel training on ``torch.distributed``: N workers with batch B take the steps of one with batch N·B.

Run as a module under ``torchrun`` (torch's launcher, ``python -m torch.distributed.run``),
it trains a chapter model with :class:`torch.nn.parallel.DistributedDataParallel`: the
``gloo`` backend on the CPU, ``NCCL`` when CUDA is available (each process on the GPU
of its local rank). Every rank builds the same model from ``--seed`` (DDP also
broadcasts rank 0's weights when it wraps the model), and one global batch order,
drawn from the seed (:func:`batch_order`), is cut into per-rank shards: at step ``t``
rank ``r`` of ``N`` takes examples ``r·B … (r+1)·B - 1`` of the global batch ``t`` of
``N·B``. DDP averages the gradients over the ranks, and the mean of ``N`` shard means
of equal size is the mean over the global batch, so the run takes the same steps as
one process with batch ``N·B`` (:func:`run_single`), to the rounding of float
sums taken in another order.

The rate is ``--lr`` for the batch ``--base-batch-size`` (default: the per-rank batch
``B``), scaled to the global batch ``N·B`` by ``--rule``: ``linear`` (Goyal et al.,
2017: ``lr · N·B / base``), ``sqrt`` (the square-root rule for Adam, Malladi et al.,
2022: ``lr · sqrt(N·B / base)``) or ``none``, then ramped up over ``--warmup-steps``
with :class:`lrcourse.schedules.Warmup` and driven by :class:`lrcourse.torch.ScheduleLR`.
Rank 0 writes a JSON file (``--out``): the training loss of every step (the mean over
the global batch, all-reduced), the rate of every step, the validation loss at the
end, the final weights (flat, float64) and their sum as a checksum.

One machine, two processes on the CPU (gloo)::

    torchrun --standalone --nproc-per-node 2 -m lrcourse.torch.ddp --task digits \
        --batch-size 32 --lr 0.05 --rule linear --warmup-steps 10 --steps 200 --out run.json

Several machines (run the same line on each, ``--node-rank`` 0 … ``nnodes - 1``; the
endpoint is a host and port that every node reaches, where the c10d rendezvous
listens; ``--rdzv-id`` names the job)::

    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 4 --rdzv-backend c10d \
        --rdzv-endpoint node0.example.org:29400 --rdzv-id lr-job -m lrcourse.torch.ddp --out run.json

GPUs: the same lines; with CUDA available each process takes ``cuda:<local rank>`` and
the NCCL backend (``--nproc-per-node`` at most the number of GPUs of the node; force
the CPU with ``--device cpu``)::

    torchrun --standalone --nproc-per-node 8 -m lrcourse.torch.ddp --device cuda --out run.json

Without torchrun (no ``RANK`` in the environment) the module trains in one process,
with no process group: ``python -m lrcourse.torch.ddp --batch-size 64``. From Python,
:func:`launch` runs torchrun in a subprocess, bounded in time, and returns the parsed
result; :func:`run_single` trains the same model in this process with batch ``N·B``.

The ranks read only what is on the machine: scikit-learn's bundled digits, or the
standard library's docstrings for ``characters``; nothing is downloaded.

References:
    Goyal, P. et al. (2017). Accurate, large minibatch SGD: training ImageNet in 1 hour.
    arXiv:1706.02677.
    Malladi, S., Lyu, K., Panigrahi, A. and Arora, S. (2022). On the SDEs and scaling
    rules for adaptive gradient algorithms. NeurIPS 2022.
    Li, S. et al. (2020). PyTorch distributed: experiences on accelerating data parallel
    training. Proceedings of the VLDB Endowment 13(12).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from lrcourse.schedules import Constant, Schedule, Warmup
from lrcourse.torch.data import characters, load
from lrcourse.torch.models import MLP, CharMLP
from lrcourse.torch.schedulers import ScheduleLR
from lrcourse.validation import check, integer, real

__all__ = ["DDPOptions", "DDPResult", "batch_order", "scaled_schedule", "train", "run_single", "launch", "main"]

TASKS = ("digits", "characters")
RULES = ("linear", "sqrt", "none")
OPTIMIZERS = ("sgd", "adam")
DTYPES = ("float32", "float64")
DEVICES = ("auto", "cpu", "cuda")
TAG = "LRCOURSE_DDP_LAUNCH"  # set in the environment of every process that launch starts, to find them all


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    check(isinstance(value, str), name, f"one of {allowed}", value, TypeError)
    check(value in allowed, name, f"one of {allowed}", value)
    return str(value)


@dataclass(frozen=True)
class DDPOptions:
    """The options of one data-parallel run, checked when built (the command line's flags, with ``_`` for ``-``).

    ``batch_size`` is the batch of one rank (``B``); the global batch is ``world_size ·
    B``. ``lr`` is the rate for ``base_batch_size`` examples (``None``: ``B``), scaled to
    the global batch by ``rule`` and warmed up over ``warmup_steps`` (0: none), see
    :func:`scaled_schedule`. ``hidden`` are the hidden widths of the model (``MLP`` for
    ``digits``, ``CharMLP`` for ``characters``); ``momentum`` is SGD's (ignored by Adam).

    >>> DDPOptions(lr=0.1, steps=5).batch_size
    32
    >>> DDPOptions(rule="cubic")
    Traceback (most recent call last):
    ...
    ValueError: rule must be one of ('linear', 'sqrt', 'none'), got 'cubic'
    """

    task: str = "digits"
    batch_size: int = 32
    lr: float = 0.05
    base_batch_size: int | None = None
    rule: str = "linear"
    warmup_steps: int = 0
    steps: int = 20
    seed: int = 0
    optimizer: str = "sgd"
    momentum: float = 0.0
    hidden: tuple[int, ...] = (32,)
    dtype: str = "float32"
    device: str = "auto"

    def __post_init__(self) -> None:
        _choice("task", self.task, TASKS)
        integer("batch_size", self.batch_size, low=1)
        real("lr", self.lr, low=0.0, low_open=True)
        if self.base_batch_size is not None:
            integer("base_batch_size", self.base_batch_size, low=1)
        _choice("rule", self.rule, RULES)
        integer("warmup_steps", self.warmup_steps, low=0)
        integer("steps", self.steps, low=1)
        integer("seed", self.seed, low=0)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        real("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check(isinstance(self.hidden, tuple) and len(self.hidden) > 0, "hidden", "a non-empty tuple of widths",
              self.hidden, TypeError)
        for width in self.hidden:
            integer("hidden", width, low=1)
        _choice("dtype", self.dtype, DTYPES)
        _choice("device", self.device, DEVICES)


@dataclass(frozen=True)
class DDPResult:
    """What a run returns (rank 0's JSON file, parsed): per-step losses and rates, final weights."""

    losses: NDArray[np.float64]  # the training loss at each step, the mean over the global batch
    lrs: NDArray[np.float64]  # the rate each step used
    weights: NDArray[np.float64]  # the final parameters, flattened in the model's order
    val_loss: float  # the validation loss of the final weights
    checksum: float  # the sum of ``weights``
    world_size: int
    backend: str  # "gloo", "nccl", or "none" for a run without a process group
    device: str
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = math.nan  # wall time of the training loop on rank 0

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> DDPResult:
        """Build the result from the dictionary :func:`train` writes."""
        arrays = {key: np.asarray(record[key], dtype=np.float64) for key in ("losses", "lrs", "weights")}
        return cls(**arrays, val_loss=float(record["val_loss"]), checksum=float(record["checksum"]),
                   world_size=int(record["world_size"]), backend=str(record["backend"]),
                   device=str(record["device"]), options=dict(record["options"]), seconds=float(record["seconds"]))


def batch_order(n: int, global_batch: int, steps: int, seed: int) -> NDArray[np.int64]:
    """Return the example indices of every global batch, shape ``(steps, global_batch)``.

    The indices are a stream of random permutations of ``0 … n - 1`` (one per epoch,
    drawn from ``seed`` with NumPy's default generator) cut into consecutive batches,
    so every example is seen once per epoch and a batch may straddle two epochs. Rank
    ``r`` of ``N`` takes columns ``r·B … (r+1)·B - 1`` (``B = global_batch / N``).

    >>> order = batch_order(10, 4, steps=5, seed=0)
    >>> order.shape, sorted(order.ravel()[:10].tolist()) == list(range(10))
    ((5, 4), True)
    """
    n, global_batch = integer("n", n, low=1), integer("global_batch", global_batch, low=1)
    steps, seed = integer("steps", steps, low=1), integer("seed", seed, low=0)
    rng = np.random.default_rng(seed)
    need = steps * global_batch
    stream = np.concatenate([rng.permutation(n) for _ in range(-(-need // n))])
    return stream[:need].reshape(steps, global_batch).astype(np.int64)


def scaled_schedule(options: DDPOptions, world_size: int = 1) -> Schedule:
    """Return the schedule of the run: ``lr`` scaled from ``base_batch_size`` to the global batch, then warmup.

    The global batch is ``G = world_size · batch_size`` and the base ``b`` is
    ``base_batch_size`` (``batch_size`` if ``None``); the rate is ``lr · G/b``
    (``rule="linear"``), ``lr · sqrt(G/b)`` (``"sqrt"``) or ``lr`` (``"none"``), held
    constant after ``warmup_steps`` of linear warmup from 0 (:class:`lrcourse.schedules.Warmup`).

    >>> scaled_schedule(DDPOptions(lr=0.1, batch_size=8, rule="linear"), world_size=4)
    Constant(lr=0.4)
    >>> scaled_schedule(DDPOptions(lr=0.1, batch_size=8, base_batch_size=2, rule="sqrt", warmup_steps=5))
    Warmup(schedule=Constant(lr=0.2), warmup_steps=5, start_lr=0.0)
    """
    check(isinstance(options, DDPOptions), "options", "a DDPOptions", options, TypeError)
    world_size = integer("world_size", world_size, low=1)
    ratio = world_size * options.batch_size / (options.base_batch_size or options.batch_size)
    factor = {"linear": ratio, "sqrt": math.sqrt(ratio), "none": 1.0}[options.rule]
    schedule: Schedule = Constant(options.lr * factor)
    return Warmup(schedule, options.warmup_steps) if options.warmup_steps else schedule


def _problem(options: DDPOptions) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]:
    """The model and the training and validation splits of the task, as tensors."""
    if options.task == "digits":
        data: Any = load("digits", seed=0)
        model: nn.Module = MLP(data.n_features, data.n_classes, hidden=options.hidden, seed=options.seed)
    else:
        data = characters(8, n_train=20_000, n_val=2_000, n_test=1)
        model = CharMLP(data.n_classes, context=8, hidden=options.hidden, seed=options.seed)
    dtype = getattr(torch, options.dtype)
    splits = []
    for split in (data.train, data.val):
        x = torch.as_tensor(split.X)
        splits.append((x.to(dtype) if x.is_floating_point() else x, torch.as_tensor(split.y)))
    return model.to(dtype), splits[0], splits[1]


def _device(options: DDPOptions, local_rank: int) -> torch.device:
    cuda = torch.cuda.is_available()
    if options.device == "cuda" or (options.device == "auto" and cuda):
        if not cuda:
            raise ValueError("device must be 'cpu' or 'auto' here: CUDA is not available, got 'cuda'")
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"--nproc-per-node must be at most the number of GPUs ({torch.cuda.device_count()}) "
                             f"with device cuda: local rank {local_rank} has no GPU")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def train(options: DDPOptions, *, world_size: int = 1, rank: int = 0, local_rank: int = 0,
          distributed: bool = False) -> dict[str, Any]:
    """Train one rank's part of the run and return the record that rank 0 writes (see :class:`DDPResult`).

    With ``distributed``, the process group must be initialised (``main`` does it) and
    the model is wrapped in ``DistributedDataParallel``; rank ``rank`` takes its shard
    of each global batch of ``world_size · batch_size``. Without, it trains alone on
    batches of ``world_size · batch_size``: the run that ``world_size`` ranks reproduce.
    """
    check(isinstance(options, DDPOptions), "options", "a DDPOptions", options, TypeError)
    world_size = integer("world_size", world_size, low=1)
    rank = integer("rank", rank, low=0, high=world_size - 1)
    device = _device(options, integer("local_rank", local_rank, low=0))
    model, (x_train, y_train), (x_val, y_val) = _problem(options)
    model = model.to(device)
    x_train, y_train = x_train.to(device), y_train.to(device)
    net: nn.Module = model
    if distributed:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    params = list(model.parameters())
    if options.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(params, lr=options.lr, momentum=options.momentum)
    else:
        optimizer = torch.optim.Adam(params, lr=options.lr)
    scheduler = ScheduleLR(optimizer, scaled_schedule(options, world_size))
    order = torch.as_tensor(batch_order(len(y_train), world_size * options.batch_size, options.steps, options.seed))
    mine = order[:, rank * options.batch_size:(rank + 1) * options.batch_size] if distributed else order
    losses, lrs = [], []
    start = time.perf_counter()
    for t in range(options.steps):
        idx = mine[t].to(device)
        loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # DDP all-reduces the gradients here: their mean over the ranks
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
        seen = loss.detach().clone()
        if distributed:
            dist.all_reduce(seen)
            seen /= world_size
        losses.append(float(seen))
    seconds = time.perf_counter() - start
    with torch.no_grad():
        val_loss = float(F.cross_entropy(model(x_val.to(device)), y_val.to(device)))
        weights = torch.cat([p.detach().reshape(-1).to("cpu", torch.float64) for p in params]).numpy()
    return {"losses": losses, "lrs": lrs, "weights": weights.tolist(), "val_loss": val_loss,
            "checksum": float(weights.sum()), "world_size": world_size,
            "backend": dist.get_backend() if distributed else "none", "device": str(device),
            "options": {**asdict(options), "hidden": list(options.hidden)}, "seconds": seconds}


def run_single(nproc: int = 1, **options: Any) -> DDPResult:
    """Train in this process with batch ``nproc · batch_size``: the run that ``launch(nproc, **options)`` reproduces.

    The rate is scaled as for ``nproc`` workers (the global batch is the same).

    >>> result = run_single(2, batch_size=4, steps=3, hidden=(8,), device="cpu")
    >>> result.losses.shape, result.world_size, result.backend
    ((3,), 2, 'none')
    """
    nproc = integer("nproc", nproc, low=1)
    return DDPResult.from_json(train(DDPOptions(**options), world_size=nproc))


def _flags(options: DDPOptions) -> list[str]:
    """The command-line flags that give ``options``."""
    flags: list[str] = []
    for key, value in asdict(options).items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        flags += [flag, *map(str, value)] if isinstance(value, tuple) else [flag, str(value)]
    return flags


def _tagged(tag: str) -> list[int]:
    """The ids of this user's processes whose environment holds ``TAG=tag`` (Linux: /proc), but this one."""
    found = []
    needle = f"{TAG}={tag}".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if int(entry.name) != os.getpid() and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def _kill_all(launcher: subprocess.Popen[bytes], tag: str, grace: float = 3.0) -> None:
    """End the launcher and every process it started: SIGTERM to their groups, SIGKILL after ``grace`` seconds.

    torchrun starts each worker in a session of its own, so its group is not enough;
    the workers are found by the tag ``launch`` put in their environment.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = {launcher.pid, *_tagged(tag)}
        for pid in pids:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), sig)
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (launcher.poll() is None or _tagged(tag)):
            time.sleep(0.05)
        if launcher.poll() is not None and not _tagged(tag):
            return
    launcher.wait(timeout=grace)


def launch(nproc: int = 2, *, timeout: float = 120.0, **options: Any) -> DDPResult:
    """Run ``torchrun --standalone --nproc-per-node nproc -m lrcourse.torch.ddp`` in a subprocess; return its result.

    The options are :class:`DDPOptions`' (checked here, before anything starts). The
    launcher is ``sys.executable -m torch.distributed.run`` with ``--standalone`` (a
    rendezvous on a free local port), each process with one OpenMP/torch thread. If
    the run takes longer than ``timeout`` seconds, fails, or is interrupted, the
    launcher and every worker are ended (SIGTERM, then SIGKILL) before this returns:
    ``TimeoutError`` or ``RuntimeError`` (with the end of the workers' output) then.

    >>> result = launch(2, batch_size=4, steps=3, hidden=(8,), device="cpu", timeout=120)  # doctest: +SKIP
    >>> result.world_size, result.backend  # doctest: +SKIP
    (2, 'gloo')
    """
    nproc = integer("nproc", nproc, low=1)
    timeout = real("timeout", timeout, low=0.0, low_open=True)
    flags = _flags(DDPOptions(**options))
    tag = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="lrcourse-ddp-") as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                   "-m", "lrcourse.torch.ddp", *flags, "--out", str(out)]
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, TAG: tag, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        log = Path(folder) / "log.txt"
        with log.open("wb") as sink:
            launcher = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                code = launcher.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_all(launcher, tag)
                raise TimeoutError(f"the {nproc}-process run took longer than timeout={timeout:g} s; "
                                   "every process was ended") from None
            except BaseException:
                _kill_all(launcher, tag)
                raise
            if _tagged(tag):  # a worker that outlived the launcher
                _kill_all(launcher, tag)
        if code != 0 or not out.exists():
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"torchrun exited with code {code}; the end of its output:\n{tail}")
        return DDPResult.from_json(json.loads(out.read_text()))


def _typed(name: str, convert: Any, **bounds: Any) -> Any:
    """An argparse type that checks with lrcourse.validation and names the parameter in its message."""

    def parse(text: str) -> Any:
        try:
            number = float(text) if convert is real else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        try:
            return convert(name, number, **bounds)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchrun --standalone --nproc-per-node N -m lrcourse.torch.ddp",
        description="Train a chapter model with DistributedDataParallel (gloo on the CPU, NCCL on CUDA).")
    add = parser.add_argument
    d = DDPOptions()
    add("--task", choices=TASKS, default=d.task, help="the data and model: digits (MLP) or characters (CharMLP)")
    add("--batch-size", type=_typed("batch_size", integer, low=1), default=d.batch_size, help="the batch of one rank")
    add("--lr", type=_typed("lr", real, low=0.0, low_open=True), default=d.lr,
        help="the rate for --base-batch-size examples")
    add("--base-batch-size", type=_typed("base_batch_size", integer, low=1), default=None,
        help="the batch --lr is meant for (default: --batch-size)")
    add("--rule", choices=RULES, default=d.rule, help="how the rate scales with the global batch")
    add("--warmup-steps", type=_typed("warmup_steps", integer, low=0), default=d.warmup_steps)
    add("--steps", type=_typed("steps", integer, low=1), default=d.steps)
    add("--seed", type=_typed("seed", integer, low=0), default=d.seed)
    add("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    add("--momentum", type=_typed("momentum", real, low=0.0, high=1.0, high_open=True), default=d.momentum)
    add("--hidden", type=_typed("hidden", integer, low=1), nargs="+", default=list(d.hidden))
    add("--dtype", choices=DTYPES, default=d.dtype)
    add("--device", choices=DEVICES, default=d.device, help="auto: cuda:<local rank> with NCCL if CUDA is there")
    add("--timeout", type=_typed("timeout", real, low=0.0, low_open=True), default=60.0,
        help="seconds a collective may wait for the other ranks")
    add("--out", type=Path, default=None, help="the JSON file rank 0 writes")
    return parser


@contextlib.contextmanager
def _process_group(backend: str, device: torch.device, timeout: float) -> Iterator[None]:
    kwargs: dict[str, Any] = {"timeout": datetime.timedelta(seconds=timeout)}
    if device.type == "cuda":
        torch.cuda.set_device(device)
        kwargs["device_id"] = device
    dist.init_process_group(backend, **kwargs)
    try:
        yield
    finally:
        dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse the flags, join the process group torchrun set up, train, write rank 0's JSON."""
    args = _parser().parse_args(argv)
    values = {key: value for key, value in vars(args).items() if key not in ("timeout", "out")}
    try:
        options = DDPOptions(**{**values, "hidden": tuple(values["hidden"])})
    except (TypeError, ValueError) as error:
        _parser().error(str(error))
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = _device(options, local_rank)
        backend = "nccl" if device.type == "cuda" else "gloo"
        with _process_group(backend, device, args.timeout):
            record = train(options, world_size=world_size, rank=rank, local_rank=local_rank, distributed=True)
    else:
        rank, record = 0, train(options)
    if rank == 0:
        text = json.dumps(record)
        if args.out is None:
            print(text)
        else:
            args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
