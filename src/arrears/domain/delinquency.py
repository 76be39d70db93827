"""Days past due, ageing buckets and the five-tier class: how late a loan is.

DPD counts from the due date of the oldest installment whose principal and interest
are not settled (beyond the product's arrears tolerance). Within the product's grace
days a loan is still current: DPD is 0 until the grace period is over, and then counts
from the due date (day ``grace + 1`` shows DPD ``grace + 1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arrears.domain.ledger import Account, Ledger
from arrears.domain.money import ZERO
from arrears.domain.products import BucketScheme, ClassificationScheme, LoanClass
from arrears.domain.schedule import Installment


def unpaid(ledger: Ledger, seq: int) -> Decimal:
    """Principal plus interest of installment ``seq`` still owed (0 before it falls due)."""
    return ledger.balance(Account.PRINCIPAL, seq) + ledger.balance(Account.INTEREST, seq)


def owed_by_installment(ledger: Ledger) -> dict[int, Decimal]:
    """Principal plus interest still owed, per fallen-due installment with a balance."""
    owed: dict[int, Decimal] = {}
    for (seq, account), value in ledger.balances.items():
        if seq and (account is Account.PRINCIPAL or account is Account.INTEREST):
            owed[seq] = owed.get(seq, ZERO) + value
    return owed


def oldest_unpaid(
    schedule: Sequence[Installment], ledger: Ledger, as_of: date, tolerance: Decimal = ZERO
) -> Installment | None:
    """The oldest installment due before ``as_of`` that is not settled, or None.
    (Installment ``seq`` is ``schedule[seq - 1]``.)"""
    owed = owed_by_installment(ledger)
    for seq in sorted(owed):
        inst = schedule[seq - 1]
        if inst.due_date >= as_of:
            return None
        if owed[seq] > tolerance:
            return inst
    return None


def days_past_due(
    schedule: Sequence[Installment],
    ledger: Ledger,
    as_of: date,
    grace_days: int = 0,
    tolerance: Decimal = ZERO,
) -> int:
    """DPD on ``as_of`` with grace: 0 while within grace, else days since the due date."""
    inst = oldest_unpaid(schedule, ledger, as_of, tolerance)
    if inst is None:
        return 0
    raw = (as_of - inst.due_date).days
    return raw if raw > grace_days else 0


@dataclass(frozen=True, slots=True)
class Delinquency:
    """How late a loan is on one date."""

    dpd: int
    bucket_index: int
    bucket: str
    loan_class: LoanClass
    first_payment_default: bool

    @property
    def delinquent(self) -> bool:
        return self.dpd > 0


def assess(
    dpd: int,
    oldest_seq: int | None,
    buckets: BucketScheme,
    classification: ClassificationScheme,
) -> Delinquency:
    """Bucket and class for ``dpd``. A first-payment default is a loan delinquent on its
    very first installment (it has never paid one in full)."""
    index = buckets.index(dpd)
    return Delinquency(
        dpd=dpd,
        bucket_index=index,
        bucket=buckets.names[index],
        loan_class=classification.classify(dpd),
        first_payment_default=dpd > 0 and oldest_seq == 1,
    )


def worst(delinquencies: Iterable[Delinquency]) -> Delinquency | None:
    """The customer-level view: the worst (highest DPD) of all the customer's loans."""
    return max(delinquencies, key=lambda d: d.dpd, default=None)
