"""Litigation (诉讼): the stages lawyer letter → filing → judgment → enforcement → asset
preservation / disposal, each with its date, court, court case number and costs; the
pipeline is how many cases stand at each stage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from arrears.compliance import RulePack, load_pack
from arrears.domain.money import quantize
from arrears.services import audit
from arrears.services.workbench.access import (
    IDS_PER_STATEMENT,
    Actor,
    case_scope,
    require_role,
    visible_case,
)
from arrears.services.workbench.errors import Conflict, Invalid
from arrears.store.models import CaseRow
from arrears.store.rows import batched
from arrears.store.workbench_models import LEGAL_STAGES, LegalAction

LEGAL_ROLES = frozenset({"team_lead", "manager", "admin"})
ORDER = {stage: n for n, stage in enumerate(LEGAL_STAGES)}


def record_stage(
    session: Session,
    actor: Actor,
    case_id: int,
    stage: str,
    started_on: date,
    *,
    court: str = "",
    court_case_number: str = "",
    costs: Decimal = Decimal(0),
    notes: str = "",
    pack: RulePack | str | None = None,
) -> LegalAction:
    """Move the case to litigation ``stage`` from ``started_on``. Stages go forward
    (asset preservation may come before judgment, disposal only after enforcement);
    filing and later stages need the court. Under a ``pack`` with limitation periods, a
    time-barred debt gets no lawyer letter, filing or asset preservation before a suit
    was filed (12 CFR 1006.26(b): no suit or threat of suit): Conflict
    ``legal_time_barred``."""
    require_role(actor, LEGAL_ROLES, "manage litigation")
    audit.begin_write(session)
    visible_case(session, actor, case_id)
    if stage not in ORDER:
        raise Invalid(f"stage: must be one of {', '.join(LEGAL_STAGES)}", "one_of", field="stage")
    if costs < 0 or quantize(costs) != costs:
        raise Invalid(
            "costs: must be a non-negative amount in cents", "not_negative_amount", field="costs"
        )
    current = current_stage(session, case_id)
    if current is not None:
        if started_on < current.started_on:
            raise Invalid(
                f"started_on: before the current stage's date {current.started_on}",
                "legal_before_current",
                date=current.started_on,
            )
        backwards = ORDER[stage] < ORDER[current.stage]
        preservation_early = stage == "asset_preservation"
        if backwards and not preservation_early:
            raise Invalid(
                f"stage: the case is at {current.stage} already; stages go forward",
                "legal_backwards",
                stage=current.stage,
            )
    if stage == "asset_disposal" and (current is None or current.stage != "enforcement"):
        prior = {a.stage for a in stages_of(session, case_id)}
        if "enforcement" not in prior:
            raise Invalid("stage: asset disposal comes after enforcement", "legal_disposal_early")
    if ORDER[stage] >= ORDER["filing"] and not court.strip():
        raise Invalid("court: required from filing on", "legal_court_required")
    if pack and stage in SUIT_STAGES:
        _refuse_time_barred(session, case_id, started_on, pack)
    action = LegalAction(
        case_id=case_id,
        stage=stage,
        started_on=started_on,
        court=court.strip(),
        court_case_number=court_case_number.strip(),
        costs=costs,
        notes=notes,
        created_by=actor.username,
    )
    session.add(action)
    session.flush()
    audit.append(
        session,
        actor.username,
        "legal.stage",
        "case",
        case_id,
        {"stage": stage, "started_on": started_on, "court": court, "costs": costs},
    )
    return action


# The stages that sue or threaten suit: none on a time-barred debt (judgment and
# enforcement follow a suit filed in time).
SUIT_STAGES = frozenset({"lawyer_letter", "filing", "asset_preservation"})


def _refuse_time_barred(session: Session, case_id: int, on: date, pack: RulePack | str) -> None:
    from arrears.services.time_barred import time_barred_debts

    rule_pack = load_pack(pack) if isinstance(pack, str) else pack
    case = session.get(CaseRow, case_id)
    if case is None or any(a.stage == "filing" for a in stages_of(session, case_id)):
        return
    barred = time_barred_debts(session, rule_pack, on, [case.loan_id]).get(case.loan_id)
    if barred is not None:
        raise Conflict(
            f"stage: debt {case.loan_id} is time-barred since {barred.barred_from}"
            f" ({barred.limitation.years} years, {barred.limitation.source}): no suit or"
            " threat of suit (12 CFR 1006.26(b))",
            "legal_time_barred",
            date=barred.barred_from,
        )


def stages_of(session: Session, case_id: int) -> list[LegalAction]:
    """The case's litigation stages in order."""
    return list(
        session.scalars(
            select(LegalAction)
            .where(LegalAction.case_id == case_id)
            .order_by(LegalAction.started_on, LegalAction.id)
        )
    )


