"""The dashboard names each closed day whose treatments are held because the scores the
strategy reads shifted (the close's ``treatments.held`` audit entries), with the command
that goes on, until the scores are accepted or the day has been treated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from web_support import Book

from arrears.services.book_models import ScoredDay
from arrears.services.held_days import ACCEPTED, HELD, record
from arrears.store.contact_models import StrategyAssignment
from arrears.store.unit_of_work import UnitOfWork

FIRST, SECOND = date(2026, 11, 29), date(2026, 11, 30)


def _scored(day: date, psi: float) -> ScoredDay:
    return ScoredDay(day, Path("scores"), "early_warning_30", "d16016449141", 44, psi)


def _held_on_page(client: TestClient) -> list[str]:
    page = client.get("/dashboard")
    assert page.status_code == 200
    return [part.split('"', 1)[0] for part in page.text.split('data-testid="held-day-')[1:]]


def test_the_dashboard_names_held_days_until_accepted_or_treated(
    book: Book, login: Callable[[str], TestClient]
) -> None:
    manager, lead = login("mgr"), login("tl")  # both prefer zh_CN
    assert _held_on_page(manager) == [] and manager.get("/api/v1/dashboard").json()["held"] == []
    record(book.engine, "close", HELD, _scored(SECOND, 0.31))
    record(book.engine, "close", HELD, _scored(FIRST, 1.7))

    assert _held_on_page(manager) == ["2026-11-29", "2026-11-30"] == _held_on_page(lead)
    page = manager.get("/dashboard").text
    assert "2026-11-29 的策略处置已暂停：当日未排任何联系。" in page
    assert "策略依据模型 early_warning_30（版本 d16016449141）的评分分层" in page
    assert "（PSI 1.700）" in page and "（PSI 0.310）" in page
    assert "<code>arrears treat --as-of 2026-11-29 --accept-shifted-scores</code>" in page
    held = manager.get("/api/v1/dashboard").json()["held"]
    assert [(h["day"], h["model"], h["psi"]) for h in held] == [
        ("2026-11-29", "early_warning_30", 1.7),
        ("2026-11-30", "early_warning_30", 0.31),
    ]

    # the 29th's scores are accepted; the 30th is treated by a close rerun under "warn"
    record(book.engine, "cli:ops", ACCEPTED, _scored(FIRST, 1.7))
    with UnitOfWork(book.engine) as uow:
        uow.session.add(
            StrategyAssignment(
                as_of=SECOND, case_id=book.case_ids[0], customer_id="C1", loan_id="L1",
                strategy="default", version=1, arm="champion", segment="late", step="call",
                channel="call",
            )
        )  # fmt: skip
        uow.commit()
    assert _held_on_page(manager) == []
    # a later rerun of the close holds the treated day again: it has treatments, so it
    # is not shown; the accepted day held again by a later close is shown again
    record(book.engine, "close", HELD, _scored(SECOND, 0.31))
    record(book.engine, "close", HELD, _scored(FIRST, 1.7))
    assert _held_on_page(manager) == ["2026-11-29"]


def test_a_collector_does_not_see_the_dashboard(
    book: Book, login: Callable[[str], TestClient]
) -> None:
    record(book.engine, "close", HELD, _scored(FIRST, 1.7))
    page = login("c1").get("/dashboard")
    assert "held-day-" not in page.text and "accept-shifted-scores" not in page.text
