"""The consent and opt-out ledger: each consent or opt-out per debtor, channel and
recipient, with its time, source and the text shown, and the hold an opt-out places.

An opt-out is enforced the way every other reason not to contact is: it places a
``consent_withdrawn`` hold on the channel (and the number or address it came from), so
the compliance gate blocks the next contact and names the rule
(``hold.consent_withdrawn.<channel>``). The FCC's 2024 order (FCC 24-24, 47 CFR
64.1200(a)(10)) lets a debtor revoke consent to autodialled or AI-voice calls and texts
by any reasonable means and gives the caller at most 10 business days to honour it;
arrears honours it at once (the hold is in force from the day it was recorded). A later
consent for the same channel and recipient releases the opt-out's hold.

This module reads and writes the store (it takes a SQLAlchemy session); the rest of
``arrears.compliance`` stays free of the store (see tests/compliance/
test_package_boundary.py, which names this module as the one exception).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.compliance.model import ComplianceError, Consent, normalize_contact
from arrears.domain.contact import CHANNELS
from arrears.services import audit
from arrears.store.consent_models import CONSENT_SOURCES, ConsentEntry
from arrears.store.contact_models import Hold
from arrears.store.models import Customer

# What a debtor may text back to stop texts (CTIA/TCPA keywords, and 退订 / TD as
# Chinese operators use them); a reply is compared after trimming and case-folding.
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
     "opt out", "退订", "td", "t", "取消", "停止"}
)  # fmt: skip
# FCC 24-24: a revocation must be honoured within 10 business days.
HONOUR_BUSINESS_DAYS = 10


@dataclass(frozen=True)
class Preference:
    """The debtor's latest word on one channel and recipient (None: all of them):
    ``state`` is ``consented`` or ``opted_out``."""

    channel: str | None
    recipient: str | None
    state: str
    at: datetime
    source: str
    text: str


def is_stop_reply(body: str) -> bool:
    """True when an inbound text is a request to stop (``STOP``, ``退订`` …)."""
    return body.strip().strip(".!。！").casefold() in STOP_WORDS


def honour_by(at: datetime) -> date:
    """The last day a revocation made at ``at`` may take effect: 10 business days
    (Monday to Friday) after the day it was received (FCC 24-24)."""
    day, left = at.date(), HONOUR_BUSINESS_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def _check(
    session: Session, customer_id: str, channel: str | None, source: str, at: datetime
) -> None:
    if session.get(Customer, customer_id) is None:
        raise ComplianceError(f"customer_id {customer_id!r}: no such customer")
    if channel is not None and channel not in CHANNELS:
        raise ComplianceError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    if source not in CONSENT_SOURCES:
        raise ComplianceError(f"source {source!r} is not one of {', '.join(CONSENT_SOURCES)}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ComplianceError(f"at {at.isoformat()} has no time zone")


def _entry(
    session: Session,
    kind: str,
    *,
    customer_id: str,
    channel: str | None,
    recipient: str | None,
    source: str,
    text: str,
    at: datetime,
    actor: str | None,
) -> ConsentEntry:
    _check(session, customer_id, channel, source, at)
    audit.begin_write(session)
    entry = ConsentEntry(
        customer_id=customer_id,
        kind=kind,
        channel=channel,
        recipient=normalize_contact(recipient) if recipient else None,
        source=source,
        text=text,
        at=at.astimezone(UTC),
        actor=actor,
    )
    session.add(entry)
    return entry


def record_opt_out(
    session: Session,
    *,
    customer_id: str,
    channel: str | None,
    recipient: str | None,
    source: str,
    text: str,
    at: datetime,
    actor: str | None = None,
) -> ConsentEntry:
    """Record that the debtor withdrew consent to ``channel`` (None: every channel) at
    ``recipient`` (None: every number or address), and place the hold the gate
    enforces from ``at``'s day. Audited as ``consent.opt_out``. The caller commits."""
    entry = _entry(
        session, "opt_out", customer_id=customer_id, channel=channel, recipient=recipient,
        source=source, text=text, at=at, actor=actor,
    )  # fmt: skip
    where = f" at {entry.recipient}" if entry.recipient else ""
    hold = Hold(
        customer_id=customer_id,
        loan_id=None,
        kind="consent_withdrawn",
        channel=channel,
        recipient=entry.recipient,
        reason=f"opt-out ({source}){where} {entry.at:%Y-%m-%d %H:%M} UTC: {text}"[:500],
        placed_on=entry.at.date(),
        placed_by=actor or f"consent:{source}",
    )
    session.add(hold)
    session.flush()
    entry.hold_id = hold.id
    session.flush()
    audit.append(
        session, actor or "debtor", "consent.opt_out", "consent_entry", entry.id,
        {"customer_id": customer_id, "channel": channel, "recipient": entry.recipient,
         "source": source, "text": text, "hold_id": hold.id,
         "honour_by": honour_by(entry.at)},
        at=entry.at,
    )  # fmt: skip
    return entry


