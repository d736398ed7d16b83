"""Does the character-level testbed have headroom? Rates, schedules and optimizers against the seed spread.

```bash
python benchmarks/testbed_headroom.py             # 5 seeds, 1,000 steps of batch 64
python benchmarks/testbed_headroom.py --steps 500 --seeds 3
```

:class:`lrcourse.torch.models.CharMLP` on :func:`lrcourse.torch.data.characters`
(windows of 8 characters of the standard library's docstrings, 38 symbols), trained
by :func:`lrcourse.torch.sweep_model` on minibatches of 64. Each seed is one sweep over
the rates (the seed draws the initial weights and the batch order, shared by that
seed's runs, so every comparison is paired). For SGD and Adam at rates spaced by
a factor 3, each with a constant rate and with cosine decay to 0, the table
prints the validation loss (mean and spread over seeds), then the paired differences
(best rate against its neighbours, cosine against constant, SGD against Adam) with
their 95 % intervals (:func:`lrcourse.metrics.paired_interval`)
and the ratio |mean| / s_d (how many standard deviations of the paired differences
the effect is). The task has headroom when those ratios are large, while a sweep
stays cheap: one seed's 10 runs of 1,000 steps took 8-14 s of CPU (2 threads, a loaded
2-core machine); 40 runs packed in one call, the seeds as ``x0``, 6-8 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lrcourse.metrics import paired_interval
from lrcourse.numpy import SGD, Adam
from lrcourse.schedules import Constant, CosineDecay
from lrcourse.torch import run_scores, sweep_model
from lrcourse.torch.data import characters
from lrcourse.torch.models import CharMLP

SGD_RATES = 3.0 * 3.0 ** -np.arange(5.0)[::-1]  # 0.037 ... 3
ADAM_RATES = 0.1 * 3.0 ** -np.arange(5.0)[::-1]  # 0.0012 ... 0.1


def losses(optimizer, rates, seeds, steps, data, batch_size):
    """Validation losses, shape (2, seeds, rates) (constant, cosine), and the CPU seconds of one seed's sweep."""
    X_val, y_val = data.tensors("val", "cpu")
    out, cpu = [], []
    schedules = [Constant(1.0)] * len(rates) + [CosineDecay(1.0, steps)] * len(rates)
    for seed in seeds:
        model = CharMLP(data.n_classes, data.context, seed=seed)
        start = time.process_time()
        result = sweep_model(model, optimizer, lr=[*rates, *rates], steps=steps, schedule=schedules, seed=seed,
                             data=data.loader("train", batch_size, device="cpu"), device="cpu")
        cpu.append(time.process_time() - start)
        out.append(run_scores(model, result.params, X_val, y_val)[0].reshape(2, len(rates)))
    return np.stack(out, axis=1), float(np.mean(cpu))


def row(label, values):
    return f"{label:<16}" + "".join(f"{v:>16}" for v in values)


def compare(label, a, b):
    """One paired comparison: mean difference a - b, its 95 % interval, and |mean| / s_d."""
    interval = paired_interval(a, b)
    s_d = np.std(a - b, ddof=1)
    ratio = abs(interval.mean) / s_d if s_d > 0 else np.inf
    print(f"  {label:<42} {interval.mean:+.4f} ± {interval.half:.4f}   |d|/s_d = {ratio:6.1f}   "
          f"{interval.verdict()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # large rates in float32 make subnormals, slow on x86
    data = characters()
    seeds = range(args.seeds)
    print(f"CharMLP {sum(p.numel() for p in CharMLP(data.n_classes).parameters())} weights, "
          f"{len(data.train.y)} training windows, log(alphabet) = {np.log(data.n_classes):.3f}, "
          f"{args.steps} steps of batch {args.batch_size}, {args.seeds} seeds")
    best = {}
    for name, optimizer, rates in (("SGD", SGD, SGD_RATES), ("Adam", Adam, ADAM_RATES)):
        val, cpu = losses(optimizer, rates, seeds, args.steps, data, args.batch_size)
        val = np.where(np.isfinite(val), val, np.inf)
        print(f"\n{name}: validation loss, mean ± seed sd over {args.seeds} seeds; one seed's sweep "
              f"({2 * len(rates)} runs): {cpu:.2f} s CPU")
        print(row("rate", [f"{r:.3g}" for r in rates]))
        for i, schedule in enumerate(("constant", "cosine")):
            print(row(schedule, [f"{m:.4f} ± {s:.4f}" for m, s in zip(val[i].mean(axis=0),
                                                                         val[i].std(axis=0, ddof=1))]))
        for i, schedule in enumerate(("constant", "cosine")):
            k = int(np.argmin(val[i].mean(axis=0)))
            for j in (k - 1, k + 1):
                if 0 <= j < len(rates) and np.all(np.isfinite(val[i, :, j])):
                    compare(f"{schedule}: rate {rates[j]:.3g} - best {rates[k]:.3g}", val[i, :, j], val[i, :, k])
        k0, k1 = (int(np.argmin(val[i].mean(axis=0))) for i in (0, 1))
        compare(f"cosine - constant at {rates[k0]:.3g}", val[1, :, k0], val[0, :, k0])
        compare(f"cosine {rates[k1]:.3g} - constant {rates[k0]:.3g} (each best)", val[1, :, k1], val[0, :, k0])
        best[name] = (rates[k1], val[1, :, k1])
    print()
    compare(f"cosine: SGD {best['SGD'][0]:.3g} - Adam {best['Adam'][0]:.3g}", best["SGD"][1], best["Adam"][1])


if __name__ == "__main__":
    main()
