"""Work queues, the "next case" lease, reassignment and bulk transfer.

A queue is the open cases in the actor's scope, in priority order: days past due (most
first), then amount overdue, then case id. Cases with an active agency placement are
the agency's, not the collectors'. ``next_case`` hands a collector one case under a
lease that expires (default 30 minutes); taking the lease is one INSERT … ON CONFLICT
DO UPDATE … WHERE the old lease expired, atomic on PostgreSQL and SQLite, so two
collectors asking at once never get the same case. Every change of assignee is kept in
``case_assignments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import (
    SUPERVISORS,
    Actor,
    case_scope,
    require_role,
    visible_case,
)
from arrears.services.workbench.errors import Forbidden, Invalid, NotFound
from arrears.store.models import CaseRow, Customer
from arrears.store.workbench_models import CaseAssignment, CaseLease, Placement, Team, User

DEFAULT_LEASE = timedelta(minutes=30)
PAGE_MAX = 200


@dataclass(frozen=True)
class QueueItem:
    """One row of a work queue."""

    case_id: int
    loan_id: str
    customer_id: str
    customer_name: str
    dpd: int
    bucket: str
    amount_overdue: Decimal
    assigned_to: str | None
    leased_by: str | None
    lease_expires_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def not_placed() -> ColumnElement[bool]:
    """Cases with no active agency placement."""
    return not_(exists().where(and_(Placement.case_id == CaseRow.id, Placement.status == "active")))


def queue(
    session: Session,
    actor: Actor,
    *,
    assignee: str | None = None,
    bucket: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> list[QueueItem]:
    """The open cases ``actor`` may see, in priority order; ``assignee`` narrows to one
    collector ("" = the unassigned pool), ``bucket`` to one bucket."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid(f"limit: must be between 1 and {PAGE_MAX}")
    if offset < 0:
        raise Invalid("offset: must not be negative")
    moment = now or _now()
    live = and_(CaseLease.case_id == CaseRow.id, CaseLease.expires_at > moment)
    query = (
        select(
            CaseRow.id,
            CaseRow.loan_id,
            CaseRow.customer_id,
            Customer.name,
            CaseRow.dpd,
            CaseRow.bucket,
            CaseRow.amount_overdue,
            CaseRow.assigned_to,
            CaseLease.username,
            CaseLease.expires_at,
        )
        .join(Customer, Customer.customer_id == CaseRow.customer_id)
        .outerjoin(CaseLease, live)
        .where(CaseRow.status == "open", case_scope(session, actor))
    )
    if actor.role != "agency":
        query = query.where(not_placed())
    if assignee is not None:
        query = query.where(
            CaseRow.assigned_to.is_(None) if assignee == "" else CaseRow.assigned_to == assignee
        )
    if bucket is not None:
        query = query.where(CaseRow.bucket == bucket)
    query = (
        query.order_by(CaseRow.dpd.desc(), CaseRow.amount_overdue.desc(), CaseRow.id)
        .limit(limit)
        .offset(offset)
    )
    return [QueueItem(*row) for row in session.execute(query)]


def queue_sizes(session: Session, actor: Actor) -> dict[str, int]:
    """Open, unplaced cases in the actor's scope by assignee ("" = unassigned)."""
    rows = session.execute(
        select(func.coalesce(CaseRow.assigned_to, ""), func.count())
        .where(CaseRow.status == "open", case_scope(session, actor), not_placed())
        .group_by(CaseRow.assigned_to)
    )
    return {name: count for name, count in rows}


def _insert(session: Session):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(CaseLease)


def take_lease(
    session: Session, case_id: int, username: str, now: datetime, lease: timedelta
) -> bool:
    """Lease ``case_id`` to ``username`` until ``now + lease`` unless someone else holds
    a live lease on it; True when the lease is now theirs. One atomic statement."""
    statement = _insert(session).values(case_id=case_id, username=username, expires_at=now + lease)
    statement = statement.on_conflict_do_update(
        index_elements=[CaseLease.case_id],
        set_={"username": username, "expires_at": now + lease},
        where=or_(CaseLease.expires_at <= now, CaseLease.username == username),
    ).returning(CaseLease.case_id)
    # RETURNING, not rowcount: the driver reports -1 rows for an upsert on PostgreSQL
    return session.execute(statement).first() is not None


