"""The manager's dashboard: for one business day, per collector, the queue size,
contacts made (and right-party contacts), contacts blocked by compliance, promises
taken and their amount, and payments received on their cases. Team leads see their
team; managers and admins everyone. Above the figures: the closed days whose
treatments are held because the scores the strategy reads have shifted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from arrears.services.clock import day_bounds
from arrears.services.held_days import HeldDay, held_days
from arrears.services.workbench.access import Actor, require_role, team_usernames
from arrears.services.workbench.queues import not_placed
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.workbench_models import ContactLog, DispositionCode, Placement, Promise, User


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
    """The day's figures: per collector and the totals."""

    day: date
    collectors: list[CollectorDay] = field(default_factory=list)
    unassigned: int = 0
    placed_with_agencies: int = 0
    promises_due_today: int = 0
    broken_today: int = 0
    kept_today: int = 0
    held: list[HeldDay] = field(default_factory=list)

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


def dashboard(session: Session, actor: Actor, day: date, time_zone: str | None = None) -> Dashboard:
    """The figures for business date ``day``: contacts made between its midnights in
    ``time_zone`` (the workspace's, default Asia/Shanghai; arrears.services.clock)."""
    require_role(actor, {"team_lead", "manager", "admin"}, "read the dashboard")
    users = session.scalars(
        select(User).where(User.role == "collector").order_by(User.username)
    ).all()
    if actor.role == "team_lead":
        members = set(team_usernames(session, actor.team_id))
        users = [u for u in users if u.username in members]
    rows = {u.username: CollectorDay(u.username, u.display_name) for u in users}
    names = list(rows)
    start, end = day_bounds(day, time_zone)

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
        .where(Promise.created_by.in_(names), Promise.promised_on == day)
        .group_by(Promise.created_by)
    ):
        rows[name].promises, rows[name].promised_amount = n, Decimal(amount or 0)
    for name, n, amount in session.execute(
        select(CaseRow.assigned_to, func.count(), func.sum(PaymentRow.amount))
        .join(
            CaseRow,
            and_(CaseRow.loan_id == PaymentRow.loan_id, CaseRow.status == "open"),
        )
        .where(PaymentRow.paid_on == day, CaseRow.assigned_to.in_(names))
        .group_by(CaseRow.assigned_to)
    ):
        rows[name].payments, rows[name].paid_amount = n, Decimal(amount or 0)
    board = Dashboard(day, list(rows.values()))
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
        session.scalar(select(func.count()).select_from(Promise).where(Promise.due_date == day))
        or 0
    )
    for status, n in session.execute(
        select(Promise.status, func.count())
        .where(Promise.settled_on == day, Promise.status.in_(("kept", "broken")))
        .group_by(Promise.status)
    ):
        if status == "kept":
            board.kept_today = n
        else:
            board.broken_today = n
    board.held = held_days(session)
    return board
