"""One Playwright and one Debian Chromium per test process, shared by every test that
drives a browser in-process (the workbench's and the portal's browser tests, the
stand-in processor's page, the report's width).

Playwright's sync API runs an event loop of its own on the calling thread, and a second
``sync_playwright()`` on a thread whose loop is still running fails ("using Playwright
Sync API inside the asyncio loop"). Two session fixtures in two conftests, or a test's
own ``with sync_playwright()`` after a session fixture, did exactly that whenever xdist
happened to give them the same worker. ``tests/conftest.py`` closes it at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
_open: dict[str, Any] = {}


def shared_browser() -> Any:  # playwright.sync_api.Browser
    """This process's Chromium, launched on first use (never downloaded)."""
    if "browser" not in _open:
        if not Path(CHROMIUM).exists():
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
        from playwright.sync_api import sync_playwright

        _open["playwright"] = sync_playwright().start()
        _open["browser"] = _open["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
    return _open["browser"]


def close_shared_browser() -> None:
    """Close the browser and stop Playwright, if this process started them."""
    browser, playwright = _open.pop("browser", None), _open.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()
