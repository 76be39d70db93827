"""The live gate (the workbench's ``log_contact`` and channel status, on the store) runs
the same rules as `compliance check`: a workspace whose arrears.toml says
``[compliance] pack = "cn-2026"`` gets the 2026 rules, blocks naming the rule id."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the workbench's test book
from web_support import Book, make_book

from arrears.services.settings import SettingsError, load_settings
from arrears.services.workbench import contacts
from arrears.services.workbench.access import Actor
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User

# customers of the book have no time zone: Beijing time (the pack's candidate zone)
DAY = datetime(2026, 12, 1, tzinfo=UTC)


def sh(hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` Beijing time on 2026-12-01."""
    return DAY + timedelta(hours=hour - 8, minutes=minute)


def actor(book: Book, username: str) -> Actor:
    with UnitOfWork(book.engine) as uow:
        return Actor.of(uow.session.scalar(select(User).where(User.username == username)))


@pytest.fixture
def book(engine) -> Book:  # type: ignore[no-untyped-def]
    return make_book(engine)


@pytest.fixture
def pack(tmp_path: Path) -> str:
    (tmp_path / "arrears.toml").write_text('[compliance]\npack = "cn-2026"\n', encoding="utf-8")
    return load_settings(tmp_path).compliance_pack


def test_the_workspace_setting_names_the_pack(pack, tmp_path):
    assert pack == "cn-2026"
    (tmp_path / "arrears.toml").write_text('[compliance]\npack = "us-ma"\n', encoding="utf-8")
    assert load_settings(tmp_path).compliance_pack == "us-ma"
    (tmp_path / "arrears.toml").write_text('[compliance]\npack = "cn-2027"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\(cn, cn-2026, us-ma, us-regf\)"):
        load_settings(tmp_path)


def log(book: Book, pack: str, case: int, code: str, at: datetime, channel: str = "call"):
    with UnitOfWork(book.engine) as uow:
        result = contacts.log_contact(
            uow.session, actor(book, "mgr"), book.case_ids[case], channel, code,
            at=at, pack_name=pack,
        )  # fmt: skip
        uow.commit()
        return result


def test_the_seventh_unanswered_dial_is_blocked_in_the_store(book, pack):
    for i in range(6):
        assert log(book, pack, 0, "NA", sh(9 + i)).allowed, i
    blocked = log(book, pack, 0, "NA", sh(15))
    assert blocked.rules == ("cn-2026.dials.daily",)
    assert blocked.reasons[0].startswith(
        "6 call attempt(s) not ending connected_conversation already made to ***0001"
    )
    with UnitOfWork(book.engine) as uow:
        row = uow.session.scalar(
            select(ContactAttempt).where(ContactAttempt.attempt_id == blocked.attempt.attempt_id)
        )
        assert row is not None and row.allowed is False
        assert json.loads(row.blocked_rules) == ["cn-2026.dials.daily"]
    # the case page's channel status says the same, by rule id
    with UnitOfWork(book.engine) as uow:
        case = uow.session.get(CaseRow, book.case_ids[0])
        status = {
            s.channel: s.rules for s in contacts.compliance_status(uow.session, case, sh(16), pack)
        }
    assert status["call"] == ("cn-2026.dials.daily",)
    assert status["sms"] == ()


def test_hours_until_before_22_and_three_conversations(book, pack):
    assert log(book, pack, 1, "RPC", sh(21, 30)).allowed  # cn blocked 21:30
    assert log(book, pack, 1, "PTP", sh(21, 40)).allowed
    assert log(book, pack, 1, "RPC", sh(21, 50)).allowed
    assert log(book, pack, 1, "NA", sh(21, 55)).rules == ("cn-2026.conversations.daily",)
    assert log(book, pack, 2, "NA", sh(22)).rules == ("cn-2026.hours",)


def test_third_parties_only_once_the_debtor_is_unreachable(book, pack):
    assert log(book, pack, 1, "TPC", sh(10)).rules == ("cn-2026.third_party.unreachable",)
    for i, code in enumerate(["NA", "BUSY", "OFF"]):
        assert log(book, pack, 1, code, sh(11 + i)).allowed
    assert log(book, pack, 1, "TPC", sh(14)).allowed


def test_a_visit_logged_without_its_collectors_counts_as_one(book, pack):
    # the workbench does not record how many collectors went: one is assumed
    assert log(book, pack, 1, "RPC", sh(10), channel="visit").rules == ("cn-2026.visit.two_agents",)
