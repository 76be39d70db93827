"""Helpers of the portal tests: links, the one-time code from the SMS spool, a verified
client."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from web_support import TODAY

from arrears.services.portal.links import PortalLinks

IDENTITY = {"C1": ("1990-01-01", "001X"), "C2": ("1990-01-01", "002X")}


def link_path(loan_id: str, issued_on: date = TODAY) -> str:
    """The path of the personal link of ``loan_id`` issued on ``issued_on``."""
    return (
        PortalLinks("http://testserver", None)
        .link(loan_id, issued_on)
        .removeprefix("http://testserver")
    )


def csrf_of(html: str) -> str:
    """The CSRF token a portal page embeds."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found[1]


def spooled_code(workspace: Path) -> str:
    """The six-digit code of the newest text in the workspace's SMS spool."""
    files = sorted((workspace / "outbox" / "sms").glob("*.txt"), key=lambda p: p.stat().st_mtime)
    assert files, "no SMS in the spool"
    found = re.search(r"\b(\d{6})\b", files[-1].read_text(encoding="utf-8").split("\n\n", 1)[1])
    assert found
    return found[1]


def open_link(client: TestClient, loan_id: str = "L1", issued_on: date = TODAY) -> str:
    """Open the link; returns the verify page's CSRF token."""
    opened = client.get(link_path(loan_id, issued_on))
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == "/portal/verify"
    page = client.get("/portal/verify")
    assert page.status_code == 200
    return csrf_of(page.text)


def verify(client: TestClient, workspace: Path, loan_id: str = "L1", customer: str = "C1") -> str:
    """Open ``loan_id``'s link and verify as its debtor (date of birth and the SMS
    code); returns the home page's CSRF token."""
    csrf = open_link(client, loan_id)
    answer = client.post(
        "/portal/verify/identity", data={"birth_date": IDENTITY[customer][0], "csrf_token": csrf}
    )
    assert answer.status_code == 303, answer.text
    sent = client.post("/portal/verify/send", data={"channel": "sms", "csrf_token": csrf})
    assert sent.status_code == 303, sent.text
    done = client.post(
        "/portal/verify/code", data={"code": spooled_code(workspace), "csrf_token": csrf}
    )
    assert done.status_code == 303 and done.headers["location"] == "/portal/home", done.text
    home = client.get("/portal/home")
    assert home.status_code == 200
    return csrf_of(home.text)
