"""A request never holds a database connection while it waits for a thread: with one
connection and one worker thread, many concurrent requests are all served (none waits
out the pool's timeout)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from web_support import NOW, log_in

from arrears.store.db import make_engine
from arrears.web.app import Settings, create_app


def _one_thread() -> None:
    anyio.to_thread.current_default_thread_limiter().total_tokens = 1


def test_one_connection_and_one_thread_serve_concurrent_requests(book) -> None:
    url = book.engine.url.render_as_string(hide_password=False)
    tight = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=3)
    app = create_app(engine=tight, settings=Settings(clock=lambda: NOW), migrate=False)
    try:
        with TestClient(app) as client:
            assert client.portal is not None
            client.portal.call(_one_thread)
            log_in(client, "c1")
            paths = ["/api/v1/queue", f"/api/v1/cases/{book.case_ids[0]}", "/api/v1/me"] * 8
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda p: client.get(p).status_code, paths))
        assert statuses == [200] * len(paths)
        assert tight.pool.checkedout() == 0  # every connection went back
    finally:
        tight.dispose()


def test_a_get_runs_on_a_read_only_unit_and_a_post_on_a_writing_one(book) -> None:
    from fastapi import Depends

    from arrears.store.unit_of_work import UnitOfWork
    from arrears.web.deps import get_uow

    app = create_app(engine=book.engine, settings=Settings(clock=lambda: NOW), migrate=False)

    @app.api_route("/probe", methods=["GET", "POST"])
    def probe(uow: UnitOfWork = Depends(get_uow)) -> dict[str, bool]:
        return {"read_only": uow.read_only}

    with TestClient(app) as client:
        assert client.get("/probe").json() == {"read_only": True}
        assert client.post("/probe").json() == {"read_only": False}


def test_handlers_run_on_as_many_threads_as_the_pool_has_connections(book, monkeypatch) -> None:
    monkeypatch.setenv("ARREARS_WEB_POOL_SIZE", "3")
    app = create_app(engine=book.engine, settings=Settings(clock=lambda: NOW), migrate=False)
    with TestClient(app) as client:
        assert client.portal is not None
        limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)
        assert limiter.total_tokens == 3
    monkeypatch.setenv("ARREARS_WEB_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="ARREARS_WEB_POOL_SIZE must be at least 1"):
        create_app(engine=book.engine, migrate=False)
    monkeypatch.setenv("ARREARS_WEB_POOL_SIZE", "sixteen")
    with pytest.raises(
        ValueError, match="ARREARS_WEB_POOL_SIZE must be a whole number, not 'sixteen'"
    ):
        create_app(engine=book.engine, migrate=False)
