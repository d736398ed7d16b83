"""Show the package's own code in the book, so the text and the code cannot drift apart."""

from __future__ import annotations

import ast
import html
import os
import re
import inspect
import textwrap
from collections.abc import Iterable
from typing import Any

from IPython.display import Markdown

__all__ = ["show_source", "show_doc", "docstring_markdown", "reference_entries", "glue"]


def show_source(obj: Any, *, docstring: bool = True) -> Markdown:
    """Return the source of a class, function or method as a Markdown code block.

    In a notebook the block renders with syntax highlighting, in Jupyter and in the built
    book alike. With ``docstring=False`` the object's own docstring is left out (the book
    often puts the formula in its text and wants only the code under it).

    >>> from lrcourse.schedules import ExponentialDecay
    >>> print(show_source(ExponentialDecay.formula).data)
    ```python
    def formula(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lr * self.gamma**t
    ```
    """
    source = textwrap.dedent(inspect.getsource(obj))
    if not docstring:
        definition = ast.parse(source).body[0]
        first = getattr(definition, "body", [None])[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            lines = source.splitlines()
            del lines[first.lineno - 1 : first.end_lineno]
            source = "\n".join(lines)
    return Markdown(f"```python\n{source.rstrip()}\n```")


_ROLE = re.compile(r":(?:class|meth|func|mod|attr|obj|data):`(~?)([^`]+)`")


# A line of a References section that names a year, "(2015).", starts the next work.
_REFERENCE_YEAR = re.compile(r"\(\d{4}[a-z]?\)\.")


def reference_entries(lines: Iterable[str]) -> list[list[str]]:
    """Split the lines of a docstring's ``References:`` section into the lines of each work.

    The package writes each reference from a new line, authors and then the year
    (``Kingma, D. P. and Ba, J. (2015). Adam: ...``), wrapped at the same indentation;
    a line that names a year in that form starts the next reference. Lines come back
    stripped, blank ones dropped. The book's API reference (``book/_ext/type_aliases.py``)
    splits the sections the same way.

    >>> reference_entries(["  Polyak, B. T. (1964). Some methods of speeding up the", "  convergence of iteration methods.",
    ...                    "  Nesterov, Y. (2018). Lectures on convex optimization."])
    [['Polyak, B. T. (1964). Some methods of speeding up the', 'convergence of iteration methods.'], ['Nesterov, Y. (2018). Lectures on convex optimization.']]
    """
    entries: list[list[str]] = []
    for line in lines:
        text = line.strip()
        if text and (not entries or _REFERENCE_YEAR.search(text)):
            entries.append([text])
        elif text:
            entries[-1].append(text)
    return entries


def _inline(text: str) -> str:
    """Turn reStructuredText inline markup into MyST Markdown."""
    # A role may wrap onto the next line of its paragraph: its content is joined with a space.
    text = re.sub(r":math:`([^`]+)`", lambda m: f"${' '.join(m.group(1).split())}$", text)
    # As in Sphinx, a leading ~ shows only the last component of the dotted name.
    text = _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return text.replace("``", "`")


def docstring_markdown(obj: Any) -> str:
    r"""Convert an object's docstring (reStructuredText, as the package writes it) to MyST Markdown.

    ``.. math::`` blocks become ``$$`` display maths (one per paragraph), ``:math:``
    roles become ``$…$``, cross-reference roles and double back-quotes become code,
    doctest examples become a ``pycon`` code block and a ``References:`` section a
    bold heading.

    >>> class Demo:
    ...     r'''Scale by :math:`\gamma`.
    ...
    ...     .. math:: \alpha_t = \gamma \alpha_0
    ...
    ...     See :class:`~lrcourse.schedules.Constant` and ``lr``; a role may wrap, :math:`\alpha_t
    ...     \le \alpha_0`.
    ...     '''
    >>> print(docstring_markdown(Demo))
    Scale by $\gamma$.
    <BLANKLINE>
    $$\alpha_t = \gamma \alpha_0$$
    <BLANKLINE>
    See `Constant` and `lr`; a role may wrap, $\alpha_t \le \alpha_0$.
    """
    lines = (inspect.getdoc(obj) or "").splitlines()
    out: list[str] = []
    prose: list[str] = []  # the lines of the current paragraph, converted together

    def flush() -> None:
        if prose:
            out.extend(_inline("\n".join(prose)).split("\n"))
            prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith((".. math::", ">>>")) or line.rstrip() == "References:" or not line.strip():
            flush()
        if line.startswith(".. math::"):
            inline_math = line[len(".. math::"):].strip()
            i += 1
            if inline_math:
                out.extend([f"$${inline_math}$$", ""])
                continue
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i].strip())
                i += 1
            equations = "\n".join(block).strip().split("\n\n")
            out.extend(["\n\n".join(f"$$\n{eq.strip()}\n$$" for eq in equations if eq.strip()), ""])
            continue
        if line.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out.append("```pycon\n" + "\n".join(block) + "\n```")
            continue
        if line.rstrip() == "References:":
            out.extend(["**References**", ""])
            i += 1
            section: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                section.append(lines[i])
                i += 1
            out.extend([*(f"- {_inline(' '.join(entry))}" for entry in reference_entries(section)), ""])
            continue
        prose.append(line)
        i += 1
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def show_doc(obj: Any) -> Markdown:
    """Return an object's docstring rendered as Markdown, formula included.

    The book shows each formula through this, from the docstring of the code that
    computes it, so the text and the code cannot disagree.
    """
    return Markdown(docstring_markdown(obj))


