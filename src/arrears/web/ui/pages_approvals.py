"""The approvals inbox of team leads and managers (maker-checker): the pending
arrangements the actor may approve, with approve / reject."""

from __future__ import annotations

import json

from fastapi import Depends, Form, Request
from starlette.responses import Response

from arrears.services.workbench import arrangements
from arrears.services.workbench.access import SUPERVISORS, Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.app import settings_of
from arrears.web.deps import RowId, get_uow, require_page_user, workbench_router
from arrears.web.ui.i18n import request_language, translator
from arrears.web.ui.pages import allowed, refusal_for, refused, show

router = workbench_router()


def _inbox(
    request: Request, actor: Actor, uow: UnitOfWork, flashes: list[tuple[str, str]], status: int
) -> Response:
    waiting = [
        {
            "id": a.id,
            "case_id": a.case_id,
            "loan_id": a.loan_id,
            "kind": a.kind,
            "terms": json.loads(a.terms),
            "relief": a.relief,
            "required_role": a.required_role,
            "maker": a.maker,
            "created_at": a.created_at,
            "note": a.decision_note,
        }
        for a in arrangements.approvals_waiting(uow.session, actor)
    ]
    return show(
        request,
        actor,
        "approvals.html",
        status_code=status,
        active_nav="approvals",
        waiting=waiting,
        flashes=flashes,
    )


@router.get("/approvals")
def approvals_inbox(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Pending arrangements the actor could approve, oldest first."""
    if not allowed(actor, SUPERVISORS):
        return refused(request, actor)
    return _inbox(request, actor, uow, [], 200)


@router.post("/approvals/{arrangement_id}")
def decide(
    request: Request,
    arrangement_id: RowId,
    decision: str = Form(...),
    note: str = Form(""),
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Approve (the arrangement is posted to the ledger) or reject."""
    if not allowed(actor, SUPERVISORS):
        return refused(request, actor)
    t = translator(request_language(request, actor.language))
    try:
        row = arrangements.decide(
            uow.session,
            actor,
            arrangement_id,
            decision == "approve",
            on=settings_of(request).today(),
            note=note,
        )
    except WorkbenchError as error:
        uow.rollback()
        refusal = [("bad", t("rejected", reason=refusal_for(request, actor, error)))]
        return _inbox(request, actor, uow, refusal, error.status)
    uow.commit()
    done = t("approvals.done_one", id=row.id, status=t(f"approval.{row.status}"))
    return _inbox(request, actor, uow, [("ok", done)], 200)
