"""The staff page (人员与机构): teams, users and agencies, and the forms that create them.

An admin creates teams and users of every role; an admin or a manager creates agencies
(with their commission rate on the buckets they work), as the API allows
(``/api/v1/teams``, ``/users``, ``/agencies``). Each creation goes through the same
service as the API and the CLI (``services.workbench.users``), so it is checked and
audited the same way; a refusal is shown in the reader's language with the form kept
as typed (never the password). A user created without a password gets a random one
that meets the policy, shown once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from arrears.domain.errors import DomainError
from arrears.domain.money import parse_amount
from arrears.services import audit
from arrears.services.workbench import agencies, users
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Invalid
from arrears.store.models import LANGUAGES
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import ROLES
from arrears.web.deps import form_row_id, get_uow, require_page_user, workbench_router
from arrears.web.ui.pages import (
    Flashes,
    Form,
    allowed,
    first,
    read_form,
    refused,
    run_work,
    show,
)
from arrears.web.ui.pages_agencies import BUCKETS

router = workbench_router()
READERS = frozenset({"manager", "admin"})
ADMINS = frozenset({"admin"})
# roles a member of a team has: the collector works the team's cases, the lead leads it
TEAM_ROLES = frozenset({"collector", "team_lead"})


def _page(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    flashes: list[tuple[str, str]],
    status: int,
    typed: dict[str, Any] | None = None,
) -> Response:
    everyone = users.list_users(uow.session)
    teams = users.list_teams(uow.session)
    agency_list = agencies.agencies(uow.session)
    names = {team.id: team.name for team in teams}
    agency_names = {agency.id: agency.name for agency in agency_list}
    members: dict[int, int] = {}
    for user in everyone:
        if user.team_id is not None and user.active:
            members[user.team_id] = members.get(user.team_id, 0) + 1
    return show(
        request,
        actor,
        "staff.html",
        status_code=status,
        active_nav="staff",
        teams=[{"id": t.id, "name": t.name, "members": members.get(t.id, 0)} for t in teams],
        people=[
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "team": names.get(u.team_id or 0, ""),
                "agency": agency_names.get(u.agency_id or 0, ""),
                "language": u.language,
                "active": u.active,
            }
            for u in everyone
        ],
        agency_list=agency_list,
        roles=ROLES,
        languages=LANGUAGES,
        buckets=BUCKETS,
        can_admin=actor.role in ADMINS,
        typed=typed or {},
        flashes=flashes,
    )


@router.get("/staff")
def staff_page(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Teams, users and agencies, with the forms to create them."""
    if not allowed(actor, READERS):
        return refused(request, actor)
    return _page(request, actor, uow, [], 200)


def _run(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    roles: frozenset[str],
    form: Form,
    work: Callable[[Callable[..., str]], str],
) -> Response:
    if not allowed(actor, roles):
        return refused(request, actor)
    # a refused form comes back as typed (never the password)
    typed: dict[str, Any] = {k: first(form, k) for k in form if k not in ("password", "csrf_token")}
    typed["buckets"] = form.get("buckets", [])

    def page(
        request: Request, actor: Actor, uow: UnitOfWork, flashes: Flashes, status: int
    ) -> Response:
        return _page(request, actor, uow, flashes, status, typed if status != 200 else None)

    audit.begin_write(uow.session)
    return run_work(request, actor, uow, page, work)


@router.post("/staff/teams")
async def create_team(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """A new team (admins)."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        team = users.create_team(uow.session, first(form, "team_name"), actor.username)
        return t("staff.team_created", name=team.name)

    return await run_in_threadpool(_run, request, actor, uow, ADMINS, form, work)


def _optional_id(form: Form, key: str) -> int | None:
    return form_row_id(first(form, key), key) if first(form, key) else None


def _limit(form: Form) -> Decimal:
    try:
        return parse_amount(first(form, "approval_limit") or "0")
    except DomainError:
        raise Invalid(
            "approval_limit: not an amount", "not_amount", field="approval_limit"
        ) from None


@router.post("/staff/users")
async def create_user(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """A new user of any role (admins). Collectors and team leads belong to a team, an
    agency user to an agency; no password typed: a random one, shown once."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        role = first(form, "role")
        team_id = _optional_id(form, "team_id")
        if role in TEAM_ROLES and team_id is None:
            raise Invalid("team_id: a collector or team lead belongs to a team", "team_required")
        typed = (form.get("password") or [""])[0]
        password = typed or users.new_password(first(form, "username"))
        user = users.create_user(
            uow.session, first(form, "username"), password, role,
            display_name=first(form, "display_name"), team_id=team_id,
            agency_id=_optional_id(form, "agency_id") if role == "agency" else None,
            language=first(form, "language") or "zh_CN", approval_limit=_limit(form),
            actor=actor.username,
        )  # fmt: skip
        if typed:
            return t("staff.user_created", name=user.username)
        return t("staff.user_created_password", name=user.username, password=password)

    return await run_in_threadpool(_run, request, actor, uow, ADMINS, form, work)


def _rate(text: str) -> Decimal:
    """A commission rate typed as a share (0.15) or a percentage (15%)."""
    try:
        rate = Decimal(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ArithmeticError:
        rate = Decimal(-1)
    if not rate.is_finite() or not 0 < rate <= 1:
        raise Invalid("rate: a share above 0 and at most 1 (0.15 or 15%)", "rate", field="rate")
    return rate


@router.post("/staff/agencies")
async def create_agency(
    request: Request, actor: Actor = Depends(require_page_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """A new agency (admins, managers), with its commission rate on the chosen buckets
    (the strategy's agency steps place a case only where a rate pays on it)."""
    form = await read_form(request)

    def work(t: Callable[..., str]) -> str:
        agency = users.create_agency(
            uow.session, first(form, "code"), first(form, "agency_name"), actor.username
        )
        buckets = [b for b in form.get("buckets", []) if b]
        if any(b not in BUCKETS for b in buckets):
            raise Invalid(f"buckets: one of {', '.join(BUCKETS)}", "one_of", field="buckets")
        if buckets:
            rate = _rate(first(form, "rate"))
            agencies.set_commission_rates(
                uow.session, actor, agency.id, [{"bucket": b, "rate": rate} for b in buckets]
            )
        return t("staff.agency_created", name=agency.name)

    return await run_in_threadpool(_run, request, actor, uow, READERS, form, work)
