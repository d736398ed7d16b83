"""The Chinese edition's checker (book/_ext/translation_check.py) and its catalogues.

The checker's unit tests: a correct translation passes, and each kind of slip a translator
makes (a formula dropped or altered, a number changed, a role's target or a link changed,
inline code dropped, the seed's words reworded, a glossary term missing, a fuzzy or empty
entry) fails with a message naming it. Then the catalogues themselves: every .po file under
locales/zh_CN passes, and says what its page says now (a one-page gettext extraction, compared
message by message). No book build is needed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

polib = pytest.importorskip("polib")

import editions  # book/_ext, on the path through tests/conftest.py
import execution_cache
import translation_check as tc

ROOT = Path(__file__).resolve().parents[1]

SOURCE = ("Gradient descent converges when $0 < \\alpha < 2/L$ (see {doc}`01_what_the_learning_rate_does` "
          "and {cite}`goyal2017`); the best rate here is {glue}`best_lr`, 3 times `sched(0)`, "
          "from [the paper](https://arxiv.org/abs/1706.02677). The seed says 学习率太小.")
GOOD = ("梯度下降在 $0 < \\alpha < 2/L$ 时收敛（见 {doc}`01_what_the_learning_rate_does` 和 "
        "{cite}`goyal2017`）；这里最好的学习率是 {glue}`best_lr`，是 `sched(0)` 的 3 倍，"
        "出自[该论文](https://arxiv.org/abs/1706.02677)。原笔记说 学习率太小。")
GLOSSARY = [tc.Term("learning rate", ("学习率",), must=True),
            tc.Term("gradient descent", ("梯度下降",), must=True),
            tc.Term("schedule", ("调度", "调整策略"), must=False)]


def errors(msgid: str, msgstr: str, **kwargs) -> list[str]:
    return tc.check_message(msgid, msgstr, glossary=GLOSSARY, **kwargs)[0]


def test_a_correct_translation_passes():
    assert errors(SOURCE, GOOD) == []


def test_the_tokens_of_a_message():
    found = tc.tokens(SOURCE)
    assert found[("maths", "$0 < \\alpha < 2/L$")] == 1
    assert found[("role", "{glue}`best_lr`")] == 1
    assert found[("role", "{doc}`01_what_the_learning_rate_does`")] == 1
    assert found[("code", "`sched(0)`")] == 1
    assert found[("link", "https://arxiv.org/abs/1706.02677")] == 1
    assert found[("number", "3")] == 1
    # the digits inside maths, roles, code and links are theirs, not the prose's numbers
    assert sum(c for (kind, _), c in found.items() if kind == "number") == 1


@pytest.mark.parametrize("slip, wrong, expected", [
    ("a dropped formula", GOOD.replace("$0 < \\alpha < 2/L$ ", ""), "maths '$0 < \\\\alpha < 2/L$' missing"),
    ("an altered formula", GOOD.replace("2/L", "2 / L"), "maths '$0 < \\\\alpha < 2 / L$' not in the source"),
    ("display maths dropped", None, "maths '$$x^2$$' missing"),
    ("an altered number", GOOD.replace("的 3 倍", "的 4 倍"), "number '3' missing"),
    ("a number written out", GOOD.replace("的 3 倍", "的三倍"), "number '3' missing"),
    ("a number added", GOOD.replace("这里", "这里的 2 个"), "number '2' not in the source"),
    ("a changed glue key", GOOD.replace("{glue}`best_lr`", "{glue}`best_rate`"), "role '{glue}`best_lr`' missing"),
    ("a changed doc target", GOOD.replace("01_what_the_learning_rate_does", "02_adjusting_over_time"),
     "role '{doc}`01_what_the_learning_rate_does`' missing"),
    ("a changed cite key", GOOD.replace("goyal2017", "goyal2018"), "role '{cite}`goyal2018`' not in the source"),
    ("a role turned into code", GOOD.replace("{glue}`best_lr`", "`best_lr`"), "role '{glue}`best_lr`' missing"),
    ("a changed link", GOOD.replace("1706.02677", "1706.02678"), "link 'https://arxiv.org/abs/1706.02677' missing"),
    ("dropped inline code", GOOD.replace("`sched(0)` 的", "它的"), "code '`sched(0)`' missing"),
    ("the seed's words reworded", GOOD.replace("学习率太小", "学习率过小"),
     "the seed's words '学习率太小' not quoted as the seed wrote them"),
    ("a must term missing", GOOD.replace("梯度下降", "GD"), "glossary: 'gradient descent' without 梯度下降"),
])
def test_each_slip_fails(slip, wrong, expected):
    if wrong is None:  # display maths: a message of its own
        source, wrong = "The update is $$x^2$$ here, 2 times.", "更新是 $x^2$，2 次。"
    else:
        source = SOURCE
    found = errors(source, wrong)
    assert any(expected in e for e in found), (slip, found)


def test_a_number_in_scientific_notation_is_one_number():
    assert tc.tokens("about 9.1e-15 here")[("number", "9.1e-15")] == 1
    assert "number '9.1e-15' missing" in errors("The difference is 9.1e-15.", "差为 9.2e-15。")[0]


@pytest.mark.parametrize("message, expected", [
    ("$T$", True), ("`Constant`", True), ("9.1e-15", True), ("1000", True),
    ("$\\beta,\\ \\beta_1$", True), ("{glue}`best_lr`", True),
    ("`lr` is $\\alpha_0$.", False), ("Adam", False), ("学习率", False),
])
def test_a_message_with_nothing_to_translate(message, expected):
    """Such messages stay out of the catalogues (book/_ext/editions.py), as display maths does."""
    assert tc.nothing_to_translate(message) is expected


def test_a_titled_role_may_translate_its_title_not_its_target():
    source = "See {doc}`the first chapter <01_what_the_learning_rate_does>`."
    assert errors(source, "见 {doc}`第一章 <01_what_the_learning_rate_does>`。") == []
    assert errors(source, "见 {doc}`第一章 <02_adjusting_over_time>`。") != []


def test_a_docstring_s_rest_role_is_written_as_the_myst_role():
    """Sphinx parses a translated message with the page's parser (MyST): an autodoc docstring's
    :func:`x` kept as it is renders as text and loses its link (Sphinx warns 'inconsistent term
    references', which fails a -W build: 168 times in the first full Chinese build)."""
    source = "Check a rate: a :func:`hyperparameter` >= 0, or :math:`\\alpha_t`."
    assert errors(source, "检查学习率：一个 >= 0 的 {func}`hyperparameter`，或 {math}`\\alpha_t`。") == []
    found = errors(source, "检查学习率：一个 >= 0 的 :func:`hyperparameter`，或 {math}`\\alpha_t`。")
    assert any("write it as the MyST role" in e for e in found), found


def test_emphasis_that_commonmark_would_not_take_fails():
    """Seen in the Chinese build of chapter 7: '**无调度（schedule-free）**优化器' showed its asterisks."""
    source = "**Schedule-free** optimizers replace the decay."
    found = errors(source, "**无调度（schedule-free）**优化器用平均代替衰减。")
    assert any("emphasis '）**优'" in e for e in found), found
    assert errors(source, "**无调度**（schedule-free）优化器用平均代替衰减。") == []
    assert errors("**SGD.** From here.", "**SGD。** 从这里开始。") == []
    assert errors("**SGD.** From here.", "**SGD。**从这里开始。") != []


def test_a_fuzzy_or_empty_message_fails():
    assert errors(SOURCE, GOOD, fuzzy=True)[0].startswith("fuzzy")
    assert errors(SOURCE, "") == ["not translated"]
    assert errors(SOURCE, "   ") == ["not translated"]


def test_a_hint_term_is_reported_not_failed():
    source = "Each schedule of the package."
    errs, hints = tc.check_message(source, "本包的每一个学习率函数。", glossary=GLOSSARY)
    assert errs == [] and hints == ["glossary: 'schedule' without 调度 / 调整策略"]
    # a plural matches the term; a term inside code or maths does not count
    assert tc.check_message("Two learning rates.", "两个步长。", glossary=GLOSSARY)[0]
    assert not tc.check_message("Set `learning rate` here.", "在这里设置 `learning rate`。", glossary=GLOSSARY)[0]


def test_a_catalogue_counts_fuzzy_empty_and_obsolete_entries(tmp_path):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=utf-8"}
    po.append(polib.POEntry(msgid=SOURCE, msgstr=GOOD))
    po.append(polib.POEntry(msgid="The learning rate.", msgstr="学习率。", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Gradient descent.", msgstr=""))
    po.append(polib.POEntry(msgid="Removed.", msgstr="已删除。", obsolete=True))
    path = tmp_path / "page.po"
    po.save(str(path))
    report = tc.check_catalogue(path, GLOSSARY)
    assert (report.messages, report.translated) == (3, 1)
    assert not report.ok and len(report.errors) == 2
    assert tc.main([str(path)]) == 1


def test_the_glossary():
    terms = tc.read_glossary()
    assert 60 <= len(terms) <= 150
    english = [t.english.lower() for t in terms]
    assert len(set(english)) == len(english), "a term listed twice"
    by_term = {t.english: t for t in terms}
    # the seed's own vocabulary, as the seed writes it (/work/shared/seed)
    for en, zh in [("learning rate", "学习率"), ("learning rate decay", "学习率衰减"),
                   ("adaptive learning rate", "自适应学习率"), ("warm restart", "热重启"),
                   ("gradient clipping", "梯度裁剪"), ("fine-tuning", "微调")]:
        assert zh in by_term[en].chinese and by_term[en].must
    assert all(t.note for t in terms), "every term says where its Chinese comes from"


CATALOGUES = tc.catalogues()


@pytest.mark.parametrize("po", CATALOGUES, ids=[str(p.relative_to(tc.CATALOGUES)) for p in CATALOGUES])
def test_every_catalogue_passes_the_checker(po):
    report = tc.check_catalogue(po)
    assert report.ok, "\n".join([f"{po}: {len(report.errors)} errors", *report.errors])


def _page(po: Path) -> str:
    return str(po.relative_to(tc.CATALOGUES).with_suffix(""))


@pytest.mark.slow
def test_every_catalogue_says_what_its_page_says(tmp_path):
    """A change to a page's English text fails here until ``sphinx-intl update`` and a translator ran.

    Extracts the messages of the translated pages again (Sphinx's gettext builder, those pages
    only) and compares them with the catalogues. The notebooks are read without their outputs
    (no kernel, no execution cache: 25 s for all 28 pages here, 2,410 messages), so this checks
    the text of the pages, the markdown cells; the messages of outputs (the docstrings that
    ``show_doc`` prints) are checked by the next ``make translations``.
    """
    pages = [_page(po) for po in CATALOGUES]
    if not pages:
        pytest.skip("no catalogue yet")
    result = subprocess.run([sys.executable, str(ROOT / "book" / "_ext" / "editions.py"), "extract",
                             "--pot", str(tmp_path / "pot"), "--no-update", "--no-execute", *pages],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for po in CATALOGUES:
        pot = polib.pofile(str(tmp_path / "pot" / f"{_page(po)}.pot"))
        known = {e.msgid for e in polib.pofile(str(po)) if not e.obsolete}
        new = [e.msgid for e in pot if e.msgid and e.msgid not in known]
        assert not new, (f"{po.name}: {len(new)} messages of the page are not in its catalogue; run "
                         f"`make translations`, translate them, then this test:\n" + "\n".join(new[:5]))


def test_every_page_has_a_catalogue():
    missing = [page for page in execution_cache.toc_files()
               if not (tc.CATALOGUES / f"{page}.po").is_file()]
    assert not missing, f"{len(missing)} pages without a translation: {missing}"


@pytest.mark.parametrize("page, language, url", [
    ("book/intro", "en", "../zh/book/intro.html"),
    ("book/intro", "zh_CN", "../../book/intro.html"),
    ("book/reference/api/numpy", "en", "../../../zh/book/reference/api/numpy.html"),
    ("book/reference/api/numpy", "zh_CN", "../../../../book/reference/api/numpy.html"),
    ("index", "zh-CN", "../index.html"),
])
def test_the_link_to_the_other_edition(page, language, url):
    assert editions.other_edition_url(page, language) == url
    assert (editions.TEMPLATES / editions.HEADER_ITEM).is_file()


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, 'book/_ext'); {code}"],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.mark.slow
def test_a_translated_notebook_keeps_its_glued_numbers(tmp_path):
    """Sphinx parses each translation as a document of its own, where myst-nb's glue roles find no
    notebook: editions.py hands them the page's. A one-page Chinese build of the schedules reference
    with one glued message translated (its outputs from the execution cache; 15 s here)."""
    page = "book/reference/schedules"
    result = _run(f"import editions; sys.exit(editions.extract([{page!r}], {str(tmp_path / 'pot')!r}, update=False))")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    pot = polib.pofile(str(tmp_path / "pot" / f"{page}.pot"))
    glued = next(e for e in pot if e.msgid.count("{glue}") >= 2)
    glued.msgstr = "测试译文：" + glued.msgid
    po = tmp_path / "locales" / "zh_CN" / "LC_MESSAGES" / f"{page}.po"
    po.parent.mkdir(parents=True)
    pot.save(str(po))
    out = tmp_path / "zh"
    result = _run(f"import editions; from pathlib import Path; sys.exit(editions.sphinx('html', Path({str(out / 'html')!r}), "
                  f"Path({str(out / '.doctrees')!r}), {{'language': 'zh_CN', 'locale_dirs': [{str(tmp_path / 'locales')!r}]}}, "
                  f"[{page!r}]))")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "found in glue data" not in result.stdout + result.stderr
    html = (out / "html" / f"{page}.html").read_text(encoding="utf-8")
    start = html.index("测试译文：")
    paragraph = html[start:html.index("</p>", start)]
    values = paragraph.count('<span class="output text_plain">')
    assert values == glued.msgid.count("{glue}"), paragraph
    assert "{glue}" not in paragraph


def test_coverage_counts_the_translated_messages_of_each_page(tmp_path):
    pot, po = polib.POFile(), polib.POFile()
    for msgid in ["One.", "Two.", "Three."]:
        pot.append(polib.POEntry(msgid=msgid))
    po.append(polib.POEntry(msgid="One.", msgstr="一。"))
    po.append(polib.POEntry(msgid="Two.", msgstr="二。", flags=["fuzzy"]))
    (tmp_path / "pot" / "book").mkdir(parents=True)
    (tmp_path / "po" / "book").mkdir(parents=True)
    pot.save(str(tmp_path / "pot" / "book" / "a.pot"))
    pot.save(str(tmp_path / "pot" / "book" / "b.pot"))
    po.save(str(tmp_path / "po" / "book" / "a.po"))
    assert tc.coverage(tmp_path / "pot", tmp_path / "po") == [("book/a", 3, 1), ("book/b", 3, 0)]


def test_a_brace_group_in_rest_maths_is_no_role():
    # A docstring's :math:`\theta_{t+1}` or \texttt{size} holds braces before a backtick: read as
    # a MyST role, its "content" would run on into the English prose up to the next backtick, and no
    # translation could keep it. A role after a CJK character is still a role.
    source = (r"The step :math:`d_{t+1}` is the estimate, :math:`v = (r, c) / \texttt{size}` the "
              r"coordinates and :func:`fourier_features` the features.")
    good = (r"步长 {math}`d_{t+1}` 是估计值，{math}`v = (r, c) / \texttt{size}` 是坐标，"
            r"{func}`fourier_features` 是特征。")
    assert errors(source, good) == []
    assert errors(source, good.replace(r"d_{t+1}", r"d_{t}"))  # the maths changed: still caught
    assert ("role", "{glue}`x`") in tc.tokens("学习率{glue}`x`")
