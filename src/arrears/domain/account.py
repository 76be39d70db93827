"""The loan account and its daily close: the scalar reference for the batch engine.

Closing day D for one loan does, in this order:

1. installments due on D fall due (their interest counts toward the cost cap);
2. installments whose grace period ended yesterday and are still unpaid get the late
   fee, once (``late:<seq>``), and with ``penalty_from = "due_date"`` the 罚息 and 复利
   of their grace days (``back:<D>``): before the day's money, so a payment after grace
   is late and settles them first;
3. any credit balance is applied to what fell due;
4. payments dated D are settled through the product's waterfall, in reference order,
   then the day's other postings (reversals, waivers, fees, costs);
5. 罚息 accrues on the principal of installments past grace, 复利 on their interest, each
   rounded to the cent for the day (``accr:<D>``);
6. the cost cap cuts steps 2 and 5 (fees first, then penalty, then compound) to the room
   left under it (``cost_cap``: on the original principal since disbursement, or on the
   principal past due day by day);
7. DPD, bucket and class are assessed on the balances at the end of D.

A written-off loan only books what is paid, as recovery; its DPD counts on from the
installment it was written off with, and it is 损失. Days on which nothing falls
due, nobody pays and no grace period ends are closed together without repeating the
work: ``advance`` gives the same balances and day states as closing every single day
(which the tests check); outside the recorded window it posts one accrual entry for
such a stretch instead of one a day.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from arrears.domain import operations as ops
from arrears.domain.charges import (
    apply_cap,
    charge_basis,
    charge_days,
    cost_allowance,
    daily_charge,
    exact_charge,
    late_fee,
    round_exact,
)
from arrears.domain.delinquency import (
    Delinquency,
    assess,
    oldest_unpaid,
    owed_by_installment,
    unpaid,
)
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Account, EntryKind, Ledger
from arrears.domain.money import ZERO
from arrears.domain.observation import Restructuring, restructure_days, restructuring
from arrears.domain.pauses import Pause, ageing_days, day_reaching
from arrears.domain.products import (
    AccrualRounding,
    CapBasis,
    Catalog,
    ChargeDays,
    Component,
    LoanClass,
    PenaltyFrom,
    Product,
    worse_class,
)
from arrears.domain.schedule import Installment, LoanTerms, build_schedule

ONE_DAY = timedelta(days=1)
LATE_FEE_MEMO = "late fee"  # the memo of every late fee the close charges (ref late:<seq>)


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
    due_dates: tuple[date, ...] = field(default=(), repr=False, compare=False)
    # principal past due summed over the days closed (each day's balance as it starts):
    # what a cap on basis "overdue" allows its rate on
    overdue_days: Decimal = ZERO
    # 罚息 and 复利 accrued and not yet posted, exact (a product that rounds when posting:
    # ``accrual_rounding``); after a posting, the remainder its rounding left
    unposted: tuple[Fraction, Fraction] = (Fraction(0), Fraction(0))
    # DPD pauses (hardship, disputes: domain/pauses.py), in date order, not overlapping
    pauses: tuple[Pause, ...] = ()
    # days it was restructured (domain/observation.py): a plan's (``reamortise`` adds its
    # day; ``resume_account`` reads the ledger's ``restructure`` entries), or an
    # arrangement that posts no entry (an extension, 展期)
    restructured_on: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if len(self.due_dates) != len(self.schedule):
            object.__setattr__(self, "due_dates", tuple(i.due_date for i in self.schedule))

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
    pauses: tuple[Pause, ...] = (),
    restructured_on: tuple[date, ...] = (),
) -> LoanAccount:
    """An account rebuilt from stored state; the cost measure is recomputed from the ledger.
    ``pauses`` and ``restructured_on`` are its DPD pauses and the days it was restructured
    without a ledger entry (an extension), as the store keeps them; the days of the
    ledger's ``restructure`` entries are added to the latter."""
    if any(inst.seq != n for n, inst in enumerate(schedule, start=1)):
        raise ValueError(f"loan {loan_id}: schedule must be numbered 1, 2, ... in due-date order")
    check_resumable(loan_id, product, terms, closed_through)
    return LoanAccount(
        loan_id,
        product,
        terms,
        schedule,
        ledger,
        closed_through,
        cost_charged(ledger),
        overdue_days=overdue_days(ledger, closed_through),
        pauses=pauses,
        restructured_on=restructure_days(ledger, restructured_on),
    )


def check_resumable(loan_id: str, product: Product, terms: LoanTerms, closed_through: date) -> None:
    """Refuse to resume, from stored balances, a loan whose product accrues 罚息 and 复利
    unrounded once a day has been closed: what it has accrued and not yet posted
    (``LoanAccount.unposted``) is not stored, and resuming without it would lose it."""
    if product.charges.exact and closed_through > terms.disbursed_on:
        raise DomainError(
            f"loan {loan_id}: product {product.code} accrues 罚息 and 复利 unrounded "
            f"(accrual_rounding = {product.charges.accrual_rounding.value}); what it has "
            "accrued unposted is not kept in the store, so it cannot be resumed from there "
            "yet (close it with the domain core from disbursement, or with the batch engine)"
        )


