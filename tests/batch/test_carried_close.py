"""The close carries each loan's state instead of replaying whole ledgers: over several
closes with workbench changes (a waiver, a schedule extension), a late-imported loan and
a late payment in between, the carrying close writes exactly what a close replaying
every stored ledger writes (entries, legs, loans, cases, snapshot bytes), on SQLite and
PostgreSQL; and every carried balance equals the sum of the loan's stored legs."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from arrears.batch.book import load_book
from arrears.batch.carried import carried_states, read_carried
from arrears.batch.reference import close_book
from arrears.domain.account import cost_charged, overdue_days
from arrears.domain.ledger import EntryKind
from arrears.domain.operations import waive
from arrears.domain.products import Component
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.case_check import check_cases
from arrears.services.workbench import restructure
from arrears.services.workbench.arrangements import _replace_schedule, remaining_installments
from arrears.store.db import make_engine, upgrade
from arrears.store.models import CaseRow, EntryRow, LegRow, Loan
from arrears.store.repositories import EntryRepository
from arrears.workspace import Workspace

AS_OF = date(2026, 6, 30)
FIRST, SECOND = AS_OF - timedelta(days=60), AS_OF - timedelta(days=30)
LATE = 5  # loans imported only after the first close


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, 300, AS_OF, seed=11)
    loans = pq.read_table(folder / "loans.parquet")
    payments = pq.read_table(folder / "payments.parquet")
    late = loans.column("loan_id").to_pylist()[-LATE:]
    is_late = pc.is_in(loans.column("loan_id"), pa.array(late))
    pays_late = pc.is_in(payments.column("loan_id"), pa.array(late))
    pq.write_table(loans.filter(pc.invert(is_late)), folder / "early_loans.parquet")
    pq.write_table(loans.filter(is_late), folder / "late_loans.parquet")
    pq.write_table(payments.filter(pc.invert(pays_late)), folder / "early_payments.parquet")
    pq.write_table(payments.filter(pays_late), folder / "late_payments.parquet")
    return folder


def _workspace(engine: Engine, root: Path, book: Path) -> Workspace:
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind, name in (("customers", "customers"), ("loans", "early_loans")):
        import_file(ws.engine, book / f"{name}.parquet", kind=kind, as_of=AS_OF + timedelta(1))
    _import_payments(ws, book / "early_payments.parquet", FIRST)
    return ws


def _import_payments(ws: Workspace, path: Path, through: date) -> None:
    """The payments of ``path`` received by ``through`` (a close sees what was imported)."""
    table = pq.read_table(path)
    table = table.filter(pc.less_equal(table.column("paid_on"), pa.scalar(through)))
    if table.num_rows:
        part = path.with_name(f"{path.stem}-{through}.parquet")
        pq.write_table(table, part)
        import_file(ws.engine, part, kind="payments", as_of=AS_OF + timedelta(1))


def _later_payments(ws: Workspace, path: Path, after: date, through: date) -> None:
    table = pq.read_table(path)
    paid = table.column("paid_on")
    table = table.filter(
        pc.and_(pc.greater(paid, pa.scalar(after)), pc.less_equal(paid, pa.scalar(through)))
    )
    if table.num_rows:
        part = path.with_name(f"{path.stem}-{after}-{through}.parquet")
        pq.write_table(table, part)
        import_file(ws.engine, part, kind="payments", as_of=AS_OF + timedelta(1))


def _workbench(ws: Workspace, on: date) -> tuple[str, str]:
    """A waiver of a charged loan's penalty and an extension of another loan's schedule,
    as an approved arrangement posts them; returns the two loan ids."""
    snapshot = pq.read_table(ws.snapshot_path(FIRST)).to_pylist()
    charged = next(r for r in snapshot if r["penalty"] > Decimal("1") and r["status"] == "active")
    current = next(
        r
        for r in snapshot
        if r["dpd"] == 0 and r["status"] == "active" and r["principal_not_due"] > 0
    )
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        ledger = entries.ledger(charged["loan_id"])
        half = (charged["penalty"] / 2).quantize(Decimal("0.01"))
        result = waive(ledger, "arr:1:waive", on, Component.PENALTY, half, "arrangement 1")
        entries.add_entry(charged["loan_id"], result.entry)
        ledger = entries.ledger(current["loan_id"])
        remaining = remaining_installments(session, current["loan_id"], ledger)
        _replace_schedule(session, current["loan_id"], restructure.extend(remaining, 2))
        session.commit()
    return charged["loan_id"], current["loan_id"]


def _history(ws: Workspace, book: Path, carry: bool) -> list:
    """Three closes, with workbench changes, a late loan and late payments in between."""
    reports = [close_book(ws, FIRST, 1, carry=carry)]
    _workbench(ws, FIRST + timedelta(days=1))
    import_file(ws.engine, book / "late_loans.parquet", kind="loans", as_of=AS_OF + timedelta(1))
    _import_payments(ws, book / "late_payments.parquet", SECOND)
    _later_payments(ws, book / "early_payments.parquet", FIRST, SECOND)
    reports.append(close_book(ws, SECOND, 2, carry=carry))
    _later_payments(ws, book / "late_payments.parquet", SECOND, AS_OF)
    _later_payments(ws, book / "early_payments.parquet", SECOND, AS_OF)
    reports.append(close_book(ws, AS_OF, 3, carry=carry))
    return reports


def _store(ws: Workspace) -> dict[str, list]:
    e, g, loans, cases = (
        EntryRow.__table__.c,
        LegRow.__table__.c,
        Loan.__table__.c,
        CaseRow.__table__.c,
    )
    queries = {
        "entries": select(e.loan_id, e.ref, e.kind, e.posted_on, e.amount, e.reverses, e.seq),
        "legs": select(g.loan_id, g.ref, g.line, g.installment, g.account, g.amount),
        "loans": select(loans.loan_id, loans.closed_through, loans.status),
        "cases": select(
            cases.loan_id,
            cases.status,
            cases.opened_on,
            cases.closed_on,
            cases.dpd,
            cases.amount_overdue,
        ),
    }
    with ws.engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(q).all())) for name, q in queries.items()}


def _in_recovery(conn: Connection) -> set[str]:
    """The loans charged off and in recovery: written off, their cases open."""
    query = (
        select(Loan.loan_id)
        .join(CaseRow, CaseRow.loan_id == Loan.loan_id)
        .where(Loan.status == "written_off", CaseRow.status == "open")
    )
    return set(conn.execute(query).scalars())


def test_the_carrying_close_writes_what_replaying_every_ledger_writes(
    engine: Engine, tmp_path: Path, book: Path
):
    carrying = _workspace(engine, tmp_path / "carry", book)
    oracle_engine = make_engine(f"sqlite:///{tmp_path / 'oracle.sqlite'}")
    upgrade(oracle_engine)
    replaying = _workspace(oracle_engine, tmp_path / "replay", book)

    reports = _history(carrying, book, carry=True)
    oracle = _history(replaying, book, carry=False)

    # the carrying close really carried: nothing on the first close (no state yet), then
    # every active loan but those someone posted to or that are new
    assert reports[0].loans_resumed == 0 and all(r.loans_resumed == 0 for r in oracle)
    assert 0 < reports[1].loans_resumed <= reports[1].loans - LATE - 1
    assert reports[2].loans_resumed > 0.8 * reports[2].loans
    assert [r.days for r in reports] == [r.days for r in oracle]
    assert [r.entries_posted for r in reports] == [r.entries_posted for r in oracle]
    assert _store(carrying) == _store(replaying)
    for report in reports:
        for day in report.days:
            path = carrying.snapshot_path(day)
            assert path.read_bytes() == replaying.snapshot_path(day).read_bytes(), day
    assert check_cases(carrying).ok
    oracle_engine.dispose()
    # the default rules charge loans off at 180 DPD: those in recovery (their cases open)
    # are carried too, and the next close resumes them from their carried state and their
    # write-off entries instead of replaying their ledgers
    with carrying.engine.connect() as conn:
        in_recovery = _in_recovery(conn)
        carried = carried_states(read_carried(carrying.root))
        following = load_book(conn, carrying.catalog, AS_OF + timedelta(days=1), carried=carried)
    assert in_recovery, "the generated book has loans in recovery"
    resumed = {a.loan_id: a for a in following.accounts if a.loan_id in following.carried}
    assert in_recovery <= resumed.keys()
    for loan_id in in_recovery:
        assert {e.kind for e in resumed[loan_id].ledger.entries} == {EntryKind.WRITE_OFF}


def test_carried_balances_and_cap_measures_equal_the_replay_of_the_ledger(
    engine: Engine, tmp_path: Path, book: Path
):
    ws = _workspace(engine, tmp_path / "ws", book)
    _history(ws, book, carry=True)
    carried = carried_states(read_carried(ws.root))
    g = LegRow.__table__.c
    with ws.engine.connect() as conn:
        sums = conn.execute(
            select(g.loan_id, g.installment, g.account, func.sum(g.amount)).group_by(
                g.loan_id, g.installment, g.account
            )
        ).all()
        last_seq = dict(
            conn.execute(
                select(EntryRow.loan_id, func.max(EntryRow.seq)).group_by(EntryRow.loan_id)
            ).all()
        )
        through = dict(conn.execute(select(Loan.loan_id, Loan.closed_through)).all())
        active = set(conn.execute(select(Loan.loan_id).where(Loan.status == "active")).scalars())
        in_recovery = _in_recovery(conn)
    legs: dict[str, dict] = {}
    for loan_id, installment, account, amount in sums:
        if amount:
            legs.setdefault(loan_id, {})[(installment, account)] = Decimal(amount)
    # every active loan and every loan in recovery is carried, no ended one
    assert in_recovery and set(carried) == active | in_recovery
    for loan_id, state in carried.items():
        balances = {(i, a.value): v for (i, a), v in state.balances.items()}
        assert balances == legs.get(loan_id, {}), loan_id
        assert state.seq == last_seq[loan_id] and state.closed_through == through[loan_id]
    # the cap's measures equal what the domain core recomputes from the replayed ledger
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        for loan_id, state in carried.items():
            ledger = entries.ledger(loan_id)
            assert state.charged == cost_charged(ledger), loan_id
            assert state.overdue_days == overdue_days(ledger, state.closed_through), loan_id


def _late_payment(ws: Workspace, tmp: Path, loan_id: str, paid_on: date) -> None:
    path = tmp / f"late-{loan_id}-{paid_on}.parquet"
    pq.write_table(
        pa.table(
            {
                "payment_ref": [f"LATE-{loan_id}"],
                "loan_id": [loan_id],
                "paid_on": [paid_on],
                "amount": pa.array([Decimal("100.00")], pa.decimal128(18, 2)),
                "currency": ["CNY"],
                "channel": ["bank_transfer"],
            }
        ),
        path,
    )
    import_file(ws.engine, path, kind="payments", as_of=AS_OF + timedelta(1))


def _daily(ws: Workspace, book: Path, tmp: Path, carry: bool, late: str) -> list:
    """Daily closes of the last five days, a late payment for an idle loan between them."""
    first = AS_OF - timedelta(days=5)
    reports = [close_book(ws, first, 1, carry=carry)]
    for n in range(4, -1, -1):
        day = AS_OF - timedelta(days=n)
        if n == 2:
            _late_payment(ws, tmp, late, AS_OF - timedelta(days=4))
        _later_payments(ws, book / "early_payments.parquet", day - timedelta(days=1), day)
        reports.append(close_book(ws, day, 1, carry=carry))
    return reports


def test_idle_loans_move_forward_unloaded_and_the_book_is_the_same(
    engine: Engine, tmp_path: Path, book: Path
):
    carrying = _workspace(engine, tmp_path / "carry", book)
    _later_payments(carrying, book / "early_payments.parquet", FIRST, AS_OF - timedelta(days=5))
    close_book(carrying, AS_OF - timedelta(days=6), 1)
    idle = [
        lid
        for lid, state in carried_states(read_carried(carrying.root)).items()
        if not any(i for i, _ in state.balances)
    ]
    assert idle, "the book should have loans owing no fallen-due installment"
    oracle_engine = make_engine(f"sqlite:///{tmp_path / 'oracle.sqlite'}")
    upgrade(oracle_engine)
    replaying = _workspace(oracle_engine, tmp_path / "replay", book)
    _later_payments(replaying, book / "early_payments.parquet", FIRST, AS_OF - timedelta(days=5))
    close_book(replaying, AS_OF - timedelta(days=6), 1, carry=False)

    reports = _daily(carrying, book, tmp_path, True, idle[0])
    oracle = _daily(replaying, book, tmp_path, False, idle[0])

    assert all(r.loans_idle > 0.5 * r.loans for r in reports)  # most loans: nothing happened
    assert [r.loans for r in reports] == [r.loans for r in oracle]
    assert [r.entries_posted for r in reports] == [r.entries_posted for r in oracle]
    assert _store(carrying) == _store(replaying)
    for report in reports:
        for day in report.days:
            path = carrying.snapshot_path(day)
            assert path.read_bytes() == replaying.snapshot_path(day).read_bytes(), day
    assert check_cases(carrying).ok
    oracle_engine.dispose()
