"""What a reader sees in JupyterLab: the book's cell tags, mirrored as the metadata JupyterLab honours.

The static book hides and folds cells by their tags (``hide-input``, ``remove-input``, …) and
hides the solutions with sphinx-exercise. JupyterLab ignores both. It honours two cell metadata
keys instead, and keeps the cell runnable: ``jupyter.source_hidden`` folds a cell's source into
a one-line bar (its first line and "⋯"; a click unfolds it) and ``jupyter.outputs_hidden``
(mirrored by JupyterLab as ``collapsed``) does the same to its outputs. This module derives
those keys from what the book already says, so the two views cannot drift apart:

- a cell tagged ``hide-input`` or ``remove-input``: source folded;
  ``hide-output``/``remove-output``: outputs folded; ``hide-cell``/``remove-cell``: both;
- a cell inside a gated solution, after the markdown cell that opens it
  (``:::{solution-start} label``) and before the one that closes it (``:::{solution-end}``):
  source and outputs folded (a markdown cell there: its text folded).

The markdown cells themselves are left to ``jupyterlab-myst``, which renders the book's MyST:
an exercise as a numbered box, ``:::{solution} … :class: dropdown`` as a closed dropdown, and
``:::{solution-start} … :class: dropdown`` as a closed dropdown that holds the rest of its cell
(the solution's prose). So every solution directive must carry ``:class: dropdown``, which
:func:`problems` checks as well.

Only cell metadata changes, never a source, an output or a cell id; the static book reads none
of these keys. A key this module would not set (``source_hidden`` on an untagged cell, say) is
removed, so the tags stay the one place where visibility is decided::

    python book/_ext/live_cells.py --check            # every notebook of the book; fails on a difference
    python book/_ext/live_cells.py --write book/X.ipynb  # apply the convention (json, indent 1, as committed)
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

SOURCE_TAGS = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
OUTPUT_TAGS = {"hide-output", "remove-output", "hide-cell", "remove-cell"}

# A solution directive's opening line, and the options lines right under it.
_SOLUTION = re.compile(r"^:{3,}\{(solution|solution-start)\}[^\n]*\n((?:[ \t]*:[\w-]+:[^\n]*\n)*)", re.MULTILINE)
_START = re.compile(r"^:{3,}\{solution-start\}", re.MULTILINE)
_END = re.compile(r"^:{3,}\{solution-end\}", re.MULTILINE)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def in_solution(cells: list[dict]) -> list[bool]:
    """For each cell, whether it lies strictly inside a gated solution (solution-start … solution-end)."""
    inside, flags = False, []
    for cell in cells:
        text = _source(cell) if cell.get("cell_type") == "markdown" else ""
        starts, ends = bool(_START.search(text)), bool(_END.search(text))
        flags.append(inside and not starts and not ends)
        if ends:
            inside = False
        if starts:
            inside = True
    return flags


def expected_metadata(cell: dict, solution: bool) -> dict:
    """The cell's metadata as the convention has it: its own keys, with ``jupyter``/``collapsed`` derived."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    code = cell.get("cell_type") == "code"
    hide_source = solution or bool(tags & SOURCE_TAGS)
    hide_outputs = code and (solution or bool(tags & OUTPUT_TAGS))
    metadata = {k: v for k, v in cell.get("metadata", {}).items() if k not in ("collapsed", "jupyter")}
    jupyter = {k: v for k, v in cell.get("metadata", {}).get("jupyter", {}).items()
               if k not in ("source_hidden", "outputs_hidden")}
    if hide_outputs:
        metadata["collapsed"] = True
        jupyter["outputs_hidden"] = True
    if hide_source:
        jupyter["source_hidden"] = True
    if jupyter:
        metadata["jupyter"] = dict(sorted(jupyter.items()))
    return metadata


def apply(nb: dict) -> int:
    """Set every cell's metadata to the convention, in place; return how many cells changed."""
    changed = 0
    for cell, solution in zip(nb["cells"], in_solution(nb["cells"])):
        metadata = expected_metadata(cell, solution)
        if metadata != cell.get("metadata", {}):
            cell["metadata"] = metadata
            changed += 1
    return changed


def problems(nb: dict) -> list[str]:
    """What is wrong with a notebook's live view: cells whose metadata differ, solutions left open."""
    found = []
    cells = nb["cells"]
    for index, (cell, solution) in enumerate(zip(cells, in_solution(cells))):
        metadata = expected_metadata(cell, solution)
        if metadata != cell.get("metadata", {}):
            found.append(f"cell {index} ({cell.get('id')}): metadata {cell.get('metadata', {})}, "
                         f"the convention gives {metadata}")
        if cell.get("cell_type") == "markdown":
            for match in _SOLUTION.finditer(_source(cell)):
                if not re.search(r"^[ \t]*:class:[^\n]*\bdropdown\b", match.group(2), re.MULTILINE):
                    found.append(f"cell {index} ({cell.get('id')}): {{{match.group(1)}}} without ':class: dropdown'"
                                 " (it would show open in JupyterLab)")
    starts = sum(bool(_START.search(_source(c))) for c in cells if c.get("cell_type") == "markdown")
    ends = sum(bool(_END.search(_source(c))) for c in cells if c.get("cell_type") == "markdown")
    if starts != ends:
        found.append(f"{starts} solution-start but {ends} solution-end directives")
    return found


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write(nb: dict, path: Path) -> None:
    """Write a notebook as the book's notebooks are committed (json, indent 1, UTF-8, trailing newline)."""
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def book_notebooks() -> list[Path]:
    """Every notebook of the book's table of contents."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import execution_cache

    return execution_cache.notebooks()


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Iterable[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="set the cells' metadata to the convention")
    mode.add_argument("--check", action="store_true", help="report every difference; exit 1 if any")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    args = parser.parse_args(None if argv is None else list(argv))
    failed = False
    for path in args.notebooks or book_notebooks():
        name = _shown(path)
        nb = read(path)
        if args.write:
            changed = apply(nb)
            if changed:
                write(nb, path)
            print(f"{name}: {changed} cells changed")
        found = problems(nb)
        for problem in found:
            print(f"{name}: {problem}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
