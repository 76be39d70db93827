"""A dispatcher killed (SIGKILL) mid-batch loses nothing and sends nothing twice: after
a second dispatcher finishes, every one of 200 emails is in the (Message-ID
deduplicating) mailbox exactly once, every outbox row is ``sent`` and its events are
in order. At most the one message in flight at the kill reached the SMTP server twice,
with the same Message-ID (see docs/channels.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from channel_helpers import queue_messages, statuses
from sqlalchemy.orm import Session

from arrears.channels.adapters.smtp import SmtpAdapter, message_id_for
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.outbox import events_of

WORKER = Path(__file__).with_name("dispatch_worker.py")
COUNT = 200
LEASE_SECONDS = 2.0


@pytest.mark.slow
def test_dispatcher_killed_mid_batch_then_restarted(engine, smtp_server) -> None:
    sink, port = smtp_server
    sink.delay = 0.01  # each DATA takes a little while, so the kill lands mid-batch
    ids = queue_messages(engine, COUNT)
    url = engine.url.render_as_string(hide_password=False)
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), url, str(port), str(LEASE_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(sink.raw) < COUNT // 3:
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker sent too slowly"
            time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(10)
    assert worker.returncode == -signal.SIGKILL
    received_at_kill = len(sink.raw)
    left = Counter(statuses(engine).values())
    assert left["sent"] < COUNT, "the kill came after the batch: nothing was tested"
    assert left["queued"] + left["sending"] > 0

    time.sleep(LEASE_SECONDS + 0.2)  # the dead worker's lease on its claimed rows ends
    adapter = SmtpAdapter("127.0.0.1", port)
    # The dead worker's claims end after LEASE_SECONDS; the restarted dispatcher holds its
    # own for longer, so a stall of the machine mid-batch cannot expire them and have it
    # re-claim its own rows (a third "sending": seen once in a loaded CI run).
    report = Dispatcher(engine, {"email": adapter}, lease=timedelta(seconds=60))
    finished = report.run_until_idle(limit=10)
    assert finished.outcomes["sent"] == COUNT - left["sent"] - left["delivered"]

    expected = {message_id_for(f"C1-email-{i}", "arrears.local") for i in range(COUNT)}
    assert set(sink.mailbox) == expected  # every message arrived, once in the mailbox
    raw = Counter(sink.message_ids())
    twice = [mid for mid, n in raw.items() if n > 1]
    assert all(n <= 2 for n in raw.values())
    assert len(twice) <= 1, f"more than the in-flight message was sent twice: {twice}"
    assert len(sink.raw) >= received_at_kill
    assert set(statuses(engine).values()) == {"sent"}

    with Session(engine) as session:
        events = events_of(session, ids)
    for outbox_id, history in events.items():
        assert history[0] == "queued" and history[-1] == "sent", (outbox_id, history)
        assert set(history[1:-1]) == {"sending"} and 1 <= len(history) - 2 <= 2, history
    if twice:
        # The message sent twice is one whose claim died with the worker.
        key_of = {message_id_for(f"C1-email-{i}", "arrears.local"): i for i in range(COUNT)}
        assert events[ids[key_of[twice[0]]]].count("sending") == 2
