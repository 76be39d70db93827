"""Contacts a collector makes, through the compliance gate.

``log_contact`` checks the call (or SMS, email, visit …) with ``arrears.compliance.Gate``
against the customer's holds, the blacklist and the rule pack's hours and caps, counting
the customer's earlier allowed contacts. The attempt is written to ``contact_attempts``
(``source`` collector, or agency for agency users) either way: an allowed one with its
disposition code and note in ``contact_logs``, a blocked one with the rules and reasons,
so "why was this customer not called?" always has an answer. The caller commits and, for
a blocked attempt, shows ``result.rules`` and ``result.reasons``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, select
from sqlalchemy.orm import Session

from arrears.channels.gating import (
    GateInputs,
    debtor_gate_inputs,
    history_for,
    on_record,
    recipient_for,
)
from arrears.compliance import Attempt, Gate, Verdict, load_pack
from arrears.services import audit
from arrears.services.workbench.access import (
    WORKERS,
    Actor,
    require_role,
    visible_case_and_customer,
)
from arrears.services.workbench.errors import Invalid
from arrears.store.contact_models import CHANNELS, ContactAttempt, OutboxMessage
from arrears.store.models import CaseRow, ContactPoint, Customer
from arrears.store.workbench_models import ContactLog, DispositionCode

DEFAULT_PACK = "cn"
# what a collector may log by hand (push messages are the strategy's)
MANUAL_CHANNELS = ("call", "sms", "email", "letter", "visit")
# dispositions that promise the debtor a call back: they need its date and time
CALLBACK_CODES = frozenset({"CALLBACK"})
CALLBACK_MAX_AHEAD = timedelta(days=30)
_packs: dict[str, object] = {}


def pack(name: str = DEFAULT_PACK):  # type: ignore[no-untyped-def]
    """The rule pack ``name``, loaded once."""
    if name not in _packs:
        _packs[name] = load_pack(name)
    return _packs[name]


@dataclass(frozen=True)
class ContactResult:
    """What happened to a logged contact: allowed or blocked (rules, reasons)."""

    attempt: ContactAttempt
    log: ContactLog | None
    allowed: bool
    rules: tuple[str, ...]
    reasons: tuple[str, ...]


def dispositions(session: Session, active_only: bool = True) -> list[DispositionCode]:
    """The disposition codes collectors pick from, in display order."""
    query = select(DispositionCode).order_by(DispositionCode.sort, DispositionCode.code)
    if active_only:
        query = query.where(DispositionCode.active.is_(True))
    return list(session.scalars(query))


def save_disposition(
    session: Session,
    actor: Actor,
    code: str,
    label_en: str,
    label_zh: str,
    outcome: str,
    *,
    party: str = "debtor",
    right_party: bool = False,
    needs_promise: bool = False,
    active: bool = True,
) -> DispositionCode:
    """Add or change a disposition code (managers and admins)."""
    from arrears.compliance import OUTCOMES, PARTIES

    require_role(actor, {"manager", "admin"}, "configure disposition codes")
    code = code.strip().upper()
    if not code or len(code) > 16:
        raise Invalid("code: must be 1 to 16 characters", "length", field="code", low=1, high=16)
    if outcome not in OUTCOMES:
        raise Invalid(
            f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}", "one_of", field="outcome"
        )
    if party not in PARTIES:
        raise Invalid(
            f"party: {party!r} is not one of {', '.join(PARTIES)}", "one_of", field="party"
        )
    audit.begin_write(session)
    row = session.get(DispositionCode, code)
    if row is None:
        row = DispositionCode(code=code, sort=len(dispositions(session, False)))
        session.add(row)
    row.label_en, row.label_zh, row.outcome, row.party = label_en, label_zh, outcome, party
    row.right_party, row.needs_promise, row.active = right_party, needs_promise, active
    session.flush()
    audit.append(
        session,
        actor.username,
        "disposition.save",
        "disposition",
        code,
        {"outcome": outcome, "party": party, "active": active},
    )
    return row


def gate_for(
    session: Session, customer: Customer, now: datetime, pack_name: str, recipient: str | None
) -> Gate:
    """A gate loaded from the store for one contact of the customer to ``recipient``
    (``channels.gating``): holds in force, whether the recipient is blacklisted, and
    their allowed contacts that still count toward caps."""
    rules = pack(pack_name)
    days = history_for(rules)
    # one query says which of them the debtor has; only those are read
    has = on_record(session, customer.customer_id, now, recipients=[recipient], history_days=days)
    inputs = debtor_gate_inputs(
        session,
        customer,
        now,
        recipients=[recipient] if has.blacklisted else (),
        holds=None if has.holds_in_force else (),
        recent_contacts=has.recent_contacts,
        history_days=days,
        consents=has.consents,
    )
    return inputs.gate(rules, [customer.customer_id])


def recipient_of(session: Session, customer: Customer, channel: str) -> str | None:
    """Where a contact on ``channel`` goes (``gating.recipient_for``: mobile, email,
    app or postal address); a customer row without a mobile or email falls back to
    their primary contact point of that kind."""
    value = recipient_for(customer, channel)
    kind = {"call": "mobile", "sms": "mobile", "email": "email"}.get(channel)
    if value or kind is None:
        return value
    return session.scalar(
        select(ContactPoint.value)
        .where(ContactPoint.customer_id == customer.customer_id, ContactPoint.kind == kind)
        .order_by(ContactPoint.is_primary.desc(), ContactPoint.id)
        .limit(1)
    )


def log_contact(
    session: Session,
    actor: Actor,
    case_id: int,
    channel: str,
    disposition: str,
    note: str = "",
    *,
    at: datetime | None = None,
    pack_name: str = DEFAULT_PACK,
    callback_at: datetime | None = None,
) -> ContactResult:
    """Check and record one contact on case ``case_id`` with disposition code
    ``disposition``. Blocked contacts are recorded too (allowed False) and returned with
    the blocking rules; nothing about them counts toward caps. A callback disposition
    (``CALLBACK_CODES``) needs ``callback_at``, the moment the debtor asked to be called
    back (after the contact, within ``CALLBACK_MAX_AHEAD``); other dispositions keep
    none."""
    require_role(actor, {"collector", "team_lead", "manager", "admin", "agency"}, "log contacts")
    audit.begin_write(session)
    # ``workable_case`` with the case's customer read in the same statement
    case, customer = visible_case_and_customer(session, actor, case_id)
    require_role(actor, WORKERS, "change a case")
    if channel not in MANUAL_CHANNELS:
        raise Invalid(
            f"channel: {channel!r} is not one of {', '.join(MANUAL_CHANNELS)}",
            "one_of",
            field="channel",
        )
    code = session.get(DispositionCode, disposition)
    if code is None or not code.active:
        raise Invalid(
            f"disposition: no active disposition code {disposition!r}",
            "no_disposition",
            code=disposition,
        )
    if len(note) > 4000:
        raise Invalid("note: at most 4000 characters", "too_long", field="note", high=4000)
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    callback = _callback(code.code, callback_at, moment)
    attempt_id = f"wb-{uuid.uuid4().hex}"
    # no answer, busy, voicemail: the call still went to the debtor's own number
    party = "third_party" if code.party == "third_party" else "debtor"
    recipient = recipient_of(session, customer, channel)
    gate = gate_for(session, customer, moment, pack_name, recipient)
    attempt = Attempt(
        attempt_id,
        case.customer_id,
        case.loan_id,
        channel,
        moment,
        customer.time_zone,
        party,
        code.outcome if channel in ("call", "visit") else None,
        dialing="manual",  # a collector's own call or text, not the dialer's
    )
    verdict: Verdict = gate.check(attempt, recipient)
    row = ContactAttempt(
        attempt_id=attempt_id,
        customer_id=case.customer_id,
        loan_id=case.loan_id,
        case_id=case.id,
        channel=channel,
        party=party,
        at=moment,
        source="agency" if actor.role == "agency" else "collector",
        outcome=code.outcome if verdict.allowed else None,
        allowed=verdict.allowed,
        blocked_rules=json.dumps(list(verdict.rules)),
        reason="; ".join(verdict.reasons),
        actor=actor.username,
    )
    session.add(row)
    session.flush()
    log = None
    if verdict.allowed:
        log = ContactLog(
            contact_attempt_id=row.id,
            case_id=case.id,
            disposition=code.code,
            note=note,
            callback_at=callback,
        )
        session.add(log)
        session.flush()
    audit.append(
        session,
        actor.username,
        "contact.log" if verdict.allowed else "contact.blocked",
        "case",
        case.id,
        {
            "attempt_id": attempt_id,
            "channel": channel,
            "disposition": code.code,
            "allowed": verdict.allowed,
            "rules": list(verdict.rules),
            **({"callback_at": callback} if callback else {}),
        },
        at=moment,
    )
    return ContactResult(row, log, verdict.allowed, verdict.rules, verdict.reasons)


def _callback(code: str, callback_at: datetime | None, moment: datetime) -> datetime | None:
    """The callback time a contact with disposition ``code`` keeps, or Invalid."""
    if code not in CALLBACK_CODES:
        return None
    if callback_at is None:
        raise Invalid(f"callback_at: a {code} needs the date and time to call back")
    if callback_at.tzinfo is None or callback_at.utcoffset() is None:
        raise Invalid("callback_at: give the time with its time zone")
    when = callback_at.astimezone(UTC)
    if when <= moment:
        raise Invalid(f"callback_at: {when:%Y-%m-%d %H:%M} UTC is not after the contact")
    if when > moment + CALLBACK_MAX_AHEAD:
        raise Invalid(f"callback_at: at most {CALLBACK_MAX_AHEAD.days} days ahead")
    return when


@dataclass(frozen=True)
class ChannelStatus:
    """Whether a channel may be used on a customer right now, and why not."""

    channel: str
    allowed: bool
    rules: tuple[str, ...]
    reasons: tuple[str, ...]


def channel_recipients(session: Session, customer: Customer) -> dict[str, str | None]:
    """Where a contact on each channel would go (``recipient_of``)."""
    return {channel: recipient_of(session, customer, channel) for channel in CHANNELS}


def compliance_status(
    session: Session,
    case: CaseRow,
    now: datetime | None = None,
    pack_name: str = DEFAULT_PACK,
    *,
    recipients: Mapping[str, str | None] | None = None,
    inputs: GateInputs | None = None,
) -> list[ChannelStatus]:
    """For each channel, would a contact with the debtor be allowed at ``now``? Nothing
    is recorded (a dry run of the gate). A caller that has them passes the debtor's
    ``channel_recipients`` and gate inputs (``gating.debtor_gate_inputs``); otherwise
    they are read here."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    customer = session.get(Customer, case.customer_id)
    assert customer is not None
    if recipients is None:
        recipients = channel_recipients(session, customer)
    if inputs is None:
        inputs = debtor_gate_inputs(
            session,
            customer,
            moment,
            recipients=recipients.values(),
            history_days=history_for(pack(pack_name)),
        )
    out = []
    for channel in CHANNELS:
        # a fresh gate per channel: a dry run must not count toward another's caps
        gate = inputs.gate(pack(pack_name), [case.customer_id])
        attempt = Attempt(
            f"dry-{channel}", case.customer_id, case.loan_id, channel, moment,
            customer.time_zone, dialing="manual",
        )  # fmt: skip
        verdict = gate.check(attempt, recipients[channel])
        out.append(ChannelStatus(channel, verdict.allowed, verdict.rules, verdict.reasons))
    return out


