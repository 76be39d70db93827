"""Rule kinds: the Python behind a rule pack's ``[[rules]]`` tables, keyed by ``kind``.

A pack (TOML) names a kind and its parameters; the kind is registered here with
``register_rule_kind``. Each rule answers one question for one attempt: does it block
it, and if so, in which words (a sentence naming the numbers)? Local-time rules are
evaluated in every zone of the debtor's clock and block if any zone blocks.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from arrears.compliance.model import (
    CHANNELS,
    DIALINGS,
    OUTCOMES,
    RECIPIENT_TYPES,
    Attempt,
    ComplianceError,
    Consent,
    normalize_contact,
)
from arrears.compliance.rule_params import RuleParams
from arrears.compliance.zones import DebtorClock
from arrears.domain.contact import PARTIES


class History(Protocol):
    """Earlier allowed attempts of one debtor, as the gate keeps them."""

    def near(self, at: datetime, days: int) -> Iterable[Attempt]:
        """Allowed attempts within ``days`` (+1 for zone offsets) of ``at``, either side."""
        ...

    def before(self, at: datetime) -> Iterable[Attempt]:
        """Allowed attempts at or before ``at``, latest first."""
        ...


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may look at besides the attempt: the debtor's clock and history, and
    the prior consents on record for the debtor (the consent ledger)."""

    clock: DebtorClock
    history: History
    consents: tuple[Consent, ...] = ()


@dataclass(frozen=True)
class Rule(ABC):
    """One rule of a pack. ``channels``/``parties`` say which attempts it applies to."""

    id: str
    title: str
    source: str
    channels: frozenset[str]
    parties: frozenset[str]

    def applies(self, attempt: Attempt) -> bool:
        """Whether this rule looks at ``attempt`` at all."""
        return attempt.channel in self.channels and attempt.party in self.parties

    @abstractmethod
    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        """None when the rule allows ``attempt``, else the reason it is blocked."""

    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """The rule's parameters, for listings and docs."""


RuleFactory = Callable[[str, Mapping[str, Any], str], Rule]
RULE_KINDS: dict[str, RuleFactory] = {}


def register_rule_kind(kind: str) -> Callable[[RuleFactory], RuleFactory]:
    """Make ``kind`` usable in pack files; the factory gets (rule id, table, where)."""

    def add(factory: RuleFactory) -> RuleFactory:
        RULE_KINDS[kind] = factory
        return factory

    return add


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _zones_note(clock: DebtorClock) -> str:
    return "" if clock.known else f" ({clock.describe_unknown()}: {', '.join(clock.zones)})"


def _sorted(values: frozenset[str]) -> list[str]:
    return sorted(values)


@dataclass(frozen=True)
class ContactHours(Rule):
    """Contact only between ``start`` and ``end`` (both included, to the second; with
    ``end_included`` False, up to the second before ``end``) on the debtor's wall clock;
    with an unknown zone, inside the window in every candidate."""

    start: time = time(8)
    end: time = time(21)
    end_included: bool = True

    def _inside(self, local: datetime) -> bool:
        wall = local.time().replace(tzinfo=None)
        if self.end_included:
            return self.start <= wall <= self.end
        return self.start <= wall < self.end

    def window(self) -> str:
        """The window in words: "08:00–21:00" or "08:00 to before 22:00"."""
        if self.end_included:
            return f"{_hhmm(self.start)}–{_hhmm(self.end)}"
        return f"{_hhmm(self.start)} to before {_hhmm(self.end)}"

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        outside = [
            ctx.clock.local(attempt.at, z)
            for z in ctx.clock.zones
            if not self._inside(ctx.clock.local(attempt.at, z))
        ]
        if not outside:
            return None
        window = self.window()
        first = outside[0]
        zone_name = str(first.tzinfo)
        if ctx.clock.known:
            return f"{attempt.channel} at {first:%H:%M} {zone_name} is outside {window}"
        return (
            f"{attempt.channel} at {first:%H:%M} {zone_name} is outside {window}"
            f"{_zones_note(ctx.clock)}"
        )

    def next_opening(self, at: datetime, clock: DebtorClock) -> datetime | None:
        """The earliest instant at or after ``at`` inside the window in every zone of
        ``clock`` (for deferring a contact instead of dropping it); None when the
        zones' windows never overlap."""
        moments = {at}
        for z in clock.zones:
            day = clock.local_date(at, z)
            tz = clock.local(at, z).tzinfo
            for offset in range(-1, 3):
                opening = datetime.combine(day + timedelta(days=offset), self.start, tz)
                moments.add(opening.astimezone(at.tzinfo))
        for moment in sorted(m for m in moments if m >= at):
            if all(self._inside(clock.local(moment, z)) for z in clock.zones):
                return moment
        return None

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": _hhmm(self.start), "end": _hhmm(self.end)}
        if not self.end_included:
            out["end_included"] = False
        out.update(channels=_sorted(self.channels), parties=_sorted(self.parties))
        return out


