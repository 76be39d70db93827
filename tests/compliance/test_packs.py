"""Rule packs as data: shipped packs, pack files, extending a pack, new rule kinds, and
clear errors for every way a pack file can be wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from compliance_helpers import attempt, local

from arrears.compliance import ComplianceError, Gate, available_packs, load_pack
from arrears.compliance.rules import RULE_KINDS, Context, Rule, register_rule_kind


def pack_file(tmp_path, text, name="pack.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_shipped_packs_and_their_rule_ids():
    assert available_packs() == ["cn", "cn-2026", "us-ma", "us-regf"]
    assert load_pack("us-regf").rule_ids == (
        "us-regf.hours",
        "us-regf.7in7",
        "us-regf.after-conversation",
        "us-regf.tcpa.consent",
    )
    cn = load_pack("cn")
    assert cn.rule_ids[:3] == ("cn.hours", "cn.third_party", "cn.cap.call.daily")
    assert cn.candidate_zones == ("Asia/Shanghai",)
    assert "Pacific/Honolulu" in load_pack("us-regf").candidate_zones
    assert "America/Anchorage" in load_pack("us-regf").candidate_zones


def test_unknown_pack_name_lists_the_packs():
    with pytest.raises(
        ComplianceError,
        match=r"unknown rule pack 'mx'; available packs: cn, cn-2026, us-ma, us-regf",
    ):
        load_pack("mx")


def test_a_pack_extending_cn_overrides_a_cap_and_removes_a_rule(tmp_path):
    path = pack_file(
        tmp_path,
        'name = "cn-lender"\nextends = "cn"\nremove = ["cn.cap.letter.weekly"]\n'
        '[overrides."cn.cap.call.daily"]\nlimit = 2\n'
        '[[rules]]\nid = "lender.cap.call.monthly"\nkind = "cap"\nchannels = ["call"]\n'
        "limit = 40\ndays = 30\n",
    )
    pack = load_pack(path)
    assert pack.name == "cn-lender"
    assert "cn.cap.letter.weekly" not in pack.rule_ids
    assert pack.rule_ids[-1] == "lender.cap.call.monthly"
    gate = Gate(pack)
    sh = "Asia/Shanghai"
    assert gate.check(attempt(local(sh, "2026-07-01 09:00"))).allowed
    assert gate.check(attempt(local(sh, "2026-07-01 10:00"))).allowed
    assert gate.check(attempt(local(sh, "2026-07-01 11:00"))).rules == ("cn.cap.call.daily",)
    # The base pack is unchanged.
    assert Gate("cn").check(attempt(local(sh, "2026-07-01 09:00"))).allowed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\ncandidate_zones = ['Asia/Shanghai'\n", "not valid TOML"),
        ("candidate_zones = ['Asia/Shanghai']\n", "'name' is required"),
        ("name = 'x'\n", "'candidate_zones' must be a non-empty list"),
        (
            "name = 'x'\ncandidate_zones = ['Asia/Beijing']\n",
            "'Asia/Beijing' is not a known IANA zone",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.a'\nkind='curfew'\n",
            "rule 'x.a': kind 'curfew' is not one of agents, cap, hours, prior_consent,"
            " quiet_after_conversation, refused_recipient, third_party, third_party_unreachable",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.a'\nkind='cap'\nchannels=['call']\n",
            "rule 'x.a', key 'limit': is required",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.a'\nkind='cap'\nlimit=0\n",
            "key 'limit': must be a whole number >= 1, got 0",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.a'\nkind='cap'\nlimit=2\nperiod='day'\n",
            "key 'period': is not a parameter of this rule kind",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.a'\nkind='cap'\nlimit=2\nchannels=['fax']\n",
            "key 'channels': 'fax' is not one of",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.h'\nkind='hours'\nstart='21:00'\nend='08:00'\n",
            "key 'end': must be later than start",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.h'\nkind='hours'\nstart='8am'\nend='21:00'\n",
            "key 'start': '8am' is not a time HH:MM",
        ),
        (
            "name='x'\ncandidate_zones=['UTC']\n[[rules]]\nid='x.a'\nkind='third_party'\n"
            "[[rules]]\nid='x.a'\nkind='third_party'\n",
            "rule id 'x.a' is used twice",
        ),
        (
            "name='x'\nextends='cn'\n[overrides.'cn.cap.fax.daily']\nlimit=1\n",
            "rule 'cn.cap.fax.daily' (in overrides/remove) is not in the base pack",
        ),
    ],
)
def test_a_bad_pack_file_names_file_rule_and_key(tmp_path, text, message):
    path = pack_file(tmp_path, text)
    with pytest.raises(ComplianceError) as exc:
        load_pack(path)
    assert message in str(exc.value)
    assert str(exc.value).startswith(path)


def test_circular_extends_is_refused(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(f"name='a'\nextends='{b}'\n", encoding="utf-8")
    b.write_text(f"name='b'\nextends='{a}'\n", encoding="utf-8")
    with pytest.raises(ComplianceError, match="invalid or circular"):
        load_pack(str(a))


@dataclass(frozen=True)
class NoSundayVisits(Rule):
    """A rule kind added by a portfolio: no field visits on Sundays, local time."""

    def blocks(self, attempt: Any, ctx: Context) -> str | None:
        for z in ctx.clock.zones:
            if ctx.clock.local(attempt.at, z).weekday() == 6:
                return f"{attempt.channel} on a Sunday ({z})"
        return None

    def parameters(self) -> dict[str, Any]:
        return {"channels": sorted(self.channels)}


def test_a_new_rule_kind_is_registered_by_id_and_used_from_a_pack_file(tmp_path):
    @register_rule_kind("no_sunday")
    def _factory(rule_id, table, where):
        return NoSundayVisits(
            rule_id, "", "", frozenset(table.get("channels", ["visit"])), frozenset({"debtor"})
        )

    try:
        path = pack_file(
            tmp_path,
            "name='mine'\ncandidate_zones=['Asia/Shanghai']\n"
            "[[rules]]\nid='mine.no-sunday'\nkind='no_sunday'\nchannels=['visit']\n",
        )
        gate = Gate(load_pack(path))
        sunday = gate.check(attempt(local("Asia/Shanghai", "2026-07-05 10:00"), channel="visit"))
        assert sunday.rules == ("mine.no-sunday",)
        assert gate.check(
            attempt(local("Asia/Shanghai", "2026-07-06 10:00"), channel="visit")
        ).allowed
    finally:
        RULE_KINDS.pop("no_sunday")
