"""Who may see and do what: the actor of a request and the case scope of each role.

Roles: ``collector`` works the cases assigned to them; ``team_lead`` sees their team's
cases and the unassigned pool; ``manager``, ``compliance`` and ``admin`` see every case
(compliance reads, and manages holds and the blacklist); ``agency`` users see only cases
placed with their agency right now. A case outside the actor's scope is reported as
not found, so ids cannot be probed (IDOR).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from arrears.services.workbench.errors import Forbidden, NotFound
from arrears.store.models import CaseRow, Customer
from arrears.store.rows import batched
from arrears.store.workbench_models import Placement, User

ALL_CASES = frozenset({"manager", "compliance", "admin"})
# roles that may change a case (log contacts, promises, arrangements, notes …)
WORKERS = frozenset({"collector", "team_lead", "manager", "admin", "agency"})
SUPERVISORS = frozenset({"team_lead", "manager", "admin"})
# who may see a full phone number, ID number, address or email on request
REVEALERS = frozenset({"collector", "team_lead", "manager", "compliance", "admin"})


@dataclass(frozen=True)
class Actor:
    """The user a service acts for (a plain value, safe to keep past a session)."""

    id: int
    username: str
    role: str
    team_id: int | None = None
    agency_id: int | None = None
    approval_limit: Decimal = Decimal(0)
    language: str = "zh_CN"
    display_name: str = ""

    @classmethod
    def of(cls, user: User | Row[Any]) -> Actor:
        """The actor for a stored user (its row, or a query row with the same fields)."""
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            team_id=user.team_id,
            agency_id=user.agency_id,
            approval_limit=user.approval_limit,
            language=user.language,
            display_name=user.display_name,
        )


def require_role(actor: Actor, roles: frozenset[str] | set[str], what: str) -> None:
    """Raise Forbidden unless the actor has one of ``roles``."""
    if actor.role not in roles:
        raise Forbidden(f"a {actor.role} may not {what}", "role_may_not", role=actor.role)


def team_usernames(session: Session, team_id: int | None) -> list[str]:
    """Usernames of the team's members."""
    if team_id is None:
        return []
    return list(session.scalars(select(User.username).where(User.team_id == team_id)))


def case_scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``cases`` selecting exactly the cases ``actor`` may see."""
    if actor.role in ALL_CASES:
        return true()
    if actor.role == "collector":
        return CaseRow.assigned_to == actor.username
    if actor.role == "team_lead":
        members = team_usernames(session, actor.team_id)
        return or_(CaseRow.assigned_to.in_(members), CaseRow.assigned_to.is_(None))
    if actor.role == "agency" and actor.agency_id is not None:
        return exists().where(
            and_(
                Placement.case_id == CaseRow.id,
                Placement.status == "active",
                Placement.agency_id == actor.agency_id,
            )
        )
    return false()


def visible_case(session: Session, actor: Actor, case_id: int) -> CaseRow:
    """The case if ``actor`` may see it, else NotFound (also when it does not exist)."""
    # one check per case and actor per session: a page calls several services on a case
    seen = session.info.setdefault("visible_cases", {})
    key = (actor.username, actor.role, case_id)
    case = seen.get(key)
    if case is None:
        case = session.scalar(
            select(CaseRow).where(CaseRow.id == case_id, case_scope(session, actor))
        )
        if case is None:
            raise NotFound(f"no case {case_id}", "no_case", id=case_id)
        seen[key] = case
    return case


# case ids bound in one statement when a day's work reads its cases' rows at once
IDS_PER_STATEMENT = 500


def remember_visible(session: Session, actor: Actor, case_ids: Iterable[int]) -> None:
    """Check ``case_ids`` for ``actor`` in a few statements (``IDS_PER_STATEMENT``), so that
    ``visible_case`` on each of them in this session asks nothing more: a day's
    strategy work checks a case for every late-stage step. Cases not found are left for
    ``visible_case`` to refuse."""
    seen = session.info.setdefault("visible_cases", {})
    wanted = sorted({i for i in case_ids if (actor.username, actor.role, i) not in seen})
    for chunk in batched(wanted, IDS_PER_STATEMENT):
        for case in session.scalars(
            select(CaseRow).where(CaseRow.id.in_(chunk), case_scope(session, actor))
        ):
            seen[(actor.username, actor.role, case.id)] = case


def visible_case_and_customer(
    session: Session, actor: Actor, case_id: int
) -> tuple[CaseRow, Customer]:
    """``visible_case`` and the case's customer, read in one statement when the case
    was not checked yet in this session (the case page needs both)."""
    seen = session.info.setdefault("visible_cases", {})
    key = (actor.username, actor.role, case_id)
    case = seen.get(key)
    if case is None:
        found = session.execute(
            select(CaseRow, Customer)
            .join(Customer, Customer.customer_id == CaseRow.customer_id)
            .where(CaseRow.id == case_id, case_scope(session, actor))
        ).first()
        if found is None:
            raise NotFound(f"no case {case_id}", "no_case", id=case_id)
        case, customer = found
        seen[key] = case
        return case, customer
    debtor = session.get(Customer, case.customer_id)
    if debtor is None:
        raise NotFound(f"no case {case_id}", "no_case", id=case_id)
    return case, debtor


def visible_case_of_loan(
    session: Session, actor: Actor, customer_id: str, loan_id: str | None
) -> CaseRow | None:
    """A case of loan ``loan_id`` (None: of any loan of customer ``customer_id``) that
    ``actor`` may see, or None: what a write on something attached to a loan or a
    customer rather than to one case (a hold) is scoped by. The caller raises NotFound
    naming its own object, so the answer says nothing about the loan or customer."""
    where = [CaseRow.customer_id == customer_id, case_scope(session, actor)]
    if loan_id is not None:
        where.append(CaseRow.loan_id == loan_id)
    return session.scalar(select(CaseRow).where(*where).order_by(CaseRow.id).limit(1))


def belongs(case_id: int, expected: int | None, what: str) -> None:
    """NotFound("no ``what``") unless ``expected`` (the case named in a page's URL) is
    None or is ``case_id``, the case the object belongs to: a form posted on one case's
    page never changes another case's object."""
    if expected is not None and case_id != expected:
        raise NotFound(f"no {what}", "not_found")


def case_of_object(session: Session, actor: Actor, case_id: int, what: str) -> CaseRow:
    """``visible_case`` for an object (a promise, visit, arrangement …) of case
    ``case_id``: NotFound("no ``what``"), the same answer as for an object that does
    not exist, and never naming the case it belongs to."""
    try:
        return visible_case(session, actor, case_id)
    except NotFound:
        raise NotFound(f"no {what}", "not_found") from None


def workable_case(session: Session, actor: Actor, case_id: int) -> CaseRow:
    """The case if ``actor`` may see it and change it (log contacts, promises …)."""
    case = visible_case(session, actor, case_id)
    require_role(actor, WORKERS, "change a case")
    return case
