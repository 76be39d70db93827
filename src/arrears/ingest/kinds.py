"""What each kind of file means for the store: its checks and the rows it writes.

A handler sees rows in three steps: ``validate`` (the row alone: ranges, product
rules, the schedule), ``check`` (a batch against the store: referenced customers
and loans exist, an id already stored is either identical, and skipped, or an
error), and ``write`` (Core bulk inserts of the batch's good rows).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import ARRAY, Column, Connection, String, Table, any_, bindparam, func, select

from arrears.domain.errors import DomainError
from arrears.domain.money import MINOR_UNITS
from arrears.domain.products import Catalog
from arrears.domain.schedule import LoanTerms
from arrears.ingest.booking import (
    ENTRY_COLUMNS,
    INSTALLMENT_COLUMNS,
    LEG_COLUMNS,
    Booking,
    Schedule,
)
from arrears.ingest.errors import shorten
from arrears.ingest.spec import CUSTOMERS, LOANS, PAYMENTS, KindSpec, fits_places
from arrears.store.models import TABLES, utcnow
from arrears.store.rows import bulk_insert, ensure_products, insert_encoded
from arrears.store.types import MONEY_DIGITS, MONEY_PLACES

MAX_TERM_MONTHS = 480
# Amounts are stored as NUMERIC(18,2): at most 16 digits before the point.
WHOLE_DIGITS = MONEY_DIGITS - MONEY_PLACES
MONEY_LIMIT = Decimal(10) ** WHOLE_DIGITS
TOO_LARGE = f"is too large: an amount has at most {WHOLE_DIGITS} digits before the point"
LOAN_CACHE_SIZE = 100_000  # about 16 MB


NO_ERRORS: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Pending:
    """A parsed row on its way to the store. ``errors`` is the shared empty tuple
    until the row gets its first error (most rows never do)."""

    row: int
    cells: Sequence[Any]
    record: dict[str, Any]
    errors: list[tuple[str, str]] | tuple[tuple[str, str], ...] = NO_ERRORS
    skip: bool = False
    schedule: Schedule | None = None

    def error(self, column: str, reason: str) -> None:
        if self.errors:
            self.errors.append((column, reason))  # type: ignore[union-attr]
        else:
            self.errors = [(column, reason)]


def member_of(connection: Connection, column: Column[Any], ids: Iterable[Any]) -> Any:
    """``column IN ids`` (ids are text or whole numbers) as each database likes it for
    thousands of ids: one parameter, so the statement is compiled once and not per
    id: an array (``= ANY(:ids)``) on PostgreSQL, a JSON array read by ``json_each``
    on SQLite. A SQLite built without JSON gets an IN list padded (by repeating an
    id) to a power-of-two length, so the driver's cache of prepared statements is not
    filled with big statements of every length from 1 to 5000."""
    values = list(ids)
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    if _has_json_each(sqlite3.sqlite_version):
        listed = func.json_each(bindparam(None, json.dumps(values), type_=String))
        return column.in_(select(listed.table_valued("value").c.value))
    if values:
        size = 1 << (len(values) - 1).bit_length()
        values += [values[0]] * (size - len(values))
    return column.in_(values)


@cache
def _has_json_each(version: str) -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT value FROM json_each('[1]')").close()
    except sqlite3.OperationalError:
        return False
    return True


def _show(value: Any, money: bool) -> str:
    if value is None:
        return "(blank)"
    if money and isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Handler:
    spec: KindSpec
    table: Table
    compared: tuple[str, ...]
    money: frozenset[str] = frozenset()
    # The tables an import writes, with about how many rows each gets per file row.
    writes: ClassVar[dict[str, int]] = {}

    def __init__(self, catalog: Catalog, as_of: date) -> None:
        self.catalog = catalog
        self.as_of = as_of

    def validate(self, item: Pending) -> None:
        """Checks of the row on its own; errors are added to ``item``."""

    def prepare(self, connection: Connection) -> None:
        """Once per import, before the first row is written."""

    def lookup(self, connection: Connection, items: list[Pending]) -> None:
        """Checks of the rows' references against the store."""

    def check(self, connection: Connection, items: list[Pending]) -> None:
        """References, then existing ids: identical rows are marked ``skip``, rows
        that differ from the stored one get an error naming the first difference."""
        self.lookup(connection, items)
        items = [i for i in items if not i.errors]
        if not items:
            return
        key = self.spec.key
        columns = [self.table.c[key], *(self.table.c[c] for c in self.compared)]
        ids = [i.record[key] for i in items]
        query = select(*columns).where(member_of(connection, self.table.c[key], ids))
        stored = {row[key]: row for row in connection.execute(query).mappings()}
        for item in items:
            old = stored.get(item.record[key])
            if old is None:
                continue
            for column in self.compared:
                if old[column] != item.record[column]:
                    money = column in self.money
                    item.error(
                        column,
                        f"{self.spec.noun} {item.record[key]} already exists with {column} "
                        f"{_show(old[column], money)}; this row has "
                        f"{_show(item.record[column], money)}",
                    )
                    break
            else:
                item.skip = True

    def write(self, connection: Connection, items: list[Pending], batch_id: int) -> None:
        constants = {"import_batch_id": batch_id, **self.extra_columns(utcnow())}
        bulk_insert(connection, self.table, [i.record for i in items], constants=constants)

    def extra_columns(self, now: Any) -> dict[str, Any]:
        return {}


