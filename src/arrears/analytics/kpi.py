"""Collector KPIs and incentives: targets against actuals, a ranking, and the incentive
from a commission table — all configured in the workspace's ``kpi.toml``.

``kpi.toml`` (every key optional; the defaults below are used for what is missing)::

    [targets]                 # per collector for the report period
    collected = 50000.00      # amount collected (催回金额)
    cures = 10                # loans cured
    contacts = 300            # allowed contact attempts
    promises_kept = 10

    [targets.collectors.alice]   # one collector's own targets
    collected = 80000.00

    [weights]                 # how the ranking score weighs each achievement
    collected = 0.6
    cures = 0.2
    contacts = 0.1
    promises_kept = 0.1

    [[commission.tiers]]      # rate on the amount collected, by achievement of the
    from = 0.0                # collected target (the highest tier reached applies)
    rate = 0.0
    [[commission.tiers]]
    from = 0.8
    rate = 0.01

    [commission]
    cure_bonus = 20.00        # per cured loan

    [costs]                   # cost of one contact attempt per channel
    call = 2.00
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from arrears.analytics.collections import DEFAULT_COSTS, CollectionReport, CollectionRow
from arrears.analytics.portfolio import ratio
from arrears.analytics.store_facts import UNASSIGNED
from arrears.domain.money import ZERO

MEASURES = ("collected", "cures", "contacts", "promises_kept")
CENT = Decimal("0.01")

DEFAULT_TARGETS: dict[str, Decimal] = {
    "collected": Decimal("50000.00"),
    "cures": Decimal(10),
    "contacts": Decimal(300),
    "promises_kept": Decimal(10),
}
DEFAULT_WEIGHTS: dict[str, Decimal] = {
    "collected": Decimal("0.6"),
    "cures": Decimal("0.2"),
    "contacts": Decimal("0.1"),
    "promises_kept": Decimal("0.1"),
}
DEFAULT_TIERS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("0"), Decimal("0")),
    (Decimal("0.8"), Decimal("0.01")),
    (Decimal("1.0"), Decimal("0.015")),
    (Decimal("1.2"), Decimal("0.02")),
)
DEFAULT_CURE_BONUS = Decimal("20.00")


class KpiConfigError(ValueError):
    """A bad ``kpi.toml``: the message names the file, the key and the reason."""


@dataclass(frozen=True)
class KpiConfig:
    targets: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    collector_targets: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    weights: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    tiers: tuple[tuple[Decimal, Decimal], ...] = DEFAULT_TIERS
    cure_bonus: Decimal = DEFAULT_CURE_BONUS
    costs: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_COSTS))

    def target(self, collector: str, measure: str) -> Decimal:
        own = self.collector_targets.get(collector, {})
        return own.get(measure, self.targets[measure])

    def commission_rate(self, achievement: Decimal) -> Decimal:
        """The rate of the highest tier whose ``from`` the achievement reaches."""
        rate = ZERO
        for start, tier_rate in self.tiers:
            if achievement >= start:
                rate = tier_rate
        return rate


def _number(path: Path, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise KpiConfigError(f"{path}: {key} = {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise KpiConfigError(f"{path}: {key} = {value!r} is not a number") from None
    if number < 0:
        raise KpiConfigError(f"{path}: {key} = {value} may not be negative")
    return number


def _measures(path: Path, prefix: str, table: Any, allowed: tuple[str, ...]) -> dict:
    if not isinstance(table, dict):
        raise KpiConfigError(f"{path}: [{prefix}] must be a table")
    out = {}
    for key, value in table.items():
        if key == "collectors" and prefix == "targets":
            continue
        if key not in allowed:
            raise KpiConfigError(
                f"{path}: [{prefix}] {key}: unknown key (known: {', '.join(allowed)})"
            )
        out[key] = _number(path, f"{prefix}.{key}", value)
    return out


def load_kpi_config(path: Path) -> KpiConfig:
    """The KPI configuration at ``path``; the documented defaults if it does not exist.
    A bad file raises ``KpiConfigError`` naming the key and the reason."""
    if not path.exists():
        return KpiConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise KpiConfigError(f"{path}: not valid TOML: {e}") from None
    base = KpiConfig()
    targets = {**base.targets, **_measures(path, "targets", raw.get("targets", {}), MEASURES)}
    per_collector = {
        name: _measures(path, f"targets.collectors.{name}", t, MEASURES)
        for name, t in raw.get("targets", {}).get("collectors", {}).items()
    }
    weights = {**base.weights, **_measures(path, "weights", raw.get("weights", {}), MEASURES)}
    commission = raw.get("commission", {})
    tiers = base.tiers
    if "tiers" in commission:
        tiers = tuple(
            sorted(
                (
                    _number(path, f"commission.tiers[{i}].from", t.get("from")),
                    _number(path, f"commission.tiers[{i}].rate", t.get("rate")),
                )
                for i, t in enumerate(commission["tiers"])
            )
        )
    bonus = (
        _number(path, "commission.cure_bonus", commission["cure_bonus"])
        if "cure_bonus" in commission
        else base.cure_bonus
    )
    channels = tuple(DEFAULT_COSTS)
    costs = {**base.costs, **_measures(path, "costs", raw.get("costs", {}), channels)}
    return KpiConfig(targets, per_collector, weights, tiers, bonus, costs)


@dataclass(frozen=True)
class CollectorKpi:
    collector: str
    rank: int
    actual: dict[str, Decimal]
    target: dict[str, Decimal]
    achievement: dict[str, Decimal]  # actual / target (0 when no target)
    score: Decimal
    commission_rate: Decimal
    incentive: Decimal  # collected × tier rate + cures × cure bonus, to the cent
    collection_rate: Decimal


def collector_kpis(report: CollectionReport, config: KpiConfig) -> list[CollectorKpi]:
    """One line per collector (unassigned cases left out), ranked by score: the weighted
    sum of the achievements, ties by amount collected, then name."""
    lines = []
    for row in report.rows.get("collector", []):
        if row.key == UNASSIGNED:
            continue
        lines.append(_line(row, config))
    lines.sort(key=lambda k: (-k[1], -k[2].collected, k[2].key))
    out = []
    for rank, (actual, score, row) in enumerate(lines, start=1):
        target = {m: config.target(row.key, m) for m in MEASURES}
        achievement = {m: ratio(actual[m], target[m]) for m in MEASURES}
        rate = config.commission_rate(achievement["collected"])
        incentive = (row.collected * rate + row.cures * config.cure_bonus).quantize(CENT)
        out.append(
            CollectorKpi(
                row.key, rank, actual, target, achievement, score, rate, incentive,
                row.collection_rate,
            )
        )  # fmt: skip
    return out


def _line(row: CollectionRow, config: KpiConfig) -> tuple[dict[str, Decimal], Decimal, Any]:
    actual = {
        "collected": row.collected,
        "cures": Decimal(row.cures),
        "contacts": Decimal(row.contacts),
        "promises_kept": Decimal(row.promises_kept),
    }
    score = sum(
        (config.weights[m] * ratio(actual[m], config.target(row.key, m)) for m in MEASURES),
        ZERO,
    ).quantize(Decimal("0.0001"))
    return actual, score, row
