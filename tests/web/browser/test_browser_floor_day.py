"""One floor day across the roles, in the browser, in English and in Chinese (issue 24):
the admin creates a team, its team lead and a collector in the pages; the team lead
allocates two cases from the pool to the new collector; the collector takes the next
case, calls, books a callback for tomorrow 10:00 and records a promise; the other
case's debtor calls in, the collector finds them by the phone number and proposes an
instalment plan, which the team lead approves; the day's close places a late case with
the agency and opens a legal case, the agency's user sees its placement, and no open
case is left on a repaid loan; the next day the callback is at the top of the
collector's ranked list; the manager sees the day's work on the dashboard. Screenshots
of each step go to test-artifacts/floor-day-*.

Each language runs on its own copy of the demo book with its own server, whose
business clock a file turns over to the next day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from browser_harness import (
    PASSWORD,
    VIEWPORT,
    Server,
    Staff,
    arrears_cli,
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
        "approved": "approved",
        "awaiting": "awaiting approval",
        "approvals": "Approvals",
        "filing": "Filing",
    },
    "zh_CN": {
        "staff": "人员与机构",
        "team_created": "已创建。",
        "reassigned": "案件已改派。",
        "callback_due": "回拨时间已到",
        "yesterday": "昨天",
        "approved": "已批准",
        "awaiting": "待审批",
        "approvals": "审批",
        "filing": "立案",
    },
}


def _prepare(root: Path) -> tuple[int, int]:
    """An admin; two open cases owing money (with a mobile, and instalments still to
    fall due, so either can be rescheduled) back in the pool; and a late case of the
    strategy's agency ladder and one of its litigation ladder that today's close is to
    refer again. The template book was closed before its agency existed, so its agency
    steps placed nothing: the two cases' late steps are taken off the strategy's history
    (and the litigation case's legal case with it), as if they reached those rungs
    today. Returns (the agency case, the litigation case)."""
    from sqlalchemy import delete, select

    from arrears.services.workbench import users
    from arrears.store.contact_models import StrategyAssignment
    from arrears.store.models import CaseRow, Customer, InstallmentRow
    from arrears.store.unit_of_work import UnitOfWork
    from arrears.store.workbench_models import LegalAction
    from arrears.workspace import Workspace

    workspace = Workspace.at(root)
    with UnitOfWork(workspace.engine) as uow:
        users.create_user(uow.session, "root.admin", PASSWORD, "admin", display_name="管理员")
        to_come = select(InstallmentRow.loan_id).where(InstallmentRow.due_date > date.today())
        cases = uow.session.scalars(
            select(CaseRow)
            .join(Customer, Customer.customer_id == CaseRow.customer_id)
            .where(CaseRow.status == "open", CaseRow.amount_overdue > 0)
            .where(Customer.mobile.is_not(None), CaseRow.loan_id.in_(to_come))
            .order_by(CaseRow.amount_overdue.desc())
            .limit(2)
        ).all()
        for case in cases:
            case.assigned_to = None
        pool = {case.id for case in cases}
        late: list[int] = []
        for step in ("agency_d120", "litigation_d150"):
            case_id = min(
                c
                for c in uow.session.scalars(
                    select(StrategyAssignment.case_id).where(StrategyAssignment.step == step)
                )
                if c is not None and c not in pool
            )
            uow.session.execute(
                delete(StrategyAssignment).where(
                    StrategyAssignment.case_id == case_id, StrategyAssignment.step == step
                )
            )
            uow.session.execute(delete(LegalAction).where(LegalAction.case_id == case_id))
            late.append(case_id)
        uow.commit()
    workspace.engine.dispose()
    return late[0], late[1]


def _end_of_day(root: Path, day: date) -> tuple[list[str], list[str]]:
    """The day's close (``arrears close``) on the server's workspace; then the check
    behind ``arrears status``: (open cases on loans repaid or written off, the loans
    repaid or written off). Loans charged off by their product's rule and still in
    recovery are worked as cases (``arrears.domain.cases``): not ended, left out."""
    from sqlalchemy import func, select

    from arrears.domain.account import CHARGE_OFF_PREFIX
    from arrears.services.case_check import check_cases
    from arrears.store.models import CaseRow, EntryRow, Loan
    from arrears.workspace import Workspace

    arrears_cli("close", "--as-of", day.isoformat(), "-w", str(root))
    workspace = Workspace.at(root)
    try:
        check = check_cases(workspace)
        charged_off = select(EntryRow.loan_id).where(
            EntryRow.ref.startswith(CHARGE_OFF_PREFIX, autoescape=True)
        )
        worked = select(CaseRow.loan_id).where(CaseRow.status == "open")
        in_recovery = Loan.loan_id.in_(charged_off) & Loan.loan_id.in_(worked)
        with workspace.engine.connect() as conn:
            ended = list(
                conn.scalars(select(Loan.loan_id).where(Loan.status != "active", ~in_recovery))
            )
            recovering = conn.scalar(select(func.count()).select_from(Loan).where(in_recovery))
    finally:
        workspace.engine.dispose()
    assert check.as_of == day and recovering == check.in_recovery
    return check.open_on_ended, ended


@dataclass(frozen=True)
class Floor:
    server: Server
    root: Path
    day_file: Path
    agency_case: int  # the late cases today's close is to place / take to court
    legal_case: int


@pytest.fixture
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floor]:
    """A server of its own on a fresh copy of the book, and the file of its day."""
    root = workspace_copy(tmp_path_factory, "floor-day")
    agency_case, legal_case = _prepare(root)
    day_file = root / "day-offset"
    day_file.write_text("0")
    with serve(root, day_file) as running:
        yield Floor(running, root, day_file, agency_case, legal_case)


def _page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _caller(root: Path, case_id: str) -> str:
    """The mobile of the debtor of ``case_id``: the number an inbound call comes from."""
    from sqlalchemy import select

    from arrears.store.models import CaseRow, Customer
    from arrears.workspace import Workspace

    workspace = Workspace.at(root)
    try:
        with workspace.engine.connect() as conn:
            mobile = conn.scalar(
                select(Customer.mobile)
                .join(CaseRow, CaseRow.customer_id == Customer.customer_id)
                .where(CaseRow.id == int(case_id))
            )
    finally:
        workspace.engine.dispose()
    assert mobile
    return str(mobile)


def _flash_ok(page: Page, text: str) -> None:
    expect(page.locator(".flash.ok").last).to_contain_text(text)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_floor_day_across_the_roles(
    browser: Browser, floor: Floor, staff: Staff, lang: str
) -> None:
    server, day_file = floor.server, floor.day_file
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

    # 3b. the other case's debtor calls in: the collector finds them by the phone
    # number (the inbound-call box of the queue) and proposes an instalment plan
    other = next(c for c in pool if c != case_id)
    page.goto(base + "/queue")
    page.get_by_test_id("inbound-form").locator("input[name=phone]").fill(
        _caller(floor.root, other)
    )
    shot(page, f"floor-day-{tag}-03b-inbound-call", full_page=True)
    page.get_by_test_id("inbound-form").locator("button").click()
    page.wait_for_load_state()
    if not page.url.endswith(f"/cases/{other}"):  # the caller has several open cases
        hit = page.locator(f"[data-testid=search-hit][data-case='{other}']")
        shot(page, f"floor-day-{tag}-03b-inbound-caller-found", full_page=True)
        hit.locator("a").first.click()
    page.wait_for_url(re.compile(rf"/cases/{other}$"))
    page.keyboard.press("a")
    plan = page.get_by_test_id("form-arrangement")
    plan.locator("select[name=kind]").select_option("installment_plan")
    plan.locator("input[name=count]").fill("6")
    plan.locator("input[name=first_due]").fill((date.today() + timedelta(days=7)).isoformat())
    plan.locator("button[type=submit]").click()
    row = page.locator("[data-testid^=arrangement-]").first
    arrangement = (row.get_attribute("data-testid") or "").removeprefix("arrangement-")
    assert arrangement.isdigit(), arrangement
    expect(row.get_by_test_id("arrangement-status")).to_have_text(words["awaiting"])
    shot(page, f"floor-day-{tag}-03c-inbound-plan-proposed", full_page=True)
    page.context.close()

    # 3c. the team lead approves the plan in the approvals inbox
    page = _page(browser, locale)
    sign_in(page, base, lead, lang)
    page.locator("nav a[href='/approvals']").click()
    expect(page.locator("h1")).to_contain_text(words["approvals"])
    item = page.get_by_test_id(f"approval-{arrangement}")
    expect(item).to_contain_text(collector)
    shot(page, f"floor-day-{tag}-03d-lead-approvals", full_page=True)
    item.locator("button[value=approve]").click()
    expect(page.get_by_test_id(f"approval-{arrangement}")).to_have_count(0)
    page.goto(f"{base}/cases/{other}")
    decided = page.get_by_test_id(f"arrangement-{arrangement}")
    expect(decided.get_by_test_id("arrangement-status")).to_have_text(words["approved"])
    expect(decided).to_contain_text(lead)
    shot(page, f"floor-day-{tag}-03e-lead-plan-approved", full_page=True)
    page.context.close()

    # 3d. the end of the day: the close places the late case with the agency and opens
    # the other's legal case (the strategy's agency and litigation steps), and leaves no
    # open case on a repaid loan
    open_on_ended, ended = _end_of_day(floor.root, date.today())
    assert ended and open_on_ended == [], open_on_ended
    # the next morning (the close's placement and legal case run from that day)
    day_file.write_text("1")
    page = _page(browser, locale)
    sign_in(page, base, staff.manager, lang)
    page.goto(base + "/agencies")
    agency = page.get_by_test_id(f"agency-{staff.agency_code}")
    expect(agency).to_contain_text("杭州正信律师事务所")
    # placements, active placements
    assert [c.strip() for c in agency.locator("td").all_inner_texts()][1:3] == ["1", "1"]
    shot(page, f"floor-day-{tag}-03f-close-agencies", full_page=True)
    page.goto(f"{base}/cases/{floor.legal_case}")
    expect(page.get_by_test_id("case-header")).to_contain_text(words["filing"])
    shot(page, f"floor-day-{tag}-03g-close-legal-case", full_page=True)
    page.goto(base + "/queue")
    rows = page.get_by_test_id("queue-row")
    loans = {rows.nth(i).get_attribute("data-loan") for i in range(rows.count())}
    assert loans and not loans & set(ended), loans & set(ended)
    page.context.close()

    # 3e. the agency's user sees the case the close placed with it
    page = _page(browser, locale)
    sign_in(page, base, staff.agent, lang)
    queue = page.get_by_test_id("queue-table")
    expect(queue.locator("tbody tr")).to_have_count(1)
    expect(queue).to_contain_text(f"#{floor.agency_case}")
    shot(page, f"floor-day-{tag}-03h-agency-user-queue", full_page=True)
    page.context.close()

    # 4. the next day: the callback is due, at the top of the collector's ranked list
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
