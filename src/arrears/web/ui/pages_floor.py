"""Search and the inbound-call flow: find a customer's cases by name, phone, 身份证
digits, loan or customer id (``arrears.services.workbench.search``), in the actor's
scope and masked for their role; a caller's phone number opens the matching case, or
a pick-list when several match. A full number is only ever seen through the case
page's logged reveal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.responses import Response

from arrears.services.workbench import search as search_service
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.deps import get_uow, require_page_user, workbench_router
from arrears.web.ui.pages import allowed, failed, refused, see_other, show

router = workbench_router()
Text = Annotated[str, Query(max_length=search_service.MAX_QUERY)]


@router.get("/search")
def search_page(
    request: Request,
    q: Text = "",
    by: Annotated[str, Query(max_length=16)] = "any",
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The search form and, when something was typed, the cases it finds."""
    if not allowed(actor, search_service.SEARCHERS):
        return refused(request, actor)
    hits = None
    if q.strip():
        try:
            hits = search_service.search(uow.session, actor, q, key=by)
        except WorkbenchError as error:
            return failed(request, actor, error)
    return show(
        request, actor, "search.html", active_nav="search", q=q, by=by,
        keys=search_service.KEYS, hits=hits, inbound=False,
    )  # fmt: skip


@router.get("/inbound")
def inbound_call(
    request: Request,
    phone: Text = "",
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """An inbound call: the caller's number opens their case, or lists the cases to
    pick from when it matches none or several."""
    if not allowed(actor, search_service.SEARCHERS):
        return refused(request, actor)
    hits = None
    if phone.strip():
        try:
            match = search_service.inbound(uow.session, actor, phone)
        except WorkbenchError as error:
            return failed(request, actor, error)
        if match.case_id is not None:
            return see_other(f"/cases/{match.case_id}")
        hits = match.hits
    return show(
        request, actor, "search.html", active_nav="search", q=phone, by="phone",
        keys=search_service.KEYS, hits=hits, inbound=True,
    )  # fmt: skip
