"""Allocation (分案): which team and which collector works each open case.

At a cut-off day D every case open on D and not placed with an agency is allocated by
its bucket on D, from the rules (team name → the buckets it works: early M1, mid M2–M3,
late M4+ …):

- a case stays with its collector when that collector is an active member of the team
  of its bucket (one debtor, one voice);
- the others go, largest amount overdue first, to the team member carrying the least
  amount overdue so far (kept cases count), so a team's collectors get balanced books;
- a case whose bucket no team works, or whose team has no active collector, goes back
  to the pool (unassigned) for supervisors to hand out;
- a loan in recovery (charged off by its product's rule) has no row in the day's
  snapshot: its case is allocated by its own bucket and amount, which the close keeps.

Every change is a ``case_assignments`` row dated at the end of D (reason
"allocation D"), so the report attributes the case to its collector from D; one audit
entry records the run and its counts. A rerun with the same states moves nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import ALL_CASES, SUPERVISORS, Actor, require_role
from arrears.services.workbench.errors import Invalid
from arrears.services.workbench.queues import record_assignment
from arrears.store.models import CaseRow, Loan
from arrears.store.workbench_models import Placement, Team, User

if TYPE_CHECKING:
    from arrears.workspace import Workspace


@dataclass(frozen=True)
class CaseState:
    """A loan's state on the cut-off day, as its snapshot has it."""

    bucket: str
    amount_overdue: Decimal


@dataclass
class AllocationResult:
    """What one allocation run did."""

    on: date
    cases: int = 0
    kept: int = 0
    moved: int = 0
    pooled: int = 0
    placed: int = 0  # with an agency (allocate --optimize with agencies' intake)
    # collector → cases and amount overdue they hold after the run
    books: dict[str, tuple[int, Decimal]] = field(default_factory=dict)


def cut_off(on: date) -> datetime:
    """The moment an allocation as of ``on`` takes effect: the end of that day (UTC)."""
    return datetime.combine(on, time(23, 59, 59), UTC)


def allocate(
    session: Session,
    actor: Actor,
    on: date,
    states: Mapping[str, CaseState],
    rules: Mapping[str, Sequence[str]],
    optimize: bool = False,
    agency_intake: Mapping[str, int] | None = None,
) -> AllocationResult:
    """Allocate the cases open on ``on`` (see the module docstring). ``states``: loan id
    → its bucket and amount overdue on ``on``; a case of a loan in recovery takes its
    own (``_with_recovery``); any other case whose loan has no state keeps its assignee.
    ``rules``: team name → buckets; a bucket may belong to one team only. ``optimize``:
    a team's cases go to its collectors by expected collections under an even capacity,
    solved by HiGHS (``arrears.optimize.allocate``), not balanced; ``agency_intake``
    (agency code → the most new cases it takes, with ``optimize``) lets the same MIP
    place waiting cases with agencies instead."""
    if agency_intake and not optimize:
        raise Invalid("agency intake: only with optimize", "agency_intake")
    # it moves every open case of the book, so only a role that sees every case may run it
    require_role(actor, SUPERVISORS & ALL_CASES, "allocate every case")
    team_of_bucket = _team_of_bucket(session, rules)
    audit.begin_write(session)
    members: dict[int, list[str]] = {}
    for member in session.scalars(
        select(User)
        .where(User.role == "collector", User.active, User.team_id.is_not(None))
        .order_by(User.username)
    ):
        assert member.team_id is not None
        members.setdefault(member.team_id, []).append(member.username)
    placed = exists().where(
        and_(
            Placement.case_id == CaseRow.id,
            Placement.placed_on <= on,
            or_(Placement.recalled_on.is_(None), Placement.recalled_on > on),
        )
    )
    cases = session.scalars(
        select(CaseRow)
        .where(
            CaseRow.opened_on <= on,
            or_(CaseRow.closed_on.is_(None), CaseRow.closed_on > on),
            ~placed,
        )
        .order_by(CaseRow.id)
    ).all()
    states = _with_recovery(session, cases, states)
    result = AllocationResult(on)
    load: dict[str, tuple[Decimal, int]] = {}
    waiting: dict[int, list[tuple[CaseRow, Decimal]]] = {}
    changes: list[tuple[CaseRow, str | None]] = []
    for case in cases:
        state = states.get(case.loan_id)
        if state is None:
            continue
        result.cases += 1
        team = team_of_bucket.get(state.bucket)
        team_members = members.get(team, []) if team is not None else []
        if case.assigned_to is not None and case.assigned_to in team_members:
            result.kept += 1
            _add(load, case.assigned_to, state.amount_overdue)
        elif team_members:
            assert team is not None
            waiting.setdefault(team, []).append((case, state.amount_overdue))
        else:
            result.pooled += 1
            if case.assigned_to is not None:
                changes.append((case, None))
    if optimize:
        from arrears.optimize.allocate import agency_offers, optimize_allocation, recovery_rates
        from arrears.services.workbench.agencies import place

        rates = recovery_rates(session, members, on, states)
        offers = agency_offers(session, on, agency_intake, rates) if agency_intake else []
        kept = {u: count for u, (_, count) in load.items()}
        for case, amount, to in optimize_allocation(
            waiting, members, kept, rates, offers, lambda case: states[case.loan_id].bucket
        ):
            if isinstance(to, int):  # an agency
                place(session, actor, case.id, to, on=on, rule="allocation --optimize")
                result.placed += 1
                if case.assigned_to is not None:
                    changes.append((case, None))
                continue
            _add(load, to, amount)
            changes.append((case, to))
        waiting = {}
    for team, todo in waiting.items():
        # least-loaded member first; ties by fewer cases, then username
        heap = [(*load.get(u, (Decimal(0), 0)), u) for u in members[team]]
        heapq.heapify(heap)
        for case, amount in sorted(todo, key=lambda item: (-item[1], item[0].id)):
            owed, count, user = heapq.heappop(heap)
            heapq.heappush(heap, (owed + amount, count + 1, user))
            _add(load, user, amount)
            changes.append((case, user))
    moment = cut_off(on)
    reason = f"allocation {on.isoformat()}"
    for case, to_user in changes:
        record_assignment(session, case, to_user, actor.username, reason, moment)
    result.moved = sum(1 for _, to in changes if to is not None)
    result.books = {user: (count, owed) for user, (owed, count) in sorted(load.items())}
    audit.append(
        session,
        actor.username,
        "case.allocate",
        "allocation",
        on.isoformat(),
        {
            "on": on,
            "cases": result.cases,
            "kept": result.kept,
            "moved": result.moved,
            "pooled": result.pooled,
            "rules": {team: list(buckets) for team, buckets in rules.items()},
            **({"optimize": True} if optimize else {}),
            **(
                {"agency_intake": dict(agency_intake), "placed": result.placed}
                if agency_intake
                else {}
            ),
        },
    )
    session.flush()
    return result


