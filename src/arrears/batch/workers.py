"""Advance many loans through the domain core on every core of the machine.

Loans are independent, so the book is cut into slices that forked worker processes
close on their own. Workers send back compact results (money as integer cents, entries
as rows) because pickling millions of objects would eat what the second core gains.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine

from arrears.batch.book import Book, load_book
from arrears.batch.carried import CarriedRow, carried_row, carried_slice, carried_states
from arrears.domain.account import (
    DayState,
    LoanAccount,
    Payment,
    advance,
    state_of,
    status_of,
)
from arrears.domain.backdating import Reclosed, reclose, restate_reversed, reversed_since
from arrears.domain.cases import Recovery, ended_on, recovery_of
from arrears.domain.errors import DomainError
from arrears.domain.products import Catalog
from arrears.snapshots import snapshot_table
from arrears.store.db import make_engine

ONE_DAY = timedelta(days=1)

# (loan_id, ref, kind, posted_on, amount in cents, reverses, memo, seq)
EntryRow = tuple[str, str, str, date, int, str | None, str, int]
# (loan_id, ref, line, installment, account, amount in cents)
LegRow = tuple[str, str, int, int, str, int]
# (loan_id, status, dpd, bucket, bucket_index, loan_class, fpd, *money cents)
StateRow = tuple[Any, ...]


@dataclass
class SliceResult:
    closed: list[tuple[str, date, str]] = field(default_factory=list)  # loan, through, status
    ended: list[tuple[str, str, date]] = field(default_factory=list)  # loan, status, ended on
    # loans charged off by their product's rule: loan -> Recovery value (working, done)
    recovery: dict[str, str] = field(default_factory=dict)
    # the loans in recovery as the close leaves them, for their cases: loan, customer,
    # DPD, bucket, class, shadow balances owed (cents)
    recovering: list[tuple[str, str, int, str, str, int]] = field(default_factory=list)
    payments: list[str] = field(default_factory=list)  # references posted
    entries: list[EntryRow] = field(default_factory=list)
    legs: list[LegRow] = field(default_factory=list)
    carried: list[CarriedRow] = field(default_factory=list)  # active and in recovery
    resumed: int = 0  # loans resumed from their carried state (the others were replayed)
    # loans re-closed from a back-dated payment's value date, or from the day of a
    # payment reversed since: loan -> (that day, the last day closed before); their
    # states of those days are in ``tables``
    reclosed: dict[str, tuple[date, date]] = field(default_factory=dict)
    # loans with a back-dated payment (or a reversal of a closed day's payment) that
    # could not be re-closed (the reason): the payment was posted on the first open day,
    # as before (the reversal stands; only the closed days keep their old snapshots)
    not_reclosed: dict[str, str] = field(default_factory=dict)
    # each recorded day's snapshot rows, built as Arrow tables in the worker
    tables: dict[date, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))

    def extend(self, other: SliceResult) -> None:
        self.closed += other.closed
        self.ended += other.ended
        self.recovery |= other.recovery
        self.recovering += other.recovering
        self.payments += other.payments
        self.entries += other.entries
        self.legs += other.legs
        self.carried += other.carried
        self.resumed += other.resumed
        self.reclosed |= other.reclosed
        self.not_reclosed |= other.not_reclosed
        for day, tables in other.tables.items():
            self.tables[day] += tables

    def snapshot(self, day: date) -> pa.Table:
        """The day's snapshot, all slices together, sorted by loan id."""
        parts = self.tables.get(day) or [snapshot_table(day, [], {}, {})]
        return pa.concat_tables(parts).sort_by("loan_id")


@dataclass(frozen=True)
class Job:
    """A close through ``as_of`` of the store at ``url``, recording every day from
    ``record_from`` and also the single days ``extra_days`` (sorted, before
    ``record_from``: month ends for the analytics' history)."""

    url: str
    as_of: date
    record_from: date
    catalog: Catalog
    extra_days: tuple[date, ...] = ()
    # the carried states of the last close (``arrears.batch.carried``), or None: replay
    carried: pa.Table | None = None
    skip: frozenset[str] = frozenset()  # idle loans the close moves forward unloaded
    # each loan's last stored entry's seq, when the close read it already (``Idle``)
    last_seq: Mapping[str, int] | None = None


_JOB: Job | None = None


def state_row(s: DayState) -> StateRow:
    """A DayState as a plain tuple with money in cents (cheap to pickle), in the order of
    ``MONEY_COLUMNS``; the totals are added up in cents."""
    not_due, due, interest = (
        cents(s.principal_not_due),
        cents(s.principal_due),
        cents(s.interest_due),
    )
    op, oi = cents(s.overdue_principal), cents(s.overdue_interest)
    penalty, compound, fee, costs = (
        cents(s.penalty),
        cents(s.compound),
        cents(s.fee),
        cents(s.costs),
    )
    charges = penalty + compound + fee + costs  # with the costs, as DayState's totals
    return (
        s.loan_id,
        s.status,
        s.dpd,
        s.bucket,
        s.bucket_index,
        s.loan_class,
        s.first_payment_default,
        not_due + due,
        not_due,
        due,
        interest,
        op,
        oi,
        penalty,
        compound,
        fee,
        costs,
        cents(s.credit),
        due + interest + charges,
        op + oi + charges,
        cents(s.paid_today),
        cents(s.charged_to_date),
    )


