"""Enforcement costs (实现债权的有关费用) in the dated snapshot: a loan with a cost posted
shows it in the snapshot's ``costs``, and its ``total_due`` and ``overdue_amount`` count
it exactly as the domain core's ``DayState`` does, on the reference close over the store
and on the batch engine (DuckDB)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from arrears.batch.carried import _STATE_NUMBERS, carried_file, read_carried, write_carried
from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference import close_book
from arrears.batch.reference_states import prepare, reference_states
from arrears.batch.sample import SampleLoan
from arrears.domain import operations as ops
from arrears.domain.account import DayState, Payment, advance, open_account
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.snapshots import MONEY_COLUMNS, read_snapshot
from arrears.store.repositories import EntryRepository
from arrears.workspace import Workspace

D = Decimal
CATALOG = load_catalog()
AS_OF = date(2026, 6, 30)
FIRST = AS_OF - timedelta(days=3)  # closed, then the cost is posted the day after
COST, COST_ON = D("500.00"), FIRST + timedelta(days=1)


def _matches(row: dict, state: DayState) -> None:
    assert row["costs"] == state.costs
    assert row["total_due"] == state.total_due
    assert row["overdue_amount"] == state.overdue_amount


def _domain_states(book: Path, loan_id: str) -> dict[date, DayState]:
    """The loan straight through the domain core: closed through FIRST, the cost booked,
    then each day to AS_OF."""
    loan = pq.read_table(book / "loans.parquet", filters=[("loan_id", "==", loan_id)])
    spec = loan.to_pylist()[0]
    terms = LoanTerms(
        spec["principal"],
        spec["annual_rate"],
        spec["term_months"],
        spec["disbursed_on"],
        spec["first_due_date"],
    )
    pays = pq.read_table(book / "payments.parquet", filters=[("loan_id", "==", loan_id)])
    payments = sorted(
        (Payment(p["payment_ref"], p["paid_on"], p["amount"]) for p in pays.to_pylist()),
        key=lambda p: p.paid_on,
    )
    acc = open_account(loan_id, CATALOG.product(spec["product_code"]), terms)
    acc, _ = advance(acc, FIRST, [p for p in payments if p.paid_on <= FIRST])
    acc = replace(acc, ledger=ops.charge_cost(acc.ledger, "cost-1", COST_ON, COST).ledger)
    later = [p for p in payments if FIRST < p.paid_on <= AS_OF]
    _, states = advance(acc, AS_OF, later, CATALOG, record_from=COST_ON)
    return {s.as_of: s for s in states}


def test_the_reference_close_shows_the_costs_in_the_snapshot(tmp_path: Path):
    book = tmp_path / "book"
    generate_portfolio(book, 60, AS_OF, seed=5)
    ws = Workspace.at(tmp_path / "ws", f"sqlite:///{tmp_path / 'ws.db'}")
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + timedelta(1))
    close_book(ws, FIRST, 1)
    paid_later = {
        p["loan_id"]
        for p in pq.read_table(book / "payments.parquet").to_pylist()
        if p["paid_on"] > FIRST
    }
    quiet = [
        r
        for r in read_snapshot(ws.snapshots_dir, FIRST).to_pylist()
        if r["status"] == "active" and r["loan_id"] not in paid_later
    ]
    assert quiet, "the generated book has an active loan paying nothing after FIRST"
    loan_id = max(quiet, key=lambda r: (r["dpd"], r["loan_id"]))["loan_id"]  # the most overdue
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        entries.add_entry(
            loan_id, ops.charge_cost(entries.ledger(loan_id), "cost-1", COST_ON, COST).entry
        )
        session.commit()
    close_book(ws, AS_OF, (AS_OF - FIRST).days)
    expected = _domain_states(book, loan_id)
    for day in (COST_ON, AS_OF):
        (row,) = read_snapshot(ws.snapshots_dir, day, loans=[loan_id]).to_pylist()
        state = expected[day]
        assert state.costs == COST  # nothing paid since: the whole cost is owed
        _matches(row, state)
        # the totals are the snapshot's own columns plus the costs
        charges = row["penalty"] + row["compound"] + row["fee"] + row["costs"]
        assert row["total_due"] == row["principal_due"] + row["interest_due"] + charges
        assert row["overdue_amount"] == row["overdue_principal"] + row["overdue_interest"] + charges


def test_the_duckdb_close_shows_the_costs_in_the_snapshot(tmp_path: Path):
    # two CONSUMER loans owing #1 and #2, 500.00 of costs booked on each on 1 Apr; one
    # pays 300.00 on 10 Apr (the waterfall settles the costs first), the other nothing
    start, end = date(2025, 4, 7), date(2025, 4, 12)
    product = CATALOG.product("CONSUMER")
    sample = []
    for loan_id, pays in (
        ("COST-NONE", ()),
        ("COST-PAID", (Payment("p1", date(2025, 4, 10), D("300.00")),)),
    ):
        terms = LoanTerms(D(6000), D("0.18"), 12, date(2025, 2, 5))
        acc, _ = advance(open_account(loan_id, product, terms), date(2025, 4, 1))
        acc = replace(acc, ledger=ops.charge_cost(acc.ledger, "c1", date(2025, 4, 1), COST).ledger)
        sample.append(SampleLoan(acc, "C1", "late" if pays else "never", pays))
    book = BatchBook(tmp_path / "batch")
    prepare(book, sample, CATALOG, start)
    Closer(book, CATALOG, "duckdb", snapshots=tmp_path / "snapshots").close_through(end)
    reference = reference_states(sample, CATALOG, start, end)
    for day in (date(2025, 4, 9), end):
        rows = {r["loan_id"]: r for r in read_snapshot(tmp_path / "snapshots", day).to_pylist()}
        for loan_id, row in rows.items():
            _matches(row, reference[day][loan_id])
        assert rows["COST-NONE"]["costs"] == COST
        assert rows["COST-PAID"]["costs"] == (D("200.00") if day == end else COST)


def _workspace(root: Path, book: Path) -> Workspace:
    ws = Workspace.at(root, f"sqlite:///{root}.db")
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + timedelta(1))
    return ws


def test_states_carried_before_the_column_are_not_reused(tmp_path: Path):
    # a carried file of the layout before ``costs`` (each state one number shorter): the
    # next close loads those loans instead of moving them forward unloaded, and writes
    # what a close replaying every ledger writes
    book = tmp_path / "book"
    generate_portfolio(book, 60, AS_OF, seed=5)
    old, replaying = _workspace(tmp_path / "old", book), _workspace(tmp_path / "replay", book)
    close_book(old, FIRST, 1)
    close_book(replaying, FIRST, 1, carry=False)
    carried = read_carried(old.root)
    assert carried is not None
    costs_at = len(_STATE_NUMBERS) + MONEY_COLUMNS.index("costs")
    states = [
        None if s is None else s[:costs_at] + s[costs_at + 1 :]
        for s in carried.column("state").to_pylist()
    ]
    older = carried.set_column(
        carried.schema.get_field_index("state"), "state", pa.array(states, pa.list_(pa.int64()))
    )
    write_carried(older, carried_file(old.root))
    report = close_book(old, COST_ON, 1)
    assert report.loans_idle == 0
    close_book(replaying, COST_ON, 1, carry=False)
    assert read_snapshot(old.snapshots_dir, COST_ON).equals(
        read_snapshot(replaying.snapshots_dir, COST_ON)
    )
    # carried again in today's layout: the next close moves idle loans forward unloaded
    assert close_book(old, AS_OF, 1).loans_idle > 0
