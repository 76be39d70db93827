"""Small builders for compliance tests: attempts by local wall-clock time."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from arrears.compliance import Attempt

_ids = itertools.count(1)


def local(tz: str, text: str) -> datetime:
    """``text`` ("2026-03-09 08:30") on the wall clock of ``tz`` (fold 0 when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def utc(text: str) -> datetime:
    """``text`` as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("UTC"))


def attempt(
    at: datetime,
    *,
    tz: str | None = "Asia/Shanghai",
    channel: str = "call",
    debtor: str = "d1",
    debt: str | None = "L1",
    party: str = "debtor",
    outcome: str | None = None,
    attempt_id: str | None = None,
    recipient: str | None = None,
    recipient_type: str = "personal",
    agents: int = 1,
) -> Attempt:
    """An attempt with a fresh id unless one is given."""
    return Attempt(
        attempt_id=attempt_id or f"a{next(_ids)}",
        debtor_id=debtor,
        debt_id=debt,
        channel=channel,
        at=at,
        debtor_tz=tz,
        party=party,
        outcome=outcome,
        recipient=recipient,
        recipient_type=recipient_type,
        agents=agents,
    )
