"""get_device: CUDA, then MPS, then the CPU; an override; clear errors for what is not there."""

from __future__ import annotations

import pytest
import torch

from lrcourse.torch.device import get_device


@pytest.fixture
def no_accelerator(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("LRCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    return monkeypatch


def test_cpu_when_nothing_else(no_accelerator: pytest.MonkeyPatch) -> None:
    assert get_device() == torch.device("cpu")


def test_cuda_first_then_mps(no_accelerator: pytest.MonkeyPatch) -> None:
    no_accelerator.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")
    no_accelerator.setattr(torch.cuda, "is_available", lambda: True)
    no_accelerator.setattr(torch.cuda, "device_count", lambda: 2)
    assert get_device() == torch.device("cuda")
    assert get_device("cuda:1") == torch.device("cuda", 1)


def test_environment_variable_overrides_the_choice(no_accelerator: pytest.MonkeyPatch) -> None:
    no_accelerator.setattr(torch.cuda, "is_available", lambda: True)
    no_accelerator.setattr(torch.cuda, "device_count", lambda: 1)
    no_accelerator.setenv("LRCOURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("cuda") == torch.device("cuda")  # an explicit argument wins over the variable


def test_explicit_names_and_devices() -> None:
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize(
    "device, match",
    [
        ("tpu", "device must be one of 'cpu', 'cuda', 'cuda:<index>', 'mps' \\(or None for the best available\\), got 'tpu'"),
        ("gpu", "device must be one of"),
        (3, "device must be one of"),
        ("meta", "device must be one of"),
        ("cuda", "device 'cuda' is not available: this machine has 0 CUDA device\\(s\\)"),
        ("cuda:3", "this machine has 0 CUDA device"),
        ("mps", "device 'mps' is not available"),
    ],
)
def test_bad_or_missing_devices_raise_value_error(no_accelerator: pytest.MonkeyPatch, device, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_device(device)


def test_bad_environment_variable_raises(no_accelerator: pytest.MonkeyPatch) -> None:
    no_accelerator.setenv("LRCOURSE_DEVICE", "quantum")
    with pytest.raises(ValueError, match="got 'quantum'"):
        get_device()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_real_cuda_machine_is_chosen_first_and_its_device_count_is_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a GPU machine, without the monkeypatched availability of the tests above: the
    # choice, the override and the bound on the index read what torch reports.
    monkeypatch.delenv("LRCOURSE_DEVICE", raising=False)
    assert get_device() == torch.device("cuda")
    count = torch.cuda.device_count()
    assert get_device(f"cuda:{count - 1}") == torch.device("cuda", count - 1)
    with pytest.raises(ValueError, match=f"device 'cuda:{count}' is not available: this machine has {count} CUDA"):
        get_device(f"cuda:{count}")
    monkeypatch.setenv("LRCOURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
