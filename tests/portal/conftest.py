"""Fixtures of the portal tests: the workbench tests' book (``tests/web/web_support``)
on each backend, the app on it with its clock pinned and a workspace folder of its own
(the SMS spool the one-time codes land in), and personal links into it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from web_support import NOW, Book, make_book

from arrears.web.app import Settings, create_app

# personal links are signed with a key kept outside the database, as the audit chain is
os.environ.setdefault("ARREARS_PORTAL_KEY", "7a" * 32)


@pytest.fixture
def book(engine: Engine) -> Book:
    return make_book(engine)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def app(book: Book, workspace: Path):  # type: ignore[no-untyped-def]
    return create_app(
        workspace, engine=book.engine, settings=Settings(clock=lambda: NOW), migrate=False
    )


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        yield c
