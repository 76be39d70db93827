"""The staff side of the portal: the requests debtors made there (disputes, hardship,
arrangements outside the policy), each a task for a role with a deadline, at
``/debtor-requests`` under the workbench's own sign-in (never the portal's session).
Compliance sees the disputes, team leads hardship and arrangement requests, managers
and admins all of them, each only on cases in their scope."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from arrears.services.portal import actions, stats
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.deps import RowId, get_uow, require_role, workbench_router
from arrears.web.portal.words import WORDS
from arrears.web.ui.i18n import request_language
from arrears.web.ui.pages import failed, show

ROLES = ("compliance", "team_lead", "manager", "admin")
router = workbench_router(include_in_schema=False)


def _words(request: Request, actor: Actor):  # type: ignore[no-untyped-def]
    from arrears.web.portal.router import words

    return words(request_language(request, actor.language))


@router.get("/debtor-requests")
def requests_page(
    request: Request,
    actor: Actor = Depends(require_role(*ROLES, page=True)),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Open portal requests for the actor's role, by deadline."""
    rows = actions.open_requests(uow.session, actor)
    today = request.app.state.settings.today()
    figures = stats.self_service(uow.session, today - timedelta(days=29), today)
    return show(request, actor, "portal/staff_requests.html", rows=rows, today=today,
                w=_words(request, actor), outcomes=actions.RESOLUTIONS, words=WORDS,
                figures=figures)  # fmt: skip


@router.post("/debtor-requests/{request_id}")
def resolve(
    request: Request,
    request_id: RowId,
    outcome: str = Form(""),
    note: str = Form(""),
    actor: Actor = Depends(require_role(*ROLES, page=True)),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Close one request (a dispute's hold is released with it, see ``actions.resolve``)."""
    settings = request.app.state.settings
    try:
        actions.resolve(uow.session, actor, request_id, outcome[:40], note=note[:2000],
                        today=settings.today(), pack=settings.compliance_pack)  # fmt: skip
    except WorkbenchError as exc:
        uow.session.rollback()
        return failed(request, actor, exc)
    uow.commit()
    return RedirectResponse("/debtor-requests", status_code=303)
