"""Month-over-month movement of the book: the roll-rate matrix (bucket i at month end
m → bucket j at month end m+1), flow rates along the M0 → M1 → … chain, net flow to
write-off, and cure rates.

Each loan active at m is one transition per month pair: it is counted once, with its
outstanding principal at m as the amount. At m+1 it is in a bucket (still active), or
has left the book: "closed" (repaid) or "written off" (its final status in the store,
as closed and written_off are final). Rows therefore sum to 100%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import ibis

from arrears.analytics.portfolio import ratio
from arrears.domain.money import ZERO

CLOSED = -1  # left the book repaid between the two month ends
WRITTEN_OFF = -2


@dataclass(frozen=True)
class Transition:
    month: date  # the month end m the loans are counted at
    from_bucket: int
    to_bucket: int  # a bucket index, CLOSED or WRITTEN_OFF
    loans: int
    amount: Decimal  # outstanding principal at m


def transitions(
    snap: ibis.Table, facts: ibis.Table, pairs: Sequence[tuple[date, date]]
) -> list[Transition]:
    """Every (month, from, to) group of the month pairs ``pairs``, in one query."""
    if not pairs:
        return []
    final = facts.select(fact_loan=facts.loan_id, final_status=facts.final_status)
    months = ibis.memtable(
        {"start": [a for a, _ in pairs], "end": [b for _, b in pairs]},
        schema={"start": "date", "end": "date"},
    )
    left = snap.filter(snap.status == "active")
    left = left.join(months, left.as_of == months.start).select(
        "loan_id", "end", month=left.as_of, from_bucket=left.bucket_index,
        amount=left.principal_outstanding,
    )  # fmt: skip
    right = snap.select(
        to_loan=snap.loan_id, to_day=snap.as_of, to_status=snap.status, to_index=snap.bucket_index
    )
    j = left.left_join(right, [left.loan_id == right.to_loan, left.end == right.to_day])
    j = j.left_join(final, j.loan_id == final.fact_loan)
    to_bucket = ibis.cases(
        (j.to_status == "active", j.to_index.cast("int32")),
        (j.to_status == "written_off", ibis.literal(WRITTEN_OFF, "int32")),
        (
            j.to_status.isnull() & (j.final_status == "written_off"),
            ibis.literal(WRITTEN_OFF, "int32"),
        ),
        else_=ibis.literal(CLOSED, "int32"),
    )
    moves = j.select(
        "month", from_bucket=j.from_bucket.cast("int32"), to_bucket=to_bucket, amount=j.amount
    )
    rows = (
        moves.group_by(["month", "from_bucket", "to_bucket"])
        .aggregate(loans=moves.count(), amount=moves.amount.sum())
        .order_by(["month", "from_bucket", "to_bucket"])
        .to_pyarrow()
        .to_pylist()
    )
    return [
        Transition(
            r["month"], r["from_bucket"], r["to_bucket"], int(r["loans"]), Decimal(r["amount"])
        )
        for r in rows
    ]


@dataclass
class RollMatrix:
    """Counts and amounts from bucket i (rows) to bucket j or an exit (columns)."""

    n_buckets: int
    loans: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    amounts: dict[tuple[int, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def columns(self) -> list[int]:
        """Destination columns: every bucket, then closed, then written off."""
        return [*range(self.n_buckets), CLOSED, WRITTEN_OFF]

    def add(self, t: Transition) -> None:
        self.loans[t.from_bucket, t.to_bucket] += t.loans
        self.amounts[t.from_bucket, t.to_bucket] += t.amount

    def row_loans(self, i: int) -> int:
        return sum(self.loans.get((i, j), 0) for j in self.columns)

    def row_amount(self, i: int) -> Decimal:
        return sum((self.amounts.get((i, j), ZERO) for j in self.columns), ZERO)

    def share_count(self, i: int, j: int) -> Decimal:
        """Share of the loans of bucket i that went to j (a row sums to 1)."""
        return ratio(self.loans.get((i, j), 0), self.row_loans(i))

    def share_amount(self, i: int, j: int) -> Decimal:
        """Share of the principal of bucket i that went to j."""
        return ratio(self.amounts.get((i, j), ZERO), self.row_amount(i))

    def exact_share_amount(self, i: int, j: int) -> Decimal:
        """Unrounded share (for chains of products)."""
        whole = self.row_amount(i)
        return self.amounts.get((i, j), ZERO) / whole if whole else ZERO


def roll_matrix(moves: Sequence[Transition], n_buckets: int) -> RollMatrix:
    """All month pairs of ``moves`` pooled into one matrix."""
    m = RollMatrix(n_buckets)
    for t in moves:
        m.add(t)
    return m


def monthly_matrices(moves: Sequence[Transition], n_buckets: int) -> dict[date, RollMatrix]:
    """One matrix per month end m (m → m+1)."""
    out: dict[date, RollMatrix] = {}
    for t in moves:
        out.setdefault(t.month, RollMatrix(n_buckets)).add(t)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class FlowRate:
    from_bucket: int  # flow from this bucket to the next one
    rate_count: Decimal
    rate_amount: Decimal


def _onward(matrix: RollMatrix, k: int) -> tuple[int, ...]:
    """Where bucket k flows to: the next bucket; into the last one (the write-off point,
    M7+) also the loans written off, since a product's charge-off rule takes its loans
    off the book when they reach it (at 180 DPD they leave M6 written off, not in M7+)."""
    return (k + 1, WRITTEN_OFF) if k + 1 == matrix.n_buckets - 1 else (k + 1,)


def flow_rates(matrix: RollMatrix) -> list[FlowRate]:
    """Flow M_k → M_(k+1) for each bucket but the last: the share of bucket k at m found
    one bucket worse at m+1 (into the last bucket: or written off), by count and by
    amount."""
    return [
        FlowRate(
            k,
            ratio(sum(matrix.loans.get((k, j), 0) for j in onward), matrix.row_loans(k)),
            ratio(
                sum((matrix.amounts.get((k, j), ZERO) for j in onward), ZERO),
                matrix.row_amount(k),
            ),
        )
        for k in range(matrix.n_buckets - 1)
        for onward in [_onward(matrix, k)]
    ]


def net_flow_to_write_off(matrix: RollMatrix) -> Decimal:
    """The share of current (M0) principal that ends at the write-off point if every
    flow rate holds: the product of the flows M0→M1 → … → the last bucket (M7+, over
    180 DPD) or written off from the bucket before it, by amount, to 6 places."""
    product = Decimal(1)
    for k in range(matrix.n_buckets - 1):
        product *= sum((matrix.exact_share_amount(k, j) for j in _onward(matrix, k)), ZERO)
    return product.quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class CureRate:
    bucket: int  # 0 stands for all delinquent buckets together
    delinquent_loans: int
    cured_loans: int
    delinquent_amount: Decimal
    cured_amount: Decimal

    @property
    def rate_count(self) -> Decimal:
        return ratio(self.cured_loans, self.delinquent_loans)

    @property
    def rate_amount(self) -> Decimal:
        return ratio(self.cured_amount, self.delinquent_amount)


def cure_rates(matrix: RollMatrix) -> list[CureRate]:
    """Per delinquent bucket k (M1 and worse): the share that was current (M0) or had
    repaid in full (closed) at the next month end. Each loan counts once per month
    pair. The first row (bucket 0) is all delinquent buckets together."""
    rows = []
    for k in range(1, matrix.n_buckets):
        cured = [(k, 0), (k, CLOSED)]
        rows.append(
            CureRate(
                k,
                matrix.row_loans(k),
                sum(matrix.loans.get(c, 0) for c in cured),
                matrix.row_amount(k),
                sum((matrix.amounts.get(c, ZERO) for c in cured), ZERO),
            )
        )
    total = CureRate(
        0,
        sum(r.delinquent_loans for r in rows),
        sum(r.cured_loans for r in rows),
        sum((r.delinquent_amount for r in rows), ZERO),
        sum((r.cured_amount for r in rows), ZERO),
    )
    return [total, *rows]
