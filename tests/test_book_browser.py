"""Open every page of the built book in headless Chromium, as a reader would.

Checks, page by page: every formula is typeset by MathJax (with no TeX errors), no
request leaves the local server (the book must work offline), the console shows no
errors, no resource fails to load, every explorer works with no kernel behind the
page: moving its slider changes the frame shown, and every CJK character (the seed's quotes)
is drawn by the book's own font, not as an empty box. A full-page screenshot of each page is saved
under ``_build/screenshots/`` for a person to look at.

The book is built by ``jupyter-book build . -W`` unless every page in
``_build/html`` is newer than every source (CI builds it just before the tests). The browser is Debian's
``chromium`` driven by Playwright; without it the test is skipped locally, and fails
under CI (``CI`` set), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import execution_cache  # book/_ext, on the path through tests/conftest.py
import offline_assets  # book/_ext: the CJK font the pages serve
from _browser import CHROMIUM, CHROMIUM_FLAGS  # tests/, on the path as the test modules' folder
from lrcourse.display import LIVE_GLUE_CLASS

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
SOURCES = ["book", "lrcourse", "_config.yml", "_toc.yml", "package.json", "locales"]

# One worker opens every page (pytest -n 2 --dist loadgroup): the book is built, and served, once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Console warnings that are known and harmless; any other warning, and every error, fails.
KNOWN_WARNINGS = [
    # The ipywidgets HTML manager validates the embedded widget state with its bundled
    # ajv, whose strict mode dislikes a union type in the manager's own schema.
    "strict mode: use allowUnionTypes to allow union type keyword",
]


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            if "__pycache__" not in file.parts and ".ipynb_checkpoints" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def _build_is_fresh(edition: str = "") -> bool:
    """Every page of the ToC is built in ``edition`` ("" English, "zh/" Chinese), after the last change to
    any source (the Chinese edition's sources include its catalogues)."""
    pages = [HTML / f"{edition}{page}" for page in _toc_pages()]
    if not all(page.is_file() for page in pages):
        return False
    return min(page.stat().st_mtime for page in pages) >= _newest_source_mtime()


@pytest.fixture(scope="module")
def book() -> Path:
    """The built HTML book, built now if it is missing or older than its sources.

    The notebooks' outputs come from the execution cache (``book/_ext/execution_cache.py``),
    which also has Sphinx read every notebook again when the package changed.
    """
    if not _build_is_fresh():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        result = subprocess.run(
            [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
            cwd=ROOT, capture_output=True, text=True, timeout=1800,
        )
        assert result.returncode == 0, f"book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    if not _build_is_fresh("zh/"):  # the Chinese edition, from the English build's execution
        result = subprocess.run([sys.executable, str(ROOT / "book" / "_ext" / "editions.py"), "build"],
                                cwd=ROOT, capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, f"Chinese build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return HTML


@pytest.fixture(scope="module")
def server(book: Path) -> Iterator[str]:
    """Serve the built book on a free port of the loopback interface."""
    handler = functools.partial(_QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _toc_pages() -> list[str]:
    """Every page of the book, as paths relative to the HTML root (read from the table of contents)."""
    return [str(Path(page).with_suffix(".html")) for page in execution_cache.toc_files()]


def _pages() -> list[str]:
    """Every page of both editions: the English ones, then the Chinese ones under ``zh/``."""
    return _toc_pages() + [f"zh/{page}" for page in _toc_pages()]


# MathJax marks each formula it typesets with an mjx-container element inside Sphinx's
# .math node; a TeX error becomes an mjx-merror element.
_MATH_STATE = """() => {
    const nodes = Array.from(document.querySelectorAll('.math'));
    return {
        formulas: nodes.length,
        typeset: nodes.filter(n => n.querySelector('mjx-container')).length,
        errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent),
    };
}"""


# A glue role that myst-nb did not resolve stays as text; the live-notebook fallback of
# lrcourse.display.glue must not reach a page (the build sets LRCOURSE_BOOK_BUILD).
_UNGLUED = f"""() => {{
    // The page's prose, without code (glue's own docstring shows the role as code).
    const _prose = () => {{
        const main = (document.querySelector('main') || document.body).cloneNode(true);
        main.querySelectorAll('code, pre').forEach(n => n.remove());
        return main.textContent;
    }};
    return {{
    roles: _prose().match(/\\{{glue[^}}]*\\}}`[^`]*`/g) || [],
    live: document.querySelectorAll('.{LIVE_GLUE_CLASS}').length,
    }};
}}"""


@pytest.mark.parametrize("page_path", _pages())
def test_page_renders_offline_without_errors(page_path: str, server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    external: list[str] = []

    def route(request_route: Route) -> None:
        url = request_route.request.url
        if url.startswith((server, "data:", "blob:")):
            request_route.continue_()
        else:  # recorded, and refused: the page must not depend on it
            external.append(url)
            request_route.abort()

    page.route("**/*", route)
    def console(message: ConsoleMessage) -> None:
        known = message.type == "warning" and any(text in message.text for text in KNOWN_WARNINGS)
        if message.type in ("error", "warning") and not known:
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

    page.goto(f"{server}/{page_path}", wait_until="networkidle")
    # startup.promise resolves once MathJax has typeset the page (evaluate awaits it).
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    math = page.evaluate(_MATH_STATE)
    unglued = page.evaluate(_UNGLUED)
    explorers = _check_explorers(page)
    cjk = page.evaluate(_CJK_GLYPHS, offline_assets.CJK_FAMILY)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / (page_path.replace("/", "__").removesuffix(".html") + ".png")),
                    full_page=True)
    page.close()

    assert external == [], f"requests left the local server: {external}"
    assert problems == [], "\n".join(problems)
    assert math["typeset"] == math["formulas"], f"{math['formulas'] - math['typeset']} formulas not typeset"
    assert math["errors"] == [], f"TeX errors: {math['errors']}"
    assert unglued == {"roles": [], "live": 0}, f"numbers not glued into the prose: {unglued}"
    for readouts, frames in explorers:
        assert readouts[0] != readouts[1], f"slider readout did not move: {readouts}"
        assert frames[0] != frames[1] and frames[1], f"slider moved {readouts} but the frame stayed {frames}"
    if cjk["chars"]:
        assert cjk["faces"] and set(cjk["faces"]) == {"loaded"}, f"the CJK font did not load: {cjk}"
        assert cjk["missing"] == "", f"{len(cjk['missing'])} of {cjk['chars']} CJK characters drawn as boxes: {cjk}"


# Every CJK character of the page, measured as the page draws it (a Range over the character):
# one as wide as an unassigned code point (U+0378, which no font has) in the same element is that
# element's missing glyph, an empty box. A probe span inside the element (its font, size and
# language inherited) gives both widths, the box's and the character's drawn afresh, so a page
# whose text was laid out before the font loaded and never again is caught too (Chromium did
# that with the face after system-ui in the stack: boxes on the screen, glyphs in a fresh
# layout), and so is a font that lacks the character. A canvas is no witness: it draws without
# the element's language, and Chromium's fallback differs with it. Also the status of the book's
# CJK face (book/_ext/offline_assets.py) in document.fonts.
_CJK_CLASS = "".join(f"\\u{{{lo:x}}}-\\u{{{hi:x}}}" for lo, hi in offline_assets.CJK_RANGES)
_CJK_GLYPHS = """async (family) => {
    await document.fonts.ready;
    const cjk = /[%s]/gu;
    const same = (a, b) => Math.abs(a - b) < 0.05;
    const all = new Set(), missing = new Set(), errors = [];
    const probes = new Map();  // element -> (text -> width as drawn afresh there)
    const fresh = (element, text) => {
        if (!probes.has(element)) probes.set(element, new Map());
        const known = probes.get(element);
        if (!known.has(text)) {
            const probe = document.createElement('span');
            probe.style.cssText = 'position:absolute;left:0;top:0;visibility:hidden;white-space:pre';
            probe.textContent = text;
            element.appendChild(probe);
            known.set(text, probe.getBoundingClientRect().width);
            probe.remove();
        }
        return known.get(text);
    };
    // The whole page: the navigation and a language link too, not only the article.
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(parent.tagName)) continue;
        const text = node.textContent;
        const found = [...text.matchAll(cjk)];
        if (!found.length) continue;
        const style = getComputedStyle(parent);
        const font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        try { await document.fonts.load(font, text); } catch (e) { errors.push(String(e)); }
        const box = fresh(parent, '\\u0378');
        // An element that is not rendered (display: none, as the theme's closed search dialog, its
        // mobile sidebar copy, the back-to-top button) measures 0 for every text: nothing to compare there.
        if (box === 0) continue;
        for (const {0: c, index} of found) {  // code points: an Extension B ideograph is two UTF-16 units
            all.add(c);
            range.setStart(node, index);
            range.setEnd(node, index + c.length);
            const drawn = range.getBoundingClientRect().width;  // 0 where the element is hidden
            if (same(fresh(parent, c), box) || (drawn > 0 && same(drawn, box))) missing.add(c);
        }
    }
    const faces = [...document.fonts].filter(f => f.family.replace(/["']/g, '') === family).map(f => f.status);
    return {chars: all.size, missing: [...missing].join(''), faces, errors};
}""" % _CJK_CLASS


def test_the_cjk_check_sees_boxes_without_the_font(book: Path, server: str, browser: Browser) -> None:
    """The check above can fail: with the font's file refused, the seed's quotes are boxes again."""
    quoting = [p for p in _pages() if offline_assets.cjk_characters([(book / p).read_text(encoding="utf-8")])]
    assert quoting, "no page quotes the seed in Chinese"
    page = browser.new_page()
    page.route("**/*.woff2", lambda route: route.abort() if "noto-sans-sc" in route.request.url else route.continue_())
    page.goto(f"{server}/{quoting[0]}", wait_until="networkidle")
    cjk = page.evaluate(_CJK_GLYPHS, offline_assets.CJK_FAMILY)
    page.close()
    assert cjk["chars"] and "loaded" not in cjk["faces"], cjk
    if not cjk["missing"]:
        fc_list = shutil.which("fc-list")
        system = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout if fc_list else ""
        if system.strip():
            pytest.skip(f"this machine has CJK fonts of its own, which draw the quotes: {system.splitlines()[0]}")
    assert len(cjk["missing"]) == cjk["chars"], f"without the book's font, some CJK glyphs still drawn: {cjk}"


# The frame an explorer shows: the source of its visible image (a Stack hides the others).
_VISIBLE_FRAME = """(box) => {
    const shown = Array.from(box.querySelectorAll('img')).filter(i => i.getBoundingClientRect().height > 0);
    return shown.map(i => i.src).join(' ');
}"""


# Another frame is shown, and laid out: between the switch and the new image's decoding no
# image has a height, and the frame reads '' (a race the test lost once on a busy machine).
_FRAME_CHANGED = f"([box, frame]) => {{ const now = ({_VISIBLE_FRAME})(box); return now !== frame && now !== ''; }}"


def _check_explorers(page: Page) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Move each explorer's slider two steps; return (readouts, frames) before and after.

    A page whose HTML embeds widget state must render its widgets: if the manager
    fails to load, there is no slider and the page fails here.
    """
    has_widgets = page.evaluate(
        "() => !!document.querySelector('script[type=\"application/vnd.jupyter.widget-state+json\"]')")
    if not has_widgets:
        return []
    page.wait_for_selector(".widget-slider .noUi-handle", timeout=20_000)
    results = []
    for slider in page.query_selector_all(".widget-slider"):
        box = slider.evaluate_handle("(s) => s.closest('.widget-vbox') || s.parentElement")
        readout = slider.query_selector(".widget-readout")
        assert readout is not None
        before = (readout.inner_text(), box.evaluate(_VISIBLE_FRAME))
        handle = slider.query_selector(".noUi-handle")
        assert handle is not None
        handle.focus()
        key = "ArrowLeft" if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax") else "ArrowRight"
        page.keyboard.press(key)
        page.keyboard.press(key)
        if before[1]:  # wait (briefly) for the frame to switch; the assertion below reports it if not
            try:
                page.wait_for_function(_FRAME_CHANGED, arg=[box, before[1]], timeout=5_000)
            except PlaywrightTimeoutError:
                pass
        after = (readout.inner_text(), box.evaluate(_VISIBLE_FRAME))
        results.append(((before[0], after[0]), (before[1], after[1])))
    assert results, "the page embeds widget state but shows no explorer slider"
    return results


def test_every_page_of_the_toc_was_built(book: Path) -> None:
    missing = [page for page in _pages() if not (book / page).is_file()]
    assert missing == []
