"""Supervision pages in a real browser: a dispute hold blocks a call (and the case page
says which rule), the compliance officer sees it counted by rule, the team lead
reassigns and bulk-transfers cases, the manager places a case with an agency, recalls
it, records a legal stage, and reads the dashboard."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from browser_harness import VIEWPORT, Server, Staff, shot, sign_in
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from arrears.store.workbench_models import LegalAction
from arrears.workspace import Workspace

pytestmark = pytest.mark.browser


def _new_page(browser: Browser, locale: str = "en-US") -> Page:
    page = browser.new_context(viewport=VIEWPORT, locale=locale).new_page()
    page.set_default_timeout(15_000)
    return page


def test_hold_blocks_the_call_and_the_compliance_officer_sees_the_rule(
    browser: Browser, server: Server, staff: Staff
) -> None:
    page = _new_page(browser)
    sign_in(page, server.base_url, staff.collector3, lang="en")
    page.get_by_test_id("next-case").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    case_id = page.get_by_test_id("case-header").get_attribute("data-case-id")
    page.keyboard.press("h")
    hold = page.get_by_test_id("form-hold")
    hold.locator("select[name=kind]").select_option("dispute")
    hold.locator("input[name=reason]").fill("Customer disputes the late fees in writing")
    hold.locator("button[type=submit]").click()
    expect(page.get_by_test_id("case-flash")).to_have_text("Hold placed.")
    expect(page.get_by_test_id("channel-call")).to_contain_text("blocked")
    page.keyboard.press("c")
    contact = page.get_by_test_id("form-contact")
    contact.locator("select[name=disposition]").select_option("RPC")
    contact.locator("button[type=submit]").click()
    flash = page.get_by_test_id("case-flash")
    expect(flash).to_contain_text("Not allowed, recorded as blocked")
    expect(page.get_by_test_id("contact-history")).to_contain_text(
        re.compile(r"blocked\s+hold\.dispute")
    )
    shot(page, "oversight-01-hold-blocks-call-en")
    page.context.close()

    officer = _new_page(browser, locale="zh-CN")
    sign_in(officer, server.base_url, staff.compliance)
    assert officer.url.endswith("/compliance")
    expect(officer.locator("h1")).to_contain_text("按规则统计的拦截")
    expect(officer.get_by_test_id("blocked-latest")).to_contain_text(f"#{case_id}")
    assert int(officer.get_by_test_id("blocked-total").inner_text()) >= 1
    expect(officer.get_by_test_id("blocked-by-rule").locator("tbody tr").first).to_be_visible()
    shot(officer, "oversight-02-compliance-zh_CN")
    officer.context.close()


def _hold(root: Path, day: date, psi: float) -> None:
    """A hold of ``day``'s treatments as the close records it (shifted scores)."""
    from arrears.services.book_models import ScoredDay
    from arrears.services.held_days import HELD, record
    from arrears.workspace import Workspace

    ws = Workspace.at(root)
    try:
        record(ws.engine, "close", HELD, ScoredDay(day, root, "early_warning_30", "v1", 9, psi))
    finally:
        ws.engine.dispose()


def test_team_lead_reassigns_and_transfers_and_sees_the_dashboard(
    browser: Browser, server: Server, staff: Staff, workspace_root: Path
) -> None:
    page = _new_page(browser)
    sign_in(page, server.base_url, staff.team_lead, lang="en")
    page.click("nav >> text=Team")
    before = int(page.get_by_test_id(f"cases-{staff.collector3}").inner_text())
    assert before >= 3
    # bulk transfer: the leaver's cases (one of them now on a dispute hold) go to a
    # colleague no other test works with, so the other stories keep their cases
    form = page.get_by_test_id("form-transfer")
    form.locator("select[name=from_user]").select_option(staff.collector3)
    form.locator("select[name=to_users]").select_option([staff.victim])
    form.locator("input[name=reason]").fill("moves to the Shenzhen team")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_have_text(f"{before} cases transferred.")
    expect(page.get_by_test_id(f"cases-{staff.collector3}")).to_have_text("0")
    expect(page.get_by_test_id(f"cases-{staff.victim}")).to_have_text(str(before))
    shot(page, "oversight-03-team-transfer-en")

    # a day closed before the treated ones, held by the close: its scores shifted
    held = date.today() - timedelta(days=5)
    _hold(workspace_root, held, 0.412)
    page.click("nav >> text=Dashboard")
    expect(page.get_by_test_id("dashboard-collectors")).to_contain_text(staff.collector)
    expect(page.get_by_test_id("dashboard-figures")).to_contain_text("Contacts made")
    alert = page.get_by_test_id(f"held-day-{held.isoformat()}")
    expect(alert).to_contain_text(f"Treatments of {held.isoformat()} held")
    expect(alert).to_contain_text("early_warning_30 (version v1)")
    expect(alert).to_contain_text("(PSI 0.412)")
    expect(alert.locator("code")).to_have_text(
        f"arrears treat --as-of {held.isoformat()} --accept-shifted-scores"
    )
    shot(page, "oversight-04-dashboard-team-lead-en")
    page.context.close()


