"""A workspace on each backend with one overdue loan closed through the day before
the app's business date, the app on it with its clock in the tests' hands, and the
processor secret the stand-in signs with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from payment_support import SECRET, Clock, book_loan, init_workspace
from sqlalchemy import Engine

from arrears.batch.reference import close_book
from arrears.services.payment_config import ENV_PROCESSOR_SECRET
from arrears.web.app import Settings, create_app
from arrears.workspace import Workspace


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(ENV_PROCESSOR_SECRET, SECRET.decode())
    return SECRET


@pytest.fixture
def ws(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A workspace (its store on ``engine``'s backend) holding loan L1 of customer C1,
    never closed yet."""
    monkeypatch.setenv("ARREARS_WORKERS", "1")
    workspace = Workspace.at(tmp_path / "ws", engine.url.render_as_string(hide_password=False))
    init_workspace(workspace)
    book_loan(workspace)
    return workspace


@pytest.fixture
def closed(ws: Workspace) -> Workspace:
    """``ws`` closed through the day before the clock's business date."""
    close_book(ws, Clock().today() - timedelta(days=1))
    return ws


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(ws: Workspace, clock: Clock, secret: bytes) -> Iterator[TestClient]:
    app = create_app(ws.root, engine=ws.engine, settings=Settings(clock=clock), migrate=False)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
