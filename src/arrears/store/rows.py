"""Conversions between domain values and table rows, and the bulk insert path.

The import and the daily close write hundreds of thousands of rows; they build plain
dicts with these helpers and hand them to ``bulk_insert``, which uses Core
``insert()`` executemany in batches (no ORM objects, no per-row round trips).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Date, Table, select
from sqlalchemy.engine import Dialect

from arrears.domain.ledger import Account, Entry, EntryKind, Leg
from arrears.domain.products import Catalog, Product
from arrears.domain.schedule import Installment
from arrears.store.models import TABLES, Base, utcnow
from arrears.store.types import Money, money_cents

BATCH_SIZE = 5000

Row = dict[str, Any]
T = TypeVar("T")
TableLike = Table | str | type[Base]


def table_of(table: TableLike) -> Table:
    """The Core ``Table`` for a Table, a table name or a mapped model class."""
    if isinstance(table, Table):
        return table
    if isinstance(table, str):
        return TABLES[table]
    return table.__table__  # type: ignore[return-value]


def batched(rows: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def bulk_insert(
    connection: Connection,
    table: TableLike,
    rows: Iterable[Row],
    batch_size: int = BATCH_SIZE,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys) into
    ``table`` with executemany in batches of ``batch_size``; returns the row count.
    ``constants`` are columns with one value for every row (converted once, not per
    row). Column defaults apply to the keys left out. Runs in the caller's
    transaction: nothing is committed here."""
    target = table_of(table)
    count = 0
    for chunk in batched(rows, batch_size):
        names, params = encode_rows(connection, target, chunk, constants)
        insert_encoded(connection, target, names, params)
        count += len(chunk)
    return count


def column_encoders(
    connection: Connection, table: TableLike, names: Sequence[str]
) -> list[Callable[[Any], Any] | None]:
    """For each of the columns ``names``, the function that turns a Python value into
    what the driver is given (None where the value goes as it is). Money refuses
    floats and sub-cent amounts here; on SQLite it becomes cents."""
    target = table_of(table)
    return [_bind_processor(target.c[name], connection.dialect) for name in names]


def encode_rows(
    connection: Connection,
    table: TableLike,
    chunk: Sequence[Row],
    constants: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and value tuples for ``chunk``, as ``insert_encoded`` takes them:
    each value passed through its column's encoder (see ``column_encoders``), then
    ``constants`` and the defaults of the columns left out, each encoded once."""
    target = table_of(table)
    if not chunk:
        return [], []
    keys = list(chunk[0])
    fixed = dict(constants or {})
    for column in target.columns:
        default = column.default
        if column.key in chunk[0] or column.key in fixed:
            continue
        if default is None or not hasattr(default, "arg"):
            continue
        fixed[column.key] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    encoders = column_encoders(connection, target, [*keys, *fixed])
    tail = tuple(
        encode(value) if encode is not None else value
        for encode, value in zip(encoders[len(keys) :], fixed.values(), strict=True)
    )
    if len(keys) == 1:
        columns: list[Sequence[Any]] = [[row[keys[0]] for row in chunk]]
    else:
        columns = list(zip(*map(itemgetter(*keys), chunk), strict=True))
    for i, encode in enumerate(encoders[: len(keys)]):
        if encode is not None:
            columns[i] = _encode_column(encode, columns[i])
    params = list(zip(*columns, strict=True))
    if tail:
        params = [values + tail for values in params]
    return [target.c[k].name for k in (*keys, *fixed)], params


def _encode_column(encode: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    # A column of dates (a payment date, a due date) has few distinct values: convert
    # each once. Only for exact dates, which no other type equals.
    if set(map(type, values)) <= {date, type(None)}:
        distinct = {value: encode(value) for value in set(values)}
        return list(map(distinct.__getitem__, values))
    return list(map(encode, values))


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


def insert_encoded(
    connection: Connection, table: TableLike, names: Sequence[str], params: list[tuple[Any, ...]]
) -> None:
    """Insert ``params`` (tuples of values for the columns ``names``, already encoded
    as ``encode_rows`` or ``column_encoders`` do) in one executemany, or COPY on
    PostgreSQL with psycopg. Runs in the caller's transaction."""
    if not params:
        return
    target = table_of(table)
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _postgres_copy(connection, target, columns, params)
        return
    style = dialect.paramstyle
    if style == "qmark":
        marks = ", ".join("?" for _ in names)
    elif style == "numeric":
        marks = ", ".join(f":{i}" for i in range(1, len(names) + 1))
    elif style in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in names)
    else:  # named: the driver wants dicts
        marks = ", ".join(f":p{i}" for i in range(len(names)))
        params = [{f"p{i}": v for i, v in enumerate(values)} for values in params]  # type: ignore[misc]
    connection.exec_driver_sql(
        f"INSERT INTO {_qualified(target, quote)} ({columns}) VALUES ({marks})", params
    )


def _qualified(table: Table, quote: Callable[[str], str]) -> str:
    if table.schema is None:
        return quote(table.name)
    return f"{quote(table.schema)}.{quote(table.name)}"


def _postgres_copy(
    connection: Connection, table: Table, columns: str, params: list[tuple[Any, ...]]
) -> None:
    # COPY is an order of magnitude faster than executemany on PostgreSQL.
    quote = connection.dialect.identifier_preparer.quote
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {_qualified(table, quote)} ({columns}) FROM STDIN") as copy:
            for values in params:
                copy.write_row(values)
    finally:
        cursor.close()


@contextmanager
def deferred_indexes(
    connection: Connection, tables: Iterable[TableLike], expected_rows: Mapping[str, int]
) -> Iterator[None]:
    """Within the block, the plain (non-unique) indexes of ``tables`` are dropped, and
    rebuilt from their own stored SQL when it ends, in the caller's transaction: a
    bulk load into a B-tree index in random key order costs SQLite several times
    what one sorted build costs. Only on SQLite, and only for a table whose stored
    rows are fewer than twice the rows about to be added (``expected_rows`` by table
    name), so that the rebuild costs less than what it saves. Unique indexes are
    kept: they must refuse a row when it is inserted. If the block raises, the
    indexes are not rebuilt: the caller must roll back, which restores them."""
    if connection.dialect.name != "sqlite":
        yield
        return
    dropped: list[str] = []
    for table in tables:
        target = table_of(table)
        adding = expected_rows.get(target.name, 0)
        stored = connection.exec_driver_sql(f'SELECT max(rowid) FROM "{target.name}"').scalar()
        if not adding or (stored or 0) >= 2 * adding:
            continue
        found = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
            (target.name,),
        ).all()
        for name, sql in found:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
            dropped.append(sql)
    yield
    for sql in dropped:
        connection.exec_driver_sql(sql)


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
