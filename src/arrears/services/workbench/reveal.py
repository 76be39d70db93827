"""Revealing a masked value (phone, 身份证 number, address, email) in full: only for
roles that need it, only on a case the actor may see, and always written to the audit
chain (who saw which field of which customer, when, and why)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import REVEALERS, Actor, require_role, visible_case
from arrears.services.workbench.errors import Invalid, NotFound
from arrears.services.workbench.masking import FIELDS
from arrears.store.models import ContactPoint, Customer


def reveal(
    session: Session,
    actor: Actor,
    case_id: int,
    field: str,
    *,
    contact_point_id: int | None = None,
    reason: str = "",
) -> str:
    """The full value of ``field`` of the case's customer (or of one of their contact
    points), logged in the audit chain in this transaction (the caller commits)."""
    require_role(actor, REVEALERS, "see full personal data")
    audit.begin_write(session)
    case = visible_case(session, actor, case_id)
    if contact_point_id is not None:
        point = session.get(ContactPoint, contact_point_id)
        if point is None or point.customer_id != case.customer_id:
            raise NotFound(f"no contact point {contact_point_id} on this case")
        value, what = point.value, f"contact_point:{point.id}"
    else:
        if field not in FIELDS:
            raise Invalid(f"field: must be one of {', '.join(FIELDS)}")
        customer = session.get(Customer, case.customer_id)
        assert customer is not None
        value, what = getattr(customer, field), field
        if value is None:
            raise NotFound(f"the customer has no {field}")
    audit.append(
        session,
        actor.username,
        "pii.reveal",
        "customer",
        case.customer_id,
        {"case_id": case_id, "field": what, "reason": reason},
    )
    return value
