"""A property over any sequence of webhook deliveries (paid, refunded, chargeback,
each possibly delivered again, in any order): the payments the close will take in
are exactly the checkouts paid and not reversed, each once and to the cent; every
event is recorded once; nothing is ever a 5xx."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payment_support import body_for, checkout, post_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import EventKind
from arrears.store.models import PaymentRow
from arrears.store.payment_models import Checkout, ProcessorEvent
from arrears.workspace import Workspace

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
STEPS = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(list(EventKind)), st.booleans()),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(amounts=st.lists(AMOUNTS, min_size=3, max_size=3), steps=STEPS)
def test_any_sequence_of_events_books_exactly_the_payments_not_reversed(
    ws: Workspace, client: TestClient, amounts: list[Decimal], steps: list
) -> None:
    made = [checkout(ws, str(a)) for a in amounts]
    sent: dict[tuple[int, EventKind], bytes] = {}
    clock = client.app.state.settings.clock  # type: ignore[attr-defined]
    expected = {c.checkout_id: "open" for c in made}
    seen: set[str] = set()
    for n, (which, kind, again) in enumerate(steps):
        key = (which, kind)
        repeat = again and key in sent
        event_id = f"evt_{n}_{made[which].checkout_id[:16]}"
        body = sent[key] if repeat else body_for(made[which], kind, event_id=event_id)
        answer = post_event(client, body, at=int(clock().timestamp()) + n)
        assert answer.status_code < 500, answer.text
        status = expected[made[which].checkout_id]
        if repeat:  # an event accepted before, delivered again (signed anew)
            assert answer.json()["status"] == "duplicate"
            continue
        accepted = (kind is EventKind.PAID and status == "open") or (
            kind is not EventKind.PAID and status == "paid"
        )
        assert answer.status_code == (200 if accepted else 409), (kind, status, answer.text)
        if accepted:
            sent[key] = body
            seen.add(event_id)
            expected[made[which].checkout_id] = {
                EventKind.PAID: "paid",
                EventKind.REFUNDED: "refunded",
                EventKind.CHARGEBACK: "charged_back",
            }[kind]
    ids = [c.checkout_id for c in made]
    with Session(ws.engine) as session:
        booked = {
            p.payment_ref: p.amount
            for p in session.scalars(
                select(PaymentRow).where(PaymentRow.payment_ref.in_([f"pp:{i}" for i in ids]))
            )
        }
        statuses = dict(
            session.execute(
                select(Checkout.checkout_id, Checkout.status).where(Checkout.checkout_id.in_(ids))
            ).all()
        )
        events = session.scalars(
            select(ProcessorEvent.checkout_id).where(ProcessorEvent.checkout_id.in_(ids))
        ).all()
    assert statuses == expected
    assert booked == {
        f"pp:{c.checkout_id}": c.amount for c in made if expected[c.checkout_id] == "paid"
    }
    assert len(events) == len(seen)
