"""The UI message catalogue: every key a template asks for exists in both languages,
and the language negotiation picks what the module promises."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.requests import Request

from arrears.web.ui.i18n import LANG_COOKIE, request_language, translator
from arrears.web.ui.messages import MESSAGES
from arrears.web.ui.render import TEMPLATES_DIR, money

LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z0-9_.]+)['"]\s*[,)]""")
PYTHON_DIR = Path(__file__).resolve().parents[3] / "src" / "arrears" / "web" / "ui"


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*TEMPLATES_DIR.rglob("*.html"), *PYTHON_DIR.glob("*.py")]:
        if path.name == "messages.py":
            continue
        keys.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    return keys


def test_every_literal_key_in_templates_and_handlers_is_in_the_catalogue() -> None:
    missing = sorted(key for key in _used_keys() if key not in MESSAGES)
    assert missing == []


def test_every_message_has_an_english_and_a_chinese_text() -> None:
    empty = [key for key, (en, zh) in MESSAGES.items() if not en.strip() or not zh.strip()]
    assert empty == []
    # the Chinese side is really Chinese for the page titles (not a copy of English)
    for key in ("login.title", "queue.title", "approvals.title", "dashboard.title"):
        assert re.search(r"[\u4e00-\u9fff]", MESSAGES[key][1]), key


def test_placeholders_are_the_same_in_both_languages() -> None:
    field = re.compile(r"\{(\w+)")
    different = [
        key
        for key, (en, zh) in MESSAGES.items()
        if set(field.findall(en)) != set(field.findall(zh))
    ]
    assert different == []


def _request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_user_preference_beats_the_cookie_which_beats_the_browser() -> None:
    browser_en = {"accept-language": "en-GB,en;q=0.9"}
    assert request_language(_request(browser_en)) == "en"
    assert request_language(_request(browser_en), user_language="zh_CN") == "zh_CN"
    with_cookie = {**browser_en, "cookie": f"{LANG_COOKIE}=zh_CN"}
    assert request_language(_request(with_cookie)) == "zh_CN"
    assert request_language(_request(with_cookie), user_language="en") == "en"
    assert request_language(_request({"accept-language": "fr, zh;q=0.5"})) == "zh_CN"
    assert request_language(_request({})) == "zh_CN"


def test_translator_formats_values_and_shows_unknown_keys_as_themselves() -> None:
    assert translator("zh_CN")("team.transfer_done", count=3) == "已转移 3 个案件。"
    assert translator("en")("team.transfer_done", count=3) == "3 cases transferred."
    assert translator("en")("no.such.key") == "no.such.key"


def test_money_is_written_exactly_with_separators() -> None:
    from decimal import Decimal

    assert money(Decimal("1234567.5")) == "1,234,567.50"
    assert money(Decimal("-0.01")) == "-0.01"
    assert money(None) == ""
