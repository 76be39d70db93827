"""A processor's refund or chargeback of a payment the close has posted, booked in the
ledger the way the domain books a scenario's ``reversal`` (docs/loan-rules.md): the
payment's legs undone by ``operations.reverse``, then what the payment had avoided
while it stood charged again by ``account.recharge`` (the late fees and the 罚息 and
复利 of the days it stood, cut to the cost cap), all on the reversal's day.

What it avoided is found as the scenario finds it: the loan closed again from the day
before the payment to the day before the reversal without it, compared with the loan
as it is. The stored ledger stands in for the scenario's events: the loan as it was
the day before the payment is its entries dated before it; the other payments posted
since are paid again on their days (through the waterfall), and the other events
(waivers, fees, reversals, a write-off) posted again as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from arrears.domain import operations as ops
from arrears.domain.account import (
    AvoidedCharges,
    LoanAccount,
    advance,
    avoided_charges,
    close_day,
    recharge,
    resume_account,
)
from arrears.domain.backdating import events_by_day
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Entry, replay
from arrears.domain.pauses import Pause
from arrears.domain.products import Product
from arrears.domain.schedule import Installment, LoanTerms

ONE_DAY = timedelta(days=1)


def reverse_payment(
    loan_id: str,
    currency: str,
    product: Product,
    terms: LoanTerms,
    schedule: tuple[Installment, ...],
    entries: Sequence[Entry],
    closed_through: date,
    payment_ref: str,
    memo: str,
    pauses: tuple[Pause, ...] = (),
    restructured_on: tuple[date, ...] = (),
) -> tuple[Entry, ...]:
    """The entries that reverse ``payment_ref`` on ``closed_through`` + 1 (the loan's
    first open day) and charge what it avoided: ``rev:<ref>`` and, when it avoided
    anything, ``recharge:<ref>`` and late fees. ``pauses`` and ``restructured_on`` are
    the loan's DPD pauses and restructuring days as the store keeps them (the days closed
    again count DPD, and so the charge-off rule, as the close did). Raises
    ``DomainError`` when the ledger cannot take them."""
    ledger = replay(loan_id, entries, currency)
    # the loan as its last close left it: what was posted since for the open day (an
    # earlier reversal of that day, a waiver) belongs to that day, as a scenario's
    # events of one day are each measured against the day before
    closed = [e for e in entries if e.posted_on <= closed_through]
    actual = resume_account(
        loan_id,
        product,
        terms,
        schedule,
        replay(loan_id, closed, currency),
        closed_through,
        pauses,
        restructured_on,
    )
    on = closed_through + ONE_DAY
    reversed_ = ops.reverse(ledger, f"rev:{payment_ref}", on, payment_ref, memo=memo).ledger
    missed = _avoided(actual, closed, payment_ref)
    if missed is not None:
        reversed_ = recharge(actual, reversed_, f"recharge:{payment_ref}", on, missed)
    return reversed_.entries[len(ledger.entries) :]


def _avoided(
    actual: LoanAccount, entries: Sequence[Entry], payment_ref: str
) -> AvoidedCharges | None:
    """What the payment avoided from its day to ``actual.closed_through``; None when it
    was posted on the reversal's day (it avoided nothing) or the loan cannot be closed
    again without it (another event no longer fits the ledger: nothing is recharged)."""
    target = next(e for e in entries if e.ref == payment_ref)
    paid_on, through = target.posted_on, actual.closed_through
    if paid_on > through:
        return None
    by_day = events_by_day(entries, paid_on, through, (payment_ref,))
    try:
        acc = resume_account(
            actual.loan_id,
            actual.product,
            actual.terms,
            actual.schedule,
            replay(actual.loan_id, [e for e in entries if e.posted_on < paid_on], actual.currency),
            paid_on - ONE_DAY,
            actual.pauses,
            actual.restructured_on,
        )
        for day in sorted(by_day):
            acc, _ = advance(acc, day - ONE_DAY)
            acc = close_day(acc, day, *by_day[day])
        without, _ = advance(acc, through)
    except (DomainError, ValueError):
        return None
    return avoided_charges(actual, without)
