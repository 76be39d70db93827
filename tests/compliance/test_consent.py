"""The consent and opt-out ledger (arrears.compliance.consent), on the store: each entry
keeps its time, source and text; an opt-out is a hold the gate enforces for the channel
and recipient it names; a later consent releases it; every entry is audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.channels.gating import store_gate
from arrears.compliance import Attempt, ComplianceError, load_pack
from arrears.compliance.consent import (
    honour_by,
    is_stop_reply,
    preferences,
    record_consent,
    record_opt_out,
)
from arrears.store.contact_models import Hold
from arrears.store.models import Customer
from arrears.store.workbench_models import AuditEvent

AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
LATER = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
MOBILE, WORK = "+86 138-0013-8000", "+8613900139000"


@pytest.fixture
def store(engine):
    with Session(engine) as session, session.begin():
        session.add(
            Customer(customer_id="C1", name="张三", mobile=MOBILE, time_zone="Asia/Shanghai")
        )
    return engine


def verdict(engine, channel: str, recipient: str, at: datetime = AT):
    with Session(engine) as session:
        gate = store_gate(session, load_pack("cn"), ["C1"], at)
    attempt = Attempt(f"a-{channel}-{recipient}", "C1", None, channel, at, "Asia/Shanghai")
    return gate.check(attempt, recipient=recipient)


def test_an_opt_out_blocks_that_channel_and_number_only(store) -> None:
    with Session(store) as session, session.begin():
        entry = record_opt_out(
            session, customer_id="C1", channel="sms", recipient=MOBILE, source="portal",
            text="不再接收短信 / No more texts", at=AT,
        )  # fmt: skip
        hold_id = entry.hold_id
    blocked = verdict(store, "sms", "+8613800138000")  # the same number, written otherwise
    assert blocked.rules == ("hold.consent_withdrawn.sms",)
    assert "to +8613800138000" in blocked.reasons[0] and "No more texts" in blocked.reasons[0]
    assert verdict(store, "sms", WORK).allowed  # another number
    assert verdict(store, "call", MOBILE).allowed  # another channel
    with Session(store) as session:
        hold = session.get(Hold, hold_id)
        assert (hold.kind, hold.channel, hold.recipient, hold.placed_on) == (
            "consent_withdrawn", "sms", "+8613800138000", date(2026, 12, 1),
        )  # fmt: skip
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "consent.opt_out"))
        assert event is not None and event.actor == "debtor"
        assert '"honour_by":"2026-12-15"' in event.payload and '"source":"portal"' in event.payload


def test_an_opt_out_of_every_channel_blocks_all(store) -> None:
    with Session(store) as session, session.begin():
        record_opt_out(
            session, customer_id="C1", channel=None, recipient=None, source="letter",
            text="Cease all communication", at=AT,
        )  # fmt: skip
    for channel in ("call", "sms", "email", "visit"):
        assert verdict(store, channel, MOBILE).rules == ("hold.consent_withdrawn",)


def test_a_later_consent_releases_the_opt_out_and_the_ledger_keeps_both(store) -> None:
    with Session(store) as session, session.begin():
        record_opt_out(
            session, customer_id="C1", channel="call", recipient=MOBILE, source="call_note",
            text="Debtor said: do not call this number", at=AT, actor="agent7",
        )  # fmt: skip
    assert verdict(store, "call", MOBILE, LATER).rules == ("hold.consent_withdrawn.call",)
    with Session(store) as session, session.begin():
        record_consent(
            session, customer_id="C1", channel="call", recipient=MOBILE, source="portal",
            text="I agree to calls at this number", at=LATER,
        )  # fmt: skip
    assert verdict(store, "call", MOBILE, LATER).allowed
    assert not verdict(store, "call", MOBILE, AT).allowed  # the past is not rewritten
    with Session(store) as session:
        (pref,) = preferences(session, "C1")
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert (pref.state, pref.source, pref.at) == ("consented", "portal", LATER)
    assert actions == ["consent.opt_out", "consent.given"]


def test_bad_entries_are_refused_naming_the_field(store) -> None:
    cases = [
        ({"customer_id": "NOPE"}, "customer_id 'NOPE': no such customer"),
        ({"channel": "fax"}, "channel 'fax' is not one of"),
        ({"source": "email"}, "source 'email' is not one of portal, reply_stop"),
        ({"at": datetime(2026, 12, 1, 3)}, "has no time zone"),
    ]
    for change, message in cases:
        args = {"customer_id": "C1", "channel": "sms", "recipient": MOBILE,
                "source": "portal", "text": "x", "at": AT} | change  # fmt: skip
        with Session(store) as session, pytest.raises(ComplianceError, match=message):
            record_opt_out(session, **args)


def test_stop_words_and_the_ten_business_days() -> None:
    assert all(is_stop_reply(w) for w in ("STOP", "stop", " Stop! ", "退订", "TD", "unsubscribe"))
    assert not any(is_stop_reply(w) for w in ("stop calling my mother", "好的", "", "STOPPED"))
    # received Tuesday 2026-12-01: ten business days later is Tuesday 2026-12-15
    assert honour_by(AT) == date(2026, 12, 15)
    assert honour_by(datetime(2026, 12, 4, 12, tzinfo=UTC)) == date(2026, 12, 18)  # a Friday
