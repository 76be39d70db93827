"""The web application: ``create_app`` builds the FastAPI app of the workbench.

JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``), pages under ``/``
from ``arrears.web.ui.router`` when that module is present, static files at
``/static``. The store is the workspace's (SQLite file) unless ``database_url`` or
``$ARREARS_DATABASE_URL`` names another; the schema is migrated to head on start.

Every response carries the security headers of ``SecurityHeaders`` (a
Content-Security-Policy without inline script or style, no framing, nosniff, no
referrer) and, outside ``/static``, ``Cache-Control: no-store``: pages and JSON carry
personal data.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrears.services.clock import business_date, utc_now, workspace_time_zone
from arrears.services.workbench.errors import Blocked, TooMany, WorkbenchError
from arrears.services.workbench.reveal import RevealLimits
from arrears.services.workbench.users import LockoutPolicy, SessionPolicy, warm_up
from arrears.store.db import make_engine, read_engine, upgrade
from arrears.web.auth import PRE_CSRF_COOKIE
from arrears.web.deps import LoginRequired

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Settings:
    """Knobs of a running app: login throttling and locks, session timeouts, how many
    reveals of personal data a user may make, how long a "next case" lease lasts, and
    whether cookies are sent over TLS only (``secure_cookies``: set it when the app is
    served behind HTTPS; ``arrears serve`` does unless it listens on loopback)."""

    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    reveals: RevealLimits = field(default_factory=RevealLimits)
    lease: timedelta = timedelta(minutes=30)
    secure_cookies: bool = False
    # the business clock; tests pin it (the date is the customer-facing "today")
    clock: Callable[[], datetime] | None = None
    # empty: the workspace's [compliance] pack (arrears.toml), read when the app is made
    compliance_pack: str = ""
    # the zone of the business date (arrears.services.clock); empty: the workspace's
    # [workspace] time_zone, read when the app is made (default Asia/Shanghai)
    time_zone: str = ""

    def now(self) -> datetime:
        """The current moment (UTC)."""
        return self.clock() if self.clock is not None else utc_now()

    def today(self) -> date:
        """Today's business date: the date of :meth:`now` in the workspace's zone."""
        return business_date(self.now(), self.time_zone or None)


def create_app(
    workspace_root: Path | None = None,
    database_url: str | None = None,
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    migrate: bool = True,
) -> FastAPI:
    """The workbench app on the store of ``workspace_root`` (default: the current
    folder) or ``database_url`` (or an already made ``engine``, as tests pass)."""
    from arrears.web.api import router as api_router

    settings = settings or Settings()
    root = Path(workspace_root).resolve() if workspace_root is not None else Path.cwd()
    if not settings.time_zone:
        settings = replace(settings, time_zone=workspace_time_zone(root))
    if not settings.compliance_pack:
        from arrears.services.settings import load_settings

        settings = replace(settings, compliance_pack=load_settings(root).compliance_pack)
    pool = _pool_size()
    engine = engine or make_engine(database_url, root, pool_size=pool)
    if migrate:
        upgrade(engine)
    app = FastAPI(
        lifespan=_threads_lifespan(pool),
        title="arrears workbench",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.read_engine = read_engine(engine)
    app.state.workspace_root = root
    app.state.settings = settings
    app.state.lockout = settings.lockout
    warm_up()  # the dummy hash unknown users are checked against
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(importlib.import_module("arrears.web.payments").router)  # processor
    app.include_router(importlib.import_module("arrears.web.portal.router").router)  # debtors
    _include_pages(app)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_handlers(app)
    return app


POOL_ENV = "ARREARS_WEB_POOL_SIZE"
POOL_SIZE = 16


def _pool_size() -> int:
    """Connections the app keeps open to a server database, and threads it runs
    request handlers on: ``$ARREARS_WEB_POOL_SIZE``, default 16 per worker process."""
    text = os.environ.get(POOL_ENV, str(POOL_SIZE))
    try:
        size = int(text)
    except ValueError:
        raise ValueError(f"{POOL_ENV} must be a whole number, not {text!r}") from None
    if size < 1:
        raise ValueError(f"{POOL_ENV} must be at least 1, not {size}")
    return size


def _threads_lifespan(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that runs handlers on ``threads`` threads (anyio's default is 40): a
    thread beyond the pool's connections would only wait for one while it contends for
    the GIL with those working (measured at 200 req/s, 3 workers: p50 of the case view
    110 -> 66 ms, p99 897 -> 665 ms with 16 instead of 40)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def app_from_environment() -> FastAPI:
    """The app of the workspace named by ``$ARREARS_WORKSPACE`` (and the store of
    ``$ARREARS_DATABASE_URL``), schema not touched: the factory each worker process of
    ``arrears serve --workers N`` imports (the parent migrated the store already)."""
    from arrears.workspace import Workspace

    ws = Workspace.at()
    settings = settings_from_environment()
    return serving(create_app(ws.root, ws.database_url, settings=settings, migrate=False))


SECURE_COOKIES_ENV = "ARREARS_SECURE_COOKIES"
SESSION_IDLE_ENV = "ARREARS_SESSION_IDLE_MINUTES"
SESSION_HOURS_ENV = "ARREARS_SESSION_HOURS"


def settings_from_environment() -> Settings:
    """The settings ``arrears serve`` passes its worker processes through the
    environment (``$ARREARS_SECURE_COOKIES`` 1/0, ``$ARREARS_SESSION_IDLE_MINUTES``,
    ``$ARREARS_SESSION_HOURS``); defaults where unset."""
    sessions = SessionPolicy()
    idle = os.environ.get(SESSION_IDLE_ENV)
    hours = os.environ.get(SESSION_HOURS_ENV)
    return Settings(
        secure_cookies=os.environ.get(SECURE_COOKIES_ENV, "0") == "1",
        sessions=SessionPolicy(
            idle=timedelta(minutes=float(idle)) if idle else sessions.idle,
            absolute=timedelta(hours=float(hours)) if hours else sessions.absolute,
        ),
    )


def serving(app: FastAPI) -> FastAPI:
    """``app``, with this serving process's garbage collector told that what exists
    now (modules, the app, its routes and models: ~150k objects) lives for good. A full
    collection then scans only what requests made since, instead of pausing every
    thread for ~40 ms now and then, which lands on whichever requests are in flight."""
    gc.collect()
    gc.freeze()
    return app


def settings_of(request: Request) -> Settings:
    """The settings of the app serving ``request``."""
    return request.app.state.settings


def _include_pages(app: FastAPI) -> None:
    try:
        pages = importlib.import_module("arrears.web.ui.router")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("arrears.web.ui"):
            log.info("pages not installed (%s); serving the API only", exc)
            return
        raise
    app.include_router(pages.router)


def _install_handlers(app: FastAPI) -> None:
    app.add_middleware(BodyLimit)  # innermost: its 413 gets the security headers
    app.add_middleware(PreLoginCsrfCookie)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(WorkbenchError)
    async def workbench_error(request: Request, exc: WorkbenchError) -> Response:
        words = _api_words()
        body: dict[str, object] = (
            words.refusal_body(request, exc) if words else {"detail": str(exc)}
        )
        if isinstance(exc, Blocked):
            body["rules"] = exc.rules
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse(body, status_code=exc.status, headers=headers)
        return HTMLResponse(
            f"<p role='alert'>{_escape(_page_words(request, exc))}</p>",
            status_code=exc.status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer echoes the input, and fails (500) when that holds a lone
        # surrogate ("\ud800" is valid JSON, not UTF-8): the same body, ASCII-escaped
        errors = jsonable_encoder(exc.errors())
        words = _api_words()
        answer = words.validation_body(request, errors) if words else {"detail": errors}
        body = json.dumps(answer, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # a value the database cannot hold (NUL in text, number out of range …)
        words = _api_words()
        body = words.store_refused_body(request) if words else {"detail": "a value is not valid"}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # the API's own refusals (not logged in, CSRF, role, login, no such route) also
        # say why in the caller's language; pages keep FastAPI's answer
        words = _api_words()
        path = request.url.path
        if words is None or not path.startswith(API_PREFIX):
            return await http_exception_handler(request, exc)
        body = words.http_error_body(request, exc.status_code, exc.detail, path, exc.headers)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            # htmx follows redirects inside the fragment; ask it to reload the page
            return Response(status_code=401, headers={"HX-Redirect": exc.next_url})
        return RedirectResponse(exc.next_url, status_code=303)


def _api_words() -> ModuleType | None:
    """``arrears.web.api.errors`` (the API's errors in the caller's language), or None
    when the pages' catalogue is not installed (the API then answers in English)."""
    try:
        return importlib.import_module("arrears.web.api.errors")
    except ModuleNotFoundError:
        return None


