"""μP against the standard parametrization at widths up to 1024, with Adam and with SGD: the page's experiment, larger.

Chapter 7b (``book/07b_mup_and_a_transformer.ipynb``) trains a two-hidden-layer
:class:`~lrcourse.torch.models.WidthMLP` on the digits at widths 32, 128 and 512 (base
width 32) with Adam only: width 1024 and SGD do not fit in its budget of a minute on a
slow CPU (a width-1024 run costs about five times a width-512 one). This script runs the
same experiment (the same model, data, 80 steps of minibatches of 64, rates half a decade
apart, seeds, and score: the training loss on the whole training set after the steps)
at any widths and with both optimizers, through
:func:`lrcourse.torch.param_groups.mup_param_groups`, and prints per optimizer,
parametrization and width: each seed's best rate, the median, its move from the base
width in decades (mean over the seeds), the cost of reusing the base width's best rate
(the loss at it minus the width's own best, mean over the seeds), whether any best rate
lies at the grid's edge, and the CPU seconds spent. Progress goes to stderr. A script,
not a test: the numbers depend on the machine's kernels in their last digits.

    python benchmarks/mup_width.py                               # widths 32 128 512 1024, Adam and SGD
    python benchmarks/mup_width.py --widths 32 256 1024 --optimizers sgd --seeds 5
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from lrcourse.torch.data import load
from lrcourse.torch.models import WidthMLP
from lrcourse.torch.param_groups import mup_param_groups

GRIDS = {"adam": (-3.5, -1.0), "sgd": (-2.0, 0.5)}  # log10 of the first and last rate, half-decades


def width_run(X: torch.Tensor, y: torch.Tensor, n_classes: int, width: int, parametrization: str, optimizer: str,
              lr: float, seed: int, base: int, steps: int, batch: int) -> float:
    """The training loss on the whole of (X, y) after ``steps`` minibatch steps (inf if it diverged)."""
    model = WidthMLP(X.shape[1], n_classes, width=width, depth=2, parametrization=parametrization,
                     base_width=base, seed=seed)
    groups = mup_param_groups(model, lr, optimizer, verbose=False)
    opt = torch.optim.Adam(groups) if optimizer == "adam" else torch.optim.SGD(groups)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        rows = torch.randint(0, len(y), (batch,), generator=generator)
        loss = F.cross_entropy(model(X[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = F.cross_entropy(model(X), y).item()
    return final if math.isfinite(final) else math.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 128, 512, 1024],
                        help="hidden widths; the first is the base width (default: 32 128 512 1024)")
    parser.add_argument("--optimizers", nargs="+", choices=sorted(GRIDS), default=["adam", "sgd"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. n-1 (default 3, as the page)")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the page)")
    args = parser.parse_args()
    if args.seeds < 2 or any(w < 1 for w in args.widths) or len(args.widths) < 2:
        parser.error("need at least 2 seeds and 2 widths >= 1")
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    digits = load("digits")
    X, y = digits.tensors("train", device="cpu")
    base, seeds = args.widths[0], range(args.seeds)
    print(f"WidthMLP depth 2 on the digits, base width {base}, {args.steps} steps of {args.batch}, "
          f"{args.seeds} seeds, torch {torch.__version__}, {args.threads} thread(s)")
    header = (f"{'optimizer':<9} {'param.':<8} {'width':>5}  {'best rate per seed':<28} {'median':>8} "
              f"{'move (dec)':>10} {'reuse cost':>10} {'edge':>5} {'CPU s':>7}")
    for optimizer in args.optimizers:
        lo, hi = GRIDS[optimizer]
        rates = 10.0 ** np.arange(lo, hi + 1e-9, 0.5)
        print(f"\n{optimizer}: rates {', '.join(f'{r:.2g}' for r in rates)}")
        print(header)
        for parametrization in ("standard", "mup"):
            finals: dict[int, np.ndarray] = {}
            for width in args.widths:
                start = time.process_time()
                runs = []
                for seed in seeds:
                    print(f"  {optimizer} {parametrization} width {width} seed {seed}", file=sys.stderr, flush=True)
                    runs.append([width_run(X, y, digits.n_classes, width, parametrization, optimizer, lr, seed,
                                           base, args.steps, args.batch) for lr in rates])
                finals[width] = np.array(runs)
                seconds = time.process_time() - start
                best = np.argmin(finals[width], axis=1)
                move = np.log10(rates[best]) - np.log10(rates[np.argmin(finals[base], axis=1)])
                at_base = finals[width][np.arange(len(seeds)), np.argmin(finals[base], axis=1)]
                cost = at_base - finals[width].min(axis=1)
                edge = bool(np.any((best == 0) | (best == len(rates) - 1)))
                per_seed = ", ".join(f"{rates[i]:.2g}" for i in best)
                print(f"{optimizer:<9} {parametrization:<8} {width:>5}  {per_seed:<28} "
                      f"{10 ** np.median(np.log10(rates[best])):>8.2g} {move.mean():>+10.2f} {cost.mean():>10.3f} "
                      f"{'yes' if edge else 'no':>5} {seconds:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
