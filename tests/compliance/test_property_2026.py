"""Properties of the issue-26 rules, each rule alone in a pack so that every block is its
own: on any generated sequence of attempts (in time order, as `compliance check` reads
them), the allowed attempts that count never exceed the cap in any window of local days,
and an attempt is blocked only when the window ending on its day was already full. The
third-party rules: allowed exactly when the debtor was unreachable / nobody with that
recipient had refused. The oracles here are written from the issue's words, not from
the rule code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from compliance_helpers import utc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.compliance import Attempt, Gate, RulePack, load_pack
from arrears.compliance.gate import normalize_contact
from arrears.compliance.zones import debtor_clock

NUMBERS = ["+86 138-0000-0001", "+8613800000001", "+86 138-0000-0002", "+1 617 555 0100", None]


def alone(pack_name: str, rule_id: str) -> RulePack:
    """The shipped pack with only ``rule_id`` (same zones)."""
    pack = load_pack(pack_name)
    rule = next(r for r in pack.rules if r.id == rule_id)
    return replace(pack, rules=(rule,), disclosures=())


@dataclass(frozen=True)
class Cap:
    pack: str
    rule_id: str
    limit: int
    days: int
    span_days: int  # how far the generated attempts spread
    applies: Callable[[Attempt], bool]
    counts: Callable[[Attempt], bool]
    key: Callable[[Attempt], str | None]  # the scope: None = may be any


def _recipient(a: Attempt) -> str | None:
    return normalize_contact(a.recipient) if a.recipient else None


def _ma(kind: str) -> Callable[[Attempt], bool]:
    return lambda a: (
        a.channel in ("call", "sms") and a.recipient_type == kind and a.party != "third_party"
    )


CAPS = [
    Cap(
        "cn-2026",
        "cn-2026.dials.daily",
        6,
        1,
        3,
        applies=lambda a: a.channel == "call",
        counts=lambda a: a.channel == "call" and a.outcome != "connected_conversation",
        key=_recipient,
    ),
    Cap(
        "cn-2026",
        "cn-2026.conversations.daily",
        3,
        1,
        3,
        applies=lambda a: a.channel == "call",
        counts=lambda a: a.channel == "call" and a.outcome == "connected_conversation",
        key=lambda a: "the debtor",
    ),
    Cap(
        "us-ma",
        "us-ma.phone.personal",
        2,
        7,
        24,
        _ma("personal"),
        _ma("personal"),
        lambda a: a.debt_id,
    ),
    Cap("us-ma", "us-ma.phone.work", 2, 30, 80, _ma("work"), _ma("work"), lambda a: a.debt_id),
]


def _attempts(draw, span_days: int, tz_choices: list[str | None], n: int) -> list[Attempt]:
    tz = draw(st.sampled_from(tz_choices))
    out = []
    for i in range(n):
        out.append(
            Attempt(
                attempt_id=f"a{i}",
                debtor_id="d1",
                debt_id=draw(st.sampled_from(["L1", "L2", None])),
                channel=draw(st.sampled_from(["call", "call", "call", "sms", "email"])),
                at=START + timedelta(minutes=draw(st.integers(0, span_days * 24 * 60))),
                debtor_tz=tz,
                party=draw(st.sampled_from(["debtor", "debtor", "unknown", "third_party"])),
                outcome=draw(
                    st.sampled_from(
                        [None, "no_answer", "busy", "failed", "connected_conversation", "refused"]
                    )
                ),
                recipient=draw(st.sampled_from(NUMBERS)),
                recipient_type=draw(st.sampled_from(["personal", "personal", "work"])),
            )
        )
    return sorted(out, key=lambda a: a.at)


START = utc("2026-03-01 00:00")  # the US spring-forward of 8 March is inside the spans


def _groups(cap: Cap, members: list[Attempt], values: set[str | None]) -> list[list[Attempt]]:
    """``members`` split by scope: for each concrete value, those with it or with none;
    with no concrete value at all, the one group of everything."""
    concrete = sorted(v for v in values if v is not None)
    if not concrete:
        return [members]
    return [[a for a in members if cap.key(a) in (v, None)] for v in concrete]


def _window_counts(cap: Cap, clock, group: list[Attempt], day_of: date, zone: str) -> int:
    first = day_of - timedelta(days=cap.days - 1)
    return sum(1 for a in group if first <= clock.local_date(a.at, zone) <= day_of)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_count_rules_never_exceed_their_cap_and_block_only_when_full(data):
    cap = data.draw(st.sampled_from(CAPS))
    pack = alone(cap.pack, cap.rule_id)
    tz_choices = ["Asia/Shanghai", None] if cap.pack == "cn-2026" else ["America/New_York", None]
    n = data.draw(st.integers(1, 45))
    attempts = _attempts(data.draw, cap.span_days, tz_choices, n)
    gate = Gate(pack)
    clock = debtor_clock(attempts[0].debtor_tz, pack.candidate_zones)
    allowed: list[Attempt] = []
    for a in attempts:
        verdict = gate.check(a)
        counted = [e for e in allowed if cap.counts(e)]
        if not cap.applies(a):
            assert verdict.allowed, (a, verdict)
        else:
            # the groups this attempt must fit in: its own scope value, or every one
            if cap.key(a) is not None:
                mine = [e for e in counted if cap.key(e) in (cap.key(a), None)]
                groups = [mine]
            else:
                groups = _groups(cap, counted, {cap.key(e) for e in counted})
            full = any(
                _window_counts(cap, clock, g, clock.local_date(a.at, z), z) >= cap.limit
                for g in groups
                for z in clock.zones
            )
            assert verdict.allowed is (not full), (cap.rule_id, a, verdict, len(allowed))
            if not verdict.allowed:
                assert verdict.rules == (cap.rule_id,)
        if verdict.allowed:
            allowed.append(a)
    # no window of `days` local days, in any zone, holds more than the limit
    counted = [e for e in allowed if cap.counts(e)]
    for g in _groups(cap, counted, {cap.key(e) for e in counted}):
        for z in clock.zones:
            for a in g:
                for offset in range(cap.days):
                    last = clock.local_date(a.at, z) + timedelta(days=offset)
                    assert _window_counts(cap, clock, g, last, z) <= cap.limit


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_third_parties_only_while_the_debtor_is_unreachable(data):
    pack = alone("cn-2026", "cn-2026.third_party.unreachable")
    attempts = _attempts(data.draw, 3, ["Asia/Shanghai"], data.draw(st.integers(1, 40)))
    gate = Gate(pack)
    allowed: list[Attempt] = []
    for a in attempts:
        verdict = gate.check(a)
        if a.party == "debtor":
            assert verdict.allowed
        else:
            last3 = [e for e in allowed if e.channel == "call" and e.party == "debtor"][-3:]
            unreachable = len(last3) == 3 and all(
                e.outcome in ("failed", "no_answer", "busy") for e in last3
            )
            assert verdict.allowed is unreachable, (a, last3, verdict)
        if verdict.allowed:
            allowed.append(a)


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_nobody_who_refused_is_contacted_again(data):
    pack = alone("cn-2026", "cn-2026.third_party.refused")
    attempts = _attempts(data.draw, 3, ["Asia/Shanghai"], data.draw(st.integers(1, 40)))
    gate = Gate(pack)
    allowed: list[Attempt] = []
    for a in attempts:
        verdict = gate.check(a)
        refusals = [
            e for e in allowed if e.party in ("third_party", "unknown") and e.outcome == "refused"
        ]
        if _recipient(a) is None:
            # may be any of them: blocked if it is a third-party contact and anyone refused
            hit = a.party != "debtor" and bool(refusals)
        else:
            hit = any(
                _recipient(e) == _recipient(a) or (_recipient(e) is None and a.party != "debtor")
                for e in refusals
            )
        assert verdict.allowed is (not hit), (a, refusals, verdict)
        if verdict.allowed:
            allowed.append(a)
