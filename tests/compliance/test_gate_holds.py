"""Holds per kind, channel and debt; the blacklist; what a blocked attempt leaves behind."""

from __future__ import annotations

import pytest
from compliance_helpers import attempt, local

from arrears.compliance import HOLD_KINDS, ComplianceError, Gate, Hold

AT = local("Asia/Shanghai", "2026-07-01 10:00")


@pytest.mark.parametrize("kind", HOLD_KINDS)
def test_every_hold_kind_blocks_every_channel_when_no_channel_is_named(kind):
    gate = Gate("cn", holds={"d1": [Hold(kind, reason="noted by collector")]})
    for channel in ("call", "sms", "email", "letter", "visit", "push"):
        v = gate.check(attempt(AT, channel=channel))
        if kind == "validation_pending" and channel == "letter":
            assert v.allowed  # the validation notice is the letter everything waits for
            continue
        assert v.rules == (f"hold.{kind}",)
        assert "noted by collector" in v.reasons[0]


def test_a_channel_hold_blocks_that_channel_only():
    gate = Gate("cn", holds={"d1": [Hold("consent_withdrawn", channel="push")]})
    assert gate.check(attempt(AT, channel="push")).rules == ("hold.consent_withdrawn.push",)
    assert gate.check(attempt(AT, channel="sms")).allowed


def test_a_debt_hold_blocks_that_debt_and_contacts_that_name_no_debt():
    gate = Gate("us-regf", holds={"d1": [Hold("dispute", debt_id="L1")]})
    ny = local("America/New_York", "2026-07-01 10:00")
    assert gate.check(attempt(ny, tz="America/New_York", debt="L1")).rules == ("hold.dispute",)
    assert gate.check(attempt(ny, tz="America/New_York", debt="L2")).allowed
    assert not gate.check(attempt(ny, tz="America/New_York", debt=None)).allowed


def test_holds_apply_to_their_debtor_only():
    gate = Gate("cn", holds={"d1": [Hold("bankruptcy")]})
    assert gate.check(attempt(AT, debtor="d2")).allowed


def test_all_holds_and_pack_rules_are_named_together():
    holds = {"d1": [Hold("bankruptcy"), Hold("do_not_contact", channel="sms"), Hold("bankruptcy")]}
    v = Gate("cn", holds=holds).check(
        attempt(local("Asia/Shanghai", "2026-07-01 22:00"), channel="sms")
    )
    assert v.rules == ("hold.bankruptcy", "hold.do_not_contact.sms", "cn.hours")
    assert len(v.reasons) == 3


def test_blacklisted_numbers_and_emails_match_in_any_spelling():
    gate = Gate("cn", blacklist=["+86 138-0013-8000", "Zhang.San@Example.com"])
    assert gate.check(attempt(AT), recipient="+8613800138000").rules == ("blacklist",)
    assert gate.check(attempt(AT, channel="email"), recipient="zhang.san@example.com").rules == (
        "blacklist",
    )
    assert gate.check(attempt(AT), recipient="+8613900139000").allowed
    assert gate.check(attempt(AT)).allowed  # no recipient given: nothing to compare


def test_blocked_attempts_do_not_count_toward_caps():
    gate = Gate("cn", holds={"d1": [Hold("hardship", debt_id="L1")]})
    for minute in range(5):
        assert not gate.check(attempt(local("Asia/Shanghai", f"2026-07-01 09:0{minute}"))).allowed
    for hour in (10, 11, 12):
        at = local("Asia/Shanghai", f"2026-07-01 {hour}:00")
        assert gate.check(attempt(at, debt="L2")).allowed


def test_bad_values_are_refused_with_the_field_named():
    with pytest.raises(ComplianceError, match="hold kind 'vacation'"):
        Hold("vacation")
    with pytest.raises(ComplianceError, match="channel 'fax'"):
        attempt(AT, channel="fax")
    with pytest.raises(ComplianceError, match="has no time zone"):
        attempt(AT.replace(tzinfo=None))
    with pytest.raises(ComplianceError, match="party 'cousin'"):
        attempt(AT, party="cousin")
    with pytest.raises(ComplianceError, match="outcome 'hung_up'"):
        attempt(AT, outcome="hung_up")
