"""Time-barred debts in the day's treatments, on the store: which open debts are past
their period (by the debtor's state), the legal steps dropped, and queued messages: one
that mentions suit is blocked, the others carry the California or New York text."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the workbench's test book
from web_support import make_book

from arrears.channels.outbox import enqueue
from arrears.compliance import load_pack
from arrears.services.settings import load_settings
from arrears.services.time_barred import apply_to_queued, drop_legal_steps, time_barred_debts
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import CaseRow, Customer

ON = date(2026, 12, 1)
# (address, days past due): L1 California 4 years + 5 days, L2 New York 3 years + 10,
# L3 Massachusetts 4 years + 5 (6-year period), L4 no state known 3 years + 5 (default 3)
DEBTS = {
    "1": ("1 Main St\nLos Angeles, CA 90012", 4 * 365 + 5),
    "2": ("5 Pearl St\nAlbany, NY 12207", 3 * 365 + 10),
    "3": ("12 Elm Street\nSpringfield, MA 01103", 4 * 365 + 5),
    "4": ("北京市朝阳区建国路4号", 3 * 365 + 5),
}


def book(engine) -> None:  # type: ignore[no-untyped-def]
    make_book(engine)
    with Session(engine) as session, session.begin():
        for n, (address, dpd) in DEBTS.items():
            session.execute(
                update(Customer).where(Customer.customer_id == f"C{n}").values(address=address)
            )
            session.execute(update(CaseRow).where(CaseRow.loan_id == f"L{n}").values(dpd=dpd))


def queue(session: Session, n: str, channel: str, body: str) -> int:
    attempt = ContactAttempt(
        attempt_id=f"A{n}-{channel}", customer_id=f"C{n}", loan_id=f"L{n}", channel=channel,
        party="debtor", at=datetime(2026, 12, 2, 15, tzinfo=UTC), source="strategy",
        allowed=True,
    )  # fmt: skip
    session.add(attempt)
    session.flush()
    message = enqueue(
        session, contact_attempt_id=attempt.id, channel=channel, recipient="x", language="en",
        subject=None, body=body, idempotency_key=f"K{n}-{channel}",
    )  # fmt: skip
    return message.id


def test_time_barred_debts_by_state(engine) -> None:
    book(engine)
    with Session(engine) as session:
        barred = time_barred_debts(session, load_pack("us-regf"), ON)
        assert time_barred_debts(session, load_pack("cn"), ON) == {}  # no periods in cn
    assert sorted(barred) == ["L1", "L2", "L4"]
    assert (barred["L1"].state, barred["L1"].limitation.years) == ("CA", 4)
    assert (barred["L2"].state, barred["L4"].state) == ("NY", None)
    assert barred["L1"].barred_from == date(2026, 11, 27)  # defaulted 2022-11-27
    actions = [
        {"loan_id": "L1", "channel": "litigation"},
        {"loan_id": "L1", "channel": "lawyer_letter"},
        {"loan_id": "L1", "channel": "sms"},
        {"loan_id": "L3", "channel": "litigation"},
    ]
    not_done: Counter[str] = Counter()
    kept = drop_legal_steps(actions, barred, not_done)
    assert kept == [actions[2], actions[3]]
    assert not_done == {"legal: time-barred debt": 2}


def test_queued_messages_get_the_disclosure_or_are_blocked(engine, tmp_path) -> None:
    book(engine)
    settings = load_settings(tmp_path)
    with Session(engine) as session, session.begin():
        threat = queue(session, "1", "sms", "Pay now or we will file a lawsuit.")
        ca = queue(session, "1", "email", "<p>Your balance is overdue.</p>")
        ny = queue(session, "2", "sms", "Your balance is overdue.")
        ma = queue(session, "3", "sms", "Your balance is overdue.")
        other = queue(session, "4", "sms", "Your balance is overdue.")
        barred = time_barred_debts(session, load_pack("us-regf"), ON)
        not_done: Counter[str] = Counter()
        apply_to_queued(session, settings, barred, ON, not_done)
        apply_to_queued(session, settings, barred, ON, not_done)  # twice: added once
    assert not_done == {"message: time_barred.suit": 1}
    with Session(engine) as session:
        rows = {m.id: m for m in session.scalars(select(OutboxMessage))}
        attempt = session.scalar(
            select(ContactAttempt).where(ContactAttempt.attempt_id == "A1-sms")
        )
    assert rows[threat].status == "blocked" and "time_barred.suit" in rows[threat].last_error
    assert attempt is not None and not attempt.allowed and "'lawsuit'" in attempt.reason
    assert rows[ca].body.count("we will not sue you for it. If you do not pay the debt") == 1
    assert rows[ca].body.endswith("as long as the law permits this reporting.</p>")
    assert "New York State Department of Financial Services" in rows[ny].body
    assert rows[ny].body.count("New York State") == 1
    assert rows[ma].body == "Your balance is overdue."  # not time-barred
    assert rows[other].body == "Your balance is overdue."  # barred, no state text