def overdue_days(ledger: Ledger, through: date) -> Decimal:
    """Principal past due summed over the days after disbursement through ``through``,
    each day's as it starts (the end of the day before), from the ledger's entries."""
    total = balance = ZERO
    last: date | None = None
    for entry in ledger.entries:
        if entry.posted_on > through:
            break
        if last is not None and entry.posted_on > last:
            total += balance * (entry.posted_on - last).days
        last = entry.posted_on if last is None else max(last, entry.posted_on)
        balance += sum((leg.amount for leg in entry.legs if leg.account is Account.PRINCIPAL), ZERO)
    if last is not None:
        total += balance * (through - last).days
    return total


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


@dataclass(frozen=True, slots=True)
class ChargesToDate:
    """What a loan has been charged since disbursement, whatever was later paid, waived
    or written off: contract interest fallen due, 罚息, 复利 and fees (less fees reversed)."""

    interest: Decimal
    penalty: Decimal
    compound: Decimal
    fees: Decimal


def charges_to_date(ledger: Ledger) -> ChargesToDate:
    """The charges of ``ledger``'s entries, each summed from the legs that booked it."""
    interest = penalty = compound = fees = ZERO
    reversed_refs = {e.reverses for e in ledger.entries if e.kind is EntryKind.REVERSAL}
    for entry in ledger.entries:
        if entry.kind is EntryKind.INSTALLMENT_DUE:
            interest += sum(
                (leg.amount for leg in entry.legs if leg.account is Account.INTEREST), ZERO
            )
        elif entry.kind is EntryKind.ACCRUAL:
            for leg in entry.legs:
                if leg.account is Account.PENALTY:
                    penalty += leg.amount
                elif leg.account is Account.COMPOUND:
                    compound += leg.amount
        elif entry.kind is EntryKind.FEE and entry.ref not in reversed_refs:
            fees += entry.amount
    return ChargesToDate(interest, penalty, compound, fees)


@dataclass(frozen=True, slots=True)
class AvoidedCharges:
    """What a loan would have been charged without a payment (or waiver) later reversed:
    its late fees by installment through the reversal day's fee step, and the 罚息 and
    复利 it escaped through the day before the reversal."""

    late_fees: Mapping[int, Decimal]
    penalty: Decimal
    compound: Decimal


def avoided_charges(actual: LoanAccount, without: LoanAccount) -> AvoidedCharges:
    """Compare ``actual`` with ``without``, the same loan closed through the same day with
    the reversed event left out: the late fees ``without`` charged then and on the next
    day (fees come before the day's payments, so the reversal of that day does not
    change them), and its excess of 罚息 and 复利 (never negative). Both were cut by the
    cost cap."""
    if actual.closed_through != without.closed_through:
        raise ValueError(
            f"loan {actual.loan_id}: compare closes of one day, not {actual.closed_through} "
            f"and {without.closed_through}"
        )
    a, w = charges_to_date(actual.ledger), charges_to_date(without.ledger)
    fees = _late_fees_charged(close_day(without, without.closed_through + ONE_DAY).ledger)
    penalty, compound = w.penalty - a.penalty, w.compound - a.compound
    if actual.product.charges.exact:  # what accrued and is not posted yet counts too
        cur = actual.currency
        penalty = round_exact(Fraction(penalty) + without.unposted[0] - actual.unposted[0], cur)
        compound = round_exact(Fraction(compound) + without.unposted[1] - actual.unposted[1], cur)
    return AvoidedCharges(MappingProxyType(fees), max(penalty, ZERO), max(compound, ZERO))


def _late_fees_charged(ledger: Ledger) -> dict[int, Decimal]:
    """Late fees charged per installment (``late:<seq>``, and any recharge of one)."""
    out: dict[int, Decimal] = {}
    for e in ledger.entries:
        if e.kind is EntryKind.FEE and e.memo == LATE_FEE_MEMO and "late:" in e.ref:
            seq = int(e.ref.rsplit("late:", 1)[1])
            out[seq] = out.get(seq, ZERO) + e.amount
    return out


def recharge(
    acc: LoanAccount, ledger: Ledger, ref: str, day: date, missed: AvoidedCharges
) -> Ledger:
    """Charge on ``day`` what a reversed payment had avoided, cut to what the cost cap
    of ``acc``'s product still allows (fees first, then 罚息, then 复利): its late fees
    (``late:<seq>`` as the close would have, or ``<ref>:late:<seq>`` for what a smaller
    fee already charged left) and one accrual ``ref`` for the 罚息 and 复利 of the days
    it stood."""
    charged = _late_fees_charged(ledger)
    fees = [
        (seq, amount - charged.get(seq, ZERO))
        for seq, amount in sorted(missed.late_fees.items())
        if amount > charged.get(seq, ZERO)
    ]
    overdue = acc.overdue_days + acc.ledger.balance(Account.PRINCIPAL)
    headroom = _headroom(acc, day, cost_charged(ledger), overdue)
    capped = apply_cap(headroom, [fee for _, fee in fees] + [missed.penalty, missed.compound])
    *fee_amounts, penalty, compound = capped.amounts
    for (seq, _), amount in zip(fees, fee_amounts, strict=True):
        if amount > 0:
            fee_ref = f"late:{seq}" if ledger.entry(f"late:{seq}") is None else f"{ref}:late:{seq}"
            ledger = ops.charge_fee(ledger, fee_ref, day, amount, memo=LATE_FEE_MEMO).ledger
    accrued = ops.accrue(ledger, ref, day, penalty, compound)
    return ledger if accrued is None else accrued.ledger


