"""Property: whatever a channel does — accept, fail for now, refuse, or accept and then
the dispatcher process dies before recording it — every message ends ``sent`` or
``dead``, is recorded ``sent`` at most once, the channel (a stand-in that dedupes by
idempotency key, as the HTTP gateway does) delivered exactly the messages recorded
``sent``, and each message's events follow the state machine."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from channel_helpers import queue_messages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.outbox import events_of
from arrears.store.contact_models import OutboxMessage

OUTCOMES = ("ok", "transient", "permanent", "crash")
MAX_ATTEMPTS = 4
LEASE = timedelta(minutes=5)
_batch = itertools.count()


class ProcessDied(BaseException):
    """The dispatcher process dies (escapes every ``except Exception``)."""


class ScriptedChannel:
    """A stand-in for a provider that dedupes by idempotency key; each send follows the
    script of its message (then accepts)."""

    def __init__(self, scripts: dict[str, list[str]]) -> None:
        self.scripts = scripts
        self.accepted: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def send(self, message: OutgoingMessage) -> SendResult:
        key = message.idempotency_key
        if key in self.accepted:  # a repeat of an accepted key: the first answer again
            return SendResult(provider_message_id=f"p-{key}")
        n = self.calls.get(key, 0)
        self.calls[key] = n + 1
        script = self.scripts[key]
        step = script[n] if n < len(script) else "ok"
        if step == "transient":
            raise TransientSendError("busy")
        if step == "permanent":
            raise PermanentSendError("no such number")
        self.accepted[key] = 1  # delivered once
        if step == "crash":
            raise ProcessDied
        return SendResult(provider_message_id=f"p-{key}")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scripts=st.lists(st.lists(st.sampled_from(OUTCOMES), max_size=6), min_size=1, max_size=6))
def test_every_message_ends_sent_or_dead_and_is_never_sent_after_sent(sqlite_url, scripts):
    from arrears.store.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    customer = f"P{next(_batch)}"
    ids = queue_messages(engine, len(scripts), channel="sms", recipient="+86138",
                         customer_id=customer)  # fmt: skip
    keys = [f"{customer}-sms-{i}" for i in range(len(scripts))]
    channel = ScriptedChannel(dict(zip(keys, scripts, strict=True)))
    clock_now = [datetime.now(UTC) + timedelta(seconds=1)]
    crashes = 0
    for _ in range(200):
        dispatcher = Dispatcher(
            engine, {"sms": channel}, max_attempts=MAX_ATTEMPTS, lease=LEASE,
            clock=lambda: clock_now[0],
        )  # fmt: skip
        try:
            report = dispatcher.run_until_idle(limit=3)
        except ProcessDied:
            crashes += 1
            report = None
        clock_now[0] += LEASE + timedelta(hours=2)  # past any lease and any backoff
        if report is not None and report.claimed == 0:
            break
    with Session(engine) as session:
        rows = {
            r.idempotency_key: r
            for r in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        }
        events = events_of(session, ids)
    engine.dispose()
    for key, row in rows.items():
        history = events[row.id]
        assert row.status in ("sent", "dead"), (key, row.status, history)
        assert history[0] == "queued" and history[-1] == row.status
        assert history.count("sent") == (1 if row.status == "sent" else 0)
        # Only a re-claim or a retry follows a claim; nothing follows the final status.
        for before, after in itertools.pairwise(history):
            assert (before, after) in {
                ("queued", "sending"), ("sending", "sending"), ("sending", "failed"),
                ("failed", "sending"), ("sending", "sent"), ("sending", "dead"),
            }, (key, history)  # fmt: skip
    # What the channel delivered is exactly what the outbox says was sent: a crash
    # between acceptance and recording is closed by the key, never a second delivery.
    assert set(channel.accepted) == {k for k, r in rows.items() if r.status == "sent"}
