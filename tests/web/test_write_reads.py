"""The writes of the workbench's hot paths read less (issue 29) and do the same: a
contact reads its case and the case's customer in one scoped statement, a new
promise cancels the case's pending one in one UPDATE … RETURNING, audited as before."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web_support import NOW, TODAY, Book, make_book, recorded

from arrears.services.workbench import contacts, promises
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Forbidden, NotFound
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent, Promise, User


@pytest.fixture
def book(engine: Engine) -> Book:
    return make_book(engine)


def _actor(session: Session, username: str) -> Actor:
    return Actor.of(session.scalar(select(User).where(User.username == username)))


def test_a_contact_reads_its_case_and_customer_in_one_scoped_statement(book: Book) -> None:
    own, other = book.case_ids[0], book.case_ids[2]  # c1's case, c3's
    with UnitOfWork(book.engine) as uow:
        c1 = _actor(uow.session, "c1")
        with recorded(book.engine) as sql:
            result = contacts.log_contact(
                uow.session, c1, own, "call", "NA", "", at=NOW - timedelta(hours=1)
            )
        assert result.allowed and result.attempt.customer_id == "C1"
        joined = [q for q in sql if q.startswith("SELECT cases.") and "JOIN customers" in q]
        assert len(joined) == 1
        assert not [q for q in sql if q.startswith("SELECT customers.")]
        with pytest.raises(NotFound):
            contacts.log_contact(uow.session, c1, other, "call", "NA", "", at=NOW)
        with pytest.raises(Forbidden):
            contacts.log_contact(uow.session, _actor(uow.session, "comp"), own, "call", "NA", "")


def test_a_new_promise_cancels_the_pending_one_and_audits_it(book: Book) -> None:
    own, pool = book.case_ids[0], book.case_ids[4]
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        c1, mgr = _actor(s, "c1"), _actor(s, "mgr")
        first = promises.create_promise(s, c1, own, Decimal("100.00"), TODAY, on=TODAY)
        elsewhere = promises.create_promise(s, mgr, pool, Decimal("5.00"), TODAY, on=TODAY)
        uow.commit()
        first_id, elsewhere_id = first.id, elsewhere.id
        # the first promise is loaded in this session: the cancellation shows on it
        second = promises.create_promise(
            s, c1, own, Decimal("120.00"), TODAY + timedelta(days=2), on=TODAY
        )
        assert (first.status, first.settled_on) == ("cancelled", TODAY)
        uow.commit()
        second_id = second.id
    with UnitOfWork(book.engine, read_only=True) as uow:
        s = uow.session
        rows = {p.id: (p.status, p.settled_on) for p in s.scalars(select(Promise))}
        events = [
            (e.action, e.entity_id, json.loads(e.payload))
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.entity == "promise").order_by(AuditEvent.seq)
            )
        ]
    assert rows == {
        first_id: ("cancelled", TODAY),
        elsewhere_id: ("pending", None),
        second_id: ("pending", None),
    }
    assert [(a, i) for a, i, _p in events] == [
        ("promise.create", str(first_id)),
        ("promise.create", str(elsewhere_id)),
        ("promise.cancel", str(first_id)),
        ("promise.create", str(second_id)),
    ]
    assert events[2][2] == {"replaced": True}
