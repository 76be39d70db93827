"""Regulation F: 7 calls in 7 consecutive days per debt, the 7-day quiet period after a
telephone conversation (conversation day = day 1), opt-out of a channel."""

from __future__ import annotations

from datetime import timedelta

from compliance_helpers import attempt, local

from arrears.compliance import Gate, Hold

NY = "America/New_York"
LA = "America/Los_Angeles"
TALK = "connected_conversation"


def calls_on_days(gate, first_day, days, *, tz=NY, hour="10:00", debt="L1", outcome="no_answer"):
    """One allowed call a day for ``days`` days starting on ``first_day`` (YYYY-MM-DD)."""
    start = local(tz, f"{first_day} {hour}")
    for i in range(days):
        v = gate.check(attempt(start + timedelta(days=i), tz=tz, debt=debt, outcome=outcome))
        assert v.allowed, v.reasons


def test_the_eighth_call_within_seven_days_is_blocked():
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-03-02", 7)  # Mon 2 .. Sun 8, across spring forward
    eighth = gate.check(attempt(local(NY, "2026-03-08 15:00"), tz=NY))
    assert eighth.rules == ("us-regf.7in7",)
    assert "7 call attempt(s) already made on debt L1" in eighth.reasons[0]
    assert "2026-03-02–2026-03-08" in eighth.reasons[0]
    assert "the limit is 7" in eighth.reasons[0]


def test_day_eight_opens_a_new_window_and_blocked_calls_do_not_count():
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-03-02", 7)
    assert not gate.check(attempt(local(NY, "2026-03-08 15:00"), tz=NY)).allowed
    # Days 3..9 hold six counted calls: the next one is allowed, the one after is not.
    assert gate.check(attempt(local(NY, "2026-03-09 10:00"), tz=NY)).allowed
    assert gate.check(attempt(local(NY, "2026-03-09 11:00"), tz=NY)).rules == ("us-regf.7in7",)


def test_seven_calls_on_one_day_then_the_seventh_day_after_is_free():
    gate = Gate("us-regf")
    for hour in range(9, 16):
        assert gate.check(attempt(local(NY, f"2026-05-04 {hour:02d}:00"), tz=NY)).allowed
    assert not gate.check(attempt(local(NY, "2026-05-10 10:00"), tz=NY)).allowed  # day 7
    assert gate.check(attempt(local(NY, "2026-05-11 10:00"), tz=NY)).allowed  # day 8


def test_days_are_the_consumers_local_days_not_utc_days():
    # Calls at 20:00 Pacific are 03:00/04:00 UTC the next day. In local days the 8th
    # call on day 8 is the 7th in days 2..8; counted in UTC days it would be the 8th.
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-06-01", 7, tz=LA, hour="20:00")
    assert gate.check(attempt(local(LA, "2026-06-08 08:30"), tz=LA)).allowed


def test_the_cap_is_per_debt_and_a_call_about_no_debt_counts_for_all():
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-03-02", 7, debt="L1")
    assert gate.check(attempt(local(NY, "2026-03-08 16:00"), tz=NY, debt="L2")).allowed
    general = gate.check(attempt(local(NY, "2026-03-08 17:00"), tz=NY, debt=None))
    assert general.rules == ("us-regf.7in7",)


def test_a_call_about_no_debt_must_fit_each_debts_seven_not_their_sum():
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-03-02", 4, debt="L1")
    calls_on_days(gate, "2026-03-02", 3, hour="11:00", debt="L2")
    assert gate.check(attempt(local(NY, "2026-03-06 12:00"), tz=NY, debt=None)).allowed
    # Now L1 has 4 + 1 (the no-debt call): two more L1 calls fit, the third does not.
    calls_on_days(gate, "2026-03-07", 2, debt="L1")
    blocked = gate.check(attempt(local(NY, "2026-03-08 12:00"), tz=NY, debt=None))
    assert blocked.rules == ("us-regf.7in7",)
    assert "naming no debt" in blocked.reasons[0]


def test_calls_that_did_not_connect_are_not_counted():
    # 12 CFR 1006.14(b)(3)(ii): busy signals and failed calls are excluded.
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-03-02", 7, outcome="busy")
    calls_on_days(gate, "2026-03-02", 3, hour="11:00", outcome="failed")
    calls_on_days(gate, "2026-03-02", 7, hour="12:00", outcome="voicemail")
    assert gate.check(attempt(local(NY, "2026-03-08 18:00"), tz=NY)).rules == ("us-regf.7in7",)


