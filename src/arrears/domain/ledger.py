"""The loan ledger: immutable entries whose legs are the only source of every balance.

An entry (one disbursement, one payment, one day's accrual...) carries legs; a leg
moves an amount on one account of one installment. Installment 0 is the loan itself
(charges, principal not yet due, the customer's credit balance). A balance is nothing
but the sum of the legs on its key, so it can always be recomputed from the entries.

Posting is idempotent by external reference: the same entry posted twice is reported
as a duplicate and changes nothing; a different entry under a used reference is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from arrears.domain.errors import ConflictingPosting, DomainError
from arrears.domain.money import ZERO
from arrears.domain.products import Component

LOAN_LEVEL = 0


class Account(StrEnum):
    """What a leg moves. The payable components plus three bookkeeping accounts."""

    COST = "cost"  # enforcement costs (实现债权的费用)
    FEE = "fee"
    PENALTY = "penalty"
    COMPOUND = "compound"
    INTEREST = "interest"
    PRINCIPAL = "principal"
    NOT_DUE = "not_due"  # principal disbursed, not yet fallen due
    CREDIT = "credit"  # paid in excess, owed back to the customer or held for the next due
    RECOVERED = "recovered"  # collected after write-off

    @classmethod
    def of(cls, component: Component) -> Account:
        return cls(component.value)


RECEIVABLE = (
    Account.COST,
    Account.FEE,
    Account.PENALTY,
    Account.COMPOUND,
    Account.INTEREST,
    Account.PRINCIPAL,
    Account.NOT_DUE,
)


PAYABLE = RECEIVABLE[:-1]


class EntryKind(StrEnum):
    DISBURSEMENT = "disbursement"
    INSTALLMENT_DUE = "installment_due"
    PAYMENT = "payment"
    ACCRUAL = "accrual"  # 罚息 and 复利
    FEE = "fee"
    COST = "cost"  # an enforcement cost booked (legal, collection)
    WAIVER = "waiver"
    REVERSAL = "reversal"
    WRITE_OFF = "write_off"
    CREDIT_APPLIED = "credit_applied"
    # an instalment plan (分期) re-amortising overdue and not-yet-due balances: moves what
    # the old installments owe into principal not yet due, drawn by the new schedule
    RESTRUCTURE = "restructure"
    # what a settlement (结清) forgives, due and not yet due (domain/arrangements.py)
    SETTLEMENT = "settlement"


Key = tuple[int, Account]


@dataclass(frozen=True, slots=True)
class Leg:
    installment: int
    account: Account
    amount: Decimal

    @property
    def key(self) -> Key:
        return (self.installment, self.account)


@dataclass(frozen=True, slots=True)
class Entry:
    """One posting. ``amount`` is the gross figure the user sees (a payment of 500);
    ``legs`` say where it went."""

    ref: str
    kind: EntryKind
    posted_on: date
    amount: Decimal
    legs: tuple[Leg, ...]
    reverses: str | None = None
    memo: str = ""

    def same_as(self, other: Entry) -> bool:
        """Equal in everything a duplicate must repeat (memo aside)."""
        return (
            self.kind is other.kind
            and self.posted_on == other.posted_on
            and self.amount == other.amount
            and self.reverses == other.reverses
        )


class PostStatus(StrEnum):
    POSTED = "posted"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Ledger:
    """All entries of one loan and the balances they add up to."""

    loan_id: str
    currency: str = "CNY"
    entries: tuple[Entry, ...] = ()
    balances: Mapping[Key, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    totals: Mapping[Account, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    written_off: bool = False

    def balance(self, account: Account, installment: int | None = None) -> Decimal:
        """Balance of ``account``: of one installment, or summed over all when None."""
        if installment is not None:
            return self.balances.get((installment, account), ZERO)
        return self.totals.get(account, ZERO)

    def entry(self, ref: str) -> Entry | None:
        """The entry posted under ``ref``, if any (a loan has tens of entries, not
        millions, so a scan from the newest is cheaper than keeping an index)."""
        for entry in reversed(self.entries):
            if entry.ref == ref:
                return entry
        return None

    def installments_with(self, account: Account) -> list[int]:
        """Installments (ascending) with a non-zero balance on ``account``."""
        return sorted(i for (i, a), v in self.balances.items() if a is account and v != 0)

    @property
    def total_outstanding(self) -> Decimal:
        """Everything the customer owes now, due or not, net of nothing."""
        totals = self.totals
        return sum((totals.get(a, ZERO) for a in RECEIVABLE), ZERO)

    @property
    def total_due(self) -> Decimal:
        """What is payable today: fallen-due principal and interest plus all charges."""
        totals = self.totals
        return sum((totals.get(a, ZERO) for a in PAYABLE), ZERO)


@dataclass(frozen=True, slots=True)
class PostResult:
    ledger: Ledger
    status: PostStatus
    entry: Entry

    @property
    def posted(self) -> bool:
        return self.status is PostStatus.POSTED


def post(ledger: Ledger, entry: Entry) -> PostResult:
    """Add ``entry`` to ``ledger``. A repeat of an existing reference is a no-op reported
    as DUPLICATE; a different entry under a used reference raises ConflictingPosting;
    an entry that would drive any balance below zero raises DomainError."""
    existing = ledger.entry(entry.ref)
    if existing is not None:
        if existing.same_as(entry):
            return PostResult(ledger, PostStatus.DUPLICATE, existing)
        raise ConflictingPosting(
            f"loan {ledger.loan_id}: reference {entry.ref!r} was already used for a "
            f"{existing.kind.value} of {existing.amount} on {existing.posted_on}"
        )
    balances = dict(ledger.balances)
    totals = dict(ledger.totals)
    keys = []
    for leg in entry.legs:
        key = (leg.installment, leg.account)
        balances[key] = balances.get(key, ZERO) + leg.amount
        totals[leg.account] = totals.get(leg.account, ZERO) + leg.amount
        keys.append(key)
    for key in keys:
        value = balances.get(key)
        if value is None:  # a key repeated in the legs, already checked
            continue
        if value < 0:
            raise DomainError(
                f"loan {ledger.loan_id}: {entry.kind.value} {entry.ref!r} would make "
                f"{key[1].value} of installment {key[0]} negative ({value})"
            )
        if not value:
            del balances[key]
    new = Ledger(
        ledger.loan_id,
        ledger.currency,
        (*ledger.entries, entry),
        MappingProxyType(balances),
        MappingProxyType(totals),
        ledger.written_off or entry.kind is EntryKind.WRITE_OFF,
    )
    return PostResult(new, PostStatus.POSTED, entry)


def replay(loan_id: str, entries: Iterable[Entry], currency: str = "CNY") -> Ledger:
    """Rebuild a ledger from stored entries in one pass; the balances are recomputed
    from the legs, not trusted, and checked exactly as ``post`` checks them."""
    ledger = Ledger(loan_id, currency)
    items = tuple(entries)
    balances: dict[Key, Decimal] = {}
    by_ref: dict[str, Entry] = {}
    for entry in items:
        if entry.ref in by_ref:
            raise ConflictingPosting(f"loan {loan_id}: reference {entry.ref!r} stored twice")
        by_ref[entry.ref] = entry
        for leg in entry.legs:
            value = balances.get(leg.key, ZERO) + leg.amount
            balances[leg.key] = value
        for leg in entry.legs:
            if balances[leg.key] < 0:
                raise DomainError(
                    f"loan {loan_id}: stored entry {entry.ref!r} makes {leg.account.value} "
                    f"of installment {leg.installment} negative"
                )
    balances = {k: v for k, v in balances.items() if v != 0}
    totals: dict[Account, Decimal] = {}
    for (_, account), value in balances.items():
        totals[account] = totals.get(account, ZERO) + value
    return Ledger(
        ledger.loan_id,
        currency,
        items,
        MappingProxyType(balances),
        MappingProxyType(totals),
        any(e.kind is EntryKind.WRITE_OFF for e in items),
    )


def legs_sum(entries: Iterable[Entry]) -> dict[Key, Decimal]:
    """Balances computed straight from legs: the invariant ``Ledger.balances`` must equal."""
    totals: dict[Key, Decimal] = {}
    for entry in entries:
        for leg in entry.legs:
            totals[leg.key] = totals.get(leg.key, ZERO) + leg.amount
    return {k: v for k, v in totals.items() if v != 0}
