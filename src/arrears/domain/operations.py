"""What can happen to a loan, each as a function from a ledger to a posted entry.

Every function builds one ``Entry`` and posts it, so each is idempotent by its
reference like ``ledger.post`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arrears.domain.errors import DomainError
from arrears.domain.ledger import (
    LOAN_LEVEL,
    RECEIVABLE,
    Account,
    Entry,
    EntryKind,
    Ledger,
    Leg,
    PostResult,
    post,
)
from arrears.domain.money import ZERO, quantize
from arrears.domain.products import Component, Waterfall
from arrears.domain.schedule import Installment
from arrears.domain.waterfall import allocate


def _amount(ledger: Ledger, amount: Decimal, what: str) -> Decimal:
    if amount <= 0:
        raise DomainError(f"loan {ledger.loan_id}: {what} amount must be positive, got {amount}")
    if quantize(amount, ledger.currency) != amount:
        raise DomainError(
            f"loan {ledger.loan_id}: {what} amount {amount} has more decimals than "
            f"{ledger.currency} allows"
        )
    return amount


def disburse(ledger: Ledger, ref: str, on: date, principal: Decimal) -> PostResult:
    """Book the disbursed principal as not yet due."""
    principal = _amount(ledger, principal, "disbursement")
    legs = (Leg(LOAN_LEVEL, Account.NOT_DUE, principal),)
    return post(ledger, Entry(ref, EntryKind.DISBURSEMENT, on, principal, legs))


def fall_due(ledger: Ledger, installment: Installment) -> PostResult:
    """Installment ``seq`` falls due: its principal moves from not-due to due and its
    interest becomes receivable. Reference ``due:<seq>``."""
    legs = (
        [Leg(installment.seq, Account.INTEREST, installment.interest)]
        if installment.interest
        else []
    )
    if installment.principal:
        legs += [
            Leg(LOAN_LEVEL, Account.NOT_DUE, -installment.principal),
            Leg(installment.seq, Account.PRINCIPAL, installment.principal),
        ]
    entry = Entry(
        f"due:{installment.seq}",
        EntryKind.INSTALLMENT_DUE,
        installment.due_date,
        installment.amount,
        tuple(legs),
    )
    return post(ledger, entry)


def pay(ledger: Ledger, ref: str, on: date, amount: Decimal, waterfall: Waterfall) -> PostResult:
    """A payment, settled through the waterfall; any excess becomes credit."""
    amount = _amount(ledger, amount, "payment")
    existing = ledger.entry(ref)
    if existing is not None:  # idempotent: do not re-run the waterfall on a repeat
        return post(ledger, Entry(ref, EntryKind.PAYMENT, on, amount, existing.legs))
    if is_written_off(ledger):
        legs = _recovery_legs(ledger, amount)
    else:
        legs = allocate(ledger, amount, waterfall)
    return post(ledger, Entry(ref, EntryKind.PAYMENT, on, amount, legs))


def apply_credit(ledger: Ledger, ref: str, on: date, waterfall: Waterfall) -> PostResult | None:
    """Use the customer's credit balance against what is due now; None when there is
    no credit or nothing due."""
    credit = ledger.balance(Account.CREDIT, LOAN_LEVEL)
    if credit <= 0 or ledger.total_due <= 0:
        return None
    legs = tuple(
        leg for leg in allocate(ledger, credit, waterfall) if leg.account is not Account.CREDIT
    )
    used = -sum((leg.amount for leg in legs), ZERO)
    entry = Entry(
        ref, EntryKind.CREDIT_APPLIED, on, used, (*legs, Leg(LOAN_LEVEL, Account.CREDIT, -used))
    )
    return post(ledger, entry)


def accrue(
    ledger: Ledger, ref: str, on: date, penalty: Decimal, compound: Decimal
) -> PostResult | None:
    """Post accrued 罚息 and 复利 (already rounded and capped by the caller)."""
    legs = tuple(
        Leg(LOAN_LEVEL, account, amount)
        for account, amount in ((Account.PENALTY, penalty), (Account.COMPOUND, compound))
        if amount > 0
    )
    if not legs:
        return None
    return post(ledger, Entry(ref, EntryKind.ACCRUAL, on, penalty + compound, legs))


def charge_fee(ledger: Ledger, ref: str, on: date, amount: Decimal, memo: str = "") -> PostResult:
    amount = _amount(ledger, amount, "fee")
    legs = (Leg(LOAN_LEVEL, Account.FEE, amount),)
    return post(ledger, Entry(ref, EntryKind.FEE, on, amount, legs, memo=memo))


def charge_cost(ledger: Ledger, ref: str, on: date, amount: Decimal, memo: str = "") -> PostResult:
    """Book an enforcement cost (实现债权的费用: court fees, legal and collection costs):
    owed by the customer, its own component, outside the cost cap."""
    amount = _amount(ledger, amount, "cost")
    legs = (Leg(LOAN_LEVEL, Account.COST, amount),)
    return post(ledger, Entry(ref, EntryKind.COST, on, amount, legs, memo=memo))


def waive(
    ledger: Ledger,
    ref: str,
    on: date,
    component: Component,
    amount: Decimal,
    memo: str = "",
) -> PostResult:
    """Waive (减免) ``amount`` of ``component``, oldest installment first for interest and
    principal. Waiving more than is owed is refused, never turned into credit."""
    amount = _amount(ledger, amount, "waiver")
    existing = ledger.entry(ref)
    if existing is not None:
        return post(ledger, Entry(ref, EntryKind.WAIVER, on, amount, existing.legs, memo=memo))
    account = Account.of(component)
    keys = (
        [(seq, account) for seq in ledger.installments_with(account)]
        if component.per_installment
        else [(LOAN_LEVEL, account)]
    )
    owed = sum((ledger.balances.get(k, ZERO) for k in keys), ZERO)
    if amount > owed:
        raise DomainError(
            f"loan {ledger.loan_id}: cannot waive {amount} of {component.value}, "
            f"only {owed} is owed"
        )
    legs, remaining = [], amount
    for key in keys:
        part = min(ledger.balances.get(key, ZERO), remaining)
        if part > 0:
            legs.append(Leg(key[0], key[1], -part))
            remaining -= part
    return post(ledger, Entry(ref, EntryKind.WAIVER, on, amount, tuple(legs), memo=memo))


def reverse(ledger: Ledger, ref: str, on: date, original_ref: str, memo: str = "") -> PostResult:
    """Reverse a payment, waiver or fee: its legs are undone as of ``on``.

    A payment's excess became credit, and credit is used first-in first-out as later
    installments fall due. Reversing the payment takes back what is left of its own
    credit and re-opens exactly what its used credit paid, so no balance goes negative
    and every installment owes again what this payment's money had settled."""
    original = ledger.entry(original_ref)
    if original is None:
        raise DomainError(
            f"loan {ledger.loan_id}: nothing posted under {original_ref!r} to reverse"
        )
    if original.kind not in (EntryKind.PAYMENT, EntryKind.WAIVER, EntryKind.FEE, EntryKind.COST):
        raise DomainError(
            f"loan {ledger.loan_id}: a {original.kind.value} cannot be reversed, only payments, "
            "waivers, fees and costs"
        )
    already = ledger.entry(ref)
    if already is None and any(
        e.reverses == original_ref for e in ledger.entries if e.kind is EntryKind.REVERSAL
    ):
        raise DomainError(f"loan {ledger.loan_id}: {original_ref!r} is already reversed")
    if already is not None:
        return post(
            ledger,
            Entry(ref, EntryKind.REVERSAL, on, original.amount, already.legs, original_ref, memo),
        )
    legs = [
        Leg(leg.installment, leg.account, -leg.amount)
        for leg in original.legs
        if leg.account is not Account.CREDIT
    ]
    lot = _credit_lots(ledger).get(original_ref)
    if lot is not None:
        if lot.remaining:
            legs.append(Leg(LOAN_LEVEL, Account.CREDIT, -lot.remaining))
        for use, start, size in lot.uses:
            legs += _reopen(use, start, size)
    legs = [leg for leg in legs if leg.amount != 0]
    return post(
        ledger, Entry(ref, EntryKind.REVERSAL, on, original.amount, tuple(legs), original_ref, memo)
    )


