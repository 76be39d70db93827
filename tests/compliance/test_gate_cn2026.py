"""The cn-2026 pack (issue 26): hours 08:00 to before 22:00, 6 unanswered dials to one
number a day, 3 conversations per debtor a day, third parties only while the debtor is
unreachable and never again once they refused, visits by two collectors."""

from __future__ import annotations

import pytest
from compliance_helpers import attempt, local

from arrears.compliance import Attempt, ComplianceError, Gate, load_pack

SH = "Asia/Shanghai"
DEBTOR_NO = "+86 138-0000-0001"
OTHER_NO = "+86 138-0000-0002"
FRIEND_NO = "+86 139-0000-0009"


def at(text):
    return local(SH, text)


def call(when, *, recipient=DEBTOR_NO, outcome="no_answer", party="debtor", **kw) -> Attempt:
    return attempt(at(when), recipient=recipient, outcome=outcome, party=party, **kw)


def test_pack_extends_cn_replacing_three_rules_and_keeping_the_other_caps():
    ids = load_pack("cn-2026").rule_ids
    for replaced in ("cn.hours", "cn.cap.call.daily", "cn.third_party"):
        assert replaced not in ids
    for kept in (
        "cn.cap.call.weekly",
        "cn.cap.sms.daily",
        "cn.cap.sms.weekly",
        "cn.cap.email.daily",
        "cn.cap.push.daily",
        "cn.cap.visit.weekly",
        "cn.cap.letter.weekly",
    ):
        assert kept in ids
    assert ids[-6:] == (
        "cn-2026.hours",
        "cn-2026.dials.daily",
        "cn-2026.conversations.daily",
        "cn-2026.third_party.unreachable",
        "cn-2026.third_party.refused",
        "cn-2026.visit.two_agents",
    )
    for rule in load_pack("cn-2026").rules:
        if rule.id.startswith("cn-2026."):
            assert "2026-01-30" in rule.source or "GB/T 45251-2025" in rule.source


# ---- cn-2026.hours ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "allowed"),
    [
        ("07:59:59", False),
        ("07:59", False),
        ("08:00", True),
        ("21:00:01", True),  # cn blocked this; the 2026 rules allow until 22:00
        ("21:59", True),
        ("21:59:59", True),
        ("22:00", False),
        ("23:30", False),
    ],
)
def test_hours_08_00_allowed_22_00_blocked_on_every_hour_limited_channel(wall, allowed):
    for channel in ("call", "sms", "email", "visit", "push"):
        gate = Gate("cn-2026")
        v = gate.check(attempt(at(f"2026-07-01 {wall}"), channel=channel, agents=2))
        assert v.allowed is allowed, (channel, wall, v)
        if not allowed:
            assert v.rules == ("cn-2026.hours",)
            assert "is outside 08:00 to before 22:00" in v.reasons[0]


def test_hours_are_the_debtors_local_time_and_letters_are_not_hour_limited():
    gate = Gate("cn-2026")
    # 14:00 UTC is 22:00 in Shanghai
    v = gate.check(attempt(local("UTC", "2026-07-01 14:00"), tz=SH))
    assert v.rules == ("cn-2026.hours",)
    assert v.reasons[0] == "call at 22:00 Asia/Shanghai is outside 08:00 to before 22:00"
    assert gate.check(attempt(at("2026-07-01 23:30"), channel="letter")).allowed
    assert gate.check(attempt(at("2026-07-02 03:00"), channel="letter")).rules == (
        "cn.cap.letter.weekly",  # kept from cn, not an hours rule
    )


def test_unknown_zone_is_read_as_beijing_time():
    gate = Gate("cn-2026")
    assert gate.check(attempt(local("UTC", "2026-07-01 00:00"), tz=None)).allowed  # 08:00
    v = gate.check(attempt(local("UTC", "2026-07-01 14:00"), tz="Bad/Zone"))
    assert v.rules == ("cn-2026.hours",)


