"""The reference daily close: every loan advanced through the pure-Python domain core.

It reads the book from the store, posts the days' installments, payments, fees and
accruals to each ledger, writes one snapshot per closed day, and updates cases, all in
one transaction: a close that fails leaves the store and the snapshots as they were.
The Ibis engines must produce the same snapshots to the cent.
"""

from __future__ import annotations

import gc
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pyarrow as pa
from sqlalchemy import Connection, bindparam, func, select, update

from arrears.batch.book import open_loan_ids
from arrears.batch.carried import Idle, carried_table, idle_loans, merged, read_carried
from arrears.batch.publish import publish, record_staged, recover, stage, stage_carried
from arrears.batch.workers import Job, SliceResult, close_all
from arrears.domain.account import CHARGE_OFF_PREFIX
from arrears.domain.cases import CLOSING_MOVES, CaseMove, Recovery, case_move
from arrears.snapshots import snapshot_file, snapshot_table
from arrears.store.db import refresh_statistics
from arrears.store.ledger_rows import (
    insert_postings,
)
from arrears.store.models import (
    CaseRow,
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
    loans_resumed: int = 0  # from their carried state; the others' ledgers were replayed
    loans_idle: int = 0  # moved forward unloaded: nothing happened to them
    entries_posted: int = 0
    payments_posted: int = 0
    cases_opened: int = 0
    cases_updated: int = 0
    cases_closed: int = 0
    cases_closed_by: Counter[str] = field(default_factory=Counter)  # by CLOSING_MOVES
    charged_off: int = 0  # loans the products' charge-off rules wrote off in this close
    already_closed: bool = False
    snapshot_rows: dict[date, int] = field(default_factory=dict)  # each published day's rows
    # loans re-closed from a back-dated payment's value date, and the closed days whose
    # snapshots got a new version for them (day -> its rows)
    loans_reclosed: int = 0
    # loans whose back-dated payment could not be re-closed (posted on the first open
    # day instead) -> why
    not_reclosed: dict[str, str] = field(default_factory=dict)
    corrected: dict[date, int] = field(default_factory=dict)
    recovered: list[date] = field(default_factory=list)  # days a crashed close left unpublished
    timings: dict[str, float] = field(default_factory=dict)
    snapshots: list[Path] = field(default_factory=list)


def close_book(
    workspace: Workspace,
    as_of: date,
    days: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
    extra_days: Iterable[date] = (),
    carry: bool = True,
) -> CloseReport:
    """Close the book through ``as_of`` and write snapshots of the last ``days`` days,
    and also of each of ``extra_days`` before them (e.g. the month ends of the book's
    history, for roll rates and vintages; later ones inside the window are ignored).

    Loans resume from the state the last close carried (``arrears.batch.carried``);
    with ``carry`` False every ledger is replayed from the store, as the oracle does.

    Loans not yet closed through ``as_of`` are caught up from wherever they stand. A
    close of a date already closed changes nothing and says so. An extra day that some
    loan was already closed through cannot be recorded any more: ``ValueError``, and
    nothing is written."""
    # Loading a book creates millions of small acyclic objects; full collections in the
    # middle of that only walk them again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _close_book(workspace, as_of, days, progress, extra_days, carry)
    finally:
        if enabled:
            gc.enable()


def _close_book(
    workspace: Workspace,
    as_of: date,
    days: int,
    progress: Callable[[str, int, int], None] | None,
    extra_days: Iterable[date],
    carry: bool,
) -> CloseReport:
    record_from = as_of - timedelta(days=days - 1)
    singles = tuple(sorted({d for d in extra_days if d < record_from}))
    window = [record_from + timedelta(days=i) for i in range(days)]
    report = CloseReport(as_of, [*singles, *window])
    tick = _Timer(report)
    catalog = workspace.catalog
    report.recovered = recover(workspace.root, workspace.snapshots_dir, workspace.engine)
    with UnitOfWork(workspace.engine) as uow:
        conn = uow.connection
        loan_ids = open_loan_ids(conn, as_of)
        tick("take in")
        if not loan_ids:
            report.already_closed = True
            return report
        _check_recordable(conn, singles)
        carried = read_carried(workspace.root) if carry else None
        idle = idle_loans(conn, carried, as_of, singles) if carry else Idle({}, {}, {})
        busy = [lid for lid in loan_ids if lid not in idle.rows]
        skip = frozenset(idle.rows)
        job = Job(
            workspace.database_url,
            as_of,
            record_from,
            catalog,
            singles,
            carried,
            skip,
            idle.last_seq,
        )
        on_progress = (lambda n, total: progress("close", n, total)) if progress else None
        result = close_all(job, busy, progress=on_progress)
        result.closed += [(lid, as_of, "active") for lid in idle.rows]
        report.loans, report.loans_resumed = len(result.closed), result.resumed
        report.loans_idle = len(idle.rows)
        tick("advance")
        report.entries_posted = _write_entries(conn, result)
        report.charged_off = sum(e[1].startswith(CHARGE_OFF_PREFIX) for e in result.entries)
        report.payments_posted = _mark_payments(conn, result.payments)
        _update_loans(conn, result.closed)
        tick("post")
        tables = {day: _with_idle(result.snapshot(day), idle, day) for day in report.days}
        corrected = _corrected_days(workspace.snapshots_dir, result, tables)
        # Cases follow the recorded days in order, so a case opened and cured inside
        # the window has its true opened_on and closed_on (and strategies of those
        # days find the case that was open then).
        for day in report.days:
            _sync_cases(conn, tables[day], day, report, result.recovery)
        _close_ended_loans(conn, result.ended, report, result.recovery)
        _work_recovery(conn, result.recovering, as_of, report)
        tick("cases")
        dropped = _reclosed_on(result.reclosed, [*tables, *corrected])
        counts = stage(workspace.root, workspace.snapshots_dir, tables | corrected, dropped)
        report.snapshot_rows = {day: counts[day] for day in tables}
        report.corrected = {day: counts[day] for day in corrected}
        report.loans_reclosed = len(result.reclosed)
        report.not_reclosed = result.not_reclosed
        if carry:
            ended = [lid for lid, _, status in result.closed if status != "active"]
            moved = pa.concat_tables([carried_table(result.carried), idle.carried(as_of)])
            stage_carried(workspace.root, merged(carried, moved, ended))
        record_staged(conn, ENGINE_NAME, counts)
        uow.commit()
        report.snapshots = publish(
            workspace.root, workspace.snapshots_dir, workspace.engine, counts
        )
        tick("publish")
    refresh_statistics(workspace.engine)  # the day's postings and cases, for the next reads
    return report


def _with_idle(table: pa.Table, idle: Idle, day: date) -> pa.Table:
    """The day's snapshot with the rows of the idle loans, sorted by loan id."""
    rows = idle.states(day)
    if not rows:
        return table
    extra = snapshot_table(day, rows, idle.customers, idle.products)
    return pa.concat_tables([table, extra]).sort_by("loan_id")


def _corrected_days(
    snapshots: Path, result: SliceResult, recorded: Mapping[date, pa.Table]
) -> dict[date, pa.Table]:
    """The closed days before the recorded ones whose snapshots change: those of the
    days re-closed from a back-dated payment (``SliceResult.reclosed``) that have a
    snapshot, each with the re-closed loans' rows of that day. A day never recorded
    stays so: a snapshot of only some loans would not be the day's book."""
    days = {
        day
        for first, last in result.reclosed.values()
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    }
    return {
        day: result.snapshot(day)
        for day in sorted(days)
        if day not in recorded and snapshot_file(snapshots, day).exists()
    }


def _reclosed_on(
    reclosed: Mapping[str, tuple[date, date]], days: Iterable[date]
) -> dict[date, list[str]]:
    """For each of ``days``, the loans re-closed through it: their old rows leave the
    day's snapshot (the new ones, if they still belong there, are in the close's)."""
    return {
        day: [lid for lid, (first, last) in reclosed.items() if first <= day <= last]
        for day in days
    }


def _check_recordable(conn: Connection, days: tuple[date, ...]) -> None:
    """Refuse extra days some loan has already been closed through: its state on that day
    is no longer computed, so the snapshot would silently miss it."""
    loans = Loan.__table__
    for day in days:
        closed = conn.scalar(
            select(func.count())
            .select_from(loans)
            .where(loans.c.disbursed_on <= day, loans.c.closed_through >= day)
        )
        if closed:
            raise ValueError(
                f"cannot write the snapshot of {day}: {closed} loans were already closed "
                "through it; extra days are recorded only by the close that first passes them"
            )


def _write_entries(conn: Connection, result: SliceResult) -> int:
    """Insert the new entries and legs (workers hand over amounts in cents)."""
    insert_postings(conn, result.entries, result.legs, utcnow())
    return len(result.entries)


def _mark_payments(conn: Connection, refs: list[str]) -> int:
    if refs:
        table = PaymentRow.__table__
        conn.execute(
            update(table)
            .where(table.c.payment_ref == bindparam("ref"))
            .values(posted_entry_ref=bindparam("ref")),
            [{"ref": ref} for ref in refs],
        )
    return len(refs)


_IDS_PER_UPDATE = 5_000  # loan ids bound in one statement (PostgreSQL allows 65,535)


def _update_loans(conn: Connection, closed: list[tuple[str, date, str]]) -> None:
    """Each loan's closed-through day and status: one UPDATE per (day, status) and few
    thousand loans, since nearly every loan of a close shares both. (A statement per
    loan cost 1.5 s of a 50k-loan day on PostgreSQL, most of its post step.)"""
    table = Loan.__table__
    groups: dict[tuple[date, str], list[str]] = defaultdict(list)
    for lid, through, status in closed:
        groups[(through, status)].append(lid)
    for (through, status), ids in groups.items():
        for i in range(0, len(ids), _IDS_PER_UPDATE):
            conn.execute(
                update(table)
                .where(table.c.loan_id.in_(ids[i : i + _IDS_PER_UPDATE]))
                .values(closed_through=through, status=status)
            )


def _sync_cases(
    conn: Connection,
    last: pa.Table,
    as_of: date,
    report: CloseReport,
    recovery: Mapping[str, str] = MappingProxyType({}),
) -> None:
    """Open, refresh and close cases by the loans' state at ``as_of`` (the rule of
    ``arrears.domain.cases``). A loan charged off by its product's rule (``recovery``)
    is worked in recovery on the days it is written off; one recovered in full closes
    its case on the day it was (``_close_ended_loans``)."""
    open_cases = _open_cases(conn)
    new, refresh, closing = [], [], []
    columns = ("loan_id", "customer_id", "status", "dpd", "bucket", "loan_class", "overdue_amount")
    for loan_id, customer_id, status, dpd, bucket, loan_class, arrears in zip(
        *(last.column(c).to_pylist() for c in columns), strict=True
    ):
        charged_off = status == "written_off" and loan_id in recovery
        move = case_move(
            status,
            dpd,
            loan_id in open_cases,
            Recovery.WORKING if charged_off else Recovery.NONE,
        )
        values = {
            "dpd": dpd,
            "bucket": bucket,
            "loan_class": loan_class,
            "amount_overdue": arrears,
            "updated_on": as_of,
        }
        if move is CaseMove.OPEN:
            new.append(
                {
                    "loan_id": loan_id,
                    "customer_id": customer_id,
                    "status": "open",
                    "opened_on": as_of,
                    **values,
                }
            )
        elif move is CaseMove.REFRESH:
            refresh.append({"cid": open_cases[loan_id][0], **values})
        elif move in CLOSING_MOVES:
            closing.append((open_cases[loan_id][0], move, as_of))
    _write_cases(conn, new, refresh)
    _close_cases(conn, closing, report)
    report.cases_opened += len(new)
    report.cases_updated += len(refresh)


def _write_cases(conn: Connection, new: list[dict], refresh: list[dict]) -> None:
    """Insert the ``new`` cases and bring the ``refresh`` ones (``cid`` and the loan's
    DPD, bucket, class, amount overdue and day) up to date."""
    bulk_insert(conn, CaseRow, new)
    if refresh:
        table = CaseRow.__table__
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


def _open_cases(conn: Connection) -> dict[str, tuple[int, date]]:
    """loan id -> (case id, opened on) of the open cases."""
    table = CaseRow.__table__
    return {
        r.loan_id: (r.id, r.opened_on)
        for r in conn.execute(
            select(table.c.loan_id, table.c.id, table.c.opened_on).where(table.c.status == "open")
        )
    }


def _work_recovery(
    conn: Connection,
    recovering: list[tuple[str, str, int, str, str, int]],
    as_of: date,
    report: CloseReport,
) -> None:
    """The cases of loans charged off by their product's rule and still in recovery
    (``arrears.domain.cases``): opened if they have none (a loan charged off before the
    recorded days), else brought to the loan's DPD, bucket and class at ``as_of``; the
    amount is what the shadow balances still owe."""
    if not recovering:
        return
    open_cases = _open_cases(conn)
    new, refresh = [], []
    for loan_id, customer_id, dpd, bucket, loan_class, owed in recovering:
        values = {
            "dpd": dpd,
            "bucket": bucket,
            "loan_class": loan_class,
            "amount_overdue": Decimal(owed).scaleb(-2),
            "updated_on": as_of,
        }
        if loan_id in open_cases:
            refresh.append({"cid": open_cases[loan_id][0], **values})
        else:
            new.append(
                {
                    "loan_id": loan_id,
                    "customer_id": customer_id,
                    "status": "open",
                    "opened_on": as_of,
                    **values,
                }
            )
    _write_cases(conn, new, refresh)
    report.cases_opened += len(new)
    report.cases_updated += len(refresh)


def _close_ended_loans(
    conn: Connection,
    ended: list[tuple[str, str, date]],
    report: CloseReport,
    recovery: Mapping[str, str] = MappingProxyType({}),
) -> None:
    """Close the open cases of loans repaid or written off, on the day each ended: also
    when that day was not one the close recorded (a loan repaid between two month ends
    of the history)."""
    open_cases = _open_cases(conn)
    closing = []
    for loan_id, status, ended_on in ended:
        if loan_id in open_cases:
            case_id, opened_on = open_cases[loan_id]
            move = case_move(status, 0, True, Recovery(recovery.get(loan_id, "none")))
            closing.append((case_id, move, max(ended_on, opened_on)))
    _close_cases(conn, closing, report)


def _close_cases(
    conn: Connection, closing: list[tuple[int, CaseMove, date]], report: CloseReport
) -> None:
    table = CaseRow.__table__
    if closing:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("cid"))
            .values(
                status="closed",
                closed_on=bindparam("closed_on"),
                updated_on=bindparam("closed_on"),
            ),
            [{"cid": cid, "closed_on": day} for cid, _, day in closing],
        )
    report.cases_closed += len(closing)
    report.cases_closed_by.update(move.value for _, move, _ in closing)


class _Timer:
    def __init__(self, report: CloseReport) -> None:
        self.report, self.last = report, time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.report.timings[step] = round(now - self.last, 2)
        self.last = now
