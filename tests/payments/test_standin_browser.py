"""The stand-in's page in a real browser on a phone: the real app under uvicorn on a
loopback port, Debian's Chromium through Playwright; pay in Chinese (the webhook goes
through the running server), back to the lender's return address, the payment
pending; refund in English. Screenshots in test-artifacts/ (standin-*.png)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from payment_support import SECRET, book_loan, checkout
from sqlalchemy.orm import Session

from arrears.services.payment_config import ENV_PROCESSOR_SECRET
from arrears.services.payments import pending_payments, processor_payments
from arrears.workspace import Workspace
from chromium_session import shared_browser

PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(
    os.environ.get("ARREARS_ARTIFACTS") or Path(__file__).parents[2] / "test-artifacts"
)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    ws = Workspace.at(tmp_path / "ws")
    ws.init()
    book_loan(ws)
    port = _port()
    code = (
        "import sys, uvicorn; from arrears.web.app import create_app; "
        "uvicorn.run(create_app(workspace_root=sys.argv[1]), host='127.0.0.1', "
        "port=int(sys.argv[2]), log_level='warning')"
    )
    env = {**os.environ, ENV_PROCESSOR_SECRET: SECRET.decode()}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(ws.root), str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/login", timeout=2):
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail((tmp_path / "server.log").read_text(errors="replace"))
            time.sleep(0.2)
    try:
        yield ws, base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.mark.needs_chromium
def test_pay_and_refund_at_the_standin_on_a_phone(served: tuple[Workspace, str]) -> None:
    ws, base = served
    made = checkout(ws, "888.88")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = shared_browser()  # the process's one Chromium (tests/chromium_session.py)
    contexts = []
    try:
        zh = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        contexts.append(zh)
        page = zh.new_page()
        page.goto(base + made.url)
        assert "模拟支付机构" in page.inner_text("[data-testid=standin-banner]")
        assert page.inner_text("[data-testid=standin-status]") == "待支付"
        page.screenshot(path=str(ARTIFACTS / "standin-checkout-zh.png"), full_page=True)
        page.click("[data-testid=standin-pay]")
        page.wait_for_url(f"**/portal/paid?checkout={made.checkout_id}")
        with Session(ws.engine) as session:
            [pending] = pending_payments(session, loan_id="L1")
        assert pending.amount == Decimal("888.88")

        en = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True)
        contexts.append(en)
        page = en.new_page()
        page.goto(base + made.url)
        assert page.inner_text("[data-testid=standin-status]") == "paid"
        page.screenshot(path=str(ARTIFACTS / "standin-paid-en.png"), full_page=True)
        page.click("[data-testid=standin-refund]")
        page.wait_for_selector("text=refunded")
        page.screenshot(path=str(ARTIFACTS / "standin-refunded-en.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
    with Session(ws.engine) as session:
        assert pending_payments(session, loan_id="L1") == []
        assert [p.status for p in processor_payments(session, loan_id="L1")] == ["refunded"]