def _with_recovery(
    session: Session, cases: Sequence[CaseRow], states: Mapping[str, CaseState]
) -> Mapping[str, CaseState]:
    """``states`` and the state of each open case of a loan in recovery: charged off,
    it has no row in the day's snapshot (it is off the book), and its case carries its
    bucket and what it still owes off the book (the close brings both to its day)."""
    missing = {case.loan_id for case in cases if case.loan_id not in states}
    if not missing:
        return states
    written_off = set(
        session.scalars(
            select(Loan.loan_id).where(
                Loan.loan_id.in_(sorted(missing)), Loan.status == "written_off"
            )
        )
    )
    if not written_off:
        return states
    out = dict(states)
    for case in cases:
        if case.loan_id in written_off:
            out[case.loan_id] = CaseState(case.bucket, case.amount_overdue)
    return out


def _add(load: dict[str, tuple[Decimal, int]], user: str, amount: Decimal) -> None:
    owed, count = load.get(user, (Decimal(0), 0))
    load[user] = (owed + amount, count + 1)


def _team_of_bucket(session: Session, rules: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """bucket → team id; every team named must exist and no bucket be named twice."""
    if not rules:
        raise Invalid(
            "rules: name at least one team and the buckets it works", "allocation_no_rules"
        )
    out: dict[str, int] = {}
    owner: dict[str, str] = {}
    for name, buckets in rules.items():
        team = session.scalar(select(Team).where(Team.name == name))
        if team is None:
            raise Invalid(f"rules: no team {name!r}", "no_team", name=name)
        for bucket in buckets:
            if bucket in owner:
                raise Invalid(
                    f"rules: bucket {bucket} is worked by {owner[bucket]!r} and {name!r}",
                    "allocation_bucket_twice",
                    bucket=bucket,
                    first=owner[bucket],
                    second=name,
                )
            owner[bucket], out[bucket] = name, team.id
    return out


def snapshot_states(snapshots: Path, on: date) -> dict[str, CaseState]:
    """loan id → bucket and amount overdue, from the snapshot of ``on`` under the folder
    ``snapshots``."""
    from arrears.snapshots import read_snapshot

    table = read_snapshot(snapshots, on, ["loan_id", "bucket", "overdue_amount"])
    loans, buckets, amounts = (table.column(n).to_pylist() for n in table.column_names)
    return {
        loan: CaseState(bucket, amount if amount is not None else Decimal(0))
        for loan, bucket, amount in zip(loans, buckets, amounts, strict=True)
    }


def allocate_workspace_day(
    ws: Workspace,
    on: date,
    by: str = "cli",
    optimize: bool = False,
    agency_intake: Mapping[str, int] | None = None,
) -> AllocationResult:
    """Allocate the workspace's cases as of ``on`` from that day's snapshot and the
    rules of its ``arrears.toml`` (``[allocation.teams]``), in one transaction."""
    from arrears.services.settings import SETTINGS_FILE, load_settings
    from arrears.store.unit_of_work import UnitOfWork

    rules = load_settings(ws.root).allocation_rules()
    if not rules:
        raise Invalid(
            f"{ws.root / SETTINGS_FILE}: no [allocation.teams] rules (team = [buckets])",
            "allocation_no_rules",
        )
    path = ws.snapshot_path(on)
    if not path.exists():
        raise Invalid(f"{on}: no snapshot (close the day first): {path}", "no_snapshot", date=on)
    states = snapshot_states(ws.snapshots_dir, on)
    with UnitOfWork(ws.engine) as uow:
        result = allocate(
            uow.session, Actor(0, by, "admin"), on, states, rules, optimize, agency_intake
        )
        uow.commit()
    return result
