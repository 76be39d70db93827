"""Login, logout and CSRF for the web app (pages and JSON API alike).

The session cookie ``arrears_session`` (HttpOnly, SameSite=Lax, Secure when the app's
``secure_cookies`` is on) carries a random token; the session ends after the app's
``SessionPolicy`` (idle and absolute timeouts, checked on the server).
the session row holds the CSRF token that every state-changing request must send back,
in the header ``X-CSRF-Token`` or the form field ``csrf_token``. Before login, a
double-submit cookie ``arrears_csrf`` plays that part, so the login form is protected
too. Templates call ``csrf_token(request)``.

The login page calls, in one unit of work::

    result = login(request, session, username, password)   # commits, also failures
    if isinstance(result, LoginError):
        await hold_back(result)     # a pair's repeated failures are answered slowly
        ...show result.message (423 locked, 429 throttled + Retry-After, 401 invalid)...
    user, token, csrf = result
    set_session_cookie(request, response, token)

and ``logout(request, session)``.
"""

from __future__ import annotations

import hmac
import secrets

import anyio
from fastapi import Request, Response
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from arrears.services.workbench.access import Actor
from arrears.services.workbench.users import (
    LockoutPolicy,
    LoginError,
    SessionPolicy,
    authenticate,
    end_session,
    extend_session,
    live_session,
    start_session,
)
from arrears.store.workbench_models import User

SESSION_COOKIE = "arrears_session"
PRE_CSRF_COOKIE = "arrears_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "LoginError",
    "authenticate",
    "check_csrf",
    "client_ip",
    "csrf_token",
    "current_session",
    "end_session",
    "hold_back",
    "login",
    "logout",
    "start_session",
]


def client_ip(request: Request) -> str | None:
    """The peer address of the request."""
    return request.client.host if request.client else None


def policy(request: Request) -> LockoutPolicy:
    """The lockout policy the app was configured with."""
    return request.app.state.lockout


def session_policy(request: Request) -> SessionPolicy:
    """The session timeouts the app was configured with."""
    return request.app.state.settings.sessions


def current_session(request: Request, session: Session | Connection) -> tuple[Actor, str] | None:
    """The actor and CSRF token of the request's session cookie, or None (none,
    unknown, idle too long, past its absolute end, or the user deactivated). Moves the
    idle deadline on (a short write of its own, at most once a minute per session)."""
    settings = request.app.state.settings
    live = live_session(
        session, request.cookies.get(SESSION_COOKIE), settings.sessions, settings.now()
    )
    if live is None:
        return None
    extend_session(request.app.state.engine, live)
    return live.actor, live.csrf_token


def csrf_token(request: Request) -> str:
    """The CSRF token a page must embed (form field ``csrf_token`` or the htmx header
    ``X-CSRF-Token``): the session's once logged in, else the pre-login cookie's."""
    token = getattr(request.state, "csrf_token", None)
    if token:
        return token
    return pre_login_token(request)


def pre_login_token(request: Request) -> str:
    """The double-submit token of a visitor who is not logged in (made on first use;
    the middleware sets its cookie on the response)."""
    token = getattr(request.state, "pre_csrf", None)
    if token is None:
        token = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.pre_csrf = token
    return token


async def sent_csrf(request: Request) -> str | None:
    """The CSRF token the request carries (header first, then form field)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """Constant-time comparison; missing tokens never match."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


async def check_csrf(request: Request, expected: str | None) -> bool:
    """True for safe methods, or when the request carries ``expected``."""
    if request.method in SAFE_METHODS:
        return True
    return tokens_match(await sent_csrf(request), expected)


async def check_login_csrf(request: Request) -> bool:
    """The login form's double-submit check: the token sent equals the cookie's."""
    return tokens_match(await sent_csrf(request), request.cookies.get(PRE_CSRF_COOKIE))


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Put the session token in the HttpOnly, SameSite=Lax cookie (Secure when the app
    serves behind TLS: ``Settings.secure_cookies``). No Max-Age: the server ends the
    session (idle and absolute timeouts), the browser drops it when it closes."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )


async def hold_back(result: LoginError) -> None:
    """Wait before answering a failed login as long as the lockout policy asks (a
    pair's repeated failures): on the event loop, holding no thread or connection."""
    if result.hold_back > 0:
        await anyio.sleep(result.hold_back)


def login(
    request: Request, session: Session, username: str, password: str
) -> tuple[User, str, str] | LoginError:
    """Check the password and open a session, committing both: returns (user, cookie
    token, csrf token) or the LoginError. The caller sets the cookie
    (``set_session_cookie``)."""
    settings = request.app.state.settings
    ip = client_ip(request)
    result = authenticate(session, username, password, ip, policy(request), settings.now())
    session.commit()
    if isinstance(result, LoginError):
        return result
    token, row = start_session(session, result, ip, settings.sessions, settings.now())
    session.commit()
    return result, token, row.csrf_token


def logout(request: Request, session: Session) -> None:
    """End the request's session (committed); the caller clears the cookie."""
    found = current_session(request, session)
    actor = found[0].username if found else "anonymous"
    end_session(session, request.cookies.get(SESSION_COOKIE), actor)
    session.commit()
