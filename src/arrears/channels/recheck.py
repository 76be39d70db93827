"""The compliance re-check at send time, from the store: the customer's holds in force,
the blacklist, and their allowed contacts, through ``arrears.compliance.Gate``.

A hold placed (or a number blacklisted) after the contact was decided still stops the
message: it ends ``blocked`` with the rule ids. A message that only falls outside the
contact hours now is ``Deferred`` to the next opening of the window in the debtor's
time zone instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import OutgoingMessage
from arrears.channels.dispatcher import Clock, Deferred, Recheck, utc_clock
from arrears.channels.outbox import as_utc
from arrears.compliance import Attempt, Gate, Hold, Verdict, load_pack
from arrears.compliance.rules import ContactHours
from arrears.store.contact_models import BlacklistEntry, ContactAttempt, OutboxMessage
from arrears.store.contact_models import Hold as HoldRow
from arrears.store.models import Customer

HISTORY_DAYS = 8


def store_recheck(engine: Engine, pack: str = "cn", clock: Clock = utc_clock) -> Recheck:
    """A ``recheck`` for the ``Dispatcher``: the verdict of the gate of ``pack`` on
    sending ``message`` now, with the store's holds, blacklist and contact history as
    they are now (the message's own decision excluded). Returns a ``Verdict``, or
    ``Deferred`` when only the contact hours block."""
    rule_pack = load_pack(pack)
    hours = {r.id: r for r in rule_pack.rules if isinstance(r, ContactHours)}

    def recheck(message: OutgoingMessage) -> Verdict | Deferred:
        now = as_utc(clock())
        with Session(engine) as session:
            attempt_row = session.get_one(
                ContactAttempt,
                session.scalar(
                    select(OutboxMessage.contact_attempt_id).where(
                        OutboxMessage.id == message.outbox_id
                    )
                ),
            )
            customer = session.get(Customer, attempt_row.customer_id)
            zone = customer.time_zone if customer is not None else None
            gate = Gate(
                rule_pack,
                {attempt_row.customer_id: _holds(session, attempt_row.customer_id, now.date())},
                list(session.scalars(select(BlacklistEntry.value))),
                _history(session, attempt_row, zone, now),
            )
        attempt = Attempt(
            attempt_id=f"{attempt_row.attempt_id}@send",
            debtor_id=attempt_row.customer_id,
            debt_id=attempt_row.loan_id,
            channel=message.channel,
            at=now,
            debtor_tz=zone,
            party=attempt_row.party,
        )
        verdict = gate.check(attempt, recipient=message.recipient)
        if not verdict.allowed and all(rule in hours for rule in verdict.rules):
            opens = max(_next_opening(hours[rule], now, zone) for rule in verdict.rules)
            return Deferred(verdict, opens)
        return verdict

    return recheck


def _holds(session: Session, customer_id: str, on: date) -> list[Hold]:
    rows = session.scalars(
        select(HoldRow).where(
            HoldRow.customer_id == customer_id,
            HoldRow.placed_on <= on,
            or_(HoldRow.released_on.is_(None), HoldRow.released_on > on),
        )
    )
    return [Hold(r.kind, r.channel, r.loan_id, r.reason) for r in rows]


def _history(
    session: Session, decided: ContactAttempt, zone: str | None, now: datetime
) -> list[Attempt]:
    rows = session.scalars(
        select(ContactAttempt).where(
            ContactAttempt.customer_id == decided.customer_id,
            ContactAttempt.allowed.is_(True),
            ContactAttempt.id != decided.id,
            ContactAttempt.at > now - timedelta(days=HISTORY_DAYS),
        )
    )
    return [
        Attempt(
            r.attempt_id,
            r.customer_id,
            r.loan_id,
            r.channel,
            as_utc(r.at),
            zone,
            r.party,
            r.outcome,
        )
        for r in rows
    ]


def _next_opening(rule: ContactHours, now: datetime, zone: str | None) -> datetime:
    """The next moment the window of hours ``rule`` opens in ``zone`` (UTC+8 when the
    zone is unknown: the pack's own candidate zones decide at the next check)."""
    try:
        tz = ZoneInfo(zone) if zone else ZoneInfo("Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("Asia/Shanghai")
    local = now.astimezone(tz)
    opening = datetime.combine(local.date(), rule.start, tz)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), rule.start, tz)
    return opening.astimezone(UTC)
