"""The outbox and its dispatcher against a real SMTP server (aiosmtpd) on both stores:
sent once with a Message-ID from the idempotency key, retry with backoff then success,
dead letter after N failures, a hold placed after the decision stops the send, bounce
receipts, and enqueue sharing the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from channel_helpers import LENDER_FIELDS, add_customer, free_port, queue_messages, statuses
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.smtp import SmtpAdapter, message_id_for
from arrears.channels.dispatcher import Dispatcher, backoff_delay
from arrears.channels.outbox import OutboxBatch, OutboxError, enqueue, events_of, record_delivery
from arrears.store.contact_models import ContactAttempt, OutboxMessage


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


def _row(engine: Engine, outbox_id: int) -> OutboxMessage:
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(OutboxMessage, outbox_id)


def _events(engine: Engine, ids: list[int]) -> dict[int, list[str]]:
    with Session(engine) as session:
        return events_of(session, ids)


def test_dispatch_sends_each_message_once_with_message_id_from_key(engine, smtp_server) -> None:
    sink, port = smtp_server
    ids = queue_messages(engine, 5)
    dispatcher = Dispatcher(engine, {"email": SmtpAdapter("127.0.0.1", port)})
    report = dispatcher.run_until_idle()
    assert report.outcomes["sent"] == 5
    assert set(statuses(engine).values()) == {"sent"}
    assert sorted(sink.message_ids()) == sorted(
        message_id_for(f"C1-email-{i}", "arrears.local") for i in range(5)
    )
    first = sink.received[0]
    assert first["X-Arrears-Idempotency-Key"].startswith("C1-email-")
    assert "您好" in first.get_body(("plain",)).get_content()
    assert all(events == ["queued", "sending", "sent"] for events in _events(engine, ids).values())
    # Nothing due any more: a second run claims nothing and sends nothing.
    assert dispatcher.run_until_idle().claimed == 0
    assert len(sink.received) == 5


def test_transient_failure_is_retried_with_backoff_then_sent(engine, smtp_server) -> None:
    sink, port = smtp_server
    sink.fail_next.extend(["451 Try again later", "421 Service busy"])
    (outbox_id,) = queue_messages(engine, 1)
    clock = ManualClock()
    base = timedelta(seconds=10)
    dispatcher = Dispatcher(
        engine, {"email": SmtpAdapter("127.0.0.1", port)}, backoff_base=base, clock=clock
    )
    assert dispatcher.run_once().outcomes["failed"] == 1
    row = _row(engine, outbox_id)
    assert row.status == "failed" and "451" in (row.last_error or "")
    first_delay = backoff_delay("C1-email-0", 1, base, timedelta(hours=1))
    assert timedelta(seconds=5) <= first_delay < base
    assert row.next_attempt_at.replace(tzinfo=UTC) == clock.now + first_delay
    # Not due yet: nothing is claimed before the backoff has passed.
    assert dispatcher.run_once().claimed == 0
    clock.now += first_delay
    assert dispatcher.run_once().outcomes["failed"] == 1
    second_delay = backoff_delay("C1-email-0", 2, base, timedelta(hours=1))
    assert timedelta(seconds=10) <= second_delay < 2 * base
    clock.now += second_delay
    assert dispatcher.run_once().outcomes["sent"] == 1
    assert len(sink.received) == 1
    assert _events(engine, [outbox_id])[outbox_id] == [
        "queued", "sending", "failed", "sending", "failed", "sending", "sent",
    ]  # fmt: skip
    assert _row(engine, outbox_id).attempts == 3


def test_dead_letter_after_max_attempts(engine) -> None:
    # Nobody listens on this port: every attempt is a connection failure.
    (outbox_id,) = queue_messages(engine, 1)
    clock = ManualClock()
    adapter = SmtpAdapter("127.0.0.1", free_port(), timeout=2)
    dispatcher = Dispatcher(engine, {"email": adapter}, max_attempts=3, clock=clock)
    for _ in range(3):
        dispatcher.run_once()
        clock.now += timedelta(hours=2)
    row = _row(engine, outbox_id)
    assert row.status == "dead" and row.attempts == 3
    assert _events(engine, [outbox_id])[outbox_id] == [
        "queued", "sending", "failed", "sending", "failed", "sending", "dead",
    ]  # fmt: skip
    clock.now += timedelta(days=1)
    assert dispatcher.run_until_idle().claimed == 0


def test_permanent_refusal_is_dead_at_once(engine, smtp_server) -> None:
    sink, port = smtp_server
    sink.fail_next.append("550 Mailbox unavailable")
    (outbox_id,) = queue_messages(engine, 1)
    Dispatcher(engine, {"email": SmtpAdapter("127.0.0.1", port)}).run_until_idle()
    row = _row(engine, outbox_id)
    assert row.status == "dead" and row.attempts == 1 and "550" in (row.last_error or "")


@dataclass
class HoldVerdict:
    """The compliance verdict shape (attempt_id, allowed, rules, reasons)."""

    attempt_id: str
    allowed: bool
    rules: list[str]
    reasons: list[str]


def test_hold_placed_after_enqueue_stops_the_send(engine, smtp_server) -> None:
    sink, port = smtp_server
    ids = queue_messages(engine, 2)
    held = {"C1-email-1"}  # a dispute hold arrives after the decision was committed

    def recheck(message):
        if message.idempotency_key in held:
            return HoldVerdict(message.idempotency_key, False, ["hold.dispute"], ["disputed"])
        return HoldVerdict(message.idempotency_key, True, [], [])

    report = Dispatcher(engine, {"email": SmtpAdapter("127.0.0.1", port)}, recheck).run_until_idle()
    assert report.outcomes == {"sent": 1, "blocked": 1}
    assert sink.message_ids() == [message_id_for("C1-email-0", "arrears.local")]
    blocked = _row(engine, ids[1])
    assert blocked.status == "blocked" and blocked.last_error == "hold.dispute"
    assert _events(engine, [ids[1]])[ids[1]] == ["queued", "sending", "blocked"]


def test_recheck_error_means_not_sent(engine, smtp_server) -> None:
    sink, port = smtp_server
    (outbox_id,) = queue_messages(engine, 1)

    def broken(message):
        raise RuntimeError("holds table unreachable")

    Dispatcher(engine, {"email": SmtpAdapter("127.0.0.1", port)}, broken).run_once()
    assert sink.received == []
    assert _row(engine, outbox_id).status == "failed"


def test_bounce_and_delivery_receipts(engine, smtp_server) -> None:
    _sink, port = smtp_server
    ids = queue_messages(engine, 2)
    Dispatcher(engine, {"email": SmtpAdapter("127.0.0.1", port)}).run_until_idle()
    bounced_id = message_id_for("C1-email-0", "arrears.local")
    record_delivery(engine, bounced_id, "bounced", "550 5.1.1 user unknown")
    record_delivery(engine, "C1-email-1", "delivered")  # by idempotency key
    record_delivery(engine, "C1-email-1", "delivered")  # a repeated receipt is a no-op
    assert statuses(engine) == {ids[0]: "bounced", ids[1]: "delivered"}
    assert _row(engine, ids[0]).last_error == "550 5.1.1 user unknown"
    assert _events(engine, ids) == {
        ids[0]: ["queued", "sending", "sent", "bounced"],
        ids[1]: ["queued", "sending", "sent", "delivered"],
    }
    with pytest.raises(OutboxError, match="no such outbox message"):
        record_delivery(engine, "nope", "delivered")
    with pytest.raises(OutboxError, match="status must be one of"):
        record_delivery(engine, "C1-email-1", "read")


def test_receipt_for_an_unsent_message_is_refused(engine) -> None:
    queue_messages(engine, 1)
    with pytest.raises(OutboxError, match="delivered cannot follow queued"):
        record_delivery(engine, "C1-email-0", "delivered")


def test_enqueue_commits_or_rolls_back_with_the_decision(engine) -> None:
    with Session(engine) as session:
        with session.begin():
            add_customer(session)
        try:
            with session.begin():
                attempt = ContactAttempt(
                    attempt_id="A1", customer_id="C1", channel="sms", party="debtor",
                    at=datetime.now(UTC), source="strategy", allowed=True,
                )  # fmt: skip
                session.add(attempt)
                session.flush()
                enqueue(
                    session, contact_attempt_id=attempt.id, channel="sms",
                    recipient="+8613800138000", language="zh_CN", subject=None,
                    body="您好", idempotency_key="A1:sms",
                )  # fmt: skip
                raise RuntimeError("the case update failed after the decision")
        except RuntimeError:
            pass
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert session.scalar(select(func.count()).select_from(ContactAttempt)) == 0


def test_enqueue_refuses_a_duplicate_key_and_bad_channel(engine) -> None:
    queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    with Session(engine) as session, session.begin():
        with pytest.raises(OutboxError, match="already queued"):
            enqueue(
                session, contact_attempt_id=1, channel="sms", recipient="+86138",
                language="zh_CN", subject=None, body="x", idempotency_key="C1-sms-0",
            )  # fmt: skip
        with pytest.raises(OutboxError, match="channel must be one of"):
            enqueue(
                session, contact_attempt_id=1, channel="fax", recipient="+86138",
                language="zh_CN", subject=None, body="x", idempotency_key="k2",
            )  # fmt: skip


def test_a_batch_writes_every_message_and_its_event_or_none(engine) -> None:
    """A day's messages go in as one batch: each with its queued event; a key already in
    the outbox, or twice in the batch, is refused and nothing of the batch is written."""
    ids = queue_messages(engine, 3, channel="sms", recipient="+8613800138000")
    with Session(engine) as session, session.begin():
        attempts = session.scalars(select(ContactAttempt).order_by(ContactAttempt.id)).all()
        batch = OutboxBatch(session)
        for a in attempts:
            batch.add(
                contact_attempt_id=a.id, channel="sms", recipient="+86138", language="zh_CN",
                subject=None, body="x", idempotency_key=f"{a.attempt_id}:again",
            )  # fmt: skip
        with pytest.raises(OutboxError, match="already queued"):
            batch.add(
                contact_attempt_id=attempts[0].id, channel="sms", recipient="+86138",
                language="zh_CN", subject=None, body="x",
                idempotency_key=f"{attempts[0].attempt_id}:again",
            )  # fmt: skip
        written = [m.id for m in batch.flush()]
    assert len(written) == 3 and all(written)
    events = _events(engine, written)
    assert all(events[i] == ["queued"] for i in written)
    with Session(engine) as session:
        taken = session.scalar(
            select(OutboxMessage.idempotency_key).where(OutboxMessage.id == ids[1])
        )
        batch = OutboxBatch(session)
        batch.add(
            contact_attempt_id=1, channel="sms", recipient="+86138", language="zh_CN",
            subject=None, body="x", idempotency_key="fresh-key",
        )  # fmt: skip
        batch.add(
            contact_attempt_id=1, channel="sms", recipient="+86138", language="zh_CN",
            subject=None, body="x", idempotency_key=taken,
        )  # fmt: skip
        with pytest.raises(OutboxError, match=f"{taken!r} is already queued"):
            batch.flush()
        session.rollback()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 6


def test_enqueue_message_renders_and_keys_by_attempt(engine) -> None:
    from decimal import Decimal

    from arrears.channels.fields import MergeFields
    from arrears.channels.queueing import enqueue_message
    from arrears.channels.templates import MissingMergeField, get_template

    template = get_template(None, "overdue_sms", "zh_CN")
    merge = MergeFields(
        customer_name="张三", account="6222020012341234", amount_due=Decimal("10"),
        due_date=datetime(2026, 11, 15).date(), pay_link="https://p.example/x",
        collector_phone="400-800-1234", institution_name="示例",
        **LENDER_FIELDS["zh_CN"],
    )  # fmt: skip
    with Session(engine) as session, session.begin():
        add_customer(session)
        attempt = ContactAttempt(
            attempt_id="2026-12-01:C1:L1", customer_id="C1", channel="sms",
            party="debtor", at=datetime.now(UTC), source="strategy", allowed=True,
        )  # fmt: skip
        session.add(attempt)
        session.flush()
        row = enqueue_message(session, attempt, template, merge, "+8613800138000")
        assert row.idempotency_key == "2026-12-01:C1:L1:sms"
        assert "****1234" in row.body and row.status == "queued"
        blocked = ContactAttempt(
            attempt_id="b", customer_id="C1", channel="sms", party="debtor",
            at=datetime.now(UTC), source="strategy", allowed=False,
        )  # fmt: skip
        session.add(blocked)
        session.flush()
        with pytest.raises(OutboxError, match="was blocked"):
            enqueue_message(session, blocked, template, merge, "+8613800138000")
        with pytest.raises(MissingMergeField):
            enqueue_message(session, attempt, template, MergeFields(), "+8613800138000")
