"""Check the Chinese edition's catalogues: every translation says what its source says.

A translated message must keep, identical and as many times as its source has them:

- **maths**: ``$$…$$``, ``$…$``, ``\\(…\\)``, ``\\[…\\]``;
- **MyST roles** (``{glue}`key```, ``{doc}`page```, ``{cite}`key```, ``{ref}`label```, …): the
  role's name and its target; a role with an explicit title (``{doc}`Title <page>```) may
  translate the title, not the target. A reST role of a docstring (``:func:`x```, on the API
  pages) is written as the MyST role (``{func}`x```) in the translation: Sphinx parses every
  translated message as the page's MyST, where the reST form is plain text;
- **inline code** (`` `x` ``), **substitutions** (``{{ key }}``);
- **links**: each Markdown link's target (``[text](target)``), each ``<url>`` and bare URL;
- **numbers** in the prose (ASCII digits, ``5,061``, ``0.25``): a number dropped, changed or
  added is an error (write ``2`` as ``2``, not as 两 or ２);
- **the seed's Chinese** (runs of CJK characters in the English source): quoted as the seed
  wrote them.

Every message must be translated (no empty ``msgstr``) and not fuzzy: a change to the English
text makes ``sphinx-intl update`` mark its message fuzzy or new, and the check fails until a
translator has looked at it.

**The glossary** (``locales/zh_CN/glossary.tsv``: English term, 中文, check, note) is the
vocabulary every translation follows. Where a message's source uses a term, its translation
should use the term's Chinese (one of the ``/``-separated forms). A term whose check column
says ``must`` (the seed's own vocabulary, such as learning rate → 学习率, and the book's fixed
phrases) fails the check when its Chinese is missing; a term marked ``hint`` is only
reported, because those English words have more than one sense (a *schedule* of work, a
*step* of an argument, the *seed* note and a random seed) and a good sentence sometimes refers
back with a pronoun instead of repeating a term.

Command line: ``python book/_ext/translation_check.py [PO ...]`` (default: every catalogue
under ``locales/zh_CN/LC_MESSAGES``); exit status 1 on any error. ``--hints`` also lists the
glossary hints. It reads the catalogues with polib.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locales" / "zh_CN"
CATALOGUES = LOCALE / "LC_MESSAGES"
GLOSSARY = LOCALE / "glossary.tsv"

# The kinds of tokens that pass through a translation unchanged, in the order they are cut
# out of a message (a role's backticks are not inline code; a dollar inside code is not maths).
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("maths", re.compile(r"\$\$.+?\$\$", re.S)),
    # a MyST role; not a brace group of reST maths such as :math:`\theta_{t+1}` or \texttt{size}
    # (a role never follows an ASCII letter, a digit, _, ^ or \; a CJK character before one is fine)
    ("role", re.compile(r"(?<![A-Za-z0-9_^\\])\{([A-Za-z][\w:+.-]*)\}(`+)(.+?)\2", re.S)),
    # a reST role, as autodoc's docstrings write them (:func:`x`): in a translation it must be
    # written as the MyST role ({func}`x`), because Sphinx parses every translated message with
    # the page's parser, MyST, where a reST role is plain text (and its link is lost)
    ("rest-role", re.compile(r"(?<![\w`]):([A-Za-z][\w+.-]*(?::[A-Za-z][\w+.-]*)?):(`+)(.+?)\2", re.S)),
    ("code", re.compile(r"(`+)(.+?)\1", re.S)),
    ("maths", re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]", re.S)),
    ("maths", re.compile(r"(?<![\\$])\$(?![\s$])[^$]*?(?<![\s\\])\$(?!\$)", re.S)),
    ("substitution", re.compile(r"\{\{.+?\}\}", re.S)),
    ("link", re.compile(r"\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")),
    ("link", re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")),
    ("link", re.compile(r"(?:https?://|www\.)[^\s<>()\]]+[^\s<>()\].,;:!?'\"，。；：！？」』）]")),
]
# ASCII digits, not preceded by a Latin letter, digit or point (a CJK character before one is fine).
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff"
                  r"\uf900-\ufaff\uff00-\uffef]*")
_ROLE_TITLE = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)


def tokens(text: str) -> Counter[tuple[str, str]]:
    """The tokens of ``text`` that a translation keeps: ``(kind, text)`` with their counts.

    >>> sorted(tokens("Set $\\\\alpha$ to {glue}`best_lr` (see {doc}`the chapter <01_intro>`), 3 times.").elements())
    [('maths', '$\\\\alpha$'), ('number', '3'), ('role', '{doc}`…<01_intro>`'), ('role', '{glue}`best_lr`')]
    """
    return _cut(text)[0]


def prose(text: str) -> str:
    """``text`` without its maths, roles, code, substitutions and links: where glossary terms count."""
    return _cut(text)[1]


def _cut(text: str, rest_roles: str = "role") -> tuple[Counter[tuple[str, str]], str]:
    # rest_roles: the kind a reST role counts as (a role in a source, a slip in a translation)
    found: Counter[tuple[str, str]] = Counter()
    rest = text
    for kind, pattern in _PATTERNS:
        def cut(match: re.Match[str], kind: str = kind) -> str:
            found[(rest_roles if kind == "rest-role" else kind, _canonical(kind, match))] += 1
            return " "
        rest = pattern.sub(cut, rest)
    for number in _NUMBER.findall(rest):
        found[("number", number)] += 1
    return found, rest


def _canonical(kind: str, match: re.Match[str]) -> str:
    if kind in ("role", "rest-role"):
        name, content = match.group(1), match.group(3)
        titled = _ROLE_TITLE.match(content)
        if titled:  # {doc}`Title <target>`: the title may be translated, the target may not
            return f"{{{name}}}`…<{titled.group(2)}>`"
        return f"{{{name}}}`{content}`"
    if kind == "link" and match.groups():
        return match.group(1)
    return match.group(0)


def nothing_to_translate(text: str) -> bool:
    """Whether ``text`` is only maths, code, roles, links and numbers (a table cell ``$T$`` or
    ``9.1e-15``, a heading `` `Constant` ``): its translation is itself, and
    ``book/_ext/editions.py`` keeps it out of the catalogues.

    >>> nothing_to_translate("`Constant`"), nothing_to_translate("$m_t,\\ v_t$"), nothing_to_translate("`lr` is $\\alpha_0$.")
    (True, True, False)
    """
    rest = _NUMBER.sub(" ", prose(text))
    return not re.search(r"[^\W\d_]", rest)


# CommonMark's emphasis rules: a closing ** (or *) right after punctuation closes only before a
# space or punctuation, an opening one right before punctuation opens only after one. Chinese
# has no spaces: "**无调度（schedule-free）**优化器" shows its asterisks (seen in the Chinese build).
_PUNCTUATION = r"""（）「」『』“”‘’《》【】，。：；！？、…()\[\]"'.,:;!?"""
_STUCK_EMPHASIS = re.compile(rf"(?<=[{_PUNCTUATION}])(\*\*?)(?=[^\W_])|(?<=[^\W_])(\*\*?)(?=[{_PUNCTUATION}])")