class CustomerHandler(Handler):
    spec = CUSTOMERS
    table = TABLES["customers"]
    compared = tuple(c for c in CUSTOMERS.names if c != "customer_id")
    writes: ClassVar[dict[str, int]] = {"customers": 1}

    def extra_columns(self, now: Any) -> dict[str, Any]:
        return {"created_at": now}


class LoanHandler(Handler):
    spec = LOANS
    table = TABLES["loans"]
    compared = tuple(c for c in LOANS.names if c != "loan_id")
    money = frozenset({"principal"})
    writes: ClassVar[dict[str, int]] = {"loans": 1, "installments": 20, "entries": 1, "legs": 1}

    def prepare(self, connection: Connection) -> None:
        ensure_products(connection, self.catalog)
        self._booking = Booking(connection)

    def validate(self, item: Pending) -> None:
        r = item.record
        product = self.catalog.products.get(r["product_code"])
        if product is None:
            known = ", ".join(sorted(self.catalog.products))
            item.error("product_code", f"unknown product {r['product_code']!r} (known: {known})")
            return
        currency = r["currency"] = r["currency"] or product.currency
        if currency != product.currency:
            item.error(
                "currency", f"must be {product.currency} for product {product.code}, got {currency}"
            )
        principal: Decimal = r["principal"]
        places = MINOR_UNITS.get(product.currency, 2)
        if principal <= 0:
            item.error("principal", f"must be positive, got {principal}")
        elif principal >= MONEY_LIMIT:
            item.error("principal", f"{TOO_LARGE}, got {shorten(str(principal))}")
        elif not fits_places(principal, places):
            item.error(
                "principal",
                f"has more decimals than {product.currency} allows ({places}): {principal}",
            )
        if r["annual_rate"] is None:
            r["annual_rate"] = product.annual_rate
        rate: Decimal = r["annual_rate"]
        if not Decimal(0) <= rate <= Decimal(1):
            item.error("annual_rate", f"must be between 0 and 1 (write 0.18 for 18%), got {rate}")
        elif not fits_places(rate, 8):
            item.error("annual_rate", f"has more than 8 decimals: {rate}")
        if r["term_months"] is None:
            r["term_months"] = product.term_months
        term: int = r["term_months"]
        if not 1 <= term <= MAX_TERM_MONTHS:
            item.error("term_months", f"must be between 1 and {MAX_TERM_MONTHS}, got {term}")
        disbursed: date = r["disbursed_on"]
        if disbursed > self.as_of:
            item.error("disbursed_on", f"is in the future: {disbursed} is after {self.as_of}")
        first_due = r["first_due_date"]
        if first_due is not None and first_due <= disbursed:
            item.error("first_due_date", f"must be after disbursed_on {disbursed}, got {first_due}")
        if item.errors:
            return
        try:
            terms = LoanTerms(principal, rate, term, disbursed, first_due)
            item.schedule = self._booking.schedule(product, terms)
        except DomainError as exc:
            item.error("principal", f"no schedule can be built: {exc}")

    def lookup(self, connection: Connection, items: list[Pending]) -> None:
        customers = TABLES["customers"].c.customer_id
        wanted = {i.record["customer_id"] for i in items}
        known = set(
            connection.execute(
                select(customers).where(member_of(connection, customers, wanted))
            ).scalars()
        )
        for item in items:
            if item.record["customer_id"] not in known:
                item.error(
                    "customer_id",
                    f"unknown customer {item.record['customer_id']} (import the customers first)",
                )

    def write(self, connection: Connection, items: list[Pending], batch_id: int) -> None:
        super().write(connection, items, batch_id)
        booking = self._booking
        installments: list[tuple[Any, ...]] = []
        heads: list[tuple[Any, ...]] = []
        legs: list[tuple[Any, ...]] = []
        created = booking.created(utcnow())
        for item in items:
            r = item.record
            loan_id = r["loan_id"]
            assert item.schedule is not None  # validate built it
            installments += item.schedule.rows(loan_id)
            head, entry_legs = booking.disbursement(
                loan_id, r["currency"], r["disbursed_on"], r["principal"], created
            )
            heads.append(head)
            legs += entry_legs
        insert_encoded(connection, "installments", INSTALLMENT_COLUMNS, installments)
        insert_encoded(connection, "entries", ENTRY_COLUMNS, heads)
        insert_encoded(connection, "legs", LEG_COLUMNS, legs)

    def extra_columns(self, now: Any) -> dict[str, Any]:
        return {"status": "active", "created_at": now}


