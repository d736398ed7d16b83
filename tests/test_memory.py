"""Memory stays flat in the number of steps, with the cycle collector switched off.

The NumPy optimizers return new arrays at every step; the old ones must be freed by
reference counting alone, as soon as nothing refers to them. A reference cycle
anywhere on the way (a recursive closure holds itself, and with it every array it
saw) keeps each step's arrays alive until the cycle collector happens to run: Adam
on 10^6 parameters held 458 MiB after 20 steps with ``gc`` disabled. These tests run
1,000 steps with ``gc`` disabled and measure with ``tracemalloc`` (NumPy reports its
array buffers to it) how much memory is still held.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import lrcourse.numpy as lnp
from lrcourse.numpy.tree import leaves_like, rebuild
from lrcourse.problems import Quadratic
from lrcourse.schedules import CosineDecay
from lrcourse.sweep import sweep

STEPS = 1000


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    """Switch the cycle collector off and trace allocations; restore both afterwards."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
        gc.collect()


def held() -> int:
    """Return the bytes allocated (and traced) that are still alive."""
    return tracemalloc.get_traced_memory()[0]


def test_the_container_walkers_make_no_cycles(no_cycle_collector: None) -> None:
    """leaves_like and rebuild free what they were given once the caller drops it."""
    params = {"w": np.zeros(10**5), "b": [np.zeros(10), (np.zeros(3),)]}
    before = held()
    for _ in range(50):
        found = leaves_like({"w": np.ones(10**5), "b": [np.ones(10), (np.ones(3),)]}, params, "grads")
        rebuilt = rebuild(params, [np.ones(10**5), np.ones(10), np.ones(3)])
        del found, rebuilt
    assert held() - before < 10**5 * 8, f"{(held() - before) / 2**20:.1f} MiB still held after 50 calls"


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_an_optimizer_holds_the_same_memory_at_every_step(name: str, no_cycle_collector: None) -> None:
    """After each of 1,000 steps on a 10^5-parameter dict, the memory held is that of step 2.

    Alive between steps: the params, the grads and the state's buffers, a handful of
    arrays of 0.8 MB each (SGD's momentum buffer is the gradient itself after step 1,
    :math:`b_1 = g_1`, and its own array from step 2). Every array of the previous step must be gone, so the memory
    may not grow by even one array; the check runs at every step, so a leak fails at
    once rather than after filling the machine.
    """
    options = {"SGD": {"momentum": 0.9}, "RMSprop": {"centered": True, "momentum": 0.5},
               "Adam": {"amsgrad": True}}.get(name, {})
    opt = getattr(lnp, name)(lr=1e-3, **options)
    n = 10**5
    array_bytes = n * 8
    params: Any = {"w": np.ones(n), "b": [np.ones(10)]}
    state = opt.init(params)
    grads = {"w": np.full(n, 0.5), "b": [np.full(10, 0.5)]}
    for _ in range(2):
        params, state = opt.step(params, grads, state)
    second = held()
    for t in range(3, STEPS + 1):
        params, state = opt.step(params, grads, state)
        growth = held() - second
        assert growth < array_bytes, f"step {t}: {growth / 2**20:.2f} MiB more than after step 2"
    assert state.count == STEPS


@pytest.mark.parametrize("schedule", [None, CosineDecay(1.0, total_steps=STEPS)], ids=["constant", "schedule"])
def test_a_sweep_frees_its_steps(schedule: Any, no_cycle_collector: None) -> None:
    """A sweep of K = 5,000 runs for 1,000 steps holds, once done, its result and nothing more.

    Each step's arrays are (K, 2) floats, 80 kB: a leak of a few arrays per step would
    leave hundreds of MB behind. The result itself is the (K, steps + 1) losses and the
    final params. With a schedule, each step also computes and checks K rates.
    """
    bowl = Quadratic(kappa=10.0)
    K = 5000
    lrs = np.linspace(0.01, 1.0, K)
    sweep(bowl, lnp.Adam, lr=lrs, steps=10, schedule=schedule)  # warm up any caches before measuring
    before = held()
    result = sweep(bowl, lnp.Adam, lr=lrs, steps=STEPS, schedule=schedule)
    result_bytes = result.losses.nbytes + result.params.nbytes + sum(v.nbytes for v in result.hyperparams.values())
    extra = held() - before - result_bytes
    assert extra < 20 * K * 2 * 8, f"{extra / 2**20:.1f} MiB held beyond the result after {STEPS} steps"
    del result
    assert held() - before < 20 * K * 2 * 8
