"""A debtor's story in the portal on a phone, once in Chinese and once in English, on
the demo workspace the workbench's browser tests use: open the link from the SMS spool,
verify with the one-time code the portal sends to the same spool, promise to pay, pick a
pre-approved plan, opt out of SMS (the gate then blocks the next SMS), dispute the debt
(a dispute hold and a task for compliance), and in English pay part through the
stand-in processor, see it pending, close the day and see it applied. Screenshots in
``test-artifacts/portal-*.png``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from browser_harness import arrears_cli, shot, sign_in
from playwright.sync_api import Browser, Page
from sqlalchemy import select, update

from arrears.services.settings import load_settings
from arrears.services.workbench.access import Actor
from arrears.services.workbench.case_view import case_view
from arrears.store.contact_models import Hold, OutboxMessage
from arrears.store.models import CaseRow, Customer, Loan
from arrears.store.portal_models import PortalRequest
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Arrangement, Promise
from arrears.workspace import Workspace

PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"https?://[^\s]+/portal/l/[A-Za-z0-9_-]+")
DEFAULT_BASE = "http://127.0.0.1:8000"


def _spool_links(root: Path) -> list[tuple[str, str]]:
    """(mobile, link) of every text in the SMS spool that carries a portal link; the
    day's texts are sent first (``arrears outbox dispatch``) when the spool has none."""
    spool = root / "outbox" / "sms"
    found = _read(spool)
    if not found:
        ws = Workspace.at(root)
        with UnitOfWork(ws.engine) as uow:  # the day's texts are due now
            uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "queued", OutboxMessage.channel == "sms")
                .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            uow.commit()
        ws.engine.dispose()
        arrears_cli("outbox", "dispatch", "--no-recheck", "-w", str(root))
        found = _read(spool)
    assert found, f"no text with a portal link in {spool}"
    return found