def _with(
    acc: LoanAccount,
    ledger: Ledger,
    closed_through: date,
    charged: Decimal,
    overdue: Decimal | None = None,
    unposted: tuple[Fraction, Fraction] | None = None,
) -> LoanAccount:
    return LoanAccount(
        acc.loan_id,
        acc.product,
        acc.terms,
        acc.schedule,
        ledger,
        closed_through,
        charged,
        acc.due_dates,
        acc.overdue_days if overdue is None else overdue,
        acc.unposted if unposted is None else unposted,
        acc.pauses,
        acc.restructured_on,
    )


def _headroom(acc: LoanAccount, day: date, charged: Decimal, overdue: Decimal) -> Decimal | None:
    """What the cost cap still allows on ``day`` (None: no cap), given the cost measure
    ``charged`` (contract interest fallen due plus charges) and the principal-days past
    due ``overdue`` through the day. On basis ``overdue`` contract interest is not
    measured: the cap bounds 罚息, 复利 and fees on the principal in arrears."""
    rules, terms = acc.product.charges, acc.terms
    allowance = cost_allowance(
        rules, terms.principal, terms.disbursed_on, day, acc.currency, overdue
    )
    if allowance is None:
        return None
    if rules.cost_cap_basis is CapBasis.OVERDUE:
        charged -= interest_fallen_due(acc, day)
    return allowance - charged


def interest_fallen_due(acc: LoanAccount, day: date) -> Decimal:
    """Contract interest of the installments due on or before ``day``."""
    fallen = acc.schedule[: bisect_right(acc.due_dates, day)]
    return sum((inst.interest for inst in fallen), ZERO)


def _overdue_base(acc: LoanAccount, day: date) -> tuple[Decimal, Decimal]:
    """Principal and interest of installments past grace on ``day``, still owed."""
    principal = interest = ZERO
    grace, schedule = acc.product.grace_days, acc.schedule
    for (seq, account), value in acc.ledger.balances.items():
        if seq and (day - schedule[seq - 1].due_date).days > grace:
            if account is Account.PRINCIPAL:
                principal += value
            elif account is Account.INTEREST:
                interest += value
    return principal, interest


Posting = Callable[[Ledger, date], Ledger]
"""Something else that happens to a loan on a day (a reversal, a waiver, a fee, a
write-off), posted in ``close_day`` right after the day's payments."""


def close_day(
    acc: LoanAccount,
    day: date,
    payments: Sequence[Payment] = (),
    postings: Sequence[Posting] = (),
) -> LoanAccount:
    """Close ``day`` for this loan (the day after ``closed_through``). ``postings`` are
    applied in their order after the day's payments and before its late fees and
    accrual, so a waiver or a reversal of ``day`` counts in that day's charges. At the
    end of the day, a loan whose DPD reached its product's charge-off rule is charged
    off (``chargeoff:<D>``)."""
    acc = _close_day(acc, day, payments, postings)
    if charge_off_due(acc, day):
        ledger = ops.write_off(acc.ledger, f"{CHARGE_OFF_PREFIX}{day}", day, CHARGE_OFF_MEMO)
        acc = _with(acc, ledger.ledger, day, acc.charged)
    return acc


CHARGE_OFF_PREFIX = "chargeoff:"  # the ref of the write-off the charge-off rule posts
CHARGE_OFF_MEMO = "charge-off"


def charge_off_due(acc: LoanAccount, day: date) -> bool:
    """Whether ``acc``, closed through ``day``, is to be charged off at its end: its
    product has a charge-off rule, it is not written off, and its DPD has reached the
    rule's threshold (also when the rule came in after it had passed it)."""
    threshold = acc.product.charge_off.threshold(acc.product.classification)
    if threshold is None or acc.ledger.written_off:
        return False
    oldest = oldest_unpaid(acc.schedule, acc.ledger, day, acc.product.arrears_tolerance)
    if oldest is None:
        return False
    raw = ageing_days(oldest.due_date, day, acc.pauses)
    return raw > acc.product.grace_days and raw >= threshold


def charge_off_day(acc: LoanAccount) -> date | None:
    """The day the charge-off rule fires on ``acc`` if nobody pays (None: never, or not
    while an open pause stops its DPD)."""
    threshold = acc.product.charge_off.threshold(acc.product.classification)
    if threshold is None or acc.ledger.written_off:
        return None
    day = acc.closed_through + ONE_DAY
    oldest = oldest_unpaid(acc.schedule, acc.ledger, day, acc.product.arrears_tolerance)
    if oldest is None:
        return None
    reached = day_reaching(oldest.due_date, max(threshold, acc.product.grace_days + 1), acc.pauses)
    return reached


def charged_off(ledger: Ledger) -> bool:
    """Whether the loan was written off by its product's charge-off rule (not by hand)."""
    return any(
        e.kind is EntryKind.WRITE_OFF and e.ref.startswith(CHARGE_OFF_PREFIX)
        for e in ledger.entries
    )


@dataclass(frozen=True, slots=True)
class ShadowBalances:
    """What a written-off loan still owes off the book, by component: the amounts the
    write-off took out of the ledger less the recoveries since, applied in the product's
    recovery order (``written_off`` = the components + ``recovered``)."""

    principal: Decimal = ZERO
    interest: Decimal = ZERO
    penalty: Decimal = ZERO
    compound: Decimal = ZERO
    fee: Decimal = ZERO
    cost: Decimal = ZERO
    written_off: Decimal = ZERO
    recovered: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.compound + self.fee + self.cost


