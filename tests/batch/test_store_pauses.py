"""DPD pauses and restructuring days kept in the store reach the close (issue 25,
contract 3): a dispute pause
placed from the workbench on an overdue loan holds its DPD (and so its bucket and class)
through the store's reference close, a resume lets it count on, and every day's
snapshot row of the paused loans equals the domain core's state of the loan replayed
straight from disbursement with the same pause; the closes resume the loans from their
carried state (and one close replays every ledger), so the carried close equals a full
replay. A pause on a loan that owes nothing past due (an idle loan the carrying close
moves forward unloaded) changes nothing, and the close agrees. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from arrears.batch.carried import carried_states, idle_loans, read_carried
from arrears.batch.reference import close_book
from arrears.cli import app
from arrears.domain.account import DayState, LoanAccount, Payment, advance, open_account
from arrears.domain.arrangements import extend
from arrears.domain.pauses import Pause, PauseReason
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.workbench.access import Actor
from arrears.services.workbench.arrangements import decide, propose
from arrears.services.workbench.dpd_pauses import pause_dpd, resume_dpd
from arrears.snapshots import MONEY_COLUMNS, read_snapshot
from arrears.store.models import CaseRow, DpdPause
from arrears.store.unit_of_work import UnitOfWork
from arrears.workspace import Workspace

CATALOG = load_catalog()
AS_OF = date(2026, 6, 30)
ONE = timedelta(days=1)
START = AS_OF - timedelta(days=20)  # the first close
PAUSED_FROM = START + ONE  # the dispute pause's first day
RESUMED_ON = START + timedelta(days=11)  # DPD counts again from here
QUIET_FROM = START + timedelta(days=9)  # a pause starting while a loan is moved idle
OPS = Actor(id=0, username="ops", role="manager")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, 200, AS_OF, seed=7)
    return folder


def _workspace(engine: Engine, root: Path, book: Path) -> Workspace:
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + ONE)
    return ws


def _pick(ws: Workspace, book: Path) -> tuple[str, str]:
    """An active loan past grace paying nothing after START (its DPD climbs every day),
    and an active loan owing nothing fallen due with no payment after START."""
    paid_later = {
        p["loan_id"]
        for p in pq.read_table(book / "payments.parquet").to_pylist()
        if p["paid_on"] > START
    }
    rows = [
        r
        for r in read_snapshot(ws.snapshots_dir, START).to_pylist()
        if r["status"] == "active" and r["loan_id"] not in paid_later
    ]
    overdue = [r for r in rows if 5 <= r["dpd"] <= 80]
    current = [r for r in rows if r["dpd"] == 0 and r["principal_due"] == 0]
    assert overdue and current, "the generated book has both kinds of loan"
    return overdue[0]["loan_id"], current[0]["loan_id"]


def _opened(book: Path, loan_id: str) -> tuple[LoanAccount, list[Payment]]:
    """The generated book's loan ``loan_id`` opened in the domain core, and its payments."""
    spec = pq.read_table(book / "loans.parquet", filters=[("loan_id", "==", loan_id)])
    loan = spec.to_pylist()[0]
    terms = LoanTerms(
        loan["principal"],
        loan["annual_rate"],
        loan["term_months"],
        loan["disbursed_on"],
        loan["first_due_date"],
    )
    pays = pq.read_table(book / "payments.parquet", filters=[("loan_id", "==", loan_id)])
    payments = [Payment(p["payment_ref"], p["paid_on"], p["amount"]) for p in pays.to_pylist()]
    return open_account(loan_id, CATALOG.product(loan["product_code"]), terms), payments


def _domain_states(book: Path, loan_id: str, pauses: tuple[Pause, ...]) -> dict[date, DayState]:
    """The loan straight through the domain core from disbursement with ``pauses``."""
    acc, payments = _opened(book, loan_id)
    acc = replace(acc, pauses=pauses)
    _, states = advance(acc, AS_OF, payments, CATALOG, record_from=START)
    return {s.as_of: s for s in states}


def _row(ws: Workspace, day: date, loan_id: str) -> dict:
    (row,) = read_snapshot(ws.snapshots_dir, day, loans=[loan_id]).to_pylist()
    return row


def _matches(row: dict, state: DayState) -> None:
    for name in MONEY_COLUMNS:
        expected = getattr(state, name)
        assert row[name] == expected, f"{state.as_of} {name}: {row[name]} != {expected}"
    assert (row["status"], row["dpd"], row["bucket"], row["loan_class"]) == (
        state.status,
        state.dpd,
        state.bucket,
        state.loan_class,
    ), state.as_of


