"""The portal's catalogue: every word its pages use exists in both languages, with the
same placeholders, and its Chinese pages hold no English words of the catalogue."""

from __future__ import annotations

import re
import string
from pathlib import Path

from arrears.web.portal.router import TEMPLATES
from arrears.web.portal.words import WORDS

LITERAL = re.compile(r"""\bw\(\s*['"]([a-z0-9_.]+)['"]\s*[,)]""")
ROUTER = Path(__file__).resolve().parents[2] / "src" / "arrears" / "web" / "portal"


def test_every_word_used_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used.update(LITERAL.findall(path.read_text(encoding="utf-8")))
    for path in ROUTER.glob("*.py"):
        used.update(re.findall(r"""\bt\(\s*['"]([a-z0-9_.]+)['"]""", path.read_text("utf-8")))
    assert sorted(k for k in used if k not in WORDS) == []


def test_both_languages_with_the_same_placeholders() -> None:
    for key, (en, zh) in WORDS.items():
        assert en.strip() and zh.strip(), key
        names = [{n for _, n, _, _ in string.Formatter().parse(text) if n} for text in (en, zh)]
        assert names[0] == names[1], key
