"""Arrangements that change a loan's contract, exact in Decimal (issue 25, contract 7).

Both apply at the end of a closed day ``on`` (``acc.closed_through == on``): after that
day's installments fell due, its payments, waivers and its accrual, so the day's figures
are those of the old contract and the next day is closed under the new one.

**Settlement (结清)** ``settle``: the debtor pays an agreed ``amount`` and everything else
the loan owes, due and not yet due, is forgiven, in ``SETTLEMENT_ORDER``: 罚息, 复利,
fees, enforcement costs, interest fallen due (oldest installment first), principal fallen
due (oldest first), then principal not yet due. The installments not yet due are
replaced by one installment falling due on ``on`` that holds the principal not yet due
(no interest: contract interest not yet due is not owed). Ledger: ``<ref>:forgive`` (kind
``settlement``, the forgiven legs), ``due:<k>`` (the accelerated installment) and
``<ref>`` (a payment of ``amount`` clearing what is left, each component named). The
loan is then repaid: status ``closed``, and its case closes as ``repaid`` by the one
case rule (``cases.case_move``); ``settled`` tells a loan closed by settlement from one
repaid in full. Whatever credit the debtor held stays theirs.

**Instalment plan (分期, re-amortised)** ``reamortise``: the principal and interest of
the installments fallen due and still owed (and, with ``Plan.charges``, the 罚息, 复利,
fees and costs owed) plus the principal not yet due become the principal of a new
schedule of ``Plan.count`` monthly installments from ``Plan.first_due`` (annuity or
equal principal, at ``Plan.annual_rate``, under the product's day count and rounding),
numbered after the installments that fell due; the old installments not yet due are
dropped. Ledger: one ``restructure`` entry whose legs take each amount off the old
installment (or the loan's charges) and put their sum into principal not yet due, which
each new installment draws as it falls due (``due:<seq>``). Nothing is created or lost:
the legs sum to zero, so the total owed is the same before and after, and the new
schedule's principal sums to exactly what was re-amortised.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from arrears.domain import operations as ops
from arrears.domain.account import LoanAccount
from arrears.domain.calendar import add_months
from arrears.domain.errors import DomainError
from arrears.domain.ledger import (
    LOAN_LEVEL,
    Account,
    Entry,
    EntryKind,
    Ledger,
    Leg,
    post,
)
from arrears.domain.money import ZERO, quantize
from arrears.domain.products import Product, ScheduleMethod
from arrears.domain.schedule import Installment, LoanTerms, build_schedule

# what a settlement forgives first: charges, then interest, then principal, not yet due last
SETTLEMENT_ORDER: tuple[Account, ...] = (
    Account.PENALTY,
    Account.COMPOUND,
    Account.FEE,
    Account.COST,
    Account.INTEREST,
    Account.PRINCIPAL,
    Account.NOT_DUE,
)
# the charges a plan re-amortises when told to (``Plan.charges``)
PLAN_CHARGES: tuple[Account, ...] = (Account.PENALTY, Account.COMPOUND, Account.FEE, Account.COST)
PLAN_METHODS = (ScheduleMethod.ANNUITY, ScheduleMethod.EQUAL_PRINCIPAL)
SETTLEMENT_MEMO = "settlement"


def _keys(ledger: Ledger, account: Account) -> list[tuple[int, Account]]:
    """The balances of ``account``: per installment (oldest first) or the loan's own."""
    if account in (Account.INTEREST, Account.PRINCIPAL):
        return [(seq, account) for seq in ledger.installments_with(account) if seq != LOAN_LEVEL]
    return [(LOAN_LEVEL, account)]


def forgiveness_legs(ledger: Ledger, relief: Decimal) -> tuple[Leg, ...]:
    """Legs forgiving ``relief`` of what ``ledger`` owes, in ``SETTLEMENT_ORDER``; refused
    when it is more than is owed (due and not yet due)."""
    owed = ledger.total_outstanding
    if relief <= 0 or relief > owed:
        raise DomainError(
            f"loan {ledger.loan_id}: cannot forgive {relief}, the loan owes {owed} in all"
        )
    legs: list[Leg] = []
    left = relief
    for account in SETTLEMENT_ORDER:
        for key in _keys(ledger, account):
            part = min(ledger.balances.get(key, ZERO), left)
            if part > 0:
                legs.append(Leg(key[0], key[1], -part))
                left -= part
    return tuple(legs)


def forgive(ledger: Ledger, ref: str, on: date, relief: Decimal, memo: str = "") -> Ledger:
    """Post what a settlement forgives (kind ``settlement``) under ``ref``."""
    existing = ledger.entry(ref)
    legs = existing.legs if existing is not None else forgiveness_legs(ledger, relief)
    entry = Entry(ref, EntryKind.SETTLEMENT, on, relief, legs, memo=memo or SETTLEMENT_MEMO)
    return post(ledger, entry).ledger


