"""The manager's dashboard: for a period of business days (today, yesterday, the last
7 days, this month or a from–to range; ``resolve_period``), per collector, the queue
size (now), contacts made (and right-party contacts), contacts blocked by compliance,
promises taken and their amount, and payments received on their cases. Team leads see
their team; managers and admins everyone. Above the figures: the closed days whose
treatments are held because the scores the strategy reads have shifted. When the
period has no activity, ``last_active_day`` says which day last had some."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from arrears.services.clock import business_date, day_bounds
from arrears.services.held_days import HeldDay, held_days
from arrears.services.workbench.access import Actor, require_role, team_usernames
from arrears.services.workbench.errors import Invalid
from arrears.services.workbench.queues import not_placed
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.payment_rows import standing
from arrears.store.workbench_models import ContactLog, DispositionCode, Placement, Promise, User

PERIODS = ("today", "yesterday", "last7", "month", "range")
MAX_DAYS = 366  # the longest from–to range the dashboard shows


@dataclass(frozen=True)
class Period:
    """Business dates ``first`` through ``last`` (both included); ``kind`` is one of
    ``PERIODS``."""

    kind: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _parse_day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(
            f"{name}: {value!r} is not a date (YYYY-MM-DD)",
            f"dashboard_bad_{name}",
            value=value[:40],
        ) from None


def resolve_period(
    today: date,
    period: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Period:
    """The period asked for: ``period`` (``PERIODS``; default today, or ``range`` when
    ``date_from`` or ``date_to`` is given), with ``today`` the business date. A range
    needs ``date_from`` (``date_to`` defaults to it), in YYYY-MM-DD, not after
    ``date_to``, at most ``MAX_DAYS`` days. Anything else raises ``Invalid``."""
    date_from = date_from or None
    date_to = date_to or None
    kind = period or ("range" if date_from or date_to else "today")
    if kind not in PERIODS:
        raise Invalid(
            f"period: {kind!r} is not one of {', '.join(PERIODS)}",
            "dashboard_bad_period",
            choices=", ".join(PERIODS),
        )
    if kind == "today":
        return Period(kind, today, today)
    if kind == "yesterday":
        return Period(kind, today - timedelta(days=1), today - timedelta(days=1))
    if kind == "last7":
        return Period(kind, today - timedelta(days=6), today)
    if kind == "month":
        return Period(kind, today.replace(day=1), today)
    if date_from is None:
        raise Invalid("from: a range needs a first day", "dashboard_from_missing")
    first = _parse_day("from", date_from)
    last = _parse_day("to", date_to) if date_to else first
    if first > last:
        raise Invalid(
            f"from {first} is after to {last}",
            "dashboard_from_after_to",
            first=first.isoformat(),
            last=last.isoformat(),
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid(
            f"{first} – {last} is longer than {MAX_DAYS} days",
            "dashboard_range_too_long",
            days=MAX_DAYS,
        )
    return Period(kind, first, last)


@dataclass
class CollectorDay:
    """One collector's figures for the day."""

    username: str
    display_name: str
    queue: int = 0
    contacts: int = 0
    right_party: int = 0
    blocked: int = 0
    promises: int = 0
    promised_amount: Decimal = Decimal("0.00")
    payments: int = 0
    paid_amount: Decimal = Decimal("0.00")


@dataclass
class Dashboard:
    """The period's figures: per collector and the totals (``day`` is the period's
    first day, ``last`` its last)."""

    day: date
    collectors: list[CollectorDay] = field(default_factory=list)
    unassigned: int = 0
    placed_with_agencies: int = 0
    promises_due_today: int = 0
    broken_today: int = 0
    kept_today: int = 0
    held: list[HeldDay] = field(default_factory=list)
    last: date | None = None

    @property
    def active(self) -> bool:
        """Whether anything happened in the period (contacts, blocked contacts,
        promises taken or settled, payments)."""
        t = self.totals
        return bool(
            t.contacts or t.blocked or t.promises or t.payments
            or self.kept_today or self.broken_today
        )  # fmt: skip

    @property
    def totals(self) -> CollectorDay:
        """The sum over collectors."""
        total = CollectorDay("*", "total")
        for c in self.collectors:
            total.queue += c.queue
            total.contacts += c.contacts
            total.right_party += c.right_party
            total.blocked += c.blocked
            total.promises += c.promises
            total.promised_amount += c.promised_amount
            total.payments += c.payments
            total.paid_amount += c.paid_amount
        return total


def _collectors(session: Session, actor: Actor) -> list[User]:
    """The collectors the actor sees: a team lead's team, else everybody."""
    users = session.scalars(
        select(User).where(User.role == "collector").order_by(User.username)
    ).all()
    if actor.role == "team_lead":
        members = set(team_usernames(session, actor.team_id))
        users = [u for u in users if u.username in members]
    return list(users)


