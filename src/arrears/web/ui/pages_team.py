"""The team page of team leads and managers: who has how many cases, reassigning one
case, and the bulk transfer of a collector's cases when they leave or change team
(the assignment history is kept by the back end)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from arrears.services.workbench import queues, users
from arrears.services.workbench.access import SUPERVISORS, Actor
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.deps import form_row_id, get_uow, require_page_user, workbench_router
from arrears.web.ui.pages import allowed, read_form, refused, run_work, show

router = workbench_router()


def _page(
    request: Request, actor: Actor, uow: UnitOfWork, flashes: list[tuple[str, str]], status: int
) -> Response:
    sizes = queues.queue_sizes(uow.session, actor)
    everyone = users.list_users(uow.session)
    collectors = [
        u
        for u in everyone
        if u.role == "collector"
        and u.active
        and (actor.role != "team_lead" or u.team_id == actor.team_id)
    ]
    members = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "cases": sizes.get(u.username, 0),
        }
        for u in collectors
    ]
    return show(
        request,
        actor,
        "team.html",
        status_code=status,
        active_nav="team",
        members=members,
        pool=sizes.get("", 0),
        flashes=flashes,
    )


@router.get("/team")
def team_page(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Members with their open cases, the unassigned pool, reassign and transfer forms."""
    if not allowed(actor, SUPERVISORS):
        return refused(request, actor)
    return _page(request, actor, uow, [], 200)


def _run(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    work: Callable[[Callable[..., str]], str],
) -> Response:
    if not allowed(actor, SUPERVISORS):
        return refused(request, actor)
    return run_work(request, actor, uow, _page, work)


@router.post("/team/reassign")
async def reassign(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Give one case to another collector (or back to the pool)."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        case_id = form_row_id((form.get("case_id") or [""])[0], "case_id")
        to_user = (form.get("to_user") or [""])[0] or None
        queues.reassign(uow.session, actor, case_id, to_user, (form.get("reason") or [""])[0])
        return t("team.reassigned")

    return await run_in_threadpool(_run, request, actor, uow, work)


@router.post("/team/transfer")
async def bulk_transfer(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Move every open case of one collector to others, round-robin (or to the pool)."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        moved = queues.bulk_transfer(
            uow.session,
            actor,
            (form.get("from_user") or [""])[0],
            [name for name in form.get("to_users", []) if name],
            (form.get("reason") or [""])[0],
            deactivate=(form.get("deactivate") or [""])[0] == "1",
        )
        return t("team.transfer_done", count=sum(moved.values()))

    return await run_in_threadpool(_run, request, actor, uow, work)
