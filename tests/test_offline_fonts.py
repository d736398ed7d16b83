"""The book's CJK web font (book/_ext/offline_assets.py): which characters, the subset, the stylesheet.

The English pages quote the seed in Chinese; on a machine without a CJK font those characters
render as empty boxes unless the book serves its own font. These tests check the pieces without
a Sphinx build: the characters found in the pages, the ``unicode-range`` written for them, the
WOFF2 subset cut from the npm package, and the stylesheet that names it (files that exist, no
remote URL, the theme's Latin fonts first). tests/test_book_browser.py checks the built pages
in Chromium: the face loaded, and the quotes' glyphs drawn.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sphinx.errors import ExtensionError

import offline_assets  # book/_ext, on the path through tests/conftest.py
from offline_assets import CJK_FAMILY, cjk_characters, font_face_css, subset_font, unicode_range

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "node_modules" / offline_assets.CJK_PACKAGE
SOURCE = PACKAGE / offline_assets.CJK_SOURCE.format(weight=400)

needs_font = pytest.mark.skipif(not SOURCE.is_file(), reason="the npm packages are not installed (npm ci)")


def _book_sources() -> list[str]:
    """The text of the book's pages (notebooks and Markdown), as committed."""
    paths = sorted(p for p in (ROOT / "book").rglob("*") if p.suffix in (".ipynb", ".md") and "_build" not in p.parts)
    return [p.read_text(encoding="utf-8") for p in paths]


def _parse_range(text: str) -> set[str]:
    chars: set[str] = set()
    for span in text.split(","):
        lo, _, hi = span.removeprefix("U+").partition("-")
        chars.update(chr(c) for c in range(int(lo, 16), int(hi or lo, 16) + 1))
    return chars


def test_the_seeds_characters_are_found_and_latin_is_not() -> None:
    chars = cjk_characters(_book_sources())
    assert {"学", "习", "率", "梯", "度", "，", "。", "（", "）", "、"} <= chars  # the seed's words and punctuation
    latin = "".join(chr(c) for c in range(0x20, 0x250)) + "“”‘’…–—·×≤≥αβγ∑√"
    assert cjk_characters([latin]) == set()


def test_characters_hidden_in_entities_and_json_escapes_are_found() -> None:
    # An explorer's widget state is JSON in a <script>: json.dumps writes 学 as \u5b66.
    state = json.dumps({"description": "学习率"})
    assert "\\u5b66" in state
    assert cjk_characters([state]) == {"学", "习", "率"}
    assert cjk_characters(["&#x5b66;&#20064;"]) == {"学", "习"}


def test_unicode_range_merges_consecutive_code_points() -> None:
    assert unicode_range("丁一七") == "U+4e00-4e01,U+4e03"
    assert unicode_range("学") == "U+5b66"
    assert unicode_range("") == ""


@given(st.sets(st.characters(min_codepoint=0x3000, max_codepoint=0x9FFF), min_size=1, max_size=60))
def test_unicode_range_lists_exactly_the_characters(chars: set[str]) -> None:
    assert _parse_range(unicode_range(chars)) == chars


@needs_font
def test_the_subset_covers_the_books_characters_and_no_latin(tmp_path: Path) -> None:
    from fontTools.ttLib import TTFont

    chars = cjk_characters(_book_sources())
    dest = tmp_path / "cjk.woff2"
    subset_font(SOURCE, chars, dest)
    font = TTFont(dest)
    assert font.flavor == "woff2"
    cmap = set(font.getBestCmap())
    assert {ord(c) for c in chars} <= cmap
    assert cmap <= {ord(c) for c in chars}, "the subset draws characters the pages do not have"
    # A few hundred characters: tens of kilobytes, where the package's whole file is over a megabyte.
    assert dest.stat().st_size < 400 * len(chars), dest.stat().st_size
    assert dest.stat().st_size < SOURCE.stat().st_size / 5


@needs_font
def test_a_character_the_font_lacks_is_named(tmp_path: Path) -> None:
    rare = "\U0002a6d6"  # an Extension B ideograph, not among the package's simplified-Chinese glyphs
    with pytest.raises(ExtensionError, match="U\\+2A6D6"):
        subset_font(SOURCE, {"学", rare}, tmp_path / "x.woff2")