def cents(amount: Decimal) -> int:
    """A quantized amount as whole cents."""
    return int(amount.scaleb(2)) if amount else 0


def close_account(
    acc: LoanAccount, job: Job, payments: Sequence[Payment]
) -> tuple[LoanAccount, list[DayState]]:
    """Advance one loan to ``job.as_of`` and return the states of the recorded days on
    which it belongs in the snapshot: while it is active, and on the day it closes or is
    written off. A payment for a day already closed is posted on the first open day."""
    first_open = acc.closed_through + ONE_DAY
    pays = [
        p if p.paid_on >= first_open else Payment(p.ref, first_open, p.amount) for p in payments
    ]
    kept: list[DayState] = []
    if job.extra_days:
        acc, pays = _record_single_days(acc, job, pays, kept)
    if acc.closed_through < job.record_from - ONE_DAY:
        early = [p for p in pays if p.paid_on < job.record_from]
        acc, _ = advance(acc, job.record_from - ONE_DAY, early)
        pays = [p for p in pays if p.paid_on >= job.record_from]
    previous = status_of(acc) if acc.closed_through >= acc.terms.disbursed_on else "active"
    acc, states = advance(acc, job.as_of, pays, job.catalog, job.record_from)
    for s in states:
        if s.status == "active" or previous == "active":
            kept.append(s)
        previous = s.status
    return acc, kept


def _reclose_backdated(
    acc: LoanAccount, job: Job, payments: Sequence[Payment]
) -> tuple[LoanAccount, Sequence[Payment], list[DayState], date | None]:
    """Book the payments dated in days ``acc`` has closed as if known then
    (``arrears.domain.backdating``): the account corrected, the payments still to post,
    the loan's corrected states of the days from the first value date through its last
    closed day (those it belongs in a snapshot on) and that value date (None: nothing
    re-closed). Raises ``DomainError`` or ``ValueError`` for a loan that cannot be
    corrected by entries (its write-off would change, its product accrues unrounded, a
    payment is dated on or before disbursement): the caller keeps the old rule for it,
    the payment posted on the first open day, and reports the loan."""
    late = [p for p in payments if p.paid_on <= acc.closed_through]
    if not late or acc.closed_through <= acc.terms.disbursed_on:
        return acc, payments, [], None
    redo = reclose(acc, [p for p in late if p.paid_on > acc.terms.disbursed_on], job.catalog)
    done = {e.ref for e in redo.entries}
    left = [p for p in payments if p.ref not in done]
    return redo.account, left, _kept(redo), redo.value_date


def _kept(redo: Reclosed) -> list[DayState]:
    """The re-closed states a snapshot holds: while the loan is active, and on the day
    it stops being so."""
    kept, previous = [], redo.previous
    for s in redo.states:
        if s.status == "active" or previous == "active":
            kept.append(s)
        previous = s.status
    return kept


def _record_single_days(
    acc: LoanAccount, job: Job, pays: list[Payment], kept: list[DayState]
) -> tuple[LoanAccount, list[Payment]]:
    """Advance ``acc`` through each of ``job.extra_days`` it has not yet closed, adding
    that one day's state to ``kept`` under the same rule as the window (active, or the
    day it stopped being active); returns the account and the payments still to post.

    Each recorded day gets its own accrual entry, as inside the window: balances are the
    same as without the stop, only the accrual entries are cut there."""
    for day in job.extra_days:
        if day <= acc.closed_through:
            continue  # not yet disbursed on that day
        acc, _ = advance(acc, day - ONE_DAY, [p for p in pays if p.paid_on < day])
        previous = status_of(acc) if acc.closed_through >= acc.terms.disbursed_on else "active"
        today = [p for p in pays if p.paid_on == day]
        acc, states = advance(acc, day, today, job.catalog, day)
        pays = [p for p in pays if p.paid_on > day]
        kept += [s for s in states if s.status == "active" or previous == "active"]
    return acc, pays


def _close_slice(bounds: tuple[str, str]) -> SliceResult:
    assert _JOB is not None, "worker started without a job"
    # The domain builds no reference cycles; the collector would only walk millions of
    # live objects again and again.
    paused = gc.isenabled()
    gc.disable()
    try:
        states = carried_states(carried_slice(_JOB.carried, *bounds))
        with _engine(_JOB.url).connect() as conn:
            book = load_book(
                conn,
                _JOB.catalog,
                _JOB.as_of,
                *bounds,
                carried=states,
                skip=_JOB.skip,
                last_seq=_JOB.last_seq,
            )
        return _close_accounts(_JOB, book)
    finally:
        if paused:
            gc.enable()


