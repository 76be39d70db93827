"""SMS and push through the HTTP gateway adapter against a local STAND-IN operator
(dedupe by Idempotency-Key, receipts), the file spool for the demo, the letter spool
and the dialer list CSV."""

from __future__ import annotations

import csv
import subprocess
from dataclasses import replace
from datetime import date, time
from decimal import Decimal

import pytest
from channel_helpers import queue_messages, statuses
from operator_standin import start_operator
from sqlalchemy import update
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import OutgoingMessage
from arrears.channels.adapters.dialer import CallTask, best_call_window
from arrears.channels.adapters.http_gateway import HttpGatewayAdapter, apply_receipts
from arrears.channels.adapters.spool import (
    FileSpoolAdapter,
    LetterSpoolAdapter,
    render_print_runs,
)
from arrears.channels.dialer_export import export_dialer_list
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.outbox import events_of
from arrears.compliance import load_pack
from arrears.store.contact_models import OutboxMessage


@pytest.fixture
def operator():
    state, server = start_operator()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _set_body(engine, bodies: dict[int, str]) -> None:
    with Session(engine) as session, session.begin():
        for outbox_id, body in bodies.items():
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(body=body)
            )


def test_sms_through_gateway_with_receipts(engine, operator) -> None:
    ids = queue_messages(engine, 2, channel="sms", recipient="+8613800138000")
    bad = queue_messages(engine, 1, channel="sms", recipient="+8613900000000", customer_id="C2")
    adapter = HttpGatewayAdapter(operator.base_url, token="secret")
    report = Dispatcher(engine, {"sms": adapter}).run_until_idle()
    assert report.outcomes["sent"] == 3
    assert {r["key"] for r in operator.requests} == {"C1-sms-0", "C1-sms-1", "C2-sms-0"}
    assert {r["auth"] for r in operator.requests} == {"Bearer secret"}
    receipts, cursor = adapter.fetch_receipts(0)
    assert cursor == 3
    assert apply_receipts(engine, receipts) == {"delivered": 2, "bounced": 1}
    assert statuses(engine) == {ids[0]: "delivered", ids[1]: "delivered", bad[0]: "bounced"}
    # Asking again from the cursor gives nothing new.
    assert adapter.fetch_receipts(cursor) == ([], cursor)


def test_gateway_resend_is_deduplicated_by_idempotency_key(operator) -> None:
    adapter = HttpGatewayAdapter(operator.base_url)
    message = OutgoingMessage(1, "K-1", "sms", "+8613800138000", "zh_CN", None, "您好", None, 1)
    first = adapter.send(message)
    again = adapter.send(OutgoingMessage(**{**message.__dict__, "attempt": 2}))
    assert first.provider_message_id == again.provider_message_id
    assert len(operator.messages) == 1 and len(operator.requests) == 2


def test_gateway_5xx_retries_and_4xx_dead_letters(engine, operator) -> None:
    ids = queue_messages(engine, 2, channel="push", recipient="device-token-abc")
    operator.fail_next.extend([503, 400])
    dispatcher = Dispatcher(engine, {"push": HttpGatewayAdapter(operator.base_url)})
    report = dispatcher.run_once()
    assert report.outcomes == {"failed": 1, "dead": 1}
    assert statuses(engine) == {ids[0]: "failed", ids[1]: "dead"}
    with Session(engine, expire_on_commit=False) as session:
        dead = session.get_one(OutboxMessage, ids[1])
    assert "HTTP 400" in (dead.last_error or "")


def test_file_spool_writes_one_file_per_message(engine, tmp_path) -> None:
    ids = queue_messages(engine, 3, channel="sms", recipient="+8613800138000")
    adapter = FileSpoolAdapter(tmp_path / "outbox")
    Dispatcher(engine, {"sms": adapter}).run_until_idle()
    files = sorted((tmp_path / "outbox" / "sms").glob("*.txt"))
    assert len(files) == 3
    text = files[0].read_text(encoding="utf-8")
    assert "Idempotency-Key: C1-sms-0" in text and "To: +8613800138000" in text
    assert set(statuses(engine).values()) == {"sent"}
    with Session(engine) as session:
        assert events_of(session, ids)[ids[0]] == ["queued", "sending", "sent"]


