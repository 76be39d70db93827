"""The cn pack: daily and weekly caps per debtor and channel, no third parties."""

from __future__ import annotations

from datetime import timedelta

from compliance_helpers import attempt, local

from arrears.compliance import Gate

SH = "Asia/Shanghai"


def at(text):
    return local(SH, text)


def test_fourth_call_of_the_day_is_blocked_and_the_next_day_is_free():
    gate = Gate("cn")
    for hour in (9, 12, 15):
        assert gate.check(attempt(at(f"2026-07-01 {hour:02d}:00"))).allowed
    fourth = gate.check(attempt(at("2026-07-01 18:00")))
    assert fourth.rules == ("cn.cap.call.daily",)
    assert fourth.reasons[0].startswith(
        "3 call attempt(s) already made with this debtor on 2026-07-01"
    )
    assert "the limit is 3 per debtor in a day" in fourth.reasons[0]
    assert gate.check(attempt(at("2026-07-02 08:00"))).allowed


def test_daily_call_cap_is_per_debtor_across_debts_and_not_across_debtors():
    gate = Gate("cn")
    for debt in ("L1", "L2", "L3"):
        assert gate.check(attempt(at("2026-07-01 10:00"), debt=debt)).allowed
    assert gate.check(attempt(at("2026-07-01 11:00"), debt="L4")).rules == ("cn.cap.call.daily",)
    assert gate.check(attempt(at("2026-07-01 11:00"), debtor="d2")).allowed


def test_weekly_call_cap_counts_seven_consecutive_days():
    gate = Gate("cn")
    start = at("2026-07-01 09:00")
    for day in range(5):
        for hour in range(3):
            v = gate.check(attempt(start + timedelta(days=day, hours=hour)))
            assert v.allowed, v.reasons
    sixth_day = gate.check(attempt(at("2026-07-06 09:00")))
    assert sixth_day.rules == ("cn.cap.call.weekly",)
    assert "in the 7 consecutive days 2026-06-30–2026-07-06" in sixth_day.reasons[0]
    assert "the limit is 15" in sixth_day.reasons[0]
    assert not gate.check(attempt(at("2026-07-07 09:00"))).allowed  # window 07-01..07-07
    assert gate.check(attempt(at("2026-07-08 09:00"))).allowed  # 07-02..07-08 has 12


def test_caps_are_per_channel():
    gate = Gate("cn")
    for hour in (9, 10, 11):
        assert gate.check(attempt(at(f"2026-07-01 {hour:02d}:00"))).allowed
    assert gate.check(attempt(at("2026-07-01 12:00"), channel="sms")).allowed
    assert gate.check(attempt(at("2026-07-01 12:30"), channel="sms")).allowed
    third_sms = gate.check(attempt(at("2026-07-01 13:00"), channel="sms"))
    assert third_sms.rules == ("cn.cap.sms.daily",)
    assert gate.check(attempt(at("2026-07-01 13:00"), channel="email")).allowed
    assert gate.check(attempt(at("2026-07-01 14:00"), channel="email")).rules == (
        "cn.cap.email.daily",
    )


def test_a_visit_a_week():
    gate = Gate("cn")
    assert gate.check(attempt(at("2026-07-01 10:00"), channel="visit")).allowed
    assert gate.check(attempt(at("2026-07-07 10:00"), channel="visit")).rules == (
        "cn.cap.visit.weekly",
    )
    assert gate.check(attempt(at("2026-07-08 10:00"), channel="visit")).allowed


def test_third_parties_and_unverified_recipients_are_blocked():
    gate = Gate("cn")
    third = gate.check(attempt(at("2026-07-01 10:00"), party="third_party"))
    assert third.rules == ("cn.third_party",)
    unknown = gate.check(attempt(at("2026-07-01 10:00"), party="unknown"))
    assert unknown.rules == ("cn.third_party",)
    assert "not verified as the debtor" in unknown.reasons[0]
    assert gate.check(attempt(at("2026-07-01 10:00"), party="debtor")).allowed


def test_every_blocking_rule_is_named():
    gate = Gate("cn")
    for hour in (9, 10, 11):
        gate.check(attempt(at(f"2026-07-01 {hour:02d}:00")))
    v = gate.check(attempt(at("2026-07-01 21:30"), party="third_party"))
    assert v.rules == ("cn.hours", "cn.third_party")  # third parties are not capped
    v = gate.check(attempt(at("2026-07-01 21:30")))
    assert v.rules == ("cn.hours", "cn.cap.call.daily")
    assert len(v.reasons) == 2


def test_checks_out_of_time_order_still_keep_every_window_within_the_cap():
    # History may hold later days: a call on day 4 must not push days 4..10 over.
    later = [attempt(at("2026-07-10 09:00") + timedelta(hours=h)) for h in range(3)]
    gate = Gate("cn", history=later)
    assert gate.check(attempt(at("2026-07-09 09:00"))).allowed
    assert gate.check(attempt(at("2026-07-10 20:00"))).rules == ("cn.cap.call.daily",)
