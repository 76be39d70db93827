"""Promises to pay are settled kept or broken from the payments actually received."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from arrears.services import audit
from arrears.services.workbench.promises import settle_promises
from arrears.store.models import PaymentRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Promise


def _pay(engine, ref: str, loan_id: str, on: date, amount: str) -> None:
    with UnitOfWork(engine) as uow:
        uow.payments.add(
            PaymentRow(
                payment_ref=ref, loan_id=loan_id, paid_on=on, amount=Decimal(amount), currency="CNY"
            )
        )
        uow.commit()


def _status(engine) -> dict[int, tuple[str, Decimal, date | None]]:
    with UnitOfWork(engine) as uow:
        return {
            p.case_id: (p.status, p.paid_amount, p.settled_on)
            for p in uow.session.scalars(select(Promise))
        }


def test_promise_kept_by_payments_summing_to_it_and_broken_without(login, book) -> None:
    c1, c2 = login("c1"), login("c2")
    kept, broken = book.case_ids[0], book.case_ids[1]
    body = {"amount": "500.00", "due_date": "2026-12-05"}
    assert c1.post(f"/api/v1/cases/{kept}/promises", json=body).status_code == 201
    assert c2.post(f"/api/v1/cases/{broken}/promises", json=body).status_code == 201
    _pay(book.engine, "P1", "L1", date(2026, 12, 2), "200.00")
    _pay(book.engine, "P2", "L1", date(2026, 12, 4), "300.00")
    _pay(book.engine, "P3", "L2", date(2026, 12, 3), "499.99")  # one cent short
    _pay(book.engine, "P4", "L2", date(2026, 12, 6), "100.00")  # after the due date

    assert settle_promises(book.engine, date(2026, 12, 3)) == {
        "kept": 0,
        "broken": 0,
        "pending": 2,
    }
    assert settle_promises(book.engine, date(2026, 12, 5)) == {
        "kept": 1,
        "broken": 1,
        "pending": 0,
    }
    status = _status(book.engine)
    assert status[kept] == ("kept", Decimal("500.00"), date(2026, 12, 4))
    assert status[broken] == ("broken", Decimal("499.99"), date(2026, 12, 5))
    # settling again changes nothing
    assert settle_promises(book.engine, date(2026, 12, 9)) == {
        "kept": 0,
        "broken": 0,
        "pending": 0,
    }
    with UnitOfWork(book.engine) as uow:
        assert audit.verify(uow.session).ok


def test_a_new_promise_replaces_the_pending_one_and_bad_input_is_named(login, book) -> None:
    c1 = login("c1")
    case = book.case_ids[0]
    first = c1.post(
        f"/api/v1/cases/{case}/promises", json={"amount": "100.00", "due_date": "2026-12-03"}
    )
    second = c1.post(
        f"/api/v1/cases/{case}/promises", json={"amount": "150.00", "due_date": "2026-12-04"}
    )
    listed = c1.get(f"/api/v1/cases/{case}/promises").json()
    assert [(p["id"], p["status"]) for p in listed] == [
        (second.json()["id"], "pending"),
        (first.json()["id"], "cancelled"),
    ]
    past = c1.post(
        f"/api/v1/cases/{case}/promises", json={"amount": "10.00", "due_date": "2026-11-30"}
    )
    assert past.status_code == 422 and "due_date" in past.json()["detail"]
    cents = c1.post(
        f"/api/v1/cases/{case}/promises", json={"amount": "10.001", "due_date": "2026-12-03"}
    )
    assert cents.status_code == 422