@dataclass
class _CreditLot:
    """The credit one payment left, and which parts of which credit uses it funded."""

    remaining: Decimal
    uses: list[tuple[Entry, Decimal, Decimal]] = field(default_factory=list)


def _credit_lots(ledger: Ledger) -> dict[str, _CreditLot]:
    """Credit lots by payment reference, replayed first-in first-out over the entries;
    a reversed payment's lot is gone (its remaining credit was taken back)."""
    lots: dict[str, _CreditLot] = {}
    for entry in ledger.entries:
        if entry.kind is EntryKind.PAYMENT:
            credit = sum((g.amount for g in entry.legs if g.account is Account.CREDIT), ZERO)
            if credit > 0:
                lots[entry.ref] = _CreditLot(credit)
        elif entry.kind is EntryKind.CREDIT_APPLIED:
            offset, left = ZERO, entry.amount
            for lot in lots.values():
                if left <= 0:
                    break
                take = min(lot.remaining, left)
                if take > 0:
                    lot.uses.append((entry, offset, take))
                    lot.remaining -= take
                    offset, left = offset + take, left - take
        elif entry.kind is EntryKind.REVERSAL and entry.reverses in lots:
            del lots[entry.reverses]
    return lots


def _reopen(use: Entry, start: Decimal, size: Decimal) -> list[Leg]:
    """Legs re-opening the part [start, start + size) of what credit use ``use`` paid,
    in the order it paid it."""
    legs: list[Leg] = []
    position = ZERO
    for leg in use.legs:
        if leg.account is Account.CREDIT:
            continue
        paid = -leg.amount
        low, high = max(position, start), min(position + paid, start + size)
        if high > low:
            legs.append(Leg(leg.installment, leg.account, high - low))
        position += paid
    return legs


