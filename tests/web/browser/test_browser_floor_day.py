"""One floor day across the roles, in the browser, in English and in Chinese (issue 24):
the admin creates a team, its team lead and a collector in the pages; the team lead
allocates two cases from the pool to the new collector; the collector takes the next
case, calls, books a callback for tomorrow 10:00 and records a promise; the next day
the callback is at the top of the collector's ranked list; the manager sees the day's
work on the dashboard. Screenshots of each step go to test-artifacts/floor-day-*.

Each language runs on its own copy of the demo book with its own server, whose
business clock a file turns over to the next day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from browser_harness import (
    PASSWORD,
    VIEWPORT,
    Server,
    Staff,
    serve,
    shot,
    sign_in,
    workspace_copy,
)
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "staff": "Staff",
        "team_created": "created.",
        "reassigned": "Case reassigned.",
        "callback_due": "Callback due",
        "yesterday": "Yesterday",
    },
    "zh_CN": {
        "staff": "人员与机构",
        "team_created": "已创建。",
        "reassigned": "案件已改派。",
        "callback_due": "回拨时间已到",
        "yesterday": "昨天",
    },
}


def _prepare(root: Path) -> None:
    """An admin, and two open cases owing money (with a mobile) back in the pool."""
    from sqlalchemy import select

    from arrears.services.workbench import users
    from arrears.store.models import CaseRow, Customer
    from arrears.store.unit_of_work import UnitOfWork
    from arrears.workspace import Workspace

    workspace = Workspace.at(root)
    with UnitOfWork(workspace.engine) as uow:
        users.create_user(uow.session, "root.admin", PASSWORD, "admin", display_name="管理员")
        cases = uow.session.scalars(
            select(CaseRow)
            .join(Customer, Customer.customer_id == CaseRow.customer_id)
            .where(CaseRow.status == "open", CaseRow.amount_overdue > 0)
            .where(Customer.mobile.is_not(None))
            .order_by(CaseRow.amount_overdue.desc())
            .limit(2)
        ).all()
        for case in cases:
            case.assigned_to = None
        uow.commit()
    workspace.engine.dispose()


@pytest.fixture
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of its own on a fresh copy of the book, and the file of its day."""
    root = workspace_copy(tmp_path_factory, "floor-day")
    _prepare(root)
    day_file = root / "day-offset"
    day_file.write_text("0")
    with serve(root, day_file) as running:
        yield running, day_file


def _page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _flash_ok(page: Page, text: str) -> None:
    expect(page.locator(".flash.ok").last).to_contain_text(text)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_floor_day_across_the_roles(
    browser: Browser, floor: tuple[Server, Path], staff: Staff, lang: str
) -> None:
    server, day_file = floor
    base = server.base_url
    words = WORDS[lang]
    tag = "en" if lang == "en" else "zh"
    locale = "en-US" if lang == "en" else "zh-CN"
    team, lead, collector = f"华南二组-{tag}", f"lead.{tag}", f"new.{tag}"

    # 1. the admin creates the team, its lead and a collector in the pages
    page = _page(browser, locale)
    sign_in(page, base, "root.admin", lang)
    page.locator("nav a[href='/staff']").click()
    expect(page.locator("h1")).to_contain_text(words["staff"] if lang == "en" else "人员")
    page.get_by_test_id("form-team").locator("input[name=team_name]").fill(team)
    page.get_by_test_id("form-team").locator("button").click()
    _flash_ok(page, words["team_created"])
    for username, role in ((lead, "team_lead"), (collector, "collector")):
        form = page.get_by_test_id("form-user")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=display_name]").fill("新人" if role == "collector" else "新组长")
        form.locator("select[name=role]").select_option(role)
        form.locator("select[name=team_id]").select_option(label=team)
        form.locator("select[name=language]").select_option(lang)
        form.locator("input[name=approval_limit]").fill("500")
        form.locator("input[name=password]").fill(PASSWORD)  # as sign_in types
        form.locator("button[type=submit]").click()
        _flash_ok(page, username)
    expect(page.get_by_test_id(f"user-{collector}")).to_contain_text(team)
    shot(page, f"floor-day-{tag}-01-admin-staff", full_page=True)
    page.context.close()

    # 2. the new team lead allocates the two pool cases to the new collector
    page = _page(browser, locale)
    sign_in(page, base, lead, lang)
    page.goto(base + "/queue?assignee=")
    rows = page.get_by_test_id("queue-row")
    expect(rows).to_have_count(2)
    pool = [rows.nth(i).get_attribute("data-case") or "" for i in range(2)]
    page.locator("nav a[href='/team']").click()
    for case_id in pool:
        form = page.get_by_test_id("form-reassign")
        form.locator("input[name=case_id]").fill(case_id)
        form.locator("select[name=to_user]").select_option(collector)
        form.locator("input[name=reason]").fill("allocation")
        form.locator("button[type=submit]").click()
        _flash_ok(page, words["reassigned"])
    expect(page.get_by_test_id(f"cases-{collector}")).to_have_text("2")
    shot(page, f"floor-day-{tag}-02-lead-allocates")
    page.context.close()

    # 3. the collector takes the next case, calls, books a callback and a promise
    page = _page(browser, locale)
    sign_in(page, base, collector, lang)
    expect(page.get_by_test_id("queue-row")).to_have_count(2)
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    case_id = page.get_by_test_id("case-header").get_attribute("data-case-id")
    assert case_id in pool
    page.keyboard.press("c")
    form = page.get_by_test_id("form-contact")
    form.locator("select[name=disposition]").select_option("CALLBACK")
    tomorrow = date.today() + timedelta(days=1)
    form.get_by_test_id("callback-at").fill(f"{tomorrow.isoformat()}T10:00")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("callback-time").first).to_contain_text(
        f"{tomorrow.isoformat()} 10:00"
    )
    page.keyboard.press("p")
    promise = page.get_by_test_id("form-promise")
    promise.locator("input[name=amount]").fill("100")
    promise.locator("input[name=due_date]").fill((date.today() + timedelta(days=3)).isoformat())
    promise.locator("button[type=submit]").click()
    expect(page.get_by_test_id("promises")).to_contain_text("100.00")
    shot(page, f"floor-day-{tag}-03-collector-case", full_page=True)
    page.context.close()

    # 4. the next day: the callback is due, at the top of the collector's ranked list
    day_file.write_text("1")
    page = _page(browser, locale)
    sign_in(page, base, collector, lang)
    expect(page.get_by_test_id("business-date")).to_contain_text(tomorrow.isoformat())
    first = page.get_by_test_id("queue-row").first
    expect(first).to_have_attribute("data-case", case_id)
    expect(first).to_have_attribute("data-tier", "callback_due")
    expect(first).to_contain_text(words["callback_due"])
    shot(page, f"floor-day-{tag}-04-next-day-queue", full_page=True)
    page.goto(base + "/queue/callbacks")
    expect(page.locator(f"[data-case='{case_id}']").first).to_be_visible()
    page.context.close()

    # 5. the manager sees yesterday's work on the dashboard
    page = _page(browser, locale)
    sign_in(page, base, staff.manager, lang)
    page.locator("nav a[href='/dashboard']").click()
    page.get_by_test_id("dashboard-periods").get_by_text(words["yesterday"]).click()
    row = page.get_by_test_id(f"collector-{collector}")
    expect(row).to_be_visible()
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    # open cases, contacts made, right-party contacts, blocked, promises, amount promised
    assert cells[1:7] == ["2", "1", "1", "0", "1", "100.00"], cells
    shot(page, f"floor-day-{tag}-05-manager-dashboard", full_page=True)
    page.context.close()
