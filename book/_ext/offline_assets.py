"""Serve MathJax, require.js, the ipywidgets HTML manager and a CJK font from the book's own ``_static``.

The built book must work offline (a classroom without internet) and must request
nothing from a third-party host. The front-end files come from the npm registry
(``package.json``, installed by the README's set-up command ``npm ci``); this extension
copies what the pages load into ``_static/vendor/`` and points Sphinx (``mathjax_path``)
and myst-nb (``nb_ipywidgets_js``) at those copies.

The CJK font. The English pages quote the seed, a Chinese note, and the Chinese edition is
Chinese throughout; a reader's machine may have no CJK font at all, and then those characters
render as empty boxes. So the book serves Noto Sans SC (npm ``@fontsource/noto-sans-sc``, its
simplified-Chinese file) cut down with fontTools to the CJK characters that the built pages
contain (:func:`cjk_characters` of every page this build wrote: prose, tables, outputs, a
translated page's text alike), one WOFF2 file per weight in :data:`CJK_WEIGHTS`, with an
``@font-face`` whose ``unicode-range`` lists exactly those characters (:func:`font_face_css`).
The theme's font stacks get the face in front (:data:`CJK_STACKS`). Latin text is drawn by the
same fonts as before: the face's ``unicode-range`` has no Latin character, so the browser skips
it there (and never downloads it for a page without CJK). A CJK character finds the face first,
the same glyphs on every machine. Placed after ``system-ui``, the face did load, yet Chromium
left text laid out before it loaded drawn as boxes (the edition link in the page header).
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from collections.abc import Iterable
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
    # Noto Sans SC's licence (SIL OFL 1.1) goes with the subset made from it (_write_cjk_font).
    ("@fontsource/noto-sans-sc", "noto-sans-sc", ["LICENSE"]),
]

# --- the CJK font -------------------------------------------------------------------------------
CJK_PACKAGE = "@fontsource/noto-sans-sc"
CJK_FAMILY = "lrcourse Noto Sans SC"  # our own name: a locally installed "Noto Sans SC" never stands in
CJK_DIR = f"{VENDOR}/noto-sans-sc"
CJK_CSS = f"{CJK_DIR}/cjk.css"
CJK_WEIGHTS = (400,)  # the seed's quotes are regular text; a bold CJK character is synthesized from it
# The font subsetted, per weight: the package's simplified-Chinese file (7,946 code points: the
# common simplified hanzi, CJK punctuation, full-width forms).
CJK_SOURCE = "files/noto-sans-sc-chinese-simplified-{weight}-normal.woff2"

# Code points counted as CJK: radicals, CJK symbols and punctuation (、。「」), kana, bopomofo,
# enclosed and compatibility forms, the unified ideographs with extension A and the compatibility
# ideographs, vertical and small forms, full-width forms (，：（）), and the supplementary planes'
# ideographs. Nothing a Latin font is expected to have: the face never draws Latin text.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF), (0x2FF0, 0x303F), (0x3040, 0x31FF), (0x3200, 0x33FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)
_CJK_CLASS = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in CJK_RANGES)
_CJK = re.compile(f"[{_CJK_CLASS}]")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")  # a widget's state embeds text as JSON, \u-escaped

# pydata-sphinx-theme 0.17's stacks (its styles/pydata-sphinx-theme.css), each with the CJK face
# in front (it draws CJK characters only: unicode-range); tests/test_offline_fonts.py checks that
# removing it gives the theme's own stack back, so Latin text keeps its fonts.
CJK_STACKS = {
    "--pst-font-family-base-system":
        f'"{CJK_FAMILY}",system-ui,sans-serif,"Apple Color Emoji","Segoe UI Emoji","Segoe UI Symbol","Noto Color Emoji"',
    "--pst-font-family-monospace-system":
        f'"{CJK_FAMILY}",ui-monospace,"Cascadia Code","Source Code Pro","Menlo","Consolas","DejaVu Sans Mono",monospace',
}


def cjk_characters(texts: Iterable[str]) -> set[str]:
    """The CJK characters (:data:`CJK_RANGES`) in ``texts``: HTML entities and JSON ``\\uXXXX`` escapes decoded."""
    found: set[str] = set()
    for text in texts:
        text = html.unescape(text)
        text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        found.update(_CJK.findall(text))
    return found


def unicode_range(chars: Iterable[str]) -> str:
    """The CSS ``unicode-range`` of ``chars``: sorted, consecutive code points merged (``U+4e00-4e02,U+5b66``)."""
    points = sorted({ord(c) for c in chars})
    spans: list[list[int]] = []
    for point in points:
        if spans and point == spans[-1][1] + 1:
            spans[-1][1] = point
        else:
            spans.append([point, point])
    return ",".join(f"U+{lo:x}" if lo == hi else f"U+{lo:x}-{hi:x}" for lo, hi in spans)


def font_face_css(chars: Iterable[str], files: dict[int, str]) -> str:
    """The stylesheet: one ``@font-face`` per weight (``files``: weight -> file name next to the CSS), then the stacks."""
    chars = set(chars)
    rules = ["/* Noto Sans SC (SIL OFL 1.1, LICENSE beside this file), cut down to the CJK characters of the\n"
             "   built pages by book/_ext/offline_assets.py. */"]
    if chars:
        for weight, name in sorted(files.items()):
            rules.append(
                "@font-face {\n"
                f'  font-family: "{CJK_FAMILY}";\n  font-style: normal;\n  font-weight: {weight};\n'
                f'  font-display: swap;\n  src: url("{name}") format("woff2");\n'
                f"  unicode-range: {unicode_range(chars)};\n}}"
            )
    stacks = "".join(f"\n  {name}: {stack};" for name, stack in CJK_STACKS.items())
    rules.append(f"html {{{stacks}\n}}")
    return "\n".join(rules) + "\n"


def subset_font(source: Path, chars: Iterable[str], dest: Path) -> None:
    """Write the glyphs of ``chars`` (and what they need: .notdef, their layout features) from ``source`` as WOFF2."""
    from fontTools import subset  # fontTools and brotli: the book extra (pyproject.toml)
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    cmap = font.getBestCmap()
    missing = sorted(c for c in set(chars) if ord(c) not in cmap)
    if missing:
        raise ExtensionError(
            f"offline_assets: {source.name} has no glyph for {''.join(missing)!r} "
            f"({', '.join(f'U+{ord(c):04X}' for c in missing)}); serve a larger Noto Sans SC file for them"
        )
    options = subset.Options()
    options.flavor = "woff2"
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in set(chars)))
    subsetter.subset(font)
    dest.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff2"
    font.save(dest)


def _node_modules(app: Sphinx) -> Path:
    # Like Node's own lookup: the source folder or the nearest parent with a node_modules,
    # so that a one-page build (`jupyter-book build book/X.ipynb`) finds the root's.
    src = Path(app.srcdir).resolve()
    path = next((d / "node_modules" for d in (src, *src.parents) if (d / "node_modules").is_dir()),
                src / "node_modules")
    missing = [src for src, _, _ in _COPIES if not (path / src).is_dir()]
    if missing:
        raise ExtensionError(
            f"offline_assets: {', '.join(missing)} not found under {path}. The book serves MathJax, the "
            "widget manager and its CJK font itself; install them with `npm ci` at the repository root (README.md, set-up)."
        )
    return path


def _check_installed(app: Sphinx) -> None:
    root = _node_modules(app)
    missing = [CJK_SOURCE.format(weight=w) for w in CJK_WEIGHTS
               if not (root / CJK_PACKAGE / CJK_SOURCE.format(weight=w)).is_file()]
    if missing:
        raise ExtensionError(
            f"offline_assets: {', '.join(missing)} not found under {root / CJK_PACKAGE}. The book serves its "
            "own CJK font; install it with `npm ci` at the repository root (README.md, set-up)."
        )
    try:
        import brotli  # noqa: F401 - fontTools writes WOFF2 with it
        import fontTools.subset  # noqa: F401
    except ImportError as error:
        raise ExtensionError(
            f"offline_assets: {error.name} is missing; the book's CJK font is cut down with fontTools "
            "and written as WOFF2 with brotli: install them with `pip install -e \".[book]\"`."
        ) from error


def _page_texts(app: Sphinx) -> Iterable[str]:
    """The HTML of every page of this build (those written now and those kept from an earlier one)."""
    for docname in sorted(app.env.found_docs):
        path = Path(app.outdir) / app.builder.get_outfilename(docname)
        if path.is_file():
            yield path.read_text(encoding="utf-8")


def _write_cjk_font(app: Sphinx) -> None:
    """Subset the font to the pages' CJK characters and write it with its stylesheet (skipped when unchanged)."""
    chars = cjk_characters(_page_texts(app))
    package = _node_modules(app) / CJK_PACKAGE
    folder = Path(app.outdir) / "_static" / CJK_DIR
    # The file name carries a digest of the characters: a page that gains a character gets a new file,
    # which no browser has cached.
    digest = hashlib.sha256("".join(sorted(chars)).encode()).hexdigest()[:10]
    files = {w: f"noto-sans-sc-{w}-{digest}.woff2" for w in CJK_WEIGHTS}
    css = font_face_css(chars, files)
    css_path = Path(app.outdir) / "_static" / CJK_CSS
    fresh = css_path.is_file() and css_path.read_text(encoding="utf-8") == css
    if not fresh or (chars and not all((folder / name).is_file() for name in files.values())):
        for old in folder.glob("noto-sans-sc-*.woff2"):
            old.unlink()
        for weight, name in files.items() if chars else ():
            subset_font(package / CJK_SOURCE.format(weight=weight), chars, folder / name)
    css_path.parent.mkdir(parents=True, exist_ok=True)
    css_path.write_text(css, encoding="utf-8")


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
    _write_cjk_font(app)


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
    app.add_css_file(CJK_CSS)  # written at build-finished, with the font it names (_write_cjk_font)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
