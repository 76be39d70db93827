"""A request body over the app's limit is refused with 413 before any handler reads it
into memory: declared by Content-Length, or streamed in chunks without one (the
portal's forms before any session, the workbench's, the API's)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from arrears.web import app as web_app

LIMIT = web_app.MAX_BODY


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(app) -> None:
    with TestClient(app) as client:
        response = client.post(
            "/portal/code",
            content=b"x" * 10,
            headers={"content-length": str(LIMIT + 1), "content-type": "text/plain"},
        )
    assert response.status_code == 413
    assert "Request body too large" in response.text
    assert response.headers.get("content-security-policy")  # the security headers too


def test_a_streamed_body_is_cut_off_at_the_limit() -> None:
    """A chunked body with no Content-Length: the middleware stops reading at the limit
    and answers 413, though the handler behind it reads all it is given."""
    chunks = 0

    async def handler(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    async def receive() -> dict[str, object]:
        nonlocal chunks
        chunks += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": chunks < 100_000}

    answered: list[dict[str, object]] = []

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        answered.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    middleware = web_app.BodyLimit(handler, limit=10 * 1024)
    # a thread of its own: a browser test in this worker may keep an event loop running
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, send)).result()
    assert answered[0]["status"] == 413
    assert chunks == 11  # 10 KiB read, the 11th chunk passed the limit, no more


def test_a_streamed_body_over_the_limit_is_a_client_error_through_the_app(app) -> None:
    block = b"x" * (1024 * 1024)

    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // len(block) + 2):
            yield block

    with TestClient(app) as client:
        response = client.post(
            "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code in (400, 413), response.text[:200]


def test_a_body_within_the_limit_reaches_its_handler(app) -> None:
    with TestClient(app) as client:
        response = client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    assert response.status_code not in (413, 500)