def stuck_emphasis(msgstr: str) -> list[str]:
    """The places in a translation where CommonMark would not take ``**`` (or ``*``) as emphasis.

    >>> stuck_emphasis("**无调度（schedule-free）**优化器"), stuck_emphasis("**自学者**：知道")
    (['）**优'], [])
    """
    rest = prose(msgstr)
    found = []
    for match in _STUCK_EMPHASIS.finditer(rest):
        delimiter = match.group(1) or match.group(2)
        before, after = rest[match.start() - 1], rest[match.end()] if match.end() < len(rest) else ""
        # a delimiter between a letter and punctuation is fine where it opens after the letter's
        # word ended with the punctuation's pair ("学习率**：" closes); flag only the two failing cases
        if match.group(1) and _closes_emphasis(rest, match.start()):
            found.append(f"{before}{delimiter}{after}")
        elif match.group(2) and _opens_emphasis(rest, match.end()):
            found.append(f"{before}{delimiter}{after}")
    return found


def _closes_emphasis(text: str, at: int) -> bool:
    # the delimiter at `at` follows punctuation: it was meant to close if an opening one precedes it
    return text[:at].count("**") % 2 == 1 if text[at:at + 2] == "**" else text[:at].count("*") % 2 == 1


def _opens_emphasis(text: str, end: int) -> bool:
    start = end - (2 if text[end - 2:end] == "**" else 1)
    return text[:start].count(text[start:end]) % 2 == 0


def seed_chinese(text: str) -> Counter[str]:
    """The runs of Chinese characters in an English message (the seed's words, quoted)."""
    return Counter(m for m in _CJK.findall(text) if len(m) >= 2)


@dataclass(frozen=True)
class Term:
    english: str
    chinese: tuple[str, ...]
    must: bool
    note: str = ""

    @property
    def pattern(self) -> re.Pattern[str]:
        words = [re.escape(w) for w in self.english.split()]
        words[-1] += r"(?:s|es)?"  # the plural of the last word
        return re.compile(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?![\w-])", re.I)


