"""My queue: the actor's open cases ranked as a floor manager would (promises due
today, promises broken yesterday, callbacks due, contactable now, then risk × amount;
``arrears.services.workbench.ranking``), "next case" in the same order under a lock
(the back end's lease), my promises, my callbacks, the team's load per collector, and
search with the inbound-call flow (``pages_floor``)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from arrears.services.clock import DEFAULT_TIME_ZONE
from arrears.services.workbench import queues
from arrears.services.workbench.access import SUPERVISORS, Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import DispositionCode
from arrears.web.app import settings_of
from arrears.web.deps import Offset, get_uow, require_page_user, workbench_router
from arrears.web.ui import pages_floor
from arrears.web.ui.pages import allowed, failed, refused, see_other, show

router = workbench_router()
router.include_router(pages_floor.router)
PAGE = 50
QUEUE_ROLES = frozenset({"collector", "team_lead", "manager", "agency"})
TAKERS = frozenset({"collector", "team_lead", "manager"})
LISTS = ("cases", "promises", "callbacks")


def worklist(request: Request) -> queues.Worklist:
    """The ranking of the app's workspace, its rule pack and its loans' risk."""
    settings = settings_of(request)
    return queues.Worklist.of_workspace(request.app.state.workspace_root, settings.compliance_pack)


def outcome_labels(uow: UnitOfWork, lang: str) -> dict[str, str]:
    """Disposition code → its label in ``lang`` (the last outcome column)."""
    index = 1 if lang == "zh_CN" else 0
    rows = uow.session.execute(
        select(DispositionCode.code, DispositionCode.label_en, DispositionCode.label_zh)
    )
    return {code: (en, zh)[index] for code, en, zh in rows}


def _lang(request: Request, actor: Actor) -> str:
    from arrears.web.ui.i18n import request_language

    return request_language(request, actor.language)


def _list_page(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    kind: str,
    *,
    offset: int,
    assignee: str | None,
    flash: str = "",
) -> Response:
    """One of the work lists (``LISTS``) as a page, with the counts and the tabs."""
    if not allowed(actor, QUEUE_ROLES):
        return refused(request, actor)
    settings = settings_of(request)
    # supervisors may look at one collector's list ("" = the unassigned pool)
    chosen = assignee if actor.role in SUPERVISORS else None
    work = worklist(request)
    args: dict[str, Any] = {
        "assignee": chosen,
        "limit": PAGE,
        "offset": offset,
        "now": settings.now(),
        "today": settings.today(),
        "work": work,
    }
    try:
        if kind == "promises":
            items = queues.promise_list(uow.session, actor, **args)
        elif kind == "callbacks":
            items = queues.callback_list(uow.session, actor, **args)
        else:
            items = queues.queue(uow.session, actor, **args)
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
        kind=kind,
        items=items,
        counts=counts,
        offset=offset,
        limit=PAGE,
        can_take=allowed(actor, TAKERS),
        supervisor=actor.role in SUPERVISORS,
        assignee=chosen,
        mine_key="queue.count_mine" if actor.role == "collector" else "queue.count_scope",
        flash_keys=flashes,
        outcome_labels=outcome_labels(uow, _lang(request, actor)),
        now=settings.now(),
        default_risk=work.ranking.default_risk,
    )


@router.get("/queue")
def my_queue(
    request: Request,
    offset: Offset = 0,
    flash: str = "",
    assignee: str | None = None,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The queue page: counts, the next-case button, one page of ranked cases."""
    return _list_page(request, actor, uow, "cases", offset=offset, assignee=assignee, flash=flash)


@router.get("/queue/promises")
def my_promises(
    request: Request,
    offset: Offset = 0,
    assignee: str | None = None,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """My promises (a team lead: the team's): pending or just broken, earliest first."""
    return _list_page(request, actor, uow, "promises", offset=offset, assignee=assignee)


@router.get("/queue/callbacks")
def my_callbacks(
    request: Request,
    offset: Offset = 0,
    assignee: str | None = None,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """My callbacks (a team lead: the team's): not called back yet, earliest first."""
    return _list_page(request, actor, uow, "callbacks", offset=offset, assignee=assignee)


@router.get("/queue/load")
def team_load(
    request: Request,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The load per collector: a team lead's team, a manager's every collector."""
    if not allowed(actor, SUPERVISORS):
        return refused(request, actor)
    settings = settings_of(request)
    try:
        rows = queues.collector_load(
            uow.session, actor, now=settings.now(), today=settings.today(),
            time_zone=getattr(settings, "time_zone", "") or DEFAULT_TIME_ZONE,
        )  # fmt: skip
    except WorkbenchError as error:
        return failed(request, actor, error)
    return show(request, actor, "queue_load.html", active_nav="queue", rows=rows, kind="load",
                supervisor=True)  # fmt: skip


@router.post("/queue/next")
def take_next_case(
    request: Request,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Lease the top-ranked free case to the actor and open it."""
    if not allowed(actor, TAKERS):
        return refused(request, actor)
    settings = settings_of(request)
    try:
        case = queues.next_case(
            uow.session, actor, lease=settings.lease, now=settings.now(),
            today=settings.today(), work=worklist(request),
        )  # fmt: skip
    except WorkbenchError as error:
        return failed(request, actor, error)
    uow.commit()
    if case is None:
        return see_other("/queue?flash=none_free")
    return see_other(f"/cases/{case.id}")
