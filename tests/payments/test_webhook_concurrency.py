"""Two deliveries of one event at the same moment (a processor retrying while its first
attempt is still being answered), on SQLite and PostgreSQL: one is applied, the other
sees a duplicate; the payment is booked once."""

from __future__ import annotations

import threading
from decimal import Decimal

from payment_support import SECRET, START, body_for, checkout
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import SIGNATURE_HEADER, StandInProcessor, signature_header
from arrears.store.models import PaymentRow
from arrears.store.payment_models import ProcessorEvent
from arrears.web.app import Settings
from arrears.web.payments import _receive
from arrears.workspace import Workspace


def test_concurrent_deliveries_of_one_event_book_it_once(ws: Workspace) -> None:
    made = checkout(ws, "77.70")
    body = body_for(made, event_id="evt_race")
    processor = StandInProcessor((SECRET,))
    settings = Settings(clock=lambda: START)
    stamp = int(START.timestamp())
    barrier = threading.Barrier(2)
    results: list[str] = []

    def deliver(offset: int) -> None:
        headers = {SIGNATURE_HEADER: signature_header(SECRET, stamp + offset, body)}
        barrier.wait()
        results.append(_receive(ws.engine, processor, headers, body, settings).status)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["accepted", "duplicate"]
    with Session(ws.engine) as session:
        assert session.scalar(select(func.count()).select_from(ProcessorEvent)) == 1
        amounts = session.scalars(select(PaymentRow.amount)).all()
    assert amounts == [Decimal("77.70")]
