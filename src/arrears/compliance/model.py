"""The values the compliance gate reads and returns: attempts, holds, verdicts, findings.

All frozen: a verdict is evidence ("why was this debtor not called?") and must not
change after it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arrears.domain.contact import CHANNELS, HOLD_KINDS, OUTCOMES, PARTIES
from arrears.domain.errors import DomainError

RECIPIENT_TYPES = ("personal", "work")
# How a call or text was placed: by hand, by an autodialer (the strategy's dialer list,
# bulk texts) or by an AI voice. TCPA's prior-consent rule covers the last two.
DIALINGS = ("manual", "autodialer", "ai_voice")


class ComplianceError(DomainError):
    """Bad input to the compliance gate (an attempt, a hold, a rule pack); the message
    says which value and why."""


def _one_of(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ComplianceError(f"{field} {value!r} is not one of {', '.join(allowed)}")


def normalize_contact(value: str) -> str:
    """A phone number or email in the form contact values are compared in: emails
    lowercased, phone numbers without spaces, dashes, dots or brackets."""
    text = value.strip()
    if "@" in text:
        return text.lower()
    return "".join(ch for ch in text if ch not in " -.()\u00a0")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One proposed (or made) contact with a debtor, or with someone about the debtor.

    ``at`` must be timezone-aware. ``debtor_tz`` is the IANA zone of the debtor's
    location; None or a name that is not a zone means "unknown" and the pack's
    strictest window applies. ``debt_id`` None means the contact may concern any debt
    of the debtor. ``outcome`` is known only after the contact was made.

    ``recipient`` is the phone number, email or address contacted (None: not known, so
    it may be any of them); ``recipient_type`` says whether it is the person's
    ``personal`` or ``work`` number; ``agents`` is the number of collectors on a visit.
    ``dialing`` says how a call or text is placed (``manual``, ``autodialer`` or
    ``ai_voice``; None: not stated, and rules about autodialling do not look at it)."""

    attempt_id: str
    debtor_id: str
    debt_id: str | None
    channel: str
    at: datetime
    debtor_tz: str | None
    party: str = "debtor"
    outcome: str | None = None
    recipient: str | None = None
    recipient_type: str = "personal"
    agents: int = 1
    dialing: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ComplianceError(
                f"attempt {self.attempt_id}: 'at' {self.at.isoformat()} has no time zone"
            )
        _one_of(f"attempt {self.attempt_id}: channel", self.channel, CHANNELS)
        _one_of(f"attempt {self.attempt_id}: party", self.party, PARTIES)
        if self.outcome is not None:
            _one_of(f"attempt {self.attempt_id}: outcome", self.outcome, OUTCOMES)
        _one_of(f"attempt {self.attempt_id}: recipient_type", self.recipient_type, RECIPIENT_TYPES)
        if self.dialing is not None:
            _one_of(f"attempt {self.attempt_id}: dialing", self.dialing, DIALINGS)
        if not isinstance(self.agents, int) or isinstance(self.agents, bool) or self.agents < 1:
            raise ComplianceError(
                f"attempt {self.attempt_id}: agents {self.agents!r} is not a whole number >= 1"
            )

    @property
    def recipient_key(self) -> str | None:
        """``recipient`` in the form contact values are compared in (None: unknown)."""
        return normalize_contact(self.recipient) if self.recipient else None


@dataclass(frozen=True, slots=True)
class Hold:
    """A reason not to contact a debtor. ``channel`` None = every channel; ``debt_id``
    None = every debt of the debtor; ``recipient`` None = every phone number, email or
    address (an opt-out names the one it came from)."""

    kind: str
    channel: str | None = None
    debt_id: str | None = None
    reason: str = ""
    recipient: str | None = None

    def __post_init__(self) -> None:
        _one_of("hold kind", self.kind, HOLD_KINDS)
        if self.channel is not None:
            _one_of("hold channel", self.channel, CHANNELS)

    @property
    def rule_id(self) -> str:
        """``hold.<kind>`` or ``hold.<kind>.<channel>`` for a one-channel hold."""
        return f"hold.{self.kind}" if self.channel is None else f"hold.{self.kind}.{self.channel}"


@dataclass(frozen=True, slots=True)
class Consent:
    """A debtor's prior consent on record (the consent ledger): to ``channel`` (None:
    calls and texts alike) at ``recipient`` (None: every number of the debtor's)."""

    recipient: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.channel is not None:
            _one_of("consent channel", self.channel, CHANNELS)

    def covers(self, attempt: Attempt) -> bool:
        """Whether this consent is for ``attempt``'s channel and number (an attempt that
        names no number is covered only by a consent for every number)."""
        if self.channel is not None and self.channel != attempt.channel:
            return False
        if self.recipient is None:
            return True
        return attempt.recipient_key == normalize_contact(self.recipient)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer on one attempt. ``rules`` names every rule that blocked it (in
    the order holds, blacklist, pack rules), ``reasons`` holds one sentence per rule."""

    attempt_id: str
    allowed: bool
    rules: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem the template linter found: the rule, the phrase as written (or the
    missing disclosure), a message, and where it is in the text (``start``/``end``
    are character offsets; both 0 for a missing disclosure)."""

    rule: str
    phrase: str
    message: str
    start: int
    end: int
