"""The manager's dashboard (today's queues, contacts, promises, payments per
collector) and the compliance officer's view (blocked contacts by rule)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
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
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Today's figures per collector and in total."""
    if not allowed(actor, BOARD_ROLES):
        return refused(request, actor)
    try:
        settings = settings_of(request)
        board = dashboard.dashboard(uow.session, actor, settings.today(), settings.time_zone)
    except WorkbenchError as error:
        return failed(request, actor, error)
    return show(
        request, actor, "dashboard.html", active_nav="dashboard", board=board, totals=board.totals
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