def release_leases(session: Session, username: str) -> int:
    """Drop every lease ``username`` holds; returns how many."""
    return session.execute(delete(CaseLease).where(CaseLease.username == username)).rowcount


def record_assignment(
    session: Session,
    case: CaseRow,
    to_user: str | None,
    by: str,
    reason: str,
    at: datetime | None = None,
) -> None:
    """Give ``case`` to ``to_user`` (None: the pool) and keep the move in its assignment
    history, dated ``at`` (default: now). The caller writes the audit entry."""
    moved = CaseAssignment(
        case_id=case.id, from_user=case.assigned_to, to_user=to_user, reason=reason, by_user=by
    )
    if at is not None:
        moved.at = at
    session.add(moved)
    case.assigned_to = to_user


def _assign(session: Session, case: CaseRow, to_user: str | None, by: str, reason: str) -> None:
    if case.assigned_to == to_user:
        return
    audit.append(
        session,
        by,
        "case.assign",
        "case",
        case.id,
        {"from": case.assigned_to, "to": to_user, "reason": reason},
    )
    record_assignment(session, case, to_user, by, reason)


def next_case(
    session: Session,
    actor: Actor,
    *,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
    candidates: int = 20,
) -> CaseRow | None:
    """The highest-priority case for ``actor`` to work now, leased to them: their own
    open cases first, then the unassigned pool (a pool case becomes theirs). Their
    earlier leases are released. None when nothing is free."""
    require_role(actor, {"collector", "team_lead", "manager", "admin"}, "take cases")
    audit.begin_write(session)
    moment = now or _now()
    release_leases(session, actor.username)
    free = not_(
        exists().where(
            and_(
                CaseLease.case_id == CaseRow.id,
                CaseLease.expires_at > moment,
                CaseLease.username != actor.username,
            )
        )
    )
    base = (
        select(CaseRow.id)
        .where(CaseRow.status == "open", not_placed(), free)
        .order_by(CaseRow.dpd.desc(), CaseRow.amount_overdue.desc(), CaseRow.id)
        .limit(candidates)
    )
    # the unassigned pool is open to every collector (assignment is the team lead's tool)
    for pool in (
        CaseRow.assigned_to == actor.username,
        CaseRow.assigned_to.is_(None),
    ):
        for case_id in session.scalars(base.where(pool)).all():
            if take_lease(session, case_id, actor.username, moment, lease):
                case = session.get(CaseRow, case_id)
                assert case is not None
                session.refresh(case)
                if case.status != "open":
                    continue
                if case.assigned_to is None:
                    _assign(session, case, actor.username, actor.username, "next case")
                elif case.assigned_to != actor.username:
                    continue
                audit.append(
                    session,
                    actor.username,
                    "case.lease",
                    "case",
                    case.id,
                    {"until": moment + lease},
                )
                return case
    return None


def release_case(session: Session, actor: Actor, case_id: int) -> bool:
    """Give back the actor's lease on ``case_id``; True when there was one."""
    audit.begin_write(session)
    visible_case(session, actor, case_id)
    gone = session.execute(
        delete(CaseLease).where(CaseLease.case_id == case_id, CaseLease.username == actor.username)
    ).rowcount
    if gone:
        audit.append(session, actor.username, "case.release", "case", case_id, {})
    return bool(gone)


