"""Where the debtor's clock is: the debtor's zone when it is a real IANA zone, else every
candidate zone of the pack (so a rule that depends on local time must hold in all)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@functools.cache
def zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when no such IANA zone exists."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, OSError):
        # ValueError: malformed keys such as "../x"; OSError: a folder name like "America".
        return None


@dataclass(frozen=True, slots=True)
class DebtorClock:
    """The zones in which a local-time rule must hold for one debtor.

    ``known`` False means the debtor's zone was missing or invalid and ``zones`` are
    the pack's candidate zones (the strictest reading: a contact is allowed only if
    every zone allows it)."""

    zones: tuple[str, ...]
    known: bool
    given: str | None

    def local(self, at: datetime, name: str) -> datetime:
        """``at`` on the wall clock of zone ``name``."""
        tz = zone(name)
        assert tz is not None  # zones are checked when the clock is built
        return at.astimezone(tz)

    def local_date(self, at: datetime, name: str) -> date:
        """The calendar day of ``at`` in zone ``name``."""
        return self.local(at, name).date()

    def describe_unknown(self) -> str:
        """A phrase for reasons: why several zones were checked."""
        what = "missing" if not self.given else f"{self.given!r} is not a known IANA zone"
        return f"debtor time zone {what}, so every candidate zone was checked"


def debtor_clock(debtor_tz: str | None, candidates: tuple[str, ...]) -> DebtorClock:
    """The clock for a debtor: their own zone when valid, else all ``candidates``."""
    name = (debtor_tz or "").strip()
    if name and zone(name) is not None:
        return DebtorClock((name,), True, name)
    return DebtorClock(candidates, False, name or None)
