"""Who may see and do what: the actor of a request and the case scope of each role.

Roles: ``collector`` works the cases assigned to them; ``team_lead`` sees their team's
cases and the unassigned pool; ``manager``, ``compliance`` and ``admin`` see every case
(compliance reads, and manages holds and the blacklist); ``agency`` users see only cases
placed with their agency right now. A case outside the actor's scope is reported as
not found, so ids cannot be probed (IDOR).

An agency user sees the names of their own agency's users; the lender's staff who
worked a case before or beside them (collectors, team leads, makers and checkers) are
shown as ``LENDER_STAFF``, never by username (``hide_lender_staff``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any, TypeVar

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


# what an agency user sees in place of a username of the lender's staff
LENDER_STAFF = "lender-staff"
# the fields of the views (case page, queue, search) that name a user
STAFF_FIELDS = frozenset(
    {
        "assigned_to",
        "leased_by",
        "actor",
        "author",
        "created_by",
        "maker",
        "checker",
        "placed_by",
        "resumed_by",
        "uploaded_by",
        "added_by",
        "from_user",
        "to_user",
        "by_user",
    }
)
_Item = TypeVar("_Item")


def _staff_slots(value: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Each (dict, key) of ``value`` (dicts and lists, at any depth) whose key is one of
    ``STAFF_FIELDS`` and whose value is a name."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in STAFF_FIELDS and isinstance(inner, str):
                yield value, key
            elif isinstance(inner, dict | list):
                yield from _staff_slots(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _staff_slots(inner)


def lender_staff(session: Session, actor: Actor, names: Iterable[str]) -> set[str]:
    """Those of ``names`` an agency ``actor`` may not see: usernames of users outside
    their agency (the lender's staff, another agency's). Names that are no user's
    (``system``, ``portal``, a gateway) stay; other roles may see every name."""
    wanted = {n for n in names if n and n != actor.username}
    if actor.role != "agency" or not wanted:
        return set()
    hidden: set[str] = set()
    for chunk in batched(sorted(wanted), IDS_PER_STATEMENT):
        hidden.update(
            session.scalars(
                select(User.username).where(
                    User.username.in_(chunk),
                    or_(User.agency_id.is_(None), User.agency_id != actor.agency_id),
                )
            )
        )
    return hidden


def hide_lender_staff(session: Session, actor: Actor, view: dict[str, Any]) -> dict[str, Any]:
    """``view`` (a dict of dicts and lists, changed in place) with every name in a
    ``STAFF_FIELDS`` field that ``actor`` may not see (``lender_staff``) replaced by
    ``LENDER_STAFF``."""
    if actor.role != "agency":
        return view
    slots = list(_staff_slots(view))
    hidden = lender_staff(session, actor, {d[key] for d, key in slots})
    for d, key in slots:
        if d[key] in hidden:
            d[key] = LENDER_STAFF
    return view


def hide_staff_in(session: Session, actor: Actor, items: Sequence[_Item]) -> list[_Item]:
    """``items`` (dataclasses such as queue items and search hits, or the API's
    Pydantic models) with every name in a ``STAFF_FIELDS`` field that ``actor`` may not
    see replaced by ``LENDER_STAFF``: copies, the items themselves are not changed."""
    if actor.role != "agency" or not items:
        return list(items)
    kind = type(items[0])
    names = getattr(kind, "model_fields", None) or [f.name for f in fields(kind)]  # type: ignore[arg-type]
    named = [n for n in names if n in STAFF_FIELDS]
    found = {getattr(item, name) for item in items for name in named}
    hidden = lender_staff(session, actor, [n for n in found if isinstance(n, str)])
    if not hidden:
        return list(items)
    out = []
    for item in items:
        changes = {n: LENDER_STAFF for n in named if getattr(item, n) in hidden}
        if not changes:
            out.append(item)
        elif hasattr(item, "model_copy"):
            out.append(item.model_copy(update=changes))
        else:
            out.append(replace(item, **changes))  # type: ignore[type-var]
    return out


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
