"""FastAPI dependencies: the unit of work of a request, the current user (API flavour:
401; page flavour: redirect to /login), role checks and CSRF.

    @router.post("/cases/{case_id}/notes")
    def add(case_id: int, body: NoteIn, actor: Actor = Depends(require_user),
            uow: UnitOfWork = Depends(get_uow)): ...; uow.commit()

``require_user`` and ``require_page_user`` both refuse a state-changing request whose
CSRF token is missing or wrong (403). Handlers commit explicitly (``uow.commit()``);
whatever is not committed is rolled back when the request ends.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Invalid
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.auth import SAFE_METHODS, check_csrf, current_session

# ids are 32-bit in the store (INTEGER primary keys); a larger one names no row, and
# binding it would overflow the driver (SQLite) or the column (PostgreSQL)
MAX_ROW_ID = 2_147_483_647
# an offset into a list of cases: far beyond any book, far below the 64-bit limit
MAX_OFFSET = 1_000_000

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id (1 to 2^31 - 1)")]
"""The type of every ``{..._id}`` path parameter, API and pages: an id out of range is
answered 422 before a handler runs."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
"""The type of an ``offset`` query parameter."""


def form_row_id(text: str, field: str) -> int:
    """The row id typed in form field ``field`` ("#12" or "12"), or Invalid naming it."""
    digits = text.strip().lstrip("#")
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_ROW_ID:
        raise Invalid(
            f"{field}: {text.strip()!r} is not a number from 1 to {MAX_ROW_ID}",
            "whole_between",
            field=field,
            low=1,
            high=MAX_ROW_ID,
        )
    return int(digits)


class LoginRequired(Exception):
    """A page needs a logged-in user; the app answers with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def get_engine(request: Request) -> Engine:
    """The store engine of the app."""
    return request.app.state.engine


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """A unit of work for this request (rolled back unless the handler commits); for
    a GET (or another safe method) a read-only one on the app's read engine.

    Opening it touches no database (the session connects on first use, in the
    threadpool). A plain handler's routes close it in the handler's own thread
    (``Route``); whatever is still open at the end is closed on the event loop's
    executor, never on the request threadpool, so a request holding a connection
    never waits for a thread that may itself be waiting for a connection."""
    state = request.app.state
    if request.method in SAFE_METHODS:  # a GET changes nothing: a read-only unit
        uow = UnitOfWork(state.read_engine, read_only=True).__enter__()
    else:
        uow = UnitOfWork(state.engine).__enter__()
    try:
        yield uow
    finally:
        if uow.session.in_transaction():
            await asyncio.get_running_loop().run_in_executor(None, uow.close)
        else:
            uow.close()


class Route(APIRoute):
    """The workbench's route: a plain (sync) handler closes the request's unit of work
    in its own thread as soon as it returns, giving the database connection back before
    the response is validated (itself a threadpool trip). Loaded rows stay readable
    (the store's models have no lazy attributes)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _closing_units(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _closing_units(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, UnitOfWork):
                    value.close()

    return run


def workbench_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` of workbench routes (``Route``)."""
    return APIRouter(route_class=Route, **kwargs)


def _session_user(request: Request) -> Actor | None:
    """The actor of the session cookie, or None. A plain function, so FastAPI runs its
    database work in the threadpool, never on the event loop.

    The login is checked on a connection of the read engine (autocommit on PostgreSQL)
    of its own, given back to the pool at once: no ORM session is opened for it, a
    write's own unit of work begins its transaction with the handler's first statement,
    and no read snapshot is held while the handler waits for a thread (on SQLite a
    write after a stale read snapshot would fail under concurrency)."""
    with request.app.state.read_engine.connect() as connection:
        found = current_session(request, connection)
    if found is None:
        return None
    actor, request.state.csrf_token = found
    request.state.actor = actor
    return actor


async def _checked(request: Request, actor: Actor | None) -> Actor | None:
    if actor is not None and not await check_csrf(request, request.state.csrf_token):
        raise HTTPException(403, "CSRF token missing or wrong")
    return actor


async def require_user(request: Request, actor: Actor | None = Depends(_session_user)) -> Actor:
    """The logged-in user of an API request; 401 without a valid session, 403 for a
    state-changing request without the session's CSRF token."""
    actor = await _checked(request, actor)
    if actor is None:
        raise HTTPException(401, "not logged in", headers={"WWW-Authenticate": "Cookie"})
    return actor


async def require_page_user(
    request: Request, actor: Actor | None = Depends(_session_user)
) -> Actor:
    """The logged-in user of a page; without a session, a redirect to /login?next=…"""
    actor = await _checked(request, actor)
    if actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired("/login?next=" + quote(target, safe=""))
    return actor


async def optional_user(
    request: Request, actor: Actor | None = Depends(_session_user)
) -> Actor | None:
    """The logged-in user, or None (for pages such as /login)."""
    return await _checked(request, actor)


def require_role(*roles: str, page: bool = False) -> Callable[..., object]:
    """A dependency giving the current user when their role is one of ``roles``
    (403 otherwise). ``page=True`` redirects anonymous visitors to /login."""
    base = require_page_user if page else require_user

    async def dependency(actor: Actor = Depends(base)) -> Actor:
        if actor.role not in roles:
            raise HTTPException(403, f"a {actor.role} may not do this")
        return actor

    return dependency
