"""The JSON API's errors in the caller's language (issue 24, point 6): each keeps its
English ``detail`` and adds ``message`` worded for a person, in the language of the
``Accept-Language`` header, else of the user's own setting (the book's users are
zh_CN), with the refusal's ``code``."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User

PAST = {"amount": "10.00", "due_date": "2026-11-30"}  # the app's today is 2026-12-01


def test_a_service_refusal_in_the_users_language_or_the_headers(app, book, login) -> None:
    c1 = login("c1")  # language zh_CN
    url = f"/api/v1/cases/{book.case_ids[0]}/promises"
    refused = c1.post(url, json=PAST)
    body = refused.json()
    assert refused.status_code == 422
    assert "due_date" in body["detail"]  # the English sentence, as before
    assert body["code"] == "date_before" and body["lang"] == "zh_CN"
    assert body["message"] == "承诺日期：不能早于 2026-12-01。"
    english = c1.post(url, json=PAST, headers={"Accept-Language": "en-GB,en;q=0.9"}).json()
    assert english["message"] == "Promised date: must not be before 2026-12-01."
    assert english["lang"] == "en" and english["detail"] == body["detail"]
    with UnitOfWork(book.engine) as uow:
        uow.session.execute(update(User).where(User.username == "c1").values(language="en"))
        uow.commit()
    assert c1.post(url, json=PAST).json()["lang"] == "en"  # the user's setting, no header
    chinese = c1.post(url, json=PAST, headers={"Accept-Language": "zh-CN"}).json()
    assert chinese["lang"] == "zh_CN"  # the header wins for this request


def test_the_apis_own_refusals_are_worded_too(app, book, login) -> None:
    anonymous = TestClient(app)
    out = anonymous.get("/api/v1/queue", headers={"Accept-Language": "zh-CN"})
    assert out.status_code == 401 and out.json()["message"].startswith("未登录")
    assert out.json()["detail"] == "not logged in"
    out = anonymous.get("/api/v1/queue", headers={"Accept-Language": "en"})
    assert out.json()["message"].startswith("Not signed in")
    # a role refused before the handler (admins only)
    refused = login("c1").post("/api/v1/teams", json={"name": "x"})
    assert refused.status_code == 403 and refused.json()["message"] == "您无权执行此操作。"
    # the body FastAPI refuses before any handler names the fields, in words
    invalid = login("c2").post(f"/api/v1/cases/{book.case_ids[1]}/promises", json={})
    body = invalid.json()
    assert invalid.status_code == 422 and isinstance(body["detail"], list)
    assert body["code"] == "invalid_request"
    assert body["message"] == "以下内容填写有误：金额；承诺日期。"
    # a wrong password, in the language the client asks for
    token = anonymous.get("/api/v1/auth/csrf").json()["csrf_token"]
    failed = anonymous.post(
        "/api/v1/auth/login",
        json={"username": "c1", "password": "wrong-password-1"},
        headers={"X-CSRF-Token": token, "Accept-Language": "zh-CN"},
    )
    assert failed.status_code == 401 and failed.json()["message"] == "用户名或密码错误。"
    assert failed.json()["code"] == "login_failed"
    anonymous.close()
