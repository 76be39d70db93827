"""Days whose treatments are held because the scores the strategy reads have shifted.

The close records each hold as an audit entry about the day (``treatments.held``,
actor ``close``) and ``arrears treat --accept-shifted-scores`` records who accepted
the scores (``treatments.shifted_scores_accepted``). The chain is the only record: a
day is held while its newest such entry is a hold and no treatments have been decided
for it since (a close rerun under ``shifted_scores = "warn"`` treats it without an
acceptance). ``held_days`` is what the manager's dashboard shows; ``treated`` is also
the treatment step's check for a day already done. This module stays light (no strategy
or channel imports): the web app imports it for the dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.book_models import ScoredDay
from arrears.store.contact_models import ContactAttempt, StrategyAssignment
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent

HELD = "treatments.held"
ACCEPTED = "treatments.shifted_scores_accepted"


@dataclass(frozen=True)
class HeldDay:
    """A closed day with no treatments, held since ``held_at``: the strategy segments on
    the score of ``model`` (``version``), whose scores that day shifted by ``psi``."""

    day: date
    model: str
    version: str
    psi: float
    held_at: datetime


def record(engine: Engine, actor: str, action: str, scored: ScoredDay) -> None:
    """An audit entry by ``actor`` about the day of ``scored``, whose scores shifted."""
    payload = {"model": scored.model, "version": scored.version, "psi": f"{scored.psi:.6f}"}
    with UnitOfWork(engine) as uow:
        audit.append(uow.session, actor, action, "day", scored.as_of.isoformat(), payload)
        uow.commit()


def held_days(session: Session) -> list[HeldDay]:
    """The days held now, oldest first."""
    newest: dict[str, AuditEvent] = {}
    for entry in session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "day", AuditEvent.action.in_((HELD, ACCEPTED)))
        .order_by(AuditEvent.seq)
    ):
        newest[entry.entity_id] = entry
    held = []
    for day_text, entry in sorted(newest.items()):
        day = date.fromisoformat(day_text)
        if entry.action != HELD or treated(session, day):
            continue
        payload = json.loads(entry.payload)
        held.append(
            HeldDay(day, payload["model"], payload["version"], float(payload["psi"]), entry.at)
        )
    return held


def treated(session: Session, as_of: date, strategy: str | None = None) -> bool:
    """Whether ``strategy`` (any strategy when None) has decided treatments for
    ``as_of``: cases assigned or contacts attempted that day."""
    assigned = select(func.count()).select_from(StrategyAssignment)
    assigned = assigned.where(StrategyAssignment.as_of == as_of)
    prefix = f"{as_of.isoformat()}:"
    if strategy is not None:
        assigned = assigned.where(StrategyAssignment.strategy == strategy)
        prefix += f"{strategy}:"
    if session.scalar(assigned):
        return True
    attempted = select(func.count()).select_from(ContactAttempt)
    return bool(session.scalar(attempted.where(ContactAttempt.attempt_id.startswith(prefix))))
