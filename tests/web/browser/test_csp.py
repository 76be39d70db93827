"""The Content-Security-Policy in a real browser (issue 22, finding 5): the login page,
the queue and a case page load under it with no violation reported, htmx is loaded
from /static and injects no style, and an htmx action (a reveal, for a reason) still
works."""

from __future__ import annotations

import re

import pytest
from browser_harness import PASSWORD, VIEWPORT, Server, Staff, shot
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

pytestmark = pytest.mark.browser

# every violation the page sees, from the DOM event (init scripts are not subject to
# the page's policy)
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


def _violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__violations"), *console]


def _watched_page(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport=VIEWPORT, locale="en-US")
    page.add_init_script(WATCH_VIOLATIONS)
    console: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            console.append(message.text)

    page.on("console", note)
    return page, console


def test_login_queue_and_case_pages_run_under_the_policy_with_htmx_working(
    browser: Browser, server: Server, staff: Staff
) -> None:
    page, console = _watched_page(browser)
    answer = page.goto(server.base_url + "/login")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert _violations(page, console) == []

    page.fill("input[name=username]", staff.collector)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/queue$"))
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert _violations(page, console) == []

    case_link = page.get_by_test_id("queue-table").locator("a[href^='/cases/']").first
    page.goto(server.base_url + case_link.get_attribute("href"))
    expect(page.get_by_test_id("case-header")).to_be_visible()
    masked = page.get_by_test_id("pii-mobile").inner_text()

    # htmx posts the reveal and swaps the answer in: first without a reason (refused,
    # the refusal shown in place), then for one
    page.get_by_test_id("reveal-mobile").click()
    expect(page.locator(".pii[role=alert]")).to_contain_text("Reason to reveal")
    page.get_by_test_id("reveal-reason").select_option("verify_identity")
    page.get_by_test_id("reveal-mobile").click()
    revealed = page.get_by_test_id("revealed-mobile")
    expect(revealed).to_have_text(re.compile(r"^\+?[\d\- ]{7,}$"))
    assert revealed.inner_text()[-4:] == masked[-4:]
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    shot(page, "csp-case-revealed-en")
    assert _violations(page, console) == []
    page.close()
