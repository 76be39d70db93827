"""Property: whatever the sequence of attempts, no debtor ends up with more allowed
attempts than any cap permits in any window of consecutive local days; and a cap
never blocks an attempt that would have fitted."""

from __future__ import annotations

from datetime import date, timedelta

from compliance_helpers import utc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.compliance import Attempt, Gate, load_pack
from arrears.compliance.packs import parse_pack
from arrears.compliance.rules import ContactCap, QuietAfterConversation
from arrears.compliance.zones import debtor_clock

DENSE = parse_pack(
    {
        "name": "dense",
        "candidate_zones": ["Asia/Shanghai", "America/New_York", "Pacific/Honolulu"],
        "rules": [
            {"id": "t.call.day", "kind": "cap", "channels": ["call"], "limit": 2, "days": 1},
            {"id": "t.call.3d", "kind": "cap", "channels": ["call"], "limit": 4, "days": 3},
            {
                "id": "t.any.debt.2d",
                "kind": "cap",
                "channels": ["call", "sms"],
                "limit": 3,
                "days": 2,
                "scope": "debt",
                "uncounted_outcomes": ["busy", "failed"],
            },
            {"id": "t.quiet", "kind": "quiet_after_conversation", "days": 2},
        ],
    },
    "dense (test pack)",
)
PACKS = [DENSE, load_pack("cn"), load_pack("us-regf")]
ZONES = ["Asia/Shanghai", "America/New_York", "America/Los_Angeles", None, "Bad/Zone"]
START = utc("2026-03-01 00:00")  # spans the US spring-forward on 8 March


@st.composite
def scenarios(draw):
    pack = draw(st.sampled_from(PACKS))
    zones = {d: draw(st.sampled_from(ZONES)) for d in ("d1", "d2")}
    n = draw(st.integers(1, 40))
    attempts = []
    for i in range(n):
        debtor = draw(st.sampled_from(["d1", "d2"]))
        attempts.append(
            Attempt(
                attempt_id=f"a{i}",
                debtor_id=debtor,
                debt_id=draw(st.sampled_from(["L1", "L2", None])),
                channel=draw(st.sampled_from(["call", "call", "sms"])),
                at=START + timedelta(minutes=draw(st.integers(0, 12 * 24 * 60))),
                debtor_tz=zones[debtor],
                party=draw(st.sampled_from(["debtor", "debtor", "unknown", "third_party"])),
                outcome=draw(
                    st.sampled_from([None, "no_answer", "busy", "connected_conversation"])
                ),
            )
        )
    ordered = draw(st.booleans())
    if ordered:
        attempts.sort(key=lambda a: a.at)
    return pack, attempts, ordered


def _counted(rule: ContactCap, a: Attempt) -> bool:
    return (
        a.channel in rule.channels
        and a.party in rule.parties
        and a.outcome not in rule.uncounted_outcomes
    )


def _groups(rule: ContactCap, attempts: list[Attempt]) -> list[list[Attempt]]:
    if rule.scope == "debtor":
        return [attempts]
    # An attempt naming no debt counts toward every debt.
    return [[a for a in attempts if a.debt_id in (debt, None)] for debt in ("L1", "L2")]


def _worst_window(dates: list[date], days: int) -> int:
    worst = 0
    for first in dates:
        worst = max(worst, sum(1 for d in dates if first <= d < first + timedelta(days=days)))
    return worst


def _zones(pack, a: Attempt) -> tuple[str, ...]:
    return debtor_clock(a.debtor_tz, pack.candidate_zones).zones


def _over_cap(
    pack, rule: ContactCap, allowed: list[Attempt], proposed: Attempt | None = None
) -> bool:
    """Whether ``allowed`` (plus ``proposed``, which counts whatever its outcome turns
    out to be: the gate decides before the call is made) breaks ``rule`` anywhere."""
    for debtor in ("d1", "d2"):
        mine = [a for a in allowed if a.debtor_id == debtor and _counted(rule, a)]
        if proposed is not None and proposed.debtor_id == debtor:
            mine.append(proposed)
        if not mine:
            continue
        for zone in _zones(pack, mine[0]):
            clock = debtor_clock(zone, ())
            for group in _groups(rule, mine):
                dates = [clock.local_date(a.at, zone) for a in group]
                if _worst_window(dates, rule.days) > rule.limit:
                    return True
    return False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_sequence_lets_a_debtor_exceed_any_cap(scenario):
    pack, attempts, _ = scenario
    gate = Gate(pack)
    allowed = [a for a, v in zip(attempts, gate.evaluate(attempts), strict=True) if v.allowed]
    for rule in pack.rules:
        if isinstance(rule, ContactCap):
            assert not _over_cap(pack, rule, allowed), rule.id


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_a_cap_blocks_only_attempts_that_would_break_it(scenario):
    pack, attempts, _ = scenario
    gate = Gate(pack)
    allowed: list[Attempt] = []
    caps = {r.id: r for r in pack.rules if isinstance(r, ContactCap)}
    for a in attempts:
        v = gate.check(a)
        for rule_id in v.rules:
            if rule_id in caps:
                assert _over_cap(pack, caps[rule_id], allowed, a), rule_id
        if v.allowed:
            allowed.append(a)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_in_time_order_no_call_falls_in_a_quiet_period(scenario):
    pack, attempts, ordered = scenario
    if not ordered:
        attempts = sorted(attempts, key=lambda a: a.at)
    verdicts = Gate(pack).evaluate(attempts)
    allowed = [a for a, v in zip(attempts, verdicts, strict=True) if v.allowed]
    order = {a.attempt_id: i for i, a in enumerate(attempts)}
    for rule in pack.rules:
        if not isinstance(rule, QuietAfterConversation):
            continue
        for talk in allowed:
            if (
                talk.outcome not in rule.trigger_outcomes
                or talk.channel not in rule.trigger_channels
                or talk.party not in rule.parties
            ):
                continue
            for call in allowed:
                if (
                    order[call.attempt_id] <= order[talk.attempt_id]
                    or call.debtor_id != talk.debtor_id
                    or call.at < talk.at
                    or call.channel not in rule.channels
                    or call.party not in rule.parties
                    or not (call.debt_id is None or talk.debt_id in (None, call.debt_id))
                ):
                    continue
                for zone in _zones(pack, call):
                    clock = debtor_clock(zone, ())
                    gap = clock.local_date(call.at, zone) - clock.local_date(talk.at, zone)
                    assert gap.days >= rule.days, (rule.id, talk, call)
