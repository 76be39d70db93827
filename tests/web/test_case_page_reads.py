"""What the case page reads (issue 29): its case and the case's customer in one
statement, scoped like every case (``access.visible_case_and_customer``), and the
debtor's consent ledger only when an entry is on record for them (``case_view._present``
tells); the compliance it shows is the gate's on everything read in full
(``contacts.compliance_status`` without the page's inputs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from web_support import NOW, Book, make_book, recorded

from arrears.compliance.consent import record_opt_out
from arrears.services.workbench import case_view, contacts
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import NotFound
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User


@pytest.fixture
def book(engine: Engine) -> Book:
    return make_book(engine)


def _page(book: Book, username: str, case_id: int) -> tuple[dict, list[dict], list[str]]:
    """The case page for ``username``, the gate's status read in full, the page's SQL."""
    with UnitOfWork(book.engine, read_only=True) as uow:
        s = uow.session
        actor = Actor.of(s.scalar(select(User).where(User.username == username)))
        with recorded(book.engine) as sql:
            view = case_view.case_view(s, actor, case_id, now=NOW)
        case = s.get(CaseRow, case_id)
        assert case is not None
        full = [
            {"channel": c.channel, "allowed": c.allowed, "rules": list(c.rules),
             "reasons": list(c.reasons)}
            for c in contacts.compliance_status(s, case, NOW)
        ]  # fmt: skip
    return view, full, sql


def _ledger_reads(sql: list[str]) -> list[str]:
    # consents_on_record's select (the presence query names the table only in EXISTS)
    return [q for q in sql if q.startswith("SELECT consent_entries.")]


def test_the_consent_ledger_is_read_only_when_the_debtor_has_an_entry(book: Book) -> None:
    case_id = book.case_ids[0]
    view, full, sql = _page(book, "mgr", case_id)
    assert _ledger_reads(sql) == []
    assert view["compliance"] == full
    assert all(c["allowed"] for c in full if c["channel"] == "sms")
    with UnitOfWork(book.engine) as uow:
        customer_id = uow.session.get(CaseRow, case_id).customer_id  # type: ignore[union-attr]
        record_opt_out(
            uow.session, customer_id=customer_id, channel="sms", recipient=None,
            source="reply_stop", text="STOP", at=NOW - timedelta(hours=1),
        )  # fmt: skip
        uow.commit()
    view, full, sql = _page(book, "mgr", case_id)
    assert len(_ledger_reads(sql)) == 1
    assert view["compliance"] == full
    assert not any(c["allowed"] for c in full if c["channel"] == "sms")


def test_the_case_and_its_customer_are_one_scoped_statement(book: Book) -> None:
    own, other = book.case_ids[0], book.case_ids[2]  # c1's case, c3's (another team)
    view, _full, sql = _page(book, "c1", own)
    assert view["case"]["id"] == own and view["customer"]["customer_id"] == "C1"
    assert view["customer"]["mobile"] != "13812340001"  # masked for a collector
    joined = [q for q in sql if q.startswith("SELECT cases.") and "JOIN customers" in q]
    assert len(joined) == 1
    assert not [q for q in sql if q.startswith("SELECT customers.")]
    with pytest.raises(NotFound):
        _page(book, "c1", other)