def forgiven(ledger: Ledger) -> dict[Account, Decimal]:
    """What settlements forgave, by account (principal not yet due on its own)."""
    out: dict[Account, Decimal] = {}
    for entry in ledger.entries:
        if entry.kind is EntryKind.SETTLEMENT:
            for leg in entry.legs:
                out[leg.account] = out.get(leg.account, ZERO) - leg.amount
    return out


def settled(ledger: Ledger) -> bool:
    """Whether the loan was closed by a settlement (结清) rather than repaid in full."""
    return any(e.kind is EntryKind.SETTLEMENT for e in ledger.entries)


def _check_day(acc: LoanAccount, on: date, what: str) -> None:
    if acc.closed_through != on:
        raise DomainError(
            f"loan {acc.loan_id}: a {what} applies at the end of a closed day; the loan is "
            f"closed through {acc.closed_through}, not {on}"
        )
    if acc.ledger.written_off:
        raise DomainError(f"loan {acc.loan_id}: written off; no {what} can be made")


def _fallen(acc: LoanAccount, on: date) -> int:
    """How many installments have fallen due by the end of ``on``."""
    return bisect_right(acc.due_dates, on)


def _with_schedule(
    acc: LoanAccount, ledger: Ledger, schedule: tuple[Installment, ...], **changes: object
) -> LoanAccount:
    due = tuple(i.due_date for i in schedule)
    return replace(acc, ledger=ledger, schedule=schedule, due_dates=due, **changes)  # type: ignore[arg-type]


