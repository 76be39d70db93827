"""The dashboard for any period (issue 24, point 8): today, yesterday, the last 7 days,
this month or a from–to range of business dates in the workspace's zone; a bad period
is a 4xx saying what is wrong; an empty today points at the last day with activity.

The app's clock is 2026-12-01 12:00 in Shanghai (web_support). Seeded on case 1 (c1):
an allowed and a blocked call on 11-27, an allowed call at 01:00 on 11-30 in Shanghai
(17:00 UTC on 11-29), a promise of 300.00 taken on 11-27, a payment of 200.00 on 11-30."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from web_support import Book

from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Promise


def _seed(book: Book) -> None:
    with UnitOfWork(book.engine) as uow:
        case = uow.session.get(CaseRow, book.case_ids[0])
        loan_id = case.loan_id
        customer_id = case.customer_id

        def call(n: int, at: datetime, allowed: bool) -> ContactAttempt:
            return ContactAttempt(
                attempt_id=f"dash-{n}", customer_id=customer_id, loan_id=loan_id,
                case_id=case.id, channel="call", at=at, source="collector", allowed=allowed,
                actor="c1", outcome="no_answer" if allowed else None,
            )  # fmt: skip

        uow.session.add_all(
            [
                call(1, datetime(2026, 11, 27, 2, 0, tzinfo=UTC), True),
                call(2, datetime(2026, 11, 27, 3, 0, tzinfo=UTC), False),
                call(3, datetime(2026, 11, 29, 17, 0, tzinfo=UTC), True),  # 11-30 in Shanghai
                Promise(
                    case_id=case.id, loan_id=loan_id, amount=Decimal("300.00"),
                    promised_on=date(2026, 11, 27), due_date=date(2026, 12, 5), created_by="c1",
                ),
                PaymentRow(
                    payment_ref="dash-pay", loan_id=loan_id, paid_on=date(2026, 11, 30),
                    amount=Decimal("200.00"), currency="CNY",
                ),
            ]
        )  # fmt: skip
        uow.commit()


def _totals(client: TestClient, **params: str) -> dict:
    response = client.get("/api/v1/dashboard", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    t = body["totals"]
    return {
        "first": body["day"], "last": body["last"], "contacts": t["contacts"],
        "blocked": t["blocked"], "promises": t["promises"],
        "promised": t["promised_amount"], "payments": t["payments"], "paid": t["paid_amount"],
    }  # fmt: skip


def test_each_period_counts_the_business_days_it_covers(
    book: Book, login: Callable[[str], TestClient]
) -> None:
    _seed(book)
    mgr = login("mgr")
    assert _totals(mgr) == _totals(mgr, period="today")
    assert _totals(mgr)["contacts"] == 0
    yesterday = _totals(mgr, period="yesterday")
    # the call at 17:00 UTC on 11-29 is on 11-30 in Shanghai
    assert (yesterday["first"], yesterday["last"]) == ("2026-11-30", "2026-11-30")
    assert (yesterday["contacts"], yesterday["payments"], Decimal(yesterday["paid"])) == (
        1, 1, Decimal("200.00"),
    )  # fmt: skip
    week = _totals(mgr, period="last7")
    assert (week["first"], week["last"]) == ("2026-11-25", "2026-12-01")
    assert (week["contacts"], week["blocked"], week["promises"], week["payments"]) == (2, 1, 1, 1)
    assert Decimal(week["promised"]) == Decimal("300.00")
    day = _totals(mgr, **{"from": "2026-11-27", "to": "2026-11-27"})
    assert (day["contacts"], day["blocked"], day["promises"], day["payments"]) == (1, 1, 1, 0)
    assert _totals(mgr, **{"from": "2026-11-29"})["contacts"] == 0  # to defaults to from
    month = _totals(mgr, period="month")
    assert (month["first"], month["contacts"]) == ("2026-12-01", 0)
    # a team lead of another team sees none of c1's work
    assert _totals(login("tl2"), period="last7")["contacts"] == 0


def test_the_page_shows_the_period_and_points_an_empty_today_at_the_last_active_day(
    book: Book, login: Callable[[str], TestClient]
) -> None:
    _seed(book)
    mgr = login("mgr")  # prefers zh_CN
    today = mgr.get("/dashboard")
    assert today.status_code == 200
    assert 'data-testid="dashboard-no-activity"' in today.text
    assert "查看有记录的最近一天：2026-11-30" in today.text
    assert 'href="/dashboard?period=range&amp;from=2026-11-30&amp;to=2026-11-30"' in today.text
    week = mgr.get("/dashboard", params={"period": "last7"})
    assert week.status_code == 200
    assert "近 7 天" in week.text and "dashboard-no-activity" not in week.text
    assert "期内到期承诺" in week.text
    en = login("c1")  # a collector may not read it
    assert en.get("/dashboard").status_code in (302, 303, 403)


@pytest.mark.parametrize(
    ("params", "zh"),
    [
        ({"from": "2026-13-01"}, "开始日期：“2026-13-01”不是有效日期"),
        ({"from": "2026-11-01", "to": "yesterday"}, "结束日期：“yesterday”不是有效日期"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "开始日期 2026-11-30 晚于结束日期 2026-11-01"),
        ({"from": "2024-01-01", "to": "2026-11-30"}, "区间超过 366 天"),
        ({"period": "fortnight"}, "未知的统计期间"),
        ({"period": "range"}, "自定义区间需要填写开始日期"),
    ],
)
def test_a_bad_period_is_a_4xx_saying_what_is_wrong(
    login: Callable[[str], TestClient], params: dict, zh: str
) -> None:
    mgr = login("mgr")
    page = mgr.get("/dashboard", params=params)
    assert page.status_code == 422, page.text[:300]
    assert zh in page.text
    api = mgr.get("/api/v1/dashboard", params=params)
    assert api.status_code == 422
    assert api.json()["detail"]
