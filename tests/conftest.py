"""Fixtures shared by the test modules."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The book's own tooling (book/_ext: the execution cache, the Sphinx extensions) is no
# package; the tests of the book import its modules by name from there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))


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
