"""Actions on a case: contacts, promises, arrangements, holds, DPD pauses, field visits;
and the disposition codes and blacklist they use."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from arrears.services.workbench import (
    arrangements,
    contacts,
    dpd_pauses,
    holds,
    promises,
    visits,
)
from arrears.services.workbench.access import Actor, hide_staff_in
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.api.schemas import (
    ArrangementIn,
    ArrangementOut,
    BlacklistIn,
    BlacklistOut,
    ContactIn,
    ContactOut,
    DecisionIn,
    DispositionIn,
    DispositionOut,
    DpdPauseIn,
    DpdPauseOut,
    DpdResumeIn,
    HoldIn,
    HoldOut,
    PromiseIn,
    PromiseOut,
    VisitIn,
    VisitOut,
    VisitResultIn,
)
from arrears.web.app import settings_of
from arrears.web.deps import RowId, get_uow, require_user, workbench_router

router = workbench_router(tags=["actions"])


@router.get("/dispositions", response_model=list[DispositionOut])
def get_dispositions(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[DispositionOut]:
    """The active disposition codes."""
    return [DispositionOut.model_validate(d) for d in contacts.dispositions(uow.session)]


@router.put("/dispositions", response_model=DispositionOut)
def put_disposition(
    body: DispositionIn, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> DispositionOut:
    """Add or change a disposition code (managers, admins)."""
    row = contacts.save_disposition(
        uow.session,
        actor,
        body.code,
        body.label_en,
        body.label_zh,
        body.outcome,
        party=body.party,
        right_party=body.right_party,
        needs_promise=body.needs_promise,
        active=body.active,
    )
    uow.commit()
    return DispositionOut.model_validate(row)


@router.post(
    "/cases/{case_id}/contacts",
    response_model=ContactOut,
    status_code=201,
    responses={409: {"model": ContactOut, "description": "blocked by the compliance gate"}},
)
def post_contact(
    case_id: RowId,
    body: ContactIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> ContactOut | JSONResponse:
    """Log a contact with a disposition code. A contact the compliance gate blocks is
    recorded as blocked and answered 409 with the rules and reasons."""
    settings = settings_of(request)
    result = contacts.log_contact(
        uow.session,
        actor,
        case_id,
        body.channel,
        body.disposition,
        body.note,
        at=settings.now(),
        pack_name=settings.compliance_pack,
        callback_at=body.callback_at,
    )
    uow.commit()
    out = ContactOut(
        attempt_id=result.attempt.attempt_id,
        allowed=result.allowed,
        rules=list(result.rules),
        reasons=list(result.reasons),
        disposition=body.disposition,
    )
    if not result.allowed:
        return JSONResponse(out.model_dump(), status_code=409)
    return out


@router.post("/cases/{case_id}/promises", response_model=PromiseOut, status_code=201)
def post_promise(
    case_id: RowId,
    body: PromiseIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> PromiseOut:
    """Record a promise to pay (replaces the case's pending one)."""
    row = promises.create_promise(
        uow.session, actor, case_id, body.amount, body.due_date, on=settings_of(request).today()
    )
    uow.commit()
    return PromiseOut.model_validate(row)


@router.get("/cases/{case_id}/promises", response_model=list[PromiseOut])
def get_promises(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[PromiseOut]:
    """The case's promises, newest first."""
    rows = promises.promises_of(uow.session, actor, case_id)
    return hide_staff_in(uow.session, actor, [PromiseOut.model_validate(p) for p in rows])


@router.post("/promises/{promise_id}/cancel", response_model=PromiseOut)
def post_cancel_promise(
    promise_id: RowId,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> PromiseOut:
    """Cancel a pending promise."""
    row = promises.cancel_promise(uow.session, actor, promise_id, settings_of(request).today())
    uow.commit()
    return PromiseOut.model_validate(row)


@router.post("/cases/{case_id}/arrangements", response_model=ArrangementOut, status_code=201)
def post_arrangement(
    case_id: RowId,
    body: ArrangementIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> ArrangementOut:
    """Propose an arrangement (the user is the maker)."""
    row = arrangements.propose(
        uow.session,
        actor,
        case_id,
        body.kind,
        body.terms,
        on=settings_of(request).today(),
        note=body.note,
    )
    uow.commit()
    return ArrangementOut.model_validate(row)


@router.get("/cases/{case_id}/arrangements", response_model=list[ArrangementOut])
def get_arrangements(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[ArrangementOut]:
    """The case's arrangements."""
    rows = arrangements.arrangements_of(uow.session, actor, case_id)
    return hide_staff_in(uow.session, actor, [ArrangementOut.model_validate(a) for a in rows])


@router.get("/approvals", response_model=list[ArrangementOut])
def get_approvals(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[ArrangementOut]:
    """Pending arrangements the user may approve."""
    rows = arrangements.approvals_waiting(uow.session, actor)
    return hide_staff_in(uow.session, actor, [ArrangementOut.model_validate(a) for a in rows])


@router.post("/arrangements/{arrangement_id}/decision", response_model=ArrangementOut)
def post_decision(
    arrangement_id: RowId,
    body: DecisionIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> ArrangementOut:
    """Approve (posting to the ledger) or reject an arrangement."""
    row = arrangements.decide(
        uow.session,
        actor,
        arrangement_id,
        body.approve,
        on=settings_of(request).today(),
        note=body.note,
    )
    uow.commit()
    return ArrangementOut.model_validate(row)


@router.post("/cases/{case_id}/holds", response_model=HoldOut, status_code=201)
def post_hold(
    case_id: RowId,
    body: HoldIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> HoldOut:
    """Place a dispute, hardship or other hold."""
    row = holds.place_hold(
        uow.session,
        actor,
        case_id,
        body.kind,
        body.reason,
        on=settings_of(request).today(),
        channel=body.channel,
        whole_customer=body.whole_customer,
    )
    uow.commit()
    return HoldOut.model_validate(row)


@router.get("/cases/{case_id}/holds", response_model=list[HoldOut])
def get_holds(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[HoldOut]:
    """Holds on the case's customer."""
    return hide_staff_in(
        uow.session,
        actor,
        [HoldOut.model_validate(h) for h in holds.holds_of(uow.session, actor, case_id)],
    )


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def post_release_hold(
    hold_id: RowId,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> HoldOut:
    """Release a hold from today."""
    row = holds.release_hold(uow.session, actor, hold_id, on=settings_of(request).today())
    uow.commit()
    return HoldOut.model_validate(row)


@router.post("/cases/{case_id}/dpd-pauses", response_model=DpdPauseOut, status_code=201)
def post_dpd_pause(
    case_id: RowId,
    body: DpdPauseIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> DpdPauseOut:
    """Pause the DPD of the case's loan (hardship, dispute, other) from ``on`` (today by
    default) through ``until`` or until resumed; only days its close has not passed."""
    row = dpd_pauses.pause_dpd(
        uow.session,
        actor,
        case_id,
        body.reason,
        on=body.on or settings_of(request).today(),
        until=body.until,
        note=body.note,
    )
    uow.commit()
    return DpdPauseOut.model_validate(row)


@router.get("/cases/{case_id}/dpd-pauses", response_model=list[DpdPauseOut])
def get_dpd_pauses(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[DpdPauseOut]:
    """The DPD pauses of the case's loan, newest first."""
    rows = dpd_pauses.pauses_of(uow.session, actor, case_id)
    return hide_staff_in(uow.session, actor, [DpdPauseOut.model_validate(p) for p in rows])


@router.post("/dpd-pauses/{pause_id}/resume", response_model=DpdPauseOut)
def post_resume_dpd(
    pause_id: RowId,
    request: Request,
    body: DpdResumeIn | None = None,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> DpdPauseOut:
    """Resume a DPD pause: DPD counts again from ``on`` (today by default)."""
    on = (body.on if body else None) or settings_of(request).today()
    row = dpd_pauses.resume_dpd(uow.session, actor, pause_id, on=on)
    uow.commit()
    return DpdPauseOut.model_validate(row)


@router.get("/blacklist", response_model=list[BlacklistOut])
def get_blacklist(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[BlacklistOut]:
    """The blacklist (supervisors, compliance)."""
    return [BlacklistOut.model_validate(b) for b in holds.blacklist(uow.session, actor)]


@router.post("/blacklist", response_model=BlacklistOut, status_code=201)
def post_blacklist(
    body: BlacklistIn, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> BlacklistOut:
    """Add a contact value to the blacklist."""
    row = holds.add_to_blacklist(uow.session, actor, body.kind, body.value, body.reason)
    uow.commit()
    return BlacklistOut.model_validate(row)


@router.delete("/blacklist/{entry_id}", status_code=204)
def delete_blacklist(
    entry_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> None:
    """Remove a blacklist entry."""
    holds.remove_from_blacklist(uow.session, actor, entry_id)
    uow.commit()


@router.post("/cases/{case_id}/visits", response_model=VisitOut, status_code=201)
def post_visit(
    case_id: RowId,
    body: VisitIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> VisitOut:
    """Order a field visit."""
    row = visits.order_visit(
        uow.session,
        actor,
        case_id,
        body.scheduled_on,
        assigned_to=body.assigned_to,
        notes=body.notes,
        on=settings_of(request).today(),
    )
    uow.commit()
    return VisitOut.model_validate(row)


@router.get("/visits", response_model=list[VisitOut])
def get_visits(
    open_only: bool = False,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[VisitOut]:
    """Field visits in the user's scope."""
    rows = visits.visits(uow.session, actor, open_only=open_only)
    return hide_staff_in(uow.session, actor, [VisitOut.model_validate(v) for v in rows])


@router.post("/visits/{visit_id}/result", response_model=VisitOut)
def post_visit_result(
    visit_id: RowId,
    body: VisitResultIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> VisitOut:
    """Record what came of a visit."""
    row = visits.record_visit(
        uow.session,
        actor,
        visit_id,
        body.outcome,
        visited_on=settings_of(request).today(),
        notes=body.notes,
    )
    uow.commit()
    return VisitOut.model_validate(row)
