"""Dispatchers side by side: on PostgreSQL two dispatchers sharing one outbox
(``FOR UPDATE SKIP LOCKED``) send each message exactly once; and a dispatcher whose
lease ran out while sending cannot overwrite the outcome of the one that re-claimed
the message (the attempt counter fences it)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from channel_helpers import queue_messages, statuses
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import OutgoingMessage, SendResult
from arrears.channels.adapters.smtp import SmtpAdapter
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.outbox import events_of


# PostgreSQL only: on SQLite one dispatcher runs at a time (no SKIP LOCKED).
@pytest.mark.parametrize(
    "blank_engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_two_dispatchers_on_postgresql_send_each_message_once(engine, smtp_server) -> None:
    assert engine.dialect.name == "postgresql"
    sink, port = smtp_server
    ids = queue_messages(engine, 120)
    reports = []

    def run() -> None:
        dispatcher = Dispatcher(engine, {"email": SmtpAdapter("127.0.0.1", port)})
        reports.append(dispatcher.run_until_idle(limit=5))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r.claimed > 0 for r in reports), "one dispatcher did all the work"
    assert sum(r.outcomes["sent"] for r in reports) == 120
    assert all(n == 1 for n in Counter(sink.message_ids()).values())
    assert len(sink.raw) == 120
    assert set(statuses(engine).values()) == {"sent"}
    with Session(engine) as session:
        assert all(e == ["queued", "sending", "sent"] for e in events_of(session, ids).values())


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


class RecordingChannel:
    """A channel that records what it was given (stands in for a provider)."""

    def __init__(self, name: str, during_send=None) -> None:
        self.name, self.sent, self.during_send = name, [], during_send

    def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message.idempotency_key)
        if self.during_send is not None:
            self.during_send()
        return SendResult(provider_message_id=f"{self.name}:{message.idempotency_key}")


def test_a_dispatcher_that_lost_its_lease_cannot_overwrite(engine) -> None:
    (outbox_id,) = queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    clock = Clock()
    lease = timedelta(seconds=30)
    second = RecordingChannel("second")
    second_dispatcher = Dispatcher(engine, {"sms": second}, lease=lease, clock=clock)
    outcomes = []

    def slow_send() -> None:
        # The first dispatcher stalls past its lease; the second re-claims and sends.
        clock.now += lease + timedelta(seconds=1)
        outcomes.append(second_dispatcher.run_once())

    first = RecordingChannel("first", during_send=slow_send)
    report = Dispatcher(engine, {"sms": first}, lease=lease, clock=clock).run_once()
    assert report.outcomes == {"lost_lease": 1}
    assert outcomes[0].outcomes == {"sent": 1}
    assert first.sent == second.sent == ["C1-sms-0"]  # the same key both times
    with Session(engine, expire_on_commit=False) as session:
        from arrears.store.contact_models import OutboxMessage

        row = session.get_one(OutboxMessage, outbox_id)
        history = events_of(session, [outbox_id])[outbox_id]
    assert row.status == "sent" and row.provider_message_id == "second:C1-sms-0"
    assert history == ["queued", "sending", "sending", "sent"]


class GatedChannel:
    """A channel whose send waits until the test lets it finish."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entered, self.release = threading.Event(), threading.Event()

    def send(self, message: OutgoingMessage) -> SendResult:
        self.entered.set()
        assert self.release.wait(30)
        return SendResult(provider_message_id=f"{self.name}:{message.idempotency_key}")


def test_the_attempt_fence_keeps_the_reclaimers_outcome(engine) -> None:
    # A stalls in send past its lease; B re-claims and is sending when A finishes:
    # A's late success must not be recorded over B's claim (the attempt counter).
    (outbox_id,) = queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    clock = Clock()
    lease = timedelta(seconds=30)
    a, b = GatedChannel("a"), GatedChannel("b")
    reports = {}

    def run(name, channel) -> None:
        reports[name] = Dispatcher(engine, {"sms": channel}, lease=lease, clock=clock).run_once()

    first = threading.Thread(target=run, args=("a", a))
    first.start()
    assert a.entered.wait(30)
    clock.now += lease + timedelta(seconds=1)
    second = threading.Thread(target=run, args=("b", b))
    second.start()
    assert b.entered.wait(30)
    a.release.set()
    first.join(30)
    b.release.set()
    second.join(30)
    assert reports["a"].outcomes == {"lost_lease": 1}
    assert reports["b"].outcomes == {"sent": 1}
    with Session(engine, expire_on_commit=False) as session:
        from arrears.store.contact_models import OutboxMessage

        row = session.get_one(OutboxMessage, outbox_id)
        history = events_of(session, [outbox_id])[outbox_id]
    assert row.provider_message_id == "b:C1-sms-0" and row.attempts == 2
    assert history == ["queued", "sending", "sending", "sent"]
