"""A property over any sequence of webhook deliveries (paid, refunded, chargeback,
whole or partial, each possibly delivered again, in any order): the payments the
close will take in are exactly what was paid and not taken back, to the cent, each
once; every accepted event is recorded once; nothing is ever a 5xx."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payment_support import body_for, checkout, post_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import EventKind
from arrears.domain.money import quantize
from arrears.store.models import PaymentRow
from arrears.store.payment_models import Checkout, ProcessorEvent
from arrears.workspace import Workspace

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
PARTS = st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.01"), Decimal("0.999")])
STEPS = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(list(EventKind)), st.booleans(), PARTS),
    min_size=1,
    max_size=10,
)
REVERSED = {EventKind.REFUNDED: "refunded", EventKind.CHARGEBACK: "charged_back"}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(amounts=st.lists(AMOUNTS, min_size=3, max_size=3), steps=STEPS)
def test_any_sequence_of_events_books_exactly_what_is_still_paid(
    ws: Workspace, client: TestClient, amounts: list[Decimal], steps: list
) -> None:
    made = [checkout(ws, str(a)) for a in amounts]
    clock = client.app.state.settings.clock  # type: ignore[attr-defined]
    status = {c.checkout_id: "open" for c in made}
    left = {c.checkout_id: Decimal(0) for c in made}
    accepted: list[bytes] = []
    for n, (which, kind, again, part) in enumerate(steps):
        c = made[which]
        cid = c.checkout_id
        at = int(clock().timestamp()) + n
        if again and accepted:  # an event applied before, delivered again, signed anew
            answer = post_event(client, accepted[which % len(accepted)], at=at)
            assert (answer.status_code, answer.json()["status"]) == (200, "duplicate")
            continue
        amount = c.amount
        if kind is not EventKind.PAID and status[cid] == "paid":
            amount = max(quantize(left[cid] * part), Decimal("0.01"))
        body = body_for(c, kind, amount=amount, event_id=f"evt_{n}_{cid[:16]}")
        answer = post_event(client, body, at=at)
        assert answer.status_code < 500, answer.text
        if kind is EventKind.PAID:
            ok = status[cid] == "open"
        else:
            ok = status[cid] == "paid"
        assert answer.status_code == (200 if ok else 409), (kind, status[cid], answer.text)
        if not ok:
            continue
        accepted.append(body)
        if kind is EventKind.PAID:
            status[cid], left[cid] = "paid", c.amount
        else:
            left[cid] -= amount
            if not left[cid]:
                status[cid] = REVERSED[kind]
    ids = [c.checkout_id for c in made]
    with Session(ws.engine) as session:
        rows = session.execute(
            select(Checkout.checkout_id, Checkout.status, PaymentRow.amount)
            .outerjoin(PaymentRow, PaymentRow.payment_ref == Checkout.payment_ref)
            .where(Checkout.checkout_id.in_(ids))
        ).all()
        events = session.scalars(
            select(ProcessorEvent.id).where(ProcessorEvent.checkout_id.in_(ids))
        ).all()
    assert {cid: s for cid, s, _ in rows} == status
    assert {cid: a for cid, _, a in rows if a is not None} == {
        cid: amount for cid, amount in left.items() if amount
    }
    assert len(events) == len(accepted)
