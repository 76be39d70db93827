"""Collector KPIs and incentives: targets against actuals, a ranking, and the incentive
from a commission table — all configured in the workspace's ``kpi.toml``.

``kpi.toml`` (every key optional; the defaults below are used for what is missing)::

    [targets]                 # per collector for the report period
    collected = 50000.00      # amount collected (催回金额)
    cures = 10                # loans cured
    contacts = 300            # allowed contact attempts
    promises_kept = 10

    [targets.buckets.M4]      # collectors whose cases are mostly in M4 (by the loans
    collected = 150000.00     # they held on the opening day)

    [targets.teams."后期组 M4+"]  # the collectors of one team
    collected = 200000.00

    [targets.collectors.alice]   # one collector's own targets
    collected = 80000.00

A collector's target for a measure is the first of: their own, their team's, their
bucket's, the ``[targets]`` default. The ranking is by attainment against that target,
so a late-bucket collector does not rank first merely because late cases are larger.

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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from arrears.analytics.collections import DEFAULT_COSTS, CollectionReport, CollectionRow
from arrears.analytics.portfolio import ratio
from arrears.analytics.store_facts import UNASSIGNED
from arrears.domain.money import ZERO

MEASURES = ("collected", "cures", "contacts", "promises_kept")
SCOPES = ("collectors", "teams", "buckets")  # [targets.<scope>.<name>] tables
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
    team_targets: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    bucket_targets: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def target(
        self, collector: str, measure: str, team: str | None = None, bucket: str | None = None
    ) -> Decimal:
        """The collector's own target, else their team's, else their bucket's, else
        the default."""
        return self.target_and_basis(collector, measure, team, bucket)[0]

    def target_and_basis(
        self, collector: str, measure: str, team: str | None = None, bucket: str | None = None
    ) -> tuple[Decimal, str]:
        """The target and where it comes from: ``collector``, ``team:<name>``,
        ``bucket:<name>`` or ``default``."""
        for basis, table, key in (
            ("collector", self.collector_targets, collector),
            (f"team:{team}", self.team_targets, team),
            (f"bucket:{bucket}", self.bucket_targets, bucket),
        ):
            if key is not None and measure in table.get(key, {}):
                return table[key][measure], basis
        return self.targets[measure], "default"

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
        if key in SCOPES and prefix == "targets":
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
    scoped = {scope: _scoped(path, raw.get("targets", {}), scope) for scope in SCOPES}
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
    return KpiConfig(
        targets,
        scoped["collectors"],
        weights,
        tiers,
        bonus,
        costs,
        team_targets=scoped["teams"],
        bucket_targets=scoped["buckets"],
    )


def _scoped(path: Path, targets: Any, scope: str) -> dict[str, dict[str, Decimal]]:
    """``[targets.<scope>.<name>]`` tables: name → measure → target."""
    if not isinstance(targets, dict):
        raise KpiConfigError(f"{path}: [targets] must be a table")
    table = targets.get(scope, {})
    if not isinstance(table, dict):
        raise KpiConfigError(f"{path}: [targets.{scope}] must be a table of tables")
    return {
        name: _measures(path, f"targets.{scope}.{name}", t, MEASURES) for name, t in table.items()
    }


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
    team: str | None = None
    bucket: str | None = None  # the bucket of most of their opening loans
    basis: str = "default"  # where the collected target comes from (target_and_basis)


def collector_kpis(
    report: CollectionReport, config: KpiConfig, buckets: Sequence[str] = ()
) -> list[CollectorKpi]:
    """One line per collector (unassigned cases left out), ranked by score: the weighted
    sum of the achievements against the collector's own targets (their own, their
    team's, their bucket's or the default; ``buckets`` names the bucket indexes), ties by
    amount collected, then name."""
    lines = []
    for row in report.rows.get("collector", []):
        if row.key == UNASSIGNED:
            continue
        team = report.teams.get(row.key)
        team = None if team in (None, UNASSIGNED) else team
        index = row.main_bucket
        bucket = buckets[index] if index is not None and index < len(buckets) else None
        lines.append(_line(row, config, team, bucket))
    lines.sort(key=lambda k: (-k.score, -k.actual["collected"], k.collector))
    return [replace(k, rank=rank) for rank, k in enumerate(lines, start=1)]


def _line(
    row: CollectionRow, config: KpiConfig, team: str | None, bucket: str | None
) -> CollectorKpi:
    actual = {
        "collected": row.collected,
        "cures": Decimal(row.cures),
        "contacts": Decimal(row.contacts),
        "promises_kept": Decimal(row.promises_kept),
    }
    target = {m: config.target(row.key, m, team, bucket) for m in MEASURES}
    achievement = {m: ratio(actual[m], target[m]) for m in MEASURES}
    score = sum((config.weights[m] * achievement[m] for m in MEASURES), ZERO).quantize(
        Decimal("0.0001")
    )
    rate = config.commission_rate(achievement["collected"])
    incentive = (row.collected * rate + row.cures * config.cure_bonus).quantize(CENT)
    basis = config.target_and_basis(row.key, "collected", team, bucket)[1]
    return CollectorKpi(
        row.key, 0, actual, target, achievement, score, rate, incentive,
        row.collection_rate, team, bucket, basis,
    )  # fmt: skip
