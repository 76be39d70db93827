"""The HTML report fits the screen (issue 24, point 8): on a 1280-px desktop and a
390-px phone the page is no wider than the window; wide tables scroll inside their own
box and charts take the width they are given. Needs Chromium (the report's PDF tests
need it too); skipped with that reason where it is absent."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from arrears.analytics.report import build_report

CHROMIUM = os.environ.get("BROWSER_PATH", "/usr/bin/chromium")
FROM, TO = date(2025, 12, 1), date(2026, 11, 30)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from chromium_session import shared_browser

    return shared_browser()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_is_no_wider_than_a_desktop_or_a_phone(
    demo_book, browser, tmp_path: Path, lang: str
) -> None:
    out = build_report(demo_book.ws, FROM, TO, "html", lang, tmp_path / f"report-{lang}.html")
    html = out.read_text(encoding="utf-8")
    assert '<div class="table-wrap"' in html and '<div class="chart">' in html
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(out.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{lang} at {width}px: the page is {scroll}px wide"
        # the widest table (the KPI table) scrolls inside its box on a phone
        box = page.evaluate(
            "(() => { const w = document.getElementById('table-kpi')?.parentElement;"
            " return w ? [w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX] : null })()"
        )
        if box and width == 390:
            assert box[0] > box[1] and box[2] == "auto"
        charts = page.evaluate(
            "Array.from(document.querySelectorAll('.chart'))"
            ".map(c => c.getBoundingClientRect().right)"
        )
        assert charts and max(charts) <= inner
        page.screenshot(path=str(tmp_path / f"report-{lang}-{width}.png"))
        page.close()