def test_third_party_calls_do_not_use_up_the_debtors_seven():
    gate = Gate("us-regf")
    for i in range(7):
        at = local(NY, "2026-03-02 10:00") + timedelta(days=i)
        assert gate.check(attempt(at, tz=NY, party="third_party")).allowed
    assert gate.check(attempt(local(NY, "2026-03-08 12:00"), tz=NY)).allowed


def test_history_given_to_the_gate_counts():
    earlier = [
        attempt(local(NY, "2026-03-02 10:00") + timedelta(days=i), tz=NY, outcome="no_answer")
        for i in range(7)
    ]
    gate = Gate("us-regf", history=earlier)
    assert gate.check(attempt(local(NY, "2026-03-05 12:00"), tz=NY)).rules == ("us-regf.7in7",)


def test_no_call_on_days_one_to_seven_after_a_conversation():
    gate = Gate("us-regf")
    talk = gate.check(attempt(local(NY, "2026-03-02 10:00"), tz=NY, outcome=TALK))
    assert talk.allowed
    same_day = gate.check(attempt(local(NY, "2026-03-02 15:00"), tz=NY))
    assert same_day.rules == ("us-regf.after-conversation",)
    assert same_day.reasons[0] == (
        "conversation on debt L1 on 2026-03-02 (America/New_York) starts a 7-day quiet"
        " period through 2026-03-08; no call before 2026-03-09"
    )
    day_seven = gate.check(attempt(local(NY, "2026-03-08 20:59"), tz=NY))
    assert day_seven.rules == ("us-regf.after-conversation",)
    assert gate.check(attempt(local(NY, "2026-03-09 08:00"), tz=NY)).allowed  # day 8


def test_quiet_period_days_are_local_days():
    # 20:30 Pacific on 2 June is 03:30 UTC on 3 June; day 8 is 9 June local.
    gate = Gate("us-regf")
    assert gate.check(attempt(local(LA, "2026-06-02 20:30"), tz=LA, outcome=TALK)).allowed
    assert not gate.check(attempt(local(LA, "2026-06-08 20:00"), tz=LA)).allowed
    assert gate.check(attempt(local(LA, "2026-06-09 08:00"), tz=LA)).allowed


def test_quiet_period_is_per_debt_and_for_calls_only():
    gate = Gate("us-regf")
    gate.check(attempt(local(NY, "2026-03-02 10:00"), tz=NY, outcome=TALK))
    assert gate.check(attempt(local(NY, "2026-03-03 10:00"), tz=NY, debt="L2")).allowed
    assert gate.check(attempt(local(NY, "2026-03-03 11:00"), tz=NY, channel="sms")).allowed
    assert gate.check(attempt(local(NY, "2026-03-03 12:00"), tz=NY, debt=None)).rules == (
        "us-regf.after-conversation",
    )


def test_a_blocked_or_third_party_conversation_starts_no_quiet_period():
    gate = Gate("us-regf")
    night = gate.check(attempt(local(NY, "2026-03-02 22:00"), tz=NY, outcome=TALK))
    assert night.rules == ("us-regf.hours",)
    gate.check(attempt(local(NY, "2026-03-03 10:00"), tz=NY, party="third_party", outcome=TALK))
    assert gate.check(attempt(local(NY, "2026-03-04 10:00"), tz=NY)).allowed


def test_conversation_and_seven_calls_both_named():
    gate = Gate("us-regf")
    calls_on_days(gate, "2026-03-02", 6)
    gate.check(attempt(local(NY, "2026-03-08 09:00"), tz=NY, outcome=TALK))
    v = gate.check(attempt(local(NY, "2026-03-08 10:00"), tz=NY))
    assert v.rules == ("us-regf.7in7", "us-regf.after-conversation")
    assert len(v.reasons) == 2


def test_opt_out_of_a_channel_is_honoured_on_that_channel_only():
    gate = Gate("us-regf", holds={"d1": [Hold("do_not_contact", channel="sms")]})
    at = local(NY, "2026-03-03 10:00")
    sms = gate.check(attempt(at, tz=NY, channel="sms"))
    assert sms.rules == ("hold.do_not_contact.sms",)
    assert "by sms" in sms.reasons[0]
    assert gate.check(attempt(at, tz=NY, channel="call")).allowed
