"""The API reference's docstring and signature clean-ups (book/_ext/type_aliases.py)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

pytest.importorskip("sphinx")

_PATH = Path(__file__).resolve().parents[1] / "book" / "_ext" / "type_aliases.py"
_spec = importlib.util.spec_from_file_location("type_aliases", _PATH)
ext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ext)


def tidy(lines: list[str]) -> list[str]:
    lines = list(lines)
    ext._tidy_docstring(None, "class", "x", None, None, lines)
    return lines


def test_references_become_one_item_each() -> None:
    from lrcourse.numpy import RMSprop

    lines = tidy(inspect.getdoc(RMSprop).splitlines())
    start = lines.index(".. rubric:: References")
    items = [line for line in lines[start:] if line.startswith("- ")]
    assert [item.split(" (")[0] for item in items] == ["- Tieleman, T. and Hinton, G.", "- Graves, A."]
    # the wrapped lines stay with their reference, indented under the item
    assert lines[start + 3].startswith("  by a running average")
    assert "References:" not in lines


def test_a_single_reference_and_a_module_docstring() -> None:
    lines = tidy(["Text.", "", "References:", "    Smith, L. N. (2017). Cyclical learning rates.", "    WACV.",
                  "", ">>> 1 + 1", "2"])
    assert lines[2:6] == [".. rubric:: References", "", "- Smith, L. N. (2017). Cyclical learning rates.", "  WACV."]
    assert lines[-2:] == [">>> 1 + 1", "2"]


def test_namedtuple_field_text_is_dropped_and_other_text_kept() -> None:
    assert tidy(["Alias for field number 0", ""]) == []
    assert tidy(["The lower end.", ""]) == ["The lower end.", ""]


@pytest.mark.parametrize("mode, prefix", [("smart", "~"), ("fully-qualified-except-typing", "")])
def test_numpy_types_keep_their_short_names(mode: str, prefix: str) -> None:
    from sphinx.util.typing import stringify_annotation

    arraylike = stringify_annotation(npt.ArrayLike, mode)
    ndarray = stringify_annotation(npt.NDArray[np.float64], mode)
    assert "_SupportsArray" in arraylike and "ndarray[" in ndarray  # what Sphinx prints unaided
    signature, ret = ext._short_numpy_types(None, "function", "f", None, None,
                                            f"(x: {arraylike}, y: int = 1)", ndarray)
    assert signature == f"(x: {prefix}numpy.typing.ArrayLike, y: int = 1)"
    assert ret == f"{prefix}numpy.typing.NDArray[{prefix}numpy.float64]"


def test_import_finds_objects_by_any_path() -> None:
    from lrcourse.torch import layerwise_param_groups

    assert ext._import("lrcourse.torch.param_groups.layerwise_param_groups") is layerwise_param_groups
    assert ext._import("lrcourse.exercises.ch2.TimeDecay") is ext._import("lrcourse.schedules.TimeDecay")
    assert ext._import("lrcourse.no_such_module.f") is None
    assert ext._import("lrcourse.schedules.NoSuchSchedule") is None
