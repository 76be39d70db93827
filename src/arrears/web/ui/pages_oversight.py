"""The manager's dashboard (queues, contacts, promises, payments per collector for a
period: today, yesterday, the last 7 days, this month or a from–to range) and the
compliance officer's view (blocked contacts by rule)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.responses import Response

from arrears.services.workbench import dashboard
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.app import settings_of
from arrears.web.deps import get_uow, require_page_user, workbench_router
from arrears.web.ui.blocked_report import blocked_contacts
from arrears.web.ui.pages import allowed, failed, refused, show

router = workbench_router()
BOARD_ROLES = frozenset({"team_lead", "manager"})
COMPLIANCE_ROLES = frozenset({"compliance", "manager"})


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    period: str | None = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The period's figures per collector and in total (default today); a bad period is
    a 422 page saying what is wrong. When the default period (today) has no activity,
    a hint links to the last day that had some."""
    if not allowed(actor, BOARD_ROLES):
        return refused(request, actor)
    try:
        settings = settings_of(request)
        today = settings.today()
        chosen = dashboard.resolve_period(today, period, date_from, date_to)
        board = dashboard.dashboard(
            uow.session, actor, chosen.first, settings.time_zone, last=chosen.last
        )
        last_active = None
        if not board.active and chosen.last >= today:
            last_active = dashboard.last_active_day(
                uow.session, actor, chosen.first, settings.time_zone
            )
    except WorkbenchError as error:
        return failed(request, actor, error)
    return show(
        request,
        actor,
        "dashboard.html",
        active_nav="dashboard",
        board=board,
        totals=board.totals,
        period=chosen,
        periods=dashboard.PERIODS,
        last_active=last_active,
    )


@router.get("/compliance")
def compliance_page(
    request: Request,
    days: int = 7,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Blocked contacts of the last ``days`` days, counted by the rule that blocked them,
    with the latest ones and their reasons."""
    if not allowed(actor, COMPLIANCE_ROLES):
        return refused(request, actor)
    days = min(max(days, 1), 90)
    since = settings_of(request).now() - timedelta(days=days)
    report = blocked_contacts(uow.session, since)
    return show(
        request, actor, "compliance.html", active_nav="compliance", report=report, days=days
    )
