"""The normalized keys the workbench's search looks customers up by, as SQL expressions
that an expression index covers (migration 0011), so every writer of ``customers`` and
``contact_points`` (the importer's bulk path, the ORM, hand-written SQL) is indexed
without having to fill a column of its own.

* ``phone_key(column)``: the value without spaces, dashes, brackets, dots or ``+``
  (``+86 138-0000-1234`` → ``8613800001234``); ``phone_variants`` gives the keys an
  entered number may be stored under (with and without the 86 / 0086 prefix).
* ``id_tail_key(column)``: the last four characters of a 身份证 number; a search by
  the last digits reads the index on them and keeps the rows that end in all of the
  digits entered.

The literals are rendered into the SQL (never bound) so that the query's expression is
the index's expression on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal_column

# characters a phone number is written with that are not part of the number
PHONE_NOISE = (" ", "-", "(", ")", ".", "+")
ID_TAIL = 4


def phone_key(column: ColumnElement[str]) -> ColumnElement[str]:
    """``column`` with every character of ``PHONE_NOISE`` removed."""
    expr: ColumnElement[str] = column
    for ch in PHONE_NOISE:
        expr = func.replace(expr, literal_column(f"'{ch}'"), literal_column("''"))
    return expr


def id_tail_key(column: ColumnElement[str]) -> ColumnElement[str]:
    """The last ``ID_TAIL`` characters of ``column``."""
    return func.substr(column, func.length(column) - literal_column(str(ID_TAIL - 1)))


def phone_digits(text: str) -> str:
    """An entered phone number as its key: digits only."""
    return "".join(ch for ch in text if ch.isdigit())


def phone_variants(digits: str) -> list[str]:
    """The keys a number entered as ``digits`` may be stored under: as entered, and
    with or without China's country code (86, 0086)."""
    national = digits
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            national = digits[len(prefix) :]
            break
    return sorted({digits, national, "86" + national, "0086" + national})
