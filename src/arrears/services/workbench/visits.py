"""Field visits (外访): a task to visit the customer, and what came of it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import (
    SUPERVISORS,
    WORKERS,
    Actor,
    belongs,
    case_of_object,
    case_scope,
    require_role,
    visible_case,
    workable_case,
)
from arrears.services.workbench.errors import Conflict, Forbidden, Invalid, NotFound
from arrears.store.models import CaseRow
from arrears.store.workbench_models import FieldVisit, User

VISIT_OUTCOMES = (
    "met_debtor",
    "promise",
    "paid",
    "not_home",
    "moved",
    "address_wrong",
    "refused",
    "third_party",
)


def order_visit(
    session: Session,
    actor: Actor,
    case_id: int,
    scheduled_on: date,
    *,
    assigned_to: str | None = None,
    notes: str = "",
    on: date,
) -> FieldVisit:
    """Create a visit task for ``scheduled_on`` (not in the past), for ``assigned_to``
    (default the actor), an active user who may see and work the case: Invalid naming
    the visitor otherwise (the actor sees the case, so naming it reveals nothing)."""
    audit.begin_write(session)
    workable_case(session, actor, case_id)
    if scheduled_on < on:
        raise Invalid(
            f"scheduled_on: {scheduled_on} is in the past",
            "date_past",
            field="scheduled_on",
            date=scheduled_on,
        )
    visitor = assigned_to or actor.username
    user = session.scalar(select(User).where(User.username == visitor))
    if user is None or not user.active:
        raise Invalid(f"assigned_to: no active user {visitor!r}", "no_user", name=visitor)
    if visitor != actor.username and not _may_work(session, Actor.of(user), case_id):
        raise Invalid(
            f"assigned_to: visitor {visitor!r} may not work case {case_id}",
            "visitor_not_allowed",
            name=visitor,
        )
    visit = FieldVisit(
        case_id=case_id,
        assigned_to=visitor,
        scheduled_on=scheduled_on,
        status="open",
        notes=notes,
        created_by=actor.username,
    )
    session.add(visit)
    session.flush()
    audit.append(
        session,
        actor.username,
        "visit.order",
        "visit",
        visit.id,
        {"case_id": case_id, "scheduled_on": scheduled_on, "assigned_to": visitor},
    )
    return visit


def _may_work(session: Session, visitor: Actor, case_id: int) -> bool:
    """True when ``visitor`` may see case ``case_id`` and change it: only such a
    visitor can open the case and record what came of the visit."""
    if visitor.role not in WORKERS:
        return False
    try:
        visible_case(session, visitor, case_id)
    except NotFound:
        return False
    return True


def record_visit(
    session: Session,
    actor: Actor,
    visit_id: int,
    outcome: str,
    *,
    visited_on: date,
    notes: str = "",
    case_id: int | None = None,
) -> FieldVisit:
    """Record the outcome of an open visit (by its visitor or a supervisor) on a case
    the actor may see; ``case_id`` (the case page the form was on) must be the visit's
    case. Otherwise NotFound, as for a visit that does not exist."""
    audit.begin_write(session)
    visit = session.get(FieldVisit, visit_id)
    if visit is None:
        raise NotFound(f"no visit {visit_id}", "not_found")
    belongs(visit.case_id, case_id, f"visit {visit_id}")
    case_of_object(session, actor, visit.case_id, f"visit {visit_id}")
    if visit.assigned_to != actor.username and actor.role not in SUPERVISORS:
        raise Forbidden("only the visitor or a supervisor may record the visit", "visit_not_yours")
    if visit.status != "open":
        raise Conflict(f"visit {visit_id} is {visit.status}", "visit_state", status=visit.status)
    if outcome not in VISIT_OUTCOMES:
        raise Invalid(
            f"outcome: must be one of {', '.join(VISIT_OUTCOMES)}", "one_of", field="visit_outcome"
        )
    visit.status, visit.outcome, visit.visited_on = "done", outcome, visited_on
    if notes:
        visit.notes = (visit.notes + "\n" + notes).strip()
    audit.append(session, actor.username, "visit.record", "visit", visit.id, {"outcome": outcome})
    return visit


def cancel_visit(session: Session, actor: Actor, visit_id: int) -> FieldVisit:
    """Cancel an open visit (supervisors, or whoever ordered it)."""
    audit.begin_write(session)
    visit = session.get(FieldVisit, visit_id)
    if visit is None:
        raise NotFound(f"no visit {visit_id}", "not_found")
    case_of_object(session, actor, visit.case_id, f"visit {visit_id}")
    if visit.created_by != actor.username:
        require_role(actor, SUPERVISORS, "cancel others' visits")
    if visit.status != "open":
        raise Conflict(f"visit {visit_id} is {visit.status}", "visit_state", status=visit.status)
    visit.status = "cancelled"
    audit.append(session, actor.username, "visit.cancel", "visit", visit.id, {})
    return visit


def visits(
    session: Session, actor: Actor, *, case_id: int | None = None, open_only: bool = False
) -> list[FieldVisit]:
    """Visits of one case, or every visit in the actor's scope, by date."""
    query = select(FieldVisit).join(CaseRow, CaseRow.id == FieldVisit.case_id)
    if case_id is not None:
        visible_case(session, actor, case_id)
        query = query.where(FieldVisit.case_id == case_id)
    else:
        query = query.where(case_scope(session, actor))
    if open_only:
        query = query.where(FieldVisit.status == "open")
    return list(session.scalars(query.order_by(FieldVisit.scheduled_on, FieldVisit.id)))


VISITORS_LINE = "外访人员 / visitors: "


def plan_visit(
    session: Session,
    actor: Actor,
    case_id: int,
    scheduled_on: date,
    visitors: list[str],
    *,
    on: date,
    notes: str = "",
) -> FieldVisit:
    """A field visit for at least two collectors (the rule of cn-2026 and good
    practice): the task is the first visitor's (who may work the case and records the
    outcome); the others go with them and are named on the task's visitors line
    (``visitors_of``) and in the audit entry ``visit.plan``."""
    if len(set(visitors)) < 2:
        raise Invalid("visitors: a field visit needs at least two collectors", "visit_two_agents")
    for name in visitors[1:]:
        user = session.scalar(select(User).where(User.username == name))
        if user is None or not user.active:
            raise Invalid(f"visitors: no active user {name!r}", "no_user", name=name)
    line = VISITORS_LINE + ", ".join(visitors)
    visit = order_visit(
        session,
        actor,
        case_id,
        scheduled_on,
        assigned_to=visitors[0],
        notes=f"{notes}\n{line}".strip(),
        on=on,
    )
    audit.append(
        session,
        actor.username,
        "visit.plan",
        "visit",
        visit.id,
        {"case_id": case_id, "visitors": visitors, "scheduled_on": scheduled_on},
    )
    return visit


def visitors_of(visit: FieldVisit) -> list[str]:
    """Everyone planned on the visit: its visitors line, else its one visitor."""
    for line in visit.notes.splitlines():
        if line.startswith(VISITORS_LINE):
            return [n.strip() for n in line[len(VISITORS_LINE) :].split(",") if n.strip()]
    return [visit.assigned_to] if visit.assigned_to else []
