"""The bulk path for a daily close's postings: millions of entry and leg rows.

The close hands amounts over in integer cents. On SQLite that is already how a
``Money`` column stores them, so rows go straight to the driver with dates as ISO
text; on PostgreSQL they go through COPY as exact decimals. Either way it runs in the
caller's transaction and nothing is committed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, Numeric, String, type_coerce

from arrears.store.models import TABLES
from arrears.store.rows import bulk_insert
from arrears.store.types import MONEY_DIGITS, MONEY_PLACES

ENTRY_COLUMNS = ("loan_id", "ref", "kind", "posted_on", "amount", "reverses", "memo", "seq")
LEG_COLUMNS = ("loan_id", "ref", "line", "installment", "account", "amount")
BATCH = 50_000


def insert_postings(
    conn: Connection,
    entries: Sequence[tuple[str, str, str, date, int, str | None, str, int]],
    legs: Sequence[tuple[str, str, int, int, str, int]],
    created_at: datetime,
) -> None:
    """Insert entries ``(loan_id, ref, kind, posted_on, cents, reverses, memo, seq)`` and
    legs ``(loan_id, ref, line, installment, account, cents)``."""
    if conn.dialect.name == "sqlite":
        column = TABLES["entries"].c.created_at
        process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        stamp = process(created_at) if process else created_at
        _sqlite(
            conn,
            "entries",
            (*ENTRY_COLUMNS, "created_at"),
            ((*e[:3], e[3].isoformat(), *e[4:], stamp) for e in entries),
        )
        _sqlite(conn, "legs", LEG_COLUMNS, legs)
        return
    bulk_insert(
        conn,
        "entries",
        (
            {
                **dict(zip(ENTRY_COLUMNS, e, strict=True)),
                "amount": _decimal(e[4]),
                "created_at": created_at,
            }
            for e in entries
        ),
    )
    bulk_insert(
        conn,
        "legs",
        ({**dict(zip(LEG_COLUMNS, g, strict=True)), "amount": _decimal(g[5])} for g in legs),
    )


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-MONEY_PLACES)


def _sqlite(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            conn.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)


def date_column(conn: Connection, column: Any) -> Any:
    """``column`` for a bulk read: on SQLite its stored ISO text (converted back with a
    ``CentsReader.day``), elsewhere the column itself."""
    if conn.dialect.name == "sqlite":
        return type_coerce(column, String)
    return column


def money_column(conn: Connection, column: Any) -> Any:
    """``column`` for a bulk read: on SQLite its stored integer cents (converted back with
    a ``CentsReader``); on PostgreSQL the NUMERIC(18,2) as the driver reads it, a
    Decimal of two places already (``Money``'s own conversion, a copy and a quantize
    per value, was 1.3 s of a 50k-loan close's 287k amounts read)."""
    if conn.dialect.name == "sqlite":
        return type_coerce(column, BigInteger)
    return type_coerce(column, _DRIVER_MONEY)


_DRIVER_MONEY = Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True)


class CentsReader:
    """Turns what ``money_column`` read into Decimal. A book repeats the same amounts
    (the same installment for every loan of the same terms), so conversions are memoized."""

    def __init__(self, conn: Connection) -> None:
        self.raw = conn.dialect.name == "sqlite"
        self.memo: dict[int, Decimal] = {}
        self.days: dict[str, date] = {}

    def __call__(self, value: Any) -> Decimal:
        if not self.raw:
            return value  # type: ignore[no-any-return]
        found = self.memo.get(value)
        if found is None:
            found = self.memo[value] = Decimal(value).scaleb(-MONEY_PLACES)
        return found

    def day(self, value: Any) -> date:
        """A date read through ``date_column`` (a book has only so many distinct days)."""
        if not self.raw:
            return value  # type: ignore[no-any-return]
        found = self.days.get(value)
        if found is None:
            found = self.days[value] = date.fromisoformat(value)
        return found
