"""What the collection measures need from the operational store, read once: who had
each case on a day (collector, team, agency), its strategy arm, the payments, the
contact attempts and the promises.

The workbench tables (users, teams, agencies, case_assignments, placements, promises)
come from another part of the project; a store without them (or with them empty) gives
empty facts, which the report shows as "no data yet" — never invented numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, inspect, select

from arrears.domain.account import CHARGE_OFF_PREFIX
from arrears.domain.ledger import Account, EntryKind
from arrears.store.contact_models import ContactAttempt, StrategyAssignment
from arrears.store.models import CaseRow, EntryRow, LegRow, PaymentRow

UNASSIGNED = "—"


@dataclass(frozen=True)
class Attempt:
    on: date
    case_id: int | None
    loan_id: str | None
    channel: str
    party: str
    outcome: str | None
    actor: str | None


@dataclass(frozen=True)
class PromiseFact:
    case_id: int
    due_date: date
    status: str
    created_by: str


@dataclass
class StoreFacts:
    """Attribution facts of one store; ``has_*`` say which tables exist with rows."""

    cases: list[tuple[int, str, date, date | None, str | None]] = field(default_factory=list)
    assignments: dict[int, list[tuple[datetime, str | None]]] = field(default_factory=dict)
    users: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)  # username → display name
    teams: dict[int, str] = field(default_factory=dict)
    agencies: dict[int, str] = field(default_factory=dict)
    placements: dict[int, list[tuple[date, date | None, int]]] = field(default_factory=dict)
    arms: dict[int, list[tuple[date, str]]] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    promises: list[PromiseFact] = field(default_factory=list)
    tables: frozenset[str] = frozenset()
    _assignee_cache: dict[int, str | None] = field(default_factory=dict, repr=False)

    def case_on(self, day: date) -> dict[str, int]:
        """loan id → the case open on ``day`` (opened by then, not yet closed)."""
        return {
            loan: cid
            for cid, loan, opened, closed, _ in self.cases
            if opened <= day and (closed is None or closed > day)
        }

    def collector_on(self, case_id: int, day: date) -> str:
        """The case's assignee at the end of ``day``: the last recorded assignment by
        then, else the case's current assignee when it has no assignment history."""
        history = self.assignments.get(case_id)
        if history:
            before = [to for at, to in history if at.date() <= day]
            return (before[-1] if before else None) or UNASSIGNED
        return self._assignee.get(case_id) or UNASSIGNED

    @property
    def _assignee(self) -> dict[int, str | None]:
        if len(self._assignee_cache) != len(self.cases):
            self._assignee_cache.clear()
            self._assignee_cache.update({c[0]: c[4] for c in self.cases})
        return self._assignee_cache

    def team_of(self, user: str) -> str:
        team = self.users.get(user, (None, None))[0]
        return self.teams.get(team, UNASSIGNED) if team is not None else UNASSIGNED

    def agency_on(self, case_id: int, user: str, day: date) -> str:
        """The agency holding the case on ``day`` (a placement), else the user's agency,
        else "in-house"."""
        for placed, recalled, agency in self.placements.get(case_id, []):
            if placed <= day and (recalled is None or recalled > day):
                return self.agencies.get(agency, str(agency))
        agency = self.users.get(user, (None, None))[1]
        return self.agencies.get(agency, str(agency)) if agency is not None else "in-house"

    def arm_on(self, case_id: int, day: date) -> str:
        """``strategy/arm`` of the case's latest strategy assignment on or before ``day``."""
        found = [arm for on, arm in self.arms.get(case_id, []) if on <= day]
        return found[-1] if found else UNASSIGNED


def _has(engine: Engine, *names: str) -> set[str]:
    present = set(inspect(engine).get_table_names())
    return {n for n in names if n in present}


def read_store_facts(engine: Engine, date_from: date, date_to: date) -> StoreFacts:
    """The facts of ``engine``'s store relevant to ``[date_from, date_to]``."""
    names = _has(
        engine,
        "users",
        "teams",
        "agencies",
        "case_assignments",
        "placements",
        "promises",
        "contact_attempts",
        "strategy_assignments",
    )
    facts = StoreFacts(tables=frozenset(names))
    cases = CaseRow.__table__
    with engine.connect() as conn:
        facts.cases = [
            tuple(r)
            for r in conn.execute(
                select(
                    cases.c.id, cases.c.loan_id, cases.c.opened_on, cases.c.closed_on,
                    cases.c.assigned_to,
                ).order_by(cases.c.id)
            )
        ]  # fmt: skip
        if "strategy_assignments" in names:
            sa = StrategyAssignment.__table__
            arms: dict[int, list[tuple[date, str]]] = defaultdict(list)
            for r in conn.execute(
                select(sa.c.case_id, sa.c.as_of, sa.c.strategy, sa.c.arm)
                .where(sa.c.as_of <= date_to)
                .order_by(sa.c.case_id, sa.c.as_of)
            ):
                arms[r.case_id].append((r.as_of, f"{r.strategy}/{r.arm}"))
            facts.arms = dict(arms)
        if "contact_attempts" in names:
            ca = ContactAttempt.__table__
            for r in conn.execute(
                select(ca).where(ca.c.allowed.is_(True)).order_by(ca.c.at, ca.c.id)
            ):
                on = r.at.date()
                if date_from <= on <= date_to:
                    facts.attempts.append(
                        Attempt(on, r.case_id, r.loan_id, r.channel, r.party, r.outcome, r.actor)
                    )
        _read_workbench(conn, names, facts, date_from, date_to)
    return facts


