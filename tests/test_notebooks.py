"""Every notebook of the book executes, and every assert in it holds, in two numerical environments.

- **This machine's own kernels**: the build's execution, read from the execution cache
  (``book/_ext/execution_cache.py``), so the tests do not execute a notebook the build
  already executed. A notebook that is not in the cache (``pytest`` before any build) is
  executed here, and stored there for the build.
- **Another environment** (:data:`execution_cache.PERTURBED`: torch's portable kernels,
  MKL held to AVX2, OpenBLAS's Haswell kernels): every notebook again, outside the cache.
  The last bits of every sum change; a claim whose assert then fails rested on rounding.

Run them two at a time (``pytest -n 2``, as ``make test`` does): each notebook runs on one
thread. Times are recorded under ``_build/notebook-runs`` and reported by
``python book/_ext/execution_cache.py report``; only a runaway (over three times the
60 s budget) fails here, since timed tests on a shared machine fail for the wrong reasons.
"""

from __future__ import annotations

import sys
from pathlib import Path

import execution_cache  # book/_ext, on the path through tests/conftest.py
import pytest

ROOT = execution_cache.ROOT

NOTEBOOKS = execution_cache.notebooks()
pytestmark = pytest.mark.notebook


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "book")).removesuffix(".ipynb")


def _check(run) -> None:
    assert run.problem is None, f"{run.notebook} failed under {run.environment or 'this machine'}:\n{run.problem}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_executes_on_this_machine(path: Path) -> None:
    import nbformat

    cache = execution_cache.get_cache()
    try:
        record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:  # not built yet: execute it now, into the cache the build reads
        (run,) = execution_cache.execute([path], log=lambda _: None)
        execution_cache.save([run], "native")
        _check(run)
    else:  # only executions that succeeded are stored
        assert record.data.get("execution_seconds", 0) <= execution_cache.CEILING_S


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_holds_in_another_numerical_environment(path: Path) -> None:
    (run,) = execution_cache.execute([path], execution_cache.PERTURBED, cache=False, log=lambda _: None)
    execution_cache.save([run], "perturbed")
    _check(run)


def test_the_perturbation_changes_the_kernels() -> None:
    """The second environment is really another one: torch reports the portable kernels there."""
    import os
    import subprocess

    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    env = {**os.environ, **execution_cache.PERTURBED}
    perturbed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert perturbed.stdout.strip() == "DEFAULT"
