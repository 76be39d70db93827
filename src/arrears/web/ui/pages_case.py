"""The case page: the customer's whole picture in one screen (one call to the back
end's ``case_view``), the logged reveal of a masked value, and giving a case back."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Depends, Form, Request
from markupsafe import escape
from starlette.responses import HTMLResponse, Response

from arrears.services.workbench import agencies, contacts, queues, reveal
from arrears.services.workbench.access import REVEALERS, WORKERS, Actor
from arrears.services.workbench.dpd_pauses import PAUSE_ROLES
from arrears.services.workbench.errors import NotFound, WorkbenchError
from arrears.services.workbench.holds import BLACKLIST_ROLES, HOLD_ROLES
from arrears.services.workbench.visits import VISIT_OUTCOMES
from arrears.store.contact_models import CHANNELS, HOLD_KINDS
from arrears.store.models import PAUSE_REASONS
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import ARRANGEMENT_KINDS
from arrears.web.app import settings_of
from arrears.web.deps import RowId, get_uow, require_page_user, workbench_router
from arrears.web.ui.pages import context, failed, refusal_for, refused, see_other
from arrears.web.ui.render import render

router = workbench_router()
# components a waiver (减免) may reduce, most usual first
WAIVABLE = ("penalty", "compound", "fee", "interest", "principal")


def business_date(request: Request) -> date:
    """Today's business date, from the app's business clock (tests pin it)."""
    return settings_of(request).today()


def pivot_bucket_history(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Snapshot rows (as_of, loan_id, dpd, bucket, overdue_amount) as a table: the dates,
    the loans, and the cell of each (date, loan)."""
    dates = sorted({row["as_of"] for row in rows})
    loans = sorted({row["loan_id"] for row in rows})
    cells = {(row["as_of"], row["loan_id"]): row for row in rows}
    return {"dates": dates, "loans": loans, "cells": cells}


def blocked_reasons(statuses: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], str]]:
    """Why channels are blocked, once per set of blocking rules (a dispute hold blocks
    every channel for the same reason; saying it six times helps nobody)."""
    seen: dict[tuple[str, ...], str] = {}
    for status in statuses:
        rules = tuple(status["rules"])
        if not status["allowed"] and rules not in seen:
            seen[rules] = "; ".join(status["reasons"])
    return list(seen.items())


def case_page(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    case_id: int,
    *,
    flashes: list[tuple[str, str]] | None = None,
    open_panel: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The case page of ``case_id`` for ``actor`` (404 page outside their scope)."""
    from arrears.services.workbench.case_view import case_view

    try:
        view = case_view(
            uow.session,
            actor,
            case_id,
            workspace_root=request.app.state.workspace_root,
            now=settings_of(request).now(),
            today=settings_of(request).today(),
            pack_name=settings_of(request).compliance_pack,
        )
    except NotFound:
        return refused(request, actor, status_code=404)
    codes = contacts.dispositions(uow.session)
    agency_names = {agency.id: agency.name for agency in agencies.agencies(uow.session)}
    case_loan = next((x for x in view["loans"] if x["loan_id"] == view["case"]["loan_id"]), None)
    page = context(
        request,
        actor,
        view=view,
        case_loan=case_loan,
        history=pivot_bucket_history(view["bucket_history"]),
        active_holds=[h for h in view["holds"] if h["released_on"] is None],
        blocked_reasons=blocked_reasons(view["compliance"]),
        agency_names=agency_names,
        dispositions=codes,
        disposition_names={d.code: (d.label_en, d.label_zh) for d in codes},
        manual_channels=contacts.MANUAL_CHANNELS,
        channels=CHANNELS,
        hold_kinds=HOLD_KINDS,
        arrangement_kinds=ARRANGEMENT_KINDS,
        visit_outcomes=VISIT_OUTCOMES,
        waivable=WAIVABLE,
        today=business_date(request).isoformat(),
        can_work=actor.role in WORKERS,
        can_reveal=actor.role in REVEALERS,
        reveal_reasons=reveal.REVEAL_REASONS,
        can_blacklist=actor.role in BLACKLIST_ROLES,
        can_hold=actor.role in HOLD_ROLES,
        can_pause_dpd=actor.role in PAUSE_ROLES,
        pause_reasons=PAUSE_REASONS,
        case_flashes=flashes or [],
        open_panel=open_panel,
    )
    names = page["disposition_names"]
    index = 1 if page["lang"] == "zh_CN" else 0

    def disposition_label(code: str) -> str:
        return f"{code} · {names[code][index]}" if code in names else code

    page["disposition_label"] = disposition_label
    return render(request, "case.html", page, status_code=status_code)


DONE = {
    "contact": "done.contact",
    "promise": "done.promise",
    "arrangement": "done.arrangement",
    "hold": "done.hold",
    "visit": "done.visit",
    "note": "done.note",
    "blacklist": "done.blacklist",
    "released": "done.released",
    "hold_released": "done.hold_released",
    "dpd_pause": "done.dpd_pause",
    "dpd_resumed": "done.dpd_resumed",
    "document": "done.document",
}


@router.get("/cases/{case_id}")
def show_case(
    request: Request,
    case_id: RowId,
    done: str = "",
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The case page."""
    page = context(request, actor)
    flashes = [("ok", page["t"](DONE[done]))] if done in DONE else []
    return case_page(request, actor, uow, case_id, flashes=flashes)


@router.post("/cases/{case_id}/reveal")
def reveal_value(
    request: Request,
    case_id: RowId,
    field: str = Form(...),
    reason_code: str = Form(""),
    reason_text: str = Form(""),
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The full value of one masked field, as an htmx fragment, for the reason chosen
    on the page; the reveal is written with it to the audit chain before the value is
    sent (refused without a reason, or past the user's allowance)."""
    settings = settings_of(request)
    try:
        value = reveal.reveal(
            uow.session,
            actor,
            case_id,
            field,
            reason=reveal.RevealReason(reason_code, reason_text),
            limits=settings.reveals,
            now=settings.now(),
        )
    except WorkbenchError as error:
        why = escape(refusal_for(request, actor, error))
        return HTMLResponse(
            f'<span class="pii badge bad" role="alert">{why}</span>',
            status_code=error.status,
        )
    uow.commit()
    return HTMLResponse(
        f'<span class="pii revealed" data-testid="revealed-{escape(field)}">{escape(value)}</span>'
    )


@router.post("/cases/{case_id}/release")
def release(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Give back the actor's lock on the case and return to the queue."""
    try:
        queues.release_case(uow.session, actor, case_id)
    except WorkbenchError as error:
        return failed(request, actor, error)
    uow.commit()
    return see_other("/queue")