def test_a_stored_dispute_pause_holds_dpd_through_the_close_and_a_resume_lets_it_count(
    engine: Engine, tmp_path: Path, book: Path
) -> None:
    ws = _workspace(engine, tmp_path / "ws", book)
    close_book(ws, START, 1)
    loan_id, quiet_id = _pick(ws, book)
    held = _row(ws, START, loan_id)["dpd"]
    with UnitOfWork(ws.engine) as uow:
        case_id = uow.session.scalar(
            select(CaseRow.id).where(CaseRow.loan_id == loan_id, CaseRow.status == "open")
        )
        assert case_id is not None
        pause = pause_dpd(uow.session, OPS, case_id, "dispute", on=PAUSED_FROM)
        # a loan owing nothing past due has no case; its pause is booked in the store
        uow.session.add(
            DpdPause(loan_id=quiet_id, reason="hardship", pause_on=QUIET_FROM, placed_by="ops")
        )
        uow.commit()
        pause_id = pause.id
    # every ledger replayed (carry=False), then closes carrying each loan's state: the
    # last resumes the paused loan from its carried row (trusted: not restructured)
    close_book(ws, START + 3 * ONE, 3, carry=False)
    close_book(ws, START + 7 * ONE, 4)
    assert carried_states(read_carried(ws.root))[loan_id].seq is not None
    with ws.engine.connect() as conn:  # the paused current loan is moved forward unloaded
        assert quiet_id in idle_loans(conn, read_carried(ws.root), START + 10 * ONE, ()).rows
    report = close_book(ws, START + 10 * ONE, 3)
    assert report.loans_resumed > 0 and report.loans_idle > 0
    for n in range(1, 11):
        assert _row(ws, START + n * ONE, loan_id)["dpd"] == held, START + n * ONE
    with UnitOfWork(ws.engine) as uow:
        resume_dpd(uow.session, OPS, pause_id, on=RESUMED_ON, case_id=case_id)
        uow.commit()
    close_book(ws, AS_OF, (AS_OF - RESUMED_ON).days + 1)
    assert _row(ws, RESUMED_ON, loan_id)["dpd"] == held + 1
    assert _row(ws, AS_OF, loan_id)["dpd"] == held + (AS_OF - START).days - 10

    paused = _domain_states(
        book, loan_id, (Pause(PAUSED_FROM, RESUMED_ON - ONE, PauseReason.DISPUTE),)
    )
    plain = _domain_states(book, loan_id, ())
    quiet = _domain_states(book, quiet_id, (Pause(QUIET_FROM, None, PauseReason.HARDSHIP),))
    for n in range((AS_OF - START).days + 1):
        day = START + n * ONE
        _matches(_row(ws, day, loan_id), paused[day])
        _matches(_row(ws, day, quiet_id), quiet[day])
    # the pause moved DPD (the same loan unpaused would be 10 days further on) and
    # nothing else: 罚息, 复利 and fees run by the calendar
    assert plain[AS_OF].dpd == paused[AS_OF].dpd + 10
    assert plain[AS_OF].penalty == paused[AS_OF].penalty > 0

    # the command shows the held DPD of a paused day
    shown = CliRunner().invoke(
        app,
        [
            "snapshot",
            "--as-of",
            str(START + 5 * ONE),
            "--loan",
            loan_id,
            "--format",
            "json",
            "--workspace",
            str(ws.root),
        ],
    )
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.output)
    assert row["dpd"] == held


def test_a_workbench_extension_restructures_the_loan_from_its_business_day(
    engine: Engine, tmp_path: Path, book: Path
) -> None:
    """An extension (展期) approved in the workbench changes the schedule and posts no
    entry; the store keeps the business day it was applied (``arrangements.applied_on``)
    and the close marks the loan restructured from the end of that day: its class is at
    least 次级 (the floor) on every day from then, as the domain core's loan extended at
    the end of the day before (what had fallen due by then stays owed) and marked that
    day. The first close after the approval, whose carried row predates it, reloads the
    loan rather than trusting that row."""
    ws = _workspace(engine, tmp_path / "ws", book)
    close_book(ws, START, 1)
    overdue_id, quiet_id = _pick(ws, book)
    day = START + ONE  # the business day it is approved, not yet closed
    with UnitOfWork(ws.engine) as uow:
        case_id = uow.session.scalar(
            select(CaseRow.id).where(CaseRow.loan_id == overdue_id, CaseRow.status == "open")
        )
        assert case_id is not None
        # a loan owing nothing past due has no case (and the carrying close moves it
        # forward unloaded while nothing happens to it): one is opened to extend it
        quiet_case = uow.cases.open(
            quiet_id, START, dpd=0, bucket="M0", loan_class="normal", amount_overdue=0
        ).id
        maker = Actor(id=0, username="maker", role="manager")
        checker = Actor(id=0, username="checker", role="manager")
        for case in (case_id, quiet_case):
            made = propose(uow.session, maker, case, "extension", {"months": 2}, on=day)
            decide(uow.session, checker, made.id, True, on=day)
        uow.commit()
    close_book(ws, START + 3 * ONE, 3)  # carried through START: those rows are not trusted
    close_book(ws, AS_OF, (AS_OF - START).days - 3)
    for loan_id in (overdue_id, quiet_id):
        assert carried_states(read_carried(ws.root))[loan_id].seq is None  # replayed now
        _check_extended(ws, book, loan_id, day)
    assert _row(ws, START, quiet_id)["loan_class"] == "normal"
    assert _row(ws, day, quiet_id)["loan_class"] == "substandard"


def _check_extended(ws: Workspace, book: Path, loan_id: str, day: date) -> None:
    """Each day's row of ``loan_id`` from ``day`` is the domain core's loan extended by
    two months at the end of the day before and marked restructured on ``day``."""
    acc, payments = _opened(book, loan_id)
    acc, _ = advance(acc, START, [p for p in payments if p.paid_on <= START])
    acc = replace(extend(acc, START, 2), restructured_on=(day,))
    later = [p for p in payments if p.paid_on > START]
    _, states = advance(acc, AS_OF, later, CATALOG, record_from=day)
    assert states and states[0].as_of == day
    for state in states:
        _matches(_row(ws, state.as_of, loan_id), state)
        assert state.restructured and state.loan_class != "special_mention"
    assert _row(ws, START, loan_id)["loan_class"] in ("normal", "special_mention")
    assert _row(ws, day, loan_id)["loan_class"] == "substandard"