NO_SHADOW = ShadowBalances()
_SHADOW_OF = {
    Account.NOT_DUE: Component.PRINCIPAL,
    Account.PRINCIPAL: Component.PRINCIPAL,
    Account.INTEREST: Component.INTEREST,
    Account.PENALTY: Component.PENALTY,
    Account.COMPOUND: Component.COMPOUND,
    Account.FEE: Component.FEE,
    Account.COST: Component.COST,
}


def shadow_balances(ledger: Ledger, order: Sequence[Component]) -> ShadowBalances:
    """The shadow balances of ``ledger``: each component written off, less what was
    recovered (the ``recovered`` account, net of reversed recoveries) taken from the
    components in ``order``. Taking the whole recovered amount at once equals taking
    each recovery in turn, since each fills the components in the same order."""
    if not ledger.written_off:
        return NO_SHADOW
    written: dict[Account, Decimal] = {}
    for entry in ledger.entries:
        if entry.kind is EntryKind.WRITE_OFF:
            for leg in entry.legs:
                written[leg.account] = written.get(leg.account, ZERO) + leg.amount
    return shadow_from(written, ledger.balance(Account.RECOVERED), order)


def shadow_from(
    written_legs: Mapping[Account, Decimal], recovered: Decimal, order: Sequence[Component]
) -> ShadowBalances:
    """Shadow balances from a written-off loan's figures alone: the sum of its write-off
    entries' legs by account (``written_legs``, negative: the write-off takes each
    balance off the book) and the balance of its ``recovered`` account; what was
    recovered is taken from the components in ``order``. ``shadow_balances`` of the
    whole ledger, for a reader that sums the legs in the store."""
    owed = dict.fromkeys(Component, ZERO)
    for account, amount in written_legs.items():
        owed[_SHADOW_OF[account]] -= amount
    written = sum(owed.values(), ZERO)
    left = recovered
    for component in order:
        take = min(owed[component], left)
        owed[component] -= take
        left -= take
    return ShadowBalances(
        principal=owed[Component.PRINCIPAL],
        interest=owed[Component.INTEREST],
        penalty=owed[Component.PENALTY],
        compound=owed[Component.COMPOUND],
        fee=owed[Component.FEE],
        cost=owed[Component.COST],
        written_off=written,
        recovered=recovered,
    )


def shadow_of(acc: LoanAccount) -> ShadowBalances:
    """``acc``'s shadow balances in its product's recovery order."""
    product = acc.product
    return shadow_balances(acc.ledger, product.charge_off.order(product.waterfall))


def _close_day(
    acc: LoanAccount,
    day: date,
    payments: Sequence[Payment],
    postings: Sequence[Posting],
) -> LoanAccount:
    if day != acc.closed_through + ONE_DAY:
        raise ValueError(
            f"loan {acc.loan_id}: closing {day} but closed through {acc.closed_through}"
        )
    product, ledger, charged = acc.product, acc.ledger, acc.charged
    waterfall = product.waterfall
    if ledger.written_off:
        # nothing falls due or accrues on a written-off loan; money received is recovery
        for payment in sorted(payments, key=lambda p: p.ref):
            ledger = ops.pay(ledger, payment.ref, day, payment.amount, waterfall).ledger
        for posting in postings:
            ledger = posting(ledger, day)
        return _with(acc, ledger, day, cost_charged(ledger) if postings else charged)
    schedule, due_dates = acc.schedule, acc.due_dates
    overdue = acc.overdue_days + ledger.balance(Account.PRINCIPAL)
    first = i = bisect_left(due_dates, day)
    while i < len(due_dates) and due_dates[i] == day:
        ledger = ops.fall_due(ledger, schedule[i]).ledger
        charged += schedule[i].interest
        i += 1
    unposted = acc.unposted
    if product.charges.exact and (postings or any(p.amount > 0 for p in payments)):
        # what accrued unrounded through yesterday is posted before the day's money, so
        # the payment (or waiver, write-off …) finds it owed
        ledger, charged, unposted = _post_unposted(
            acc, ledger, day, charged, overdue, unposted, f"post:{day.isoformat()}"
        )
    # a late fee is owed for what was unpaid when grace ended (the end of yesterday), so
    # it is charged before today's money comes in: a payment after grace pays it first
    fees = _late_fees(acc, ledger, day)
    back = _back_charges(acc, ledger, day)
    if fees or back != (ZERO, ZERO):
        amounts = [fee for _, fee in fees] + list(back)
        capped = apply_cap(_headroom(acc, day, charged, overdue), amounts)
        *fee_amounts, back_p, back_c = capped.amounts
        for (seq, _), amount in zip(fees, fee_amounts, strict=True):
            if amount > 0:
                ledger = ops.charge_fee(
                    ledger, f"late:{seq}", day, amount, memo=LATE_FEE_MEMO
                ).ledger
        accrued = ops.accrue(ledger, f"back:{day.isoformat()}", day, back_p, back_c)
        if accrued is not None:
            ledger = accrued.ledger
        charged += capped.total
    if i > first:
        applied = ops.apply_credit(ledger, f"credit:{day.isoformat()}", day, waterfall)
        if applied is not None:
            ledger = applied.ledger
    for payment in sorted(payments, key=lambda p: p.ref):
        ledger = ops.pay(ledger, payment.ref, day, payment.amount, waterfall).ledger
    if postings:
        for posting in postings:
            ledger = posting(ledger, day)
        # a fee charged or reversed by a posting moves the cap's measure
        charged = cost_charged(ledger)
        if ledger.written_off:
            return _with(acc, ledger, day, charged, overdue, unposted)

    acc = _with(acc, ledger, acc.closed_through, charged)
    if product.charges.exact:
        return _accrue_exact(acc, ledger, day, charged, overdue, unposted)
    penalty, compound = _daily_amounts(acc, day)
    if not penalty and not compound:
        return _with(acc, ledger, day, charged, overdue)
    capped = apply_cap(_headroom(acc, day, charged, overdue), [penalty, compound])
    penalty, compound = capped.amounts
    accrued = ops.accrue(ledger, f"accr:{day.isoformat()}", day, penalty, compound)
    if accrued is not None:
        ledger = accrued.ledger
    return _with(acc, ledger, day, charged + capped.total, overdue)


