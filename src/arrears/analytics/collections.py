"""Collection performance per collector, team, agency and strategy arm over a period.

Definitions (docs/analytics.md has the full text):

- Opening day O: the latest snapshot before the period's first day (else its first
  snapshot). The opening population is the loans active and past due (DPD > 0) on O,
  and the loans in recovery on O (charged off by their product's rule, a shadow balance
  still owed: their cases are worked on, ``arrears.domain.cases``); each is attributed
  to whoever held its case on O. A loan in recovery is at the write-off point, and its
  opening overdue amount and balance owed are what its shadow balances owed on O.
- Collected: payments dated after O through the period's last day, capped per loan at
  its opening overdue amount (what was owed past due on O); prepayments of principal
  not yet due are not collections.
- Collection rate (催回率) = collected / opening overdue amount.
- Recovery rate = collected on loans at the write-off point on O (the last bucket,
  M7+, or in recovery) / their whole balance owed on O (outstanding principal + overdue
  interest and charges; for a loan in recovery its shadow balances), each loan capped
  at that balance.
- Cures: loans of the population current (DPD 0) or repaid on the closing snapshot
  (the period's last closed day); each loan counts at most once.
- Contacts: allowed contact attempts dated in the period; right-party contact (RPC)
  rate = calls with party debtor and outcome connected_conversation / call attempts.
- Promise kept rate = promises due in the period kept / (kept + broken); pending and
  cancelled ones are not counted.
- Cost = Σ attempts × cost per channel (configurable); cost per unit collected =
  cost / collected; contacts per 10,000 collected = contacts / collected × 10,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import ibis

from arrears.analytics.portfolio import ratio
from arrears.analytics.store_facts import UNASSIGNED, StoreFacts
from arrears.domain.money import ZERO

DIMENSIONS = ("collector", "team", "agency", "arm")

# cost of one allowed attempt per channel, in the book's currency (kpi.toml [costs])
DEFAULT_COSTS: dict[str, Decimal] = {
    "call": Decimal("2.00"),
    "sms": Decimal("0.05"),
    "email": Decimal("0.01"),
    "push": Decimal("0.00"),
    "letter": Decimal("8.00"),
    "visit": Decimal("120.00"),
}


@dataclass
class CollectionRow:
    key: str
    loans: int = 0
    opening_overdue: Decimal = ZERO
    collected: Decimal = ZERO
    cures: int = 0
    recovery_base: Decimal = ZERO
    recovered: Decimal = ZERO
    contacts: int = 0
    calls: int = 0
    right_party: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    cost: Decimal = ZERO
    bucket_loans: dict[int, int] = field(default_factory=dict)  # opening loans per bucket

    @property
    def main_bucket(self) -> int | None:
        """The bucket index holding most of the row's opening loans (ties: the earlier)."""
        if not self.bucket_loans:
            return None
        return min(self.bucket_loans, key=lambda b: (-self.bucket_loans[b], b))

    @property
    def collection_rate(self) -> Decimal:
        return ratio(self.collected, self.opening_overdue)

    @property
    def recovery_rate(self) -> Decimal:
        return ratio(self.recovered, self.recovery_base)

    @property
    def rpc_rate(self) -> Decimal:
        return ratio(self.right_party, self.calls)

    @property
    def promise_kept_rate(self) -> Decimal:
        return ratio(self.promises_kept, self.promises_kept + self.promises_broken)

    @property
    def contacts_per_10k(self) -> Decimal:
        if not self.collected:
            return ZERO
        return (Decimal(self.contacts) * 10000 / self.collected).quantize(Decimal("0.01"))

    @property
    def cost_per_unit(self) -> Decimal:
        return ratio(self.cost, self.collected)


@dataclass
class CollectionReport:
    opening_day: date
    closing_day: date
    rows: dict[str, list[CollectionRow]] = field(default_factory=dict)  # per dimension
    has_data: dict[str, bool] = field(default_factory=dict)
    has_contacts: bool = False
    has_promises: bool = False
    names: dict[str, str] = field(default_factory=dict)  # collector → display name
    teams: dict[str, str] = field(default_factory=dict)  # collector → team name
    first_arm_day: date | None = None  # the first strategy assignment's day, if any

    def label(self, dimension: str, key: str) -> str:
        """How a row's key is shown: a collector by display name and username
        ("Li Na (li.na)"; two collectors may share a name), anything else as is."""
        name = self.names.get(key) if dimension == "collector" else None
        return f"{name} ({key})" if name and name != key else key

    def total(self, dimension: str = "collector") -> CollectionRow:
        out = CollectionRow("total")
        for r in self.rows.get(dimension, []):
            for name in (
                "loans", "opening_overdue", "collected", "cures", "recovery_base",
                "recovered", "contacts", "calls", "right_party", "promises_kept",
                "promises_broken", "cost",
            ):  # fmt: skip
                setattr(out, name, getattr(out, name) + getattr(r, name))
        return out


@dataclass(frozen=True)
class OpeningLoan:
    loan_id: str
    bucket_index: int
    overdue: Decimal
    owed: Decimal


