"""Project-wide test hooks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Every notebook of the book must execute in this many seconds on the 2-core CI machine.
# nbmake's own timeout is per cell; this holds the whole notebook to the budget.
NOTEBOOK_BUDGET_S = 60.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed and item.path.suffix == ".ipynb" \
            and report.duration > NOTEBOOK_BUDGET_S:
        report.outcome = "failed"
        report.longrepr = (f"{item.path.name} executed in {report.duration:.1f} s; every notebook must run "
                           f"in {NOTEBOOK_BUDGET_S:.0f} s or less on 2 CPU cores (see book/CONTRIBUTING.md)")
