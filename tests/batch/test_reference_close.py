"""The reference daily close over the store: what it writes equals what the domain core
computes loan by loan, on SQLite and PostgreSQL, and closing is repeatable."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from arrears.batch.book import open_loan_ids
from arrears.batch.reference import close_book
from arrears.batch.workers import Job, cents, close_all, partitions, state_row
from arrears.domain.account import LoanAccount, Payment, advance, open_account, status_of
from arrears.domain.cases import ended_on
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.case_check import check_cases
from arrears.snapshots import MONEY_COLUMNS, MONEY_FROM_STATE
from arrears.store.models import CaseRow, EntryRow, Loan, PaymentRow
from arrears.workspace import Workspace
from charge_off_support import without_charge_off

AS_OF = date(2026, 6, 30)
DAYS = 3
CATALOG = load_catalog()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, 400, AS_OF, seed=7)
    return folder


def workspace_for(engine: Engine, root: Path, book: Path) -> Workspace:
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + timedelta(1))
    return ws


def domain_account(
    book: Path, loan_id: str, through: date, extra: tuple[Payment, ...] = ()
) -> LoanAccount:
    """One loan advanced straight through the domain core to ``through``."""
    loan = pq.read_table(book / "loans.parquet", filters=[("loan_id", "==", loan_id)]).to_pylist()[
        0
    ]
    pays = pq.read_table(book / "payments.parquet", filters=[("loan_id", "==", loan_id)])
    terms = LoanTerms(
        loan["principal"],
        loan["annual_rate"],
        loan["term_months"],
        loan["disbursed_on"],
        loan["first_due_date"],
    )
    acc = open_account(loan_id, CATALOG.product(loan["product_code"]), terms)
    payments = [
        Payment(p["payment_ref"], p["paid_on"], p["amount"])
        for p in pays.to_pylist()
        if p["paid_on"] <= through
    ]
    return advance(acc, through, sorted([*payments, *extra], key=lambda p: p.paid_on))[0]


def expected_states(book: Path, through: date, record_from: date) -> dict[tuple[str, date], dict]:
    """Each loan advanced straight through the domain core, with no store involved."""
    payments = defaultdict(list)
    for p in pq.read_table(book / "payments.parquet").to_pylist():
        if p["paid_on"] <= through:
            payments[p["loan_id"]].append(Payment(p["payment_ref"], p["paid_on"], p["amount"]))
    out = {}
    for loan in pq.read_table(book / "loans.parquet").to_pylist():
        product = CATALOG.product(loan["product_code"])
        terms = LoanTerms(
            loan["principal"],
            loan["annual_rate"],
            loan["term_months"],
            loan["disbursed_on"],
            loan["first_due_date"],
        )
        acc = open_account(loan["loan_id"], product, terms)
        before = [p for p in payments[loan["loan_id"]] if p.paid_on < record_from]
        acc, _ = advance(acc, record_from - timedelta(1), before)
        previous = status_of(acc)
        later = [p for p in payments[loan["loan_id"]] if p.paid_on >= record_from]
        acc, states = advance(acc, through, later, CATALOG, record_from)
        for s in states:
            if s.status == "active" or previous == "active":
                out[(s.loan_id, s.as_of)] = {
                    "dpd": s.dpd,
                    "bucket": s.bucket,
                    "status": s.status,
                    **{name: getattr(s, name) for name in MONEY_COLUMNS},
                }
            previous = s.status
    return out


def snapshot_states(ws: Workspace, days: list[date]) -> dict[tuple[str, date], dict]:
    out = {}
    for day in days:
        for row in pq.read_table(ws.snapshot_path(day)).to_pylist():
            out[(row["loan_id"], row["as_of"])] = {
                k: row[k] for k in ("dpd", "bucket", "status", *MONEY_COLUMNS)
            }
    return out


def test_close_matches_the_domain_core_loan_by_loan(engine: Engine, tmp_path: Path, book: Path):
    ws = workspace_for(engine, tmp_path / "ws", book)
    report = close_book(ws, AS_OF, DAYS)
    assert report.loans == 400 and not report.already_closed
    days = [AS_OF - timedelta(DAYS - 1 - i) for i in range(DAYS)]
    assert report.days == days
    expected = expected_states(book, AS_OF, days[0])
    assert snapshot_states(ws, days) == expected
    # every imported payment up to the as-of date was posted, once
    with ws.engine.connect() as conn:
        pending = conn.scalar(
            select(func.count())
            .select_from(PaymentRow)
            .where(PaymentRow.posted_entry_ref.is_(None))
        )
        entries = conn.scalar(select(func.count()).select_from(EntryRow))
    assert pending == 0
    assert entries == report.entries_posted + 400  # plus the disbursements from the import


def test_next_day_close_resumes_from_the_stored_ledger(engine: Engine, tmp_path: Path, book: Path):
    ws = workspace_for(engine, tmp_path / "ws", book)
    close_book(ws, AS_OF - timedelta(days=10), 1)
    report = close_book(ws, AS_OF, DAYS)  # loads the ledgers written by the first close
    days = report.days
    assert snapshot_states(ws, days) == expected_states(book, AS_OF, days[0])


def test_closing_a_closed_day_changes_nothing(engine: Engine, tmp_path: Path, book: Path):
    ws = workspace_for(engine, tmp_path / "ws", book)
    close_book(ws, AS_OF, 1)
    before = ws.snapshot_path(AS_OF).read_bytes()
    with ws.engine.connect() as conn:
        entries = conn.scalar(select(func.count()).select_from(EntryRow))
    again = close_book(ws, AS_OF, 1)
    assert again.already_closed and again.entries_posted == 0
    assert ws.snapshot_path(AS_OF).read_bytes() == before
    with ws.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EntryRow)) == entries


def test_cases_follow_delinquency(engine: Engine, tmp_path: Path, book: Path):
    ws = without_charge_off(workspace_for(engine, tmp_path / "ws", book))
    close_book(ws, AS_OF, 1)
    rows = pq.read_table(ws.snapshot_path(AS_OF)).to_pylist()
    delinquent = {r["loan_id"]: r for r in rows if r["dpd"] > 0}
    assert delinquent, "the generated book should have overdue loans"
    with ws.engine.connect() as conn:
        cases = conn.execute(
            select(CaseRow.loan_id, CaseRow.dpd, CaseRow.bucket, CaseRow.amount_overdue).where(
                CaseRow.status == "open"
            )
        ).all()
        statuses = dict(conn.execute(select(Loan.loan_id, Loan.status)).all())
    assert {c.loan_id for c in cases} == set(delinquent)
    for c in cases:
        row = delinquent[c.loan_id]
        assert (c.dpd, c.bucket, c.amount_overdue) == (
            row["dpd"],
            row["bucket"],
            row["overdue_amount"],
        )
    assert {r["loan_id"]: r["status"] for r in rows}.items() <= statuses.items()


def test_a_later_close_closes_cured_and_repaid_loans_cases(
    engine: Engine, tmp_path: Path, book: Path
):
    """Cases of loans cured by the later close's day close on it; the case of a loan
    repaid between the two closes (on a day the close did not record) closes on the day
    the loan stopped being active, not on the close's day, and none is left open."""
    ws = without_charge_off(workspace_for(engine, tmp_path / "ws", book))
    early = AS_OF - timedelta(days=120)
    close_book(ws, early, 1)
    with ws.engine.connect() as conn:
        open_loans = sorted(
            conn.execute(select(CaseRow.loan_id).where(CaseRow.status == "open")).scalars()
        )
    # a past-due loan whose last instalment falls due inside the window, paid off in full
    maturing = [
        (lid, last)
        for lid in open_loans
        if early < (last := domain_account(book, lid, early).schedule[-1].due_date) < AS_OF
    ]
    assert maturing, "the book should have a past-due loan maturing in the window"
    loan_id, last_due = maturing[0]
    payoff = Payment("PAYOFF-1", last_due + timedelta(days=3), Decimal("1000000.00"))
    extra = tmp_path / "payoff.parquet"
    pq.write_table(
        pa.table(
            {
                "payment_ref": [payoff.ref],
                "loan_id": [loan_id],
                "paid_on": [payoff.paid_on],
                "amount": pa.array([payoff.amount], pa.decimal128(18, 2)),
                "currency": ["CNY"],
                "channel": ["bank_transfer"],
            }
        ),
        extra,
    )
    import_file(ws.engine, extra, kind="payments", as_of=AS_OF)
    report = close_book(ws, AS_OF, 1)
    now = {r["loan_id"]: r for r in pq.read_table(ws.snapshot_path(AS_OF)).to_pylist()}
    with ws.engine.connect() as conn:
        closed = conn.execute(
            select(CaseRow.loan_id, CaseRow.closed_on, Loan.status)
            .join(Loan, Loan.loan_id == CaseRow.loan_id)
            .where(CaseRow.status == "closed")
        ).all()
    cured = [c for c in closed if c.status == "active"]
    repaid = {c.loan_id: c.closed_on for c in closed if c.status == "closed"}
    assert cured, "the book should cure some cases in 120 days"
    for case in cured:
        assert case.closed_on == AS_OF and now[case.loan_id]["dpd"] == 0
    ended = ended_on(domain_account(book, loan_id, AS_OF, (payoff,)))
    assert ended == payoff.paid_on < AS_OF
    assert repaid[loan_id] == ended and loan_id not in now
    for lid, day in repaid.items():
        assert day == ended_on(
            domain_account(book, lid, AS_OF, (payoff,) if lid == loan_id else ())
        )
    assert report.cases_closed_by["cured"] == len(cured)
    assert report.cases_closed_by["repaid"] == len(repaid)
    assert check_cases(ws).ok


