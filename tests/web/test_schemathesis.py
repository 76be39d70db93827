"""Schemathesis against the app's own OpenAPI document, logged in as a manager: no
generated request may make the server fail (5xx or an unhandled exception)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from web_support import login_client

EXAMPLES = 6
SKIP = {("POST", "/api/v1/auth/logout")}  # would end the session the fuzzing runs in


@pytest.mark.slow
def test_no_generated_request_makes_the_server_fail(app) -> None:
    client = login_client(app, "mgr")
    cookies = dict(client.cookies)
    headers = {"X-CSRF-Token": client.headers["X-CSRF-Token"]}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        if (operation.method.upper(), operation.full_path) in SKIP:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=headers, cookies=cookies)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                    f"{response.status_code} {response.text[:200]}"
                )

        try:
            call()
        except Exception as exc:  # an unhandled server exception surfaces here
            failures.append(f"{operation.method.upper()} {operation.full_path}: {exc!r}"[:500])
    client.close()
    assert failures == []
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
