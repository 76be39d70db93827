"""The web application: ``create_app`` builds the FastAPI app of the workbench.

JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``), pages under ``/``
from ``arrears.web.ui.router`` when that module is present, static files at
``/static``. The store is the workspace's (SQLite file) unless ``database_url`` or
``$ARREARS_DATABASE_URL`` names another; the schema is migrated to head on start.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrears.services.workbench.errors import Blocked, WorkbenchError
from arrears.services.workbench.users import LockoutPolicy
from arrears.store.db import make_engine, read_engine, upgrade
from arrears.web.auth import PRE_CSRF_COOKIE
from arrears.web.deps import LoginRequired

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Settings:
    """Knobs of a running app: lockout policy, how long a "next case" lease lasts."""

    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    lease: timedelta = timedelta(minutes=30)
    secure_cookies: bool = False
    # the business clock; tests pin it (the date is the customer-facing "today")
    clock: Callable[[], datetime] | None = None
    compliance_pack: str = "cn"

    def now(self) -> datetime:
        """The current moment (UTC)."""
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def today(self) -> date:
        """Today's business date."""
        return self.now().date()


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
    app.include_router(api_router, prefix=API_PREFIX)
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
    return serving(create_app(ws.root, ws.database_url, migrate=False))


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
    app.add_middleware(PreLoginCsrfCookie)

    @app.exception_handler(WorkbenchError)
    async def workbench_error(request: Request, exc: WorkbenchError) -> Response:
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, Blocked):
            body["rules"] = exc.rules
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse(body, status_code=exc.status)
        return HTMLResponse(f"<p role='alert'>{_escape(str(exc))}</p>", status_code=exc.status)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # a value the database cannot hold (NUL in text, number out of range …)
        return JSONResponse({"detail": "a value is not valid for the store"}, status_code=422)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            # htmx follows redirects inside the fragment; ask it to reload the page
            return Response(status_code=401, headers={"HX-Redirect": exc.next_url})
        return RedirectResponse(exc.next_url, status_code=303)


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
                MutableHeaders(scope=message).append("set-cookie", _pre_csrf_cookie(token))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _pre_csrf_cookie(token: str) -> str:
    """The Set-Cookie value of the pre-login token (readable by the page's script)."""
    response = Response()
    response.set_cookie(PRE_CSRF_COOKIE, token, httponly=False, samesite="lax", path="/")
    return response.headers["set-cookie"]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