def _post_unposted(
    acc: LoanAccount,
    ledger: Ledger,
    day: date,
    charged: Decimal,
    overdue: Decimal,
    unposted: tuple[Fraction, Fraction],
    ref: str,
) -> tuple[Ledger, Decimal, tuple[Fraction, Fraction]]:
    """Post the 罚息 and 复利 accrued unrounded, each rounded half-up to the cent, cut to
    what the cost cap allows (罚息 first): the ledger, the cap's measure and what stays
    unposted, the remainder the rounding left (not what the cap cut, which is dropped
    as a day's charge cut by the cap is)."""
    cur = acc.currency
    penalty, compound = round_exact(unposted[0], cur), round_exact(unposted[1], cur)
    left = (unposted[0] - Fraction(penalty), unposted[1] - Fraction(compound))
    if not penalty and not compound:
        return ledger, charged, left
    capped = apply_cap(_headroom(acc, day, charged, overdue), [penalty, compound])
    accrued = ops.accrue(ledger, ref, day, *capped.amounts)
    if accrued is not None:
        ledger = accrued.ledger
    return ledger, charged + capped.total, left


def _month_end(day: date) -> bool:
    return (day + ONE_DAY).day == 1


def _accrue_exact(
    acc: LoanAccount,
    ledger: Ledger,
    day: date,
    charged: Decimal,
    overdue: Decimal,
    unposted: tuple[Fraction, Fraction],
) -> LoanAccount:
    """The day's 罚息 and 复利 of a product that rounds when posting: added unrounded to
    what is unposted, and posted (``accr:<D>``) at the end of the month when the
    product posts monthly."""
    penalty, compound = _exact_amounts(acc, day)
    unposted = (unposted[0] + penalty, unposted[1] + compound)
    rules = acc.product.charges
    if rules.accrual_rounding is AccrualRounding.MONTHLY and _month_end(day):
        ledger, charged, unposted = _post_unposted(
            acc, ledger, day, charged, overdue, unposted, f"accr:{day.isoformat()}"
        )
    return _with(acc, ledger, day, charged, overdue, unposted)


def _exact_amounts(
    acc: LoanAccount, day: date, base: tuple[Decimal, Decimal] | None = None
) -> tuple[Fraction, Fraction]:
    """Unrounded 罚息 and 复利 of ``day`` on the balances past grace (``base``, when
    given: the principal and interest past grace)."""
    product, rules = acc.product, acc.product.charges
    base_p, base_i = _overdue_base(acc, day) if base is None else base
    days = charge_days(rules.charge_days, day)
    basis = charge_basis(rules.charge_days, product.day_count, day)
    return (
        exact_charge(base_p, rules.penalty_rate, basis, days),
        exact_charge(base_i, rules.compound_rate, basis, days),
    )


def _late_fees(acc: LoanAccount, ledger: Ledger, day: date) -> list[tuple[int, Decimal]]:
    """Uncapped late fees of ``day``: one per installment whose grace ended yesterday
    with more than the arrears tolerance unpaid."""
    product = acc.product
    rules, due_dates = product.charges, acc.due_dates
    fees: list[tuple[int, Decimal]] = []
    if not (rules.late_fee_fixed or rules.late_fee_rate):
        return fees
    fee_due = day - timedelta(days=product.grace_days + 1)
    j = bisect_left(due_dates, fee_due)
    while j < len(due_dates) and due_dates[j] == fee_due:
        missed = unpaid(ledger, acc.schedule[j].seq)
        if missed > product.arrears_tolerance:
            fees.append((acc.schedule[j].seq, late_fee(rules, missed, product.currency)))
        j += 1
    return fees


def _back_charges(acc: LoanAccount, ledger: Ledger, day: date) -> tuple[Decimal, Decimal]:
    """With ``penalty_from = "due_date"``: the 罚息 and 复利 of the grace days (due date + 1
    … + grace) of installments whose grace ended yesterday unpaid, charged back on what
    was unpaid then, each day rounded as the daily accrual is (uncapped)."""
    product = acc.product
    rules, grace = product.charges, product.grace_days
    if rules.penalty_from is not PenaltyFrom.DUE_DATE or grace == 0:
        return ZERO, ZERO
    due = day - timedelta(days=grace + 1)
    penalty = compound = ZERO
    j = bisect_left(acc.due_dates, due)
    while j < len(acc.due_dates) and acc.due_dates[j] == due:
        seq = acc.schedule[j].seq
        if unpaid(ledger, seq) > product.arrears_tolerance:
            base_p = ledger.balance(Account.PRINCIPAL, seq)
            base_i = ledger.balance(Account.INTEREST, seq)
            dc, cur = product.day_count, product.currency
            penalty += grace * daily_charge(base_p, rules.penalty_rate, dc, cur)
            compound += grace * daily_charge(base_i, rules.compound_rate, dc, cur)
        j += 1
    return penalty, compound