_ENGINES: dict[tuple[int, str], Engine] = {}


def _engine(url: str) -> Engine:
    """One engine per process (a forked worker must not share its parent's connections)."""
    key = (os.getpid(), url)
    if key not in _ENGINES:
        _ENGINES[key] = make_engine(url)
    return _ENGINES[key]


def _close_accounts(job: Job, book: Book) -> SliceResult:
    out = SliceResult()
    rows: dict[date, list[StateRow]] = defaultdict(list)
    out.resumed = len(book.carried)
    for acc in book.accounts:
        before = len(acc.ledger.entries)
        stored = book.stored.get(acc.loan_id, before)
        payments = book.payments.get(acc.loan_id, ())
        out.payments += [p.ref for p in payments]
        lid = acc.loan_id
        through = acc.closed_through
        try:
            acc, payments, corrected, value_date = _reclose_backdated(acc, job, payments)
            if value_date is None and (refunded := reversed_since(acc)):
                restated = restate_reversed(acc, refunded, job.catalog)
                corrected, value_date = _kept(restated), restated.value_date
        except (DomainError, ValueError) as exc:
            out.not_reclosed[lid] = str(exc)
            corrected, value_date = [], None
        if value_date is not None:
            out.reclosed[lid] = (value_date, through)
        acc, states = close_account(acc, job, payments)
        states = [*corrected, *states]
        for seq, e in enumerate(acc.ledger.entries[before:], start=stored + 1):
            amount = cents(e.amount)
            out.entries.append(
                (lid, e.ref, e.kind.value, e.posted_on, amount, e.reverses, e.memo, seq)
            )
            for line, leg in enumerate(e.legs, start=1):
                account = leg.account.value
                out.legs.append((lid, e.ref, line, leg.installment, account, cents(leg.amount)))
        for s in states:
            rows[s.as_of].append(state_row(s))
        status = status_of(acc)
        out.closed.append((lid, acc.closed_through, status))
        moved_before = book.carried.get(lid)  # a carried ledger holds only the new entries
        seq = stored + len(acc.ledger.entries) - before  # its last entry's, once posted
        if status == "active":
            last = states[-1] if states and states[-1].as_of == acc.closed_through else None
            state = None if last is None else state_row(last)
            out.carried.append(carried_row(acc, seq, moved_before, state))
        else:
            recovery = recovery_of(acc)
            if recovery is not Recovery.NONE:
                out.recovery[lid] = recovery.value
            if recovery is Recovery.WORKING:  # its case stays open (domain.cases)
                s = state_of(acc, job.catalog)
                out.recovering.append(
                    (lid, book.customers[lid], s.dpd, s.bucket, s.loan_class, cents(s.shadow.total))
                )
                # carried on, not replayed tomorrow (it has no snapshot row to carry)
                out.carried.append(carried_row(acc, seq, moved_before, None))
                continue
            ended = ended_on(acc)
            if ended is not None and moved_before is not None and status == "closed":
                ended = max(ended, moved_before)
            out.ended.append((lid, status, ended or acc.closed_through))
    for day, day_rows in rows.items():
        out.tables[day].append(snapshot_table(day, day_rows, book.customers, book.products))
    return out


def partitions(loan_ids: Sequence[str], workers: int) -> list[tuple[str, str]]:
    """Contiguous loan-id ranges, several per worker so the work evens out."""
    if not loan_ids:
        return []
    size = max(100, -(-len(loan_ids) // (workers * 6)))
    return [
        (loan_ids[i], loan_ids[min(i + size, len(loan_ids)) - 1])
        for i in range(0, len(loan_ids), size)
    ]


def close_all(
    job: Job,
    loan_ids: Sequence[str],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SliceResult:
    """Close the loans ``loan_ids`` (sorted) of ``job``: in ``workers`` forked processes
    (default: ``$ARREARS_WORKERS``, else one per core), each loading and closing its own
    ranges of the book."""
    global _JOB
    workers = workers or int(os.environ.get("ARREARS_WORKERS", 0)) or os.cpu_count() or 1
    ranges = partitions(loan_ids, workers)
    result = SliceResult()
    _JOB = job
    try:
        with ExitStack() as stack:
            parts: Iterable[SliceResult]
            if (
                workers == 1
                or len(ranges) <= 1
                or "fork" not in multiprocessing.get_all_start_methods()
            ):
                parts = map(_close_slice, ranges)
            else:
                pool = stack.enter_context(multiprocessing.get_context("fork").Pool(workers))
                parts = pool.imap(_close_slice, ranges)
            for (_, last), part in zip(ranges, parts, strict=True):
                result.extend(part)
                if progress:  # loans of the ranges done so far, skipped ones included
                    progress(bisect_right(loan_ids, last), len(loan_ids))
        return result
    finally:
        _JOB = None
