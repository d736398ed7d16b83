"""The book's two editions, English and Chinese (中文), from one source.

The Chinese edition is the same notebooks and pages with their prose replaced message by
message from Sphinx's gettext catalogues, ``locales/zh_CN/LC_MESSAGES/<page>.po`` (one per
page, ``gettext_compact: false`` in ``_config.yml``). Code, outputs and figures are not
translated: myst-nb reads each notebook's outputs from the execution cache
(``book/_ext/execution_cache.py``), which is keyed on the notebook's code cells and the
package's sources, and Sphinx translates the document afterwards. The Chinese build
therefore takes the English build's execution and runs no kernel where the cache is full.

Two halves:

- **Sphinx** (:func:`setup`, listed in ``_config.yml``): a link to the other edition in
  every page's header (``English`` on a Chinese page, ``中文`` on an English one), to the
  same page there. English is ``_build/html/``, Chinese ``_build/html/zh/``.
- **The command line**::

      python book/_ext/editions.py extract [PAGE ...]   # .pot files, then sphinx-intl update
      python book/_ext/editions.py build [PAGE ...]     # the Chinese HTML in _build/html/zh

  ``PAGE`` (as in ``_toc.yml``, e.g. ``book/intro``) restricts either to those pages, for a
  quick look at one translation; without it, every page of ``_toc.yml``. ``make book-zh``
  and ``make translations`` call these. After ``extract``, run
  ``python book/_ext/translation_check.py`` (or its test) to see what is left to translate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
LANGUAGE = "zh_CN"
# Where each edition's HTML goes, relative to the English root.
SUBDIR = {"en": "", LANGUAGE: "zh"}
LABEL = {"en": "English", LANGUAGE: "中文"}
TOOLTIP = {"en": "Read this page in English", LANGUAGE: "阅读本页的中文版"}
HREFLANG = {"en": "en", LANGUAGE: "zh-CN"}
TEMPLATES = Path(__file__).resolve().parent / "templates"
HEADER_ITEM = "edition-link.html"


def edition(language: str | None) -> str:
    """The edition a Sphinx ``language`` builds: ``"zh_CN"`` for Chinese, else ``"en"``."""
    return LANGUAGE if (language or "").replace("-", "_").startswith("zh") else "en"


def other_edition_url(pagename: str, language: str | None) -> str:
    """The relative URL, from page ``pagename`` of one edition, of the same page in the other.

    >>> other_edition_url("book/intro", "en")
    '../zh/book/intro.html'
    >>> other_edition_url("book/reference/api/numpy", "zh_CN")
    '../../../../book/reference/api/numpy.html'
    """
    this = edition(language)
    other = "en" if this == LANGUAGE else LANGUAGE
    to_root = "../" * pagename.count("/")           # this edition's root
    if SUBDIR[this]:
        to_root += "../" * (SUBDIR[this].count("/") + 1)  # the English root
    prefix = f"{SUBDIR[other]}/" if SUBDIR[other] else ""
    return f"{to_root}{prefix}{pagename}.html"


# ---------------------------------------------------------------- Sphinx


def _add_header_item(app, config) -> None:
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    options = dict(config.html_theme_options or {})
    items = options.get("article_header_end", ["article-header-buttons.html"])
    items = [items] if isinstance(items, str) else list(items)
    if HEADER_ITEM not in items:
        options["article_header_end"] = [HEADER_ITEM, *items]
    config.html_theme_options = options


def _link_context(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    if doctree is None and pagename not in app.env.found_docs:  # search, genindex: no twin page
        context["lrcourse_edition_link"] = None
        return
    other = "en" if edition(app.config.language) == LANGUAGE else LANGUAGE
    context["lrcourse_edition_link"] = {
        "url": other_edition_url(pagename, app.config.language),
        "text": LABEL[other], "title": TOOLTIP[other], "hreflang": HREFLANG[other],
    }


def setup(app):
    """Sphinx: the link to the other edition in every page's header."""
    app.connect("config-inited", _add_header_item)
    app.connect("html-page-context", _link_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ---------------------------------------------------------------- command line


def _toc_of(pages: list[str]) -> Path:
    """A temporary _toc.yml with only ``pages`` (the first as the root), for a quick build."""
    lines = ["format: jb-book", f"root: {pages[0]}"]
    if pages[1:]:
        lines += ["chapters:", *[f"  - file: {p}" for p in pages[1:]]]
    handle = tempfile.NamedTemporaryFile("w", suffix="_toc.yml", delete=False, dir=ROOT / "_build")
    handle.write("\n".join(lines) + "\n")
    handle.close()
    return Path(handle.name)


def sphinx(builder: str, outdir: Path, doctrees: Path, overrides: dict[str, Any],
           pages: list[str] | None = None) -> int:
    """Run Jupyter Book's Sphinx build of the whole book with ``-W -n``, as ``make book`` does.

    With ``pages``, of those pages only, and warnings are not errors: their references to the
    pages left out (``{doc}``, citations of the bibliography page) cannot resolve.
    """
    from jupyter_book.sphinx import build_sphinx

    (ROOT / "_build").mkdir(exist_ok=True)
    toc = _toc_of(pages) if pages else ROOT / "_toc.yml"
    try:
        result = build_sphinx(
            ROOT, outdir, noconfig=True, path_config=str(ROOT / "_config.yml"),
            confoverrides={"external_toc_path": toc.as_posix(), "latex_individualpages": False,
                           "nitpicky": True, **overrides},
            builder=builder, doctreedir=doctrees, warningiserror=not pages, keep_going=True)
    finally:
        if pages:
            toc.unlink()
    return 0 if result in (0, None) else 1


def extract(pages: list[str] | None = None) -> int:
    """Write the .pot files (Sphinx's gettext builder), then update the .po files from them."""
    pot = ROOT / "_build" / "gettext"
    status = sphinx("gettext", pot, ROOT / "_build" / ".doctrees-gettext", {}, pages)
    if status:
        return status
    return subprocess.call([str(Path(sys.executable).parent / "sphinx-intl"), "update", "-p", str(pot),
                            "-d", str(LOCALES), "-l", LANGUAGE, "-w", "0"], cwd=ROOT)


def build(pages: list[str] | None = None) -> int:
    """Build the Chinese edition into ``_build/html/zh`` (outputs from the execution cache)."""
    return sphinx("html", ROOT / "_build" / "html" / SUBDIR[LANGUAGE], ROOT / "_build" / ".doctrees-zh",
                  {"language": LANGUAGE}, pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "build"],
                        help="extract: .pot files and sphinx-intl update; build: the Chinese HTML")
    parser.add_argument("pages", nargs="*", help="pages as in _toc.yml (default: all)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    status = (extract if args.command == "extract" else build)(args.pages or None)
    print(f"editions.py {args.command}: {time.perf_counter() - start:.0f} s, "
          f"{'ok' if status == 0 else 'FAILED'}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
