"""Conversions between domain values and table rows, and the bulk insert path.

The import and the daily close write hundreds of thousands of rows; they build plain
dicts with these helpers and hand them to ``bulk_insert``, which uses Core
``insert()`` executemany in batches (no ORM objects, no per-row round trips).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Date, Table, insert, select
from sqlalchemy.engine import Dialect

from arrears.domain.ledger import Account, Entry, EntryKind, Leg
from arrears.domain.products import Catalog, Product
from arrears.domain.schedule import Installment
from arrears.store.models import TABLES, Base, utcnow
from arrears.store.types import Money, money_cents

BATCH_SIZE = 5000

Row = dict[str, Any]
TableLike = Table | str | type[Base]


def table_of(table: TableLike) -> Table:
    """The Core ``Table`` for a Table, a table name or a mapped model class."""
    if isinstance(table, Table):
        return table
    if isinstance(table, str):
        return TABLES[table]
    return table.__table__  # type: ignore[return-value]


def batched(rows: Iterable[Row], size: int = BATCH_SIZE) -> Iterator[list[Row]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def bulk_insert(
    connection: Connection, table: TableLike, rows: Iterable[Row], batch_size: int = BATCH_SIZE
) -> int:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys) into
    ``table`` with executemany in batches of ``batch_size``; returns the row count.
    Column defaults apply to the keys left out. Runs in the caller's transaction:
    nothing is committed here."""
    target = table_of(table)
    count = 0
    for chunk in batched(rows, batch_size):
        dialect = connection.dialect
        if dialect.name == "sqlite":
            _sqlite_executemany(connection, target, chunk)
        elif dialect.name == "postgresql" and dialect.driver == "psycopg":
            _postgres_copy(connection, target, chunk)
        else:
            connection.execute(insert(target), chunk)
        count += len(chunk)
    return count


def _processed(
    connection: Connection, table: Table, chunk: list[Row]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and value tuples for ``chunk``, each value passed through its
    column's own bind processor (so Money still refuses floats and, on SQLite, stores
    cents) and the defaults of the columns left out filled in."""
    dialect = connection.dialect
    keys = list(chunk[0])
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.key in chunk[0] or default is None or not hasattr(default, "arg"):
            continue
        value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
        defaults[column.key] = value
    columns = [table.c[k] for k in keys] + [table.c[k] for k in defaults]
    processors = [_bind_processor(c, dialect) for c in columns]
    constant = [
        processors[len(keys) + i](v) if processors[len(keys) + i] else v
        for i, v in enumerate(defaults.values())
    ]
    getter = itemgetter(*keys)
    active = [(i, p) for i, p in enumerate(processors[: len(keys)]) if p is not None]
    params = []
    for row in chunk:
        values = list(getter(row)) if len(keys) > 1 else [row[keys[0]]]
        for i, process in active:
            values[i] = process(values[i])
        values.extend(constant)
        params.append(tuple(values))
    return [c.name for c in columns], params


def _bind_processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind processor; on SQLite, Money and Date get equivalent
    shortcuts (cents; ISO date text), as these two dominate the bulk paths' time."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name != "sqlite":
        return process
    if isinstance(column.type, Money):
        return _cents_or_none
    if type(column.type) is Date and process is not None:
        general = process
        return lambda v: v.isoformat() if type(v) is date else general(v)
    return process


def _cents_or_none(value: Any) -> int | None:
    return None if value is None else money_cents(value)


def _sqlite_executemany(connection: Connection, table: Table, chunk: list[Row]) -> None:
    # Core's executemany spends most of its time building per-row parameter dicts;
    # plain tuples keep 600k rows well under 10 s.
    names, params = _processed(connection, table, chunk)
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    marks = ", ".join("?" for _ in names)
    sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"
    connection.exec_driver_sql(sql, params)


def _postgres_copy(connection: Connection, table: Table, chunk: list[Row]) -> None:
    # COPY is an order of magnitude faster than executemany on PostgreSQL.
    names, params = _processed(connection, table, chunk)
    quote = connection.dialect.identifier_preparer.quote
    target = (
        quote(table.name) if table.schema is None else f"{quote(table.schema)}.{quote(table.name)}"
    )
    columns = ", ".join(quote(name) for name in names)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for values in params:
                copy.write_row(values)
    finally:
        cursor.close()


def installment_rows(loan_id: str, schedule: Iterable[Installment]) -> list[Row]:
    """Rows of the ``installments`` table for a loan's schedule."""
    return [
        {
            "loan_id": loan_id,
            "seq": i.seq,
            "due_date": i.due_date,
            "principal": i.principal,
            "interest": i.interest,
        }
        for i in schedule
    ]


def installment_from_row(row: Mapping[str, Any]) -> Installment:
    return Installment(row["seq"], row["due_date"], row["principal"], row["interest"])


def entry_rows(
    loan_id: str, entry: Entry, seq: int, created_at: datetime | None = None
) -> tuple[Row, list[Row]]:
    """The ``entries`` row and the ``legs`` rows (line 1, 2, ...) of one posted entry."""
    head = {
        "loan_id": loan_id,
        "ref": entry.ref,
        "kind": entry.kind.value,
        "posted_on": entry.posted_on,
        "amount": entry.amount,
        "reverses": entry.reverses,
        "memo": entry.memo,
        "seq": seq,
        "created_at": created_at or utcnow(),
    }
    legs = [
        {
            "loan_id": loan_id,
            "ref": entry.ref,
            "line": line,
            "installment": leg.installment,
            "account": leg.account.value,
            "amount": leg.amount,
        }
        for line, leg in enumerate(entry.legs, start=1)
    ]
    return head, legs


def entry_from_rows(head: Mapping[str, Any], legs: Sequence[Mapping[str, Any]]) -> Entry:
    """The domain Entry stored as ``head`` and its ``legs`` (in line order)."""
    return Entry(
        ref=head["ref"],
        kind=EntryKind(head["kind"]),
        posted_on=head["posted_on"],
        amount=head["amount"],
        legs=tuple(
            Leg(leg["installment"], Account(leg["account"]), leg["amount"])
            for leg in sorted(legs, key=lambda leg: leg["line"])
        ),
        reverses=head["reverses"],
        memo=head["memo"] or "",
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def product_definition(product: Product) -> str:
    """The product as canonical JSON (sorted keys, Decimals as strings), so two
    definitions are equal exactly when their texts are."""
    return json.dumps(_jsonable(asdict(product)), sort_keys=True, ensure_ascii=False)


def product_row(product: Product) -> Row:
    return {
        "code": product.code,
        "name": product.name,
        "name_zh": product.name_zh,
        "definition": product_definition(product),
        "updated_at": utcnow(),
    }


def ensure_products(connection: Connection, catalog: Catalog) -> list[str]:
    """Insert the catalog's products that the store does not have yet; returns their
    codes. Existing rows are left as they are (loans were booked on them)."""
    products = table_of("products")
    have = set(connection.execute(select(products.c.code)).scalars())
    missing = [p for code, p in sorted(catalog.products.items()) if code not in have]
    bulk_insert(connection, products, [product_row(p) for p in missing])
    return [p.code for p in missing]