HISTORY_LIMIT = 200


def contact_history(
    session: Session, customer_id: str, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """The customer's contacts across channels, newest first: allowed and blocked, by
    strategy, collectors and agencies, with disposition, note and outbox status."""
    return [history_entry(r) for r in contact_rows(session, customer_id, limit)]


def contact_rows(session: Session, customer_id: str, limit: int = HISTORY_LIMIT) -> list[Row[Any]]:
    """The rows ``contact_history`` shows (``history_entry`` makes each one's dict),
    each with its attempt's ``attempt_id`` and ``customer_id`` too: the case page also
    finds the gate's recent allowed contacts among them."""
    # a prebuilt Core statement on the session's connection (every case view reads it)
    return list(
        session.connection().execute(_CONTACT_HISTORY, {"customer_id": customer_id, "limit": limit})
    )


def history_entry(row: Row[Any]) -> dict[str, Any]:
    """One entry of ``contact_history`` from its row of ``contact_rows``."""
    entry = row._asdict()
    del entry["attempt_id"], entry["customer_id"]
    entry["blocked_rules"] = json.loads(entry["blocked_rules"] or "[]")
    entry["note"] = entry["note"] or ""
    return entry


# ``contact_history``'s fields, in the order of its dicts, then what the gate needs more
_CONTACT_HISTORY = (
    select(
        ContactAttempt.id,
        ContactAttempt.at,
        ContactAttempt.channel,
        ContactAttempt.party,
        ContactAttempt.source,
        ContactAttempt.actor,
        ContactAttempt.loan_id,
        ContactAttempt.allowed,
        ContactAttempt.outcome,
        ContactAttempt.blocked_rules,
        ContactAttempt.reason,
        ContactLog.disposition,
        ContactLog.note,
        ContactAttempt.template,
        ContactAttempt.strategy_step,
        OutboxMessage.status.label("outbox_status"),
        ContactLog.callback_at,
        ContactAttempt.attempt_id,
        ContactAttempt.customer_id,
    )
    .outerjoin(ContactLog, ContactLog.contact_attempt_id == ContactAttempt.id)
    .outerjoin(OutboxMessage, and_(OutboxMessage.contact_attempt_id == ContactAttempt.id))
    .where(ContactAttempt.customer_id == bindparam("customer_id"))
    .order_by(ContactAttempt.at.desc(), ContactAttempt.id.desc())
    .limit(bindparam("limit"))
)