class PaymentHandler(Handler):
    spec = PAYMENTS
    table = TABLES["payments"]
    compared = tuple(c for c in PAYMENTS.names if c != "payment_ref")
    money = frozenset({"amount"})
    writes: ClassVar[dict[str, int]] = {"payments": 1}

    def __init__(self, catalog: Catalog, as_of: date) -> None:
        super().__init__(catalog, as_of)
        self._loans: dict[str, tuple[str, date]] = {}
        self._shared: dict[Any, Any] = {}

    def validate(self, item: Pending) -> None:
        amount: Decimal = item.record["amount"]
        if amount <= 0:
            item.error("amount", f"must be positive, got {amount}")
        elif amount >= MONEY_LIMIT:
            item.error("amount", f"{TOO_LARGE}, got {shorten(str(amount))}")
        elif not fits_places(amount, 2):
            item.error("amount", f"has more than 2 decimals: {amount}")
        if item.record["paid_on"] > self.as_of:
            item.error(
                "paid_on", f"is in the future: {item.record['paid_on']} is after {self.as_of}"
            )

    def lookup(self, connection: Connection, items: list[Pending]) -> None:
        # One query per batch for the loans not seen in earlier batches; the loans
        # seen are kept up to LOAN_CACHE_SIZE (memory stays bounded however many
        # loans a payments file touches). The import changes no loan, so a loan's
        # currency and disbursement date stay what they were read as.
        found = self._loans
        wanted = {i.record["loan_id"] for i in items} - found.keys()
        if len(found) + len(wanted) > LOAN_CACHE_SIZE:
            found.clear()
            wanted = {i.record["loan_id"] for i in items}
        if wanted:
            loans = TABLES["loans"]
            query = select(loans.c.loan_id, loans.c.currency, loans.c.disbursed_on)
            rows = connection.execute(query.where(member_of(connection, loans.c.loan_id, wanted)))
            shared = self._shared  # one object per distinct currency and date
            found.update(
                (loan_id, (shared.setdefault(currency, currency), shared.setdefault(day, day)))
                for loan_id, currency, day in rows
            )
        for item in items:
            r = item.record
            loan = found.get(r["loan_id"])
            if loan is None:
                item.error("loan_id", f"unknown loan {r['loan_id']} (import the loans first)")
                continue
            currency, disbursed = loan
            if r["currency"] is None:
                r["currency"] = currency
            elif r["currency"] != currency:
                item.error(
                    "currency", f"must be {currency}, the loan's currency, got {r['currency']}"
                )
            if r["paid_on"] < disbursed:
                item.error(
                    "paid_on", f"{r['paid_on']} is before the loan's disbursement on {disbursed}"
                )
            places = MINOR_UNITS.get(currency, 2)
            if not fits_places(r["amount"], places):
                item.error("amount", f"has more decimals than {currency} allows: {r['amount']}")


HANDLERS: dict[str, type[Handler]] = {
    "customers": CustomerHandler,
    "loans": LoanHandler,
    "payments": PaymentHandler,
}
