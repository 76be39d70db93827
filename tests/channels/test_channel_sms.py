"""SMS length and segments: GSM-7 160/153 with extension characters counting two and
never split, UCS-2 70/67 for Chinese, surrogate pairs counting two."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from arrears.channels.sms import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, sms_length


def test_gsm7_single_and_concatenated_boundaries() -> None:
    assert sms_length("").segments == 1
    assert sms_length("a" * 160) == sms_length("a" * 160).__class__("GSM-7", 160, 1, 160)
    assert sms_length("a" * 161).segments == 2
    assert sms_length("a" * 306).segments == 2
    assert sms_length("a" * 307).segments == 3


def test_extension_characters_count_two() -> None:
    assert sms_length("€" * 80).units == 160 and sms_length("€" * 80).segments == 1
    assert sms_length("a" * 159 + "€").segments == 2  # 161 septets
    assert sms_length("[]{}").units == 8


def test_escape_pair_is_not_split_across_segments() -> None:
    # 152 septets, then an escape pair that would straddle the 153 boundary: it moves to
    # segment two, so 152 + 2 + 152 = 306 septets need three segments, not two.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_length(text).units == 306
    assert sms_length(text).segments == 3
    assert sms_length("a" * 151 + "€" + "a" * 153).segments == 2


def test_chinese_is_ucs2_70_then_67() -> None:
    assert sms_length("您" * 70).encoding == "UCS-2"
    assert sms_length("您" * 70).segments == 1
    assert sms_length("您" * 71).segments == 2
    assert sms_length("您" * 134).segments == 2
    assert sms_length("您" * 135).segments == 3
    # One Chinese character turns a Latin message into UCS-2.
    assert sms_length("a" * 100 + "您").segments == 2


def test_characters_outside_the_bmp_take_two_units() -> None:
    assert sms_length("😀" * 35).units == 70
    assert sms_length("😀" * 35).segments == 1
    assert sms_length("😀" * 36).segments == 2


def test_alphabet_membership() -> None:
    assert is_gsm7("Hello @ £5 ¥ è") and is_gsm7(GSM7_EXTENSION)
    assert not is_gsm7("ç is not lower-case in GSM-7? Ç is; ç is not")
    assert not is_gsm7("您好")


@given(st.text(alphabet=st.sampled_from(sorted(set(GSM7_BASIC + GSM7_EXTENSION + "您😀")))))
def test_segments_always_hold_the_units(text: str) -> None:
    length = sms_length(text)
    assert length.segments >= 1
    assert length.units <= length.segments * length.per_segment
    if length.segments > 1:
        assert length.units > (160 if length.encoding == "GSM-7" else 70)
