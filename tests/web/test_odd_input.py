"""Odd input is answered 4xx, never 500 (issue 22, finding 9): the last day of the
calendar on the dashboard, ids beyond what the store's integers hold in every path
(API and pages), offsets and ids typed in forms, on SQLite (whose driver cannot bind
an int beyond 64 bits) and PostgreSQL (whose columns refuse one beyond their range)."""

from __future__ import annotations

import re

import fastapi.routing
import pytest

# beyond 64 bits (the URL), just beyond 64 bits, beyond 32 bits, and below 1
ODD_IDS = ("99999999999999999999", "9223372036854775808", "2147483648", "0", "-1")
PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def test_the_last_and_first_days_of_the_calendar_are_dashboard_days(login) -> None:
    mgr = login("mgr")
    for day in ("9999-12-31", "0001-01-01"):
        response = mgr.get("/api/v1/dashboard", params={"day": day})
        assert response.status_code == 200, response.text
        assert response.json()["day"] == day


def test_a_case_id_beyond_64_bits_is_a_client_error(login) -> None:
    mgr = login("mgr")
    page = mgr.get("/cases/99999999999999999999", follow_redirects=False)
    assert 400 <= page.status_code < 500, page.text[:300]
    api = mgr.get("/api/v1/cases/99999999999999999999")
    assert 400 <= api.status_code < 500, api.text[:300]


def _routes_with_ids(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    found = list(flatten(app.routes)) if flatten else app.routes
    out = []
    for route in found:
        path = getattr(route, "path", "") or ""
        for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
            if PATH_PARAMETER.search(path):
                out.append((method, path))
    return out


def test_every_id_in_every_path_out_of_range_is_a_client_error(app, login) -> None:
    """Each route with an id in its path (API and pages, reads and writes), each id
    out of range: 4xx, never 5xx."""
    admin = login("admin")
    routes = _routes_with_ids(app)
    assert len(routes) > 40
    crashed = []
    for method, path in routes:
        for odd in ODD_IDS:
            url = PATH_PARAMETER.sub(odd, path)
            response = admin.request(method, url, follow_redirects=False)
            if not 400 <= response.status_code < 500:
                crashed.append(f"{method} {url}: {response.status_code}")
    assert crashed == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/team/reassign", {"case_id": "99999999999999999999", "to_user": "c1"}),
        ("/agencies/place", {"case_id": "99999999999999999999", "agency_id": "1"}),
        ("/agencies/place", {"case_id": "1", "agency_id": "99999999999999999999"}),
        ("/agencies/recall", {"case_id": "99999999999999999999"}),
        ("/agencies/by-rule", {"agency_ids": "99999999999999999999"}),
        ("/agencies/by-rule", {"agency_ids": "1", "min_dpd": "99999999999999999999"}),
        ("/legal/stage", {"case_id": "99999999999999999999", "stage": "lawyer_letter",
                          "started_on": "2026-12-01"}),
    ],
)  # fmt: skip
def test_an_id_typed_in_a_form_beyond_range_is_refused_by_name(login, path, form) -> None:
    response = login("mgr").post(path, data=form, follow_redirects=False)
    assert response.status_code == 422, response.text[:300]
    name = next(key for key, value in form.items() if value == "99999999999999999999")
    assert name in response.text


def test_queue_offsets_beyond_range_are_client_errors(login) -> None:
    mgr = login("mgr")
    for offset in ("99999999999999999999", "-1"):
        assert mgr.get("/queue", params={"offset": offset}).status_code == 422
        assert mgr.get("/api/v1/queue", params={"offset": offset}).status_code == 422