def test_manager_places_recalls_and_records_a_legal_stage(
    browser: Browser, server: Server, staff: Staff, workspace_root: Path
) -> None:
    page = _new_page(browser)
    sign_in(page, server.base_url, staff.manager, lang="en")
    page.goto(server.base_url + "/queue?offset=0")
    # the least urgent open case on the first page of the manager's queue that the
    # strategy has not already taken to court (its litigation steps open legal cases)
    rows = page.get_by_test_id("queue-row")
    ids = [rows.nth(n).get_attribute("data-case") or "" for n in range(rows.count())]
    with Workspace.at(workspace_root).engine.connect() as conn:
        in_court = {str(c) for c in conn.execute(select(LegalAction.case_id)).scalars()}
    case_id = [c for c in ids if c not in in_court][-1]
    other_case = next(c for c in ids if c != case_id)

    page.click("nav >> text=Agencies")
    place = page.get_by_test_id("form-place")
    place.locator("input[name=case_id]").fill(case_id)
    place.locator("button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_have_text("Case placed.")
    expect(page.get_by_test_id(f"agency-{staff.agency_code}")).to_contain_text("杭州正信律师事务所")
    shot(page, "oversight-05-agencies-en")

    # the agency's user sees the placed case, and only that one
    agent = _new_page(browser, locale="zh-CN")
    sign_in(agent, server.base_url, staff.agent)
    queue = agent.get_by_test_id("queue-table")
    expect(queue.locator("tbody tr")).to_have_count(1)
    expect(queue).to_contain_text(f"#{case_id}")
    assert agent.goto(f"{server.base_url}/cases/{other_case}").status == 404
    expect(agent.locator("main")).to_contain_text("未找到")
    agent.goto(f"{server.base_url}/cases/{case_id}")
    expect(agent.get_by_test_id("pii-mobile")).to_have_text(re.compile(r"^\*+\d{4}$"))
    expect(agent.get_by_test_id("reveal-mobile")).to_have_count(0)
    # the lender's collector who holds the case is 委托方人员 to the agency, never named
    main = agent.locator("main")
    expect(main).to_contain_text("委托方人员")
    for lender_user in (staff.collector, staff.collector2, staff.collector3, staff.manager):
        expect(main).not_to_contain_text(lender_user)
    shot(agent, "oversight-05b-agency-user-case-zh_CN")
    agent.context.close()
    recall = page.get_by_test_id("form-recall")
    recall.locator("input[name=case_id]").fill(case_id)
    recall.locator("button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_have_text("Placement recalled.")

    page.click("nav >> text=Legal")
    legal = page.get_by_test_id("form-legal")
    legal.locator("input[name=case_id]").fill(case_id)
    legal.locator("select[name=stage]").select_option("lawyer_letter")
    legal.locator("input[name=costs]").fill("800.00")
    legal.locator("button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_have_text("Stage recorded.")
    expect(page.get_by_test_id("stage-lawyer_letter")).to_contain_text("800.00")
    shot(page, "oversight-06-legal-en")
    page.goto(f"{server.base_url}/cases/{case_id}")
    expect(page.get_by_test_id("case-header")).to_contain_text("Lawyer letter")
    page.context.close()
