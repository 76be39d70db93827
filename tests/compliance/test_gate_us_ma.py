"""The us-ma pack (issue 26): Massachusetts 940 CMR 7.04(1)(f) on top of Reg F: calls
and texts per debt, 2 in the 7 local days D-6..D to personal numbers, 2 in the 30
local days D-29..D to work numbers; emails and letters do not count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from compliance_helpers import attempt, local

from arrears.compliance import Gate, load_pack

NY = "America/New_York"
D = date(2026, 6, 30)


def on(day: date, wall: str = "10:00"):
    return local(NY, f"{day.isoformat()} {wall}")


def phone(day: date, *, channel="call", kind="personal", wall="10:00", **kw):
    kw.setdefault("outcome", "no_answer" if channel == "call" else "delivered")
    return attempt(on(day, wall), tz=NY, channel=channel, recipient_type=kind, **kw)


def test_pack_extends_us_regf():
    pack = load_pack("us-ma")
    assert pack.rule_ids == (
        "us-regf.hours",
        "us-regf.7in7",
        "us-regf.after-conversation",
        "us-regf.tcpa.consent",
        "us-ma.phone.personal",
        "us-ma.phone.work",
    )
    assert pack.candidate_zones == load_pack("us-regf").candidate_zones
    assert all("940 CMR 7.04(1)(f)" in r.source for r in pack.rules if r.id.startswith("us-ma"))
    assert pack.history_days == 30


@pytest.mark.parametrize(("first", "allowed"), [(6, False), (7, True)])
def test_personal_two_in_d_minus_6_to_d(first, allowed):
    gate = Gate("us-ma")
    assert gate.check(phone(D - timedelta(days=first))).allowed
    assert gate.check(phone(D - timedelta(days=3), channel="sms")).allowed
    v = gate.check(phone(D))
    assert v.allowed is allowed
    if not allowed:
        assert v.rules == ("us-ma.phone.personal",)
        assert v.reasons[0] == (
            "2 call/sms attempt(s) to personal recipients already made on debt L1 in the 7"
            " consecutive days 2026-06-24–2026-06-30 (America/New_York); the limit is 2 per"
            " debt in 7 consecutive days"
        )


def test_personal_days_are_local_days():
    gate = Gate("us-ma")
    # 20:30 EDT on D-7 is 00:30 UTC on D-6: outside D-6..D on the debtor's clock
    assert gate.check(phone(D - timedelta(days=7), wall="20:30")).allowed
    assert gate.check(phone(D - timedelta(days=2))).allowed
    assert gate.check(phone(D)).allowed
    assert gate.check(phone(D, wall="11:00")).rules == ("us-ma.phone.personal",)


@pytest.mark.parametrize(("first", "allowed"), [(29, False), (30, True)])
def test_work_two_in_d_minus_29_to_d(first, allowed):
    gate = Gate("us-ma")
    assert gate.check(phone(D - timedelta(days=first), kind="work")).allowed
    assert gate.check(phone(D - timedelta(days=15), kind="work", channel="sms")).allowed
    v = gate.check(phone(D, kind="work"))
    assert v.allowed is allowed
    if not allowed:
        assert v.rules == ("us-ma.phone.work",)
        assert "in the 30 consecutive days 2026-06-01–2026-06-30" in v.reasons[0]
        assert "the limit is 2 per debt in 30 consecutive days" in v.reasons[0]


def test_personal_and_work_are_counted_apart():
    gate = Gate("us-ma")
    for day in (D - timedelta(days=2), D - timedelta(days=1)):
        assert gate.check(phone(day)).allowed
    assert gate.check(phone(D, kind="work")).allowed
    assert gate.check(phone(D, kind="work", wall="12:00")).allowed
    assert gate.check(phone(D, wall="13:00")).rules == ("us-ma.phone.personal",)
    assert gate.check(phone(D, kind="work", wall="14:00")).rules == ("us-ma.phone.work",)


def test_per_debt_and_a_contact_naming_no_debt_counts_for_every_debt():
    gate = Gate("us-ma")
    assert gate.check(phone(D - timedelta(days=1))).allowed
    assert gate.check(phone(D - timedelta(days=1), debt="L2")).allowed
    assert gate.check(phone(D, debt=None)).allowed  # 1 on L1, 1 on L2: fits in each
    assert gate.check(phone(D, wall="12:00")).rules == ("us-ma.phone.personal",)
    assert gate.check(phone(D, wall="12:00", debt="L2")).rules == ("us-ma.phone.personal",)
    assert gate.check(phone(D, wall="12:00", debt="L3")).allowed  # only the no-debt one


def test_emails_and_letters_do_not_count_and_are_not_capped():
    gate = Gate("us-ma")
    for i in range(3):
        assert gate.check(phone(D - timedelta(days=i), channel="email")).allowed
        assert gate.check(phone(D - timedelta(days=i), channel="letter")).allowed
    assert gate.check(phone(D)).allowed
    assert gate.check(phone(D, wall="11:00")).allowed
    assert gate.check(phone(D, wall="12:00", channel="email")).allowed


def test_third_party_calls_are_not_communications_with_the_debtor():
    gate = Gate("us-ma")
    for wall in ("10:00", "11:00", "12:00"):
        assert gate.check(phone(D, wall=wall, party="third_party")).allowed
    assert gate.check(phone(D, wall="13:00")).allowed
    assert gate.check(phone(D, wall="14:00", party="unknown")).allowed  # may be the debtor
    assert gate.check(phone(D, wall="15:00")).rules == ("us-ma.phone.personal",)


def test_reg_f_still_applies():
    gate = Gate("us-ma")
    talk = phone(D - timedelta(days=3), outcome="connected_conversation")
    assert gate.check(talk).allowed
    v = gate.check(phone(D))
    assert v.rules == ("us-regf.after-conversation",)
    assert gate.check(phone(D, wall="07:59", channel="sms")).rules == ("us-regf.hours",)
