"""A hosted checkout takes payment for ``[payments] checkout_minutes`` (60 by default)
and then expires: the stand-in's page says so (410) and takes no payment, the next
checkout marks it expired in the store (audited), and a processor's late ``paid`` event
for it still books the money, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from payment_support import START, Clock, body_for, page_token, post_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.services.payments import Checkout, start_checkout
from arrears.store.models import PaymentRow
from arrears.store.payment_models import Checkout as CheckoutRow
from arrears.store.payment_models import ProcessorEvent
from arrears.store.workbench_models import AuditEvent
from arrears.workspace import Workspace

pytestmark = pytest.mark.usefixtures("closed")


def _make(ws: Workspace, amount: str = "500.00", minutes_later: int = 0) -> Checkout:
    with Session(ws.engine) as session:
        made = start_checkout(
            session,
            loan_id="L1",
            customer_id="C1",
            amount=Decimal(amount),
            currency="CNY",
            return_url="/portal/paid",
            now=START + timedelta(minutes=minutes_later),
        )
        session.commit()
    return made


def _count(ws: Workspace, model: type) -> int:
    with Session(ws.engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_standin_page_stops_taking_payment_when_the_checkout_expires(
    ws: Workspace, client: TestClient, clock: Clock
) -> None:
    made = _make(ws)
    clock.now = START + timedelta(minutes=59)
    open_page = client.get(made.url, headers={"Accept-Language": "zh-CN"})
    assert open_page.status_code == 200 and "待支付" in open_page.text
    token = page_token(client, made.url)

    clock.now = START + timedelta(minutes=60)
    gone = client.get(made.url, headers={"Accept-Language": "zh-CN"})
    assert gone.status_code == 410
    assert "已过期" in gone.text and 'data-testid="standin-pay"' not in gone.text
    pressed = client.post(f"{made.url}/pay", data={"token": token})
    assert pressed.status_code == 410  # no webhook was sent, nothing booked
    assert (_count(ws, PaymentRow), _count(ws, ProcessorEvent)) == (0, 0)
    en = client.get(made.url + "?lang=en")
    assert "expired" in en.text and "start again" in en.text


def test_the_next_checkout_marks_an_expired_one_and_a_late_paid_event_still_books(
    ws: Workspace, client: TestClient, clock: Clock
) -> None:
    stale = _make(ws, "500.00")
    fresh = _make(ws, "700.00", minutes_later=61)
    with Session(ws.engine) as session:
        assert session.get(CheckoutRow, stale.checkout_id).status == "expired"
        assert session.get(CheckoutRow, fresh.checkout_id).status == "open"
        expiries = session.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.action == "payment.expired")
        ).all()
        assert expiries == ["L1"]

    # the processor took the money just before the page closed; its event came late
    clock.now = START + timedelta(minutes=62)
    late = post_event(client, body_for(stale))
    assert late.status_code == 200, late.text
    with Session(ws.engine) as session:
        assert session.get(CheckoutRow, stale.checkout_id).status == "paid"
        [booked] = session.scalars(select(PaymentRow)).all()
        assert (booked.payment_ref, booked.amount) == (f"pp:{stale.checkout_id}", Decimal("500.00"))