def _collector(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or user.role != "collector":
        raise Invalid(f"to_user: {username!r} is not an active collector")
    return user


def _may_manage(session: Session, actor: Actor, username: str | None) -> None:
    """Team leads move cases only between members of their own team (a lead of no
    team has no members: two users without a team are not a team)."""
    if actor.role != "team_lead" or username is None:
        return
    user = session.scalar(select(User).where(User.username == username))
    if user is None or actor.team_id is None or user.team_id != actor.team_id:
        raise NotFound(f"no collector {username!r} in your team")


def _may_move_to_team(session: Session, actor: Actor, team_id: int) -> None:
    """Team leads keep a collector in their own team; managers and admins move anyone
    to any team that exists."""
    if actor.role == "team_lead" and team_id != actor.team_id:
        raise Forbidden("new_team_id: a team lead may not move a collector to another team")
    if session.get(Team, team_id) is None:
        raise Invalid(f"new_team_id: no team {team_id}")


def reassign(
    session: Session, actor: Actor, case_id: int, to_user: str | None, reason: str = ""
) -> CaseRow:
    """Give case ``case_id`` to collector ``to_user`` (None: back to the pool); team
    leads within their team, managers and admins anywhere. Any lease is dropped."""
    require_role(actor, SUPERVISORS, "reassign cases")
    audit.begin_write(session)
    case = visible_case(session, actor, case_id)
    if to_user is not None:
        _collector(session, to_user)
    _may_manage(session, actor, to_user)
    session.execute(delete(CaseLease).where(CaseLease.case_id == case_id))
    _assign(session, case, to_user, actor.username, reason or "reassigned")
    session.flush()
    return case


def bulk_transfer(
    session: Session,
    actor: Actor,
    from_user: str,
    to_users: list[str],
    reason: str,
    *,
    new_team_id: int | None = None,
    deactivate: bool = False,
) -> dict[str, int]:
    """Move every open case of ``from_user`` (a collector who leaves or changes team)
    to ``to_users`` round-robin (empty: to the pool), keeping the history; optionally
    move the collector to ``new_team_id`` or deactivate them. Returns cases moved per
    receiver. Team leads move cases and the collector only within their own team (or
    to the pool); managers and admins anywhere."""
    require_role(actor, SUPERVISORS, "transfer cases")
    if not reason.strip():
        raise Invalid("reason: say why the cases move (leaver, team change …)")
    audit.begin_write(session)
    leaver = session.scalar(select(User).where(User.username == from_user))
    if leaver is None:
        raise Invalid(f"from_user: no user {from_user!r}")
    _may_manage(session, actor, from_user)
    for name in to_users:
        _collector(session, name)
        _may_manage(session, actor, name)
    if from_user in to_users:
        raise Invalid("to_users: must not include from_user")
    if new_team_id is not None:
        _may_move_to_team(session, actor, new_team_id)
    cases = list(
        session.scalars(
            select(CaseRow)
            .where(CaseRow.assigned_to == from_user, CaseRow.status == "open")
            .order_by(CaseRow.dpd.desc(), CaseRow.id)
        )
    )
    moved: dict[str, int] = {}
    session.execute(delete(CaseLease).where(CaseLease.username == from_user))
    for i, case in enumerate(cases):
        target = to_users[i % len(to_users)] if to_users else None
        _assign(session, case, target, actor.username, f"transfer: {reason}")
        moved[target or ""] = moved.get(target or "", 0) + 1
    if new_team_id is not None:
        leaver.team_id = new_team_id
    if deactivate:
        leaver.active = False
    audit.append(
        session,
        actor.username,
        "case.bulk_transfer",
        "user",
        leaver.id,
        {
            "from": from_user,
            "to": to_users,
            "moved": len(cases),
            "new_team_id": new_team_id,
            "deactivated": deactivate,
            "reason": reason,
        },
    )
    session.flush()
    return moved


def assignment_history(session: Session, actor: Actor, case_id: int) -> list[CaseAssignment]:
    """Every change of the case's assignee, oldest first."""
    visible_case(session, actor, case_id)
    return list(
        session.scalars(
            select(CaseAssignment)
            .where(CaseAssignment.case_id == case_id)
            .order_by(CaseAssignment.at, CaseAssignment.id)
        )
    )
