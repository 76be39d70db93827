"""Disputes, hardship and other holds (table ``holds``), and the blacklist of contact
values. The compliance gate reads both, so a hold placed here stops the next call."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.compliance.gate import normalize_contact
from arrears.services import audit
from arrears.services.workbench.access import (
    Actor,
    require_role,
    visible_case,
    visible_case_of_loan,
)
from arrears.services.workbench.errors import Conflict, Invalid, NotFound
from arrears.store.contact_models import CHANNELS, HOLD_KINDS, BlacklistEntry, Hold

HOLD_ROLES = frozenset({"collector", "team_lead", "manager", "compliance", "admin"})
# lifting a hold (the debtor may be contacted again) is a supervisor's or compliance's call
RELEASE_ROLES = frozenset({"team_lead", "manager", "compliance", "admin"})
BLACKLIST_ROLES = frozenset({"team_lead", "manager", "compliance", "admin"})
BLACKLIST_KINDS = ("phone", "email", "address", "other")


def place_hold(
    session: Session,
    actor: Actor,
    case_id: int,
    kind: str,
    reason: str,
    *,
    on: date,
    channel: str | None = None,
    whole_customer: bool = False,
) -> Hold:
    """Place a hold (dispute, hardship …) on the case's loan, or on the whole customer,
    from ``on``; ``channel`` None stops every channel."""
    require_role(actor, HOLD_ROLES, "place holds")
    audit.begin_write(session)
    case = visible_case(session, actor, case_id)
    if kind not in HOLD_KINDS:
        raise Invalid(f"kind: must be one of {', '.join(HOLD_KINDS)}", "one_of", field="hold_kind")
    if channel is not None and channel not in CHANNELS:
        raise Invalid(f"channel: must be one of {', '.join(CHANNELS)}", "one_of", field="channel")
    if not reason.strip():
        raise Invalid(
            "reason: say why (it is shown to everyone who would contact them)",
            "required",
            field="reason",
        )
    hold = Hold(
        customer_id=case.customer_id,
        loan_id=None if whole_customer else case.loan_id,
        kind=kind,
        channel=channel,
        reason=reason.strip(),
        placed_on=on,
        placed_by=actor.username,
    )
    session.add(hold)
    session.flush()
    audit.append(
        session,
        actor.username,
        "hold.place",
        "hold",
        hold.id,
        {"case_id": case_id, "kind": kind, "channel": channel, "loan_id": hold.loan_id},
    )
    return hold


def release_hold(
    session: Session, actor: Actor, hold_id: int, *, on: date, case_id: int | None = None
) -> Hold:
    """End a hold from ``on`` (the customer may be contacted again). The actor must see
    a case the hold covers (of its loan, or of its customer for a whole-customer hold);
    ``case_id`` (the case page the form was on) must be a case of the hold's customer.
    Otherwise NotFound, as for a hold that does not exist."""
    require_role(actor, RELEASE_ROLES, "release holds")
    audit.begin_write(session)
    hold = session.get(Hold, hold_id)
    if hold is None or not _covers_a_visible_case(session, actor, hold, case_id):
        raise NotFound(f"no hold {hold_id}", "not_found")
    if hold.released_on is not None:
        raise Conflict(
            f"hold {hold_id} was released on {hold.released_on}",
            "hold_released",
            date=hold.released_on,
        )
    hold.released_on = max(on, hold.placed_on)
    audit.append(session, actor.username, "hold.release", "hold", hold.id, {"on": on})
    return hold


def _covers_a_visible_case(session: Session, actor: Actor, hold: Hold, case_id: int | None) -> bool:
    """True when ``hold`` covers a case ``actor`` may see and, given ``case_id``, is a
    hold of that case's customer (the case page lists every hold of its customer)."""
    if visible_case_of_loan(session, actor, hold.customer_id, hold.loan_id) is None:
        return False
    return case_id is None or visible_case(session, actor, case_id).customer_id == hold.customer_id


def releasable_holds(session: Session, actor: Actor, case_id: int, rows: list[Hold]) -> set[int]:
    """The ids of ``rows`` (holds of case ``case_id``'s customer, as ``holds_of`` gives
    them) that ``actor`` may release from that case's page: what ``release_hold``
    accepts, so the page offers no button that would answer 404."""
    if actor.role not in RELEASE_ROLES:
        return set()
    return {
        hold.id
        for hold in rows
        if hold.released_on is None and _covers_a_visible_case(session, actor, hold, case_id)
    }


def holds_of(session: Session, actor: Actor, case_id: int) -> list[Hold]:
    """Every hold on the case's customer, newest first."""
    case = visible_case(session, actor, case_id)
    return list(
        session.scalars(
            select(Hold)
            .where(Hold.customer_id == case.customer_id)
            .order_by(Hold.placed_on.desc(), Hold.id.desc())
        )
    )


def add_to_blacklist(
    session: Session, actor: Actor, kind: str, value: str, reason: str
) -> BlacklistEntry:
    """Never use this phone number, email or address again."""
    require_role(actor, BLACKLIST_ROLES, "edit the blacklist")
    if kind not in BLACKLIST_KINDS:
        raise Invalid(f"kind: must be one of {', '.join(BLACKLIST_KINDS)}", "one_of", field="kind")
    clean = normalize_contact(value)
    if not clean:
        raise Invalid("value: must not be empty", "required", field="value")
    audit.begin_write(session)
    if session.scalar(
        select(BlacklistEntry).where(BlacklistEntry.kind == kind, BlacklistEntry.value == clean)
    ):
        raise Conflict(
            f"{kind} {clean} is on the blacklist already", "blacklisted_already", value=clean
        )
    entry = BlacklistEntry(kind=kind, value=clean, reason=reason, added_by=actor.username)
    session.add(entry)
    session.flush()
    audit.append(session, actor.username, "blacklist.add", "blacklist", entry.id, {"kind": kind})
    return entry


def remove_from_blacklist(session: Session, actor: Actor, entry_id: int) -> None:
    """Take an entry off the blacklist."""
    require_role(actor, BLACKLIST_ROLES, "edit the blacklist")
    audit.begin_write(session)
    entry = session.get(BlacklistEntry, entry_id)
    if entry is None:
        raise NotFound(f"no blacklist entry {entry_id}", "not_found")
    session.delete(entry)
    audit.append(session, actor.username, "blacklist.remove", "blacklist", entry_id, {})


def blacklist(session: Session, actor: Actor) -> list[BlacklistEntry]:
    """The blacklist, newest first (compliance and supervisors)."""
    require_role(actor, BLACKLIST_ROLES, "read the blacklist")
    return list(session.scalars(select(BlacklistEntry).order_by(BlacklistEntry.id.desc())))
