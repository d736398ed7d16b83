"""The range test's docstrings render in the book: no reStructuredText role survives show_doc.

``lrcourse.display.docstring_markdown`` converts ``:math:`…``` roles line by line, so a
role broken across two lines of a docstring reaches the page as raw text (chapter 4
showed ``:math:`q = (\\alpha_{\\mathrm{end}} /`` in the ``Ramp`` docstring). These are the
objects chapter 4 shows with ``show_doc``, and the rest of the two modules' public names.
"""

from __future__ import annotations

import inspect

import pytest

import lrcourse.range_test as RT
import lrcourse.torch.range_test as TRT
from lrcourse.display import docstring_markdown

SHOWN = sorted({(module.__name__, name) for module in (RT, TRT) for name in module.__all__
                if inspect.getdoc(getattr(module, name))}
               | {("lrcourse.range_test", "Ramp.formula")})


def _resolve(module_name: str, dotted: str):
    obj = RT if module_name == RT.__name__ else TRT
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("module_name, name", SHOWN)
def test_no_role_is_left_in_the_rendered_docstring(module_name, name):
    rendered = docstring_markdown(_resolve(module_name, name))
    for role in (":math:", ":func:", ":class:", ":meth:", ":mod:"):
        assert role not in rendered, f"{module_name}.{name}: {role} left after rendering (a role split over lines?)"


def test_the_check_can_fail():
    class Broken:
        r"""A factor :math:`q = (a /
        b)` split over two lines."""

    assert ":math:" in docstring_markdown(Broken)
