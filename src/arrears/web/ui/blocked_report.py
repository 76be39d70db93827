"""Blocked contacts by rule, for the compliance officer's page.

The back end has no service for this report yet (see the front-end note in the
workbench issue); this is one read-only, batched query over ``contact_attempts`` that
belongs in ``arrears.services.workbench`` once there is one there: the page only
counts, it decides nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.store.contact_models import ContactAttempt

LATEST = 50
SCAN_MAX = 20_000


@dataclass
class BlockedReport:
    """Counts of blocked contacts per rule and per channel, and the latest blocked."""

    total: int = 0
    by_rule: list[tuple[str, int]] = field(default_factory=list)
    by_channel: list[tuple[str, int]] = field(default_factory=list)
    by_source: list[tuple[str, int]] = field(default_factory=list)
    latest: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


def blocked_contacts(session: Session, since: datetime) -> BlockedReport:
    """Blocked contact attempts from ``since``: one query, newest first, at most
    ``SCAN_MAX`` rows (``truncated`` says when there were more)."""
    rows = session.execute(
        select(
            ContactAttempt.id,
            ContactAttempt.at,
            ContactAttempt.case_id,
            ContactAttempt.customer_id,
            ContactAttempt.channel,
            ContactAttempt.source,
            ContactAttempt.actor,
            ContactAttempt.blocked_rules,
            ContactAttempt.reason,
        )
        .where(ContactAttempt.allowed.is_(False), ContactAttempt.at >= since)
        .order_by(ContactAttempt.at.desc(), ContactAttempt.id.desc())
        .limit(SCAN_MAX + 1)
    ).all()
    report = BlockedReport(truncated=len(rows) > SCAN_MAX)
    rows = rows[:SCAN_MAX]
    rules: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for row in rows:
        names = json.loads(row.blocked_rules or "[]") or ["(none)"]
        rules.update(names)
        channels[row.channel] += 1
        sources[row.source] += 1
        if len(report.latest) < LATEST:
            report.latest.append({**row._asdict(), "rules": names})
    report.total = len(rows)
    report.by_rule = rules.most_common()
    report.by_channel = channels.most_common()
    report.by_source = sources.most_common()
    return report
