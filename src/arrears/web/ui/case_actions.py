"""The action panels of the case page: log a contact, promise to pay, propose an
arrangement, hold, field visit, note, blacklist. Each handler parses the form, calls
one back-end service, commits, and answers with the refreshed case page (htmx swaps
its main part) or, without htmx, a redirect back to it. A refusal from a service is
shown on the case page with its reason and HTTP status, nothing written.

The handlers are ``async`` only to read the form; the service call and the page run in
the threadpool, never on the event loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from arrears.domain.errors import DomainError
from arrears.domain.money import parse_amount
from arrears.services.clock import DEFAULT_TIME_ZONE
from arrears.services.workbench import (
    arrangements,
    contacts,
    dpd_pauses,
    holds,
    notes,
    promises,
    reveal,
)
from arrears.services.workbench import visits as visit_service
from arrears.services.workbench.access import Actor, visible_case
from arrears.services.workbench.errors import Invalid, WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.app import settings_of
from arrears.web.deps import RowId, get_uow, require_page_user, workbench_router
from arrears.web.ui.i18n import translator
from arrears.web.ui.pages import is_htmx, refusal_for, see_other
from arrears.web.ui.pages_case import business_date, case_page
from arrears.web.ui.render import money

router = workbench_router()


def _amount(form: dict[str, str], field: str) -> Decimal:
    try:
        return parse_amount(form.get(field, ""))
    except DomainError as exc:
        raise Invalid(f"{field}: {exc}", "not_amount", field=field) from None


def _date(form: dict[str, str], field: str) -> date:
    text = form.get(field, "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"{field}: {text!r} is not a date YYYY-MM-DD", "not_date", field=field
        ) from None


def _moment(request: Request, form: dict[str, str], field: str) -> datetime | None:
    """A date and time typed in the page's time zone (``YYYY-MM-DDTHH:MM``, what a
    datetime-local input sends); None when empty."""
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{field}: {text!r} is not a date and time YYYY-MM-DD HH:MM") from None
    if moment.tzinfo is not None:
        return moment
    zone = getattr(settings_of(request), "time_zone", "") or DEFAULT_TIME_ZONE
    return moment.replace(tzinfo=ZoneInfo(zone))


def _whole(form: dict[str, str], field: str) -> int:
    text = form.get(field, "").strip()
    if not text.isdigit():
        raise Invalid(f"{field}: {text!r} is not a whole number", "whole_number", field=field)
    return int(text)


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _respond(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    case_id: int,
    panel: str,
    work: Callable[[], tuple[str, str] | None],
) -> Response:
    """Run ``work`` (the service call); commit; show the outcome on the case page."""
    t = translator(_lang(request, actor))
    try:
        outcome = work()
    except WorkbenchError as error:
        uow.rollback()
        flashes = [("bad", t("rejected", reason=refusal_for(request, actor, error)))]
        return case_page(
            request, actor, uow, case_id, flashes=flashes, open_panel=panel,
            status_code=error.status,
        )  # fmt: skip
    uow.commit()
    if not is_htmx(request) and outcome is None:
        return see_other(f"/cases/{case_id}?done={panel}")
    flashes = [outcome] if outcome else [("ok", t(f"done.{panel}"))]
    return case_page(request, actor, uow, case_id, flashes=flashes)


def _lang(request: Request, actor: Actor) -> str:
    from arrears.web.ui.i18n import request_language

    return request_language(request, actor.language)


@router.post("/cases/{case_id}/contact")
async def log_contact(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Log a contact with its disposition; a contact the compliance gate blocks is
    recorded as blocked and the blocking rules are shown."""
    form = await _form(request)
    t = translator(_lang(request, actor))

    def work() -> tuple[str, str] | None:
        result = contacts.log_contact(
            uow.session, actor, case_id, form.get("channel", ""), form.get("disposition", ""),
            form.get("note", ""), at=settings_of(request).now(),
            pack_name=settings_of(request).compliance_pack,
            callback_at=_moment(request, form, "callback_at"),
        )  # fmt: skip
        if result.allowed:
            return None
        why = "; ".join(
            f"{rule}: {reason}" for rule, reason in zip(result.rules, result.reasons, strict=False)
        )
        return ("bad", t("contact_blocked", why=why or ", ".join(result.rules)))

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "contact", work)


