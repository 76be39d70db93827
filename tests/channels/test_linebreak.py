"""Line breaking of letter text by the rules of Chinese typesetting: every line fits,
nothing is lost, breaks fall only where a line may break (never inside a number, word
or link that fits; no closing punctuation at a line's start, no opening one at its
end), and long links are cut only when they cannot fit on a line at all."""

from __future__ import annotations

import itertools
import re
import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from arrears.channels.linebreak import NO_END, NO_START, units, wrap


def cells(text: str) -> float:
    """A monospace stand-in for the font: a Chinese character is two cells wide."""
    return float(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text))


SENTENCE = (
    "您好！根据我们的记录，您在示例消费金融有限公司的账户（****1234）有一笔款项已于"
    "2026年11月15日到期，截至本函日期尚有¥1,246.56未还，请通过 "
    "https://pay.example.com/r/ARR123 在线办理。"
)


def test_a_chinese_paragraph_breaks_between_characters_never_inside_numbers_or_links():
    for width in range(34, 90, 3):  # the link (32 cells) fits on a line
        lines = wrap(SENTENCE, width, cells)
        assert all(cells(line) <= width for line in lines), width
        assert "".join(lines).replace(" ", "") == SENTENCE.replace(" ", "")
        for before, after in itertools.pairwise(lines):
            assert after[0] not in NO_START and before[-1] not in NO_END, (before, after)
            # a break between two digits or inside the link would show as one here
            assert not (before[-1].isdigit() and after[0].isdigit()), (before, after)
        text = "\n".join(lines)
        for whole in ("（****1234）", "¥1,246.56", "2026年", "11月", "15日",
                      "https://pay.example.com/r/ARR123"):  # fmt: skip
            assert whole in text, (width, whole, lines)


def test_the_line_is_filled_before_it_breaks():
    # fpdf2 moved the whole Chinese run after a link to the next line, leaving a gap
    lines = wrap(
        "可通过 https://pay.example.com/r/ARR123 在线办理。如果您在还款方面遇到困难", 60, cells
    )
    assert lines[0].startswith("可通过 https://") and "在线办理。如果" in lines[0]
    assert cells(lines[0]) > 58


def test_english_breaks_at_spaces_only():
    text = "Please pay as soon as you can, online at https://pay.example.com/r/ARR123."
    lines = wrap(text, 36, cells)
    assert " ".join(lines) == text and all(cells(line) <= 36 for line in lines)
    assert len(lines) == 3


def test_a_link_longer_than_a_line_is_cut_by_characters():
    link = "https://pay.example.com/r/" + "A" * 60
    lines = wrap(f"请访问 {link} 还款", 40, cells)
    assert "".join(lines).replace(" ", "") == f"请访问{link}还款"
    assert all(cells(line) <= 40 for line in lines)
    assert lines[0] == "请访问" and len(lines) >= 3


ALPHABET = st.sampled_from(
    list("催收函您好账户逾期金额合计应还此致敬礼年月日")
    + list("，。、；：！？）》（《")
    + list("abcXYZ0123456789.,:/-¥")
    + [" "]
)


@given(st.text(ALPHABET, min_size=0, max_size=120), st.integers(min_value=4, max_value=60))
def test_wrapping_keeps_every_character_and_breaks_only_where_allowed(text, width):
    # a space next to punctuation that must stay attached is not a case letters have
    assume(not re.search(r"\s[，。、；：！？）》,.:]|[（《]\s", text))
    lines = wrap(text, width, cells)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(line and line == line.strip() for line in lines)
    pieces = [u for u in units(text) if u != " "]
    if all(cells(u) <= width for u in pieces):
        assert all(cells(line) <= width for line in lines)
        # every break is at a boundary between units
        allowed, at = set(), 0
        for u in pieces:
            at += len(u)
            allowed.add(at)
        at = 0
        for line in lines[:-1]:
            at += len(line.replace(" ", ""))
            assert at in allowed, (text, lines)
        for before, after in itertools.pairwise(lines):
            assert after[0] not in NO_START and before[-1] not in NO_END, (text, lines)
    else:  # a unit wider than the line is cut into pieces that each fit
        assert all(cells(line) <= width or len(line) == 1 for line in lines)
