"""Sign-in page in a real browser: both languages, wrong password, lockout, CSRF."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from browser_harness import PASSWORD, VIEWPORT, Server, Staff, shot, sign_in
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser


def test_login_page_in_chinese_and_english_with_the_language_toggle(
    browser: Browser, server: Server
) -> None:
    page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
    page.goto(server.base_url + "/login")
    expect(page.locator("h1")).to_have_text("arrears 催收工作台")
    expect(page.locator("button.primary")).to_have_text("登录")
    shot(page, "login-zh_CN")
    page.click("[data-testid=lang-en]")
    expect(page.locator("button.primary")).to_have_text("Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "login-en")
    page.close()


def test_wrong_password_is_refused_and_repeated_failures_lock_the_account(
    browser: Browser, server: Server, staff: Staff
) -> None:
    page = browser.new_page(viewport=VIEWPORT, locale="en-US")
    page.goto(server.base_url + "/login")
    for _ in range(5):
        page.fill("input[name=username]", staff.victim)
        page.fill("input[name=password]", "not-the-password")
        page.click("button.primary")
        expect(page.get_by_test_id("login-error")).to_have_text("Wrong user name or password.")
    # the right password no longer helps: the account is locked
    page.fill("input[name=username]", staff.victim)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    expect(page.get_by_test_id("login-error")).to_contain_text("locked")
    shot(page, "login-locked-en")
    page.close()


def test_login_without_the_csrf_token_is_refused(server: Server, staff: Staff) -> None:
    body = f"username={staff.collector}&password={PASSWORD}".encode()
    request = urllib.request.Request(server.base_url + "/login", data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


def test_sign_in_lands_on_the_role_page_and_sign_out_ends_the_session(
    browser: Browser, server: Server, staff: Staff
) -> None:
    page = browser.new_page(viewport=VIEWPORT, locale="en-US")
    sign_in(page, server.base_url, staff.collector)
    assert re.search(r"/queue$", page.url)
    expect(page.get_by_test_id("whoami")).to_contain_text("李娜")
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(server.base_url + "/queue")
    assert "/login" in page.url
    page.close()
