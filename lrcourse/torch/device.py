"""Pick where tensors live: the best accelerator there is, else the CPU.

Every function of the package that creates tensors takes ``device=None`` and resolves
it with :func:`get_device`, so a chapter runs unchanged on a laptop, a Mac or a GPU
server. Everything also runs on the CPU, which is the fastest choice for the course's
small models anyway (a GPU pays a few microseconds per kernel launch; these models do
little work per launch).

>>> get_device("cpu")
device(type='cpu')
"""

from __future__ import annotations

import os

import torch

__all__ = ["get_device"]

_KINDS = ("cpu", "cuda", "mps")


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` as a ``torch.device``, or the best one available if ``None``.

    With ``None``, the environment variable ``LRCOURSE_DEVICE`` decides if it is set
    (``LRCOURSE_DEVICE=cpu`` forces the CPU, e.g. for a reproducible book build);
    otherwise the order is CUDA, then Apple's MPS, then the CPU. A device that is
    named but not available raises ``ValueError`` instead of failing later inside
    torch.

    >>> get_device(torch.device("cpu"))
    device(type='cpu')
    >>> get_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of 'cpu', 'cuda', 'cuda:<index>', 'mps' (or None for the best available), got 'tpu'
    """
    if device is None:
        device = os.environ.get("LRCOURSE_DEVICE") or _best()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in _KINDS:
        raise ValueError(
            "device must be one of 'cpu', 'cuda', 'cuda:<index>', 'mps' (or None for the best available), "
            f"got {device!r}"
        )
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (resolved.index or 0) >= count:
            raise ValueError(f"device {device!r} is not available: this machine has {count} CUDA device(s)")
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(f"device {device!r} is not available: torch reports no MPS backend on this machine")
    return resolved


def _best() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())
