"""The loan account and its daily close: the scalar reference for the batch engine.

Closing day D for one loan does, in this order:

1. installments due on D fall due (their interest counts toward the cost cap), and any
   credit balance is applied to them;
2. payments dated D are settled through the product's waterfall, in reference order;
3. installments whose grace period ended yesterday and are still unpaid get the late
   fee, once (``late:<seq>``);
4. 罚息 accrues on the principal of installments past grace, 复利 on their interest, each
   rounded to the cent for the day (``accr:<D>``);
5. the cost cap cuts step 3 and 4 (fees first, then penalty, then compound) to the room
   left under ``cost_cap`` a year on the principal since disbursement;
6. DPD, bucket and class are assessed on the balances at the end of D.

A day on which none of this can change anything (nothing falls due, nobody pays, no
grace period ends, nothing past grace accrues) is skipped without work: ``advance``
gives the same ledger as closing every single day, which the tests check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from arrears.domain import operations as ops
from arrears.domain.charges import apply_cap, cost_allowance, daily_charge, late_fee
from arrears.domain.delinquency import Delinquency, assess, oldest_unpaid, unpaid
from arrears.domain.ledger import LOAN_LEVEL, Account, EntryKind, Ledger
from arrears.domain.money import ZERO
from arrears.domain.products import Catalog, Product
from arrears.domain.schedule import Installment, LoanTerms, build_schedule

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment received for a loan, to be posted on ``paid_on``."""

    ref: str
    paid_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LoanAccount:
    """A loan's contract, schedule and ledger, closed through ``closed_through``."""

    loan_id: str
    product: Product
    terms: LoanTerms
    schedule: tuple[Installment, ...]
    ledger: Ledger
    closed_through: date
    charged: Decimal  # contract interest fallen due plus charges accrued: the cap's measure

    @property
    def currency(self) -> str:
        return self.product.currency


def open_account(loan_id: str, product: Product, terms: LoanTerms) -> LoanAccount:
    """A new account: schedule built, principal disbursed, closed through disbursement day."""
    ledger = Ledger(loan_id, product.currency)
    ledger = ops.disburse(ledger, f"disb:{loan_id}", terms.disbursed_on, terms.principal).ledger
    return LoanAccount(
        loan_id, product, terms, build_schedule(product, terms), ledger, terms.disbursed_on, ZERO
    )


def resume_account(
    loan_id: str,
    product: Product,
    terms: LoanTerms,
    schedule: tuple[Installment, ...],
    ledger: Ledger,
    closed_through: date,
) -> LoanAccount:
    """An account rebuilt from stored state; the cost measure is recomputed from the ledger."""
    return LoanAccount(
        loan_id, product, terms, schedule, ledger, closed_through, cost_charged(ledger)
    )


def cost_charged(ledger: Ledger) -> Decimal:
    """Contract interest fallen due plus penalty, compound and fees charged, less reversed
    fees: what the cost cap measures."""
    total = ZERO
    reversed_refs = {e.reverses for e in ledger.entries if e.kind is EntryKind.REVERSAL}
    for entry in ledger.entries:
        if entry.kind is EntryKind.INSTALLMENT_DUE:
            total += sum(
                (leg.amount for leg in entry.legs if leg.account is Account.INTEREST), ZERO
            )
        elif entry.kind is EntryKind.ACCRUAL or (
            entry.kind is EntryKind.FEE and entry.ref not in reversed_refs
        ):
            total += entry.amount
    return total


def _past_grace(product: Product, inst: Installment, day: date) -> bool:
    return (day - inst.due_date).days > product.grace_days


def _overdue_base(acc: LoanAccount, day: date) -> tuple[Decimal, Decimal]:
    """Principal and interest of installments past grace on ``day``, still owed."""
    principal = interest = ZERO
    for inst in acc.schedule:
        if inst.due_date >= day:
            break
        if _past_grace(acc.product, inst, day):
            principal += acc.ledger.balance(Account.PRINCIPAL, inst.seq)
            interest += acc.ledger.balance(Account.INTEREST, inst.seq)
    return principal, interest