# ---- cn-2026.dials.daily -----------------------------------------------------------


def test_sixth_unanswered_dial_allowed_seventh_blocked_naming_the_number():
    gate = Gate("cn-2026")
    for i in range(6):
        assert gate.check(call(f"2026-07-01 {9 + i:02d}:00")).allowed, i
    seventh = gate.check(call("2026-07-01 16:00"))
    assert seventh.rules == ("cn-2026.dials.daily",)
    assert seventh.reasons[0] == (
        "6 call attempt(s) not ending connected_conversation already made to"
        " ***0001 on 2026-07-01 (Asia/Shanghai); the limit is 6 per recipient in a day"
    )
    # another number of the debtor's is counted apart; the next local day starts again
    assert gate.check(call("2026-07-01 16:00", recipient=OTHER_NO)).allowed
    assert gate.check(call("2026-07-02 08:00")).allowed


def test_dials_count_the_number_however_it_is_written():
    gate = Gate("cn-2026")
    for i, written in enumerate(["+8613800000001", "+86 138 0000 0001", "+86-138-0000-0001"] * 2):
        assert gate.check(call(f"2026-07-01 {9 + i:02d}:00", recipient=written)).allowed
    assert gate.check(call("2026-07-01 16:00", recipient="+86 (138) 0000.0001")).rules == (
        "cn-2026.dials.daily",
    )


def test_connected_calls_do_not_count_and_an_empty_outcome_counts_as_not_connected():
    gate = Gate("cn-2026")
    outcomes = ["no_answer", None, "busy", "connected_conversation", "voicemail", "failed"]
    for i, outcome in enumerate(outcomes):
        assert gate.check(call(f"2026-07-01 {9 + i:02d}:00", outcome=outcome)).allowed
    # 5 unconnected so far: a 6th unconnected is allowed, then the number is done
    assert gate.check(call("2026-07-01 15:00", outcome=None)).allowed
    v = gate.check(call("2026-07-01 16:00", outcome="connected_conversation"))
    assert v.rules == ("cn-2026.dials.daily",)  # decided before dialling: it counts +1


def test_dials_to_a_third_partys_number_are_capped_too():
    gate = Gate("cn-2026")
    for i in range(3):
        assert gate.check(call(f"2026-07-01 09:0{i}", outcome="failed")).allowed
    for i in range(6):
        v = gate.check(call(f"2026-07-01 1{i}:00", recipient=FRIEND_NO, party="third_party"))
        assert v.allowed, v
    v = gate.check(call("2026-07-01 17:00", recipient=FRIEND_NO, party="third_party"))
    assert v.rules == ("cn-2026.dials.daily",)


def test_a_call_with_no_recipient_may_be_to_any_number_so_it_counts_for_each():
    gate = Gate("cn-2026")
    for i in range(6):
        assert gate.check(call(f"2026-07-01 {9 + i:02d}:00", recipient=None)).allowed
    assert gate.check(call("2026-07-01 16:00", recipient=OTHER_NO)).rules == (
        "cn-2026.dials.daily",
    )


# ---- cn-2026.conversations.daily ----------------------------------------------------


def test_three_conversations_a_day_per_debtor_on_any_number_then_calls_stop():
    gate = Gate("cn-2026")
    for i, number in enumerate([DEBTOR_NO, OTHER_NO, DEBTOR_NO]):
        v = gate.check(
            call(f"2026-07-01 {9 + i:02d}:00", recipient=number, outcome="connected_conversation")
        )
        assert v.allowed
    fourth = gate.check(call("2026-07-01 15:00", recipient="+86 138-0000-0003"))
    assert fourth.rules == ("cn-2026.conversations.daily",)
    assert fourth.reasons[0].startswith(
        "3 call attempt(s) ending connected_conversation already made with this debtor"
        " on 2026-07-01"
    )
    # texts are not voice conversations; other debtors and the next day are free
    assert gate.check(attempt(at("2026-07-01 15:00"), channel="sms")).allowed
    assert gate.check(call("2026-07-01 15:00", debtor="d2")).allowed
    assert gate.check(call("2026-07-02 08:00", outcome="connected_conversation")).allowed


