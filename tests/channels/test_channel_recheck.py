"""The send-time compliance re-check from the store (real ``arrears.compliance.Gate``):
a hold or blacklist entry added after the decision blocks the send with its rule id;
outside contact hours the message waits, without using an attempt, for the window to
open in the debtor's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from channel_helpers import queue_messages, statuses
from sqlalchemy.orm import Session

from arrears.channels.adapters.spool import FileSpoolAdapter
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.outbox import as_utc, events_of
from arrears.channels.recheck import store_recheck
from arrears.store.contact_models import BlacklistEntry, Hold, OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_local(hour: int, minute: int = 0) -> datetime:
    """The next time after now that Shanghai's wall clock shows hour:minute, in UTC."""
    now = datetime.now(SHANGHAI) + timedelta(minutes=1)
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment <= now:
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _dispatcher(engine, tmp_path, clock: Clock) -> Dispatcher:
    recheck = store_recheck(engine, "cn", clock)
    return Dispatcher(engine, {"sms": FileSpoolAdapter(tmp_path)}, recheck, clock=clock)


def test_hold_placed_after_the_decision_blocks_the_send(engine, tmp_path) -> None:
    ids = queue_messages(engine, 2, channel="sms", recipient="+8613800138000")
    clock = Clock(next_local(10))
    with Session(engine) as session, session.begin():
        session.add(
            Hold(customer_id="C1", kind="dispute", reason="customer disputes the fee",
                 placed_on=date(2000, 1, 1))
        )  # fmt: skip
    report = _dispatcher(engine, tmp_path, clock).run_until_idle()
    assert report.outcomes == {"blocked": 2}
    assert not list(tmp_path.rglob("*.txt"))  # nothing was sent
    with Session(engine) as session:
        row = session.get_one(OutboxMessage, ids[0])
        assert row.status == "blocked" and row.last_error == "hold.dispute"
        assert events_of(session, ids)[ids[0]] == ["queued", "sending", "blocked"]


def test_released_hold_and_other_channel_hold_do_not_block(engine, tmp_path) -> None:
    queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    with Session(engine) as session, session.begin():
        session.add(Hold(customer_id="C1", kind="hardship", placed_on=date(2000, 1, 1),
                         released_on=date(2000, 2, 1)))  # fmt: skip
        session.add(Hold(customer_id="C1", kind="do_not_contact", channel="call",
                         placed_on=date(2000, 1, 1)))  # fmt: skip
    report = _dispatcher(engine, tmp_path, Clock(next_local(10))).run_until_idle()
    assert report.outcomes == {"sent": 1}


def test_blacklisted_number_blocks_the_send(engine, tmp_path) -> None:
    (outbox_id,) = queue_messages(engine, 1, channel="sms", recipient="+86 138-0013-8000")
    with Session(engine) as session, session.begin():
        session.add(BlacklistEntry(kind="phone", value="+8613800138000", reason="wrong number"))
    _dispatcher(engine, tmp_path, Clock(next_local(10))).run_until_idle()
    assert statuses(engine) == {outbox_id: "blocked"}


def test_outside_hours_waits_for_the_window_without_using_an_attempt(engine, tmp_path) -> None:
    (outbox_id,) = queue_messages(engine, 1, channel="sms", recipient="+8613800138000")
    clock = Clock(next_local(22, 30))
    dispatcher = _dispatcher(engine, tmp_path, clock)
    assert dispatcher.run_until_idle().outcomes == {"deferred": 1}
    with Session(engine, expire_on_commit=False) as session:
        row = session.get_one(OutboxMessage, outbox_id)
    opens = (clock.now + timedelta(hours=9, minutes=30)).astimezone(SHANGHAI)
    assert (opens.hour, opens.minute) == (8, 0)
    assert row.status == "queued" and row.attempts == 0
    assert as_utc(row.next_attempt_at) == opens.astimezone(UTC)
    clock.now = opens.astimezone(UTC) + timedelta(minutes=5)
    assert dispatcher.run_until_idle().outcomes == {"sent": 1}
    with Session(engine) as session:
        assert events_of(session, [outbox_id])[outbox_id] == [
            "queued", "sending", "queued", "sending", "sent",
        ]  # fmt: skip