def dashboard(
    session: Session,
    actor: Actor,
    day: date,
    time_zone: str | None = None,
    last: date | None = None,
) -> Dashboard:
    """The figures for business dates ``day`` through ``last`` (default: ``day`` alone):
    contacts made between the first day's midnight and the midnight after the last in
    ``time_zone`` (the workspace's, default Asia/Shanghai; arrears.services.clock),
    promises taken, payments, promises due and settled on those dates."""
    require_role(actor, {"team_lead", "manager", "admin"}, "read the dashboard")
    last = last or day
    users = _collectors(session, actor)
    rows = {u.username: CollectorDay(u.username, u.display_name) for u in users}
    names = list(rows)
    start, end = day_bounds(day, time_zone)[0], day_bounds(last, time_zone)[1]

    for name, n in session.execute(
        select(CaseRow.assigned_to, func.count())
        .where(CaseRow.status == "open", CaseRow.assigned_to.in_(names))
        .group_by(CaseRow.assigned_to)
    ):
        rows[name].queue = n
    for name, allowed, rpc, n in session.execute(
        select(
            ContactAttempt.actor,
            ContactAttempt.allowed,
            func.coalesce(DispositionCode.right_party, False),
            func.count(),
        )
        .outerjoin(ContactLog, ContactLog.contact_attempt_id == ContactAttempt.id)
        .outerjoin(DispositionCode, DispositionCode.code == ContactLog.disposition)
        .where(
            ContactAttempt.actor.in_(names),
            ContactAttempt.at >= start,
            ContactAttempt.at < end,
        )
        .group_by(ContactAttempt.actor, ContactAttempt.allowed, DispositionCode.right_party)
    ):
        if allowed:
            rows[name].contacts += n
            if rpc:
                rows[name].right_party += n
        else:
            rows[name].blocked += n
    for name, n, amount in session.execute(
        select(Promise.created_by, func.count(), func.sum(Promise.amount))
        .where(
            Promise.created_by.in_(names),
            Promise.promised_on >= day,
            Promise.promised_on <= last,
        )
        .group_by(Promise.created_by)
    ):
        rows[name].promises, rows[name].promised_amount = n, Decimal(amount or 0)
    for name, n, amount in session.execute(
        select(CaseRow.assigned_to, func.count(), func.sum(PaymentRow.amount))
        .join(
            CaseRow,
            and_(CaseRow.loan_id == PaymentRow.loan_id, CaseRow.status == "open"),
        )
        .where(PaymentRow.paid_on >= day, PaymentRow.paid_on <= last, standing())
        .where(CaseRow.assigned_to.in_(names))
        .group_by(CaseRow.assigned_to)
    ):
        rows[name].payments, rows[name].paid_amount = n, Decimal(amount or 0)
    board = Dashboard(day, list(rows.values()), last=last)
    if actor.role != "team_lead":
        board.unassigned = (
            session.scalar(
                select(func.count())
                .select_from(CaseRow)
                .where(CaseRow.status == "open", CaseRow.assigned_to.is_(None), not_placed())
            )
            or 0
        )
        board.placed_with_agencies = (
            session.scalar(
                select(func.count()).select_from(Placement).where(Placement.status == "active")
            )
            or 0
        )
    board.promises_due_today = (
        session.scalar(
            select(func.count())
            .select_from(Promise)
            .where(Promise.due_date >= day, Promise.due_date <= last)
        )
        or 0
    )
    for status, n in session.execute(
        select(Promise.status, func.count())
        .where(Promise.settled_on >= day, Promise.settled_on <= last)
        .where(Promise.status.in_(("kept", "broken")))
        .group_by(Promise.status)
    ):
        if status == "kept":
            board.kept_today = n
        else:
            board.broken_today = n
    board.held = held_days(session)
    return board


def last_active_day(
    session: Session, actor: Actor, before: date, time_zone: str | None = None
) -> date | None:
    """The latest business date before ``before`` on which a collector the actor sees
    made or was refused a contact, or took a promise; None when there is none."""
    require_role(actor, {"team_lead", "manager", "admin"}, "read the dashboard")
    names = [u.username for u in _collectors(session, actor)]
    if not names:
        return None
    start = day_bounds(before, time_zone)[0]
    contact = session.scalar(
        select(func.max(ContactAttempt.at)).where(
            ContactAttempt.actor.in_(names), ContactAttempt.at < start
        )
    )
    promised = session.scalar(
        select(func.max(Promise.promised_on)).where(
            Promise.created_by.in_(names), Promise.promised_on < before
        )
    )
    days = [d for d in (contact and business_date(contact, time_zone), promised) if d]
    return max(days) if days else None
