"""The compliance gate loaded from the store: the holds in force, the blacklist and the
allowed contacts that still count toward caps — for one debtor (a send-time re-check,
a collector's manual call) or for a whole day's treatments at once."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from arrears.compliance import Attempt, Gate, Hold, RulePack
from arrears.compliance.consent import consents_on_record
from arrears.compliance.gate import normalize_contact
from arrears.compliance.model import Consent
from arrears.store.consent_models import ConsentEntry
from arrears.store.contact_models import BlacklistEntry, ContactAttempt
from arrears.store.contact_models import Hold as HoldRow
from arrears.store.models import Customer

# Allowed contacts of the last days count toward caps (the longest window of a shipped
# pack is seven days; one more covers a window that straddles midnight in any zone).
HISTORY_DAYS = 8
_CHUNK = 500


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC values
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class GateInputs:
    """What the store says about some debtors at one moment: holds in force, time
    zones, allowed contacts that still count (with their row ids) and the blacklist."""

    holds: dict[str, list[Hold]] = field(default_factory=dict)
    zones: dict[str, str | None] = field(default_factory=dict)
    history: dict[str, list[tuple[int, Attempt]]] = field(default_factory=dict)
    blacklist: list[str] = field(default_factory=list)
    consents: dict[str, list[Consent]] = field(default_factory=dict)

    def gate(
        self, pack: RulePack, customer_ids: Sequence[str], exclude: Sequence[int] = ()
    ) -> Gate:
        """A gate of ``pack`` for ``customer_ids`` without the attempt rows ``exclude``."""
        skip = set(exclude)
        history = sorted(
            (
                a
                for c in customer_ids
                for row_id, a in self.history.get(c, ())
                if row_id not in skip
            ),
            key=lambda a: a.at,
        )
        holds = {c: self.holds[c] for c in customer_ids if c in self.holds}
        consents = {c: self.consents[c] for c in customer_ids if c in self.consents}
        return Gate(pack, holds, self.blacklist, history, consents)

    def add_holds(self, rows: Iterable[HoldRow], on: date) -> None:
        """Keep the holds among ``rows`` that are in force on ``on``."""
        for h in rows:
            if h.placed_on <= on and (h.released_on is None or h.released_on > on):
                self.holds.setdefault(h.customer_id, []).append(
                    Hold(h.kind, h.channel, h.loan_id, h.reason, h.recipient)
                )

    def load_history(self, session: Session, customer_ids: Sequence[str], since: datetime) -> None:
        """Read the allowed contacts of ``customer_ids`` after ``since`` (zones known)."""
        # the fields an Attempt needs, a prebuilt Core statement on the session's
        # connection: every case view, contact and queue reads a debtor's history
        rows = session.connection().execute(
            _HISTORY, {"customer_ids": list(customer_ids), "since": since}
        )
        self.add_history(rows)

    def add_history(self, rows: Iterable[Any]) -> None:
        """Keep ``rows`` (allowed contacts read already, with the fields of
        ``HISTORY_COLUMNS``) as history."""
        for r in rows:
            attempt = Attempt(
                r.attempt_id, r.customer_id, r.loan_id, r.channel, _aware(r.at),
                self.zones.get(r.customer_id), r.party, r.outcome,
            )  # fmt: skip
            self.history.setdefault(r.customer_id, []).append((r.id, attempt))


# the fields of an allowed contact that ``GateInputs.add_history`` keeps
HISTORY_COLUMNS = (
    ContactAttempt.id,
    ContactAttempt.attempt_id,
    ContactAttempt.customer_id,
    ContactAttempt.loan_id,
    ContactAttempt.channel,
    ContactAttempt.at,
    ContactAttempt.party,
    ContactAttempt.outcome,
)
_HISTORY = select(*HISTORY_COLUMNS).where(
    ContactAttempt.customer_id.in_(bindparam("customer_ids", expanding=True)),
    ContactAttempt.allowed.is_(True),
    ContactAttempt.at > bindparam("since", type_=ContactAttempt.at.type),
)


def history_for(pack: RulePack) -> int:
    """Days of allowed contacts a gate of ``pack`` must see: its longest counting window
    (30 local days for us-ma's work numbers), a day more for time zones, and at least
    ``HISTORY_DAYS``."""
    return max(HISTORY_DAYS, pack.history_days + 1)


def load_gate_inputs(
    session: Session,
    customer_ids: Sequence[str],
    now: datetime,
    history_days: int = HISTORY_DAYS,
) -> GateInputs:
    """The ``GateInputs`` of ``customer_ids`` on ``now``: holds in force on its date,
    allowed contacts since ``now - history_days``, and the whole blacklist (one
    debtor's check reads only its own entries: ``debtor_gate_inputs``)."""
    on = _aware(now).date()
    since = _aware(now) - timedelta(days=history_days)
    inputs = GateInputs(blacklist=blacklisted(session, None))
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = session.scalars(select(HoldRow).where(HoldRow.customer_id.in_(chunk), _in_force(on)))
        inputs.add_holds(rows, on)
        inputs.zones.update(
            session.execute(
                select(Customer.customer_id, Customer.time_zone).where(
                    Customer.customer_id.in_(chunk)
                )
            ).all()
        )
        inputs.load_history(session, chunk, since)
        inputs.consents.update(consents_on_record(session, chunk, _aware(now)))
    return inputs


@dataclass(frozen=True)
class OnRecord:
    """What the store holds about one debtor that a gate reads (``on_record``)."""

    holds_in_force: bool
    recent_contacts: bool
    blacklisted: bool
    consents: bool


def on_record(
    session: Session,
    customer_id: str,
    now: datetime,
    *,
    recipients: Collection[str | None],
    history_days: int = HISTORY_DAYS,
) -> OnRecord:
    """Whether the debtor has a hold in force on ``now``'s date, an allowed contact
    since ``now - history_days``, a blacklisted recipient among ``recipients``, an
    entry in the consent ledger: one query of EXISTS tests (the filters
    ``debtor_gate_inputs`` reads with), so a caller reads only what is there (most
    debtors have no hold, no consent entry, no blacklisted number)."""
    values = sorted({normalize_contact(v) for v in recipients if v})
    row = session.execute(
        _on_record_query(),
        {
            "customer_id": customer_id,
            "on": _aware(now).date(),
            "since": _aware(now) - timedelta(days=history_days),
            "values": values,
        },
    ).one()
    return OnRecord(*(bool(v) for v in row))


@functools.cache
def _on_record_query() -> Any:
    """``on_record``'s statement, built once (its values are parameters)."""
    customer_id: Any = bindparam("customer_id", type_=HoldRow.customer_id.type)
    on = bindparam("on", type_=HoldRow.placed_on.type)
    held = and_(
        HoldRow.customer_id == customer_id,
        HoldRow.placed_on <= on,
        or_(HoldRow.released_on.is_(None), HoldRow.released_on > on),
    )
    contacted = and_(
        ContactAttempt.customer_id == customer_id,
        ContactAttempt.allowed.is_(True),
        ContactAttempt.at > bindparam("since", type_=ContactAttempt.at.type),
    )
    listed = BlacklistEntry.value.in_(bindparam("values", expanding=True))
    consented = ConsentEntry.customer_id == customer_id
    return select(*(exists().where(test) for test in (held, contacted, listed, consented)))


def debtor_gate_inputs(
    session: Session,
    customer: Customer,
    now: datetime,
    *,
    recipients: Collection[str | None],
    holds: Iterable[HoldRow] | None = None,
    recent_contacts: bool = True,
    history_days: int = HISTORY_DAYS,
    consents: bool = True,
) -> GateInputs:
    """``load_gate_inputs`` for one debtor whose row the caller has read, for contacts
    to ``recipients``. A caller that has read the debtor's holds (any, in force or not)
    passes them, one that knows the debtor has no allowed contact since
    ``now - history_days`` says ``recent_contacts=False``, and one that knows no consent
    or opt-out was ever recorded for the debtor ``consents=False``: only what is left is
    read."""
    on = _aware(now).date()
    inputs = GateInputs(
        zones={customer.customer_id: customer.time_zone},
        blacklist=blacklisted(session, recipients),
    )
    if holds is None:
        holds = session.scalars(
            select(HoldRow).where(HoldRow.customer_id == customer.customer_id, _in_force(on))
        )
    inputs.add_holds(holds, on)
    if recent_contacts:
        since = _aware(now) - timedelta(days=history_days)
        inputs.load_history(session, [customer.customer_id], since)
    if consents:
        inputs.consents = consents_on_record(session, [customer.customer_id], _aware(now))
    return inputs


def _in_force(on: date) -> ColumnElement[bool]:
    """Holds placed by ``on`` and not released by then (``GateInputs.add_holds`` keeps
    the same ones from rows already read)."""
    return and_(
        HoldRow.placed_on <= on, or_(HoldRow.released_on.is_(None), HoldRow.released_on > on)
    )


def blacklisted(session: Session, recipients: Collection[str | None] | None) -> list[str]:
    """The blacklist: whole, or only the entries among ``recipients`` when given."""
    query = select(BlacklistEntry.value)
    if recipients is not None:
        # stored values are normalised on entry (holds.add_to_blacklist)
        wanted = sorted({normalize_contact(v) for v in recipients if v})
        if not wanted:
            return []
        query = query.where(BlacklistEntry.value.in_(wanted))
    return list(session.scalars(query))


def recipient_for(customer: Customer, channel: str) -> str | None:
    """Where a contact on ``channel`` goes: mobile for calls and SMS, email for email,
    the customer's app for push, the postal address for letters and visits."""
    if channel in ("call", "sms"):
        return customer.mobile or None
    if channel == "email":
        return customer.email or None
    if channel == "push":
        return f"app:{customer.customer_id}"
    return customer.address or None


def store_gate(
    session: Session,
    pack: RulePack,
    customer_ids: Sequence[str],
    now: datetime,
    history_days: int | None = None,
    *,
    exclude_attempt_ids: Sequence[int] = (),
) -> Gate:
    """A gate of ``pack`` for ``customer_ids`` as the store stands: their holds in
    force on ``now``'s date, the whole blacklist, and their allowed contacts since
    ``now - history_days`` (minus the attempt rows ``exclude_attempt_ids``, e.g. the
    decision a send-time re-check is about)."""
    if history_days is None:  # as far back as the pack's longest window counts
        history_days = history_for(pack)
    inputs = load_gate_inputs(session, customer_ids, now, history_days)
    return inputs.gate(pack, customer_ids, exclude_attempt_ids)
