"""The import format: the columns of each kind of file and how each cell is read.

Header names are matched case-insensitively with surrounding spaces trimmed. A cell
parser turns what a reader produced (text from CSV; numbers, dates and text from
Excel; typed values from Parquet) into the column's Python value or raises
``FieldError`` with the reason. Blank cells are missing values. See
docs/import-format.md for the user's version of this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arrears.domain.errors import DomainError
from arrears.domain.money import parse_amount
from arrears.ingest.errors import BrokenCell, FieldError, FileError
from arrears.store.models import CUSTOMER_TYPES, DEFAULT_TIME_ZONE, LANGUAGES

CHANNELS = ("bank_transfer", "card", "wechat", "alipay", "cash", "agency", "other")
_DATE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})|(\d{4})(\d{2})(\d{2})")

Parser = Callable[[Any], Any]

# Characters no value may hold: control characters (NUL, line breaks, tabs, ...), the
# Unicode line and paragraph separators, and invisible marks that change how a value
# reads or compares (zero-width space, left-to-right/right-to-left marks and overrides,
# a byte-order mark inside the text). PostgreSQL refuses NUL outright; the others make
# a name or an id that looks like another one.
_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_CHARACTER_NAMES = {
    "\x00": "NUL (U+0000)",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a carriage return",
    "\ufeff": "a byte-order mark (U+FEFF)",
}


def check_characters(text: str) -> str:
    """``text`` unchanged when it holds no control or invisible character (see
    ``_FORBIDDEN``); else FieldError naming the first one and where it is."""
    if text.isprintable():  # nearly every value: one pass in C
        return text
    found = _FORBIDDEN.search(text)
    if found is None:  # other unprintables are spaces (U+3000, no-break space): fine
        return text
    char = found.group()
    name = _CHARACTER_NAMES.get(char)
    if name is None:
        described = unicodedata.name(char, "")
        name = f"U+{ord(char):04X}" + (f" ({described})" if described else "")
    raise FieldError(
        f"contains {name} at character {found.start() + 1}: control and invisible "
        "characters are not allowed in a value"
    )


def parse_text(value: Any) -> str:
    """Text as written, trimmed; whole numbers from Excel/Parquet lose their '.0'.
    Control and invisible characters are refused (``check_characters``)."""
    if isinstance(value, str):
        return check_characters(value.strip())
    if isinstance(value, bool):
        raise FieldError(f"expected text, got {value!r}")
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        raise FieldError(f"expected text, got the number {value!r} (format the column as text)")
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return str(value)


def parse_decimal(value: Any) -> Decimal:
    """A decimal number: "1234.5", "1,234.50", an int, a Decimal, or a float cell
    (read by its shortest spelling, 0.1 -> 0.1, which is what the user typed)."""
    if isinstance(value, bool):
        raise FieldError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = parse_amount(value)
        except DomainError:
            raise FieldError(f"not a number: {value!r}") from None
    else:
        raise FieldError(f"not a number: {value!r}")
    if not result.is_finite():
        raise FieldError(f"not a number: {value!r}")
    return result


_PLACES = [Decimal(1).scaleb(-n) for n in range(13)]


def fits_places(value: Decimal, places: int) -> bool:
    """Whether ``value`` is exact with ``places`` decimals (1.50 and 1.500 fit 2)."""
    try:
        return value == value.quantize(_PLACES[places])
    except InvalidOperation:  # more digits than the context's precision
        return False


def parse_integer(value: Any) -> int:
    try:
        number = parse_decimal(value)
    except FieldError:
        raise FieldError(f"not a whole number: {value!r}") from None
    if number != number.to_integral_value():
        raise FieldError(f"not a whole number: {value!r}")
    return int(number)


def parse_date(value: Any) -> date:
    """YYYY-MM-DD, YYYY/MM/DD (month and day may have one digit), YYYYMMDD, or a
    date/datetime cell (its time is dropped)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        match = _DATE.fullmatch(text)
        if match is not None:
            year, month, day = match.group(1, 3, 4) if match.group(1) else match.group(5, 6, 7)
            try:
                return date(int(year), int(month), int(day))
            except ValueError:
                pass
    raise FieldError(f"not a date: {value!r} (write YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)")


def one_of(options: Sequence[str]) -> Parser:
    """A parser accepting one of ``options`` (case-insensitive), returned as spelt there."""
    canonical = {o.lower(): o for o in options}

    def parse(value: Any) -> str:
        text = parse_text(value)
        try:
            return canonical[text.lower()]
        except KeyError:
            raise FieldError(f"must be one of {', '.join(options)}; got {text!r}") from None

    return parse


@cache
def _zone_known(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_time_zone(value: Any) -> str:
    name = parse_text(value)
    if not _zone_known(name):
        raise FieldError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)")
    return name


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Parser
    required: bool = False
    default: Any = None


