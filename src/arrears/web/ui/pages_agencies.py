"""Agencies (委外): performance (collection rate, commission owed), placing cases by
hand or by rule, recall; and the litigation pipeline with recording a legal stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from arrears.domain.errors import DomainError
from arrears.domain.money import parse_amount
from arrears.services.workbench import agencies, legal
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Invalid
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import LEGAL_STAGES
from arrears.web.app import settings_of
from arrears.web.deps import (
    MAX_ROW_ID,
    form_row_id,
    get_uow,
    require_page_user,
    workbench_router,
)
from arrears.web.ui.pages import Flashes, allowed, first, read_form, refused, run_work, show

router = workbench_router()
BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M7+")
PERFORMANCE_DAYS = 30
# bounds of the by-rule form's numbers (the service checks the limit's own range)
MAX_DPD = 100_000
MAX_PLACE = 10_000
LEGAL_READERS = legal.LEGAL_ROLES | {"compliance"}


def _case_id(form: dict[str, list[str]]) -> int:
    return form_row_id(first(form, "case_id"), "case_id")


def _whole(form: dict[str, list[str]], key: str, default: str, high: int) -> int:
    text = first(form, key) or default
    if not text.isdigit() or int(text) > high:
        raise Invalid(
            f"{key}: a whole number from 0 to {high}", "whole_between", field=key, low=0, high=high
        )
    return int(text)


def _agencies_page(
    request: Request, actor: Actor, uow: UnitOfWork, flashes: Flashes, status: int
) -> Response:
    today = settings_of(request).today()
    start = today - timedelta(days=PERFORMANCE_DAYS)
    rows = agencies.performance(uow.session, actor, start, today)
    return show(
        request,
        actor,
        "agencies.html",
        status_code=status,
        active_nav="agencies",
        performance=rows,
        agency_list=agencies.agencies(uow.session),
        start=start,
        end=today,
        buckets=BUCKETS,
        can_place=actor.role in agencies.PLACERS,
        flashes=flashes,
    )


@router.get("/agencies")
def agencies_page(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Agency performance over the last 30 days and the placement forms."""
    if not allowed(actor, agencies.READERS):
        return refused(request, actor)
    return _agencies_page(request, actor, uow, [], 200)


@router.post("/agencies/place")
async def place(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Place one case with an agency by hand (re-place when it is with another)."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        if not first(form, "agency_id"):
            raise Invalid("agency_id: choose an agency", "required", field="agency_id")
        agency_id = form_row_id(first(form, "agency_id"), "agency_id")
        agencies.place(
            uow.session, actor, _case_id(form), agency_id, on=settings_of(request).today()
        )
        return t("agencies.placed")

    return await run_in_threadpool(run_work, request, actor, uow, _agencies_page, work)


@router.post("/agencies/recall")
async def recall(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Recall a placed case from its agency."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        agencies.recall(uow.session, actor, _case_id(form), on=settings_of(request).today())
        return t("agencies.recalled")

    return await run_in_threadpool(run_work, request, actor, uow, _agencies_page, work)


@router.post("/agencies/by-rule")
async def place_by_rule(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Place the worst open cases of the chosen buckets with the chosen agencies in turn."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        ids = [form_row_id(x, "agency_ids") for x in form.get("agency_ids", []) if x.strip()]
        placed = agencies.place_by_rule(
            uow.session, actor, ids, on=settings_of(request).today(),
            buckets=form.get("buckets") or None, min_dpd=_whole(form, "min_dpd", "0", MAX_DPD),
            limit=_whole(form, "limit", "100", MAX_PLACE),
        )  # fmt: skip
        return t("agencies.placed_by_rule", count=sum(placed.values()))

    return await run_in_threadpool(run_work, request, actor, uow, _agencies_page, work)


def _legal_page(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    flashes: Flashes,
    status: int,
    case_id: int | None = None,
) -> Response:
    today = settings_of(request).today()
    return show(
        request,
        actor,
        "legal.html",
        status_code=status,
        active_nav="legal",
        pipeline=legal.pipeline(uow.session, actor),
        tasks=legal.tasks(uow.session, actor, today),
        max_tasks=legal.MAX_TASKS,
        stages=LEGAL_STAGES,
        today=today.isoformat(),
        chosen_case=case_id,
        can_record=actor.role in legal.LEGAL_ROLES,
        flashes=flashes,
    )


@router.get("/legal")
def legal_page(
    request: Request,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """The litigation pipeline (cases and costs at each stage) and the legal team's
    tasks: each open case in litigation with its stage's next task and deadline;
    ``case_id`` fills the record form with that case."""
    if not allowed(actor, LEGAL_READERS):
        return refused(request, actor)
    return _legal_page(request, actor, uow, [], 200, case_id)


@router.post("/legal/stage")
async def record_stage(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Move a case to a litigation stage (court, case number, costs)."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        from datetime import date

        try:
            started = date.fromisoformat(first(form, "started_on"))
        except ValueError:
            raise Invalid(
                "started_on: a date YYYY-MM-DD is required", "not_date", field="started_on"
            ) from None
        try:
            costs = parse_amount(first(form, "costs") or "0")
        except DomainError as exc:
            raise Invalid(f"costs: {exc}", "not_amount", field="costs") from None
        legal.record_stage(
            uow.session, actor, _case_id(form), first(form, "stage"), started,
            court=first(form, "court"), court_case_number=first(form, "court_case_number"),
            costs=costs, notes=first(form, "notes"),
            pack=settings_of(request).compliance_pack,
        )  # fmt: skip
        return t("legal.recorded")

    return await run_in_threadpool(run_work, request, actor, uow, _legal_page, work)
