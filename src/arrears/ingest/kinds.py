"""What each kind of file means for the store: its checks and the rows it writes.

A handler sees rows in three steps: ``validate`` (the row alone: ranges, product
rules, the schedule), ``check`` (a batch against the store: referenced customers
and loans exist, an id already stored is either identical, and skipped, or an
error), and ``write`` (Core bulk inserts of the batch's good rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, Column, Connection, Table, any_, bindparam, select

from arrears.domain.errors import DomainError
from arrears.domain.ledger import Ledger
from arrears.domain.money import MINOR_UNITS
from arrears.domain.operations import disburse
from arrears.domain.products import Catalog
from arrears.domain.schedule import Installment, LoanTerms, build_schedule
from arrears.ingest.spec import CUSTOMERS, LOANS, PAYMENTS, KindSpec, fits_places
from arrears.store.models import TABLES, utcnow
from arrears.store.rows import bulk_insert, ensure_products, entry_rows, installment_rows

MAX_TERM_MONTHS = 480
SCHEDULE_CACHE_SIZE = 20_000


@dataclass(slots=True)
class Pending:
    """A parsed row on its way to the store."""

    row: int
    cells: list[Any]
    record: dict[str, Any]
    errors: list[tuple[str, str]]
    skip: bool = False
    schedule: tuple[Installment, ...] = field(default=())

    def error(self, column: str, reason: str) -> None:
        self.errors.append((column, reason))


def member_of(connection: Connection, column: Column[Any], ids: Iterable[Any]) -> Any:
    """``column IN ids`` as each database likes it for thousands of ids: one array
    parameter (``= ANY(:ids)``) on PostgreSQL; on SQLite an IN list padded (by
    repeating an id) to a power-of-two length, because the driver caches a prepared
    statement per distinct SQL text and lists of every length from 1 to 5000 would
    fill that cache with big statements."""
    values = list(ids)
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    if values:
        size = 1 << (len(values) - 1).bit_length()
        values += [values[0]] * (size - len(values))
    return column.in_(values)


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
        now = utcnow()
        rows = [{**i.record, "import_batch_id": batch_id, **self.extra_columns(now)} for i in items]
        bulk_insert(connection, self.table, rows)

    def extra_columns(self, now: Any) -> dict[str, Any]:
        return {}


class CustomerHandler(Handler):
    spec = CUSTOMERS
    table = TABLES["customers"]
    compared = tuple(c for c in CUSTOMERS.names if c != "customer_id")

    def extra_columns(self, now: Any) -> dict[str, Any]:
        return {"created_at": now}


class LoanHandler(Handler):
    spec = LOANS
    table = TABLES["loans"]
    compared = tuple(c for c in LOANS.names if c != "loan_id")
    money = frozenset({"principal"})

    def __init__(self, catalog: Catalog, as_of: date) -> None:
        super().__init__(catalog, as_of)
        self._schedules: dict[tuple[Any, ...], tuple[Installment, ...]] = {}

    def prepare(self, connection: Connection) -> None:
        ensure_products(connection, self.catalog)

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
        key = (product.code, principal, rate, term, disbursed, first_due)
        schedule = self._schedules.get(key)
        if schedule is None:
            try:
                schedule = build_schedule(
                    product, LoanTerms(principal, rate, term, disbursed, first_due)
                )
            except DomainError as exc:
                item.error("principal", f"no schedule can be built: {exc}")
                return
            if len(self._schedules) >= SCHEDULE_CACHE_SIZE:
                self._schedules.clear()
            self._schedules[key] = schedule
        item.schedule = schedule

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
        installments: list[dict[str, Any]] = []
        heads: list[dict[str, Any]] = []
        legs: list[dict[str, Any]] = []
        now = utcnow()
        for item in items:
            r = item.record
            loan_id = r["loan_id"]
            installments += installment_rows(loan_id, item.schedule)
            entry = disburse(
                Ledger(loan_id, r["currency"]), f"disb:{loan_id}", r["disbursed_on"], r["principal"]
            ).entry
            head, entry_legs = entry_rows(loan_id, entry, seq=1, created_at=now)
            heads.append(head)
            legs += entry_legs
        bulk_insert(connection, "installments", installments)
        bulk_insert(connection, "entries", heads)
        bulk_insert(connection, "legs", legs)

    def extra_columns(self, now: Any) -> dict[str, Any]:
        return {"status": "active", "created_at": now}


class PaymentHandler(Handler):
    spec = PAYMENTS
    table = TABLES["payments"]
    compared = tuple(c for c in PAYMENTS.names if c != "payment_ref")
    money = frozenset({"amount"})

    def validate(self, item: Pending) -> None:
        amount: Decimal = item.record["amount"]
        if amount <= 0:
            item.error("amount", f"must be positive, got {amount}")
        elif not fits_places(amount, 2):
            item.error("amount", f"has more than 2 decimals: {amount}")
        if item.record["paid_on"] > self.as_of:
            item.error(
                "paid_on", f"is in the future: {item.record['paid_on']} is after {self.as_of}"
            )

    def lookup(self, connection: Connection, items: list[Pending]) -> None:
        # One query per batch and no cache across batches: memory stays bounded
        # however many loans a payments file touches.
        loans = TABLES["loans"]
        wanted = {i.record["loan_id"] for i in items}
        query = select(loans.c.loan_id, loans.c.currency, loans.c.disbursed_on)
        found = {
            loan_id: (currency, disbursed)
            for loan_id, currency, disbursed in connection.execute(
                query.where(member_of(connection, loans.c.loan_id, wanted))
            )
        }
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