def record_consent(
    session: Session,
    *,
    customer_id: str,
    channel: str | None,
    recipient: str | None,
    source: str,
    text: str,
    at: datetime,
    actor: str | None = None,
) -> ConsentEntry:
    """Record that the debtor consented to ``channel`` at ``recipient`` (the text they
    were shown). Releases, from ``at``'s day, the opt-out holds on exactly that channel
    and recipient (a consent for one number does not lift an opt-out of every number).
    Audited as ``consent.given``. The caller commits."""
    entry = _entry(
        session, "consent", customer_id=customer_id, channel=channel, recipient=recipient,
        source=source, text=text, at=at, actor=actor,
    )  # fmt: skip
    released = []
    on = entry.at.date()
    for hold in session.scalars(
        select(Hold).where(
            Hold.customer_id == customer_id,
            Hold.kind == "consent_withdrawn",
            Hold.released_on.is_(None),
            Hold.channel.is_(None) if channel is None else Hold.channel == channel,
            Hold.recipient.is_(None)
            if entry.recipient is None
            else Hold.recipient == entry.recipient,
        )
    ):
        hold.released_on = max(on, hold.placed_on)
        released.append(hold.id)
    session.flush()
    audit.append(
        session, actor or "debtor", "consent.given", "consent_entry", entry.id,
        {"customer_id": customer_id, "channel": channel, "recipient": entry.recipient,
         "source": source, "text": text, "released_holds": released},
        at=entry.at,
    )  # fmt: skip
    return entry


def record_origination_consents(session: Session, text: str, actor: str) -> int:
    """Record, for every customer with a mobile and no ledger entry yet, the consent to
    calls and texts at that number they gave in the loan agreement (source
    ``origination``, dated the day their first loan was disbursed, ``text`` the
    agreement's clause). For a book whose loan agreements carry that clause (the demo's
    do); one audit entry (``consent.origination``) counts them. The caller commits."""
    from sqlalchemy import func

    from arrears.store.models import Loan

    audit.begin_write(session)
    first = (
        select(Loan.customer_id, func.min(Loan.disbursed_on).label("on"))
        .group_by(Loan.customer_id)
        .subquery()
    )
    known = select(ConsentEntry.customer_id).distinct()
    rows = session.execute(
        select(Customer.customer_id, Customer.mobile, first.c.on)
        .join(first, first.c.customer_id == Customer.customer_id)
        .where(Customer.mobile.is_not(None), Customer.mobile != "")
        .where(Customer.customer_id.not_in(known))
    ).all()
    session.add_all(
        ConsentEntry(
            customer_id=customer_id,
            kind="consent",
            channel=None,
            recipient=normalize_contact(mobile),
            source="origination",
            text=text,
            at=datetime.combine(on, datetime.min.time(), UTC),
            actor=actor,
        )
        for customer_id, mobile, on in rows
    )
    session.flush()
    audit.append(
        session, actor, "consent.origination", "consent_entry", "*",
        {"customers": len(rows), "text": text},
    )  # fmt: skip
    return len(rows)


def entries(session: Session, customer_id: str) -> list[ConsentEntry]:
    """The debtor's ledger, oldest first."""
    return list(
        session.scalars(
            select(ConsentEntry)
            .where(ConsentEntry.customer_id == customer_id)
            .order_by(ConsentEntry.at, ConsentEntry.id)
        )
    )


def preferences(session: Session, customer_id: str) -> list[Preference]:
    """The debtor's latest word per channel and recipient (the ledger folded: a later
    entry replaces an earlier one for the same channel and recipient), ordered by
    channel then recipient (None first)."""
    latest: dict[tuple[str | None, str | None], ConsentEntry] = {}
    for entry in entries(session, customer_id):
        latest[(entry.channel, entry.recipient)] = entry
    state = {"consent": "consented", "opt_out": "opted_out"}
    return [
        Preference(e.channel, e.recipient, state[e.kind], _aware(e.at), e.source, e.text)
        for (_, _), e in sorted(latest.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    ]


def consents_on_record(
    session: Session, customer_ids: Sequence[str], at: datetime
) -> dict[str, list[Consent]]:
    """The prior consents of ``customer_ids`` in force at ``at``, as the gate reads
    them (TCPA's rule for autodialled calls and texts): each consent recorded by then,
    unless a later opt-out covers it (an opt-out of every channel or every number
    withdraws the consents under it; an opt-out of texts leaves a consent to every
    channel standing for the others). An opt-out of one number under a consent to every
    number leaves the consent: the opt-out's hold stops contact with that number."""
    held: dict[str, dict[tuple[str | None, str | None], None]] = {}
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        for e in session.scalars(
            select(ConsentEntry)
            .where(
                ConsentEntry.customer_id.in_(ids[start : start + 500]),
                ConsentEntry.at <= at.astimezone(UTC),
            )
            .order_by(ConsentEntry.customer_id, ConsentEntry.at, ConsentEntry.id)
        ):
            mine = held.setdefault(e.customer_id, {})
            if e.kind == "consent":
                mine[(e.channel, e.recipient)] = None
                continue
            for channel, recipient in list(mine):
                if e.recipient not in (None, recipient) or e.channel not in (None, channel):
                    if channel is not None or e.recipient not in (None, recipient):
                        continue
                    # an opt-out of one channel narrows a consent to every channel
                    mine.update({(c, recipient): None for c in CHANNELS if c != e.channel})
                del mine[(channel, recipient)]
    return {c: [Consent(r, ch) for ch, r in keys] for c, keys in held.items() if keys}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