def _daily_amounts(acc: LoanAccount, day: date, days: int | None = None) -> tuple[Decimal, Decimal]:
    """Uncapped 罚息 and 复利 of ``day`` on the balances past grace (as if the day
    counted ``days`` days, when given)."""
    product, rules = acc.product, acc.product.charges
    base_p, base_i = _overdue_base(acc, day)
    days = charge_days(rules.charge_days, day) if days is None else days
    dc, cur = product.day_count, product.currency
    basis = charge_basis(rules.charge_days, dc, day)
    return (
        daily_charge(base_p, rules.penalty_rate, dc, cur, days, basis),
        daily_charge(base_i, rules.compound_rate, dc, cur, days, basis),
    )


def _next_event(acc: LoanAccount, after: date, payment_dates: Sequence[date]) -> date | None:
    """The first day after ``after`` on which something other than accrual can happen:
    an installment falls due, a payment arrives, or a grace period ends."""
    i = bisect_right(payment_dates, after)
    candidates = [payment_dates[i]] if i < len(payment_dates) else []
    k = bisect_right(acc.due_dates, after)
    if k < len(acc.due_dates):
        candidates.append(acc.due_dates[k])
    grace_end = timedelta(days=acc.product.grace_days + 1)
    for seq, owed in owed_by_installment(acc.ledger).items():
        end = acc.schedule[seq - 1].due_date + grace_end
        if end > after and owed > 0:
            candidates.append(end)
    charge_off = charge_off_day(acc)
    if charge_off is not None:  # closed by close_day, which charges it off
        candidates.append(max(charge_off, after + ONE_DAY))
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
    costs: Decimal = ZERO  # enforcement costs owed (实现债权的费用)
    # what a written-off loan still owes off the book, by component, and its recoveries
    shadow: ShadowBalances = NO_SHADOW
    # restructured (重组) and under observation: the class is at least the product's floor
    restructured: bool = False

    @property
    def principal_outstanding(self) -> Decimal:
        return self.principal_not_due + self.principal_due

    @property
    def total_due(self) -> Decimal:
        """Payable now: fallen-due principal and interest plus every charge and cost."""
        return (
            self.principal_due
            + self.interest_due
            + self.penalty
            + self.compound
            + self.fee
            + self.costs
        )

    @property
    def overdue_amount(self) -> Decimal:
        """In arrears: principal and interest past grace plus every charge and cost."""
        return (
            self.overdue_principal
            + self.overdue_interest
            + self.penalty
            + self.compound
            + self.fee
            + self.costs
        )


def status_of(acc: LoanAccount) -> str:
    """active, closed (repaid in full) or written_off, on the day closed through."""
    return _status(acc, acc.closed_through)


def _status(acc: LoanAccount, day: date) -> str:
    if acc.ledger.written_off:
        return "written_off"
    if acc.ledger.total_outstanding == 0 and acc.schedule[-1].due_date <= day:
        return "closed"
    return "active"


def dpd_anchor(acc: LoanAccount, day: date) -> Installment | None:
    """The installment DPD counts from on ``day``: the oldest one unpaid. A written-off
    loan keeps the one it had when it was written off (the oldest installment whose
    principal or interest was written off, or, written off with nothing yet due, the
    first installment falling due after the write-off): the debt is still unpaid."""
    if not acc.ledger.written_off:
        return oldest_unpaid(acc.schedule, acc.ledger, day, acc.product.arrears_tolerance)
    entry = next((e for e in acc.ledger.entries if e.kind is EntryKind.WRITE_OFF), None)
    if entry is None:  # a ledger carried without its entries
        return None
    owed: dict[int, Decimal] = {}
    for leg in entry.legs:
        if leg.installment and leg.account in (Account.PRINCIPAL, Account.INTEREST):
            owed[leg.installment] = owed.get(leg.installment, ZERO) - leg.amount
    for seq in sorted(owed):
        if owed[seq] > acc.product.arrears_tolerance:
            return acc.schedule[seq - 1]
    if any(leg.account is Account.NOT_DUE for leg in entry.legs):
        k = bisect_right(acc.due_dates, entry.posted_on)
        if k < len(acc.schedule):
            return acc.schedule[k]  # DPD 0 until it falls due and its grace ends
    return None


def restructuring_of(acc: LoanAccount, day: date, catalog: Catalog) -> Restructuring | None:
    """``acc``'s last restructuring on or before ``day``, judged at its end (None: never
    restructured)."""
    if not acc.restructured_on:
        return None
    product = acc.product
    return restructuring(
        acc.schedule,
        acc.ledger,
        day,
        product.restructured,
        catalog.classification_of(product),
        product.grace_days,
        product.arrears_tolerance,
        acc.restructured_on,
    )


