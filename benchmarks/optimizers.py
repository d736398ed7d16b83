"""Time one optimizer step: lrcourse.torch (loop, compiled) against torch.optim (for-loop, foreach, fused).

For Adam, AdamW and Adagrad on about 10M float32 parameters, laid out as one tensor and
as the 20 tensors (10 weights, 10 biases) of a 10-layer MLP, this prints the median time
of one step of each implementation, its ratio to torch's fused kernel, and its
effective bandwidth: the bytes an update must move at the least (Adam reads θ, g, m, v
and writes θ, m, v: 7 × 4 bytes per parameter; Adagrad 5 × 4) over the time. The
physical limit is the memory copy bandwidth (bytes read + bytes written): a
``copy_`` that moves the same bytes as the step is timed in the same rounds as the
optimizers, so the "% of copy" column compares them under the same conditions (load,
caches), and so is an in-place ``add_`` over the same bytes (see :class:`MemoryCopy`
for why it can beat the copy on a CPU); the bandwidth of a 1 GiB copy, beyond the
caches, is printed above the table. A script, not a test: the numbers depend on the
machine.

    python benchmarks/optimizers.py                 # CPU
    python benchmarks/optimizers.py --device cuda   # a GPU
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time
from collections.abc import Callable

import torch

import lrcourse.torch as ltorch

BYTES_PER_PARAM = {"Adam": 7 * 4, "AdamW": 7 * 4, "Adagrad": 5 * 4}

Maker = Callable[[str, list[torch.Tensor]], torch.optim.Optimizer]
IMPLEMENTATIONS: dict[str, Maker] = {
    "lrcourse loop": lambda name, ps: getattr(ltorch, name)(ps),
    "lrcourse compiled": lambda name, ps: getattr(ltorch, name)(ps, impl="compiled"),
    "torch for-loop": lambda name, ps: getattr(torch.optim, name)(ps, foreach=False),
    "torch foreach": lambda name, ps: getattr(torch.optim, name)(ps, foreach=True),
    "torch fused": lambda name, ps: getattr(torch.optim, name)(ps, fused=True),
}


def mlp_shapes(numel: int, layers: int = 10, inputs: int = 784, outputs: int = 10) -> list[tuple[int, ...]]:
    """Weight and bias shapes of an MLP whose hidden width brings it closest to ``numel`` parameters."""

    def shapes(width: int) -> list[tuple[int, ...]]:
        sizes = [inputs] + [width] * (layers - 1) + [outputs]
        return [s for fan_in, fan_out in zip(sizes, sizes[1:]) for s in ((fan_out, fan_in), (fan_out,))]

    def count(width: int) -> int:
        return sum(torch.Size(s).numel() for s in shapes(width))

    width = min(range(16, 8192), key=lambda w: abs(count(w) - numel))
    return shapes(width)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def copy_bandwidth(device: torch.device, nbytes: int = 2**30, repeats: int = 10) -> float:
    """Measured memory copy bandwidth in GB/s, counting the bytes read and the bytes written."""
    src = torch.ones(nbytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    times = []
    for _ in range(repeats + 2):
        synchronize(device)
        start = time.perf_counter()
        dst.copy_(src)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * nbytes / statistics.median(times[2:]) / 1e9


def make_run(make: Maker, name: str, shapes: list[tuple[int, ...]], device: torch.device) -> torch.optim.Optimizer:
    """An optimizer over fresh params with fixed gradients (the same for every implementation)."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    params = [torch.randn(s, generator=generator).to(device).requires_grad_() for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator).to(device) * 1e-2
    return make(name, params)


class MemoryCopy:
    """Stands in an optimizer's place: ``step()`` reads ``nbytes / 2`` bytes and writes as many.

    By default it copies one buffer into another. With ``in_place`` it adds 1 to one
    buffer instead, reading and writing the same memory as an optimizer updates θ, m
    and v: on a CPU a copy's stores first fetch the destination's cache lines
    (write-allocate), so a copy moves 3 bytes for every 2 it is credited with, and an
    in-place update does not.
    """

    def __init__(self, nbytes: int, device: torch.device, in_place: bool = False) -> None:
        self.src = torch.ones(nbytes // 8, dtype=torch.float32, device=device)
        self.dst = self.src if in_place else torch.empty_like(self.src)
        self.in_place = in_place

    def step(self) -> None:
        if self.in_place:
            self.src.add_(1.0)
        else:
            self.dst.copy_(self.src)


def time_steps(opts: dict[str, torch.optim.Optimizer | MemoryCopy], device: torch.device, rounds: int, warmup: int) -> dict[str, float]:
    """Median seconds of one ``opt.step()`` of each optimizer, timed in turn, round after round.

    Interleaving the implementations spreads the machine's slow moments over all of
    them, and each step starts with the others' data in the caches, as in training,
    where the forward and backward passes run between two steps. The ``warmup`` steps
    first are not timed (torch.compile compiles there, twice).
    """
    for opt in opts.values():
        for _ in range(warmup):
            opt.step()
    times: dict[str, list[float]] = {impl: [] for impl in opts}
    for _ in range(rounds):
        for impl, opt in opts.items():
            synchronize(device)
            start = time.perf_counter()
            opt.step()
            synchronize(device)
            times[impl].append(time.perf_counter() - start)
    return {impl: statistics.median(t) for impl, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--numel", type=int, default=10_000_000)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per implementation (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first; torch.compile compiles twice")
    parser.add_argument("--optimizers", nargs="+", default=["Adam", "AdamW", "Adagrad"])
    args = parser.parse_args()
    device = torch.device(args.device)

    name_of_device = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"torch {torch.__version__}, {name_of_device}, {torch.get_num_threads()} CPU threads")
    big = 2**32 if device.type == "cuda" else 2**30
    print(f"memory copy bandwidth (read + write) of a {big / 2**30:.0f} GiB copy: {copy_bandwidth(device, big):.1f} GB/s")

    mlp = mlp_shapes(args.numel)
    print(f"MLP layout: {len(mlp)} tensors, weights {[s for s in mlp if len(s) == 2]} and their biases\n")
    layouts = {"1 tensor": [(args.numel,)], "MLP, 20 tensors": mlp}
    print("| optimizer | layout | implementation | ms/step | / fused | GB/s | % of copy |")
    print("|---|---|---|---:|---:|---:|---:|")
    width = len("in-place add, same bytes")
    for name in args.optimizers:
        for layout, shapes in layouts.items():
            numel = sum(torch.Size(s).numel() for s in shapes)
            torch._dynamo.reset()  # each configuration compiles afresh, well below the recompile limit
            nbytes = BYTES_PER_PARAM[name] * numel
            opts: dict[str, torch.optim.Optimizer | MemoryCopy] = {
                impl: make_run(make, name, shapes, device) for impl, make in IMPLEMENTATIONS.items()
            }
            opts["memory copy, same bytes"] = MemoryCopy(nbytes, device)
            opts["in-place add, same bytes"] = MemoryCopy(nbytes, device, in_place=True)
            seconds = time_steps(opts, device, args.steps, args.warmup)
            del opts
            gc.collect()
            copy = seconds["memory copy, same bytes"]
            for impl, s in seconds.items():
                print(
                    f"| {name} | {layout} ({numel / 1e6:.2f}M) | {impl:<{width}} | {s * 1e3:6.2f} | "
                    f"{s / seconds['torch fused']:5.2f} | {nbytes / s / 1e9:5.1f} | {100 * copy / s:3.0f} |"
                )


if __name__ == "__main__":
    main()
