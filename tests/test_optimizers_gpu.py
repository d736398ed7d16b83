"""On a GPU: lrcourse.torch on CUDA and lrcourse.numpy on CuPy arrays give the CPU results.

Marked ``gpu`` and skipped where there is no CUDA device (or no CuPy), so the suite
passes on any machine; ``pytest -m gpu`` runs just these where there is one. The runs
are those of test_optimizer_parity (500 steps, two param groups, a noisy quadratic
away from its minimum) with the same tolerances: 1e-12 relative in float64, 1e-5 in
float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import lrcourse.numpy as lnp
import lrcourse.torch as ltorch
from test_optimizer_parity import (
    INDUCTOR_IMPORT_WARNING,
    NP_DTYPE,
    PROBLEM,
    TOL,
    assert_close,
    assert_state_close,
    run_numpy,
    run_torch,
)

pytestmark = pytest.mark.gpu

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

# One configuration per optimizer with every state buffer in use.
CASES = [
    pytest.param("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, id="SGD"),
    pytest.param("Adagrad", {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.5}, id="Adagrad"),
    pytest.param("RMSprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.01}, id="RMSprop"),
    pytest.param("Adam", {"amsgrad": True, "weight_decay": 0.01}, id="Adam"),
    pytest.param("AdamW", {"amsgrad": True}, id="AdamW"),
]
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])


@pytest.fixture(scope="module")
def cupy() -> Any:
    cp = pytest.importorskip("cupy")
    try:
        if cp.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("CuPy sees no CUDA device")
    except cp.cuda.runtime.CUDARuntimeError:
        pytest.skip("CuPy sees no CUDA device")
    return cp


@needs_cuda
@pytest.mark.filterwarnings(INDUCTOR_IMPORT_WARNING)
@pytest.mark.parametrize("impl", ["loop", "compiled"])
@pytest.mark.parametrize(("name", "options"), CASES)
@DTYPES
def test_torch_optimizers_on_cuda_match_cpu(name: str, options: dict[str, Any], dtype: torch.dtype, impl: str) -> None:
    torch._dynamo.reset()
    cls = getattr(ltorch, name)
    cpu, cpu_state, _ = run_torch(cls, name, options, dtype)
    gpu, gpu_state, opt = run_torch(cls, name, options, dtype, device="cuda", impl=impl)
    for state in opt.state.values():
        for key, value in state.items():
            assert value.device.type == ("cpu" if key == "step" else "cuda"), key
    assert_close(gpu, cpu, TOL[dtype], f"cuda {impl}")
    assert_state_close(gpu_state, cpu_state, TOL[dtype], f"cuda {impl} state")
    torch._dynamo.reset()


@needs_cuda
@pytest.mark.parametrize(("name", "options"), CASES)
def test_torch_optim_fused_on_cuda_agrees(name: str, options: dict[str, Any]) -> None:
    """The fastest torch path on the device is the same optimizer as ours (float32)."""
    if name == "RMSprop":
        pytest.skip("torch.optim.RMSprop has no fused implementation")
    ours, _, _ = run_torch(getattr(ltorch, name), name, options, torch.float32, device="cuda")
    fused, _, _ = run_torch(getattr(torch.optim, name), name, options, torch.float32, device="cuda", fused=True)
    assert_close(ours, fused, TOL[torch.float32], "cuda fused")


@pytest.mark.parametrize(("name", "options"), CASES)
@DTYPES
def test_numpy_optimizers_on_cupy_match_cpu(cupy: Any, name: str, options: dict[str, Any], dtype: torch.dtype) -> None:
    cpu, cpu_state, cpu_count = run_numpy(name, options, dtype)
    gpu, gpu_state, gpu_count = run_numpy(name, options, dtype, to_array=cupy.asarray)
    assert gpu_count == cpu_count
    for key, theta in gpu.items():
        assert isinstance(theta, cupy.ndarray) and theta.dtype == NP_DTYPE[dtype], key
        assert all(isinstance(buffer, cupy.ndarray) for buffer in gpu_state[key].values()), key
    assert_close({k: cupy.asnumpy(v) for k, v in gpu.items()}, cpu, TOL[dtype], "cupy")
    assert_state_close(
        {k: {b: cupy.asnumpy(v) for b, v in s.items()} for k, s in gpu_state.items()}, cpu_state, TOL[dtype], "cupy state"
    )


@pytest.mark.parametrize("lr_on", ["host", "device"])
def test_a_batch_of_learning_rates_on_cupy(cupy: Any, lr_on: str) -> None:
    """lr of shape (K,), a NumPy or a CuPy array, against CuPy params of shape (K, ...)."""
    lrs = np.array([1e-3, 3e-3, 1e-2])
    theta0 = np.stack([PROBLEM.theta0["w"]] * 3)  # three copies of one model, each ~5 from its minimum at 1

    def run(theta: Any, lr: Any) -> Any:
        opt = lnp.Adam(lr=lr, amsgrad=True)
        state = opt.init(theta)
        for t in range(1, 101):
            theta, state = opt.step(theta, theta - 1 + np.sin(3 * theta + t) / 2, state)
        return theta

    cpu = run(theta0, lrs)
    gpu = run(cupy.asarray(theta0), lrs if lr_on == "host" else cupy.asarray(lrs))
    assert isinstance(gpu, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(gpu), cpu, rtol=1e-12)
    assert not np.allclose(cpu[0], cpu[2])  # the three runs did differ