def _read_workbench(
    conn: Any, names: set[str], facts: StoreFacts, date_from: date, date_to: date
) -> None:
    """The workbench tables, through their models when the package has them."""
    try:
        from arrears.store import workbench_models as wb
    except ImportError:  # the workbench part is not installed: no such facts
        return
    if "users" in names and hasattr(wb, "User"):
        u = wb.User.__table__
        users = list(conn.execute(select(u)))
        facts.users = {r.username: (r.team_id, r.agency_id) for r in users}
        facts.display_names = {r.username: r.display_name for r in users if r.display_name}
    if "teams" in names and hasattr(wb, "Team"):
        t = wb.Team.__table__
        facts.teams = {r.id: r.name for r in conn.execute(select(t.c.id, t.c.name))}
    if "agencies" in names and hasattr(wb, "Agency"):
        a = wb.Agency.__table__
        facts.agencies = {r.id: r.name for r in conn.execute(select(a.c.id, a.c.name))}
    if "case_assignments" in names and hasattr(wb, "CaseAssignment"):
        c = wb.CaseAssignment.__table__
        history: dict[int, list[tuple[datetime, str | None]]] = defaultdict(list)
        for r in conn.execute(select(c).order_by(c.c.case_id, c.c.at, c.c.id)):
            history[r.case_id].append((r.at, r.to_user))
        facts.assignments = dict(history)
    if "placements" in names and hasattr(wb, "Placement"):
        p = wb.Placement.__table__
        placed: dict[int, list[tuple[date, date | None, int]]] = defaultdict(list)
        for r in conn.execute(select(p).order_by(p.c.case_id, p.c.placed_on)):
            placed[r.case_id].append((r.placed_on, r.recalled_on, r.agency_id))
        facts.placements = dict(placed)
    if "promises" in names and hasattr(wb, "Promise"):
        pr = wb.Promise.__table__
        facts.promises = [
            PromiseFact(r.case_id, r.due_date, r.status, r.created_by)
            for r in conn.execute(
                select(pr).where(pr.c.due_date >= date_from, pr.c.due_date <= date_to)
            )
        ]


def payments_by_loan(engine: Engine, after: date, through: date) -> dict[str, Decimal]:
    """Total paid per loan on days ``after`` < paid_on <= ``through`` (exact Decimal,
    summed by the database in the column's own money type)."""
    p = PaymentRow.__table__
    query = (
        select(p.c.loan_id, func.sum(p.c.amount).label("paid"))
        .where(p.c.paid_on > after, p.c.paid_on <= through)
        .group_by(p.c.loan_id)
    )
    with engine.connect() as conn:
        return {loan_id: Decimal(paid) for loan_id, paid in conn.execute(query)}


def in_recovery_on(engine: Engine, day: date) -> dict[str, Decimal]:
    """Loans in recovery on ``day`` (``arrears.domain.cases``): charged off by their
    product's rule on or before it (a ``chargeoff:`` write-off) with shadow balances
    still owed at its end, mapped to that amount: what was written off less what was
    recovered (the ``recovered`` account's legs, net of reversals) through ``day``."""
    e, leg = EntryRow.__table__, LegRow.__table__
    charged = (
        select(e.c.loan_id, func.sum(e.c.amount).label("written"))
        .where(
            e.c.kind == EntryKind.WRITE_OFF.value,
            e.c.ref.startswith(CHARGE_OFF_PREFIX, autoescape=True),
            e.c.posted_on <= day,
        )
        .group_by(e.c.loan_id)
    )
    recovered = (
        select(leg.c.loan_id, func.sum(leg.c.amount).label("recovered"))
        .join(e, (e.c.loan_id == leg.c.loan_id) & (e.c.ref == leg.c.ref))
        .where(leg.c.account == Account.RECOVERED.value, e.c.posted_on <= day)
        .group_by(leg.c.loan_id)
    )
    with engine.connect() as conn:
        written = {lid: Decimal(amount) for lid, amount in conn.execute(charged)}
        if not written:
            return {}
        got = {lid: Decimal(amount) for lid, amount in conn.execute(recovered)}
    owed = {lid: amount - got.get(lid, Decimal(0)) for lid, amount in written.items()}
    return {lid: amount for lid, amount in owed.items() if amount > 0}
