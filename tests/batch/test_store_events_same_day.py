"""A waiver, a fee and an enforcement cost booked in the workbench on the day a payment
arrives: the batch engine (DuckDB, and Spark in the slow run), handed the book by
``handover.from_store``, closes those loans exactly as the reference close over the
store does. The workbench posts each to the ledger while its day is open, so the close
of that day starts from it and the day's payment settles what it left: half the 罚息
waived before a payment of all the charges owed (fee, 罚息, 复利) as the day starts, so
the waived half goes on to the interest; a fee booked before a payment that settles
it first; a cost booked before a payment that settles it first. (Booked after the day's
payment, the waiver would be of more than is owed: the engine refused that day.)"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from arrears.batch.close import BatchBook, Closer
from arrears.batch.handover import from_store
from arrears.batch.reference import close_book
from arrears.batch.state import day_number
from arrears.domain import operations as ops
from arrears.domain.products import Component
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.snapshots import MONEY_COLUMNS, snapshot_from_accounts
from arrears.store.db import make_engine, upgrade
from arrears.store.models import PaymentRow
from arrears.store.repositories import EntryRepository
from arrears.workspace import Workspace

AS_OF = date(2026, 6, 30)
WINDOW = 4
HANDED = AS_OF - timedelta(days=WINDOW)
ONE_DAY = timedelta(days=1)
DAY = HANDED + ONE_DAY  # the first open day: the workbench's bookings and the payments
COLUMNS = ["loan_id", "status", "dpd", *MONEY_COLUMNS]
# products whose waterfall settles the fee, 罚息 and 复利 before interest and principal
SETTLES_CHARGES_FIRST = ("CONSUMER", "SME")


def _cents(amount: int) -> Decimal:
    return Decimal(amount) / 100


def _quiet_delinquent(book: BatchBook, count: int) -> list[dict]:
    """Active loans of ``SETTLES_CHARGES_FIRST`` owing a late fee, 罚息 and more interest
    than 罚息 on ``HANDED``, with no payment of their own and no installment falling due
    or grace ending from ten days before it to the end."""
    accounts = book.read_state(HANDED)[0].to_pylist()
    schedule = pq.read_table(book.static("schedule")).to_pylist()
    paid = set(pq.read_table(book.static("payments")).column("loan_id").to_pylist())
    busy = {
        r["loan_id"] for r in schedule if day_number(HANDED) - 10 <= r["due"] <= day_number(AS_OF)
    }
    quiet = [
        r
        for r in accounts
        if r["status"] == "active"
        and r["product_code"] in SETTLES_CHARGES_FIRST
        and r["penalty"] > 200
        and r["fee"] > 0
        and r["interest_due"] > r["penalty"]
        and r["loan_id"] not in paid | busy
    ]
    assert len(quiet) >= count, len(quiet)
    return quiet[:count]


def _post(ws: Workspace, loan_id: str, post) -> None:
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        entries.add_entry(loan_id, post(entries.ledger(loan_id)).entry)
        session.commit()


def _pay(ws: Workspace, loan_id: str, amount: Decimal) -> None:
    with Session(ws.engine) as session:
        session.add(
            PaymentRow(
                payment_ref=f"same-day:{loan_id}",
                loan_id=loan_id,
                paid_on=DAY,
                amount=amount,
                currency="CNY",
            )
        )
        session.commit()


def _rows(table: pa.Table, loans: list[str]) -> list[dict]:
    picked = table.filter(pc.is_in(table.column("loan_id"), pa.array(loans)))
    return sorted(picked.select(COLUMNS).to_pylist(), key=lambda r: r["loan_id"])


@pytest.fixture(scope="module")
def handed(tmp_path_factory: pytest.TempPathFactory):
    """The store closed through ``HANDED`` by the reference close and handed over; on
    ``DAY`` the workbench's waiver, fee and cost and the three loans' payments; the
    reference close then closes the window."""
    folder = tmp_path_factory.mktemp("same-day")
    data = folder / "portfolio"
    generate_portfolio(data, 300, AS_OF, seed=11)
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite'}")
    upgrade(engine)
    ws = Workspace.at(folder / "ws", engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, data / f"{kind}.parquet", kind=kind, as_of=AS_OF + ONE_DAY)
    close_book(ws, HANDED, 1)
    book, start, _ = from_store(ws)
    assert start == HANDED
    waived, feed, costed = _quiet_delinquent(book, 3)
    # what each owes of charges as DAY starts: the payment would settle all of it
    charges = {r["loan_id"]: r["fee"] + r["penalty"] + r["compound"] for r in (waived, feed)}
    half = waived["penalty"] // 2
    w, f, c = waived["loan_id"], feed["loan_id"], costed["loan_id"]
    _post(ws, w, lambda g: ops.waive(g, "w:1", DAY, Component.PENALTY, _cents(half), "w"))
    _pay(ws, w, _cents(charges[w]))
    _post(ws, f, lambda g: ops.charge_fee(g, "f:1", DAY, Decimal("45.00"), "fee"))
    _pay(ws, f, _cents(charges[f] + 4500))
    _post(ws, c, lambda g: ops.charge_cost(g, "c:1", DAY, Decimal("800.00"), "court"))
    _pay(ws, c, Decimal("100.00"))
    book, _, pending = from_store(ws)
    assert pending >= 3
    assert len(pq.read_table(book.static("events"))) == 3
    close_book(ws, AS_OF, WINDOW)
    yield ws, book, {"waived": waived, "feed": feed, "costed": costed, "half": half}
    engine.dispose()


def _engine_equals_reference(ws: Workspace, book: BatchBook, loans: list[str], last: date):
    day = DAY
    while day <= last:
        mine = _rows(snapshot_from_accounts(book.read_state(day)[0]), loans)
        theirs = _rows(pq.read_table(ws.snapshot_path(day)), loans)
        diffs = [
            (g["loan_id"], k, g[k], w[k])
            for g, w in zip(mine, theirs, strict=True)
            for k in COLUMNS
            if g[k] != w[k]
        ]
        assert len(mine) == len(loans) and not diffs, (day, diffs)
        day += ONE_DAY


def test_duckdb_books_the_workbench_before_the_days_payment(handed):
    ws, book, picked = handed
    Closer(book, ws.catalog, "duckdb").close_through(AS_OF)
    loans = sorted(picked[k]["loan_id"] for k in ("waived", "feed", "costed"))
    _engine_equals_reference(ws, book, loans, AS_OF)
    # not vacuous: the payment met what each booking left
    before = {r["loan_id"]: r for r in book.read_state(HANDED)[0].to_pylist()}
    on = {r["loan_id"]: r for r in book.read_state(DAY)[0].to_pylist()}
    w, f, c = (picked[k]["loan_id"] for k in ("waived", "feed", "costed"))
    # the charges settled with half the 罚息 waived: the other half paid interest
    assert on[w]["fee"] == 0
    assert on[w]["interest_due"] == before[w]["interest_due"] - picked["half"]
    assert on[f]["fee"] == 0  # the day's fee settled first, with the late fee
    assert on[c]["costs"] == 80000 - 10000  # the cost settled first


@pytest.mark.slow
def test_spark_books_the_workbench_before_the_days_payment(handed, tmp_path, monkeypatch):
    """The same Ibis code on Spark (local mode), from the handed-over state through the
    day after the bookings: equal to the reference close."""
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")
    ws, book, picked = handed
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(book.root, spark.root)
    for day in spark.state_dates():
        if day > HANDED:
            shutil.rmtree(spark.state_dir(day))
    last = DAY + ONE_DAY
    Closer(spark, ws.catalog, "spark").close_through(last)
    loans = sorted(picked[k]["loan_id"] for k in ("waived", "feed", "costed"))
    _engine_equals_reference(ws, spark, loans, last)