@dataclass(frozen=True, slots=True)
class KindSpec:
    """The columns of one kind of file; ``key`` is the column that identifies a row."""

    kind: str
    key: str
    noun: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


CUSTOMERS = KindSpec(
    "customers",
    "customer_id",
    "customer",
    (
        Column("customer_id", parse_text, required=True),
        Column("name", parse_text, required=True),
        Column("id_number", parse_text),
        Column("customer_type", one_of(CUSTOMER_TYPES), default="individual"),
        Column("mobile", parse_text),
        Column("email", parse_text),
        Column("address", parse_text),
        Column("time_zone", parse_time_zone, default=DEFAULT_TIME_ZONE),
        Column("language", one_of(LANGUAGES), default="zh_CN"),
    ),
)
LOANS = KindSpec(
    "loans",
    "loan_id",
    "loan",
    (
        Column("loan_id", parse_text, required=True),
        Column("customer_id", parse_text, required=True),
        Column("product_code", parse_text, required=True),
        Column("principal", parse_decimal, required=True),
        Column("annual_rate", parse_decimal),
        Column("term_months", parse_integer),
        Column("disbursed_on", parse_date, required=True),
        Column("first_due_date", parse_date),
        Column("currency", lambda v: parse_text(v).upper()),
    ),
)
PAYMENTS = KindSpec(
    "payments",
    "payment_ref",
    "payment",
    (
        Column("payment_ref", parse_text, required=True),
        Column("loan_id", parse_text, required=True),
        Column("paid_on", parse_date, required=True),
        Column("amount", parse_decimal, required=True),
        Column("currency", lambda v: parse_text(v).upper()),
        Column("channel", one_of(CHANNELS)),
    ),
)
SPECS = {spec.kind: spec for spec in (CUSTOMERS, LOANS, PAYMENTS)}


def normalize_header(names: Iterable[Any]) -> list[str]:
    """Header cells as matched: text, trimmed, lower-case (a UTF-8 BOM dropped)."""
    return ["" if n is None else str(n).replace("\ufeff", "").strip().lower() for n in names]


def detect_kind(header: Sequence[str]) -> str:
    """The kind whose identifying column (customer_id, loan_id, payment_ref) the
    normalized header has; when several have theirs, the one that knows the most of
    the header's columns. Raises FileError when no kind, or more than one, fits."""
    present = set(header)
    candidates = [s for s in SPECS.values() if s.key in present]
    if not candidates:
        keys = ", ".join(f"{s.key} ({s.kind})" for s in SPECS.values())
        raise FileError(f"cannot tell what the file holds: its header has none of {keys}")
    known = {s.kind: len(present & set(s.names)) for s in candidates}
    best = max(known.values())
    winners = [kind for kind, n in known.items() if n == best]
    if len(winners) == 1:
        return winners[0]
    raise FileError(
        f"cannot tell whether the file holds {' or '.join(winners)}: its header has "
        "columns of each; pass the kind explicitly (--kind)"
    )


def check_header(spec: KindSpec, header: Sequence[str]) -> dict[str, int]:
    """Column positions by name; raises FileError for a blank, repeated, unknown or
    missing required column."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            raise FileError(f"column {index + 1} of the header is blank")
        if name in positions:
            raise FileError(f"column {name} appears twice in the header")
        positions[name] = index
    unknown = [n for n in header if n not in spec.names]
    if unknown:
        raise FileError(
            f"unknown columns for a {spec.kind} file: {', '.join(unknown)} "
            f"(known: {', '.join(spec.names)})"
        )
    missing = [n for n in spec.required if n not in positions]
    if missing:
        raise FileError(f"missing required columns: {', '.join(missing)}")
    return positions


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class RowParser:
    """Reads the rows of one file: built once from the header's column positions,
    then called per row; returns the row's values by column (defaults filled in) and
    its field errors as (column, reason)."""

    def __init__(self, spec: KindSpec, positions: dict[str, int]) -> None:
        self.width = len(positions)
        self.fields = [
            (c.name, positions.get(c.name), c.parse, c.required, c.default) for c in spec.columns
        ]

    def __call__(self, cells: Sequence[Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        record: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        count = len(cells)
        for name, index, parse, required, default in self.fields:
            raw = cells[index] if index is not None and index < count else None
            if type(raw) is BrokenCell:
                errors.append((name, raw.reason))
                record[name] = None
                continue
            if raw is None or (type(raw) is str and not raw.strip()):
                if required:
                    errors.append((name, "required value is missing"))
                record[name] = default
                continue
            try:
                record[name] = parse(raw)
            except FieldError as exc:
                errors.append((name, str(exc)))
                record[name] = None
        if count > self.width and any(not is_blank(c) for c in cells[self.width :]):
            errors.append(("(row)", f"has {count} values but the header has {self.width}"))
        return record, errors
