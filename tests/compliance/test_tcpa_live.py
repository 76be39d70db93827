"""TCPA prior consent in the live gate (SQLite and PostgreSQL): under us-regf the
strategy's call and text (the dialer list, bulk texts: autodialled) to a debtor without
consent on record are blocked naming us-regf.tcpa.consent, and allowed once the debtor's
consent is in the ledger; a collector's manual call from the workbench is allowed
without it."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the workbench's test book
from web_support import Book, make_book

from arrears.compliance import load_pack
from arrears.compliance.consent import record_consent
from arrears.services.treatments import gate_actions
from arrears.services.workbench import contacts
from arrears.services.workbench.access import Actor
from arrears.store.models import CaseRow, Customer
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User

DAY = date(2026, 12, 1)
RULE = "us-regf.tcpa.consent"


@pytest.fixture
def book(engine) -> Book:  # type: ignore[no-untyped-def]
    return make_book(engine)


def strategy_verdicts(book: Book) -> dict[str, tuple[str, ...]]:
    with Session(book.engine) as session:
        case = session.get(CaseRow, book.case_ids[0])
        assert case is not None
        zone = session.scalar(
            select(Customer.time_zone).where(Customer.customer_id == case.customer_id)
        )
        actions = [
            {"contact_channel": channel, "channel": channel, "customer_id": case.customer_id,
             "loan_id": case.loan_id, "case_id": case.id, "send_on": DAY,
             "send_at_local_hour": hour, "time_zone": zone, "priority": 1,
             "strategy": "s", "step": f"{channel}-1", "template": None}
            for channel, hour in (("call", 10), ("sms", 11))
        ]  # fmt: skip
        gated = gate_actions(session, actions, DAY, load_pack("us-regf"))
    return {g.action["contact_channel"]: g.verdict.rules for g in gated}


def test_strategy_contacts_need_consent_a_manual_call_does_not(book) -> None:
    assert strategy_verdicts(book) == {"call": (RULE,), "sms": (RULE,)}
    with UnitOfWork(book.engine) as uow:
        manager = Actor.of(uow.session.scalar(select(User).where(User.username == "mgr")))
        result = contacts.log_contact(
            uow.session, manager, book.case_ids[0], "call", "NA",
            at=datetime(2026, 12, 1, 3, tzinfo=UTC), pack_name="us-regf",
        )  # fmt: skip
        uow.commit()
    assert result.allowed and RULE not in result.rules
    with Session(book.engine) as session, session.begin():
        case = session.get(CaseRow, book.case_ids[0])
        assert case is not None
        customer = session.get(Customer, case.customer_id)
        assert customer is not None
        record_consent(
            session, customer_id=customer.customer_id, channel=None, recipient=customer.mobile,
            source="call_note", text="The debtor agreed to calls and texts at this number",
            at=datetime(2026, 11, 20, tzinfo=UTC),
        )  # fmt: skip
    assert strategy_verdicts(book) == {"call": (), "sms": ()}
