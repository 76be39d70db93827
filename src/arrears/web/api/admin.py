"""Agencies and placements, litigation, the dashboard, users and teams, the audit chain."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy import select

from arrears.services import audit
from arrears.services.workbench import agencies, dashboard, legal, promises, users
from arrears.services.workbench.access import Actor, hide_staff_in, require_role, visible_case
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import CommissionRate, Team
from arrears.web.api.schemas import (
    AgencyIn,
    AgencyOut,
    LegalIn,
    LegalOut,
    PerformanceOut,
    PlaceIn,
    PlacementOut,
    PlaceRuleIn,
    RateIn,
    RateOut,
    SettleOut,
    TeamIn,
    TeamOut,
    UserIn,
    UserOut,
    VerdictOut,
)
from arrears.web.app import settings_of
from arrears.web.deps import RowId, get_uow, require_user, workbench_router
from arrears.web.deps import require_role as role_dependency

router = workbench_router()
admin_only = role_dependency("admin")


@router.get("/agencies", response_model=list[AgencyOut], tags=["agencies"])
def get_agencies(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[AgencyOut]:
    """Every agency."""
    require_role(actor, agencies.READERS | {"team_lead"}, "list agencies")
    return [AgencyOut.model_validate(a) for a in agencies.agencies(uow.session)]


@router.post("/agencies", response_model=AgencyOut, status_code=201, tags=["agencies"])
def post_agency(
    body: AgencyIn, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> AgencyOut:
    """Add an agency (managers, admins)."""
    require_role(actor, agencies.PLACERS, "add agencies")
    audit.begin_write(uow.session)
    row = users.create_agency(uow.session, body.code, body.name, actor.username)
    uow.commit()
    return AgencyOut.model_validate(row)


@router.put("/agencies/{agency_id}/rates", response_model=list[RateOut], tags=["agencies"])
def put_rates(
    agency_id: RowId,
    body: list[RateIn],
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[RateOut]:
    """Replace the agency's commission rates (by bucket, or by amount tier)."""
    rows = agencies.set_commission_rates(
        uow.session, actor, agency_id, [r.model_dump(exclude_none=True) for r in body]
    )
    uow.commit()
    return [RateOut.model_validate(r) for r in rows]