def read_glossary(path: Path = GLOSSARY) -> list[Term]:
    """The glossary's terms (a tab-separated file with a header line)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    terms = []
    for row in rows:
        check = row["check"].strip()
        if check not in {"must", "hint"}:
            raise ValueError(f"{path}: the check of {row['english']!r} is {check!r}, not 'must' or 'hint'")
        terms.append(Term(row["english"].strip(), tuple(c.strip() for c in row["chinese"].split("/")),
                          check == "must", row.get("note", "").strip()))
    return terms


@dataclass
class Report:
    """What the check found in one catalogue."""

    path: Path
    messages: int = 0
    translated: int = 0
    errors: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _difference(kind: str, source: Counter, translation: Counter) -> list[str]:
    problems = []
    for token, count in sorted((source - translation).items()):
        problems.append(f"{kind} {token!r} missing" + (f" ({count}x)" if count > 1 else ""))
    for token, count in sorted((translation - source).items()):
        problems.append(f"{kind} {token!r} not in the source" + (f" ({count}x)" if count > 1 else ""))
    return problems


def check_message(msgid: str, msgstr: str, *, fuzzy: bool = False,
                  glossary: Iterable[Term] = ()) -> tuple[list[str], list[str]]:
    """Check one message: ``(errors, hints)``, each a list of sentences (empty when all is well)."""
    if not msgstr.strip():
        return ["not translated"], []
    errors = ["fuzzy (the source changed: check the translation, then remove the flag)"] if fuzzy else []
    source, translation = tokens(msgid), _cut(msgstr, rest_roles="rest-role")[0]
    for role, count in sorted(Counter({t: c for (k, t), c in translation.items() if k == "rest-role"}).items()):
        name, _, content = role[1:].partition("}")
        errors.append(f"reST role :{name}:{content} in the translation: write it as the MyST role {role} "
                      f"(Sphinx parses a translation as the page's MyST)")
    for kind in ("maths", "role", "code", "substitution", "link", "number"):
        errors += _difference(kind, Counter({t: c for (k, t), c in source.items() if k == kind}),
                              Counter({t: c for (k, t), c in translation.items() if k == kind}))
    for place in stuck_emphasis(msgstr):
        errors.append(f"emphasis {place!r} not taken as such (CommonMark): put the punctuation outside "
                      f"the asterisks, or a space outside them")
    for quote in seed_chinese(msgid) - seed_chinese(msgstr):
        if quote not in msgstr:
            errors.append(f"the seed's words {quote!r} not quoted as the seed wrote them")
    hints = []
    words = prose(msgid)
    for term in glossary:
        if term.pattern.search(words) and not any(c in msgstr for c in term.chinese):
            sentence = f"'{term.english}' without {' / '.join(term.chinese)}"
            (errors if term.must else hints).append(f"glossary: {sentence}")
    return errors, hints


def check_catalogue(path: Path, glossary: Iterable[Term] | None = None) -> Report:
    """Check every message of one .po file (obsolete entries, ``#~``, are ignored)."""
    import polib

    glossary = read_glossary() if glossary is None and GLOSSARY.exists() else list(glossary or [])
    report = Report(Path(path))
    for entry in polib.pofile(str(path)):
        if entry.obsolete or not entry.msgid:
            continue
        report.messages += 1
        errors, hints = check_message(entry.msgid, entry.msgstr, fuzzy="fuzzy" in entry.flags,
                                      glossary=glossary)
        if entry.msgstr.strip() and "fuzzy" not in entry.flags:
            report.translated += 1
        where = f"{_short(entry.msgid)!r}"
        report.errors += [f"{where}: {e}" for e in errors]
        report.hints += [f"{where}: {h}" for h in hints]
    return report


def catalogues(root: Path = CATALOGUES) -> list[Path]:
    """Every .po file of the Chinese edition."""
    return sorted(root.rglob("*.po")) if root.is_dir() else []


def coverage(pot_dir: Path, root: Path = CATALOGUES) -> list[tuple[str, int, int]]:
    """Per page of a gettext extraction: ``(page, messages in its .pot, of those translated)``.

    A message counts as translated when the page's .po has it with a non-empty, non-fuzzy
    ``msgstr``; a page without a .po has none translated.
    """
    import polib

    rows = []
    for pot in sorted(Path(pot_dir).rglob("*.pot")):
        page = str(pot.relative_to(pot_dir).with_suffix(""))
        messages = [e.msgid for e in polib.pofile(str(pot)) if e.msgid]
        po = root / f"{page}.po"
        done = {e.msgid for e in polib.pofile(str(po)) if not e.obsolete and e.msgstr.strip()
                and "fuzzy" not in e.flags} if po.is_file() else set()
        rows.append((page, len(messages), sum(m in done for m in messages)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("po", nargs="*", type=Path, help=f"default: every .po under {CATALOGUES.relative_to(ROOT)}")
    parser.add_argument("--hints", action="store_true", help="list the glossary hints too")
    parser.add_argument("--coverage", type=Path, metavar="POT_DIR",
                        help="instead: per page, the messages of a gettext extraction and how many are translated")
    args = parser.parse_args(argv)
    if args.coverage:
        rows = coverage(args.coverage)
        for page, total, done in rows:
            print(f"{done:5d} / {total:5d}  {page}")
        print(f"{sum(r[2] for r in rows)} / {sum(r[1] for r in rows)} messages translated, "
              f"{sum(r[2] == r[1] for r in rows)} of {len(rows)} pages complete")
        return 0
    paths = args.po or catalogues()
    glossary = read_glossary() if GLOSSARY.exists() else []
    total = translated = failed = 0
    for path in paths:
        report = check_catalogue(path, glossary)
        total += report.messages
        translated += report.translated
        failed += not report.ok
        name = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        print(f"{'ok  ' if report.ok else 'FAIL'} {name}: {report.translated}/{report.messages} translated, "
              f"{len(report.errors)} errors, {len(report.hints)} glossary hints")
        for line in report.errors + (report.hints if args.hints else []):
            print(f"     {line}")
    print(f"{len(paths)} catalogues, {translated}/{total} messages translated, {failed} failing; "
          f"glossary of {len(glossary)} terms")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
