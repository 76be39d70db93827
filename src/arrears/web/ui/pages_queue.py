"""My queue: the actor's open cases in priority order, and "next case", which hands out
the top free case under a lock (the back end's lease) and opens it."""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.responses import Response

from arrears.services.workbench import queues
from arrears.services.workbench.access import SUPERVISORS, Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.deps import Offset, get_uow, require_page_user, workbench_router
from arrears.web.ui.pages import allowed, failed, refused, see_other, show

router = workbench_router()
PAGE = 50
QUEUE_ROLES = frozenset({"collector", "team_lead", "manager", "agency"})
TAKERS = frozenset({"collector", "team_lead", "manager"})


@router.get("/queue")
def my_queue(
    request: Request,
    offset: Offset = 0,
    flash: str = "",
    assignee: str | None = None,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The queue page: counts, the next-case button, one page of cases."""
    if not allowed(actor, QUEUE_ROLES):
        return refused(request, actor)
    try:
        # supervisors may look at one collector's queue ("" = the unassigned pool)
        chosen = assignee if actor.role in SUPERVISORS else None
        items = queues.queue(uow.session, actor, assignee=chosen, limit=PAGE, offset=offset)
        sizes = queues.queue_sizes(uow.session, actor) if actor.role != "agency" else {}
    except WorkbenchError as error:
        return failed(request, actor, error)
    if actor.role == "collector":
        mine = sizes.get(actor.username, 0)
    elif actor.role == "agency":
        mine = len(items)
    else:  # supervisors: every assigned case in their scope
        mine = sum(n for name, n in sizes.items() if name)
    counts = {
        "mine": mine,
        "pool": sizes.get("") if actor.role != "agency" else None,
        "shown": len(items),
        "locked": sum(1 for item in items if item.leased_by),
    }
    flashes = [("info", "queue.none_free")] if flash == "none_free" else []
    return show(
        request,
        actor,
        "queue.html",
        active_nav="queue",
        items=items,
        counts=counts,
        offset=offset,
        limit=PAGE,
        can_take=allowed(actor, TAKERS),
        assignee=chosen,
        mine_key="queue.count_mine" if actor.role == "collector" else "queue.count_scope",
        flash_keys=flashes,
    )


@router.post("/queue/next")
def take_next_case(
    request: Request,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Lease the highest-priority free case to the actor and open it."""
    if not allowed(actor, TAKERS):
        return refused(request, actor)
    try:
        case = queues.next_case(uow.session, actor, lease=request.app.state.settings.lease)
    except WorkbenchError as error:
        return failed(request, actor, error)
    uow.commit()
    if case is None:
        return see_other("/queue?flash=none_free")
    return see_other(f"/cases/{case.id}")
