"""Reading one ``[[rules]]`` table of a pack: typed parameters, and errors that name the
pack file, the rule id and the key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any

from arrears.compliance.model import CHANNELS, PARTIES, ComplianceError


class RuleParams:
    """Reads one ``[[rules]]`` table, naming the pack, rule and key in every error."""

    def __init__(self, rule_id: str, table: Mapping[str, Any], where: str) -> None:
        self.rule_id, self.table, self.where = rule_id, dict(table), where
        self.used = {"id", "kind", "title", "source"}

    def fail(self, key: str, why: str) -> ComplianceError:
        """The error for ``key`` of this rule: file, rule id, key and ``why``."""
        return ComplianceError(f"{self.where}: rule {self.rule_id!r}, key {key!r}: {why}")

    def get(self, key: str, default: Any = None, *, required: bool = False) -> Any:
        """The raw value of ``key`` (marked as used), ``default`` when absent."""
        self.used.add(key)
        if key not in self.table:
            if required:
                raise self.fail(key, "is required")
            return default
        return self.table[key]

    def integer(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        """``key`` as a whole number >= ``minimum``; required when no default."""
        value = self.get(key, default, required=default is None)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(key, f"must be a whole number >= {minimum}, got {value!r}")
        return value

    def names(self, key: str, allowed: tuple[str, ...], default: Iterable[str]) -> frozenset[str]:
        """``key`` as a non-empty set of names from ``allowed`` (a string is one name)."""
        value = self.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"must be a non-empty list of {', '.join(allowed)}")
        bad = [v for v in value if v not in allowed]
        if bad:
            raise self.fail(key, f"{bad[0]!r} is not one of {', '.join(allowed)}")
        return frozenset(value)

    def clock_time(self, key: str) -> time:
        """``key`` (required) as a wall-clock time HH:MM."""
        value = self.get(key, required=True)
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            raise self.fail(key, f"{value!r} is not a time HH:MM") from None

    def common(self, default_parties: Iterable[str] = PARTIES) -> dict[str, Any]:
        """The fields every rule has: id, title, source, channels, parties."""
        return {
            "id": self.rule_id,
            "title": str(self.get("title", "")),
            "source": str(self.get("source", "")),
            "channels": self.names("channels", CHANNELS, CHANNELS),
            "parties": self.names("parties", PARTIES, default_parties),
        }

    def done(self) -> None:
        """Refuse any key no reader asked for (a typo must not be silently ignored)."""
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise self.fail(extra[0], "is not a parameter of this rule kind")
