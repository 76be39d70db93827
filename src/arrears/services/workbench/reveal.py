"""Revealing a masked value (phone, 身份证 number, address, email) in full: only for
roles that need it, only on a case the actor may see, only with a reason (a code from
``REVEAL_REASONS``, plus words, which ``other`` requires), at most
``RevealLimits`` times per user, and always written to the audit chain (who saw which
field of which customer, when, and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import REVEALERS, Actor, require_role, visible_case
from arrears.services.workbench.errors import Invalid, NotFound, TooMany
from arrears.services.workbench.masking import FIELDS
from arrears.store.models import ContactPoint, Customer
from arrears.store.workbench_models import AuditEvent, User

# why a person looks at a customer's full data; the API and the case page offer these
REVEAL_REASONS = (
    "inbound_call",
    "verify_identity",
    "outbound_call",
    "dispute_handling",
    "legal",
    "other",
)
# reads the app makes on the user's behalf without showing the value (blacklisting)
INTERNAL_REASONS = ("blacklist",)
NEEDS_TEXT = frozenset({"other"})
MAX_REASON_TEXT = 500
REVEAL_ACTION = "pii.reveal"


@dataclass(frozen=True)
class RevealReason:
    """Why a value is revealed: ``code`` one of ``REVEAL_REASONS`` (or, for the app's own
    reads, ``INTERNAL_REASONS``), ``text`` the user's words (required for ``other``)."""

    code: str
    text: str = ""


@dataclass(frozen=True)
class RevealLimits:
    """At most ``per_window`` reveals by one user within ``window``, and ``per_day``
    within a day (rolling), counted from the audit chain, so every worker process
    sees the same count."""

    per_window: int = 20
    window: timedelta = timedelta(minutes=10)
    per_day: int = 100


def checked_reason(reason: RevealReason) -> RevealReason:
    """``reason`` with its text trimmed, or ``Invalid`` naming what is wrong."""
    if reason.code not in REVEAL_REASONS + INTERNAL_REASONS:
        raise Invalid(
            f"reason_code: must be one of {', '.join(REVEAL_REASONS)}",
            "one_of",
            field="reason_code",
        )
    text = reason.text.strip()
    if reason.code in NEEDS_TEXT and not text:
        raise Invalid(
            f"reason_text: say why, when the reason is {reason.code!r}", "reveal_text_required"
        )
    if len(text) > MAX_REASON_TEXT:
        raise Invalid(
            f"reason_text: at most {MAX_REASON_TEXT} characters",
            "too_long",
            field="reason_text",
            high=MAX_REASON_TEXT,
        )
    return RevealReason(reason.code, text)


def _reveals_since(session: Session, username: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.actor == username,
                AuditEvent.action == REVEAL_ACTION,
                AuditEvent.at > since,
            )
        )
        or 0
    )


def check_allowance(session: Session, actor: Actor, limits: RevealLimits, now: datetime) -> None:
    """``TooMany`` (429) when ``actor`` has made ``limits`` reveals already."""
    for count_limit, span, label in (
        (limits.per_window, limits.window, f"{int(limits.window.total_seconds() // 60)} minutes"),
        (limits.per_day, timedelta(days=1), "day"),
    ):
        if _reveals_since(session, actor.username, now - span) >= count_limit:
            raise TooMany(
                f"too many reveals: at most {count_limit} per {label}; a supervisor can "
                "see the audit of those made",
                retry_after=int(span.total_seconds()),
            )


def reveal(
    session: Session,
    actor: Actor,
    case_id: int,
    field: str,
    *,
    reason: RevealReason,
    contact_point_id: int | None = None,
    limits: RevealLimits = RevealLimits(),
    now: datetime | None = None,
) -> str:
    """The full value of ``field`` of the case's customer (or of one of their contact
    points), logged with its reason in the audit chain in this transaction (the
    caller commits). Refused (422) without a valid reason, (429) past ``limits``."""
    require_role(actor, REVEALERS, "see full personal data")
    why = checked_reason(reason)
    moment = now or datetime.now(UTC)
    audit.begin_write(session)
    case = visible_case(session, actor, case_id)
    # one user's reveals queue here (PostgreSQL), so a burst cannot all pass the count
    session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    check_allowance(session, actor, limits, moment)
    if contact_point_id is not None:
        point = session.get(ContactPoint, contact_point_id)
        if point is None or point.customer_id != case.customer_id:
            raise NotFound(f"no contact point {contact_point_id} on this case", "not_found")
        value, what = point.value, f"contact_point:{point.id}"
    else:
        if field not in FIELDS:
            raise Invalid(f"field: must be one of {', '.join(FIELDS)}", "one_of", field="field")
        customer = session.get(Customer, case.customer_id)
        assert customer is not None
        value, what = getattr(customer, field), field
        if value is None:
            raise NotFound(f"the customer has no {field}", "not_found")
    audit.append(
        session,
        actor.username,
        REVEAL_ACTION,
        "customer",
        case.customer_id,
        {"case_id": case_id, "field": what, "reason": why.code, "reason_text": why.text},
        at=moment,
    )
    return value
