"""The stand-in processor end to end through the real app, on SQLite and PostgreSQL:
checkout -> the stand-in's page -> pay (a signed webhook to the workspace) -> the
payment pending -> the close applies it, balances exact to the cent; a refund or a
chargeback reverses it through the ledger and the next close charges again."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from payment_support import (
    DAY,
    RETURN_URL,
    Clock,
    balances_of,
    balances_of_state,
    body_for,
    checkout,
    domain_account,
    post_event,
    scenario_state,
    standin,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.batch.reference import close_book
from arrears.channels.adapters.processor import EventKind
from arrears.domain.account import Payment
from arrears.domain.ledger import EntryKind, Ledger
from arrears.domain.scenario import EventKind as EventKind_
from arrears.services.audit import verify
from arrears.services.payments import pending_payments, processor_payments
from arrears.store.models import PaymentRow
from arrears.store.payment_models import ProcessorEvent
from arrears.store.repositories import EntryRepository
from arrears.store.workbench_models import AuditEvent
from arrears.workspace import Workspace

pytestmark = pytest.mark.usefixtures("closed")
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z][A-Za-z']+")


def _ledger(ws: Workspace):  # type: ignore[no-untyped-def]
    with Session(ws.engine) as session:
        return EntryRepository(session).ledger("L1", "CNY")


def _pending(ws: Workspace) -> list:
    with Session(ws.engine) as session:
        return pending_payments(session, loan_id="L1")


def test_pay_at_the_standin_is_pending_then_applied_by_the_close(
    ws: Workspace, client: TestClient
) -> None:
    made = checkout(ws, "1234.56")
    assert made.url.startswith("/standin/processor/checkout/")
    zh = client.get(made.url, headers={"Accept-Language": "zh-CN"})
    assert "模拟支付机构" in zh.text and "仅用于测试" in zh.text and "1,234.56" in zh.text
    prose = re.sub(r"<code class=\"mono\">.*?</code>|<[^>]+>", " ", zh.text.split("<body>")[1])
    assert set(LATIN.findall(prose)) <= {"CNY"}  # no English on the Chinese page
    en = client.get(made.url + "?lang=en")
    assert "Stand-in payment processor" in en.text and not CJK.search(en.text)

    paid = standin(client, made)
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{RETURN_URL}?checkout={made.checkout_id}"
    [pending] = _pending(ws)
    assert (pending.amount, pending.status) == (Decimal("1234.56"), "pending")
    assert _ledger(ws).entry(f"pp:{made.checkout_id}") is None  # not yet in the ledger

    report = close_book(ws, DAY)
    assert report.payments_posted == 1
    assert _pending(ws) == []
    with Session(ws.engine) as session:
        [done] = processor_payments(session, loan_id="L1")
        assert done.status == "applied"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert [a for a in actions if "payment" in a] == ["payment.checkout", "payment.paid"]
        assert verify(session).ok
    expected = domain_account(DAY, (Payment(f"pp:{made.checkout_id}", DAY, Decimal("1234.56")),))
    stored = _ledger(ws)
    assert dict(stored.balances) == dict(expected.ledger.balances)
    assert stored.entry(f"pp:{made.checkout_id}").amount == Decimal("1234.56")


def test_a_refund_after_the_close_reverses_through_the_ledger_and_the_close_charges_again(
    ws: Workspace, client: TestClient, clock: Clock
) -> None:
    made = checkout(ws, "3000.00")
    standin(client, made)
    close_book(ws, DAY)
    clock.advance(days=1)
    refunded = standin(client, made, "refund")
    assert refunded.status_code == 303, refunded.text
    ref = f"pp:{made.checkout_id}"
    reversal = _ledger(ws).entry(f"rev:{ref}")
    assert reversal is not None and reversal.kind is EntryKind.REVERSAL
    assert (reversal.reverses, reversal.posted_on) == (ref, DAY + timedelta(days=1))
    close_book(ws, DAY + timedelta(days=1))

    # as the domain replays the same story (docs/loan-rules.md): the reversal undoes
    # the payment and charges again what it avoided while it stood
    expected = scenario_state(
        DAY + timedelta(days=1),
        (EventKind_.PAYMENT, DAY, "3000.00", ref),
        (EventKind_.REVERSAL, DAY + timedelta(days=1), None, ref),
    )
    stored = _ledger(ws)
    assert balances_of(stored) == balances_of_state(expected)
    assert stored.entry(f"recharge:{ref}") is not None  # 12-01's 罚息/复利 it avoided
    never_paid = domain_account(DAY + timedelta(days=1))
    assert balances_of(stored) == balances_of(never_paid.ledger)  # as if never paid
    accrual = stored.entry(f"accr:{DAY + timedelta(days=1)}")
    assert accrual is not None and accrual.amount > 0
    with Session(ws.engine) as session:
        [row] = processor_payments(session, loan_id="L1")
        assert row.status == "refunded"
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert [a for a in actions if a.startswith("payment.")] == [
            "payment.checkout",
            "payment.paid",
            "payment.refunded",
        ]


def test_a_partial_refund_reverses_the_payment_and_books_the_rest_again(
    ws: Workspace, client: TestClient, clock: Clock
) -> None:
    made = checkout(ws, "3000.00")
    standin(client, made)
    close_book(ws, DAY)
    clock.advance(days=1)
    over = post_event(client, body_for(made, EventKind.REFUNDED, amount=Decimal("3000.01")))
    assert over.status_code == 422
    part = post_event(client, body_for(made, EventKind.REFUNDED, amount=Decimal("1000.00")))
    assert part.status_code == 200, part.text
    ref, rest = f"pp:{made.checkout_id}", f"pp:{made.checkout_id}:r1"
    [pending] = _pending(ws)
    assert (pending.payment_ref, pending.amount) == (rest, Decimal("2000.00"))
    second = post_event(client, body_for(made, EventKind.REFUNDED, amount=Decimal("0.50")), at=None)
    assert second.status_code == 200  # the rest is still pending: it is reduced
    assert _pending(ws)[0].amount == Decimal("1999.50")
    close_book(ws, DAY + timedelta(days=1))
    assert _pending(ws) == []

    expected = scenario_state(
        DAY + timedelta(days=1),
        (EventKind_.PAYMENT, DAY, "3000.00", ref),
        (EventKind_.REVERSAL, DAY + timedelta(days=1), None, ref),
        (EventKind_.PAYMENT, DAY + timedelta(days=1), "1999.50", rest),
    )
    stored = _ledger(ws)
    assert balances_of(stored) == balances_of_state(expected)
    net = sum((e.amount for e in stored.entries if e.kind is EntryKind.PAYMENT), Decimal(0)) - sum(
        (e.amount for e in stored.entries if e.kind is EntryKind.REVERSAL), Decimal(0)
    )
    assert net == Decimal("1999.50")  # 3000.00 paid, 1000.50 refunded, to the cent


def test_a_chargeback_of_a_pending_payment_withdraws_it(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws, "500.00")
    standin(client, made)
    assert standin(client, made, "chargeback").status_code == 303
    assert _pending(ws) == []
    with Session(ws.engine) as session:
        assert session.get(PaymentRow, f"pp:{made.checkout_id}") is None
        [row] = processor_payments(session, loan_id="L1")
        assert row.status == "charged_back"
        kinds = session.scalars(select(ProcessorEvent.kind).order_by(ProcessorEvent.id)).all()
        assert kinds == ["paid", "chargeback"]
    report = close_book(ws, DAY)
    assert report.payments_posted == 0
    assert dict(_ledger(ws).balances) == dict(domain_account(DAY).ledger.balances)


def test_the_standin_form_needs_its_token(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws)
    assert client.post(f"{made.url}/pay", data={"token": "0" * 64}).status_code == 403
    assert client.post(f"{made.url}/pay").status_code == 403
    assert client.get("/standin/processor/checkout/nope").status_code == 404
    assert client.post(f"{made.url}/explode", data={"token": "x"}).status_code == 404
    with Session(ws.engine) as session:
        assert session.scalar(select(func.count()).select_from(PaymentRow)) == 0


def test_a_chargeback_days_later_charges_again_every_day_the_payment_stood(
    ws: Workspace, client: TestClient, clock: Clock
) -> None:
    made = checkout(ws, "5000.00")
    standin(client, made)
    close_book(ws, DAY + timedelta(days=4))  # the payment stood 12-01 .. 12-05
    clock.advance(days=5)
    assert standin(client, made, "chargeback").status_code == 303
    close_book(ws, DAY + timedelta(days=5))
    ref = f"pp:{made.checkout_id}"
    expected = scenario_state(
        DAY + timedelta(days=5),
        (EventKind_.PAYMENT, DAY, "5000.00", ref),
        (EventKind_.REVERSAL, DAY + timedelta(days=5), None, ref),
    )
    stored = _ledger(ws)
    assert balances_of(stored) == balances_of_state(expected)
    assert balances_of(stored) == balances_of(domain_account(DAY + timedelta(days=5)).ledger)
    recharged = stored.entry(f"recharge:{ref}")
    assert recharged is not None and recharged.posted_on == DAY + timedelta(days=5)
    # exactly the 罚息 and 复利 the payment spared the loan over the five days it stood

    def accrued(ledger: Ledger) -> Decimal:
        days = (DAY, DAY + timedelta(days=4))
        return sum(
            (
                e.amount
                for e in ledger.entries
                if e.kind is EntryKind.ACCRUAL
                and e.ref.startswith("accr:")
                and days[0] <= e.posted_on <= days[1]
            ),
            Decimal(0),
        )

    never_paid = domain_account(DAY + timedelta(days=4)).ledger
    assert recharged.amount == accrued(never_paid) - accrued(stored) > 0