def current_stage(session: Session, case_id: int) -> LegalAction | None:
    """The latest stage of the case, if it is in litigation."""
    stages = stages_of(session, case_id)
    return stages[-1] if stages else None


def latest_actions() -> Subquery:
    """Each case's latest litigation action: ``case_id`` and its id ``last``."""
    return (
        select(LegalAction.case_id, func.max(LegalAction.id).label("last"))
        .group_by(LegalAction.case_id)
        .subquery()
    )


def pipeline(session: Session, actor: Actor) -> dict[str, dict[str, object]]:
    """Cases at each stage (by their latest stage) with the costs spent on them."""
    require_role(actor, LEGAL_ROLES | {"compliance"}, "read the litigation pipeline")
    latest = latest_actions()
    rows = session.execute(
        select(LegalAction.stage, func.count())
        .join(latest, latest.c.last == LegalAction.id)
        .join(CaseRow, CaseRow.id == LegalAction.case_id)
        .where(case_scope(session, actor))
        .group_by(LegalAction.stage)
    )
    counts = dict(rows.all())
    costs = dict(
        session.execute(
            select(LegalAction.case_id, func.sum(LegalAction.costs))
            .join(CaseRow, CaseRow.id == LegalAction.case_id)
            .where(case_scope(session, actor))
            .group_by(LegalAction.case_id)
        ).all()
    )
    case_stage = dict(
        session.execute(
            select(LegalAction.case_id, LegalAction.stage).join(
                latest, latest.c.last == LegalAction.id
            )
        ).all()
    )
    spent: dict[str, Decimal] = {}
    for case_id, total in costs.items():
        stage = case_stage.get(case_id)
        if stage is not None:
            spent[stage] = spent.get(stage, Decimal(0)) + Decimal(total or 0)
    return {
        stage: {"cases": counts.get(stage, 0), "costs": quantize(spent.get(stage, Decimal(0)))}
        for stage in LEGAL_STAGES
    }


# What the legal team is to do when a strategy step opens a case at a stage.
REFERRAL_TASKS = {
    "lawyer_letter": (
        "法务组待办：律师函已随策略发出，跟进债务人回应，必要时准备立案",
        "Legal team: the lawyer letter went out with the strategy; follow up the debtor's "
        "answer and prepare the filing if needed",
    ),
    "filing": (
        "法务组待办：选定法院，准备材料并立案（记录法院与案号）",
        "Legal team: choose the court, prepare the papers and file (record court and case number)",
    ),
}


def current_stages(session: Session, case_ids: Iterable[int]) -> dict[int, LegalAction]:
    """``current_stage`` of each of ``case_ids`` in litigation (``IDS_PER_STATEMENT`` ids a
    statement)."""
    found: dict[int, LegalAction] = {}
    for chunk in batched(sorted(set(case_ids)), IDS_PER_STATEMENT):
        for action in session.scalars(
            select(LegalAction)
            .where(LegalAction.case_id.in_(chunk))
            .order_by(LegalAction.case_id, LegalAction.started_on, LegalAction.id)
        ):
            found[action.case_id] = action  # the last in stage order stays
    return found