def _page_words(request: Request, exc: WorkbenchError) -> str:
    """A refusal on a page path, in the page's language (the English message when the
    pages are not installed)."""
    try:
        from arrears.web.ui.i18n import request_language, translator
        from arrears.web.ui.refusals import refusal_text
    except ModuleNotFoundError:
        return str(exc)
    language = request_language(request)
    return refusal_text(exc, translator(language), language)


# The largest body any route takes: three documents of 10 MiB (the portal's hardship or
# dispute form, a case document) and their form fields. The processor's webhook keeps
# its own, smaller limit (arrears.web.payments).
MAX_BODY = 32 * 1024 * 1024
TOO_LARGE = "请求内容过大 / Request body too large"


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413 before any handler reads it
    into memory: by its Content-Length at once, and, for a chunked body that declares
    none, as soon as what arrived passes the limit (a plain ASGI middleware)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            status = 413 if declared.isdigit() else 400
            await PlainTextResponse(TOO_LARGE if status == 413 else "", status)(
                scope, receive, send
            )
            return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except _TooLarge:
            if not started:
                await PlainTextResponse(TOO_LARGE, 413)(scope, receive, send)


class PreLoginCsrfCookie:
    """Sets the pre-login CSRF cookie when a handler made a token for a visitor
    (``auth.pre_login_token``) and the request did not carry it already.

    A plain ASGI middleware: it only adds a header to the response start, so it does not
    pay for the task and stream plumbing of Starlette's ``BaseHTTPMiddleware``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            token = state.get("pre_csrf")
            if (
                message["type"] == "http.response.start"
                and token
                and HTTPConnection(scope).cookies.get(PRE_CSRF_COOKIE) != token
            ):
                secure = scope["app"].state.settings.secure_cookies
                MutableHeaders(scope=message).append("set-cookie", _pre_csrf_cookie(token, secure))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _pre_csrf_cookie(token: str, secure: bool) -> str:
    """The Set-Cookie value of the pre-login token (HttpOnly: the login form carries
    the token in a hidden field, the API client gets it from /api/v1/auth/csrf)."""
    response = Response()
    response.set_cookie(
        PRE_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/"
    )
    return response.headers["set-cookie"]


# No inline script or style anywhere (htmx is served from /static and told not to
# inject its indicator style); nothing may frame the workbench.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from its CDN and starts it with an inline
# script; it shows the API's schema only, never personal data
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
)


class SecurityHeaders:
    """Adds the security headers to every HTTP response: the Content-Security-Policy,
    no framing, nosniff, no referrer, and ``Cache-Control: no-store`` on everything but
    ``/static`` (pages and JSON carry personal data; a shared or back-button cache must
    not keep them). A header the handler set itself is kept. Plain ASGI, as
    ``PreLoginCsrfCookie``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        docs = path.startswith(f"{API_PREFIX}/docs")
        added = [
            *SECURITY_HEADERS,
            (
                "content-security-policy",
                DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY,
            ),
        ]
        if not path.startswith("/static/"):
            added.append(("cache-control", "no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