def dpd_on(acc: LoanAccount, day: date) -> int:
    """DPD at the end of ``day``: days since the DPD anchor fell due, less paused days,
    0 while that is within grace."""
    oldest = dpd_anchor(acc, day)
    if oldest is None:
        return 0
    raw = ageing_days(oldest.due_date, day, acc.pauses)
    return raw if raw > acc.product.grace_days else 0


def _class(d: Delinquency, written_off: bool, marked: Restructuring | None) -> LoanClass:
    """The class of a loan assessed ``d``: 损失 once written off (核销 is of a loan
    classed 损失, and it stays there), at least the restructuring's floor while marked."""
    if written_off:
        return LoanClass.LOSS
    if marked is not None:
        return worse_class(d.loan_class, marked.floor)
    return d.loan_class


def _delinquency(
    acc: LoanAccount, day: date, catalog: Catalog, marked: Restructuring | None = None
) -> Delinquency:
    oldest = dpd_anchor(acc, day)
    dpd = dpd_on(acc, day)
    classes = catalog.classification_of(acc.product)
    d = assess(dpd, oldest.seq if oldest else None, catalog.buckets, classes)
    klass = _class(d, acc.ledger.written_off, marked)
    return d if klass is d.loan_class else replace(d, loan_class=klass)


def _marked(r: Restructuring | None, day: date, status: str) -> Restructuring | None:
    """``r`` when the loan is restructured at the end of ``day`` (a repaid loan is not)."""
    return r if r is not None and r.marked(day) and status != "closed" else None


def state_of(acc: LoanAccount, catalog: Catalog) -> DayState:
    """The snapshot row of ``acc`` on the day it is closed through."""
    day, ledger = acc.closed_through, acc.ledger
    status = _status(acc, day)
    marked = _marked(restructuring_of(acc, day, catalog), day, status)
    d = _delinquency(acc, day, catalog, marked)
    overdue_p, overdue_i = _overdue_base(acc, day)
    paid_today = ZERO
    for entry in reversed(ledger.entries):
        if entry.posted_on < day:
            break
        if entry.kind is EntryKind.PAYMENT and entry.posted_on == day:
            paid_today += entry.amount
    return DayState(
        loan_id=acc.loan_id,
        as_of=day,
        status=status,
        dpd=d.dpd,
        bucket=d.bucket,
        bucket_index=d.bucket_index,
        loan_class=d.loan_class.value,
        first_payment_default=d.first_payment_default,
        principal_not_due=ledger.balance(Account.NOT_DUE),
        principal_due=ledger.balance(Account.PRINCIPAL),
        interest_due=ledger.balance(Account.INTEREST),
        overdue_principal=overdue_p,
        overdue_interest=overdue_i,
        penalty=ledger.balance(Account.PENALTY),
        compound=ledger.balance(Account.COMPOUND),
        fee=ledger.balance(Account.FEE),
        credit=ledger.balance(Account.CREDIT),
        paid_today=paid_today,
        charged_to_date=acc.charged,
        costs=ledger.balance(Account.COST),
        shadow=shadow_of(acc),
        restructured=marked is not None,
    )


class _QuietDays:
    """States of the days of a stretch on which no balance but the accruals changes:
    derived from one full state instead of being recomputed every day."""

    def __init__(self, acc: LoanAccount, catalog: Catalog, end: date) -> None:
        self.catalog, self.grace = catalog, acc.product.grace_days
        self.classes = catalog.classification_of(acc.product)
        first = _with(acc, acc.ledger, acc.closed_through + ONE_DAY, acc.charged)
        self.base = state_of(first, catalog)
        self.written_off = acc.ledger.written_off
        self.pauses = acc.pauses
        oldest = dpd_anchor(acc, first.closed_through)
        self.oldest_due = oldest.due_date if oldest else None
        self.first_seq = oldest.seq if oldest else None
        # nothing of the ledger changes in the stretch, so its last day judges them all
        self.restructuring = restructuring_of(acc, end, catalog)

    def state(self, day: date, penalty: Decimal, compound: Decimal, charged: Decimal) -> DayState:
        b = self.base
        due = self.oldest_due
        if due is None:
            raw = 0
        else:
            raw = ageing_days(due, day, self.pauses) if self.pauses else (day - due).days
        dpd = raw if raw > self.grace else 0
        r = self.restructuring
        marked = None if r is None else _marked(r, day, b.status)
        if r is not None:
            d = assess(dpd, self.first_seq, self.catalog.buckets, self.classes)
            bucket, index, fpd = d.bucket, d.bucket_index, d.first_payment_default
            klass = _class(d, self.written_off, marked).value
        elif dpd == b.dpd:
            bucket, index, klass, fpd = (
                b.bucket,
                b.bucket_index,
                b.loan_class,
                b.first_payment_default,
            )
        else:
            d = assess(dpd, self.first_seq, self.catalog.buckets, self.classes)
            bucket, index = d.bucket, d.bucket_index
            klass, fpd = d.loan_class.value, d.first_payment_default
            if self.written_off:
                klass = LoanClass.LOSS.value
        return DayState(
            b.loan_id, day, b.status, dpd, bucket, index, klass, fpd,
            b.principal_not_due, b.principal_due, b.interest_due,
            b.overdue_principal, b.overdue_interest,
            penalty, compound, b.fee, b.credit, ZERO, charged, b.costs, b.shadow,
            marked is not None,
        )  # fmt: skip


