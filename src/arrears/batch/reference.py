"""The reference daily close: every loan advanced through the pure-Python domain core.

It reads the book from the store, posts the days' installments, payments, fees and
accruals to each ledger, writes one snapshot per closed day, and updates cases, all in
one transaction: a close that fails leaves the store and the snapshots as they were.
The Ibis engines must produce the same snapshots to the cent.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, bindparam, select, update

from arrears.batch.snapshot import MONEY_COLUMNS, snapshot_table, write_snapshot
from arrears.batch.workers import Job, SliceResult, StateRow, close_all
from arrears.domain.account import LoanAccount, Payment, resume_account
from arrears.domain.ledger import Account, Entry, EntryKind, Leg, replay
from arrears.domain.products import Catalog
from arrears.domain.schedule import Installment, LoanTerms
from arrears.store.models import (
    CaseRow,
    CloseRun,
    EntryRow,
    InstallmentRow,
    LegRow,
    Loan,
    PaymentRow,
    utcnow,
)
from arrears.store.rows import bulk_insert
from arrears.store.unit_of_work import UnitOfWork
from arrears.workspace import Workspace

ONE_DAY = timedelta(days=1)
ENGINE_NAME = "reference"


@dataclass
class CloseReport:
    as_of: date
    days: list[date]
    loans: int = 0
    entries_posted: int = 0
    payments_posted: int = 0
    cases_opened: int = 0
    cases_updated: int = 0
    cases_closed: int = 0
    already_closed: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    snapshots: list[Path] = field(default_factory=list)


@dataclass
class _Book:
    accounts: list[LoanAccount]
    customers: dict[str, str]
    products: dict[str, str]
    payments: dict[str, list[Payment]]


def close_book(
    workspace: Workspace,
    as_of: date,
    days: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> CloseReport:
    """Close the book through ``as_of`` and write snapshots of the last ``days`` days.

    Loans not yet closed through ``as_of`` are caught up from wherever they stand. A
    close of a date already closed changes nothing and says so."""
    record_from = as_of - timedelta(days=days - 1)
    report = CloseReport(as_of, [record_from + timedelta(days=i) for i in range(days)])
    tick = _Timer(report)
    catalog = workspace.catalog
    with UnitOfWork(workspace.engine) as uow:
        conn = uow.connection
        book = _load(conn, catalog, as_of)
        tick("load")
        if not book.accounts:
            report.already_closed = True
            return report
        job = Job(book.accounts, book.payments, as_of, record_from, catalog)
        result = close_all(
            job, progress=(lambda n, total: progress("close", n, total)) if progress else None
        )
        report.loans = len(book.accounts)
        tick("advance")
        report.entries_posted = _write_entries(conn, result)
        report.payments_posted = _mark_payments(conn, book)
        _update_loans(conn, result.closed)
        tick("write ledger")
        _sync_cases(conn, result.states.get(as_of, []), book.customers, as_of, report)
        tick("cases")
        staging = Path(tempfile.mkdtemp(prefix="arrears-close-", dir=workspace.root))
        try:
            for day in report.days:
                rows = result.states.get(day, [])
                table = snapshot_table(day, rows, book.customers, book.products)
                write_snapshot(table, staging / f"as_of={day.isoformat()}" / "part-0.parquet")
            tick("snapshots")
            for day in report.days:
                uow.session.merge(
                    CloseRun(
                        as_of=day,
                        engine=ENGINE_NAME,
                        loans=len(result.states.get(day, [])),
                        status="done",
                        finished_at=utcnow(),
                    )
                )
            uow.commit()
            for day in report.days:
                target = workspace.snapshot_path(day)
                target.parent.mkdir(parents=True, exist_ok=True)
                (staging / f"as_of={day.isoformat()}" / "part-0.parquet").replace(target)
                report.snapshots.append(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        tick("commit")
    return report


def _load(conn: Connection, catalog: Catalog, as_of: date) -> _Book:
    """The loans still open through ``as_of`` (or with payments to post), with their
    schedules, ledgers and unposted payments."""
    loans = Loan.__table__
    rows = (
        conn.execute(
            select(loans)
            .where(loans.c.disbursed_on <= as_of)
            .where((loans.c.closed_through.is_(None)) | (loans.c.closed_through < as_of))
            .order_by(loans.c.loan_id)
        )
        .mappings()
        .all()
    )
    pays = PaymentRow.__table__
    payments: dict[str, list[Payment]] = defaultdict(list)
    for ref, loan_id, paid_on, amount in conn.execute(
        select(pays.c.payment_ref, pays.c.loan_id, pays.c.paid_on, pays.c.amount)
        .where(pays.c.posted_entry_ref.is_(None), pays.c.paid_on <= as_of)
        .order_by(pays.c.loan_id, pays.c.payment_ref)
    ):
        payments[loan_id].append(Payment(ref, paid_on, amount))
    wanted = [r for r in rows if r["status"] == "active" or r["loan_id"] in payments]
    ids = {r["loan_id"] for r in wanted}
    inst = InstallmentRow.__table__
    schedules: dict[str, list[Installment]] = defaultdict(list)
    for loan_id, seq, due, principal, interest in conn.execute(
        select(
            inst.c.loan_id, inst.c.seq, inst.c.due_date, inst.c.principal, inst.c.interest
        ).order_by(inst.c.loan_id, inst.c.seq)
    ):
        if loan_id in ids:
            schedules[loan_id].append(Installment(seq, due, principal, interest))
    ledgers = _ledgers(conn, ids)
    accounts, customers, products = [], {}, {}
    for r in wanted:
        lid = r["loan_id"]
        terms = LoanTerms(
            r["principal"],
            r["annual_rate"],
            r["term_months"],
            r["disbursed_on"],
            r["first_due_date"],
        )
        ledger = replay(lid, ledgers.get(lid, ()), r["currency"])
        closed_through = r["closed_through"] or r["disbursed_on"]
        product = catalog.product(r["product_code"])
        schedule = tuple(schedules.get(lid, ()))
        accounts.append(resume_account(lid, product, terms, schedule, ledger, closed_through))
        customers[lid] = r["customer_id"]
        products[lid] = r["product_code"]
    return _Book(accounts, customers, products, payments)


_ACCOUNTS = {a.value: a for a in Account}
_KINDS = {k.value: k for k in EntryKind}


def _ledgers(conn: Connection, ids: set[str]) -> dict[str, list[Entry]]:
    """Stored entries of the loans ``ids``, in posting order, with their legs."""
    legs_table, entries_table = LegRow.__table__, EntryRow.__table__
    legs: dict[tuple[str, str], list[Leg]] = defaultdict(list)
    for loan_id, ref, installment, account, amount in conn.execute(
        select(
            legs_table.c.loan_id,
            legs_table.c.ref,
            legs_table.c.installment,
            legs_table.c.account,
            legs_table.c.amount,
        ).order_by(legs_table.c.loan_id, legs_table.c.ref, legs_table.c.line)
    ):
        if loan_id in ids:
            legs[(loan_id, ref)].append(Leg(installment, _ACCOUNTS[account], amount))
    out: dict[str, list[Entry]] = defaultdict(list)
    e = entries_table.c
    query = select(e.loan_id, e.ref, e.kind, e.posted_on, e.amount, e.reverses, e.memo)
    for loan_id, ref, kind, posted_on, amount, reverses, memo in conn.execute(
        query.order_by(e.loan_id, e.seq)
    ):
        if loan_id in ids:
            entry_legs = tuple(legs[(loan_id, ref)])
            out[loan_id].append(
                Entry(ref, _KINDS[kind], posted_on, amount, entry_legs, reverses, memo or "")
            )
    return out


def _write_entries(conn: Connection, result: SliceResult) -> int:
    """Insert the new entries and legs; workers hand over amounts in cents."""
    now = utcnow()
    heads = (
        {
            "loan_id": loan_id,
            "ref": ref,
            "kind": kind,
            "posted_on": posted_on,
            "amount": from_cents(amount),
            "reverses": reverses,
            "memo": memo,
            "seq": seq,
            "created_at": now,
        }
        for loan_id, ref, kind, posted_on, amount, reverses, memo, seq in result.entries
    )
    bulk_insert(conn, EntryRow, heads)
    legs = (
        {
            "loan_id": loan_id,
            "ref": ref,
            "line": line,
            "installment": installment,
            "account": account,
            "amount": from_cents(amount),
        }
        for loan_id, ref, line, installment, account, amount in result.legs
    )
    bulk_insert(conn, LegRow, legs)
    return len(result.entries)


def from_cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def _mark_payments(conn: Connection, book: _Book) -> int:
    refs = [{"ref": p.ref} for pays in book.payments.values() for p in pays]
    if refs:
        table = PaymentRow.__table__
        conn.execute(
            update(table)
            .where(table.c.payment_ref == bindparam("ref"))
            .values(posted_entry_ref=bindparam("ref")),
            refs,
        )
    return len(refs)


def _update_loans(conn: Connection, closed: list[tuple[str, date, str]]) -> None:
    table = Loan.__table__
    if closed:
        conn.execute(
            update(table)
            .where(table.c.loan_id == bindparam("lid"))
            .values(closed_through=bindparam("ct"), status=bindparam("st")),
            [{"lid": lid, "ct": through, "st": status} for lid, through, status in closed],
        )


def _sync_cases(
    conn: Connection,
    last: list[StateRow],
    customers: dict[str, str],
    as_of: date,
    report: CloseReport,
) -> None:
    """Open a case for each loan delinquent at ``as_of``, refresh open ones, close the cured."""
    table = CaseRow.__table__
    open_cases = {
        r.loan_id: r.id
        for r in conn.execute(select(table.c.loan_id, table.c.id).where(table.c.status == "open"))
    }
    new, refresh, cured = [], [], []
    arrears_at = 7 + MONEY_COLUMNS.index("overdue_amount")
    for row in last:
        loan_id, dpd = row[0], row[2]
        if dpd > 0:
            values = {
                "dpd": dpd,
                "bucket": row[3],
                "loan_class": row[5],
                "amount_overdue": from_cents(row[arrears_at]),
                "updated_on": as_of,
            }
            if loan_id in open_cases:
                refresh.append({"cid": open_cases[loan_id], **values})
            else:
                new.append(
                    {
                        "loan_id": loan_id,
                        "customer_id": customers[loan_id],
                        "status": "open",
                        "opened_on": as_of,
                        **values,
                    }
                )
        elif loan_id in open_cases:
            cured.append({"cid": open_cases[loan_id], "closed_on": as_of, "updated_on": as_of})
    bulk_insert(conn, CaseRow, new)
    if refresh:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("cid"))
            .values(
                dpd=bindparam("dpd"),
                bucket=bindparam("bucket"),
                loan_class=bindparam("loan_class"),
                amount_overdue=bindparam("amount_overdue"),
                updated_on=bindparam("updated_on"),
            ),
            refresh,
        )
    if cured:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("cid"))
            .values(
                status="closed",
                closed_on=bindparam("closed_on"),
                updated_on=bindparam("updated_on"),
            ),
            cured,
        )
    report.cases_opened, report.cases_updated, report.cases_closed = (
        len(new),
        len(refresh),
        len(cured),
    )


class _Timer:
    def __init__(self, report: CloseReport) -> None:
        self.report, self.last = report, time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.report.timings[step] = round(now - self.last, 2)
        self.last = now