def refer(
    session: Session,
    actor: Actor,
    case_id: int,
    stage: str,
    on: date,
    *,
    step: str,
    stages: dict[int, LegalAction],
) -> tuple[LegalAction | None, str]:
    """Open the legal case of ``case_id`` at ``stage`` (``lawyer_letter`` or
    ``filing``) from ``on`` for a strategy step, its note the legal team's task (see
    ``REFERRAL_TASKS``); audited as ``legal.stage``. A referral is not a filing, so no
    court is needed yet: the legal team records it when it files. ``stages``: the
    current stages of the day's cases (``current_stages``), kept up to date here; the
    new action is written with the session's next flush. Returns (the action, "") or
    (None, why not) when the case is closed or at that stage or a later one already."""
    require_role(actor, LEGAL_ROLES, "manage litigation")
    if visible_case(session, actor, case_id).status != "open":
        return None, "the case is closed"
    if stage not in REFERRAL_TASKS:
        raise Invalid(f"stage: a strategy opens a case at {', '.join(REFERRAL_TASKS)}", "one_of")
    current = stages.get(case_id)
    if current is not None and ORDER[current.stage] >= ORDER[stage]:
        return None, f"in litigation at {current.stage} already"
    zh, en = REFERRAL_TASKS[stage]
    action = LegalAction(
        case_id=case_id,
        stage=stage,
        started_on=on,
        court="",
        court_case_number="",
        costs=Decimal(0),
        notes=f"{zh}\n{en}\n(strategy step {step})",
        created_by=actor.username,
    )
    session.add(action)
    stages[case_id] = action
    audit.append(
        session,
        actor.username,
        "legal.stage",
        "case",
        case_id,
        {"stage": stage, "started_on": on, "step": step, "task": en},
    )
    return action, ""


# The legal team's next task at each stage and the days it has for it from the stage's
# date (the firm's working rules; the court's own time limits where there is one):
# a lawyer letter gives the debtor 15 days to answer before filing; filing (court,
# papers, case number) within 30; a judgment's appeal period is 15 days, then
# enforcement is applied for; enforcement is reviewed every 30 days; a pre-suit asset
# preservation lapses unless the suit is filed within 30 days; a disposal is followed up
# within 60. A closed legal case has no task.
TASK_DAYS = {
    "lawyer_letter": 15,
    "filing": 30,
    "judgment": 15,
    "enforcement": 30,
    "asset_preservation": 30,
    "asset_disposal": 60,
}
MAX_TASKS = 500


@dataclass(frozen=True)
class LegalTask:
    """An open case in litigation: its current stage, since when, the task's deadline
    (``due_on``, ``days_left`` negative when late), and who opened the stage."""

    case_id: int
    loan_id: str
    bucket: str
    amount_overdue: Decimal
    stage: str
    started_on: date
    due_on: date
    days_left: int
    court: str
    court_case_number: str
    created_by: str


def tasks(session: Session, actor: Actor, today: date, limit: int = MAX_TASKS) -> list[LegalTask]:
    """The legal team's work list: every open case in the actor's scope whose latest
    litigation stage has a task (``TASK_DAYS``), the nearest deadline first (late ones
    at the top), at most ``limit``."""
    require_role(actor, LEGAL_ROLES | {"compliance"}, "read the legal tasks")
    latest = latest_actions()
    rows = session.execute(
        select(
            LegalAction.case_id,
            CaseRow.loan_id,
            CaseRow.bucket,
            CaseRow.amount_overdue,
            LegalAction.stage,
            LegalAction.started_on,
            LegalAction.court,
            LegalAction.court_case_number,
            LegalAction.created_by,
        )
        .join(latest, latest.c.last == LegalAction.id)
        .join(CaseRow, CaseRow.id == LegalAction.case_id)
        .where(CaseRow.status == "open", LegalAction.stage.in_(list(TASK_DAYS)))
        .where(case_scope(session, actor))
    ).all()
    out = []
    for row in rows:
        due = row.started_on + timedelta(days=TASK_DAYS[row.stage])
        out.append(
            LegalTask(
                case_id=row.case_id, loan_id=row.loan_id, bucket=row.bucket,
                amount_overdue=row.amount_overdue, stage=row.stage, started_on=row.started_on,
                due_on=due, days_left=(due - today).days, court=row.court,
                court_case_number=row.court_case_number, created_by=row.created_by,
            )
        )  # fmt: skip
    out.sort(key=lambda task: (task.due_on, task.case_id))
    return out[:limit]
