"""Fixtures of the workbench tests: the book of ``web_support.make_book`` on each
backend, the app on it with its clock pinned, and logged-in API clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_support import NOW, Book, login_client, make_book

from arrears.web.app import Settings, create_app


@pytest.fixture
def book(engine: Engine) -> Book:
    return make_book(engine)


@pytest.fixture
def app(book: Book):  # type: ignore[no-untyped-def]
    return create_app(engine=book.engine, settings=Settings(clock=lambda: NOW), migrate=False)


@pytest.fixture
def login(app) -> Iterator[Callable[[str], TestClient]]:  # type: ignore[no-untyped-def]
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = login_client(app, username)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