def _fake_app(tmp_path: Path, pages: dict[str, str]) -> SimpleNamespace:
    """What _write_cjk_font reads from Sphinx: the output folder, the source folder, the pages' names."""
    outdir = tmp_path / "html"
    outdir.mkdir(exist_ok=True)
    for name, text in pages.items():
        (outdir / f"{name}.html").write_text(text, encoding="utf-8")
    return SimpleNamespace(
        outdir=str(outdir), srcdir=str(ROOT / "book"),
        env=SimpleNamespace(found_docs=set(pages)),
        builder=SimpleNamespace(get_outfilename=lambda doc: str(outdir / f"{doc}.html"), format="html"),
    )


def _stylesheet(app: SimpleNamespace) -> tuple[Path, str]:
    css = Path(app.outdir) / "_static" / offline_assets.CJK_CSS
    return css, css.read_text(encoding="utf-8")


@needs_font
def test_the_stylesheet_names_files_that_exist_and_nothing_remote(tmp_path: Path) -> None:
    app = _fake_app(tmp_path, {"a": "<p>学习率 <em>the learning rate</em></p>", "b": "<p>梯度，</p>"})
    offline_assets._write_cjk_font(app)
    css, text = _stylesheet(app)
    urls = re.findall(r"url\(\"?([^\")]+)\"?\)", text)
    assert urls and all((css.parent / url).is_file() for url in urls), urls
    assert not re.search(r"https?:|//", text.replace("/*", "").replace("*/", "")), "the stylesheet names a remote URL"
    ranges = re.findall(r"unicode-range: ([^;]+);", text)
    assert [_parse_range(r) for r in ranges] == [set("学习率梯度，")] * len(offline_assets.CJK_WEIGHTS)
    assert f'font-family: "{CJK_FAMILY}"' in text

    # Unchanged characters: the font is not cut again. A new character: a new file, the old one gone.
    font = css.parent / urls[0]
    mtime = font.stat().st_mtime_ns
    offline_assets._write_cjk_font(app)
    assert font.stat().st_mtime_ns == mtime
    app = _fake_app(tmp_path, {"a": "<p>学习率</p>", "b": "<p>梯度，</p>", "c": "<p>衰减</p>"})
    offline_assets._write_cjk_font(app)
    _, text = _stylesheet(app)
    assert not font.exists()
    assert [p.name for p in css.parent.glob("*.woff2")] == re.findall(r"url\(\"?([^\")]+)\"?\)", text)


@needs_font
def test_a_book_without_cjk_gets_the_stacks_and_no_font(tmp_path: Path) -> None:
    app = _fake_app(tmp_path, {"a": "<p>学习率</p>"})
    offline_assets._write_cjk_font(app)
    app = _fake_app(tmp_path, {"a": "<p>the learning rate</p>"})  # the same page, its quote gone
    offline_assets._write_cjk_font(app)
    css, text = _stylesheet(app)
    assert "@font-face" not in text and "--pst-font-family-base-system" in text
    assert list(css.parent.glob("*.woff2")) == []


def _theme_stacks() -> dict[str, str]:
    import pydata_sphinx_theme

    css = (Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "styles"
           / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    return {name: re.search(re.escape(name) + r":([^;]+);", css).group(1) for name in offline_assets.CJK_STACKS}


def test_the_stacks_are_the_themes_with_the_cjk_face_in_front() -> None:
    """Latin text keeps its fonts: without the CJK face, each stack is the installed theme's own."""
    theme = _theme_stacks()
    for name, stack in offline_assets.CJK_STACKS.items():
        families = stack.split(",")
        assert families[0] == f'"{CJK_FAMILY}"', stack
        assert ",".join(families[1:]) == theme[name], (name, theme[name])


def test_the_face_draws_no_latin_character() -> None:
    """In front of the stacks, the face is skipped for every character outside its unicode-range."""
    chars = cjk_characters(_book_sources())
    covered = _parse_range(re.search(r"unicode-range: ([^;]+);", font_face_css(chars, {400: "f.woff2"})).group(1))
    assert covered == chars
    assert not any(ord(c) < 0x2E80 for c in covered)


def test_the_stylesheet_face_and_stacks_agree() -> None:
    text = font_face_css("学", {400: "f.woff2"})
    assert text.count("@font-face") == 1 and 'src: url("f.woff2") format("woff2")' in text
    for name, stack in offline_assets.CJK_STACKS.items():
        assert f"{name}: {stack};" in text


def test_a_missing_font_package_says_to_run_npm_ci(tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    for src, _, _ in offline_assets._COPIES:
        if not src.startswith(offline_assets.CJK_PACKAGE):
            (modules / src).mkdir(parents=True)
    app = SimpleNamespace(srcdir=str(tmp_path))
    with pytest.raises(ExtensionError, match=r"@fontsource/noto-sans-sc.*npm ci"):
        offline_assets._check_installed(app)