def opening_population(snap: ibis.Table, day: date) -> list[OpeningLoan]:
    """Loans active and past due on ``day`` with their overdue amount and balance owed."""
    s = snap.filter((snap.as_of == day) & (snap.status == "active") & (snap.dpd > 0))
    owed = s.principal_outstanding + s.overdue_amount - s.overdue_principal
    rows = (
        s.select("loan_id", "bucket_index", overdue=s.overdue_amount, owed=owed)
        .order_by("loan_id")
        .to_pyarrow()
        .to_pylist()
    )
    return [
        OpeningLoan(r["loan_id"], r["bucket_index"], Decimal(r["overdue"]), Decimal(r["owed"]))
        for r in rows
    ]


def closing_states(snap: ibis.Table, day: date) -> dict[str, tuple[int, str]]:
    """loan id → (DPD, status) on ``day``'s snapshot."""
    t = snap.filter(snap.as_of == day).select("loan_id", "dpd", "status").to_pyarrow()
    return {
        lid: (dpd, status)
        for lid, dpd, status in zip(*(t.column(i).to_pylist() for i in range(3)), strict=True)
    }


def collection_performance(
    snap: ibis.Table,
    facts: StoreFacts,
    paid: Mapping[str, Decimal],
    opening_day: date,
    closing_day: date,
    write_off_bucket: int,
    final_status: Mapping[str, str],
    costs: Mapping[str, Decimal] = DEFAULT_COSTS,
    in_recovery: Mapping[str, Decimal] = MappingProxyType({}),
) -> CollectionReport:
    """Collection measures per dimension (see the module text for the definitions);
    ``paid`` is each loan's payments in the period, ``final_status`` the store status,
    ``in_recovery`` the loans in recovery on the opening day with the shadow balances
    they owed (``store_facts.in_recovery_on``)."""
    population = opening_population(snap, opening_day)
    on_book = {p.loan_id for p in population}
    population += [
        OpeningLoan(lid, write_off_bucket, owed, owed)
        for lid, owed in sorted(in_recovery.items())
        if lid not in on_book
    ]
    closing = closing_states(snap, closing_day)
    # current or repaid on the closing day; a loan gone from it counts if it was repaid
    cured = {
        p.loan_id
        for p in population
        if (
            (state := closing.get(p.loan_id)) is not None
            and (state[0] == 0 or state[1] == "closed")
        )
        or (state is None and final_status.get(p.loan_id) == "closed")
    }
    case_of = facts.case_on(opening_day)
    groups: dict[str, dict[str, CollectionRow]] = {d: {} for d in DIMENSIONS}

    def rows_for(keys: dict[str, str]) -> list[CollectionRow]:
        return [groups[d].setdefault(k, CollectionRow(k)) for d, k in keys.items()]

    def keys_of(case_id: int | None, user: str | None, day: date) -> dict[str, str]:
        if case_id is None:
            return dict.fromkeys(DIMENSIONS, UNASSIGNED)
        user = user or facts.collector_on(case_id, day)
        return {
            "collector": user,
            "team": facts.team_of(user),
            "agency": facts.agency_on(case_id, user, day),
            "arm": facts.arm_on(case_id, day),
        }

    for loan in population:
        got = paid.get(loan.loan_id, ZERO)
        for row in rows_for(keys_of(case_of.get(loan.loan_id), None, opening_day)):
            row.loans += 1
            row.bucket_loans[loan.bucket_index] = row.bucket_loans.get(loan.bucket_index, 0) + 1
            row.opening_overdue += loan.overdue
            row.collected += min(got, loan.overdue)
            row.cures += loan.loan_id in cured
            if loan.bucket_index >= write_off_bucket:
                row.recovery_base += loan.owed
                row.recovered += min(got, loan.owed)
    for a in facts.attempts:
        for row in rows_for(keys_of(a.case_id, a.actor, a.on)):
            row.contacts += 1
            row.cost += costs.get(a.channel, ZERO)
            if a.channel == "call":
                row.calls += 1
                row.right_party += a.party == "debtor" and a.outcome == "connected_conversation"
    for p in facts.promises:
        if p.status in ("kept", "broken"):
            for row in rows_for(keys_of(p.case_id, p.created_by, p.due_date)):
                row.promises_kept += p.status == "kept"
                row.promises_broken += p.status == "broken"
    arm_days = [on for history in facts.arms.values() for on, _ in history]
    report = CollectionReport(
        opening_day,
        closing_day,
        names=dict(facts.display_names),
        teams={k: facts.team_of(k) for k in groups["collector"] if k != UNASSIGNED},
        first_arm_day=min(arm_days) if arm_days else None,
    )
    for d in DIMENSIONS:
        report.rows[d] = sorted(
            groups[d].values(), key=lambda r: (r.key == UNASSIGNED, -r.collected, r.key)
        )
        report.has_data[d] = any(r.key != UNASSIGNED for r in report.rows[d])
    report.has_contacts = bool(facts.attempts)
    report.has_promises = bool(facts.promises)
    return report


def opening_and_closing(
    snapshot_days: list[date], date_from: date, date_to: date
) -> tuple[date, date]:
    """O = the latest snapshot before ``date_from`` (else the first in the period); the
    closing day is the latest snapshot on or before ``date_to``."""
    before = [d for d in snapshot_days if d < date_from]
    inside = [d for d in snapshot_days if date_from <= d <= date_to]
    if not inside:
        raise LookupError(f"no closed day between {date_from} and {date_to}")
    return (before[-1] if before else inside[0]), inside[-1]


def final_statuses(loan_facts: ibis.Table) -> dict[str, str]:
    """loan id → status in the store (closed and written_off are final)."""
    t = loan_facts.select("loan_id", "final_status").to_pyarrow()
    return dict(zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True))