@register_rule_kind("hours")
def _hours(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    end_included = p.get("end_included", True)
    if not isinstance(end_included, bool):
        raise p.fail("end_included", f"must be true or false, got {end_included!r}")
    rule = ContactHours(
        **p.common(),
        start=p.clock_time("start"),
        end=p.clock_time("end"),
        end_included=end_included,
    )
    p.done()
    if rule.start >= rule.end:
        raise p.fail("end", "must be later than start")
    return rule


@dataclass(frozen=True)
class NoThirdParty(Rule):
    """No collection contact with anyone but the debtor: the rule applies to the
    parties it lists (third_party, and in strict packs unknown) and always blocks."""

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        if attempt.party == "unknown":
            return (
                f"{attempt.channel} to a recipient not verified as the debtor: "
                "contact with third parties is not allowed"
            )
        return f"{attempt.channel} to a third party: contact with third parties is not allowed"

    def parameters(self) -> dict[str, Any]:
        return {"channels": _sorted(self.channels), "parties": _sorted(self.parties)}


@register_rule_kind("third_party")
def _third_party(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = NoThirdParty(**p.common(default_parties=("third_party",)))
    p.done()
    if "debtor" in rule.parties:
        raise p.fail("parties", "'debtor' cannot be a third party")
    return rule


def _same_debt(attempt: Attempt, earlier: Attempt) -> bool:
    # No debt on either side: the contact may be about any debt, so it counts for all.
    return attempt.debt_id is None or earlier.debt_id is None or attempt.debt_id == earlier.debt_id


def masked(recipient: str) -> str:
    """A contact value as a reason may show it to anyone who reads the contact log: a
    phone number's last 4 digits, an email's first letter and domain, an address's first
    6 characters."""
    value = normalize_contact(recipient)
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    if any(ch.isdigit() for ch in value) and sum(ch.isdigit() for ch in value) >= 7:
        return f"***{value[-4:]}"
    return f"{recipient.strip()[:6]}***"


def _same_recipient(attempt: Attempt, earlier: Attempt) -> bool:
    # No recipient on either side: it may have been this one, so it counts.
    mine, theirs = attempt.recipient_key, earlier.recipient_key
    return mine is None or theirs is None or mine == theirs


_SCOPE_KEY: dict[str, Callable[[Attempt], str | None]] = {
    "debt": lambda a: a.debt_id,
    "recipient": lambda a: a.recipient_key,
}
_SAME: dict[str, Callable[[Attempt, Attempt], bool]] = {
    "debtor": lambda a, e: True,
    "debt": _same_debt,
    "recipient": _same_recipient,
}


def _scope_words(scope: str, attempt: Attempt) -> str:
    if scope == "debt":
        if attempt.debt_id is not None:
            return f"on debt {attempt.debt_id}"
        return "on a debt this contact (naming no debt) may concern"
    if scope == "recipient":
        if attempt.recipient is not None:
            return f"to {masked(attempt.recipient)}"
        return "to a recipient this contact (naming none) may go to"
    return "with this debtor"


def _days_words(first: date, days: int) -> str:
    if days == 1:
        return f"on {first.isoformat()}"
    last = first + timedelta(days=days - 1)
    return f"in the {days} consecutive days {first.isoformat()}–{last.isoformat()}"


@dataclass(frozen=True)
class ContactCap(Rule):
    """At most ``limit`` allowed attempts on the rule's channels within any ``days``
    consecutive calendar days of the debtor's local time, per debtor, per debt or per
    recipient. Attempts whose outcome is in ``uncounted_outcomes`` do not count (Reg F
    excludes calls that did not connect); with ``counted_outcomes``, only attempts
    with one of those outcomes count (conversations). Only attempts to recipients of
    ``recipient_types`` are capped and counted (Massachusetts counts personal and
    work numbers apart)."""

    limit: int = 1
    days: int = 1
    scope: str = "debtor"
    uncounted_outcomes: frozenset[str] = field(default_factory=frozenset)
    counted_outcomes: frozenset[str] | None = None
    recipient_types: frozenset[str] = frozenset(RECIPIENT_TYPES)

    def applies(self, attempt: Attempt) -> bool:
        return super().applies(attempt) and attempt.recipient_type in self.recipient_types

    def _counted(self, attempt: Attempt, earlier: Attempt) -> bool:
        return (
            earlier.attempt_id != attempt.attempt_id
            and earlier.channel in self.channels
            and earlier.party in self.parties
            and earlier.recipient_type in self.recipient_types
            and earlier.outcome not in self.uncounted_outcomes
            and (self.counted_outcomes is None or earlier.outcome in self.counted_outcomes)
            and _SAME[self.scope](attempt, earlier)
        )

    def _groups(self, attempt: Attempt, earlier: list[Attempt]) -> list[list[Attempt]]:
        # A per-debt (per-recipient) cap and an attempt naming no debt (recipient): it may
        # be about any debt, so it must fit in each debt's count (each counting the other
        # attempts that name none too).
        key = _SCOPE_KEY.get(self.scope)
        if key is None or key(attempt) is not None:
            return [earlier]
        values = dict.fromkeys(key(e) for e in earlier if key(e) is not None)
        groups = [[e for e in earlier if key(e) in (value, None)] for value in values]
        return groups or [earlier]

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        earlier = [e for e in ctx.history.near(attempt.at, self.days) if self._counted(attempt, e)]
        for z, group in itertools.product(ctx.clock.zones, self._groups(attempt, earlier)):
            day = ctx.clock.local_date(attempt.at, z)
            dates = [ctx.clock.local_date(e.at, z) for e in group]
            # Every window of `days` consecutive days that contains this day must stay
            # within the limit once this attempt is added (history may hold later days).
            for offset in range(self.days):
                first = day - timedelta(days=self.days - 1 - offset)
                last = first + timedelta(days=self.days - 1)
                count = sum(1 for d in dates if first <= d <= last)
                if count + 1 > self.limit:
                    scope = _scope_words(self.scope, attempt)
                    return (
                        f"{count} {self._what()} already made {scope}"
                        f" {_days_words(first, self.days)} ({z}); the limit is {self.limit}"
                        f" per {self.scope} in {self._period()}{_zones_note(ctx.clock)}"
                    )
        return None

    def _what(self) -> str:
        what = "/".join(_sorted(self.channels)) + " attempt(s)"
        if self.recipient_types != frozenset(RECIPIENT_TYPES):
            what = f"{what} to {'/'.join(_sorted(self.recipient_types))} recipients"
        if self.counted_outcomes is not None:
            return f"{what} ending {'/'.join(_sorted(self.counted_outcomes))}"
        if self.uncounted_outcomes and len(self.uncounted_outcomes) == 1:
            return f"{what} not ending {next(iter(self.uncounted_outcomes))}"
        return what

    def _period(self) -> str:
        return "a day" if self.days == 1 else f"{self.days} consecutive days"

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "limit": self.limit,
            "days": self.days,
            "scope": self.scope,
            "channels": _sorted(self.channels),
            "parties": _sorted(self.parties),
        }
        if self.uncounted_outcomes:
            out["uncounted_outcomes"] = _sorted(self.uncounted_outcomes)
        if self.counted_outcomes is not None:
            out["counted_outcomes"] = _sorted(self.counted_outcomes)
        if self.recipient_types != frozenset(RECIPIENT_TYPES):
            out["recipient_types"] = _sorted(self.recipient_types)
        return out


def _scope(p: RuleParams, allowed: tuple[str, ...] = ("debtor", "debt")) -> str:
    scope = p.get("scope", "debtor")
    if scope not in allowed:
        raise p.fail("scope", f"{scope!r} is not one of {', '.join(allowed)}")
    return str(scope)


@register_rule_kind("cap")
def _cap(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = ContactCap(
        **p.common(default_parties=("debtor", "unknown")),
        limit=p.integer("limit"),
        days=p.integer("days", 1),
        scope=_scope(p, ("debtor", "debt", "recipient")),
        uncounted_outcomes=(
            p.names("uncounted_outcomes", OUTCOMES, OUTCOMES)
            if "uncounted_outcomes" in table
            else frozenset()
        ),
        counted_outcomes=(
            p.names("counted_outcomes", OUTCOMES, OUTCOMES) if "counted_outcomes" in table else None
        ),
        recipient_types=p.names("recipient_types", RECIPIENT_TYPES, RECIPIENT_TYPES),
    )
    p.done()
    if rule.counted_outcomes is not None and rule.uncounted_outcomes:
        raise p.fail("counted_outcomes", "give counted_outcomes or uncounted_outcomes, not both")
    return rule


@dataclass(frozen=True)
class QuietAfterConversation(Rule):
    """No attempt on the rule's channels within ``days`` consecutive days after a
    conversation (an allowed attempt with a trigger outcome on a trigger channel),
    the day of the conversation counting as day 1 (Reg F 1006.14(b)(2)(i)(B))."""

    days: int = 7
    scope: str = "debt"
    trigger_channels: frozenset[str] = frozenset({"call"})
    trigger_outcomes: frozenset[str] = frozenset({"connected_conversation"})

    def _trigger(self, attempt: Attempt, earlier: Attempt) -> bool:
        return (
            earlier.attempt_id != attempt.attempt_id
            and earlier.at <= attempt.at
            and earlier.channel in self.trigger_channels
            and earlier.outcome in self.trigger_outcomes
            and earlier.party in self.parties
            and (self.scope == "debtor" or _same_debt(attempt, earlier))
        )

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        talks = [e for e in ctx.history.near(attempt.at, self.days) if self._trigger(attempt, e)]
        for z in ctx.clock.zones:
            day = ctx.clock.local_date(attempt.at, z)
            for talk in talks:
                talked = ctx.clock.local_date(talk.at, z)
                if 0 <= (day - talked).days < self.days:
                    last = talked + timedelta(days=self.days - 1)
                    return (
                        f"conversation {_scope_words(self.scope, attempt)} on {talked.isoformat()}"
                        f" ({z}) starts a {self.days}-day quiet period through"
                        f" {last.isoformat()}; no {attempt.channel} before"
                        f" {(last + timedelta(days=1)).isoformat()}{_zones_note(ctx.clock)}"
                    )
        return None

    def parameters(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "scope": self.scope,
            "channels": _sorted(self.channels),
            "parties": _sorted(self.parties),
            "trigger_channels": _sorted(self.trigger_channels),
            "trigger_outcomes": _sorted(self.trigger_outcomes),
        }


@register_rule_kind("quiet_after_conversation")
def _quiet(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = QuietAfterConversation(
        **p.common(default_parties=("debtor", "unknown")),
        days=p.integer("days", 7),
        scope=_scope(p) if "scope" in table else "debt",
        trigger_channels=p.names("trigger_channels", CHANNELS, ("call",)),
        trigger_outcomes=p.names("trigger_outcomes", OUTCOMES, ("connected_conversation",)),
    )
    p.done()
    return rule


def _when(attempt: Attempt, clock: DebtorClock) -> str:
    local = clock.local(attempt.at, clock.zones[0])
    return f"{local:%Y-%m-%d %H:%M} {local.tzinfo}"


@dataclass(frozen=True)
class ThirdPartyWhenUnreachable(Rule):
    """Contact with a third party (the parties the rule lists) only while the debtor is
    unreachable: the debtor's ``calls`` most recent allowed calls (party ``debtor``, at
    or before the attempt) all ended in one of ``failure_outcomes``. A later call that
    ended otherwise (e.g. connected) makes the debtor reachable again."""

    calls: int = 3
    failure_outcomes: frozenset[str] = frozenset({"failed", "no_answer", "busy"})

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        recent: list[Attempt] = []
        for earlier in ctx.history.before(attempt.at):
            if (
                earlier.attempt_id != attempt.attempt_id
                and earlier.channel == "call"
                and earlier.party == "debtor"
            ):
                recent.append(earlier)
                if len(recent) == self.calls:
                    break
        failures = "/".join(_sorted(self.failure_outcomes))
        rule = (
            f"contact with a third party is allowed only when the debtor's {self.calls} most"
            f" recent calls all ended {failures}"
        )
        who = (
            "a recipient not verified as the debtor"
            if attempt.party == "unknown"
            else ("a third party")
        )
        if len(recent) < self.calls:
            return (
                f"{attempt.channel} to {who}: {rule}; the debtor has {len(recent)} call(s)"
                " on record"
            )
        reached = [e for e in recent if e.outcome not in self.failure_outcomes]
        if not reached:
            return None
        last = reached[0]
        return (
            f"{attempt.channel} to {who}: {rule}; the call of {_when(last, ctx.clock)}"
            f" ended {last.outcome or 'without an outcome'}"
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failure_outcomes": _sorted(self.failure_outcomes),
            "channels": _sorted(self.channels),
            "parties": _sorted(self.parties),
        }


@register_rule_kind("third_party_unreachable")
def _third_party_unreachable(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = ThirdPartyWhenUnreachable(
        **p.common(default_parties=("third_party", "unknown")),
        calls=p.integer("calls", 3),
        failure_outcomes=p.names("failure_outcomes", OUTCOMES, ("failed", "no_answer", "busy")),
    )
    p.done()
    if "debtor" in rule.parties:
        raise p.fail("parties", "'debtor' cannot be a third party")
    return rule


@dataclass(frozen=True)
class RefusedRecipient(Rule):
    """Once an allowed contact with one of ``refusing_parties`` ended in one of
    ``refusal_outcomes``, every later contact (the rule's channels and parties) to
    that recipient is blocked. A refusal or a contact whose recipient is not known may
    be the same person: it blocks contacts with the refusing parties (never, on its
    own, a contact with the debtor)."""

    refusing_parties: frozenset[str] = frozenset({"third_party", "unknown"})
    refusal_outcomes: frozenset[str] = frozenset({"refused"})

    def _same(self, attempt: Attempt, refusal: Attempt) -> bool:
        mine, theirs = attempt.recipient_key, refusal.recipient_key
        if mine is not None and theirs is not None:
            return mine == theirs
        return attempt.party in self.refusing_parties

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        for earlier in ctx.history.before(attempt.at):
            if (
                earlier.attempt_id != attempt.attempt_id
                and earlier.party in self.refusing_parties
                and earlier.outcome in self.refusal_outcomes
                and self._same(attempt, earlier)
            ):
                whom = (
                    masked(earlier.recipient)
                    if earlier.recipient
                    else "a recipient whose contact value is not known"
                )
                return (
                    f"{whom} ({earlier.party}) refused on {_when(earlier, ctx.clock)}:"
                    f" no {attempt.channel} or other contact to them again"
                )
        return None

    def parameters(self) -> dict[str, Any]:
        return {
            "refusing_parties": _sorted(self.refusing_parties),
            "refusal_outcomes": _sorted(self.refusal_outcomes),
            "channels": _sorted(self.channels),
            "parties": _sorted(self.parties),
        }


@register_rule_kind("refused_recipient")
def _refused_recipient(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = RefusedRecipient(
        **p.common(),
        refusing_parties=p.names("refusing_parties", PARTIES, ("third_party", "unknown")),
        refusal_outcomes=p.names("refusal_outcomes", OUTCOMES, ("refused",)),
    )
    p.done()
    return rule


@dataclass(frozen=True)
class MinimumAgents(Rule):
    """A contact on the rule's channels (a field visit) needs at least ``minimum``
    collectors (``Attempt.agents``)."""

    minimum: int = 2

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        if attempt.agents >= self.minimum:
            return None
        return (
            f"{attempt.channel} with {attempt.agents} collector(s): at least {self.minimum}"
            " are required"
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "minimum": self.minimum,
            "channels": _sorted(self.channels),
            "parties": _sorted(self.parties),
        }


@register_rule_kind("agents")
def _agents(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = MinimumAgents(**p.common(), minimum=p.integer("minimum", 2))
    p.done()
    return rule


@dataclass(frozen=True)
class PriorConsent(Rule):
    """A call or text placed by one of ``dialings`` (an autodialer, an AI voice) needs
    the prior consent of the person called, for that number, on record (TCPA, 47
    U.S.C. 227(b)(1)(A)). A manual call or text, and an attempt that does not say how it
    is placed, are not this rule's business; a revoked consent is an opt-out, which
    places a hold."""

    dialings: frozenset[str] = frozenset({"autodialer", "ai_voice"})

    def applies(self, attempt: Attempt) -> bool:
        return super().applies(attempt) and attempt.dialing in self.dialings

    def blocks(self, attempt: Attempt, ctx: Context) -> str | None:
        if any(c.covers(attempt) for c in ctx.consents):
            return None
        how = str(attempt.dialing).replace("_", "-")
        if attempt.recipient is None:
            return (
                f"{how} {attempt.channel} to a number this contact (naming none) may go to:"
                " no prior consent to every number of the debtor's is on record"
            )
        return (
            f"{how} {attempt.channel} to {masked(attempt.recipient)}: no prior consent for"
            f" that number to {attempt.channel}s is on record"
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "dialings": _sorted(self.dialings),
            "channels": _sorted(self.channels),
            "parties": _sorted(self.parties),
        }


@register_rule_kind("prior_consent")
def _prior_consent(rule_id: str, table: Mapping[str, Any], where: str) -> Rule:
    p = RuleParams(rule_id, table, where)
    rule = PriorConsent(
        **p.common(default_parties=PARTIES),
        dialings=p.names("dialings", DIALINGS, ("autodialer", "ai_voice")),
    )
    p.done()
    if "manual" in rule.dialings:
        raise p.fail("dialings", "TCPA's consent rule is about autodialled and AI-voice contacts")
    return rule


def build_rule(table: Mapping[str, Any], where: str) -> Rule:
    """The rule a ``[[rules]]`` table describes; errors name ``where`` and the key."""
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ComplianceError(f"{where}: a rule has no 'id'")
    kind = table.get("kind")
    if kind not in RULE_KINDS:
        known = ", ".join(sorted(RULE_KINDS))
        raise ComplianceError(f"{where}: rule {rule_id!r}: kind {kind!r} is not one of {known}")
    return RULE_KINDS[kind](rule_id, table, where)
