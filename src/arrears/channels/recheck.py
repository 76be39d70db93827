"""The compliance re-check at send time, from the store: the customer's holds in force,
the blacklist, and their allowed contacts, through ``arrears.compliance.Gate``.

A hold placed (or a number blacklisted) after the contact was decided still stops the
message: it ends ``blocked`` with the rule ids. A message that only falls outside the
contact hours now is ``Deferred`` to the next opening of the window in the debtor's
time zone instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import OutgoingMessage
from arrears.channels.dispatcher import Clock, Deferred, Recheck, utc_clock
from arrears.channels.gating import store_gate
from arrears.channels.outbox import as_utc
from arrears.compliance import Attempt, Verdict, load_pack
from arrears.compliance.rules import ContactHours
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import Customer


def store_recheck(engine: Engine, pack: str = "cn", clock: Clock = utc_clock) -> Recheck:
    """A ``recheck`` for the ``Dispatcher``: the verdict of the gate of ``pack`` on
    sending ``message`` now, with the store's holds, blacklist and contact history as
    they are now (``gating.store_gate``, the message's own decision excluded). Returns
    a ``Verdict``, or ``Deferred`` when only the contact hours block."""
    rule_pack = load_pack(pack)
    hours = {r.id: r for r in rule_pack.rules if isinstance(r, ContactHours)}

    def recheck(message: OutgoingMessage) -> Verdict | Deferred:
        now = as_utc(clock())
        with Session(engine) as session:
            decided = session.get_one(
                ContactAttempt,
                session.scalar(
                    select(OutboxMessage.contact_attempt_id).where(
                        OutboxMessage.id == message.outbox_id
                    )
                ),
            )
            customer = session.get(Customer, decided.customer_id)
            zone = customer.time_zone if customer is not None else None
            gate = store_gate(
                session, rule_pack, [decided.customer_id], now, exclude_attempt_ids=[decided.id]
            )
        attempt = Attempt(
            attempt_id=f"{decided.attempt_id}@send",
            debtor_id=decided.customer_id,
            debt_id=decided.loan_id,
            channel=message.channel,
            at=now,
            debtor_tz=zone,
            party=decided.party,
        )
        verdict = gate.check(attempt, recipient=message.recipient)
        if not verdict.allowed and all(rule in hours for rule in verdict.rules):
            opens = max(_next_opening(hours[rule], now, zone) for rule in verdict.rules)
            return Deferred(verdict, opens)
        return verdict

    return recheck


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