# Set by the book's build (book/_ext/execution_cache.py) in every kernel it starts: the
# built page shows glued numbers in its prose, so the live fallback below stays out of it.
BOOK_BUILD_VARIABLE = "LRCOURSE_BOOK_BUILD"
LIVE_GLUE_CLASS = "lrcourse-glue-live"  # the browser test checks that no page shows one


class _Text(str):
    """A string whose repr is itself, so that ``{glue}`` shows it without quotes."""

    def __repr__(self) -> str:
        return str(self)


class _Glued(str):
    """What :func:`glue` returns: a plain string, which a cell ending in ``glue(...)`` does
    not echo as its output (the live fallback has shown it already)."""

    def _ipython_display_(self) -> None:
        pass


def glue(name: str, value: Any, fmt: str = ".3g", *, show: bool = True) -> str:
    """Hand a number the run produced to the prose, and return it as the prose shows it.

    The text of a chapter never types a number that a computation produced: it names it,
    ``{glue}`name```, and myst-nb puts in what this call recorded, so the page says what
    ran on the machine that built it. ``value`` is formatted once, here, with ``fmt``
    (``format(value, fmt)``; a string is taken as it is), so the page, the live notebook
    and an ``assert`` on the returned text agree to the character.

    In a live notebook (Jupyter, where markdown cannot run code) the roles stay as they
    are; there the call also displays ``name = text`` under the cell, so a reader sees
    every number next to the code that made it. The book's build sets
    ``LRCOURSE_BOOK_BUILD`` and the page shows the numbers in the prose only.

    ``show=False`` records the number for the page without that live line: use it in an
    exercise's solution, whose answer must not print under the cell (JupyterLab unfolds a
    folded cell's output as soon as the cell runs, so Run All would reveal it).

    >>> glue("ratio", 296.4281, ".0f")
    '296'
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue: name must be an identifier-like string, got {name!r}")
    if not isinstance(show, bool):
        raise TypeError(f"glue: show must be True or False, got {show!r}")
    text = _Glued(value if isinstance(value, str) else format(value, fmt))
    if not _in_ipython():  # a script or a doctest: nothing to record
        return text
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:  # the book's extras are not installed: a live notebook only
        pass
    else:
        _myst_glue(name, _Text(text), display=False)
    if show and not os.environ.get(BOOK_BUILD_VARIABLE):
        from IPython.display import HTML, display

        display(HTML(f'<span class="{LIVE_GLUE_CLASS}" style="color:#666;font-size:85%">{html.escape(name)} = '
                     f'<b>{html.escape(text)}</b></span>'))
    return text


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
