"""Advance many loans through the domain core on every core of the machine.

Loans are independent, so the book is cut into slices that forked worker processes
close on their own. Workers send back compact results (money as integer cents, entries
as rows) because pickling millions of objects would eat what the second core gains.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arrears.domain.account import DayState, LoanAccount, Payment, advance, status_of
from arrears.domain.products import Catalog

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
    entries: list[EntryRow] = field(default_factory=list)
    legs: list[LegRow] = field(default_factory=list)
    states: dict[date, list[StateRow]] = field(default_factory=lambda: defaultdict(list))

    def extend(self, other: SliceResult) -> None:
        self.closed += other.closed
        self.entries += other.entries
        self.legs += other.legs
        for day, rows in other.states.items():
            self.states[day] += rows


@dataclass(frozen=True)
class Job:
    accounts: Sequence[LoanAccount]
    payments: dict[str, list[Payment]]
    as_of: date
    record_from: date
    catalog: Catalog


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
    charges = (
        (penalty := cents(s.penalty)) + (compound := cents(s.compound)) + (fee := cents(s.fee))
    )
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
    if acc.closed_through < job.record_from - ONE_DAY:
        early = [p for p in pays if p.paid_on < job.record_from]
        acc, _ = advance(acc, job.record_from - ONE_DAY, early)
        pays = [p for p in pays if p.paid_on >= job.record_from]
    previous = status_of(acc) if acc.closed_through >= acc.terms.disbursed_on else "active"
    acc, states = advance(acc, job.as_of, pays, job.catalog, job.record_from)
    kept = []
    for s in states:
        if s.status == "active" or previous == "active":
            kept.append(s)
        previous = s.status
    return acc, kept


def _close_slice(bounds: tuple[int, int]) -> SliceResult:
    assert _JOB is not None, "worker started without a job"
    job = _JOB
    out = SliceResult()
    for acc in job.accounts[bounds[0] : bounds[1]]:
        before = len(acc.ledger.entries)
        acc, states = close_account(acc, job, job.payments.get(acc.loan_id, ()))
        lid = acc.loan_id
        for seq, e in enumerate(acc.ledger.entries[before:], start=before + 1):
            amount = cents(e.amount)
            out.entries.append(
                (lid, e.ref, e.kind.value, e.posted_on, amount, e.reverses, e.memo, seq)
            )
            for line, leg in enumerate(e.legs, start=1):
                account = leg.account.value
                out.legs.append((lid, e.ref, line, leg.installment, account, cents(leg.amount)))
        for s in states:
            out.states[s.as_of].append(state_row(s))
        out.closed.append((lid, acc.closed_through, status_of(acc)))
    return out


def close_all(
    job: Job, workers: int | None = None, progress: Callable[[int, int], None] | None = None
) -> SliceResult:
    """Close every account of ``job``; in ``workers`` forked processes (default: one per
    core) when there is enough work to pay for them."""
    global _JOB
    total = len(job.accounts)
    workers = workers or os.cpu_count() or 1
    size = max(500, -(-total // (workers * 8)))
    slices = [(i, min(i + size, total)) for i in range(0, total, size)]
    result = SliceResult()
    _JOB = job
    try:
        if (
            workers == 1
            or len(slices) <= 1
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            for bounds in slices:
                result.extend(_close_slice(bounds))
                if progress:
                    progress(bounds[1], total)
            return result
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = 0
            for part in pool.imap(_close_slice, slices):
                result.extend(part)
                done += len(part.closed)
                if progress:
                    progress(done, total)
        return result
    finally:
        _JOB = None
