"""The collections floor in the browser (issue 24, points 1-2), in English and Chinese:
a collector logs a callback with its time and a promise on the case page, sees the
ranked queue say why each case is where it is, and finds a customer by name and an
inbound caller by phone, with the numbers masked. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from browser_harness import VIEWPORT, Server, Staff, shot, sign_in
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, select

pytestmark = pytest.mark.browser


def _cases_of(root: Path, username: str) -> list[tuple[int, str, str]]:
    """(case id, customer name, mobile) of two open cases of ``username`` with a mobile."""
    from arrears.store.models import CaseRow, Customer

    engine = create_engine(f"sqlite:///{root / 'arrears.sqlite'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(CaseRow.id, Customer.name, Customer.mobile)
                .join(Customer, Customer.customer_id == CaseRow.customer_id)
                .where(CaseRow.assigned_to == username, CaseRow.status == "open")
                .where(Customer.mobile.is_not(None))
                .order_by(CaseRow.id.desc())
                .limit(2)
            ).all()
    finally:
        engine.dispose()
    return [(r.id, r.name, r.mobile) for r in rows]


def _callback_due(root: Path, username: str, case_id: int) -> None:
    """The debtor of ``case_id`` asked at 10:00 Beijing today to be called back at
    11:00: due by the time the app's clock (from 12:00 today) shows the queue."""
    from arrears.services.workbench import contacts
    from arrears.services.workbench.access import Actor
    from arrears.services.workbench.users import user_by_name
    from arrears.store.unit_of_work import UnitOfWork

    engine = create_engine(f"sqlite:///{root / 'arrears.sqlite'}")
    ten = datetime.combine(date.today(), time(2), tzinfo=UTC)
    try:
        with UnitOfWork(engine) as uow:
            user = user_by_name(uow.session, username)
            assert user is not None
            done = contacts.log_contact(
                uow.session, Actor.of(user), case_id, "call", "CALLBACK",
                at=ten, callback_at=ten + timedelta(hours=1),
            )  # fmt: skip
            assert done.allowed, done.reasons
            uow.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("lang", "who", "words"),
    [
        ("en", "collector", ("My queue", "Callback due", "Next action", "Cases found", "callback")),
        ("zh_CN", "collector2", ("我的队列", "回拨时间已到", "下一步", "找到", "回拨时间")),
    ],
)
def test_ranked_queue_callback_and_search(
    browser: Browser, server: Server, staff: Staff, workspace_root: Path, lang, who, words
) -> None:
    username = getattr(staff, who)
    (due_case, name, mobile), (other_case, *_) = _cases_of(workspace_root, username)
    _callback_due(workspace_root, username, due_case)
    context = browser.new_context(viewport={**VIEWPORT, "width": 1500}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server.base_url, username, lang)
    tag = "en" if lang == "en" else "zh"

    # on another case, a callback without its time is refused; with it, it is kept
    page.goto(f"{server.base_url}/cases/{other_case}")
    page.keyboard.press("c")
    form = page.get_by_test_id("form-contact")
    form.locator("select[name=disposition]").select_option("CALLBACK")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("case-flash")).to_contain_text(words[4])
    page.keyboard.press("c")
    form = page.get_by_test_id("form-contact")
    form.locator("select[name=disposition]").select_option("CALLBACK")
    tomorrow = date.today() + timedelta(days=1)
    form.get_by_test_id("callback-at").fill(f"{tomorrow.isoformat()}T10:00")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("callback-time").first).to_contain_text(
        f"{tomorrow.isoformat()} 10:00"
    )

    # and a promise to pay in three days
    page.keyboard.press("p")
    promise = page.get_by_test_id("form-promise")
    promise.locator("input[name=amount]").fill("100")
    promise.locator("input[name=due_date]").fill((date.today() + timedelta(days=3)).isoformat())
    promise.locator("button[type=submit]").click()
    expect(page.get_by_test_id("promises")).to_contain_text("100.00")

    # the ranked queue: the due callback is ranked below promises only, and says why
    page.goto(server.base_url + "/queue")
    expect(page.locator("h1")).to_contain_text(words[0])
    rows = page.get_by_test_id("queue-row")
    tiers = [rows.nth(i).get_attribute("data-tier") for i in range(rows.count())]
    cases = [int(rows.nth(i).get_attribute("data-case") or 0) for i in range(rows.count())]
    assert due_case in cases, cases
    mine = cases.index(due_case)
    assert tiers[mine] == "callback_due"
    assert set(tiers[:mine]) <= {"promise_due_today", "promise_broken_yesterday", "callback_due"}
    expect(rows.nth(mine)).to_contain_text(words[1])
    expect(page.get_by_test_id("queue-table")).to_contain_text(words[2])
    shot(page, f"floor-{tag}-01-ranked-queue", full_page=True)

    # search by the name: the phone and ID are masked for a collector
    page.get_by_test_id("search-form").locator("input[name=q]").fill(name)
    page.get_by_test_id("search-form").locator("button").click()
    results = page.get_by_test_id("search-results")
    expect(results).to_contain_text(name)
    expect(page.locator("main")).to_contain_text(words[3])
    assert mobile not in results.inner_text()
    assert re.search(r"\d{3}\*{4}\d{4}", results.inner_text())
    shot(page, f"floor-{tag}-02-search")

    # an inbound call from the number opens the case (or a pick-list holding it)
    page.goto(server.base_url + "/queue")
    page.get_by_test_id("inbound-form").locator("input[name=phone]").fill(mobile)
    page.get_by_test_id("inbound-form").locator("button").click()
    page.wait_for_load_state()
    if not page.url.endswith(f"/cases/{due_case}"):  # the caller has several open cases
        expect(page.locator(f"[data-testid=search-hit][data-case='{due_case}']")).to_be_visible()
    context.close()


def test_team_lead_sees_the_load_per_collector(
    browser: Browser, server: Server, staff: Staff
) -> None:
    context = browser.new_context(viewport={**VIEWPORT, "width": 1500}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server.base_url, staff.team_lead, "en")
    page.goto(server.base_url + "/queue")
    page.get_by_test_id("floor-tabs").get_by_text("Load per collector").click()
    table = page.get_by_test_id("load-table")
    expect(table).to_contain_text("Callbacks due")
    for name in (staff.collector, staff.collector2, staff.collector3):
        expect(page.get_by_test_id(f"load-{name}")).to_be_visible()
    shot(page, "floor-en-03-team-load")
    page.get_by_test_id(f"load-{staff.collector}").get_by_text("Promises").click()
    expect(page.locator("h1")).to_contain_text(f"Team promises · {staff.collector}")
    context.close()
