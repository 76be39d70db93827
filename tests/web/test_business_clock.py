"""One business clock: the workbench's "today" is the date on the wall clock of the
workspace's time zone (``[workspace] time_zone`` in arrears.toml, default
Asia/Shanghai), never the UTC date. At 2026-12-06T22:28Z it is 06:28 on 12-07 in
Beijing, and every page and answer says 2026-12-07."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from web_support import Book, login_client

from arrears.services.clock import (
    ClockError,
    business_date,
    day_bounds,
    workspace_time_zone,
)
from arrears.web.app import Settings, create_app

INSTANT = datetime(2026, 12, 6, 22, 28, tzinfo=UTC)  # 06:28 on 12-07 in Beijing


def test_the_business_date_is_the_date_in_the_workspace_zone_not_in_utc() -> None:
    assert business_date(INSTANT) == date(2026, 12, 7)
    assert business_date(INSTANT, "UTC") == date(2026, 12, 6)
    assert business_date(INSTANT.replace(tzinfo=None)) == date(2026, 12, 7)  # naive = UTC
    start, end = day_bounds(date(2026, 12, 7))
    assert (start, end) == (
        datetime(2026, 12, 6, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 16, 0, tzinfo=UTC),
    )
    assert start <= INSTANT < end


def test_the_zone_is_read_from_the_workspace_settings(tmp_path: Path) -> None:
    assert workspace_time_zone(tmp_path) == "Asia/Shanghai"  # no arrears.toml
    (tmp_path / "arrears.toml").write_text('[workspace]\ntime_zone = "Europe/London"\n')
    assert workspace_time_zone(tmp_path) == "Europe/London"
    (tmp_path / "arrears.toml").write_text('[workspace]\ntime_zone = "Mars/Olympus"\n')
    with pytest.raises(ClockError, match=r"arrears\.toml: workspace\.time_zone 'Mars/Olympus'"):
        workspace_time_zone(tmp_path)


def _app(book: Book, root: Path):  # type: ignore[no-untyped-def]
    return create_app(
        root, engine=book.engine, settings=Settings(clock=lambda: INSTANT), migrate=False
    )


def _shown_date(html: str) -> str:
    match = re.search(r'data-testid="business-date"[^>]*>[^<]*<time datetime="([^"]+)"', html)
    assert match, "the top bar shows no business date"
    return match.group(1)


def test_at_0628_in_beijing_on_12_07_the_workbench_says_12_07(book: Book, tmp_path: Path) -> None:
    app = _app(book, tmp_path)
    collector = login_client(app, "c1")
    queue = collector.get("/queue")
    assert queue.status_code == 200
    assert _shown_date(queue.text) == "2026-12-07"
    case_id = book.case_ids[0]
    page = collector.get(f"/cases/{case_id}")
    assert _shown_date(page.text) == "2026-12-07"
    # the promise form starts on today's business date and refuses earlier ones
    assert 'name="due_date" type="date" required min="2026-12-07" value="2026-12-07"' in page.text
    view = collector.get(f"/api/v1/cases/{case_id}").json()
    assert view["as_of"] == "2026-12-07"
    made = collector.post(
        f"/api/v1/cases/{case_id}/promises", json={"amount": "100.00", "due_date": "2026-12-07"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["promised_on"] == "2026-12-07"
    manager = login_client(app, "mgr")
    board = manager.get("/api/v1/dashboard").json()
    assert board["day"] == "2026-12-07"
    assert board["promises_due_today"] == 1


def test_a_workspace_in_another_zone_has_its_own_date(book: Book, tmp_path: Path) -> None:
    (tmp_path / "arrears.toml").write_text('[workspace]\ntime_zone = "UTC"\n')
    collector = login_client(_app(book, tmp_path), "c1")
    assert _shown_date(collector.get("/queue").text) == "2026-12-06"