def test_parallel_and_serial_closes_agree(engine: Engine, tmp_path: Path, book: Path):
    ws = workspace_for(engine, tmp_path / "ws", book)
    first = AS_OF - timedelta(days=2)
    with ws.engine.connect() as conn:
        loan_ids = open_loan_ids(conn, AS_OF)
    assert len(partitions(loan_ids, 2)) > 1  # the book really is cut in several ranges
    job = Job(ws.database_url, AS_OF, first, CATALOG)
    serial, parallel = close_all(job, loan_ids, workers=1), close_all(job, loan_ids, workers=2)
    assert serial.entries == parallel.entries and serial.legs == parallel.legs
    assert serial.closed == parallel.closed and serial.payments == parallel.payments
    for day in (first, AS_OF):
        assert serial.snapshot(day).equals(parallel.snapshot(day))
        assert serial.snapshot(day).num_rows > 0


def test_state_row_follows_the_snapshot_columns():
    product = CATALOG.product("CONSUMER")
    terms = LoanTerms(Decimal("12000.00"), product.annual_rate, 12, date(2025, 1, 10))
    _, states = advance(
        open_account("L1", product, terms), date(2025, 4, 1), (), CATALOG, date(2025, 4, 1)
    )
    s = states[-1]
    assert (
        s.dpd > 0 and s.penalty > 0
    )  # nothing ever paid: overdue, charged, a first-payment default
    row = state_row(s)
    assert row[:7] == (s.loan_id, s.status, s.dpd, s.bucket, s.bucket_index, s.loan_class, True)
    # each money column the sum the snapshot module declares, of the day state's amounts
    assert list(row[7:]) == [
        sum(cents(getattr(s, amount)) for amount in amounts)
        for amounts in MONEY_FROM_STATE.values()
    ]
