"""TCPA revocation by any reasonable means (FCC 24-24): a debtor texts STOP / 退订 back
to the SMS gateway (the operator stand-in), the reply is recorded in the consent ledger
as an opt-out of texts to that number, and the next text is blocked at send time by the
gate, naming the hold's rule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from channel_helpers import queue_messages, statuses
from operator_standin import start_operator
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.channels.adapters.http_gateway import HttpGatewayAdapter, apply_inbound
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.recheck import store_recheck
from arrears.compliance.consent import preferences
from arrears.store.contact_models import ContactAttempt, OutboxMessage

# 10:00 tomorrow in Shanghai: inside every pack's hours, after the messages queued now
NOW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(2), UTC)
REPLY_AT = (NOW + timedelta(minutes=5)).isoformat()


@pytest.fixture
def operator():
    state, server = start_operator()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("reply", ["STOP", "退订", " stop. "])
def test_a_stop_reply_blocks_the_next_text(engine, operator, reply) -> None:
    adapter = HttpGatewayAdapter(operator.base_url)
    first = queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    dispatcher = Dispatcher(
        engine, {"sms": adapter}, store_recheck(engine, "cn-2026", lambda: NOW), clock=lambda: NOW
    )
    assert dispatcher.run_until_idle().outcomes["sent"] == 1
    # the debtor replies from the number as the operator writes it (no +)
    operator.reply("8613800138000", reply, REPLY_AT)
    replies, cursor = adapter.fetch_inbound(0)
    assert cursor == 1 and [r.body for r in replies] == [reply]
    assert apply_inbound(engine, replies) == {"opt_out": 1}
    with Session(engine) as session:
        (pref,) = preferences(session, "C1")
    assert (pref.channel, pref.recipient, pref.state, pref.source, pref.text) == (
        "sms", "+8613800138000", "opted_out", "reply_stop", reply,
    )  # fmt: skip
    assert pref.at == NOW + timedelta(minutes=5)

    with Session(engine) as session, session.begin():  # a second text is decided later
        session.execute(
            ContactAttempt.__table__.update().values(attempt_id="C1-sms-old")  # keep ids unique
        )
        session.execute(OutboxMessage.__table__.update().values(idempotency_key="C1-sms-old"))
    second = queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    report = dispatcher.run_until_idle()
    assert report.outcomes["blocked"] == 1
    assert statuses(engine) == {first[0]: "sent", second[0]: "blocked"}
    with Session(engine) as session:
        error = session.scalar(
            select(OutboxMessage.last_error).where(OutboxMessage.id == second[0])
        )
    assert "hold.consent_withdrawn.sms" in (error or "")
    assert len(operator.messages) == 1  # the operator never got the second text


def test_other_replies_and_unknown_numbers_are_not_opt_outs(engine, operator) -> None:
    queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    adapter = HttpGatewayAdapter(operator.base_url)
    operator.reply("+8613800138000", "我明天还款", REPLY_AT)
    operator.reply("+8613911112222", "STOP", REPLY_AT)
    replies, _ = adapter.fetch_inbound(0)
    assert apply_inbound(engine, replies) == {"other": 1, "unknown": 1}
    with Session(engine) as session:
        assert preferences(session, "C1") == []
