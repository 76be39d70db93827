"""DPD pauses: days on which a loan's arrears do not age (hardship, a dispute).

A pause covers the days ``on`` … ``until`` (both included), or from ``on`` on while it
is open (``until`` None) until a resume ends it: a resume on day R makes R−1 the last
paused day. On a paused day DPD, and so the bucket and the class, do not count up: DPD
counts the days since the oldest unpaid instalment fell due, less the paused days among
them, and the grace rule applies to that count (so grace is not used up during a
pause). A payment during a pause still settles what it pays, so DPD can fall to 0.
Charges (罚息, 复利, late fees) run by the contract's calendar, pause or not: relief on
them is a waiver. Pauses do not overlap (as in Fineract's delinquency pause/resume,
which refuses an overlapping pause and a resume outside an active pause).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.errors import DomainError

ONE_DAY = timedelta(days=1)


class PauseReason(StrEnum):
    HARDSHIP = "hardship"  # 困难: the debtor cannot pay for a while
    DISPUTE = "dispute"  # 争议: the debt or an amount is disputed
    OTHER = "other"  # another reason the lender stops ageing (a disaster, a regulator's relief)


@dataclass(frozen=True, slots=True)
class Pause:
    """Arrears do not age on the days ``on`` … ``until`` (open-ended when None)."""

    on: date
    until: date | None
    reason: PauseReason

    def __post_init__(self) -> None:
        if self.until is not None and self.until < self.on:
            raise DomainError(f"a pause from {self.on} cannot end before it, on {self.until}")

    def covers(self, day: date) -> bool:
        return self.on <= day and (self.until is None or day <= self.until)

    def days_within(self, after: date, through: date) -> int:
        """How many of the days ``after`` + 1 … ``through`` the pause covers."""
        first = max(self.on, after + ONE_DAY)
        last = through if self.until is None else min(self.until, through)
        return max((last - first).days + 1, 0)


def add_pause(pauses: Sequence[Pause], pause: Pause) -> tuple[Pause, ...]:
    """``pauses`` with ``pause`` added; refused when it overlaps one of them."""
    for other in pauses:
        ends = [p.until for p in (other, pause) if p.until is not None]
        overlap_end = min(ends) if ends else None
        if max(other.on, pause.on) <= (overlap_end or date.max):
            shown = "open" if other.until is None else f"to {other.until}"
            raise DomainError(
                f"a pause from {pause.on} overlaps the pause from {other.on} ({shown})"
            )
    return tuple(sorted((*pauses, pause), key=lambda p: p.on))


def resume(pauses: Sequence[Pause], on: date) -> tuple[Pause, ...]:
    """``pauses`` with the one in force on ``on`` ended the day before; refused when no
    pause covers ``on`` or it starts that day (a pause of no days: remove it instead)."""
    for i, pause in enumerate(pauses):
        if pause.covers(on):
            if pause.on == on:
                raise DomainError(f"the pause from {on} starts on the day of the resume")
            ended = Pause(pause.on, on - ONE_DAY, pause.reason)
            return (*pauses[:i], ended, *pauses[i + 1 :])
    raise DomainError(f"no pause is in force on {on} to resume")


def paused_days(pauses: Sequence[Pause], after: date, through: date) -> int:
    """Paused days among ``after`` + 1 … ``through``."""
    if not pauses or through <= after:
        return 0
    return sum(p.days_within(after, through) for p in pauses)


def ageing_days(due: date, day: date, pauses: Sequence[Pause]) -> int:
    """Days since ``due`` through ``day`` that count for DPD: the calendar days less the
    paused ones."""
    return (day - due).days - paused_days(pauses, due, day)


def day_reaching(due: date, days: int, pauses: Sequence[Pause]) -> date | None:
    """The first day on which ``ageing_days(due, day)`` reaches ``days`` (None: never,
    an open pause stops the count)."""
    day = due + timedelta(days=days)
    while True:
        short = days - ageing_days(due, day, pauses)
        if short <= 0:
            return day
        if any(p.until is None and p.on <= day for p in pauses):
            return None
        day += timedelta(days=short)