def close_day(acc: LoanAccount, day: date, payments: Sequence[Payment] = ()) -> LoanAccount:
    """Close ``day`` for this loan (the day after ``closed_through``)."""
    if day != acc.closed_through + ONE_DAY:
        raise ValueError(
            f"loan {acc.loan_id}: closing {day} but closed through {acc.closed_through}"
        )
    product, ledger, charged = acc.product, acc.ledger, acc.charged
    waterfall = product.waterfall
    fell_due = False
    for inst in acc.schedule:
        if inst.due_date == day:
            ledger = ops.fall_due(ledger, inst).ledger
            charged += inst.interest
            fell_due = True
    if fell_due:
        applied = ops.apply_credit(ledger, f"credit:{day.isoformat()}", day, waterfall)
        if applied is not None:
            ledger = applied.ledger
    for payment in sorted(payments, key=lambda p: p.ref):
        ledger = ops.pay(ledger, payment.ref, day, payment.amount, waterfall).ledger

    rules = product.charges
    fees: list[tuple[int, Decimal]] = []
    if rules.late_fee_fixed or rules.late_fee_rate:
        for inst in acc.schedule:
            if (day - inst.due_date).days == product.grace_days + 1:
                missed = unpaid(ledger, inst.seq)
                if missed > product.arrears_tolerance:
                    fees.append((inst.seq, late_fee(rules, missed, product.currency)))
    acc = replace(acc, ledger=ledger)
    base_p, base_i = _overdue_base(acc, day)
    penalty = daily_charge(base_p, rules.penalty_rate, product.day_count, product.currency)
    compound = daily_charge(base_i, rules.compound_rate, product.day_count, product.currency)
    allowance = cost_allowance(
        rules, acc.terms.principal, acc.terms.disbursed_on, day, product.currency
    )
    headroom = None if allowance is None else allowance - charged
    capped = apply_cap(headroom, [fee for _, fee in fees] + [penalty, compound])
    *fee_amounts, penalty, compound = capped.amounts
    for (seq, _), amount in zip(fees, fee_amounts, strict=True):
        if amount > 0:
            ledger = ops.charge_fee(ledger, f"late:{seq}", day, amount, memo="late fee").ledger
    accrued = ops.accrue(ledger, f"accr:{day.isoformat()}", day, penalty, compound)
    if accrued is not None:
        ledger = accrued.ledger
    return replace(acc, ledger=ledger, closed_through=day, charged=charged + capped.total)


def _accruing(acc: LoanAccount, day: date) -> bool:
    """Whether closing ``day`` could accrue anything on balances already past grace."""
    rules = acc.product.charges
    if rules.penalty_rate == 0 and rules.compound_rate == 0:
        return False
    principal, interest = _overdue_base(acc, day)
    return (principal > 0 and rules.penalty_rate > 0) or (interest > 0 and rules.compound_rate > 0)


def _next_event(acc: LoanAccount, after: date, payment_dates: Sequence[date]) -> date | None:
    """The first day after ``after`` on which the ledger can change, ignoring accrual."""
    candidates = [d for d in payment_dates if d > after]
    grace_end = timedelta(days=acc.product.grace_days + 1)
    for inst in acc.schedule:
        if inst.due_date > after:
            candidates.append(inst.due_date)
            break
        # the day grace ends: late fee, and the first day of accrual
        if inst.due_date + grace_end > after and unpaid(acc.ledger, inst.seq) > 0:
            candidates.append(inst.due_date + grace_end)
    return min(candidates, default=None)


@dataclass(frozen=True, slots=True)
class DayState:
    """One loan on one date, as the daily close leaves it: the row of a snapshot."""

    loan_id: str
    as_of: date
    status: str
    dpd: int
    bucket: str
    bucket_index: int
    loan_class: str
    first_payment_default: bool
    principal_not_due: Decimal
    principal_due: Decimal
    interest_due: Decimal
    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty: Decimal
    compound: Decimal
    fee: Decimal
    credit: Decimal
    paid_today: Decimal
    charged_to_date: Decimal

    @property
    def principal_outstanding(self) -> Decimal:
        return self.principal_not_due + self.principal_due

    @property
    def total_due(self) -> Decimal:
        """Payable now: fallen-due principal and interest plus every charge."""
        return self.principal_due + self.interest_due + self.penalty + self.compound + self.fee

    @property
    def overdue_amount(self) -> Decimal:
        """In arrears: principal and interest past grace plus every charge."""
        return (
            self.overdue_principal + self.overdue_interest + self.penalty + self.compound + self.fee
        )


