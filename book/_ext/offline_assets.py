"""Serve MathJax, require.js and the ipywidgets HTML manager from the book's own ``_static``.

The built book must work offline (a classroom without internet) and must request
nothing from a third-party host. The front-end files come from the npm registry
(``package.json``, installed by the README's set-up command ``npm ci``); this extension
copies what the pages load into ``_static/vendor/`` and points Sphinx (``mathjax_path``)
and myst-nb (``nb_ipywidgets_js``) at those copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

VENDOR = "vendor"
MATHJAX = f"{VENDOR}/mathjax/tex-chtml.js"
REQUIREJS = f"{VENDOR}/requirejs/require.js"
WIDGETS = f"{VENDOR}/html-manager/embed-amd.js"
WIDGETS_SHIM = f"{VENDOR}/widgets_shim.js"  # see its comment: fonts path, MathJax 2 API

# (source under node_modules, destination under _static/vendor, what to copy)
_COPIES = [
    # tex-chtml.js and what it loads on demand: fonts, TeX extensions, the menu and its accessibility parts.
    ("mathjax/es5", "mathjax", ["tex-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors"]),
    ("requirejs", "requirejs", ["require.js"]),
    # The widget manager for require.js, with the font files its CSS refers to next to it.
    ("@jupyter-widgets/html-manager/dist", "html-manager",
     ["embed-amd.js", "*.woff", "*.woff2", "*.ttf", "*.eot", "*.svg"]),
]


def _node_modules(app: Sphinx) -> Path:
    # Like Node's own lookup: the source folder or the nearest parent with a node_modules,
    # so that a one-page build (`jupyter-book build book/X.ipynb`) finds the root's.
    src = Path(app.srcdir).resolve()
    path = next((d / "node_modules" for d in (src, *src.parents) if (d / "node_modules").is_dir()),
                src / "node_modules")
    missing = [src for src, _, _ in _COPIES if not (path / src).is_dir()]
    if missing:
        raise ExtensionError(
            f"offline_assets: {', '.join(missing)} not found under {path}. The book serves MathJax and the "
            "widget manager itself; install them with `npm ci` at the repository root (README.md, set-up)."
        )
    return path


def _check_installed(app: Sphinx) -> None:
    _node_modules(app)


def _copy_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    root = _node_modules(app)
    vendor = Path(app.outdir) / "_static" / VENDOR
    vendor.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(__file__).with_name("widgets_shim.js"), vendor / "widgets_shim.js")
    for src, dest, patterns in _COPIES:
        for pattern in patterns:
            for item in sorted((root / src).glob(pattern)):
                target = vendor / dest / item.relative_to(root / src)
                if item.is_dir():
                    shutil.copytree(item, target, dirs_exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(item, target)


def _point_at_copies(app: Sphinx, config: Config) -> None:
    config.mathjax_path = MATHJAX
    # In this order: require.js, our shim (it configures require.js and MathJax for
    # the manager), the AMD widget manager. The manager loads any third-party widget
    # module from data-jupyter-widgets-cdn: point it at our own folder, never a CDN
    # (the course uses only the built-in controls).
    config.nb_ipywidgets_js = {
        REQUIREJS: {},
        WIDGETS_SHIM: {},
        WIDGETS: {"data-jupyter-widgets-cdn": f"_static/{VENDOR}/", "data-jupyter-widgets-cdn-only": ""},
    }


def setup(app: Sphinx) -> dict[str, object]:
    # Before myst-nb's own config-inited handler (priority 500) reads nb_ipywidgets_js.
    app.connect("config-inited", _point_at_copies, priority=400)
    app.connect("builder-inited", _check_installed)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
