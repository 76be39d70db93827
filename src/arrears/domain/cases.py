"""When a loan has a collections case: the one rule every close and every check uses.

A loan has an open case exactly while it is active and past due (DPD > 0), or while it
is in recovery. The case opens on the first closed day the loan is past due, follows the
loan's DPD, bucket, class and overdue amount each closed day, and closes:

- ``cured``: the loan is active and no longer past due;
- ``repaid``: the loan is paid in full (status ``closed``);
- ``written_off``: the loan was written off by hand (核销 decided by staff: nobody works
  it any more);
- ``recovered``: the loan was charged off by its product's rule and its shadow balances
  are recovered in full.

A loan charged off by its product's rule (``[charge_off]``) is *in recovery* while it
owes a shadow balance: the debt left the book, not the debtor, so the collections team
keeps working it. Its case stays open (or opens) and follows its DPD, which counts on;
it is not closed as if repaid. See docs/loan-rules.md, "Charge-off".

A repaid or written-off loan closes its case on the day it stopped being active
(``ended_on``), even when that day fell between two recorded days of a close.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from arrears.domain.account import LoanAccount, charged_off, shadow_of, status_of
from arrears.domain.ledger import EntryKind


class CaseMove(StrEnum):
    OPEN = "open"  # no open case, the loan is past due
    REFRESH = "refresh"  # an open case follows the loan's figures
    CURED = "cured"
    REPAID = "repaid"
    WRITTEN_OFF = "written_off"
    RECOVERED = "recovered"  # charged off by rule, its shadow balances recovered in full
    NONE = "none"  # no case and none needed


class Recovery(StrEnum):
    """Where a loan stands against its product's charge-off rule."""

    NONE = "none"  # not charged off by rule: active, repaid, or written off by hand
    WORKING = "working"  # charged off by rule, a shadow balance still owed: worked
    DONE = "done"  # charged off by rule, everything recovered


CLOSING_MOVES = (CaseMove.CURED, CaseMove.REPAID, CaseMove.WRITTEN_OFF, CaseMove.RECOVERED)

_ENDED = {"closed": CaseMove.REPAID, "written_off": CaseMove.WRITTEN_OFF}


def case_move(
    status: str, dpd: int, has_open_case: bool, recovery: Recovery = Recovery.NONE
) -> CaseMove:
    """What the close does to a loan's case, given the loan's status and DPD on the day
    and, for a loan charged off by its product's rule, where its recovery stands."""
    if recovery is Recovery.WORKING:
        return CaseMove.REFRESH if has_open_case else CaseMove.OPEN
    if recovery is Recovery.DONE:
        return CaseMove.RECOVERED if has_open_case else CaseMove.NONE
    if status in _ENDED:
        return _ENDED[status] if has_open_case else CaseMove.NONE
    if dpd > 0:
        return CaseMove.REFRESH if has_open_case else CaseMove.OPEN
    return CaseMove.CURED if has_open_case else CaseMove.NONE


def needs_case(status: str, dpd: int, recovery: Recovery = Recovery.NONE) -> bool:
    """Whether a loan in this state must have an open case (the check of ``arrears status``)."""
    if recovery is not Recovery.NONE:
        return recovery is Recovery.WORKING
    return status not in _ENDED and dpd > 0


def recovery_of(acc: LoanAccount) -> Recovery:
    """``acc``'s recovery: NONE unless its product's rule charged it off; then WORKING
    while its shadow balances owe anything, DONE when they are recovered in full."""
    if not charged_off(acc.ledger):
        return Recovery.NONE
    return Recovery.WORKING if shadow_of(acc).total > 0 else Recovery.DONE


def ended_on(acc: LoanAccount) -> date | None:
    """The day the loan stopped being active or in recovery; None while it is either.

    Charged off by rule and recovered in full: the day of its last payment. Written off
    by hand: the day of its write-off entry. Repaid: the later of its last due date
    (a loan paid ahead stays active until then) and the last posting that moved its
    balance (a payment, waiver, credit or reversal)."""
    status = status_of(acc)
    if status == "active":
        return None
    entries = acc.ledger.entries
    recovery = recovery_of(acc)
    if recovery is Recovery.WORKING:
        return None  # in recovery: still worked
    if recovery is Recovery.DONE:  # the recovery that cleared the shadow balances
        paid = [e.posted_on for e in entries if e.kind is EntryKind.PAYMENT]
        return max(paid, default=acc.closed_through)
    if status == "written_off":
        written = [e.posted_on for e in entries if e.kind is EntryKind.WRITE_OFF]
        return max(written, default=acc.closed_through)
    moved = [e.posted_on for e in entries if e.kind is not EntryKind.ACCRUAL]
    return max([acc.schedule[-1].due_date, *moved])
