"""Drop the second copy of inline scripts that Sphinx 7.4 emits twice.

Cause: an extension that adds an inline script (``app.add_js_file(None, body=...)``)
after the HTML builder is initialised (sphinx-thebe does, in ``env-before-read-docs``)
gets it added to the builder at once as ``_JavaScript(None, ...)``. Sphinx's
``prepare_writing`` then re-adds every script registered after ``Builder.init()`` as
``_JavaScript(js_filename or '', ...)``; ``None != ''``, so its de-duplication misses,
and every page carries sphinx-thebe's ``const THEBE_JS_URL = ...`` block twice. The
second copy throws ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``
in the browser console. This handler removes such repeats from each page's scripts,
treating an inline script's ``None`` and ``''`` file names as the same.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _key(script: Any) -> tuple[object, ...]:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return (filename, getattr(script, "priority", None), tuple(sorted(attributes.items())))


def _drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str,
                           context: dict[str, Any], doctree: object) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[object, ...]] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the builder restores its own list after each page


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("html-page-context", _drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
