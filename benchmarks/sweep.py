"""Benchmark: K learning rates in one batched sweep against a loop of K single runs.

Two problems, each with Adam at K = 64 learning rates from 1e-4 to 1 (log-spaced),
200 steps:

- Rosenbrock (lrcourse.problems), where a step is a few arithmetic operations on 2
  numbers per run;
- softmax regression on the digits' training split (1,077 × 64 features, 10 classes),
  full batch, where a step of one run is two small matrix products; and, for
  comparison, the same with minibatches of 32 (every run sees the same batches).

For each it times, in one process (best of ``--repeats``):

- ``one run``: the usual way to train one learning rate. For Rosenbrock,
  ``sweep`` with one rate (a plain loop with an lrcourse.numpy optimizer). For the
  digits, a plain torch loop (``loss.backward()``, ``torch.optim.Adam``) and, as a
  second reference, ``sweep`` with one rate;
- ``batched``: ``sweep`` with all K rates at once;
- ``loop``: the K single runs one after another (best of ``--repeats`` too).

and checks that the batched losses equal the loop's. It then times the parts of a
batched full-batch step that no implementation can avoid (see :func:`floor`).

Denormals: at the largest rates softmax regression grows confident, and many of its
probabilities fall below 1.2e-38, into float32's subnormal range, where x86 CPUs
compute up to a hundred times slower. By default every measurement (single runs and
batched alike) runs with flush-to-zero, ``torch.set_flush_denormal(True)`` (TensorFlow's
CPU kernels run that way by default); ``--keep-denormals`` measures without it.

Run from the repository root:

    python benchmarks/sweep.py            # the table for benchmarks/README.md
    python benchmarks/sweep.py --threads 1 --keep-denormals
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

import lrcourse.numpy as lnp
from lrcourse.torch.data import load
from lrcourse.torch.models import SoftmaxRegression, seeded
from lrcourse.problems import Rosenbrock
from lrcourse.sweep import sweep
from lrcourse.torch import sweep_model


def best_time(run: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Return the shortest wall time of ``repeats`` calls of ``run``, after one warm-up call if asked."""
    if warm_up:
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def batches(data: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield batches forever in sweep's order: the pair itself, or one epoch of the loader after another."""
    while True:
        yield from [data] if isinstance(data, tuple) else data


def torch_run(data: Any, lr: float, steps: int) -> np.ndarray:
    """One plain torch training run of softmax regression; return its losses (steps + 1).

    ``data`` is ``(X, y)`` (full batch) or a DataLoader, read as ``sweep`` reads it.
    """
    model = SoftmaxRegression(64, 10, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    with seeded(0):
        stream = batches(data)
        for _ in range(steps):
            x, y = next(stream)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            x, y = next(stream)
            losses.append(torch.nn.functional.cross_entropy(model(x), y).item())
    return np.array(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--K", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--keep-denormals", action="store_true", help="do not flush subnormal floats to zero")
    parser.add_argument("--skip-loop", action="store_true", help="do not time the loops of K single runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(not args.keep_denormals)
    K, steps = args.K, args.steps
    lrs = np.geomspace(1e-4, 1.0, K)
    print(f"torch {torch.__version__}, numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, flush-to-zero {'off' if args.keep_denormals else 'on'}; "
          f"K = {K}, {steps} steps, best of {args.repeats}")

    rows = []

    # Rosenbrock: NumPy, the rates broadcast over the runs' axis.
    problem = Rosenbrock()
    batched = best_time(lambda: sweep(problem, lnp.Adam, lr=lrs, steps=steps), args.repeats)
    one = best_time(lambda: sweep(problem, lnp.Adam, lr=lrs[K // 2:K // 2 + 1], steps=steps), args.repeats)
    loop = best_time(lambda: [sweep(problem, lnp.Adam, lr=[lr], steps=steps) for lr in lrs], args.repeats,
                     warm_up=False)
    looped = np.concatenate([sweep(problem, lnp.Adam, lr=[lr], steps=steps).losses for lr in lrs])
    together = sweep(problem, lnp.Adam, lr=lrs, steps=steps).losses
    np.testing.assert_allclose(together, looped, rtol=1e-12, atol=0)
    rows.append(("Rosenbrock, Adam (NumPy)", "sweep, 1 rate", one, batched, loop))

    # Softmax regression on the digits: torch.func.vmap over stacked weights.
    digits = load("digits", seed=0)
    X, y = digits.tensors("train", "cpu")
    model = SoftmaxRegression(X.shape[1], 10, seed=0)
    full = (X, y)
    for name, data in (("full batch", full), ("minibatches of 32", digits.loader("train", 32, device="cpu"))):
        label = f"softmax regression, digits, {name}, Adam (torch)"
        batched = best_time(lambda: sweep_model(model, lnp.Adam, lr=lrs, steps=steps, data=data, device="cpu"),
                            args.repeats)
        one_torch = best_time(lambda: torch_run(data, lrs[K // 2], steps), args.repeats)
        one_sweep = best_time(lambda: sweep_model(model, lnp.Adam, lr=lrs[K // 2:K // 2 + 1], steps=steps, data=data,
                                            device="cpu"), args.repeats)
        # the same sweep with vmap's own batching rule for every layer (no wide product): the reference path
        plain = best_time(lambda: sweep_model(model, lnp.Adam, lr=lrs, steps=steps, data=data, device="cpu",
                                        wide_linear=False), args.repeats)
        together = sweep_model(model, lnp.Adam, lr=lrs, steps=steps, data=data, device="cpu").losses
        loop = None
        if not args.skip_loop:
            loop = best_time(lambda: [torch_run(data, lr, steps) for lr in lrs], args.repeats, warm_up=False)
            looped = np.stack([torch_run(data, lr, steps) for lr in lrs])
            # float32: the batched and the single runs round differently, and at the largest rates
            # the minibatch runs are chaotic enough to amplify that; compare the stable ones.
            stable = lrs <= 1e-2
            np.testing.assert_allclose(together[stable], looped[stable], rtol=1e-3, atol=1e-5)
        rows.append((label, "torch loop", one_torch, batched, loop))
        rows.append((label + ", wide_linear=False", "torch loop", one_torch, plain, None))
        rows.append((label, "sweep, 1 rate", one_sweep, batched, None))
        if data is full:
            one_run_full, batched_full, plain_full = one_torch, batched, plain

    print()
    print("| problem | one run = | one run (ms) | batched, K runs (ms) | batched / one run | "
          "loop of K runs (ms) | loop / batched |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, reference, one, batched, loop in rows:
        loop_cells = f"{loop * 1e3:.0f} | {loop / batched:.1f}×" if loop is not None else " | "
        print(f"| {name} | {reference} | {one * 1e3:.1f} | {batched * 1e3:.1f} | {batched / one:.2f}× | {loop_cells} |")
    floor_time = floor(X, y, K, steps, one_run_full, args.repeats)
    print(f"  full-batch sweep / floor (products + softmax): {batched_full / floor_time:.2f}x "
          f"(wide_linear=False: {plain_full / floor_time:.2f}x)")


def floor(X: torch.Tensor, y: torch.Tensor, K: int, steps: int, one_run: float, repeats: int) -> float:
    """Time the parts of a batched softmax-regression step that no implementation can skip.

    Per step, K runs need the logits Z = X W_k^T of every run (one matrix product of
    2·N·D·C·K flops when the K weight matrices are stacked side by side), the gradient
    X^T (P - Y) of the same size, and a pass of the softmax over the K·N·C logits
    (forward and backward). This times each of those alone, at this machine's speed.
    """
    N, D = X.shape
    C = 10
    W = torch.randn(K * C, D) * 0.01
    Z = torch.randn(K, N, C, requires_grad=True)
    G = torch.randn(N, K * C)
    flops = 2 * (2 * N * D * C * K)

    def products() -> None:
        X @ W.T  # forward: all K runs' logits in one product
        G.T @ X  # backward: all K runs' weight gradients in one product

    def softmax_pass() -> None:
        # As sweep's vmap_loss lays it out: the classes along the middle axis.
        loss = torch.nn.functional.cross_entropy(Z.transpose(1, 2), y.expand(K, N), reduction="sum") / N
        torch.autograd.grad(loss, Z)

    def stream() -> None:
        Z.detach().clone()  # read and write the K·N·C logits once

    t_products = best_time(products, repeats * 10)
    t_softmax = best_time(softmax_pass, repeats * 10)
    t_stream = best_time(stream, repeats * 10)
    nbytes = 2 * Z.numel() * Z.element_size()
    print()
    print(f"floor of one batched step (softmax regression, K = {K}, N = {N}, D = {D}, C = {C}):")
    print(f"  two matrix products, {flops / 1e6:.0f} MFLOP: {t_products * 1e3:.3f} ms "
          f"({flops / t_products / 1e9:.0f} GFLOP/s)")
    print(f"  cross-entropy forward + backward over {K * N * C:,} logits: {t_softmax * 1e3:.3f} ms")
    print(f"  one read + write of the logits ({nbytes / 1e6:.1f} MB): {t_stream * 1e3:.3f} ms "
          f"({nbytes / t_stream / 1e9:.1f} GB/s)")
    print(f"  x {steps} steps: products alone {t_products * steps * 1e3:.0f} ms, products + softmax "
          f"{(t_products + t_softmax) * steps * 1e3:.0f} ms; 3 x one run = {3 * one_run * 1e3:.0f} ms")
    return (t_products + t_softmax) * steps


if __name__ == "__main__":
    main()
