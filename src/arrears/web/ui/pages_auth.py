"""Sign in, sign out and the language toggle."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from arrears.services.workbench.access import Actor
from arrears.services.workbench.users import LoginError, set_language
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User
from arrears.web.auth import (
    check_login_csrf,
    clear_session_cookie,
    hold_back,
    login,
    logout,
    set_session_cookie,
)
from arrears.web.deps import get_uow, optional_user, require_page_user, workbench_router
from arrears.web.ui.i18n import LANG_COOKIE, normalise_language, request_language, translator
from arrears.web.ui.pages import local_target, see_other, show
from arrears.web.ui.render import home_for

router = workbench_router()
ONE_YEAR = 365 * 24 * 3600


@router.get("/")
def home(actor: Actor = Depends(require_page_user)) -> Response:
    """The landing page of the actor's role."""
    return see_other(home_for(actor.role))


def _login_page(
    request: Request, error: str | None = None, username: str = "", status_code: int = 200
) -> Response:
    return show(
        request,
        None,
        "login.html",
        status_code=status_code,
        error=error,
        username=username,
        next_url=local_target(request.query_params.get("next"), ""),
        # a language picked with the toggle here is preselected; else the user's own
        chosen_lang=normalise_language(request.cookies.get(LANG_COOKIE)) or "",
    )


@router.get("/login")
def login_page(request: Request, actor: Actor | None = Depends(optional_user)) -> Response:
    """The sign-in form (an already signed-in user goes to their landing page)."""
    if actor is not None:
        return see_other(home_for(actor.role))
    return _login_page(request)


@router.post("/login")
async def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    lang: str = Form(""),
    next: str = Form(""),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Check the password (failures count toward the lockout), open a session, keep
    the language chosen on the form as the user's own, and go where the user was
    heading. Repeated failures are answered more slowly, then refused."""
    t = translator(normalise_language(lang) or request_language(request))
    if not await check_login_csrf(request):
        return _login_page(request, t("error.csrf"), username, status_code=403)
    # argon2 and the store off the event loop
    result = await run_in_threadpool(login, request, uow.session, username, password)
    if isinstance(result, LoginError):
        await hold_back(result)
        return _refused(request, result, username, t)
    return await run_in_threadpool(_signed_in, request, result, lang, next, uow)


def _refused(
    request: Request, result: LoginError, username: str, t: Callable[..., str]
) -> Response:
    if result.reason == "locked":
        return _login_page(request, t("login.locked_plain"), username, status_code=423)
    if result.reason == "throttled":
        page = _login_page(
            request,
            t("login.throttled", seconds=result.retry_after),
            username,
            status_code=429,
        )
        page.headers["Retry-After"] = str(result.retry_after)
        return page
    return _login_page(request, t("login.failed"), username, status_code=401)


def _signed_in(
    request: Request,
    result: tuple[User, str, str],
    lang: str,
    next: str,
    uow: UnitOfWork,
) -> Response:
    user, token, _csrf = result
    chosen = normalise_language(lang)
    if chosen and chosen != user.language:
        set_language(uow.session, user.id, chosen)
        uow.commit()
    response = see_other(local_target(next, home_for(user.role)))
    set_session_cookie(request, response, token)
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=ONE_YEAR, samesite="lax", path="/")
    return response


@router.post("/logout")
def logout_submit(
    request: Request,
    actor: Actor = Depends(require_page_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """End the session and show the sign-in form."""
    logout(request, uow.session)
    response = see_other("/login")
    clear_session_cookie(request, response)
    return response


def _set_language(uow: UnitOfWork, user_id: int, language: str) -> None:
    set_language(uow.session, user_id, language)
    uow.commit()


@router.post("/lang")
async def switch_language(
    request: Request,
    lang: str = Form(...),
    next: str = Form("/"),
    actor: Actor | None = Depends(optional_user),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Switch the interface language: the signed-in user's own setting (kept for their
    next visit) and, for the sign-in page, a cookie."""
    chosen = normalise_language(lang)
    if actor is None and not await check_login_csrf(request):
        message = translator(chosen or request_language(request))("error.csrf")
        return _login_page(request, message, status_code=403)
    if chosen and actor is not None and chosen != actor.language:
        await run_in_threadpool(_set_language, uow, actor.id, chosen)
    response = see_other(local_target(next, "/"))
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=ONE_YEAR, samesite="lax", path="/")
    return response