def test_two_conversations_and_unanswered_calls_leave_room_for_a_third():
    gate = Gate("cn-2026")
    plan = ["connected_conversation", "no_answer", "connected_conversation", "busy", None]
    for i, outcome in enumerate(plan):
        assert gate.check(call(f"2026-07-01 {9 + i:02d}:00", outcome=outcome)).allowed
    assert gate.check(call("2026-07-01 15:00", outcome="connected_conversation")).allowed
    assert gate.check(call("2026-07-01 16:00")).rules == ("cn-2026.conversations.daily",)


# ---- cn-2026.third_party.unreachable -------------------------------------------------


def test_third_party_blocked_until_three_debtor_calls_failed():
    gate = Gate("cn-2026")
    friend = call("2026-07-01 12:00", recipient=FRIEND_NO, party="third_party", outcome=None)
    v = gate.check(friend)
    assert v.rules == ("cn-2026.third_party.unreachable",)
    assert v.reasons[0].endswith("the debtor has 0 call(s) on record")
    for i, outcome in enumerate(["no_answer", "busy"]):
        assert gate.check(call(f"2026-07-01 {8 + i:02d}:00", outcome=outcome)).allowed
    again = call("2026-07-01 12:00", recipient=FRIEND_NO, party="third_party", outcome=None)
    assert gate.check(again).rules == ("cn-2026.third_party.unreachable",)
    assert gate.check(call("2026-07-01 10:00", outcome="failed")).allowed
    for channel in ("call", "sms", "visit", "letter"):
        v = gate.check(
            attempt(at("2026-07-01 12:00"), channel=channel, party="third_party", agents=2)
        )
        assert v.allowed, (channel, v)


def test_a_later_connected_call_makes_the_debtor_reachable_again():
    gate = Gate("cn-2026")
    for i, outcome in enumerate(["no_answer", "failed", "busy"]):
        assert gate.check(call(f"2026-07-01 {8 + i:02d}:00", outcome=outcome)).allowed
    assert gate.check(call("2026-07-01 11:00", recipient=FRIEND_NO, party="unknown")).allowed
    assert gate.check(call("2026-07-01 12:00", outcome="connected_conversation")).allowed
    v = gate.check(call("2026-07-01 13:00", recipient=FRIEND_NO, party="unknown"))
    assert v.rules == ("cn-2026.third_party.unreachable",)
    assert (
        "the call of 2026-07-01 12:00 Asia/Shanghai ended connected_conversation" in (v.reasons[0])
    )
    # three failures after the conversation: unreachable again (the next day here)
    for i in range(3):
        assert gate.check(call(f"2026-07-02 {8 + i:02d}:00", outcome="no_answer")).allowed
    assert gate.check(call("2026-07-02 12:00", recipient=FRIEND_NO, party="unknown")).allowed


@pytest.mark.parametrize("third", ["voicemail", None, "delivered", "refused"])
def test_only_failed_no_answer_and_busy_are_failures(third):
    gate = Gate("cn-2026")
    for i, outcome in enumerate(["no_answer", "busy", third]):
        assert gate.check(call(f"2026-07-01 {8 + i:02d}:00", outcome=outcome)).allowed
    v = gate.check(call("2026-07-01 12:00", recipient=FRIEND_NO, party="third_party"))
    assert v.rules == ("cn-2026.third_party.unreachable",)


def test_texts_and_third_party_calls_are_not_the_debtors_calls():
    gate = Gate("cn-2026")
    for i in range(3):
        assert gate.check(call(f"2026-07-01 {8 + i:02d}:00", outcome="failed")).allowed
    # a text to the debtor after the failures does not make the debtor reachable
    assert gate.check(attempt(at("2026-07-01 11:00"), channel="sms", outcome="delivered")).allowed
    assert gate.check(call("2026-07-01 12:00", recipient=FRIEND_NO, party="third_party")).allowed