def is_written_off(ledger: Ledger) -> bool:
    return ledger.written_off


def write_off(ledger: Ledger, ref: str, on: date, memo: str = "") -> PostResult:
    """Write off (核销) everything receivable; later payments are recorded as recoveries."""
    legs = tuple(
        Leg(i, a, -v)
        for (i, a), v in sorted(ledger.balances.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
        if a in RECEIVABLE and v > 0
    )
    total = -sum((leg.amount for leg in legs), ZERO)
    if ledger.entry(ref) is None and is_written_off(ledger):
        raise DomainError(f"loan {ledger.loan_id}: already written off")
    if ledger.entry(ref) is None and total == 0:
        raise DomainError(f"loan {ledger.loan_id}: nothing to write off")
    existing = ledger.entry(ref)
    if existing is not None:
        return post(
            ledger, Entry(ref, EntryKind.WRITE_OFF, on, existing.amount, existing.legs, memo=memo)
        )
    return post(ledger, Entry(ref, EntryKind.WRITE_OFF, on, total, legs, memo=memo))


def written_off_amount(ledger: Ledger) -> Decimal:
    return sum((e.amount for e in ledger.entries if e.kind is EntryKind.WRITE_OFF), ZERO)


def _recovery_legs(ledger: Ledger, amount: Decimal) -> tuple[Leg, ...]:
    open_amount = written_off_amount(ledger) - ledger.balance(Account.RECOVERED, LOAN_LEVEL)
    recovered = min(amount, max(open_amount, ZERO))
    legs = [Leg(LOAN_LEVEL, Account.RECOVERED, recovered)] if recovered > 0 else []
    if amount > recovered:
        legs.append(Leg(LOAN_LEVEL, Account.CREDIT, amount - recovered))
    return tuple(legs)
