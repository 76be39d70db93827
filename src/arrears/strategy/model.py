"""A collection strategy as immutable values: tiers, segments, ladders of steps, arms.

These are what the loader builds from a TOML/YAML document after validating it
(``arrears.strategy.loader``) and what the Ibis evaluation reads
(``arrears.strategy.segments``, ``ladder``, ``assignment``). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Step channels. ``lawyer_letter`` is a letter (律师函 template); ``agency`` (委外) and
# ``litigation`` (诉讼) are referrals, not contacts, so they have no contact channel.
CHANNELS = (
    "sms",
    "email",
    "push",
    "call",
    "letter",
    "lawyer_letter",
    "visit",
    "agency",
    "litigation",
)
CONTACT_CHANNEL = {
    "sms": "sms",
    "email": "email",
    "push": "push",
    "call": "call",
    "letter": "letter",
    "lawyer_letter": "letter",
    "visit": "visit",
    "agency": None,
    "litigation": None,
}
CUSTOMER_TYPES = ("individual", "sme", "corporate")
WILLINGNESS = ("willing_but_unable", "able_but_unwilling", "malicious", "unknown")

# Dimensions a segment (or a step) may condition on, and the column each one reads.
# ``amount_tier`` and ``score_band`` are derived from the strategy's tier definitions.
DIMENSION_COLUMNS = {
    "bucket": "bucket",
    "dpd": "dpd",
    "product": "product_code",
    "customer_type": "customer_type",
    "willingness": "willingness",
    "amount_tier": "amount_tier",
    "score_band": "score_band",
}


@dataclass(frozen=True)
class Condition:
    """One test on one column: ``values`` (in), ``low``/``high`` (inclusive range),
    ``is_null``. Exactly one form is set."""

    column: str
    values: tuple[Any, ...] | None = None
    low: Any = None
    high: Any = None
    is_null: bool | None = None


@dataclass(frozen=True)
class Tier:
    """A named band ``[lower, below)`` of a numeric column (``below`` None: no upper end)."""

    name: str
    below: Decimal | None


@dataclass(frozen=True)
class Tiers:
    """Ordered bands of one column: a value falls in the first band whose ``below`` it is
    under; the last band has no upper end. A null value has no band (null)."""

    column: str
    tiers: tuple[Tier, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)


@dataclass(frozen=True)
class Step:
    """One rung of a treatment ladder.

    ``offset`` is in days: negative = sent that many days before an instalment's due
    date (D-3 is -3), 0 = sent on the due day, positive = days past due. See
    ``arrears.strategy.ladder`` for when it fires."""

    name: str
    offset: int
    channel: str
    template: str
    priority: int = 50
    send_hour: int = 10
    script: str | None = None  # call script (话术) for ``call`` steps
    skip_if_promise_active: bool = True
    skip_if_paid_within_days: int | None = None
    min_amount: Decimal | None = None
    when: tuple[Condition, ...] = ()

    @property
    def contact_channel(self) -> str | None:
        return CONTACT_CHANNEL[self.channel]


@dataclass(frozen=True)
class Ladder:
    name: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Segment:
    """A named group of cases; ``when`` all hold (empty: catch-all). First match wins."""

    name: str
    ladder: str
    when: tuple[Condition, ...] = ()

    @property
    def is_catch_all(self) -> bool:
        return not self.when


@dataclass(frozen=True)
class Arm:
    """A champion/challenger arm: a traffic ``share``; ``holdout`` arms get no treatment;
    ``ladders`` replaces a segment's ladder (by ladder name) for this arm only."""

    name: str
    share: Decimal
    holdout: bool = False
    ladders: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Strategy:
    """A validated, versioned strategy. ``fingerprint`` is the sha256 of the document's
    canonical content: two files with the same fingerprint decide identically."""

    name: str
    version: int
    fingerprint: str
    source: str
    description: str
    amount_tiers: Tiers | None
    score_bands: Tiers | None
    segments: tuple[Segment, ...]
    ladders: dict[str, Ladder]
    arms: tuple[Arm, ...]
    champion: str
    warnings: tuple[str, ...] = ()

    def arm(self, name: str) -> Arm:
        """The arm called ``name`` (KeyError if none)."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(name)

    def ladder_for(self, segment: Segment, arm: Arm) -> Ladder:
        """The ladder ``segment`` uses under ``arm`` (the arm's override, else its own)."""
        return self.ladders[arm.ladders.get(segment.ladder, segment.ladder)]
