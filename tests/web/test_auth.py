"""Logins, lockout, sessions and CSRF through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_support import PASSWORD


def _login(client: TestClient, username: str, password: str) -> int:
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-CSRF-Token": token},
    )
    return response.status_code


def test_login_sets_an_httponly_lax_cookie_and_me_answers(app) -> None:
    client = TestClient(app)
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = client.post(
        "/api/v1/auth/login",
        json={"username": "c1", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200
    cookie = next(h for h in response.headers.get_list("set-cookie") if "arrears_session" in h)
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/api/v1/me").json()["role"] == "collector"


def test_wrong_password_is_401_and_anonymous_api_is_401(app) -> None:
    client = TestClient(app)
    assert _login(client, "c1", "not-the-password") == 401
    assert _login(client, "nobody", PASSWORD) == 401
    assert client.get("/api/v1/queue").status_code == 401


def test_five_failures_lock_the_account_even_for_the_right_password(app) -> None:
    client = TestClient(app)
    for _ in range(5):
        assert _login(client, "c2", "wrong-password") == 401
    assert _login(client, "c2", PASSWORD) == 423
    # another account is not affected
    assert _login(client, "c1", PASSWORD) == 200


def test_login_without_the_pre_login_csrf_token_is_refused(app) -> None:
    client = TestClient(app)
    response = client.post("/api/v1/auth/login", json={"username": "c1", "password": PASSWORD})
    assert response.status_code == 403


def test_state_change_without_or_with_a_wrong_csrf_token_is_refused(app, login, book) -> None:
    client = login("c1")
    good = client.headers.pop("X-CSRF-Token")
    case = book.case_ids[0]
    assert client.post(f"/api/v1/cases/{case}/notes", json={"body": "x"}).status_code == 403
    bad = {"X-CSRF-Token": "forged"}
    response = client.post(f"/api/v1/cases/{case}/notes", json={"body": "x"}, headers=bad)
    assert response.status_code == 403
    # a form post carries it as the csrf_token field
    response = client.post(f"/api/v1/cases/{case}/notes", data={"csrf_token": "forged"})
    assert response.status_code == 403
    response = client.post(
        f"/api/v1/cases/{case}/notes", json={"body": "ok"}, headers={"X-CSRF-Token": good}
    )
    assert response.status_code == 201
    assert [n["body"] for n in client.get(f"/api/v1/cases/{case}/notes").json()] == ["ok"]


def test_logout_ends_the_session(login) -> None:
    client = login("c1")
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_language_is_switchable_per_user(login) -> None:
    client = login("c1")
    assert client.put("/api/v1/me/language", json={"language": "en"}).json()["language"] == "en"
    assert client.get("/api/v1/me").json()["language"] == "en"
    assert login("c2").get("/api/v1/me").json()["language"] == "zh_CN"
