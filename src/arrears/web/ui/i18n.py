"""Language of the workbench pages: which one a request gets, and the translate function
the templates call.

The choice, strongest first: the signed-in user's own preference (the language toggle
changes it), then the ``arrears_lang`` cookie the toggle sets for visitors who are not
signed in (the login page), the browser's ``Accept-Language``, then Chinese (the
product's home market). Only ``zh_CN`` and ``en`` exist; anything else falls back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from arrears.web.ui.messages import MESSAGES

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
LANG_COOKIE = "arrears_lang"


def normalise_language(value: str | None) -> str | None:
    """``zh_CN`` for any Chinese tag (zh, zh-CN, zh_cn …), ``en`` for any English one,
    None for anything else."""
    if not value:
        return None
    tag = value.strip().lower().replace("-", "_")
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str) -> str | None:
    # "en-GB,en;q=0.9,zh;q=0.8": take the highest-q tag we know
    best: tuple[float, str] | None = None
    for part in header.split(","):
        pieces = part.strip().split(";")
        lang = normalise_language(pieces[0])
        if lang is None:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, number = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, lang)
    return best[1] if best else None


def request_language(request: Request, user_language: str | None = None) -> str:
    """The language this request is rendered in (see the module docstring)."""
    return (
        normalise_language(user_language)
        or normalise_language(request.cookies.get(LANG_COOKIE))
        or from_accept_language(request.headers.get("accept-language", ""))
        or DEFAULT_LANGUAGE
    )


def translator(language: str) -> Callable[..., str]:
    """``t(key, **values)``: the message in ``language``, formatted with ``values``.

    An unknown key comes back as the key itself, so a missing translation is visible on
    the page (and caught by the catalogue test) rather than an error page."""
    index = 1 if language == "zh_CN" else 0

    def t(key: str, **values: Any) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            return key
        text = pair[index]
        return text.format(**values) if values else text

    return t
