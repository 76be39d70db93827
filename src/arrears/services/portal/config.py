"""``[portal]`` in arrears.toml: where the portal is served and what a debtor may do
there on their own, per segment of the strategy.

    [portal]
    base_url = "https://portal.example-lender.cn"   # default: the local `arrears serve`
    link_days = 30                                    # a link opens for this many days

    [portal.policy]               # every segment, unless it has its own table below
    promise_days = 14             # a promise may be due at most this many days ahead
    plan_counts = [3, 6, 12]      # the instalment plans offered (months)
    plan_first_due_days = 30      # a plan's first instalment at most this far ahead
    plan_method = "respread"      # or "annuity" | "equal_principal": re-amortise the
                                  # overdue with the not yet due at the contract's rate
    settlement_waives = ["penalty", "compound", "fee"]   # what the settlement forgives
                                  # (components; "not_due": the principal not yet due)
    max_relief = "5000.00"        # a settlement forgiving more is a request instead

    [portal.segments.early]       # a strategy segment's own limits (same keys)
    promise_days = 7

Anything outside the policy (another plan length, a lower settlement) is not refused:
it becomes a request a person approves (maker-checker), as a collector's would.
A bad value is a ``SettingsError`` naming the file and key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from arrears.domain.products import Component

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
NOT_DUE = "not_due"  # settlement_waives may name the principal not yet due (结清)
POLICY_KEYS = frozenset(
    {
        "promise_days",
        "plan_counts",
        "plan_first_due_days",
        "plan_method",
        "settlement_waives",
        "max_relief",
    }
)
# respread: a plan re-spreads the instalments not yet due; annuity | equal_principal: it
# re-amortises what is overdue with what is not yet due (issue 25, contract 7)
PLAN_METHODS = ("respread", "annuity", "equal_principal")


@dataclass(frozen=True)
class Policy:
    """What a debtor of one segment may do without a person (see the module doc)."""

    promise_days: int = 14
    plan_counts: tuple[int, ...] = (3, 6, 12)
    plan_first_due_days: int = 30
    plan_method: str = "respread"
    settlement_waives: tuple[str, ...] = ("penalty", "compound", "fee")
    max_relief: Decimal = Decimal("5000.00")


@dataclass(frozen=True)
class PortalSettings:
    """``[portal]`` (see the module docstring)."""

    base_url: str = DEFAULT_BASE_URL
    link_days: int = 30
    policy: Policy = Policy()
    segments: tuple[tuple[str, Policy], ...] = field(default=())

    def policy_for(self, segment: str | None) -> Policy:
        """The policy of ``segment`` (the default policy when it has none)."""
        return dict(self.segments).get(segment or "", self.policy)


def _error(path: Path, message: str) -> Exception:
    from arrears.services.settings import SettingsError

    return SettingsError(f"{path}: {message}")


def _whole(path: Path, name: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _error(path, f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _policy(path: Path, where: str, base: Policy, table: Any) -> Policy:
    if not isinstance(table, dict):
        raise _error(path, f"{where} must be a table")
    unknown = set(table) - POLICY_KEYS
    if unknown:
        raise _error(
            path,
            f"{where}.{sorted(unknown)[0]} is not a setting "
            f"(settings: {', '.join(sorted(POLICY_KEYS))})",
        )
    changes: dict[str, Any] = {}
    if "promise_days" in table:
        changes["promise_days"] = _whole(
            path, f"{where}.promise_days", table["promise_days"], 0, 90
        )
    if "plan_first_due_days" in table:
        changes["plan_first_due_days"] = _whole(
            path, f"{where}.plan_first_due_days", table["plan_first_due_days"], 1, 366
        )
    if "plan_method" in table:
        if table["plan_method"] not in PLAN_METHODS:
            raise _error(path, f"{where}.plan_method must be one of {', '.join(PLAN_METHODS)}")
        changes["plan_method"] = table["plan_method"]
    if "plan_counts" in table:
        counts = table["plan_counts"]
        if not isinstance(counts, list):
            raise _error(path, f"{where}.plan_counts must be a list of months")
        changes["plan_counts"] = tuple(
            _whole(path, f"{where}.plan_counts", c, 1, 60) for c in counts
        )
    if "settlement_waives" in table:
        names = table["settlement_waives"]
        known = {c.value for c in Component} | {NOT_DUE}
        if not isinstance(names, list) or not all(n in known for n in names):
            raise _error(path, f"{where}.settlement_waives must list components of {sorted(known)}")
        changes["settlement_waives"] = tuple(names)
    if "max_relief" in table:
        try:
            relief = Decimal(str(table["max_relief"]))
        except InvalidOperation:
            relief = Decimal(-1)
        if isinstance(table["max_relief"], float) or not relief.is_finite() or relief < 0:
            raise _error(path, f'{where}.max_relief must be an amount as a string, e.g. "500.00"')
        changes["max_relief"] = relief
    return replace(base, **changes)


def load_portal(path: Path, table: Any) -> PortalSettings:
    """``[portal]`` of the settings file ``path`` (defaults where it is silent)."""
    if not isinstance(table, dict):
        raise _error(path, "portal must be a table ([portal])")
    unknown = set(table) - {"base_url", "link_days", "policy", "segments"}
    if unknown:
        raise _error(path, f"portal.{sorted(unknown)[0]} is not a setting")
    base_url = table.get("base_url", DEFAULT_BASE_URL)
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        raise _error(path, f"portal.base_url must be a web address (https://…), not {base_url!r}")
    link_days = _whole(path, "portal.link_days", table.get("link_days", 30), 1, 366)
    policy = _policy(path, "portal.policy", Policy(), table.get("policy", {}))
    segments = table.get("segments", {})
    if not isinstance(segments, dict):
        raise _error(path, "portal.segments must be a table of segment tables")
    return PortalSettings(
        base_url=base_url.rstrip("/"),
        link_days=link_days,
        policy=policy,
        segments=tuple(
            (name, _policy(path, f"portal.segments.{name}", policy, value))
            for name, value in segments.items()
        ),
    )