def _read(spool: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(spool.glob("*.txt")) if spool.exists() else []:
        text = path.read_text(encoding="utf-8")
        link = LINK.search(text)
        to = re.search(r"^To: (.+)$", text, re.M)
        if link and to and "portal-code" not in path.name:
            out.append((to[1].strip(), link[0]))
    return out


def _debtor(root: Path, mobile: str, link: str) -> tuple[str, str, int, str]:
    """(customer id, ID number, case id, loan id) of the debtor a link was texted to."""
    from arrears.services.portal.links import decode_link_token, load_keys, unseal

    claim = unseal(load_keys(root), decode_link_token(link.rsplit("/", 1)[1]) or b"")
    assert claim is not None
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        loan = uow.session.get(Loan, claim.loan_id)
        assert loan is not None
        customer = uow.session.get(Customer, loan.customer_id)
        assert customer is not None and customer.mobile == mobile and customer.id_number
        case_id = uow.session.scalar(
            select(CaseRow.id).where(CaseRow.loan_id == loan.loan_id, CaseRow.status == "open")
        )
    ws.engine.dispose()
    assert case_id is not None
    return customer.customer_id, customer.id_number, case_id, loan.loan_id


def _newest_code(root: Path) -> str:
    files = sorted(
        (root / "outbox" / "sms").glob("portal-code*.txt"), key=lambda p: p.stat().st_mtime
    )
    assert files, "the one-time code was not sent to the SMS spool"
    return re.findall(r"\b(\d{6})\b", files[-1].read_text(encoding="utf-8").split("\n\n", 1)[1])[0]


def _pick(root: Path, used: set[str]) -> tuple[str, tuple[str, str, int, str]]:
    """A debtor in arrears and the link a text carried to them, from the SMS spool; or,
    when the book's two treated days texted no debtor in arrears (whether a loan reaches
    a text's rung on those days depends on the date the test runs: the texts are then
    all pre-due reminders, whose debtors have no case), the link such a text would carry,
    made the way the texts' links are (the lender's ``portal`` links)."""
    for mobile, link in _spool_links(root):
        try:
            debtor = _debtor(root, mobile, link)
        except AssertionError:
            continue
        if debtor[0] not in used:
            return link, debtor
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        found = uow.session.execute(
            select(Customer.mobile, CaseRow.loan_id)
            .join(CaseRow, CaseRow.customer_id == Customer.customer_id)
            .where(CaseRow.status == "open", CaseRow.dpd > 0, Customer.id_number != "",
                   Customer.mobile != "", Customer.customer_id.not_in(used))
            .order_by(CaseRow.id)
        ).first()  # fmt: skip
    ws.engine.dispose()
    if found is None:
        pytest.fail("no debtor with an open case, an ID number and a mobile")
    links = load_settings(root).institution.portal  # what the lender's texts link with
    assert links is not None
    link = links.link(found.loan_id, ws.snapshot_dates()[-1])
    return link, _debtor(root, found.mobile, link)


USED: set[str] = set()


def _verify(
    page: Page, root: Path, base: str, link: str, id_number: str, by_birth: bool, lang: str
) -> None:
    page.goto(link.replace(DEFAULT_BASE, base))
    page.wait_for_selector("[data-testid=identity-form]")
    if by_birth and len(id_number) == 18:
        page.fill(
            "input[name=birth_date]", f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
        )
    else:
        page.fill("input[name=id_last4]", id_number[-4:])
    page.click("[data-testid=identity-form] button[type=submit]")
    page.click("[data-testid=send-sms]")
    page.wait_for_selector("[data-testid=code-sent]")
    shot(page, f"portal-{lang}-0-code-sent")
    page.fill("input[name=code]", _newest_code(root))
    page.click("[data-testid=code-form] button[type=submit]")
    page.wait_for_selector("[data-testid=breakdown]")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_debtor_resolves_it_on_a_phone(
    browser: Browser, server, staff, workspace_root: Path, lang: str
) -> None:
    root = workspace_root
    link, (customer_id, id_number, case_id, loan_id) = _pick(root, USED)
    USED.add(customer_id)
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True,
        locale="zh-CN" if lang == "zh_CN" else "en-GB",
    )  # fmt: skip
    page = context.new_page()
    try:
        _verify(page, root, server.base_url, link, id_number, lang == "en", lang)
        if lang == "en" and page.get_attribute("[data-testid=lang-en]", "aria-pressed") != "true":
            page.click("[data-testid=lang-en]")
            page.wait_for_selector("[data-testid=breakdown]")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, f"portal-{lang}-1-home", full_page=True)

        page.click("[data-testid=go-promise]")
        today = date.fromisoformat(page.get_attribute("input[name=due_date]", "min") or "")
        page.fill("input[name=amount]", "100.00")
        page.fill("input[name=due_date]", (today + timedelta(days=5)).isoformat())
        page.click("[data-testid=submit]")
        page.wait_for_selector("[data-testid=promise]")
        shot(page, f"portal-{lang}-2-promised")

        page.click("[data-testid=go-plan]")
        page.select_option("select[name=count]", "6")
        page.fill("input[name=first_due]", (today + timedelta(days=20)).isoformat())
        shot(page, f"portal-{lang}-3-plan")
        page.click("[data-testid=submit]")
        page.wait_for_selector("[data-testid=arrangement]")

        page.click("[data-testid=go-preferences]")
        page.click("[data-testid=toggle-sms]")
        page.wait_for_selector("[data-testid=done]")

        ws = Workspace.at(root)
        with UnitOfWork(ws.engine) as uow:
            assert (
                uow.session.scalars(
                    select(Promise.created_by).where(Promise.case_id == case_id)
                ).all()[-1]
                == "portal"
            )
            plan = uow.session.scalars(
                select(Arrangement).where(Arrangement.case_id == case_id)
            ).one()
            assert (plan.kind, plan.status) == ("installment_plan", "approved")
            view = case_view(uow.session, Actor(0, "t", "admin"), case_id)
            sms = {c["channel"]: c for c in view["compliance"]}["sms"]
            # the next SMS is blocked by the gate, by the opt-out's rule
            assert not sms["allowed"] and any("consent_withdrawn" in r for r in sms["rules"])

        if lang == "en":
            page.click("[data-testid=go-pay]")
            page.fill("input[name=amount]", "50.00")
            page.click("[data-testid=submit]")
            page.wait_for_selector("[data-testid=standin-pay]")
            page.click("[data-testid=standin-pay]")
            page.goto(server.base_url + "/portal/home")
            page.wait_for_selector("[data-testid=payment-pending]")
            shot(page, f"portal-{lang}-4-pending", full_page=True)
            arrears_cli("close", "--as-of", today.isoformat(), "-w", str(root))
            page.reload()
            page.wait_for_selector("[data-testid=payments]")
            assert page.locator("[data-testid=payment-pending]").count() == 0
            assert "50.00" in page.inner_text("[data-testid=payments]")
            shot(page, f"portal-{lang}-5-applied", full_page=True)

        page.click("[data-testid=go-dispute]")
        page.fill(
            "textarea[name=reason]",
            "这笔钱我已经还过了" if lang == "zh_CN" else "I paid this in October",
        )
        page.click("[data-testid=submit]")
        page.wait_for_selector("[data-testid=disputed]")
        shot(page, f"portal-{lang}-6-disputed", full_page=True)
        with UnitOfWork(ws.engine) as uow:
            request = uow.session.scalars(
                select(PortalRequest).where(
                    PortalRequest.case_id == case_id, PortalRequest.kind == "dispute"
                )
            ).one()
            assert request.assigned_role == "compliance" and request.due_on > today
            hold = uow.session.get(Hold, request.hold_id)
            assert hold is not None and (hold.kind, hold.loan_id) == ("dispute", loan_id)
        ws.engine.dispose()
        # the compliance officer finds the task, with its deadline, on their page
        desk = browser.new_context(viewport={"width": 1280, "height": 800})
        officer = desk.new_page()
        sign_in(officer, server.base_url, staff.compliance)
        officer.goto(server.base_url + "/debtor-requests")
        row = officer.locator(f"[data-testid=debtor-request-{request.id}]")
        assert f"#{case_id}" in row.inner_text()
        shot(officer, f"portal-{lang}-7-compliance-task")
        desk.close()
    finally:
        context.close()
