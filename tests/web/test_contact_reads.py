"""A logged contact's gate reads only what the store holds about the debtor (issue 29;
``gating.on_record``: one query of EXISTS tests first): with nothing on record no
holds, blacklist, contact history or consent ledger are read; a hold in force, a
blacklisted number, an earlier allowed call and a consent entry are each read when
there, and every verdict is the gate's on everything read in full (the case page's
dry run, ``contacts.compliance_status``, taken just before)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from web_support import NOW, TODAY, Book, make_book, recorded

from arrears.compliance.consent import record_consent
from arrears.services.workbench import contacts, holds
from arrears.services.workbench.access import Actor
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User

TABLES = ("holds", "blacklist", "contact_attempts", "consent_entries")


@pytest.fixture
def book(engine: Engine) -> Book:
    return make_book(engine)


def _manager(session) -> Actor:  # type: ignore[no-untyped-def]
    return Actor.of(session.scalar(select(User).where(User.username == "mgr")))


def _call(book: Book, case_id: int, at=NOW) -> tuple[tuple, tuple, set[str]]:  # type: ignore[no-untyped-def]
    """(the dry run's call verdict, the logged call's, the gate tables the log read)."""
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        case = s.get(CaseRow, case_id)
        assert case is not None
        dry = next(c for c in contacts.compliance_status(s, case, at) if c.channel == "call")
        with recorded(book.engine) as sql:
            done = contacts.log_contact(s, _manager(s), case_id, "call", "NA", at=at)
        uow.commit()
    read = {t for t in TABLES for q in sql if q.startswith(f"SELECT {t}.")}
    return (dry.allowed, dry.rules), (done.allowed, done.rules), read


def test_nothing_on_record_reads_no_gate_table_and_the_call_goes_through(book: Book) -> None:
    dry, done, read = _call(book, book.case_ids[0], NOW - timedelta(hours=2))
    assert done == dry == (True, ())
    assert read == set()
    # the call just logged is on record now: the next one reads the history
    dry, done, read = _call(book, book.case_ids[0])
    assert done == dry
    assert read == {"contact_attempts"}


def test_a_hold_a_blacklisted_number_and_a_consent_are_read_when_there(book: Book) -> None:
    held, listed, consented = book.case_ids[1], book.case_ids[2], book.case_ids[4]
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        mgr = _manager(s)
        holds.place_hold(s, mgr, held, "dispute", "disputes it", on=TODAY)
        holds.add_to_blacklist(s, mgr, "phone", "1381234" + "0003", "asked never to be called")
        customer_id = s.get(CaseRow, consented).customer_id  # type: ignore[union-attr]
        record_consent(
            s, customer_id=customer_id, channel="call", recipient=None, source="call_note",
            text="yes, call me", at=NOW - timedelta(days=1),
        )  # fmt: skip
        uow.commit()
    dry, done, read = _call(book, held)
    assert done == dry and done[0] is False
    assert read == {"holds"}
    dry, done, read = _call(book, listed)
    assert done == dry and done[0] is False
    assert read == {"blacklist"}
    dry, done, read = _call(book, consented)
    assert done == dry == (True, ())
    assert read == {"consent_entries"}
