"""An outside tester's probes of the debtor portal, each a regression test of what was
found (or of what held where it was cheap to keep): on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from portal_support import open_link, verify
from sqlalchemy import select
from web_support import TODAY

from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import CaseDocument

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _upload(client, csrf, name, content=PDF, kind="application/pdf", path="/portal/hardship"):
    return client.post(
        path,
        data={"reason": "lost my job", "csrf_token": csrf},
        files=[("documents", (name, io.BytesIO(content), kind))],
    )


def test_upload_names_cannot_traverse_or_smuggle(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    for name in ("../../etc/passwd.pdf", "..\\..\\x.pdf", "a\x00b.pdf", "\u202efdp.exe.pdf"):
        answer = _upload(client, csrf, name)
        assert answer.status_code < 500, (name, answer.text[:300])
    with UnitOfWork(book.engine) as uow:
        names = list(uow.session.scalars(select(CaseDocument.file_name)))
    for stored in names:
        assert "/" not in stored and "\\" not in stored and "\x00" not in stored, stored
        assert "\u202e" not in stored, stored


def test_a_page_declared_as_a_pdf_is_refused(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    answer = _upload(client, csrf, "x.pdf", b"<html><script>alert(1)</script></html>")
    assert 400 <= answer.status_code < 500
    with UnitOfWork(book.engine) as uow:
        assert not list(uow.session.scalars(select(CaseDocument.id)))


def test_free_text_with_nul_and_markup_is_4xx_or_escaped(client, workspace) -> None:
    csrf = verify(client, workspace)
    for reason in ("a\x00b", "<script>alert(1)</script>"):
        answer = client.post("/portal/hardship", data={"reason": reason, "csrf_token": csrf})
        assert answer.status_code < 500, answer.text[:300]
    assert "<script>alert(1)" not in client.get("/portal/home").text


def test_the_sent_notice_shows_only_a_masked_recipient(client, workspace) -> None:
    csrf = open_link(client)
    client.post("/portal/verify/identity", data={"birth_date": "1990-01-01", "csrf_token": csrf})
    page = client.get("/portal/verify", params={"sent": "请致电 400-000-0000 领取退款"})
    assert "领取退款" not in page.text
    sent = client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    page = client.get(sent.headers["location"])
    assert "138****0001" in page.text  # the real notice, from the store
    page = client.get("/portal/verify", params={"sent": "请致电 400-000-0000 领取退款"})
    assert "领取退款" not in page.text and "138****0001" in page.text


def test_amounts_in_exponent_form(client, workspace) -> None:
    csrf = verify(client, workspace)
    for value in ("1e3", "1E+1", "-0", "NaN", "Infinity", "0.001", "1e-2"):
        answer = client.post(
            "/portal/promise",
            data={"amount": value, "due_date": TODAY.isoformat(), "csrf_token": csrf},
        )
        assert answer.status_code < 500, (value, answer.text[:300])
    home = client.get("/portal/home").text
    assert "E+" not in home


def _hardship_request(client, workspace, book, reason="<img src=x onerror=alert(1)>"):
    csrf = verify(client, workspace)
    answer = client.post("/portal/hardship", data={"reason": reason, "csrf_token": csrf})
    assert answer.status_code == 303, answer.text[:300]
    from arrears.store.portal_models import PortalRequest

    with UnitOfWork(book.engine) as uow:
        return uow.session.scalar(select(PortalRequest.id))


def test_staff_requests_are_scoped_to_the_actor(app, client, workspace, book) -> None:
    from fastapi.testclient import TestClient
    from web_support import log_in

    from arrears.store.portal_models import PortalRequest

    request_id = _hardship_request(client, workspace, book)
    for name in ("tl2", "comp", "c1", "ag"):  # another team, another role, no role
        with TestClient(app, follow_redirects=False) as staff:
            log_in(staff, name)
            page = staff.get("/debtor-requests")
            assert f"debtor-request-{request_id}" not in page.text
            answer = staff.post(
                f"/debtor-requests/{request_id}", data={"outcome": "granted", "note": "x"}
            )
            assert answer.status_code in (403, 404), (name, answer.status_code)
    with UnitOfWork(book.engine) as uow:
        assert uow.session.get(PortalRequest, request_id).status == "open"
    with TestClient(app, follow_redirects=False) as staff:
        log_in(staff, "tl")
        page = staff.get("/debtor-requests")
        assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
        del staff.headers["X-CSRF-Token"]
        answer = staff.post(f"/debtor-requests/{request_id}", data={"outcome": "granted"})
        assert answer.status_code == 403
    # the portal's cookie is no staff session
    assert client.get("/debtor-requests").status_code in (303, 401, 403)


def test_racing_wrong_codes_get_no_more_tries_than_the_limit(client, workspace, book) -> None:
    """Many wrong codes at once (PostgreSQL: truly concurrent) are judged one after
    another: no more than the link's limit are weighed, the rest wait (TooMany)."""
    import threading

    import pytest
    from sqlalchemy.orm import Session
    from web_support import NOW

    from arrears.services.portal import access
    from arrears.services.workbench.errors import WorkbenchError
    from arrears.store.portal_models import PortalSession

    if book.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    csrf = open_link(client)
    client.post("/portal/verify/identity", data={"birth_date": "1990-01-01", "csrf_token": csrf})
    client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    with Session(book.engine) as s:
        portal_id = s.scalar(select(PortalSession.id))
    threads, gate, answers = 12, threading.Barrier(12), []

    def guess(n: int) -> None:
        with Session(book.engine) as s:
            portal = s.get(PortalSession, portal_id)
            gate.wait()
            try:
                access.check_code(s, portal, f"{n:06d}x", address=f"10.0.0.{n}", now=NOW)
            except WorkbenchError as exc:
                answers.append(exc.code)
                s.rollback()

    workers = [threading.Thread(target=guess, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(answers) == threads
    assert answers.count("portal_code_wrong") <= access.Limits().code_tries, answers


def test_too_many_documents_are_refused_before_any_is_read(client, workspace, book) -> None:
    import pytest
    from starlette.datastructures import UploadFile

    from arrears.services.workbench.errors import Invalid
    from arrears.web.portal.router import _files

    streams = [io.BytesIO(PDF) for _ in range(200)]
    with pytest.raises(Invalid):
        _files([UploadFile(s, filename=f"{n}.pdf") for n, s in enumerate(streams)])
    assert all(s.tell() == 0 for s in streams)  # none was read into memory
    csrf = verify(client, workspace)
    answer = client.post(
        "/portal/dispute",
        data={"reason": "not mine", "csrf_token": csrf},
        files=[("documents", (f"{n}.pdf", io.BytesIO(PDF), "application/pdf")) for n in range(4)],
    )
    assert answer.status_code == 422, answer.text[:300]
    with UnitOfWork(book.engine) as uow:
        assert not list(uow.session.scalars(select(CaseDocument.id)))


def test_a_stop_reply_opts_out_only_the_number_it_came_from(book) -> None:
    from datetime import timedelta

    from web_support import NOW

    from arrears.channels.adapters.http_gateway import Inbound, apply_inbound
    from arrears.store.consent_models import ConsentEntry

    at = NOW - timedelta(minutes=5)
    strangers = [
        Inbound("13900000000", "STOP", at),  # no debtor's number
        Inbound("", "退订", at),
        Inbound("0001", "STOP", at),  # the tail of C1's number
        Inbound("+86 138 1234", "STOP", at),  # a prefix of it
        Inbound("13812340001", "stop sending me ads, this is not a stop", at),
    ]
    counts = apply_inbound(book.engine, strangers)
    assert counts["opt_out"] == 0, counts
    with UnitOfWork(book.engine) as uow:
        assert not list(uow.session.scalars(select(ConsentEntry)))
    counts = apply_inbound(book.engine, [Inbound("+86 138-1234-0001", " 退订。", at)])
    assert counts["opt_out"] == 1
    with UnitOfWork(book.engine) as uow:
        rows = list(uow.session.scalars(select(ConsentEntry)))
    assert [(r.customer_id, r.channel, r.recipient) for r in rows] == [("C1", "sms", "13812340001")]


def test_steps_cannot_be_skipped_and_headers_do_not_reset_the_throttle(client, workspace) -> None:
    import base64
    import secrets

    from portal_support import link_path

    csrf = open_link(client)
    sent = client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    assert sent.status_code == 409  # identity first
    assert not (workspace / "outbox" / "sms").exists() or not list(
        (workspace / "outbox" / "sms").glob("*.txt")
    )
    code = client.post("/portal/verify/code", data={"code": "000000", "csrf_token": csrf})
    assert 400 <= code.status_code < 500
    for path in ("/portal/home", "/portal/pay", "/portal/dispute"):
        assert client.get(path).status_code == 401
    assert client.post("/portal/pay", data={"amount": "1", "csrf_token": csrf}).status_code == 401
    for n in range(25):
        guess = base64.urlsafe_b64encode(secrets.token_bytes(19)).decode().rstrip("=")
        spoof = {"X-Forwarded-For": f"10.9.{n}.1", "X-Real-IP": f"10.8.{n}.1"}
        client.get(f"/portal/l/{guess}", headers=spoof)
    assert client.get(link_path("L1"), headers={"X-Forwarded-For": "10.7.0.1"}).status_code == 429


def test_an_amount_typed_as_1e3_is_1000_00_everywhere(client, workspace, book) -> None:
    from arrears.store.workbench_models import AuditEvent, CaseNote

    csrf = verify(client, workspace)
    answer = client.post("/portal/pay", data={"amount": "1e3", "csrf_token": csrf})
    assert answer.status_code == 200, answer.text[:300]
    due = TODAY.isoformat()
    answer = client.post(
        "/portal/promise", data={"amount": "1E3", "due_date": due, "csrf_token": csrf}
    )
    assert answer.status_code == 303, answer.text[:300]
    with UnitOfWork(book.engine) as uow:
        notes = list(uow.session.scalars(select(CaseNote.body)))
        audited = list(uow.session.scalars(select(AuditEvent.payload)))
    assert any("promise to pay 1000.00 CNY" in n for n in notes), notes
    assert not any("E+3" in str(p) for p in audited)


def test_a_session_of_a_replaced_link_cannot_verify(app, client, workspace) -> None:
    from datetime import timedelta

    from fastapi.testclient import TestClient
    from portal_support import spooled_code

    csrf = open_link(client, "L1", TODAY - timedelta(days=2))
    client.post("/portal/verify/identity", data={"birth_date": "1990-01-01", "csrf_token": csrf})
    with TestClient(app, follow_redirects=False) as other:
        verify(other, workspace)  # the newest link, verified: older ones are revoked
    client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    answer = client.post(
        "/portal/verify/code", data={"code": spooled_code(workspace), "csrf_token": csrf}
    )
    assert answer.status_code == 409 and "已被新链接取代" in answer.text
    assert client.get("/portal/home").status_code == 401
