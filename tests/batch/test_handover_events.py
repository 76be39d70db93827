"""``handover.from_store`` writes the store's waivers, fees and enforcement costs dated
after the batch book's start into its ``events`` table, and leaves those dated after the
start out of the state it hands over, so the engine books each once, on its day; the
engine's snapshots then equal the reference close's for the loans carrying them (and
for a loan the workbench paused: the store's DPD pauses go into the ``pauses`` table) (on days
where no payment, installment or late fee shares the event's day: the reference close
has a stored event before the close of its day, the engine after the day's payments;
and dated on the first open day, as the workbench books them: the reference close counts
a stored entry from when it is stored, whatever its date)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from arrears.batch.close import Closer
from arrears.batch.handover import batch_book, from_store
from arrears.batch.reference import close_book
from arrears.batch.state import day_number
from arrears.domain import operations as ops
from arrears.domain.products import Component
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.snapshots import MONEY_COLUMNS, snapshot_from_accounts
from arrears.store.db import make_engine, upgrade
from arrears.store.models import DpdPause
from arrears.store.repositories import EntryRepository
from arrears.workspace import Workspace
from charge_off_support import init_without_charge_off

AS_OF = date(2026, 6, 30)
WINDOW = 5
HANDED = AS_OF - timedelta(days=WINDOW)
ONE_DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated book without the loans disbursed inside the window."""
    folder = tmp_path_factory.mktemp("portfolio")
    generate_portfolio(folder, 300, AS_OF, seed=7)
    loans = pq.read_table(folder / "loans.parquet")
    loans = loans.filter(pc.less_equal(loans.column("disbursed_on"), pa.scalar(HANDED)))
    pq.write_table(loans, folder / "loans.parquet")
    payments = pq.read_table(folder / "payments.parquet")
    pq.write_table(
        payments.filter(pc.is_in(payments.column("loan_id"), loans.column("loan_id"))),
        folder / "payments.parquet",
    )
    return folder


def _quiet_delinquent(ws: Workspace, count: int) -> list[dict]:
    """Active loans owing 罚息 on ``HANDED`` with no payment, no installment falling
    due and no grace ending from the day before the window to its end."""
    book, _, _ = from_store(ws)
    accounts = book.read_state(HANDED)[0].to_pylist()
    schedule = pq.read_table(book.static("schedule")).to_pylist()
    paid = set(pq.read_table(book.static("payments")).column("loan_id").to_pylist())
    busy = {
        r["loan_id"] for r in schedule if day_number(HANDED) - 10 <= r["due"] <= day_number(AS_OF)
    }
    quiet = [
        r
        for r in accounts
        if r["status"] == "active" and r["penalty"] > 200 and r["loan_id"] not in paid | busy
    ]
    assert len(quiet) >= count, len(quiet)
    return quiet[:count]


def _book(ws: Workspace, loan_id: str, post) -> None:
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        entries.add_entry(loan_id, post(entries.ledger(loan_id)).entry)
        session.commit()


def test_from_store_hands_the_stored_events_to_the_engine(tmp_path: Path, portfolio: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade(engine)
    ws = Workspace.at(tmp_path / "ws", engine.url.render_as_string(hide_password=False))
    # the events are booked on delinquent loans that stay on the book
    init_without_charge_off(ws)
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, portfolio / f"{kind}.parquet", kind=kind, as_of=AS_OF + ONE_DAY)
    close_book(ws, HANDED, 1)
    # a first handover picks the loans; the book is then handed over again from scratch
    picked = _quiet_delinquent(ws, 4)
    fee_loan, waived, costed, paused = (r["loan_id"] for r in picked)
    waived_penalty = picked[1]["penalty"]
    shutil.rmtree(batch_book(ws).root)

    # booked before the handover, dated on the first open day (as the workbench books:
    # the reference close has a stored entry from when it is stored, whatever its date)
    fee_on = HANDED + ONE_DAY
    _book(ws, fee_loan, lambda g: ops.charge_fee(g, "fee:1", fee_on, Decimal("45.00"), "fee"))
    book, start, _ = from_store(ws)
    assert start == HANDED
    handed = {r["loan_id"]: r for r in book.read_state(HANDED)[0].to_pylist()}
    reference = {r["loan_id"]: r for r in pq.read_table(ws.snapshot_path(HANDED)).to_pylist()}
    assert Decimal(handed[fee_loan]["fee"]) / 100 == reference[fee_loan]["fee"]  # not yet

    # booked after it
    waive_on = cost_on = HANDED + ONE_DAY
    half = Decimal(waived_penalty // 2) / 100
    _book(ws, waived, lambda g: ops.waive(g, "w:1", waive_on, Component.PENALTY, half, "w"))
    _book(ws, costed, lambda g: ops.charge_cost(g, "c:1", cost_on, Decimal("800.00"), "c"))
    # and a DPD pause placed in the workbench: the pauses table goes with the events
    with Session(ws.engine) as session:
        session.add(DpdPause(loan_id=paused, reason="hardship", pause_on=HANDED + ONE_DAY))
        session.commit()
    book, _, _ = from_store(ws)
    assert pq.read_table(book.static("pauses")).to_pylist() == [
        {"loan_id": paused, "pause_on": day_number(HANDED + ONE_DAY), "pause_until": None}
    ]
    events = pq.read_table(book.static("events")).to_pylist()
    assert [(e["loan_id"], e["kind"], e["component"], e["amount"], e["ref"]) for e in events] == [
        (fee_loan, "fee", None, 4500, "fee:1"),
        (waived, "waiver", "penalty", int(half * 100), "w:1"),
        (costed, "cost", None, 80000, "c:1"),
    ]

    close_book(ws, AS_OF, WINDOW)
    Closer(book, ws.catalog, "duckdb").close_through(AS_OF)
    loans = {fee_loan, waived, costed, paused}
    columns = ["loan_id", "status", "dpd", *MONEY_COLUMNS]
    day = HANDED + ONE_DAY
    while day <= AS_OF:
        mine = snapshot_from_accounts(book.read_state(day)[0])
        theirs = pq.read_table(ws.snapshot_path(day))
        pick = pa.array(sorted(loans))
        got = mine.filter(pc.is_in(mine.column("loan_id"), pick)).select(columns)
        want = theirs.filter(pc.is_in(theirs.column("loan_id"), pick)).select(columns)
        got_rows = sorted(got.to_pylist(), key=lambda r: r["loan_id"])
        want_rows = sorted(want.to_pylist(), key=lambda r: r["loan_id"])
        diffs = [
            (g["loan_id"], k, g[k], w[k])
            for g, w in zip(got_rows, want_rows, strict=True)
            for k in columns
            if g[k] != w[k]
        ]
        assert not diffs, (day, diffs)
        day += ONE_DAY
    last = {r["loan_id"]: r for r in book.read_state(AS_OF)[0].to_pylist()}
    assert last[costed]["costs"] == 80000
    assert last[fee_loan]["fee"] >= 4500
    handed_dpd = next(r["dpd"] for r in picked if r["loan_id"] == paused)
    assert last[paused]["dpd"] == handed_dpd  # held by the pause
    engine.dispose()