def state_of(acc: LoanAccount, catalog: Catalog) -> DayState:
    """The snapshot row of ``acc`` on the day it is closed through."""
    day, ledger, product = acc.closed_through, acc.ledger, acc.product
    oldest = oldest_unpaid(acc.schedule, ledger, day, product.arrears_tolerance)
    raw = (day - oldest.due_date).days if oldest else 0
    dpd = raw if raw > product.grace_days else 0
    d: Delinquency = assess(
        dpd, oldest.seq if oldest else None, catalog.buckets, catalog.classification
    )
    overdue_p, overdue_i = _overdue_base(acc, day)
    principal_due = ledger.balance(Account.PRINCIPAL)
    outstanding = ledger.total_outstanding
    if ops.is_written_off(ledger):
        status = "written_off"
    elif outstanding == 0 and acc.schedule[-1].due_date <= day:
        status = "closed"
    else:
        status = "active"
    paid_today = sum(
        (
            e.amount
            for e in reversed(ledger.entries)
            if e.kind is EntryKind.PAYMENT and e.posted_on == day
        ),
        ZERO,
    )
    return DayState(
        loan_id=acc.loan_id,
        as_of=day,
        status=status,
        dpd=d.dpd,
        bucket=d.bucket,
        bucket_index=d.bucket_index,
        loan_class=d.loan_class.value,
        first_payment_default=d.first_payment_default,
        principal_not_due=ledger.balance(Account.NOT_DUE, LOAN_LEVEL),
        principal_due=principal_due,
        interest_due=ledger.balance(Account.INTEREST),
        overdue_principal=overdue_p,
        overdue_interest=overdue_i,
        penalty=ledger.balance(Account.PENALTY, LOAN_LEVEL),
        compound=ledger.balance(Account.COMPOUND, LOAN_LEVEL),
        fee=ledger.balance(Account.FEE, LOAN_LEVEL),
        credit=ledger.balance(Account.CREDIT, LOAN_LEVEL),
        paid_today=paid_today,
        charged_to_date=acc.charged,
    )


def advance(
    acc: LoanAccount,
    to: date,
    payments: Iterable[Payment] = (),
    catalog: Catalog | None = None,
    record_from: date | None = None,
) -> tuple[LoanAccount, list[DayState]]:
    """Close every day after ``acc.closed_through`` up to ``to``. Payments dated on or
    before ``closed_through`` are refused (the past is closed). With ``catalog`` and
    ``record_from``, returns the snapshot row of every day from ``record_from`` to ``to``."""
    by_date: dict[date, list[Payment]] = {}
    for p in payments:
        if p.paid_on <= acc.closed_through:
            raise ValueError(
                f"loan {acc.loan_id}: payment {p.ref} dated {p.paid_on} falls in a closed day "
                f"(closed through {acc.closed_through})"
            )
        by_date.setdefault(p.paid_on, []).append(p)
    dates = sorted(by_date)
    states: list[DayState] = []
    recording = catalog is not None and record_from is not None
    while acc.closed_through < to:
        day = acc.closed_through + ONE_DAY
        if not _accruing(acc, day):
            nxt = _next_event(acc, acc.closed_through, dates)
            quiet_until = min(to, nxt - ONE_DAY) if nxt else to
            if quiet_until >= day:
                acc = _skip(acc, quiet_until, states, catalog, record_from if recording else None)
                continue
        acc = close_day(acc, day, by_date.get(day, ()))
        if recording and catalog is not None and record_from is not None and day >= record_from:
            states.append(state_of(acc, catalog))
    return acc, states


def _skip(
    acc: LoanAccount,
    until: date,
    states: list[DayState],
    catalog: Catalog | None,
    record_from: date | None,
) -> LoanAccount:
    """Move through quiet days (nothing posts), recording their states if asked."""
    if catalog is None or record_from is None:
        return replace(acc, closed_through=until)
    day = acc.closed_through + ONE_DAY
    while day <= until:
        acc = replace(acc, closed_through=day)
        if day >= record_from:
            states.append(state_of(acc, catalog))
        day += ONE_DAY
    return acc


def advance_all(
    accounts: Mapping[str, LoanAccount],
    to: date,
    payments: Mapping[str, Sequence[Payment]],
) -> dict[str, LoanAccount]:
    """Close every account through ``to``."""
    return {lid: advance(acc, to, payments.get(lid, ()))[0] for lid, acc in accounts.items()}
