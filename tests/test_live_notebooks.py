"""The live notebooks fold what the static book folds: book/_ext/live_cells.py's convention holds.

JupyterLab ignores the book's cell tags and sphinx-exercise; it honours ``jupyter.source_hidden``
and ``jupyter.outputs_hidden``. ``live_cells`` derives those from the tags and the gated
solutions; here every notebook of the book must already carry them (fix a failure with
``python book/_ext/live_cells.py --write book/X.ipynb``), and the derivation itself is checked
on small notebooks. ``tests/test_jupyterlab.py`` checks the result in a real JupyterLab.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import live_cells  # book/_ext, on the path through tests/conftest.py
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = live_cells.book_notebooks()


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "book")).removesuffix(".ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_every_notebook_follows_the_convention(path: Path) -> None:
    found = live_cells.problems(live_cells.read(path))
    assert found == [], (f"{path.relative_to(ROOT)} does not fold in JupyterLab what the book folds; run "
                         f"python book/_ext/live_cells.py --write {path.relative_to(ROOT)}\n" + "\n".join(found))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_writing_keeps_the_committed_format(path: Path, tmp_path: Path) -> None:
    """--write changes metadata only: a conforming notebook comes back byte for byte."""
    nb = live_cells.read(path)
    before = copy.deepcopy(nb)
    live_cells.apply(nb)
    strip = lambda notebook: [{k: v for k, v in c.items() if k != "metadata"} for c in notebook["cells"]]  # noqa: E731
    assert strip(nb) == strip(before) and nb["metadata"] == before["metadata"]
    if live_cells.problems(before) == []:
        target = tmp_path / path.name
        live_cells.write(nb, target)
        assert target.read_bytes() == path.read_bytes()


def _md(text: str, **metadata) -> dict:
    return {"cell_type": "markdown", "id": "m", "metadata": metadata, "source": text}


def _code(text: str, **metadata) -> dict:
    return {"cell_type": "code", "id": "c", "metadata": metadata, "source": text, "outputs": [],
            "execution_count": None}


def _exercise_notebook() -> dict:
    return {"cells": [
        _md(":::{exercise} Step\n:label: ex-step\nWrite it.\n:::"),
        _code("def step(x):\n    raise NotImplementedError"),                      # 1 the starter: visible
        _md(":::{solution-start} ex-step\n:class: dropdown\n:::\n\nThe prose."),    # 2 folded by jupyterlab-myst
        _code("def step(x):\n    return x", tags=["some-tag"]),                    # 3 solution code
        _md("More of the solution's prose."),                                      # 4 solution prose
        _code("import matplotlib", tags=["hide-input"]),                           # 5 inside too
        _md(":::{solution-end}\n:::\n\n:::{exercise} Next\n:::"),                  # 6 ends it, holds the next
        _code("plot()", tags=["hide-input"]),                                      # 7
        _code("assert ok\nglue('x', 1)", tags=["remove-input"]),                   # 8
        _code("table()", tags=["remove-output"]),                                  # 9
        _code("setup()", tags=["remove-cell"]),                                    # 10
        _code("print(1)", jupyter={"source_hidden": True, "other": 1}, collapsed=True),  # 11 stale keys
        _md(":::{solution} ex-step\n:class: dropdown\nText.\n:::"),                # 12
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_tags_and_gated_solutions_give_the_metadata() -> None:
    nb = _exercise_notebook()
    assert live_cells.in_solution(nb["cells"]) == [False, False, False, True, True, True] + [False] * 7
    assert live_cells.apply(nb) == 8
    meta = [cell["metadata"] for cell in nb["cells"]]
    both = {"collapsed": True, "jupyter": {"outputs_hidden": True, "source_hidden": True}}
    assert meta[0] == meta[1] == meta[2] == meta[6] == meta[12] == {}
    assert meta[3] == {"tags": ["some-tag"], **both}
    assert meta[4] == {"jupyter": {"source_hidden": True}}  # a markdown cell has no outputs
    assert meta[5] == {"tags": ["hide-input"], **both}
    assert meta[7] == {"tags": ["hide-input"], "jupyter": {"source_hidden": True}}
    assert meta[8] == {"tags": ["remove-input"], "jupyter": {"source_hidden": True}}
    assert meta[9] == {"tags": ["remove-output"], "collapsed": True, "jupyter": {"outputs_hidden": True}}
    assert meta[10] == {"tags": ["remove-cell"], **both}
    assert meta[11] == {"jupyter": {"other": 1}}  # what the tags do not ask for goes; other keys stay
    assert live_cells.problems(nb) == []
    assert live_cells.apply(nb) == 0  # idempotent


def test_problems_name_each_difference() -> None:
    nb = _exercise_notebook()
    found = live_cells.problems(nb)
    assert len(found) == 8 and all("the convention gives" in p for p in found)
    assert found[0].startswith("cell 3 (c): metadata {'tags': ['some-tag']}")


def test_a_solution_that_would_show_open_is_reported() -> None:
    nb = {"cells": [_md(":::{solution} ex-step\nText.\n:::"),
                    _md(":::{solution-start} ex-step\n:label: s\n:::"), _code("x = 1")],
          "metadata": {}}
    live_cells.apply(nb)
    found = live_cells.problems(nb)
    assert any("cell 0" in p and "{solution} without ':class: dropdown'" in p for p in found)
    assert any("cell 1" in p and "{solution-start} without ':class: dropdown'" in p for p in found)
    assert "1 solution-start but 0 solution-end directives" in found


def test_the_command_line_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.ipynb"
    live_cells.write(_exercise_notebook(), path)
    assert live_cells.main(["--check", str(path)]) == 1
    assert live_cells.main(["--write", str(path)]) == 0
    assert "8 cells changed" in capsys.readouterr().out
    assert live_cells.main(["--check", str(path)]) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][3]["metadata"]["jupyter"]["source_hidden"]