# ---- cn-2026.third_party.refused -----------------------------------------------------


def _unreachable(gate: Gate, day: str = "2026-07-01") -> None:
    for i in range(3):
        assert gate.check(call(f"{day} {8 + i:02d}:00", outcome="failed")).allowed


def test_a_third_party_who_refused_is_never_contacted_again():
    gate = Gate("cn-2026")
    _unreachable(gate)
    refused = call("2026-07-01 11:00", recipient=FRIEND_NO, party="third_party", outcome="refused")
    assert gate.check(refused).allowed  # the refusal itself happened
    for when, channel in (("2026-07-01 12:00", "call"), ("2026-07-09 10:00", "sms")):
        v = gate.check(
            attempt(at(when), channel=channel, party="third_party", recipient="+8613900000009")
        )
        assert "cn-2026.third_party.refused" in v.rules
        assert v.reasons[v.rules.index("cn-2026.third_party.refused")] == (
            "***0009 (third_party) refused on 2026-07-01 11:00 Asia/Shanghai:"
            f" no {channel} or other contact to them again"
        )
    # another third party is fine
    assert gate.check(
        call("2026-07-01 12:00", recipient="+86 139-0000-0008", party="third_party")
    ).allowed


def test_a_debtor_saying_refused_is_not_a_third_party_refusal():
    gate = Gate("cn-2026")
    assert gate.check(call("2026-07-01 09:00", outcome="refused")).allowed
    assert gate.check(call("2026-07-01 10:00")).allowed


def test_a_refusal_with_no_recipient_blocks_third_parties_but_not_the_debtor():
    gate = Gate("cn-2026")
    _unreachable(gate)
    assert gate.check(
        call("2026-07-01 11:00", recipient=None, party="unknown", outcome="refused")
    ).allowed
    v = gate.check(call("2026-07-01 12:00", recipient=FRIEND_NO, party="third_party"))
    assert v.rules == ("cn-2026.third_party.refused",)
    assert gate.check(call("2026-07-01 12:00")).allowed


# ---- cn-2026.visit.two_agents ---------------------------------------------------------


def test_a_visit_needs_two_collectors():
    gate = Gate("cn-2026")
    one = gate.check(attempt(at("2026-07-01 10:00"), channel="visit", agents=1))
    assert one.rules == ("cn-2026.visit.two_agents",)
    assert one.reasons == ("visit with 1 collector(s): at least 2 are required",)
    assert gate.check(attempt(at("2026-07-01 10:00"), channel="visit", agents=2)).allowed
    assert gate.check(attempt(at("2026-07-02 10:00"), channel="call", agents=1)).allowed


def test_agents_must_be_a_whole_number_of_at_least_one():
    with pytest.raises(ComplianceError, match="agents 0 is not a whole number >= 1"):
        attempt(at("2026-07-01 10:00"), channel="visit", agents=0)
    with pytest.raises(ComplianceError, match="recipient_type 'home' is not one of personal, work"):
        attempt(at("2026-07-01 10:00"), recipient_type="home")


def test_every_blocking_rule_is_named_at_once():
    gate = Gate("cn-2026")
    v = gate.check(attempt(at("2026-07-01 22:30"), channel="visit", party="third_party"))
    assert v.rules == (
        "cn-2026.hours",
        "cn-2026.third_party.unreachable",
        "cn-2026.visit.two_agents",
    )


def test_reasons_show_contact_values_masked():
    from arrears.compliance.rules import masked

    assert masked("+86 138-0000-0001") == "***0001"
    assert masked("Debtor1@Example.com") == "d***@example.com"
    assert masked("北京市朝阳区建国路1号院") == "北京市朝阳区***"
