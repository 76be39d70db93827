"""The portal against a stranger: guessed, forged, expired and replaced links, brute
force of the identity question and the one-time code, another debtor's case, forms
without their CSRF token, odd input (never a 500), and sessions that never mix with the
workbench's. On SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import base64
import contextlib
import secrets
from datetime import timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_support import IDENTITY, csrf_of, link_path, open_link, spooled_code, verify
from sqlalchemy import func, select
from web_support import TODAY, log_in

from arrears.services.portal.access import Limits
from arrears.store.portal_models import PortalFailure
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Promise

LIMITS = Limits()


def test_guessed_tokens_are_refused_and_then_the_address_is_throttled(client, book) -> None:
    for _ in range(LIMITS.address_failures):
        guess = base64.urlsafe_b64encode(secrets.token_bytes(19)).decode().rstrip("=")
        assert client.get(f"/portal/l/{guess}").status_code == 404
    good = client.get(link_path("L1"))
    assert good.status_code == 429  # even a real link waits now, from this address
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(PortalFailure)) == 20


def test_a_changed_byte_or_another_key_is_not_a_link(client, monkeypatch) -> None:
    path = link_path("L1")
    token = path.rsplit("/", 1)[1]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert client.get(f"/portal/l/{flipped}").status_code == 404
    monkeypatch.setenv("ARREARS_PORTAL_KEY", "11" * 32)
    foreign = link_path("L1")
    monkeypatch.setenv("ARREARS_PORTAL_KEY", "7a" * 32)
    assert client.get(foreign).status_code == 404
    # an old key kept after the signing key: its links still open (rotation)
    monkeypatch.setenv("ARREARS_PORTAL_KEY", "22" * 32 + "," + "11" * 32)
    assert client.get(foreign).status_code == 303


def test_the_link_reveals_nothing_and_pages_need_verification(client) -> None:
    path = link_path("L1")
    assert "L1" not in path.rsplit("/", 1)[1]
    opened = client.get(path)
    page = client.get("/portal/verify").text
    assert opened.status_code == 303
    for secret in ("客户1", "3,355.48", "13812340001", "L1"):
        assert secret not in page
    for page in ("/portal/home", "/portal/promise", "/portal/dispute"):
        assert client.get(page).status_code == 401


def test_expired_and_replaced_links(client, workspace) -> None:
    old = TODAY - timedelta(days=31)
    assert client.get(link_path("L1", old)).status_code == 409
    assert "已过期" in client.get(link_path("L1", old)).text
    yesterday = TODAY - timedelta(days=1)
    assert client.get(link_path("L1", yesterday)).status_code == 303  # still valid
    verify(client, workspace)  # with today's link: older links of the loan are revoked
    again = client.get(link_path("L1", yesterday))
    assert again.status_code == 409
    assert "新链接" in again.text


def test_identity_guesses_lock_the_link(client) -> None:
    csrf = open_link(client)
    for _ in range(LIMITS.link_failures):
        wrong = client.post(
            "/portal/verify/identity", data={"id_last4": "9999", "csrf_token": csrf}
        )
        assert wrong.status_code == 422
    right = client.post(
        "/portal/verify/identity", data={"id_last4": IDENTITY["C1"][1], "csrf_token": csrf}
    )
    assert right.status_code == 429
    # a new session of the same link is still locked
    csrf = open_link(client)
    again = client.post(
        "/portal/verify/identity", data={"birth_date": IDENTITY["C1"][0], "csrf_token": csrf}
    )
    assert again.status_code == 429


def test_code_brute_force_spends_the_code_and_a_used_code_is_refused(client, workspace) -> None:
    csrf = open_link(client)
    client.post("/portal/verify/identity", data={"id_last4": "001x", "csrf_token": csrf})
    client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    code = spooled_code(workspace)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(LIMITS.code_tries - 1):
        assert (
            client.post("/portal/verify/code", data={"code": wrong, "csrf_token": csrf}).status_code
            == 422
        )
    last = client.post("/portal/verify/code", data={"code": wrong, "csrf_token": csrf})
    assert last.status_code == 422
    # five wrong answers: the right code no longer works, nor does the link for the hour
    right = client.post("/portal/verify/code", data={"code": code, "csrf_token": csrf})
    assert right.status_code == 429


def test_a_used_code_and_the_old_cookie_are_dead(client, workspace, app) -> None:
    csrf = open_link(client)
    before = client.cookies.get("arrears_portal")
    client.post("/portal/verify/identity", data={"birth_date": "1990-01-01", "csrf_token": csrf})
    client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    code = spooled_code(workspace)
    assert (
        client.post("/portal/verify/code", data={"code": code, "csrf_token": csrf}).status_code
        == 303
    )
    assert client.cookies.get("arrears_portal") != before  # a new cookie: no fixation
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set("arrears_portal", before or "", path="/portal")
        assert thief.get("/portal/home").status_code == 401
        thief.cookies.set("arrears_portal", client.cookies.get("arrears_portal") or "",
                          path="/portal")  # fmt: skip
        assert thief.get("/portal/home").status_code == 200  # the cookie is the session
    # the code was spent: sending it again is refused (the session is verified already)
    assert client.post(
        "/portal/verify/code", data={"code": code, "csrf_token": csrf}
    ).status_code in (403, 422)


def test_codes_per_session_are_limited(client) -> None:
    csrf = open_link(client)
    client.post("/portal/verify/identity", data={"birth_date": "1990-01-01", "csrf_token": csrf})
    for _ in range(LIMITS.codes_per_session):
        assert (
            client.post(
                "/portal/verify/send", data={"channel": "sms", "csrf_token": csrf}
            ).status_code
            == 303
        )
    assert (
        client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf}).status_code
        == 429
    )


def test_another_debtors_case_cannot_be_named(client, workspace, book) -> None:
    csrf = verify(client, workspace)  # debtor C1, loan L1
    for path in ("/portal/case/2", "/portal/loan/L2", "/portal/home/../l2", "/portal/2"):
        answer = client.get(path)
        assert answer.status_code in (401, 404) and "客户2" not in answer.text
    due = TODAY.isoformat()
    client.post(
        "/portal/promise",
        data={"amount": "10", "due_date": due, "csrf_token": csrf, "loan_id": "L2", "case_id": 2},
    )
    with UnitOfWork(book.engine) as uow:
        assert [p.loan_id for p in uow.session.scalars(select(Promise))] == ["L1"]
    # L2's link opens a new, unverified session: C1's verification does not carry over
    client.get(link_path("L2"))
    assert client.get("/portal/home").status_code == 401


FORMS = {
    "/portal/verify/identity": {"birth_date": "1990-01-01", "id_last4": "001X"},
    "/portal/verify/send": {"channel": "sms"},
    "/portal/verify/code": {"code": "000000"},
    "/portal/promise": {"amount": "10", "due_date": TODAY.isoformat()},
    "/portal/plan": {"count": "6", "first_due": TODAY.isoformat()},
    "/portal/settlement": {"pay_by": TODAY.isoformat()},
    "/portal/hardship": {"reason": "x"},
    "/portal/dispute": {"reason": "x"},
    "/portal/preferences": {"channel": "sms", "allow": "0"},
    "/portal/pay": {"amount": "10"},
    "/portal/lang": {"lang": "en"},
    "/portal/sign-out": {},
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_needs_its_csrf_token(client, workspace, book, form) -> None:
    verify(client, workspace)
    for token in (None, "wrong"):
        data = dict(FORMS[form]) | ({"csrf_token": token} if token else {})
        assert client.post(form, data=data).status_code == 403
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Promise)) == 0
    assert client.get("/portal/home").status_code == 200  # still signed in


def test_the_letter_code_form_needs_its_csrf_token(client) -> None:
    assert client.post("/portal/code", data={"code": "ABCD"}).status_code == 403
    page = client.get("/portal")
    csrf = csrf_of(page.text)
    assert client.post("/portal/code", data={"code": "ABCD", "csrf_token": csrf}).status_code == 404


ODD = st.one_of(
    st.text(max_size=50),
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "0",
            "1e400",
            "NaN",
            "9" * 40,
            "2026-02-30",
            "\x00",
            "\ud800",
            "<script>",
            "1,000.005",
            "99999-01-01",
            "०१२",
        ]
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=ODD, form=st.sampled_from(sorted(set(FORMS) - {"/portal/sign-out"})))
def test_odd_input_is_never_a_500(client, workspace, value, form) -> None:
    if client.get("/portal/home").status_code != 200:
        verify(client, workspace)
    csrf = csrf_of(client.get("/portal/home").text)
    data = {key: value for key in FORMS[form]} | {"csrf_token": csrf}
    try:
        answer = client.post(form, data=data)
    except UnicodeEncodeError:
        return  # the client cannot send a lone surrogate
    assert answer.status_code < 500, answer.text
    for path in (f"/portal/l/{quote(value, safe='')}", f"/portal/{quote(value, safe='')}"):
        with contextlib.suppress(UnicodeEncodeError):
            assert client.get(path).status_code < 500


def test_staff_and_portal_sessions_never_mix(client, workspace) -> None:
    log_in(client, "admin")  # a staff session in the same browser
    assert client.get("/portal/home").status_code == 401  # staff cookie is not a portal one
    verify(client, workspace)
    client.cookies.delete("arrears_session")
    answer = client.get("/queue")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_language_switch_works_on_an_error_page(client) -> None:
    old = link_path("L1", TODAY - timedelta(days=31))
    page = client.get(old)
    assert page.status_code == 409
    switched = client.post("/portal/lang", data={"lang": "en", "csrf_token": csrf_of(page.text)})
    assert switched.status_code == 303
    assert "This link has expired" in client.get(old).text