def test_letter_spool_takes_letters_and_sets_them_as_one_print_run(engine, tmp_path) -> None:
    from test_channel_letters import sample_letter

    ids = queue_messages(engine, 2, channel="letter", recipient="张三, 北京市朝阳区")
    first, second = sample_letter(), replace(sample_letter(), reference="ARR-2026-000124")
    _set_body(engine, {ids[0]: first.to_json(), ids[1]: second.to_json()})
    broken = queue_messages(engine, 1, channel="letter", recipient="x", customer_id="C2")
    _set_body(engine, {broken[0]: "not a letter"})
    spool = tmp_path / "print"
    report = Dispatcher(engine, {"letter": LetterSpoolAdapter(spool)}).run_until_idle()
    assert report.outcomes == {"sent": 2, "dead": 1}
    day = spool / first.letter_date.isoformat()
    assert len(list(day.glob("*.json"))) == 2
    (run,) = render_print_runs(spool)
    assert run == day / "print-run.pdf" and run.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(run), "-"], capture_output=True, text=True).stdout
    assert "ARR-2026-000123" in text and "ARR-2026-000124" in text
    assert render_print_runs(spool) == []  # nothing changed: the run stands


def _task(name: str, account: str, amount: str, currency: str, priority: int, zone: str):
    return CallTask(name, account, Decimal(amount), currency, "call_script", priority, zone)


def test_best_call_window_from_the_pack() -> None:
    assert best_call_window(load_pack("cn")) == (time(9), time(20))
    assert best_call_window(None) == (time(9), time(20))


def test_dialer_export_lists_due_calls_once_by_priority(engine, tmp_path) -> None:
    ids = queue_messages(engine, 3, channel="call", recipient="+8613800138000")
    tasks = {
        ids[0]: _task("张三", "6222020012341234", "1200.50", "CNY", 3, "Asia/Shanghai"),
        ids[1]: _task("Jane", "4000123499998888", "88.00", "USD", 1, "America/Chicago"),
        ids[2]: _task("李四", "6222", "5.00", "CNY", 2, "Asia/Shanghai"),
    }
    _set_body(engine, {i: t.to_json() for i, t in tasks.items()})
    path = tmp_path / "dialer" / "2026-12-01.csv"
    report = export_dialer_list(engine, path, date(2026, 12, 1))
    assert report.outcomes["sent"] == 3
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["priority"] for r in rows] == ["1", "2", "3"]
    jane = rows[0]
    assert jane["masked_account"] == "****8888" and "4000123499998888" not in path.read_text()
    assert jane["amount_due"] == "88.00" and jane["window_local"] == "09:00-20:00"
    # 09:00 in Chicago on 1 December (CST, UTC-6) is 15:00 UTC.
    assert jane["window_start_utc"] == "2026-12-01T15:00:00+00:00"
    assert rows[1]["window_start_utc"] == "2026-12-01T01:00:00+00:00"  # Shanghai, UTC+8
    # A second export the same day adds nothing (nothing is due any more).
    export_dialer_list(engine, path, date(2026, 12, 1))
    with path.open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 3


def test_dialer_resend_after_crash_does_not_list_twice(tmp_path) -> None:
    from arrears.channels.adapters.dialer import DialerListAdapter

    path = tmp_path / "list.csv"
    task = CallTask(
        "张三", "6222020012341234", Decimal("1"), "CNY", "call_script", 1, "Asia/Shanghai"
    )
    message = OutgoingMessage(
        1, "K-1", "call", "+8613800138000", "zh_CN", None, task.to_json(), None, 1
    )
    window = (time(9), time(20))
    DialerListAdapter(path, date(2026, 12, 1), window).send(message)
    # A new process (the old one died before recording "sent") sends it again.
    DialerListAdapter(path, date(2026, 12, 1), window).send(message)
    assert path.read_text(encoding="utf-8").count("K-1") == 1
