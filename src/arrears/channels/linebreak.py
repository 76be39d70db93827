"""Line breaking for letters in Chinese and English (PDF), by the usual rules of
Chinese typesetting: a line may break between any two Chinese characters and between
Chinese and Latin text, never inside a number, a word or a link that fits on a line;
closing punctuation (，。、）》 …) never starts a line and opening punctuation (（《 …)
never ends one (避头尾). Spaces are break points too and are dropped at a line's end.

fpdf2 breaks only at spaces (a run of Chinese counts as one long word, cut wherever
the line is full, numbers and dates included) or anywhere at all; hence this.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

# may not start a line: closing brackets and quotes, sentence and clause punctuation
NO_START = frozenset("，。、；：！？）】』」》〉’”％%‰…—～·,.;:!?)]}")
# may not end a line: opening brackets and quotes
NO_END = frozenset("（【『「《〈‘“([{")
# units of a number stay with it: 2026年, 15日, 3期
NUMBER_UNITS = frozenset("年月日时分秒号元角万亿期笔天")


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def units(text: str) -> list[str]:
    """``text`` cut where a line may break: each Chinese character on its own, each
    run of Latin letters, digits and symbols together, each space alone; punctuation
    that may not start (end) a line is kept with the unit before (after) it, and the
    unit of a number (年, 日 …) with the number."""
    out: list[str] = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
            continue
        last = out[-1] if out and out[-1] != " " else ""
        glue = bool(last) and (
            ch in NO_START
            or last[-1] in NO_END
            or (not _wide(ch) and not _wide(last[-1]))
            or (ch in NUMBER_UNITS and last[-1].isdigit())
        )
        if glue:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """The lines of ``text`` at most ``width`` wide (``measure`` gives a string's width;
    widths add up, as they do without kerning). A unit wider than a whole line (a very
    long link) is cut by characters, the only break made inside a unit."""
    lines: list[str] = []
    line, used = "", 0.0
    for unit in units(text):
        if unit == " ":
            if line:
                line, used = line + " ", used + measure(" ")
            continue
        size = measure(unit)
        if used + size <= width:
            line, used = line + unit, used + size
            continue
        if line.strip():
            lines.append(line.rstrip())
        while size > width and len(unit) > 1:
            cut = _fit(unit, width, measure)
            lines.append(unit[:cut])
            unit = unit[cut:]
            size = measure(unit)
        line, used = unit, size
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _fit(unit: str, width: float, measure: Callable[[str], float]) -> int:
    """How many leading characters of ``unit`` fit in ``width`` (at least one)."""
    used, count = 0.0, 0
    for ch in unit:
        used += measure(ch)
        if used > width:
            break
        count += 1
    return max(count, 1)