def settle(acc: LoanAccount, ref: str, on: date, amount: Decimal, memo: str = "") -> LoanAccount:
    """结清 at the end of ``on``: ``amount`` paid, the rest of everything owed forgiven in
    ``SETTLEMENT_ORDER``, the installments not yet due accelerated into one due on ``on``
    (see the module doc). The loan owes nothing afterwards."""
    _check_day(acc, on, "settlement")
    ledger = acc.ledger
    cur = acc.currency
    owed = ledger.total_outstanding
    if amount <= 0 or quantize(amount, cur) != amount:
        raise DomainError(f"loan {acc.loan_id}: settlement amount {amount} is not an amount")
    if amount >= owed:
        raise DomainError(
            f"loan {acc.loan_id}: settlement amount {amount} is not below what is owed "
            f"({owed}); that is a payment, not a settlement"
        )
    ledger = forgive(ledger, f"{ref}:forgive", on, owed - amount, memo)
    k = _fallen(acc, on)
    schedule = acc.schedule[:k]
    if k < len(acc.schedule):  # the principal not yet due falls due now, without interest
        last = Installment(
            k + 1, on, ledger.balance(Account.NOT_DUE, LOAN_LEVEL), quantize(ZERO, cur)
        )
        ledger = ops.fall_due(ledger, last).ledger
        schedule = (*schedule, last)
    legs = tuple(
        Leg(i, a, -v)
        for (i, a), v in sorted(ledger.balances.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
        if a in SETTLEMENT_ORDER and v > 0
    )
    paid = -sum((leg.amount for leg in legs), ZERO)
    if paid != amount:  # pragma: no cover - the forgiveness left exactly the amount
        raise DomainError(f"loan {acc.loan_id}: settlement left {paid}, not {amount}")
    payment = Entry(ref, EntryKind.PAYMENT, on, amount, legs, memo=SETTLEMENT_MEMO)
    ledger = post(ledger, payment).ledger
    return _with_schedule(acc, ledger, schedule, unposted=(Fraction(0), Fraction(0)))


@dataclass(frozen=True, slots=True)
class Plan:
    """An instalment plan's terms: ``count`` monthly installments from ``first_due``,
    ``method`` annuity (等额本息) or equal principal (等额本金) at ``annual_rate``;
    ``charges``: the 罚息, 复利, fees and costs owed are re-amortised too (else they stay
    owed, due now)."""

    count: int
    method: ScheduleMethod
    annual_rate: Decimal
    first_due: date
    charges: bool = False

    def __post_init__(self) -> None:
        if self.count < 1:
            raise DomainError(f"a plan needs at least one installment, got {self.count}")
        if self.method not in PLAN_METHODS:
            names = " | ".join(m.value for m in PLAN_METHODS)
            raise DomainError(f"a plan's method is {names}, not {self.method.value}")
        if self.annual_rate < 0:
            raise DomainError(f"a plan's rate must not be negative, got {self.annual_rate}")


def reamortised(ledger: Ledger, charges: bool) -> tuple[Leg, ...]:
    """The legs taking off what a plan re-amortises: the principal and interest owed by
    installments fallen due, and with ``charges`` the loan's 罚息, 复利, fees and costs
    (principal not yet due stays where it is)."""
    legs = [
        Leg(seq, account, -value)
        for (seq, account), value in sorted(
            ledger.balances.items(), key=lambda kv: (kv[0][0], kv[0][1].value)
        )
        if seq != LOAN_LEVEL and account in (Account.PRINCIPAL, Account.INTEREST) and value > 0
    ]
    if charges:
        legs += [
            Leg(LOAN_LEVEL, a, -ledger.balance(a, LOAN_LEVEL))
            for a in PLAN_CHARGES
            if ledger.balance(a, LOAN_LEVEL) > 0
        ]
    return tuple(legs)


def plan_schedule(
    product: Product, principal: Decimal, plan: Plan, on: date, start: int
) -> tuple[Installment, ...]:
    """The new installments of ``plan`` on ``principal``, made at the end of ``on``
    (interest from then), under ``product``'s day count and rounding, numbered after the
    ``start`` installments fallen due."""
    if plan.first_due <= on:
        raise DomainError(f"a plan's first due date must be after {on}, got {plan.first_due}")
    product = replace(product, method=plan.method)
    terms = LoanTerms(principal, plan.annual_rate, plan.count, on, plan.first_due)
    return tuple(
        Installment(start + i.seq, i.due_date, i.principal, i.interest)
        for i in build_schedule(product, terms)
    )


def reamortise(acc: LoanAccount, ref: str, on: date, plan: Plan, memo: str = "") -> LoanAccount:
    """分期 at the end of ``on``: overdue and not-yet-due balances re-amortised together
    into ``plan``'s new schedule (see the module doc)."""
    _check_day(acc, on, "plan")
    k = _fallen(acc, on)
    principal = reamortised_principal(acc.ledger, plan.charges)
    new = plan_schedule(acc.product, principal, plan, on, k)
    ledger = restructure(acc.ledger, ref, on, plan.charges, memo)
    # restructured from the end of ``on`` (domain/observation.py)
    marked = tuple(sorted({*acc.restructured_on, on}))
    return _with_schedule(acc, ledger, (*acc.schedule[:k], *new), restructured_on=marked)


def reamortised_principal(ledger: Ledger, charges: bool) -> Decimal:
    """The principal of the new schedule: what ``reamortised`` takes off plus the
    principal not yet due; refused when it is nothing."""
    moved = -sum((leg.amount for leg in reamortised(ledger, charges)), ZERO)
    principal = moved + ledger.balance(Account.NOT_DUE, LOAN_LEVEL)
    if principal <= 0:
        raise DomainError(f"loan {ledger.loan_id}: nothing is owed to re-amortise")
    return principal


def restructure(ledger: Ledger, ref: str, on: date, charges: bool, memo: str = "") -> Ledger:
    """Post a plan's ``restructure`` entry: the legs of ``reamortised`` and their sum
    into principal not yet due (the entry's amount is the new schedule's principal)."""
    principal = reamortised_principal(ledger, charges)
    moved = reamortised(ledger, charges)
    capitalised = -sum((leg.amount for leg in moved), ZERO)
    legs = (*moved, Leg(LOAN_LEVEL, Account.NOT_DUE, capitalised)) if capitalised else moved
    entry = Entry(ref, EntryKind.RESTRUCTURE, on, principal, legs, memo=memo or "plan")
    return post(ledger, entry).ledger


def extended_schedule(remaining: Sequence[Installment], months: int) -> tuple[Installment, ...]:
    """展期: every installment of ``remaining`` (those not yet due) falls due ``months``
    later, amounts unchanged (the day of month kept where the month has it)."""
    if months < 1:
        raise DomainError(f"an extension must be at least one month, got {months}")
    if not remaining:
        raise DomainError("nothing is left to extend: every installment has fallen due")
    return tuple(
        Installment(i.seq, add_months(i.due_date, months), i.principal, i.interest)
        for i in remaining
    )


def extend(acc: LoanAccount, on: date, months: int) -> LoanAccount:
    """展期 at the end of ``on``: the installments not yet due fall due ``months`` later
    (those fallen due stay owed as they are; the ledger is unchanged), and the loan is
    restructured from the end of ``on`` (domain/observation.py)."""
    _check_day(acc, on, "extension")
    k = _fallen(acc, on)
    moved = extended_schedule(acc.schedule[k:], months)
    marked = tuple(sorted({*acc.restructured_on, on}))
    return _with_schedule(acc, acc.ledger, (*acc.schedule[:k], *moved), restructured_on=marked)
