"""Login, logout and CSRF for the web app (pages and JSON API alike).

The session cookie ``arrears_session`` (HttpOnly, SameSite=Lax) carries a random token;
the session row holds the CSRF token that every state-changing request must send back,
in the header ``X-CSRF-Token`` or the form field ``csrf_token``. Before login, a
double-submit cookie ``arrears_csrf`` plays that part, so the login form is protected
too. Templates call ``csrf_token(request)``.

The login page calls, in one unit of work::

    result = authenticate(session, username, password, client_ip(request), policy(request))
    session.commit()            # failures must count even when the login fails
    if isinstance(result, LoginError): ...show result.message...
    token, row = start_session(session, result, client_ip(request)); session.commit()
    set_session_cookie(response, token)

or simply ``login(request, session, username, password)`` / ``logout(request, session)``.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from sqlalchemy.orm import Session

from arrears.services.workbench.users import (
    LockoutPolicy,
    LoginError,
    authenticate,
    end_session,
    session_actor,
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
    "end_session",
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


def set_session_cookie(response: Response, token: str, secure: bool = False) -> None:
    """Put the session token in the HttpOnly, SameSite=Lax cookie."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/"
    )


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def login(
    request: Request, session: Session, username: str, password: str
) -> tuple[User, str, str] | LoginError:
    """Check the password and open a session, committing both: returns (user, cookie
    token, csrf token) or the LoginError. The caller sets the cookie
    (``set_session_cookie``)."""
    result = authenticate(session, username, password, client_ip(request), policy(request))
    session.commit()
    if isinstance(result, LoginError):
        return result
    token, row = start_session(session, result, client_ip(request))
    session.commit()
    return result, token, row.csrf_token


def logout(request: Request, session: Session) -> None:
    """End the request's session (committed); the caller clears the cookie."""
    found = session_actor(session, request.cookies.get(SESSION_COOKIE))
    actor = found[0].username if found else "anonymous"
    end_session(session, request.cookies.get(SESSION_COOKIE), actor)
    session.commit()
