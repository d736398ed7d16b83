"""Link the package's type aliases in the API reference's signatures to their documentation.

``lrcourse.numpy`` annotates its optimizers with three aliases (``Hyperparameter``,
``LearningRate``, ``Params``), documented with ``autodata`` in
``book/reference/api/numpy.md``. Sphinx turns every name in a signature into a
``py:class`` reference, and the Python domain looks such a reference up among classes
only, so a link to a documented *alias* (a ``py:data`` object) is reported missing and
fails the nitpicky build. This handler resolves a ``py:class`` reference to a documented
``py:data`` or ``py:type`` object when its name is that object's full name, or one of
the short names that ``autodoc_type_aliases`` maps to it (NamedTuple fields keep the
short name in their annotations). Anything else stays unresolved and is still reported.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import make_refnode


def _resolve_alias(app: Sphinx, env: BuildEnvironment, node: pending_xref,
                   contnode: nodes.TextElement) -> nodes.reference | None:
    if node.get("refdomain") != "py" or node.get("reftype") != "class":
        return None
    target = node["reftarget"]
    target = app.config.autodoc_type_aliases.get(target, target)
    entry = env.get_domain("py").objects.get(target)
    if entry is None or entry.objtype not in ("data", "type"):
        return None
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, target)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", _resolve_alias)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
