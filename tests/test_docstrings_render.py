"""Every public docstring of lrcourse renders in the book: no reStructuredText role survives show_doc.

The chapters show docstrings with ``lrcourse.display.show_doc``, which turns roles into
Markdown. A role the conversion misses reaches the page as raw text (chapter 4 once
showed ``:math:`q = (\\alpha_{\\mathrm{end}} /`` from a role wrapped over two lines of the
``Ramp`` docstring). This walks every module of the package and every public name in it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import lrcourse
from lrcourse.display import docstring_markdown

ROLES = (":math:", ":func:", ":class:", ":meth:", ":mod:", ":attr:", ":obj:", ":data:")


def _documented() -> list[tuple[str, object]]:
    found: dict[str, object] = {}
    for info in pkgutil.walk_packages(lrcourse.__path__, "lrcourse."):
        module = importlib.import_module(info.name)
        found[info.name] = module
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            found[f"{info.name}.{name}"] = obj
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if not member.startswith("_") and inspect.getdoc(value):
                        found[f"{info.name}.{name}.{member}"] = value
    return sorted((key, obj) for key, obj in found.items() if inspect.getdoc(obj))


# lrcourse.display's own docstrings name the roles they convert, in code spans.
DOCUMENTED = [(key, obj) for key, obj in _documented() if not key.startswith("lrcourse.display.")]


def test_the_walk_finds_the_package():
    names = {key for key, _ in DOCUMENTED}
    assert {"lrcourse.range_test.Ramp", "lrcourse.schedules.OneCycle", "lrcourse.sweep.sweep"} <= names
    assert len(names) > 150


@pytest.mark.parametrize("key, obj", DOCUMENTED, ids=[key for key, _ in DOCUMENTED])
def test_no_role_is_left_in_the_rendered_docstring(key, obj):
    rendered = docstring_markdown(obj)
    for role in ROLES:
        assert role not in rendered, f"{key}: {role} left after rendering"


def test_a_role_wrapped_over_two_lines_renders():
    class Wrapped:
        r"""A factor :math:`q = (a /
        b)` and :func:`~lrcourse.sweep.sweep` in one paragraph."""

    assert docstring_markdown(Wrapped) == "A factor $q = (a / b)$ and `sweep` in one paragraph."


def test_the_check_can_fail():
    class Broken:
        r"""A role that never closes :math:`q = (a /

        b)` in another paragraph."""

    assert ":math:" in docstring_markdown(Broken)


def test_references_render_one_bullet_per_work():
    class Cited:
        """Do a thing.

        References:
            Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic
            optimization. ICLR.
            Reddi, S. J., Kale, S. and Kumar, S. (2018). On the convergence of Adam and
            beyond. ICLR (AMSGrad).
        """

    assert docstring_markdown(Cited).endswith(
        "**References**\n\n"
        "- Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization. ICLR.\n"
        "- Reddi, S. J., Kale, S. and Kumar, S. (2018). On the convergence of Adam and beyond. ICLR (AMSGrad).")
