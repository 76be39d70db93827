"""A payment reversed after the close (a refund or a chargeback) collected nothing:
the promise it kept is judged again, and the portal's figures and the collectors'
dashboard stop counting it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from payment_support import DAY, checkout, standin
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.batch.reference import close_book
from arrears.services.audit import verify
from arrears.services.portal.stats import self_service
from arrears.services.workbench.promises import settle_promises
from arrears.store.models import CaseRow
from arrears.store.workbench_models import AuditEvent, Promise
from arrears.workspace import Workspace

pytestmark = pytest.mark.usefixtures("closed")


def _promise(ws: Workspace, due_in_days: int) -> int:
    """A promise of 1,000.00 made on DAY for L1's open case, due ``due_in_days`` later."""
    with Session(ws.engine) as session:
        case_id = session.scalar(
            select(CaseRow.id).where(CaseRow.loan_id == "L1", CaseRow.status == "open")
        )
        assert case_id is not None  # L1 is overdue: the close opened its case
        promise = Promise(
            case_id=case_id,
            loan_id="L1",
            amount=Decimal("1000.00"),
            promised_on=DAY,
            due_date=DAY + timedelta(days=due_in_days),
            created_by="c1",
        )
        session.add(promise)
        session.commit()
        return promise.id


def _status(ws: Workspace, promise_id: int) -> tuple[str, Decimal, object]:
    with Session(ws.engine) as session:
        p = session.get(Promise, promise_id)
        assert p is not None
        return p.status, p.paid_amount, p.settled_on


@pytest.mark.parametrize(
    ("due_in_days", "after"),
    [(0, "broken"), (5, "pending")],
    ids=["due-passed-broken", "due-ahead-pending-again"],
)
def test_a_chargeback_after_the_close_unkeeps_the_promise_it_kept(
    ws: Workspace, client: TestClient, clock, due_in_days: int, after: str
) -> None:
    promise_id = _promise(ws, due_in_days)
    made = checkout(ws, "1000.00")
    standin(client, made)
    close_book(ws, DAY)
    assert settle_promises(ws.engine, DAY)["kept"] == 1
    assert _status(ws, promise_id)[:2] == ("kept", Decimal("1000.00"))

    clock.advance(days=1)
    assert standin(client, made, "chargeback").status_code == 303

    status, paid, settled = _status(ws, promise_id)
    assert (status, paid) == (after, Decimal("0.00"))
    assert settled == (DAY if after == "broken" else None)
    with Session(ws.engine) as session:
        reasons = [
            (e.action, json.loads(e.payload).get("reason"))
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            if e.action.startswith("promise.")
        ]
        assert reasons[-1] == (
            "promise.broken" if after == "broken" else "promise.reopened",
            f"chargeback of pp:{made.checkout_id}",
        )
        assert verify(session).ok
    # the next close does not keep it again on the bounced money
    close_book(ws, DAY + timedelta(days=1))
    settle_promises(ws.engine, DAY + timedelta(days=1))
    assert _status(ws, promise_id)[0] == after


def test_the_portal_figures_stop_counting_a_refunded_payment(
    ws: Workspace, client: TestClient, clock
) -> None:
    made = checkout(ws, "800.00")
    standin(client, made)
    close_book(ws, DAY)
    with Session(ws.engine) as session:
        before = self_service(session, DAY, DAY)
    assert (before.payments, before.portal_payments) == (1, 1)
    clock.advance(days=1)
    assert standin(client, made, "refund").status_code == 303
    with Session(ws.engine) as session:
        after = self_service(session, DAY, DAY)
    assert (after.payments, after.portal_payments) == (0, 0)