@router.get("/agencies/{agency_id}/rates", response_model=list[RateOut], tags=["agencies"])
def get_rates(
    agency_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[RateOut]:
    """The agency's commission rates."""
    require_role(actor, agencies.PLACERS | {"compliance"}, "read commission rates")
    rows = uow.session.scalars(select(CommissionRate).where(CommissionRate.agency_id == agency_id))
    return [RateOut.model_validate(r) for r in rows]


@router.post("/cases/{case_id}/placement", response_model=PlacementOut, tags=["agencies"])
def post_place(
    case_id: RowId,
    body: PlaceIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> PlacementOut:
    """Place the case with an agency, or re-place it with another."""
    row = agencies.re_place(
        uow.session, actor, case_id, body.agency_id, on=settings_of(request).today()
    )
    uow.commit()
    return PlacementOut.model_validate(row)


@router.post("/cases/{case_id}/recall", response_model=PlacementOut, tags=["agencies"])
def post_recall(
    case_id: RowId,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> PlacementOut:
    """Recall the case from its agency."""
    row = agencies.recall(uow.session, actor, case_id, on=settings_of(request).today())
    uow.commit()
    return PlacementOut.model_validate(row)


@router.post("/placements/by-rule", response_model=dict[int, int], tags=["agencies"])
def post_place_by_rule(
    body: PlaceRuleIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> dict[int, int]:
    """Place matching open cases with the agencies in turn; cases placed per agency."""
    placed = agencies.place_by_rule(
        uow.session,
        actor,
        body.agency_ids,
        on=settings_of(request).today(),
        buckets=body.buckets,
        min_dpd=body.min_dpd,
        limit=body.limit,
    )
    uow.commit()
    return placed


@router.get("/agencies/performance", response_model=list[PerformanceOut], tags=["agencies"])
def get_performance(
    start: date,
    end: date,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[PerformanceOut]:
    """Collection rate and commission owed per agency for payments in [start, end]."""
    rows = agencies.performance(uow.session, actor, start, end)
    return [PerformanceOut(**asdict(r)) for r in rows]


@router.post("/cases/{case_id}/legal", response_model=LegalOut, status_code=201, tags=["legal"])
def post_legal(
    request: Request,
    case_id: RowId,
    body: LegalIn,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> LegalOut:
    """Record the next litigation stage of the case."""
    row = legal.record_stage(
        uow.session,
        actor,
        case_id,
        body.stage,
        body.started_on,
        court=body.court,
        court_case_number=body.court_case_number,
        costs=body.costs,
        notes=body.notes,
        pack=settings_of(request).compliance_pack,
    )
    uow.commit()
    return LegalOut.model_validate(row)


@router.get("/cases/{case_id}/legal", response_model=list[LegalOut], tags=["legal"])
def get_legal(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[LegalOut]:
    """The case's litigation stages in order."""
    visible_case(uow.session, actor, case_id)
    return hide_staff_in(
        uow.session,
        actor,
        [LegalOut.model_validate(s) for s in legal.stages_of(uow.session, case_id)],
    )


@router.get("/legal/pipeline", tags=["legal"])
def get_pipeline(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> dict[str, dict[str, Any]]:
    """Cases at each litigation stage, with costs."""
    return legal.pipeline(uow.session, actor)


@router.get("/dashboard", tags=["dashboard"])
def get_dashboard(
    request: Request,
    day: Annotated[date | None, Query()] = None,
    period: Annotated[str | None, Query()] = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> dict[str, Any]:
    """The figures per collector and in total for ``day`` (one business date), or for
    ``period`` (today, yesterday, last7, month, range) or a ``from``–``to`` range (at
    most 366 days; a bad one is a 422 saying why). Default: today."""
    settings = settings_of(request)
    if day is not None:
        first = last = day
    else:
        chosen = dashboard.resolve_period(settings.today(), period, date_from, date_to)
        first, last = chosen.first, chosen.last
    board = dashboard.dashboard(uow.session, actor, first, settings.time_zone, last=last)
    return {**asdict(board), "totals": asdict(board.totals), "active": board.active}


@router.post("/promises/settle", response_model=SettleOut, tags=["actions"])
def post_settle(
    request: Request,
    as_of: Annotated[date | None, Query()] = None,
    actor: Actor = Depends(admin_only),
    uow: UnitOfWork = Depends(get_uow),
) -> SettleOut:
    """Settle promises kept/broken through ``as_of`` (the close does this daily)."""
    counts = promises.settle_session(
        uow.session, as_of or settings_of(request).today(), actor.username
    )
    uow.commit()
    return SettleOut(**counts)


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def get_users(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[UserOut]:
    """Every user (supervisors and admins)."""
    require_role(actor, {"team_lead", "manager", "admin"}, "list users")
    return [UserOut.model_validate(u) for u in users.list_users(uow.session)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def post_user(
    body: UserIn, actor: Actor = Depends(admin_only), uow: UnitOfWork = Depends(get_uow)
) -> UserOut:
    """Add a user (admins)."""
    audit.begin_write(uow.session)
    row = users.create_user(
        uow.session,
        body.username,
        body.password,
        body.role,
        display_name=body.display_name,
        team_id=body.team_id,
        agency_id=body.agency_id,
        language=body.language,
        approval_limit=body.approval_limit,
        actor=actor.username,
    )
    uow.commit()
    return UserOut.model_validate(row)


@router.get("/teams", response_model=list[TeamOut], tags=["admin"])
def get_teams(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[TeamOut]:
    """Every team."""
    teams = uow.session.scalars(select(Team).order_by(Team.name))
    return [TeamOut.model_validate(t) for t in teams]


@router.post("/teams", response_model=TeamOut, status_code=201, tags=["admin"])
def post_team(
    body: TeamIn, actor: Actor = Depends(admin_only), uow: UnitOfWork = Depends(get_uow)
) -> TeamOut:
    """Add a team (admins)."""
    audit.begin_write(uow.session)
    row = users.create_team(uow.session, body.name, actor.username)
    uow.commit()
    return TeamOut.model_validate(row)


@router.get("/audit/verify", response_model=VerdictOut, tags=["admin"])
def get_audit_verify(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> VerdictOut:
    """Check the audit chain (compliance, admins)."""
    require_role(actor, {"compliance", "admin"}, "verify the audit chain")
    verdict = audit.verify(uow.session)
    return VerdictOut(**asdict(verdict))
