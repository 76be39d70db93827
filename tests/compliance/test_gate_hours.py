"""Contact hours in the debtor's local time: DST in New York, Shanghai without DST,
and the strictest window when the zone is unknown."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, available_timezones

import pytest
from compliance_helpers import attempt, local, utc
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.compliance import Gate, load_pack

NY = "America/New_York"
KNOWN_ZONES = available_timezones()


def verdict(pack: str, at, tz):
    return Gate(pack).check(attempt(at, tz=tz))


def test_shanghai_21_05_is_blocked_with_the_numbers_in_the_reason():
    v = verdict("cn", local("Asia/Shanghai", "2026-07-01 21:05"), "Asia/Shanghai")
    assert not v.allowed
    assert v.rules == ("cn.hours",)
    assert v.reasons == ("call at 21:05 Asia/Shanghai is outside 08:00–21:00",)


@pytest.mark.parametrize(
    ("instant", "allowed"),
    [
        ("2026-07-01 00:00", True),  # 08:00 Beijing time: first allowed minute
        ("2026-06-30 23:59", False),  # 07:59
        ("2026-07-01 13:00", True),  # 21:00:00 exactly is not "after 21:00"
        ("2026-07-01 13:00:01", False),  # 21:00:01
    ],
)
def test_shanghai_window_edges_from_utc_instants(instant, allowed):
    assert verdict("cn", utc(instant), "Asia/Shanghai").allowed is allowed


def test_shanghai_has_no_dst_so_the_same_utc_hour_is_allowed_all_year():
    for day in ("2026-01-15", "2026-07-15"):
        assert verdict("cn", utc(f"{day} 12:30"), "Asia/Shanghai").allowed  # 20:30 local


def test_new_york_day_after_spring_forward_08_30_edt_is_allowed():
    # 2026-03-08 clocks went 02:00 -> 03:00; on the 9th 12:30 UTC is 08:30 EDT (EST would
    # have said 07:30 and blocked it).
    v = verdict("us-regf", utc("2026-03-09 12:30"), NY)
    assert v.allowed, v.reasons


def test_new_york_day_after_spring_forward_07_30_edt_is_blocked():
    v = verdict("us-regf", utc("2026-03-09 11:30"), NY)
    assert v.rules == ("us-regf.hours",)
    assert "07:30 America/New_York" in v.reasons[0]


def test_new_york_spring_forward_evening_edge_uses_edt():
    assert verdict("us-regf", utc("2026-03-09 01:00"), NY).allowed  # 21:00 EDT on the 8th
    blocked = verdict("us-regf", utc("2026-03-09 01:01"), NY)  # 21:01 EDT (20:01 in EST)
    assert blocked.rules == ("us-regf.hours",)
    assert "21:01" in blocked.reasons[0]


def test_new_york_fall_back_morning_uses_est():
    # 2026-11-01 clocks went 02:00 EDT -> 01:00 EST at 06:00 UTC.
    early = verdict("us-regf", utc("2026-11-01 12:30"), NY)  # 07:30 EST (08:30 in EDT)
    assert early.rules == ("us-regf.hours",)
    assert "07:30" in early.reasons[0]
    assert verdict("us-regf", utc("2026-11-01 13:00"), NY).allowed  # 08:00 EST


def test_local_time_is_taken_from_the_instant_not_the_written_offset():
    # The same instant written with a Beijing offset, for a New York debtor: 07:30 EDT.
    at = local("Asia/Shanghai", "2026-03-09 19:30")
    assert verdict("us-regf", at, NY).rules == ("us-regf.hours",)


@pytest.mark.parametrize("tz", [None, "", "Mars/Olympus_Mons", "America", "../etc/passwd"])
def test_unknown_zone_means_every_candidate_zone(tz):
    # Winter: the US window common to every zone is 18:00–02:00 UTC (Hawaii/Aleutians
    # open at 08:00 HST = 18:00 UTC, New York closes at 21:00 EST = 02:00 UTC).
    assert not verdict("us-regf", utc("2026-01-15 17:59"), tz).allowed
    assert verdict("us-regf", utc("2026-01-15 18:00"), tz).allowed
    assert verdict("us-regf", utc("2026-01-16 02:00"), tz).allowed
    late = verdict("us-regf", utc("2026-01-16 02:01"), tz)
    assert late.rules == ("us-regf.hours",)
    assert "every candidate zone was checked" in late.reasons[0]
    assert "America/New_York" in late.reasons[0]


def test_unknown_zone_window_follows_dst_of_every_candidate():
    # 01:30 UTC is 20:30 EST in January (inside everywhere) but 21:30 EDT in July.
    assert verdict("us-regf", utc("2026-01-16 01:30"), None).allowed
    july = verdict("us-regf", utc("2026-07-16 01:30"), None)
    assert july.rules == ("us-regf.hours",)
    # Morning: the Aleutians keep DST (HDT, UTC-9) but Hawaii does not: 17:30 UTC in
    # July is 08:30 in Adak and 07:30 in Honolulu.
    morning = verdict("us-regf", utc("2026-07-15 17:30"), None)
    assert morning.rules == ("us-regf.hours",)
    assert "Pacific/Honolulu" in morning.reasons[0]


def test_unknown_zone_in_cn_uses_beijing_time():
    assert verdict("cn", utc("2026-07-01 01:00"), "Nowhere/Zone").allowed  # 09:00
    v = verdict("cn", utc("2026-07-01 14:00"), "Nowhere/Zone")  # 22:00
    assert v.rules == ("cn.hours",)
    assert "Asia/Shanghai" in v.reasons[0]


def test_letters_are_not_subject_to_hours_in_either_pack():
    at = local("Asia/Shanghai", "2026-07-01 23:00")
    assert Gate("cn").check(attempt(at, channel="letter")).allowed
    assert Gate("us-regf").check(attempt(at, tz="Asia/Shanghai", channel="letter")).allowed


def test_us_regf_hours_cover_text_and_email_too():
    at = local(NY, "2026-07-01 22:00")
    for channel in ("sms", "email"):
        assert Gate("us-regf").check(attempt(at, tz=NY, channel=channel)).rules == (
            "us-regf.hours",
        )


def test_next_opening_is_the_first_minute_inside_every_candidate_window():
    from arrears.compliance.rules import ContactHours
    from arrears.compliance.zones import debtor_clock

    pack = load_pack("us-regf")
    (hours,) = [r for r in pack.rules if isinstance(r, ContactHours)]
    ny = debtor_clock(NY, pack.candidate_zones)
    # 21:30 EDT on the 8th (spring forward): next opening is 08:00 EDT on the 9th.
    assert hours.next_opening(utc("2026-03-09 01:30"), ny) == utc("2026-03-09 12:00")
    inside = utc("2026-03-09 15:00")
    assert hours.next_opening(inside, ny) == inside
    # Unknown zone in January: 08:00 HST = 18:00 UTC opens the common window.
    unknown = debtor_clock(None, pack.candidate_zones)
    assert hours.next_opening(utc("2026-01-15 03:00"), unknown) == utc("2026-01-15 18:00")


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
    pack=st.sampled_from(["cn", "us-regf"]),
    tz=st.sampled_from([NY, "America/Phoenix", "Asia/Shanghai", "Pacific/Honolulu", None, "X/Y"]),
)
def test_a_call_is_allowed_exactly_when_every_zone_reads_08_00_to_21_00(instant, pack, tz):
    zones = [tz] if tz in KNOWN_ZONES else list(load_pack(pack).candidate_zones)
    inside = all(time(8) <= instant.astimezone(ZoneInfo(z)).time() <= time(21) for z in zones)
    assert Gate(pack).check(attempt(instant, tz=tz)).allowed is inside
