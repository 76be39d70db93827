"""The compliance re-check at send time, from the store: the customer's holds in force,
the blacklist, and their allowed contacts, through ``arrears.compliance.Gate``.

A hold placed (or a number blacklisted) after the contact was decided still stops the
message: it ends ``blocked`` with the rule ids. A message that only falls outside the
contact hours now is ``Deferred`` to the next opening of the window in the debtor's
time zone instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import OutgoingMessage
from arrears.channels.dispatcher import Clock, Deferred, Recheck, utc_clock
from arrears.channels.gating import GateInputs, history_for, load_gate_inputs
from arrears.channels.outbox import as_utc
from arrears.compliance import Attempt, Verdict, load_pack
from arrears.compliance.rules import ContactHours
from arrears.store.contact_models import ContactAttempt, OutboxMessage


class StoreRecheck:
    """A ``recheck`` for the ``Dispatcher``: the verdict of the gate of ``pack`` on
    sending a message now, with the store's holds, blacklist and contact history as
    they are now (the message's own decision excluded). Returns a ``Verdict``, or
    ``Deferred`` when only the contact hours block.

    ``prepare(messages)`` (the dispatcher calls it with each claimed batch) loads what
    the batch needs in a few queries; a message not prepared is looked up alone."""

    def __init__(self, engine: Engine, pack: str = "cn", clock: Clock = utc_clock) -> None:
        self.engine = engine
        self.pack = load_pack(pack)
        self.clock = clock
        self.hours = {r.id: r for r in self.pack.rules if isinstance(r, ContactHours)}
        self._decided: dict[int, _Decided] = {}
        self._inputs = GateInputs()

    def prepare(self, messages: Sequence[OutgoingMessage]) -> None:
        """Load the decisions of ``messages`` and their debtors' gate inputs at once."""
        now = as_utc(self.clock())
        with Session(self.engine) as session:
            self._decided = _decisions(session, [m.outbox_id for m in messages])
            customers = sorted({d.customer_id for d in self._decided.values()})
            self._inputs = load_gate_inputs(session, customers, now, history_for(self.pack))

    def __call__(self, message: OutgoingMessage) -> Verdict | Deferred:
        now = as_utc(self.clock())
        decided = self._decided.pop(message.outbox_id, None)
        inputs = self._inputs
        if decided is None:
            with Session(self.engine) as session:
                decided = _decisions(session, [message.outbox_id])[message.outbox_id]
                inputs = load_gate_inputs(
                    session, [decided.customer_id], now, history_for(self.pack)
                )
        gate = inputs.gate(self.pack, [decided.customer_id], exclude=[decided.id])
        zone = inputs.zones.get(decided.customer_id)
        attempt = Attempt(
            attempt_id=f"{decided.attempt_id}@send",
            debtor_id=decided.customer_id,
            debt_id=decided.loan_id,
            channel=message.channel,
            at=now,
            debtor_tz=zone,
            party=decided.party,
            # what the outbox sends is the strategy's: the dialer list, bulk texts
            dialing="autodialer" if message.channel in ("call", "sms") else None,
        )
        verdict = gate.check(attempt, recipient=message.recipient)
        if not verdict.allowed and all(rule in self.hours for rule in verdict.rules):
            opens = max(_next_opening(self.hours[rule], now, zone) for rule in verdict.rules)
            return Deferred(verdict, opens)
        return verdict


def store_recheck(engine: Engine, pack: str = "cn", clock: Clock = utc_clock) -> Recheck:
    """The send-time re-check of ``pack`` from the store (see ``StoreRecheck``)."""
    return StoreRecheck(engine, pack, clock)


@dataclass(frozen=True)
class _Decided:
    id: int
    attempt_id: str
    customer_id: str
    loan_id: str | None
    party: str


def _decisions(session: Session, outbox_ids: Sequence[int]) -> dict[int, _Decided]:
    rows = session.execute(
        select(
            OutboxMessage.id,
            ContactAttempt.id,
            ContactAttempt.attempt_id,
            ContactAttempt.customer_id,
            ContactAttempt.loan_id,
            ContactAttempt.party,
        )
        .join(ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id)
        .where(OutboxMessage.id.in_(list(outbox_ids)))
    )
    return {outbox_id: _Decided(*rest) for outbox_id, *rest in rows}


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
