"""SMS length and segment count, as the network counts them.

GSM-7 (the GSM 03.38 default alphabet): 160 septets in one message, 153 per segment of
a concatenated one (the user data header takes 7); characters of the extension table
(``^{}\\[~]|€`` and form feed) take two septets and never straddle two segments. Any
character outside GSM-7 (Chinese, most emoji) switches the whole message to UCS-2:
70 characters, 67 per segment; characters outside the BMP take two UTF-16 units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)


@dataclass(frozen=True)
class SmsLength:
    """How an SMS body is carried: its encoding, its length in encoding units
    (septets or UTF-16 code units) and the number of segments billed."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    segments: int
    per_segment: int


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 basic or extension table."""
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def sms_length(text: str) -> SmsLength:
    """Encoding, length and segment count of ``text`` (see the module doc). The empty
    message is one segment."""
    if is_gsm7(text):
        sizes = [2 if ch in _EXTENSION else 1 for ch in text]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi, encoding = 70, 67, "UCS-2"
    units = sum(sizes)
    if units <= single:
        return SmsLength(encoding, units, 1, single)
    # An escape pair or a surrogate pair is never split across segments.
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return SmsLength(encoding, units, segments, multi)
