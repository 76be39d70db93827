"""The contact gate: holds, the blacklist and a pack's rules over one attempt at a time.

The gate keeps the allowed attempts it has seen (plus the history it was given), so a
sequence of checks counts toward caps the way the contacts really happened: a blocked
attempt never counts.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from arrears.compliance.model import Attempt, Consent, Hold, Verdict, normalize_contact
from arrears.compliance.packs import RulePack, load_pack
from arrears.compliance.rules import Context
from arrears.compliance.zones import debtor_clock


class DebtorHistory:
    """One debtor's allowed attempts, ordered by time, searchable by a window."""

    def __init__(self) -> None:
        self._keys: list[tuple[datetime, int]] = []
        self._attempts: list[Attempt] = []

    def add(self, attempt: Attempt) -> None:
        """Keep ``attempt`` (in time order, ties in the order added)."""
        key = (attempt.at, len(self._keys))
        i = bisect.bisect_right(self._keys, key)
        self._keys.insert(i, key)
        self._attempts.insert(i, attempt)

    def near(self, at: datetime, days: int) -> Iterator[Attempt]:
        """Attempts within ``days`` + 1 days of ``at`` either side (the extra day covers
        any difference between UTC and local calendar days)."""
        span = timedelta(days=days + 1)
        lo = bisect.bisect_left(self._keys, (at - span, -1))
        hi = bisect.bisect_right(self._keys, (at + span, len(self._keys) + 1))
        yield from self._attempts[lo:hi]

    def before(self, at: datetime) -> Iterator[Attempt]:
        """Attempts at or before ``at``, latest first (ties: the one added last first)."""
        hi = bisect.bisect_right(self._keys, (at, len(self._keys) + 1))
        yield from reversed(self._attempts[:hi])


_EMPTY: Mapping[str, Sequence[Hold]] = {}
_NO_CONSENTS: Mapping[str, Iterable[Consent]] = {}


class Gate:
    """Evaluates attempts against ``pack`` (a RulePack or a pack name), the debtors'
    ``holds`` (keyed by debtor_id), a ``blacklist`` of contact values, a ``history``
    of earlier allowed attempts that count toward caps and the debtors' prior
    ``consents`` on record (keyed by debtor_id; TCPA's rule for autodialled contacts)."""

    def __init__(
        self,
        pack: RulePack | str,
        holds: Mapping[str, Sequence[Hold]] = _EMPTY,
        blacklist: Collection[str] = (),
        history: Iterable[Attempt] = (),
        consents: Mapping[str, Iterable[Consent]] = _NO_CONSENTS,
    ) -> None:
        self.pack = load_pack(pack) if isinstance(pack, str) else pack
        self.holds = {debtor: tuple(hs) for debtor, hs in holds.items()}
        self.blacklist = frozenset(normalize_contact(v) for v in blacklist)
        self.consents = {debtor: tuple(cs) for debtor, cs in consents.items()}
        self._history: dict[str, DebtorHistory] = {}
        for attempt in history:
            self._remember(attempt)

    def _remember(self, attempt: Attempt) -> None:
        self._history.setdefault(attempt.debtor_id, DebtorHistory()).add(attempt)

    def check(self, attempt: Attempt, recipient: str | None = None) -> Verdict:
        """The verdict on ``attempt`` (sent to ``recipient``, a phone number or email,
        when known). Every blocking rule is named, with one reason each; an allowed
        attempt joins the gate's history, so the next check counts it. An attempt that
        names no ``recipient`` of its own is taken to go to ``recipient``."""
        if attempt.recipient is None and recipient is not None:
            attempt = dataclasses.replace(attempt, recipient=recipient)
        recipient = recipient if recipient is not None else attempt.recipient
        rules: list[str] = []
        reasons: list[str] = []
        for hold in self._holds_on(attempt):
            rules.append(hold.rule_id)
            reasons.append(_hold_reason(hold, attempt))
        if recipient is not None and normalize_contact(recipient) in self.blacklist:
            rules.append("blacklist")
            reasons.append(f"{recipient} is on the do-not-use list of contact values")
        ctx = Context(
            debtor_clock(attempt.debtor_tz, self.pack.candidate_zones),
            self._history.get(attempt.debtor_id, DebtorHistory()),
            self.consents.get(attempt.debtor_id, ()),
        )
        for rule in self.pack.rules:
            if rule.applies(attempt):
                reason = rule.blocks(attempt, ctx)
                if reason is not None:
                    rules.append(rule.id)
                    reasons.append(reason)
        allowed = not rules
        if allowed:
            self._remember(attempt)
        # Two holds of one kind are one rule: keep the first reason for each rule id.
        first = dict(zip(reversed(rules), reversed(reasons), strict=True))
        ordered = tuple(dict.fromkeys(rules))
        return Verdict(attempt.attempt_id, allowed, ordered, tuple(first[r] for r in ordered))

    def evaluate(self, attempts: Iterable[Attempt]) -> list[Verdict]:
        """Verdicts on ``attempts`` checked one after another, in the order given."""
        return [self.check(a) for a in attempts]

    def _holds_on(self, attempt: Attempt) -> Iterator[Hold]:
        for hold in self.holds.get(attempt.debtor_id, ()):
            if hold.channel is not None and hold.channel != attempt.channel:
                continue
            # The validation notice is a letter: a pending notice holds everything else.
            if hold.kind == "validation_pending" and attempt.channel == "letter":
                continue
            # A hold on one debt stops contact about that debt; a contact that names no
            # debt may be about it, so it is stopped too.
            if hold.debt_id is not None and attempt.debt_id not in (None, hold.debt_id):
                continue
            # Likewise a hold on one number or address stops contact that may go to it.
            key = attempt.recipient_key
            if hold.recipient and key is not None and normalize_contact(hold.recipient) != key:
                continue
            yield hold


_HOLD_WORDS = {
    "dispute": "the debt is disputed",
    "hardship": "the debtor is on a hardship arrangement",
    "bankruptcy": "the debtor is in bankruptcy",
    "deceased": "the debtor is deceased",
    "legal_hold": "a legal hold is in place",
    "do_not_contact": "the debtor asked not to be contacted",
    "consent_withdrawn": "the debtor withdrew consent",
    "validation_pending": "the validation notice has not been sent yet",
}


def _hold_reason(hold: Hold, attempt: Attempt) -> str:
    scope = f"debt {hold.debt_id}" if hold.debt_id else "all debts"
    channel = f"by {hold.channel}" if hold.channel else "on every channel"
    if hold.recipient:
        channel += f" to {hold.recipient}"
    why = f": {hold.reason}" if hold.reason else ""
    return (
        f"{hold.kind.replace('_', '-')} hold ({_HOLD_WORDS[hold.kind]}) stops contact {channel}"
        f" for {scope}; {attempt.channel} blocked{why}"
    )
