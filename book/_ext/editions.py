"""The book's two editions, English and Chinese (中文), from one source.

The Chinese edition is the same notebooks and pages with their prose replaced message by
message from Sphinx's gettext catalogues, ``locales/zh_CN/LC_MESSAGES/<page>.po`` (one per
page, ``gettext_compact: false`` in ``_config.yml``). Code, outputs and figures are not
translated: myst-nb reads each notebook's outputs from the execution cache
(``book/_ext/execution_cache.py``), which is keyed on the notebook's code cells and the
package's sources, and Sphinx translates the document afterwards. The Chinese build
therefore takes the English build's execution and runs no kernel where the cache is full.

Two halves:

- **Sphinx** (:func:`setup`, listed in ``_config.yml``): a link to the same page in the other
  edition in the page's header: ``English`` on every Chinese page, ``中文`` on every English
  page that has a translation. English is ``_build/html/``, Chinese ``_build/html/zh/``. And
  what a translation needs beyond Sphinx's: glued numbers in translated messages, the ToC's
  part captions and the site's title in Chinese.
- **The command line**::

      python book/_ext/editions.py extract [PAGE ...]   # .pot files, then sphinx-intl update
      python book/_ext/editions.py build [PAGE ...]     # the Chinese HTML in _build/html/zh

  ``PAGE`` is a page as in ``_toc.yml`` (e.g. ``book/intro``), or ``all``. ``extract`` without
  pages updates the catalogues that exist (the pages being translated); naming a page starts
  its catalogue. ``build`` without pages builds every page (with ``-W -n``); with pages, those
  and the root page only, for a quick look at one translation. ``make translations`` and
  ``make book-zh`` call these. After ``extract``, ``python book/_ext/translation_check.py``
  (or its test) says what is left to translate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # execution_cache, next to this file
LOCALES = ROOT / "locales"
LANGUAGE = "zh_CN"
# Where each edition's HTML goes, relative to the English root.
SUBDIR = {"en": "", LANGUAGE: "zh"}
LABEL = {"en": "English", LANGUAGE: "中文"}
TOOLTIP = {"en": "Read this page in English", LANGUAGE: "阅读本页的中文版"}
HREFLANG = {"en": "en", LANGUAGE: "zh-CN"}
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
HEADER_ITEM = "edition-link.html"
STYLESHEET = "lrcourse-editions.css"


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
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    if edition(config.language) == LANGUAGE:
        config.html_title = _translated_title(config) or config.html_title
    options = dict(config.html_theme_options or {})
    items = options.get("article_header_end", ["article-header-buttons.html"])
    items = [items] if isinstance(items, str) else list(items)
    if HEADER_ITEM not in items:
        options["article_header_end"] = [HEADER_ITEM, *items]
    config.html_theme_options = options


def _translated_title(config) -> str | None:
    """The book's title as the root page's catalogue translates it (the site's name in the sidebar)."""
    import polib

    po = LOCALES / LANGUAGE / "LC_MESSAGES" / f"{_toc_root()}.po"
    if not po.is_file():
        return None
    entry = polib.pofile(str(po)).find(config.html_title)
    return entry.msgstr if entry is not None and entry.msgstr and "fuzzy" not in entry.flags else None


def _translate_toc_captions_transform():
    """The ToC's part captions: sphinx-external-toc inserts its toctrees after Locale has run."""
    from sphinx import addnodes
    from sphinx.locale import init as init_locale
    from sphinx.transforms import SphinxTransform
    from sphinx.util.i18n import docname_to_domain

    class TranslateTocCaptions(SphinxTransform):
        default_priority = 101  # sphinx-external-toc's InsertToctrees is 100

        def apply(self, **kwargs: Any) -> None:
            if edition(self.config.language) != LANGUAGE:
                return
            domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
            dirs = [str(Path(self.env.srcdir) / d) for d in self.config.locale_dirs]
            catalog, found = init_locale(dirs, self.config.language, domain)
            if not found:
                return
            for node in self.document.findall(addnodes.toctree):
                caption = node.get("caption")
                if caption and catalog.gettext(caption) != caption:
                    node["caption"] = catalog.gettext(caption)

    return TranslateTocCaptions


def _nothing_to_translate_transform():
    """Keep out of the catalogues what has nothing to translate.

    Display maths (Sphinx would extract each ``$$…$$`` block as a message, its LaTeX without the
    dollars, which a translator could only copy or spoil), and every message that is only maths,
    code, roles and numbers (a table cell ``$T$``, a heading `` `Constant` ``, a number a
    notebook printed into a table). Those pass through unchanged by construction, and a
    catalogue does not hold the last digits of one machine's run.
    """
    from docutils import nodes
    from sphinx.transforms import SphinxTransform
    from sphinx.util.nodes import extract_messages

    from translation_check import nothing_to_translate

    class NothingToTranslate(SphinxTransform):
        default_priority = 15  # before Sphinx's Locale (20); the gettext builder extracts later

        def apply(self, **kwargs: Any) -> None:
            for node in self.document.findall(nodes.math_block):
                node["translatable"] = False
            for node, message in list(extract_messages(self.document)):
                if nothing_to_translate(message) and not isinstance(node, nodes.image):
                    node["translatable"] = False

    return NothingToTranslate


def _link_context(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    if doctree is None and pagename not in app.env.found_docs:  # search, genindex: no twin page
        context["lrcourse_edition_link"] = None
        return
    other = "en" if edition(app.config.language) == LANGUAGE else LANGUAGE
    if other == LANGUAGE and not (LOCALES / LANGUAGE / "LC_MESSAGES" / f"{pagename}.po").is_file():
        # An English page links to its Chinese twin once it has a translation (until then the
        # twin is the same English text); a Chinese page always links back.
        context["lrcourse_edition_link"] = None
        return
    context["lrcourse_edition_link"] = {
        "url": other_edition_url(pagename, app.config.language),
        "text": LABEL[other], "title": TOOLTIP[other], "hreflang": HREFLANG[other],
    }


# Glued numbers in a translated message. Sphinx's Locale transform parses each translation
# as a small document of its own; myst-nb's glue roles look for the notebook's outputs on the
# document they are parsed in (``document["nb_renderer"]``, which myst-nb's parser also
# removes when it is done), find none, warn and paste nothing. So: each notebook renderer
# myst-nb makes is remembered (a wrapper around its ``load_renderer``), a transform run just
# before Locale hands the current page's to the build environment, and the glue roles fall
# back on it. A glued number then renders in Chinese exactly as in English.
_RENDERER = "lrcourse_nb_renderer"
_made: list[Any] = []  # the renderer of the page being read (one page at a time per process)


def _remember_notebook_renderer_transform():
    from sphinx.transforms import SphinxTransform

    class RememberNotebookRenderer(SphinxTransform):
        default_priority = 19  # Sphinx's Locale is 20

        def apply(self, **kwargs: Any) -> None:
            self.env.temp_data[_RENDERER] = _made.pop() if _made else None
            _made.clear()

    return RememberNotebookRenderer


def _glue_falls_back_on_the_notebook() -> None:
    from myst_nb import sphinx_
    from myst_nb.ext.glue import directives, roles, utils

    if getattr(roles.retrieve_glue_data, "lrcourse", False):
        return
    original_retrieve, original_load = utils.retrieve_glue_data, sphinx_.load_renderer

    def load_renderer(name: str):
        cls = original_load(name)

        def make(*args: Any, **kwargs: Any):
            renderer = cls(*args, **kwargs)
            _made[:] = [renderer]
            return renderer
        return make

    def retrieve_glue_data(document, key: str):
        if "nb_renderer" not in document:
            env = getattr(document.settings, "env", None)
            renderer = env.temp_data.get(_RENDERER) if env is not None else None
            if renderer is not None:  # not stored on the document: its doctree is pickled
                return original_retrieve({"nb_renderer": renderer}, key)
        return original_retrieve(document, key)

    retrieve_glue_data.lrcourse = True
    sphinx_.load_renderer = load_renderer
    roles.retrieve_glue_data = retrieve_glue_data
    directives.retrieve_glue_data = retrieve_glue_data


def setup(app):
    """Sphinx: the link to the other edition in every page's header; glue in translations."""
    app.connect("config-inited", _add_header_item)
    app.connect("html-page-context", _link_context)
    app.add_transform(_remember_notebook_renderer_transform())
    app.add_transform(_translate_toc_captions_transform())
    app.add_transform(_nothing_to_translate_transform())
    app.add_css_file(STYLESHEET)
    _glue_falls_back_on_the_notebook()
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ---------------------------------------------------------------- command line


def _left_out(pages: list[str]) -> list[str]:
    """``_config.yml``'s exclude_patterns plus every page of ``_toc.yml`` not in ``pages``.

    The table of contents stays whole (its part captions are messages of the root page, and the
    sidebar keeps its shape); Sphinx warns about the pages left out, and reads only the others.
    """
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    keep = set(pages) | {_toc_root()}
    others = []
    for page in _toc_pages():
        if page not in keep:
            found = sorted(p for p in ROOT.glob(f"{page}.*") if p.suffix in {".md", ".ipynb"})
            others += [str(p.relative_to(ROOT)) for p in found]
    return [*config.get("exclude_patterns", []), *others]


def _toc_pages() -> list[str]:
    from execution_cache import toc_files

    return toc_files(ROOT)


def _toc_root() -> str:
    return _toc_pages()[0]


def sphinx(builder: str, outdir: Path, doctrees: Path, overrides: dict[str, Any],
           pages: list[str] | None = None) -> int:
    """Run Jupyter Book's Sphinx build of the whole book with ``-W -n``, as ``make book`` does.

    With ``pages``, of those pages (and the root page) only, and warnings are not errors: the
    references to the pages left out (``{doc}``, citations of the bibliography page) cannot resolve.
    """
    from jupyter_book.sphinx import build_sphinx

    overrides = {"external_toc_path": (ROOT / "_toc.yml").as_posix(), "latex_individualpages": False,
                 "nitpicky": True, **overrides}
    if pages:
        overrides["exclude_patterns"] = _left_out(pages)
    result = build_sphinx(ROOT, outdir, noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides=overrides, builder=builder, doctreedir=doctrees,
                          warningiserror=not pages, keep_going=True)
    return 0 if result in (0, None) else 1


def translated_pages() -> list[str]:
    """The pages that have a catalogue (``locales/zh_CN/LC_MESSAGES/<page>.po``), in the ToC's order."""
    folder = LOCALES / LANGUAGE / "LC_MESSAGES"
    return [page for page in _toc_pages() if (folder / f"{page}.po").is_file()]


def extract(pages: list[str] | None = None, pot: Path | None = None, update: bool = True,
            execute: bool = True) -> int:
    """Write the .pot files of ``pages`` (Sphinx's gettext builder), then update their .po files.

    ``pages``: default, the pages that have a catalogue already (a page's first catalogue is
    made by naming the page); ``["all"]``, every page of the ToC. ``pot``: where the .pot files
    go (default ``_build/gettext``); ``update=False`` leaves the .po files alone (the test that
    compares them with the pages does so). ``execute=False``: the notebooks without their
    outputs (no kernel, no cache), so the messages of the markdown cells only, in seconds.
    """
    import shutil

    if not pages:
        pages = translated_pages()
        if not pages:
            print("no page has a catalogue yet: name the pages to start (or 'all')")
            return 1
    everything = pages == ["all"]
    pages = _toc_pages() if everything else pages
    pot = Path(pot) if pot else ROOT / "_build" / "gettext"
    overrides = {} if execute else {"nb_execution_mode": "off"}
    status = sphinx("gettext", pot, pot.parent / f".doctrees-{pot.name}", overrides, None if everything else pages)
    if status or not update:
        return status
    chosen = pot.parent / f"{pot.name}-chosen"  # sphinx-intl updates every .pot it finds: only these
    shutil.rmtree(chosen, ignore_errors=True)
    for page in pages:
        source = pot / f"{page}.pot"
        (chosen / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, chosen / f"{page}.pot")
    status = subprocess.call([sys.executable, "-m", "sphinx_intl", "update", "-p", str(chosen),
                              "-d", str(LOCALES), "-l", LANGUAGE, "-w", "0"], cwd=ROOT)
    return status


def build(pages: list[str] | None = None) -> int:
    """Build the Chinese edition into ``_build/html/zh`` (outputs from the execution cache).

    Sphinx writes it to ``_build/zh/html`` first: myst-nb puts a notebook's images in the
    output folder's parent (``jupyter_execute``), which would be the English edition's folder
    if Sphinx wrote to ``_build/html/zh`` directly. The result is then copied into place.
    """
    import shutil

    staging = ROOT / "_build" / SUBDIR[LANGUAGE]
    status = sphinx("html", staging / "html", staging / ".doctrees", {"language": LANGUAGE}, pages)
    if status == 0:
        target = ROOT / "_build" / "html" / SUBDIR[LANGUAGE]
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging / "html", target)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "build"],
                        help="extract: .pot files and sphinx-intl update; build: the Chinese HTML")
    parser.add_argument("pages", nargs="*",
                        help="pages as in _toc.yml, or 'all' (default: extract, those with a catalogue; build, all)")
    parser.add_argument("--pot", type=Path, help="extract: the folder for the .pot files (default _build/gettext)")
    parser.add_argument("--no-update", action="store_true", help="extract: the .pot files only")
    parser.add_argument("--no-execute", action="store_true",
                        help="extract: the notebooks without outputs (the markdown cells' messages only)")
    args = parser.parse_intermixed_args(argv)
    start = time.perf_counter()
    if args.command == "extract":
        status = extract(args.pages or None, args.pot, update=not args.no_update, execute=not args.no_execute)
    else:
        status = build(None if args.pages in ([], ["all"]) else args.pages)
    print(f"editions.py {args.command}: {time.perf_counter() - start:.0f} s, "
          f"{'ok' if status == 0 else 'FAILED'}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
