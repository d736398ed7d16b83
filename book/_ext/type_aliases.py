"""Link the package's type aliases in the API reference's signatures to their documentation,
resolve references to re-exported objects, and list the references of a docstring one per item.

``lrcourse.numpy`` annotates its optimizers with three aliases (``Hyperparameter``,
``LearningRate``, ``Params``), documented with ``autodata`` in
``book/reference/api/numpy.md``. Sphinx turns every name in a signature into a
``py:class`` reference, and the Python domain looks such a reference up among classes
only, so a link to a documented *alias* (a ``py:data`` object) is reported missing and
fails the nitpicky build. This handler resolves a ``py:class`` reference to a documented
``py:data`` or ``py:type`` object when its name is that object's full name, or one of
the short names that ``autodoc_type_aliases`` maps to it (NamedTuple fields keep the
short name in their annotations). A reference that names a documented object by another
path (the module that defines it, or the name its module imports it under) is resolved to
where that same object is documented. Anything else stays unresolved and is still reported.

The package's docstrings end with a ``References:`` section, one reference after another,
each starting on a new line (``Kingma, D. P. and Ba, J. (2015). Adam: ...``) and wrapped
at the same indentation. Read as reStructuredText, that is one paragraph: two references
run into each other. :func:`_tidy_docstring` turns the section into a rubric and a
bullet list, split as :func:`lrcourse.display.reference_entries` splits it (a line that
names a year, ``(2015).``, starts the next item). It also drops the
text Python gives a NamedTuple's fields (``Alias for field number 0``), which says nothing
to a reader: the class's docstring describes its fields.

Last, :func:`_short_numpy_types` writes NumPy's ``ArrayLike`` and ``NDArray[...]`` in the
signatures by those names. Sphinx prints what the aliases stand for, and ``ArrayLike``
then fills four lines of a signature with ``_Buffer | _SupportsArray[dtype[Any]] | ...``
(``autodoc_type_aliases`` cannot help: with it, a signature that combines ``ArrayLike``
with ``|`` is no longer evaluated and loses its other types' full names).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import make_refnode
from sphinx.util.typing import stringify_annotation

from lrcourse.display import reference_entries


def _resolve_alias(app: Sphinx, env: BuildEnvironment, node: pending_xref,
                   contnode: nodes.TextElement) -> nodes.reference | None:
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if node.get("reftype") == "class":
        alias = app.config.autodoc_type_aliases.get(target, target)
        entry = env.get_domain("py").objects.get(alias)
        if entry is not None and entry.objtype in ("data", "type"):
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id,
                                contnode, alias)
    return _resolve_reexport(app, env, node, contnode, target)


def _import(path: str) -> Any:
    """The object at a dotted path (a module, then attributes), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _resolve_reexport(app: Sphinx, env: BuildEnvironment, node: pending_xref,
                      contnode: nodes.TextElement, target: str) -> nodes.reference | None:
    # The same Python object, documented under another name: a function referred to by
    # the module that defines it (lrcourse.torch.param_groups.layerwise_param_groups)
    # but documented where it is imported for users (lrcourse.torch.layerwise_param_groups),
    # or a name a docstring uses as its module imports it (TimeDecay in
    # lrcourse.exercises.ch2, documented as lrcourse.schedules.TimeDecay).
    if not target.startswith("lrcourse.") and not str(node.get("py:module", "")).startswith("lrcourse"):
        return None
    obj = _import(target) if target.startswith("lrcourse.") else None
    if obj is None and node.get("py:module"):
        obj = _import(f"{node['py:module']}.{target}")
    if obj is None or isinstance(obj, (int, float, str, bool, tuple)):
        return None
    objects = env.get_domain("py").objects
    if not hasattr(env, "_lrcourse_documented"):
        documented: dict[int, str] = {}
        for name in objects:
            if name.startswith("lrcourse."):
                documented.setdefault(id(_import(name)), name)
        documented.pop(id(None), None)
        env._lrcourse_documented = documented  # type: ignore[attr-defined]
    name = env._lrcourse_documented.get(id(obj))  # type: ignore[attr-defined]
    if name is None:
        return None
    entry = objects[name]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)


_FIELD_ALIAS = re.compile(r"Alias for field number \d+")


def _tidy_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                        lines: list[str]) -> None:
    if [line for line in lines if line.strip()] and \
            all(_FIELD_ALIAS.fullmatch(line.strip()) for line in lines if line.strip()):
        lines[:] = []
        return
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() != "References:":
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        i += 1
        section: list[str] = []
        while i < len(lines) and lines[i].strip() and \
                len(lines[i]) - len(lines[i].lstrip()) > len(indent):
            section.append(lines[i])
            i += 1
        out.extend([f"{indent}.. rubric:: References", ""])
        for entry in reference_entries(section):
            out.append(f"{indent}- {entry[0]}")
            out.extend(f"{indent}  {text}" for text in entry[1:])
        out.append("")
    lines[:] = out


def _numpy_spellings() -> list[tuple[str, str]]:
    import numpy.typing as npt

    pairs = []
    for mode, prefix in (("smart", "~"), ("fully-qualified-except-typing", "")):
        pairs.append((stringify_annotation(npt.ArrayLike, mode), f"{prefix}numpy.typing.ArrayLike"))
    return pairs


# numpy.ndarray[tuple[Any, ...], numpy.dtype[X]], as NDArray[X] prints, in either mode
_NDARRAY = re.compile(r"(~?)numpy\.ndarray\[tuple\[(?:~?typing\.)?Any, \.\.\.\], "
                      r"~?numpy\.dtype\[([^\[\]]+)\]\]")


def _short_numpy_types(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                       signature: str | None, return_annotation: str | None) -> tuple[str | None, str | None]:
    def shorten(text: str | None) -> str | None:
        if not text:
            return text
        for long, short in _numpy_spellings():
            text = text.replace(long, short)
        return _NDARRAY.sub(r"\1numpy.typing.NDArray[\2]", text)

    return shorten(signature), shorten(return_annotation)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", _resolve_alias)
    app.connect("autodoc-process-docstring", _tidy_docstring)
    app.connect("autodoc-process-signature", _short_numpy_types)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