@router.post("/cases/{case_id}/promise")
async def record_promise(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Record a promise to pay (amount, date); the daily close settles it."""
    form = await _form(request)

    def work() -> None:
        promises.create_promise(
            uow.session, actor, case_id, _amount(form, "amount"), _date(form, "due_date"),
            on=business_date(request),
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "promise", work)


def arrangement_terms(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The terms of an arrangement of ``kind`` from the panel's fields (only those the
    kind uses; the service checks them against the ledger)."""
    if kind == "settlement":
        return {"amount": str(_amount(form, "amount")), "pay_by": str(_date(form, "pay_by"))}
    if kind == "waiver":
        return {"component": form.get("component", ""), "amount": str(_amount(form, "amount"))}
    if kind == "extension":
        return {"months": _whole(form, "months")}
    if kind == "installment_plan":
        return {"count": _whole(form, "count"), "first_due": str(_date(form, "first_due"))}
    raise Invalid(f"kind: {kind!r} is not an arrangement kind", "one_of", field="kind")


@router.post("/cases/{case_id}/arrangement")
async def propose_arrangement(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Propose an installment plan, 展期, 减免 or 结清; above the actor's limit it waits
    for a team lead or manager (maker-checker)."""
    form = await _form(request)
    t = translator(_lang(request, actor))

    def work() -> tuple[str, str]:
        kind = form.get("kind", "")
        row = arrangements.propose(
            uow.session, actor, case_id, kind, arrangement_terms(kind, form),
            on=business_date(request), note=form.get("note", ""),
        )  # fmt: skip
        return (
            "ok",
            t("done.arrangement_waiting", role=t(f"role.{row.required_role}"),
              relief=money(row.relief)),
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "arrangement", work)


@router.post("/cases/{case_id}/hold")
async def place_hold(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """A dispute / hardship (or other) hold on the loan or the whole customer."""
    form = await _form(request)

    def work() -> None:
        holds.place_hold(
            uow.session, actor, case_id, form.get("kind", ""), form.get("reason", ""),
            on=business_date(request), channel=form.get("channel") or None,
            whole_customer=form.get("whole_customer") == "1",
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "hold", work)


@router.post("/cases/{case_id}/visit")
async def order_visit(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """A field-visit task (外访)."""
    form = await _form(request)

    def work() -> None:
        visit_service.order_visit(
            uow.session, actor, case_id, _date(form, "scheduled_on"),
            assigned_to=form.get("assigned_to") or None, notes=form.get("notes", ""),
            on=business_date(request),
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "visit", work)


@router.post("/cases/{case_id}/visit/{visit_id}/outcome")
async def visit_outcome(
    request: Request,
    case_id: RowId,
    visit_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Record the outcome of a field visit of this case."""
    form = await _form(request)

    def work() -> None:
        visit_service.record_visit(
            uow.session, actor, visit_id, form.get("outcome", ""),
            visited_on=_date(form, "visited_on"), notes=form.get("notes", ""), case_id=case_id,
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "visit", work)


@router.post("/cases/{case_id}/note")
async def add_note(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """A free-text note on the case."""
    form = await _form(request)

    def work() -> None:
        notes.add_note(uow.session, actor, case_id, form.get("body", ""))

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "note", work)


BLACKLIST_SOURCES = {"mobile": "phone", "email": "email"}


@router.post("/cases/{case_id}/blacklist")
async def blacklist(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Blacklist the customer's mobile or email (read through the logged reveal, so the
    collector never needs to see it) or a typed value."""
    form = await _form(request)

    def work() -> None:
        # the blacklist is global, but this form is the case's: only for a case one sees
        visible_case(uow.session, actor, case_id)
        source = form.get("source", "typed")
        reason = form.get("reason", "")
        if source in BLACKLIST_SOURCES:
            settings = settings_of(request)
            value = reveal.reveal(
                uow.session,
                actor,
                case_id,
                source,
                reason=reveal.RevealReason("blacklist", reason[:500]),
                limits=settings.reveals,
                now=settings.now(),
            )
            holds.add_to_blacklist(uow.session, actor, BLACKLIST_SOURCES[source], value, reason)
        else:
            holds.add_to_blacklist(uow.session, actor, "other", form.get("value", ""), reason)

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "blacklist", work)


@router.post("/cases/{case_id}/hold/{hold_id}/release")
async def release_hold(
    request: Request,
    case_id: RowId,
    hold_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """End a hold on this case from today (team leads, managers, compliance)."""

    def work() -> None:
        holds.release_hold(uow.session, actor, hold_id, on=business_date(request), case_id=case_id)

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "hold_released", work)


@router.post("/cases/{case_id}/dpd-pause")
async def pause_dpd(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Pause the DPD of the case's loan from ``on`` (today by default) through ``until``
    or until resumed (team leads, managers, compliance)."""
    form = await _form(request)

    def work() -> None:
        on = _date(form, "on") if form.get("on", "").strip() else business_date(request)
        until = _date(form, "until") if form.get("until", "").strip() else None
        dpd_pauses.pause_dpd(
            uow.session, actor, case_id, form.get("reason", ""), on=on, until=until,
            note=form.get("note", ""),
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "dpd_pause", work)


@router.post("/cases/{case_id}/dpd-pause/{pause_id}/resume")
async def resume_dpd(
    request: Request,
    case_id: RowId,
    pause_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """DPD of this case's loan counts again from today."""

    def work() -> None:
        dpd_pauses.resume_dpd(
            uow.session, actor, pause_id, on=business_date(request), case_id=case_id
        )

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "dpd_resumed", work)


@router.post("/cases/{case_id}/document")
async def upload_document(
    request: Request,
    case_id: RowId,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Attach a document (PDF, image, …) to the case; the back end checks type and size."""
    data = await request.form()
    upload = data.get("file")

    def work() -> None:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise Invalid("file: choose a file to upload", "required", field="file")
        content = upload.file.read(notes.MAX_DOCUMENT + 1)
        notes.add_document(
            uow.session, actor, case_id, upload.filename,
            upload.content_type or "application/octet-stream", content,
        )  # fmt: skip

    return await run_in_threadpool(_respond, request, actor, uow, case_id, "document", work)
