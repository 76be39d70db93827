"""Reveals and uploads (issue 22, finding 6): a reveal of personal data needs a reason
and is limited per user (429 past the allowance, the reason in the audit chain); an
uploaded document is checked by its first bytes against its declared type and name,
and served only as an attachment, never sniffed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import NOW, Book, login_client

from arrears.services.workbench.reveal import RevealLimits
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent, CaseDocument
from arrears.web.app import Settings, create_app

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
HTML = b"<!doctype html><html><script>fetch('/api/v1/me')</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def limited(book: Book, clock: Clock):  # type: ignore[no-untyped-def]
    limits = RevealLimits(per_window=3, window=timedelta(minutes=10), per_day=5)
    app = create_app(
        engine=book.engine, settings=Settings(clock=clock, reveals=limits), migrate=False
    )
    client = login_client(app, "c1")
    yield client
    client.close()


def _reveal(client: TestClient, case: int, **body: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/cases/{case}/reveal", json={"field": "mobile", **body})


def test_a_reveal_needs_a_reason_and_other_needs_words(login, book) -> None:
    c1, case = login("c1"), book.case_ids[0]
    assert _reveal(c1, case).status_code == 422
    assert _reveal(c1, case, reason_code="").status_code == 422
    assert _reveal(c1, case, reason_code="curious").status_code == 422
    other = _reveal(c1, case, reason_code="other", reason_text="  ")
    assert other.status_code == 422 and "reason_text" in other.text
    shown = _reveal(c1, case, reason_code="other", reason_text="customer asked for a callback")
    assert shown.json() == {"field": "mobile", "value": "13812340001"}
    assert _reveal(c1, case, reason_code="verify_identity").status_code == 200
    with UnitOfWork(book.engine) as uow:
        events = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "pii.reveal").order_by(AuditEvent.seq)
        ).all()
    reasons = [json.loads(e.payload) for e in events]
    assert [(r["reason"], r["reason_text"]) for r in reasons] == [
        ("other", "customer asked for a callback"),
        ("verify_identity", ""),
    ]


def test_reveals_are_limited_per_user_in_a_window_and_a_day(limited, book, clock) -> None:
    case = book.case_ids[0]
    for _ in range(3):
        assert _reveal(limited, case, reason_code="inbound_call").status_code == 200
    refused = _reveal(limited, case, reason_code="inbound_call")
    assert refused.status_code == 429
    assert "at most 3 per 10 minutes" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    clock.now += timedelta(minutes=11)
    for _ in range(2):
        assert _reveal(limited, case, reason_code="outbound_call").status_code == 200
    clock.now += timedelta(minutes=11)
    day = _reveal(limited, case, reason_code="outbound_call")
    assert day.status_code == 429 and "per day" in day.json()["detail"]
    # a refused reveal shows nothing and logs no reveal
    assert "1381234" not in day.text
    with UnitOfWork(book.engine) as uow:
        logged = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "pii.reveal")
        ).all()
    assert len(logged) == 5


def test_the_case_page_reveal_needs_a_reason_too(login, book) -> None:
    c1, case = login("c1"), book.case_ids[0]
    page = c1.get(f"/cases/{case}").text
    assert 'data-testid="reveal-reason"' in page and 'hx-include="#reveal-why"' in page
    refused = c1.post(f"/cases/{case}/reveal", data={"field": "mobile"})
    assert refused.status_code == 422 and "13812340001" not in refused.text
    shown = c1.post(f"/cases/{case}/reveal", data={"field": "mobile", "reason_code": "legal"})
    assert shown.status_code == 200 and "13812340001" in shown.text


def _upload(client: TestClient, case: int, name: str, kind: str, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/cases/{case}/documents", files={"file": (name, content, kind)})


@pytest.mark.parametrize(
    ("name", "kind", "content", "problem"),
    [
        ("letter.pdf", "application/pdf", HTML, "not a PDF"),
        ("letter.pdf", "application/octet-stream", HTML, "not a PDF"),
        ("letter.pdf", "application/pdf", PNG, "declared application/pdf"),
        ("letter.pdf", "image/png", PNG, "a .pdf file name"),
        ("notes.txt", "text/plain", HTML, "not a PDF"),
        ("notes.html", "text/html", b"just words", "declared text/html"),
        ("notes.html", "text/plain", b"just words", "a .html file name"),
        ("logo.svg", "image/svg+xml", SVG, "not a PDF"),
        ("tool.exe", "application/octet-stream", b"MZ\x90\x00\x03", "not a PDF"),
    ],
)
def test_an_upload_whose_content_is_not_what_it_claims_is_refused(
    login, book, name, kind, content, problem
) -> None:
    refused = _upload(login("c1"), book.case_ids[0], name, kind, content)
    assert refused.status_code == 422 and problem in refused.json()["detail"]
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalars(select(CaseDocument)).all() == []


@pytest.mark.parametrize(
    ("name", "kind", "content", "stored"),
    [
        ("letter.pdf", "application/pdf", PDF, "application/pdf"),
        ("scan", "application/octet-stream", PNG, "image/png"),
        ("receipt.txt", "text/plain", "收据 300.00 元\n".encode(), "text/plain"),
        ("photo.JPG", "image/jpeg", b"\xff\xd8\xff\xe0" + bytes(20), "image/jpeg"),
    ],
)
def test_a_document_is_stored_as_what_its_content_is_and_served_as_an_attachment(
    login, book, name, kind, content, stored
) -> None:
    c1 = login("c1")
    added = _upload(c1, book.case_ids[0], name, kind, content)
    assert added.status_code == 201, added.text
    assert added.json()["content_type"] == stored
    served = c1.get(f"/api/v1/documents/{added.json()['id']}")
    assert served.content == content
    assert served.headers["content-type"].split(";")[0] == stored
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


def test_a_document_stored_before_the_check_is_never_served_as_a_page(login, book) -> None:
    with UnitOfWork(book.engine) as uow:
        row = CaseDocument(
            case_id=book.case_ids[0],
            file_name='evil".html',
            content_type="text/html",
            size=len(HTML),
            sha256="0" * 64,
            content=HTML,
            uploaded_by="c1",
        )
        uow.session.add(row)
        uow.commit()
        document_id = row.id
    served = login("c1").get(f"/api/v1/documents/{document_id}")
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith('attachment; filename="evil_.html"')
    assert served.headers["x-content-type-options"] == "nosniff"


def test_the_case_page_upload_refuses_html_named_pdf(login, book) -> None:
    c1, case = login("c1"), book.case_ids[0]
    refused = c1.post(
        f"/cases/{case}/document", files={"file": ("letter.pdf", HTML, "application/pdf")}
    )
    assert "文件类型不支持" in refused.text  # the refusal, in the page's language
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalars(select(CaseDocument)).all() == []
