"""lrcourse.torch.ddp: two gloo workers with batch B take the steps of one process with batch 2B.

The reference is torch's own data-parallel engine (``torchrun`` and
``DistributedDataParallel``, which all-reduces and averages the gradients); the
comparison is :func:`run_single`, the same model trained in this process on the whole
global batch. The two differ only in the order of float sums: the gradient of a batch is summed per
shard and then over the ranks. Each step then carries a relative rounding of a few
``eps`` (``2**-24 ~ 6e-8`` in float32) per sum; over ``STEPS = 30`` steps of a
training that does not amplify differences (the rate sits well below the edge of
stability), ``STEPS * 4 * eps ~ 7e-6`` bounds the drift, hence ``RTOL = 1e-5``
(in float64 the same bound is ``1.3e-14``: ``RTOL["float64"]``, for the GPU test, with
room for other kernels). The same check with the per-rank batch alone (one process,
batch ``B``) must fail: the comparison can tell a wrong shard.

Launching costs seconds (three interpreters import torch and lrcourse: about 9 s of CPU),
so there is one launch, in float32, and the runs are tiny: a 64-16-10 MLP on the digits,
30 steps.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import lrcourse.torch.ddp as ddp
from lrcourse.schedules import Constant, Warmup

STEPS = 30
OPTIONS: dict[str, Any] = dict(batch_size=16, steps=STEPS, lr=0.05, rule="linear", warmup_steps=5, hidden=(16,),
                               momentum=0.9, device="cpu")
RTOL = {"float32": 1e-5, "float64": 1e-11}


def assert_same_run(a: ddp.DDPResult, b: ddp.DDPResult, rtol: float) -> None:
    np.testing.assert_allclose(a.losses, b.losses, rtol=rtol, atol=0)
    # weights near 0 have no relative scale of their own: compare against the largest one
    np.testing.assert_allclose(a.weights, b.weights, rtol=0, atol=rtol * np.abs(b.weights).max())
    np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=rtol)
    np.testing.assert_array_equal(a.lrs, b.lrs)


def test_two_gloo_workers_take_the_steps_of_one_process_with_twice_the_batch() -> None:
    dtype = "float32"
    start = time.perf_counter()
    pair = ddp.launch(2, timeout=120, dtype=dtype, **OPTIONS)
    seconds = time.perf_counter() - start
    assert (pair.world_size, pair.backend, pair.device) == (2, "gloo", "cpu")
    single = ddp.run_single(2, dtype=dtype, **OPTIONS)
    assert (single.world_size, single.backend) == (2, "none")
    assert_same_run(pair, single, RTOL[dtype])
    # the rate: 0.05 for 16 examples, linearly scaled to the global 32, warmed up over 5 steps
    np.testing.assert_allclose(pair.lrs, Warmup(Constant(0.1), 5)(np.arange(STEPS)), rtol=1e-15)
    assert pair.checksum == pytest.approx(pair.weights.sum(), rel=1e-12)
    assert pair.losses[-1] < pair.losses[0] - 0.5  # it trains: 2.37 -> about 0.3 nats
    assert seconds < 100, seconds  # the launch is bounded well within its timeout
    # the comparison has power: one process with the per-rank batch alone takes other steps
    alone = ddp.run_single(1, dtype=dtype, **{**OPTIONS, "rule": "none"})
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(alone.losses, single.losses, rtol=1e-3)


def test_the_batch_order_is_a_stream_of_epochs_cut_into_shards() -> None:
    order = ddp.batch_order(10, 4, steps=6, seed=3)  # 24 indices: two full epochs and 4 of a third
    flat = order.ravel()
    for epoch in range(2):
        assert sorted(flat[10 * epoch:10 * (epoch + 1)]) == list(range(10))
    np.testing.assert_array_equal(order, ddp.batch_order(10, 4, steps=6, seed=3))
    assert not np.array_equal(order, ddp.batch_order(10, 4, steps=6, seed=4))
    # the rank shards of one global batch are its consecutive quarters, and together the batch
    assert np.array_equal(np.concatenate([order[:, r:r + 1] for r in range(4)], axis=1), order)


@pytest.mark.parametrize(("rule", "factor"), [("linear", 4.0), ("sqrt", 2.0), ("none", 1.0)])
def test_the_rate_scales_from_the_base_batch_to_the_global_batch(rule: str, factor: float) -> None:
    schedule = ddp.scaled_schedule(ddp.DDPOptions(lr=0.1, batch_size=8, rule=rule), world_size=4)
    assert schedule(0) == pytest.approx(0.1 * factor, rel=1e-15)
    base = ddp.scaled_schedule(ddp.DDPOptions(lr=0.1, batch_size=8, base_batch_size=32, rule=rule), world_size=4)
    assert base(0) == pytest.approx(0.1, rel=1e-15)  # the global batch is the base batch: no change


def test_the_command_line_alone_trains_one_process_and_writes_json(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run.json"
    monkeypatch.delenv("RANK", raising=False)  # not under torchrun: no process group
    code = ddp.main(["--batch-size", "8", "--steps", "4", "--hidden", "8", "--device", "cpu", "--out", str(out)])
    assert code == 0
    record = ddp.DDPResult.from_json(json.loads(out.read_text()))
    same = ddp.run_single(1, batch_size=8, steps=4, hidden=(8,), device="cpu")
    np.testing.assert_array_equal(record.losses, same.losses)
    np.testing.assert_array_equal(record.weights, same.weights)


@pytest.mark.parametrize(("argv", "named"), [
    (["--lr", "-1"], "lr"), (["--lr", "nan"], "lr"), (["--steps", "0"], "steps"), (["--steps", "2.5"], "steps"),
    (["--batch-size", "x"], "batch_size"), (["--momentum", "1"], "momentum"), (["--warmup-steps", "-1"], "warmup_steps"),
    (["--rule", "cubic"], "--rule"), (["--task", "imagenet"], "--task"), (["--hidden", "0"], "hidden"),
    (["--base-batch-size", "0"], "base_batch_size"), (["--device", "tpu"], "--device"),
])
def test_a_bad_flag_is_refused_by_name(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        ddp.main(argv)
    assert stop.value.code == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize(("options", "error", "named"), [
    ({"lr": 0.0}, ValueError, "lr"), ({"lr": "0.1"}, TypeError, "lr"), ({"steps": 0}, ValueError, "steps"),
    ({"batch_size": 1.5}, ValueError, "batch_size"), ({"rule": "cubic"}, ValueError, "rule"),
    ({"hidden": 16}, TypeError, "hidden"), ({"dtype": "float16"}, ValueError, "dtype"),
    ({"optimizer": None}, TypeError, "optimizer"), ({"nproc": 0}, ValueError, "nproc"),
    ({"timeout": -1.0}, ValueError, "timeout"), ({"momentum": 1.0}, ValueError, "momentum"),
])
def test_launch_refuses_bad_options_before_starting_anything(options: dict[str, Any], error: type[Exception],
                                                             named: str) -> None:
    with pytest.raises(error, match=rf"\b{named}\b"):
        ddp.launch(**options)  # a bad option raises at once, in this process: nothing is spawned


def test_a_run_past_its_timeout_is_ended_with_every_process(monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc to list the processes")
    tag = uuid.uuid4()
    monkeypatch.setattr(ddp.uuid, "uuid4", lambda: tag)
    start = time.perf_counter()
    with pytest.raises(TimeoutError, match="timeout=1"):
        ddp.launch(2, timeout=1.0, steps=10_000_000, hidden=(8,), device="cpu")
    assert time.perf_counter() - start < 15  # 1 s, then SIGTERM and at most two graces of 3 s
    assert ddp._tagged(tag.hex) == []  # neither torchrun nor a worker is left


def test_an_interrupted_run_ends_the_workers_in_their_own_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchrun starts each worker in a session of its own: ending torchrun's group would leave them."""
    if not Path("/proc").is_dir():
        pytest.skip("no /proc to list the processes")
    tag = uuid.uuid4()
    monkeypatch.setattr(ddp.uuid, "uuid4", lambda: tag)
    seen: list[int] = []
    sessions: set[int] = set()

    def interrupt_once_the_workers_run() -> None:
        deadline = time.monotonic() + 60
        while len(seen) < 3 and time.monotonic() < deadline:  # torchrun and its two workers
            seen[:] = ddp._tagged(tag.hex)
            time.sleep(0.02)
        for pid in seen:
            with contextlib.suppress(OSError):
                sessions.add(os.getsid(pid))
        _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_once_the_workers_run, daemon=True)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        ddp.launch(2, timeout=120, steps=10_000_000, hidden=(8,), device="cpu")
    watcher.join()
    assert len(seen) >= 3, seen
    assert len(sessions) >= 2, sessions  # the workers were not all in torchrun's session
    assert ddp._tagged(tag.hex) == []


def test_the_tag_finds_a_process_that_carries_it() -> None:
    """The check above can fail: a process started with the tag is found, and gone once ended."""
    if not Path("/proc").is_dir():
        pytest.skip("no /proc to list the processes")
    tag = uuid.uuid4().hex
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             env={**os.environ, ddp.TAG: tag}, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while child.pid not in ddp._tagged(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ddp._tagged(tag) == [child.pid]
    finally:
        child.kill()
        child.wait()
    assert ddp._tagged(tag) == []


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_nccl_workers_on_gpus_take_the_steps_of_one_cpu_process() -> None:
    nproc = min(2, torch.cuda.device_count())  # NCCL needs one GPU per rank
    options = {**OPTIONS, "device": "cuda", "dtype": "float64"}
    run = ddp.launch(nproc, timeout=300, **options)
    assert (run.world_size, run.backend) == (nproc, "nccl") and run.device.startswith("cuda")
    single = ddp.run_single(nproc, **{**options, "device": "cpu"})
    assert_same_run(run, single, 1e3 * RTOL["float64"])  # cuBLAS against the CPU's kernels: other sums
