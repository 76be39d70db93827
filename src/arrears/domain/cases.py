"""When a loan has a collections case: the one rule every close and every check uses.

A loan has an open case exactly while it is active and past due (DPD > 0). The case
opens on the first closed day the loan is past due, follows the loan's DPD, bucket,
class and overdue amount each closed day, and closes:

- ``cured``: the loan is active and no longer past due;
- ``repaid``: the loan is paid in full (status ``closed``);
- ``written_off``: the loan was written off.

A repaid or written-off loan closes its case on the day it stopped being active
(``ended_on``), even when that day fell between two recorded days of a close.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from arrears.domain.account import LoanAccount, status_of
from arrears.domain.ledger import EntryKind


class CaseMove(StrEnum):
    OPEN = "open"  # no open case, the loan is past due
    REFRESH = "refresh"  # an open case follows the loan's figures
    CURED = "cured"
    REPAID = "repaid"
    WRITTEN_OFF = "written_off"
    NONE = "none"  # no case and none needed


CLOSING_MOVES = (CaseMove.CURED, CaseMove.REPAID, CaseMove.WRITTEN_OFF)

_ENDED = {"closed": CaseMove.REPAID, "written_off": CaseMove.WRITTEN_OFF}


def case_move(status: str, dpd: int, has_open_case: bool) -> CaseMove:
    """What the close does to a loan's case, given the loan's status and DPD on the day."""
    if status in _ENDED:
        return _ENDED[status] if has_open_case else CaseMove.NONE
    if dpd > 0:
        return CaseMove.REFRESH if has_open_case else CaseMove.OPEN
    return CaseMove.CURED if has_open_case else CaseMove.NONE


def needs_case(status: str, dpd: int) -> bool:
    """Whether a loan in this state must have an open case (the check of ``arrears status``)."""
    return status not in _ENDED and dpd > 0


def ended_on(acc: LoanAccount) -> date | None:
    """The day the loan stopped being active; None while it is active.

    Written off: the day of its write-off entry. Repaid: the later of its last due date
    (a loan paid ahead stays active until then) and the last posting that moved its
    balance (a payment, waiver, credit or reversal)."""
    status = status_of(acc)
    if status == "active":
        return None
    entries = acc.ledger.entries
    if status == "written_off":
        written = [e.posted_on for e in entries if e.kind is EntryKind.WRITE_OFF]
        return max(written, default=acc.closed_through)
    moved = [e.posted_on for e in entries if e.kind is not EntryKind.ACCRUAL]
    return max([acc.schedule[-1].due_date, *moved])
