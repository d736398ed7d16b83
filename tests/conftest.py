"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run a test on one torch thread, then restore the setting.

    The models' tensors are small: a second thread gains nothing, and on a shared
    machine every parallel region waits for a core that another process holds
    (measured here: 100 times slower under load).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
