"""Auth endpoints: the pre-login CSRF token, login, logout, the current user."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fastapi import Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from arrears.services.workbench.access import Actor
from arrears.services.workbench.users import LoginError, set_language
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.auth import (
    check_login_csrf,
    clear_session_cookie,
    csrf_token,
    hold_back,
    login,
    logout,
    set_session_cookie,
)
from arrears.web.deps import get_uow, require_user, workbench_router

router = workbench_router(tags=["auth"])


class CsrfOut(BaseModel):
    csrf_token: str


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    agency_id: int | None
    language: str
    approval_limit: Decimal


class LoginOut(BaseModel):
    user: MeOut
    csrf_token: str


class LanguageIn(BaseModel):
    language: Literal["zh_CN", "en"]


def me_out(actor: Actor) -> MeOut:
    return MeOut(
        id=actor.id,
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role,
        team_id=actor.team_id,
        agency_id=actor.agency_id,
        language=actor.language,
        approval_limit=actor.approval_limit,
    )


@router.get("/auth/csrf", response_model=CsrfOut)
async def get_csrf(request: Request) -> CsrfOut:
    """The token to send as ``X-CSRF-Token`` with the login (sets the cookie it pairs
    with); once logged in, the session's token. No database work: it runs on the event
    loop, never waiting for a thread of the pool (all busy with database work under load)."""
    return CsrfOut(csrf_token=csrf_token(request))


async def login_csrf(request: Request) -> None:
    """The login's double-submit CSRF check (no database work: stays on the loop)."""
    if not await check_login_csrf(request):
        raise HTTPException(403, "CSRF token missing or wrong (GET /api/v1/auth/csrf first)")


LOGIN_STATUS = {"invalid": 401, "locked": 423, "throttled": 429}


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses={
        401: {"description": "wrong username or password"},
        423: {"description": "too many failures for this user from this address: locked"},
        429: {"description": "too many failures: wait Retry-After seconds"},
    },
    dependencies=[Depends(login_csrf)],
)
async def post_login(
    body: LoginIn, request: Request, response: Response, uow: UnitOfWork = Depends(get_uow)
) -> LoginOut:
    """Log in; sets the session cookie and returns the CSRF token for later requests.
    Repeated failures are answered more slowly, then refused (423, 429)."""
    # argon2 and the store off the event loop; the hold-back waits on it
    result = await run_in_threadpool(login, request, uow.session, body.username, body.password)
    if isinstance(result, LoginError):
        await hold_back(result)
        headers = {"Retry-After": str(result.retry_after)} if result.retry_after else None
        raise HTTPException(LOGIN_STATUS[result.reason], result.message, headers=headers)
    user, token, csrf = result
    set_session_cookie(request, response, token)
    return LoginOut(user=me_out(Actor.of(user)), csrf_token=csrf)


@router.post("/auth/logout", status_code=204)
def post_logout(
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """End the session."""
    logout(request, uow.session)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.get("/me", response_model=MeOut)
def get_me(actor: Actor = Depends(require_user)) -> MeOut:
    """The logged-in user."""
    return me_out(actor)


@router.put("/me/language", response_model=MeOut)
def put_language(
    body: LanguageIn, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> MeOut:
    """Switch the user's interface language."""
    user = set_language(uow.session, actor.id, body.language)
    uow.commit()
    return me_out(Actor.of(user))
