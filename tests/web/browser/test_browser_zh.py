"""The workbench in Chinese: a collector whose own language is zh_CN signs in, takes
the next case and sees the whole case page in Chinese, with personal data masked."""

from __future__ import annotations

import re

import pytest
from browser_harness import VIEWPORT, Server, Staff, shot, sign_in
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser


def test_chinese_login_queue_and_case_page(browser: Browser, server: Server, staff: Staff) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.base_url + "/login")
    expect(page.locator("button.primary")).to_have_text("登录")
    sign_in(page, server.base_url, staff.collector2)  # her own setting: zh_CN
    expect(page.locator("h1")).to_have_text("我的队列")
    expect(page.get_by_test_id("whoami")).to_have_text("王芳 · 催收员")
    shot(page, "zh-01-queue")

    page.get_by_test_id("next-case").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    labels = ("贷款", "还款计划", "分户账", "账龄历史", "联系记录", "承诺还款", "合规状态", "话术")
    for label in labels:
        expect(page.locator("main")).to_contain_text(label)
    expect(page.get_by_test_id("case-lock")).to_have_text(f"{staff.collector2} 处理中")
    masked = page.get_by_test_id("pii-id_number").inner_text()
    assert re.fullmatch(r"\d{6}\*+\w{4}", masked), masked
    expect(page.get_by_test_id("compliance")).to_contain_text("当前允许")
    shot(page, "zh-02-case")
    # a wrong amount is refused with the reason, nothing recorded
    page.keyboard.press("p")
    page.get_by_test_id("form-promise").locator("input[name=amount]").fill("12,34")
    page.get_by_test_id("form-promise").locator("button[type=submit]").click()
    expect(page.get_by_test_id("case-flash")).to_contain_text("已拒绝：金额：不是有效金额")
    expect(page.get_by_test_id("promises")).to_have_count(0)
    page.keyboard.press("a")  # the arrangement panel, opened from the keyboard
    expect(page.get_by_test_id("form-arrangement")).to_be_visible()
    expect(page.get_by_test_id("form-arrangement")).to_contain_text("结清")
    shot(page, "zh-03-case-arrangement-panel")

    # the language toggle switches her own setting to English and back
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_test_id("whoami")).to_have_text("王芳 · Collector")
    page.goto(server.base_url + "/queue")
    expect(page.locator("h1")).to_have_text("My queue")
    page.get_by_test_id("lang-zh_CN").click()
    expect(page.locator("h1")).to_have_text("我的队列")
    context.close()