def advance(
    acc: LoanAccount,
    to: date,
    payments: Iterable[Payment] = (),
    catalog: Catalog | None = None,
    record_from: date | None = None,
) -> tuple[LoanAccount, list[DayState]]:
    """Close every day after ``acc.closed_through`` up to ``to``. Payments dated on or
    before ``closed_through`` are refused (the past is closed). With ``catalog`` and
    ``record_from``, returns the snapshot row of every day from ``record_from`` to ``to``.

    Days on which only accrual can happen are closed together: their amounts are the
    same as day by day; inside the recorded window each day gets its own accrual entry,
    before it one entry covers the stretch."""
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
    recorder = catalog if record_from is not None else None
    window = record_from if recorder is not None and record_from is not None else to + ONE_DAY
    while acc.closed_through < to:
        day = acc.closed_through + ONE_DAY
        nxt = _next_event(acc, acc.closed_through, dates)
        quiet_until = min(to, nxt - ONE_DAY) if nxt else to
        if quiet_until >= day:
            acc = _quiet_stretch(acc, quiet_until, window, recorder, states)
            continue
        acc = close_day(acc, day, by_date.get(day, ()))
        if recorder is not None and day >= window:
            states.append(state_of(acc, recorder))
    return acc, states


def _quiet_stretch(
    acc: LoanAccount,
    end: date,
    window: date,
    catalog: Catalog | None,
    states: list[DayState],
) -> LoanAccount:
    """Close the days after ``closed_through`` through ``end``, on which nothing falls
    due, nobody pays and no grace period ends: the balances past grace stay as they are,
    so each day's penalty and compound are those of the first day, cut by the cap exactly
    as ``close_day`` would. Records the states of days from ``window`` on."""
    start = acc.closed_through + ONE_DAY
    rules = acc.product.charges
    past_due = acc.ledger.balance(Account.PRINCIPAL)  # as each day of the stretch starts
    quiet = _QuietDays(acc, catalog, end) if catalog is not None and end >= window else None
    if rules.exact:
        return _quiet_exact(acc, end, window, quiet, states)
    penalty, compound = _daily_amounts(acc, start, days=1)
    per_day = rules.charge_days is not ChargeDays.ACTUAL
    if penalty == 0 and compound == 0:
        if quiet is not None:
            b = quiet.base
            day = max(start, window)
            while day <= end:
                states.append(quiet.state(day, b.penalty, b.compound, acc.charged))
                day += ONE_DAY
        overdue = acc.overdue_days + past_due * ((end - start).days + 1)
        return _with(acc, acc.ledger, end, acc.charged, overdue)
    ledger, charged, overdue = acc.ledger, acc.charged, acc.overdue_days
    pending_p = pending_c = ZERO
    pending_from = start
    day = start
    while day <= end:
        if per_day:  # the same base, counted for the day's 30/360 days or year
            penalty, compound = _daily_amounts(acc, day)
        p, c = penalty, compound
        overdue += past_due
        if rules.capped:
            p, c = apply_cap(_headroom(acc, day, charged, overdue), [penalty, compound]).amounts
        charged += p + c
        if day < window:
            pending_p, pending_c = pending_p + p, pending_c + c
            if day == end or day + ONE_DAY == window:
                ledger = _post_accrual(ledger, pending_from, day, pending_p, pending_c)
        else:
            ledger = _post_accrual(ledger, day, day, p, c)
            if quiet is not None:
                states.append(
                    quiet.state(
                        day,
                        ledger.balance(Account.PENALTY),
                        ledger.balance(Account.COMPOUND),
                        charged,
                    )
                )
        day += ONE_DAY
    return _with(acc, ledger, end, charged, overdue)


def _quiet_exact(
    acc: LoanAccount,
    end: date,
    window: date,
    quiet: _QuietDays | None,
    states: list[DayState],
) -> LoanAccount:
    """``_quiet_stretch`` for a product that accrues unrounded: each day adds its exact
    罚息 and 复利 to what is unposted; at a month's end a monthly product posts them
    rounded, as ``close_day`` does."""
    start = acc.closed_through + ONE_DAY
    base = _overdue_base(acc, start)
    past_due = acc.ledger.balance(Account.PRINCIPAL)
    monthly = acc.product.charges.accrual_rounding is AccrualRounding.MONTHLY
    ledger, charged, overdue, unposted = acc.ledger, acc.charged, acc.overdue_days, acc.unposted
    day = start
    while day <= end:
        overdue += past_due
        penalty, compound = _exact_amounts(acc, day, base)
        unposted = (unposted[0] + penalty, unposted[1] + compound)
        if monthly and _month_end(day):
            ledger, charged, unposted = _post_unposted(
                acc, ledger, day, charged, overdue, unposted, f"accr:{day.isoformat()}"
            )
        if quiet is not None and day >= window:
            penalty_owed, compound_owed = (
                ledger.balance(Account.PENALTY),
                ledger.balance(Account.COMPOUND),
            )
            states.append(quiet.state(day, penalty_owed, compound_owed, charged))
        day += ONE_DAY
    return _with(acc, ledger, end, charged, overdue, unposted)


def _post_accrual(
    ledger: Ledger, start: date, end: date, penalty: Decimal, compound: Decimal
) -> Ledger:
    ref = f"accr:{start.isoformat()}" if start == end else f"accr:{start}:{end}"
    accrued = ops.accrue(ledger, ref, end, penalty, compound)
    return ledger if accrued is None else accrued.ledger
