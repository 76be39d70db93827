"""Champion/challenger: a stable arm per customer, and the assignment of every loan to
a segment, an arm and the ladder that arm uses for the segment.

The arm comes from a hash, not from a random draw: ``sha256("<strategy>|<customer_id>")``,
its first 13 hex digits read as an integer ``h`` in ``[0, 16**13)``; the customer's
point is ``h / 16**13`` in ``[0, 1)``. Arms take consecutive slices of ``[0, 1)`` in the
order written, each as wide as its share. The same customer therefore lands in the
same arm every day, in every process and on every engine (the Ibis expression computes
the same integer as ``customer_point``), and all loans of a customer share an arm.
Changing the strategy's version keeps the arms; renaming the strategy reshuffles them.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

import ibis

from arrears.strategy.model import Strategy
from arrears.strategy.segments import missing_columns, prepare, segment_of, with_bands

if TYPE_CHECKING:
    import ibis.expr.types as ir

HEX_DIGITS = 13
SCALE = 16**HEX_DIGITS  # 2**52: exact in a double and in int64


def hash_key(strategy_name: str, customer_id: str) -> str:
    """The text whose sha256 places a customer: ``"<strategy>|<customer_id>"``."""
    return f"{strategy_name}|{customer_id}"


def customer_point(strategy_name: str, customer_id: str) -> int:
    """The customer's hash integer in ``[0, 16**13)`` (point = value / 16**13)."""
    digest = hashlib.sha256(hash_key(strategy_name, customer_id).encode("utf-8")).hexdigest()
    return int(digest[:HEX_DIGITS], 16)


def arm_edges(strategy: Strategy) -> list[tuple[str, int]]:
    """Each arm with the exclusive upper end of its slice, as a hash integer: an arm
    holds the points ``previous edge <= h < edge``; the last edge is ``16**13``."""
    edges, cumulative = [], Decimal(0)
    for arm in strategy.arms:
        cumulative += arm.share
        edge = int((cumulative * SCALE).to_integral_value(rounding=ROUND_CEILING))
        edges.append((arm.name, min(edge, SCALE)))
    return edges


def arm_for_point(strategy: Strategy, point: int) -> str:
    """The arm of hash integer ``point`` (the scalar rule ``arm_of`` computes)."""
    for name, edge in arm_edges(strategy):
        if point < edge:
            return name
    return strategy.arms[-1].name


def arm_of_customer(strategy: Strategy, customer_id: str) -> str:
    """The arm of one customer under ``strategy`` (pure Python; same as ``arm_of``)."""
    return arm_for_point(strategy, customer_point(strategy.name, customer_id))


def digest_of(customer_id: ir.StringValue, strategy_name: str) -> ir.StringValue:
    """The hex sha256 of ``"<strategy>|<customer_id>"`` as an Ibis expression."""
    return (ibis.literal(strategy_name + "|") + customer_id).hexdigest("sha256")


def point_from_digest(digest: ir.StringValue) -> ir.IntegerValue:
    """The integer of the first 13 hex digits of ``digest``, summed by place."""
    total: ir.IntegerValue = ibis.literal(0, "int64")
    for i in range(HEX_DIGITS):
        code = digest.substr(i, 1).ascii_str().cast("int64")
        # '0'..'9' are codes 48..57 and 'a'..'f' 97..102: (code % 32 + 9) % 25 maps both
        # to 0..15 while naming ``code`` once (the SQL stays small on every engine)
        digit = (code % 32 + 9) % 25
        total = total + digit * (16 ** (HEX_DIGITS - 1 - i))
    return total


def point_of(customer_id: ir.StringValue, strategy_name: str) -> ir.IntegerValue:
    """``customer_point`` as an Ibis expression."""
    return point_from_digest(digest_of(customer_id, strategy_name))


def _small_table(columns: dict[str, list], schema: dict[str, str]) -> ir.Table:
    import pyarrow as pa

    return ibis.memtable(pa.table(columns, schema=ibis.schema(schema).to_pyarrow()))


def with_arm(t: ir.Table, strategy: Strategy) -> ir.Table:
    """``t`` with ``arm``: the arm of each row's ``customer_id`` (sticky: depends on
    nothing but the strategy name, the customer and the shares).

    The arm is found by joining the hash integer against the arms' slices: a join
    keeps the engines from re-inlining the hash into every branch of a CASE."""
    edges = arm_edges(strategy)
    lows = [0, *[edge for _, edge in edges[:-1]]]
    slices = _small_table(
        {"arm": [n for n, _ in edges], "arm_low": lows, "arm_high": [e for _, e in edges]},
        {"arm": "string", "arm_low": "int64", "arm_high": "int64"},
    )
    # The digest is computed once per customer, below a DISTINCT: engines would otherwise
    # inline (and recompute) it in each of the 13 digits of the point.
    customers = t.select(
        arm_customer=t.customer_id, arm_digest=digest_of(t.customer_id, strategy.name)
    ).distinct()
    customers = customers.select("arm_customer", arm_point=point_from_digest(customers.arm_digest))
    placed = customers.join(
        slices,
        [customers.arm_point >= slices.arm_low, customers.arm_point < slices.arm_high],
        how="inner",
    ).select("arm_customer", "arm")
    return t.join(placed, t.customer_id == placed.arm_customer, how="inner").drop("arm_customer")


def with_ladder(t: ir.Table, strategy: Strategy) -> ir.Table:
    """``t`` with ``ladder``: the ladder its (segment, arm) uses; null in a holdout arm
    (no treatment)."""
    rows: dict[str, list] = {"map_segment": [], "map_arm": [], "ladder": []}
    for arm in strategy.arms:
        if arm.holdout:
            continue
        for segment in strategy.segments:
            rows["map_segment"].append(segment.name)
            rows["map_arm"].append(arm.name)
            rows["ladder"].append(strategy.ladder_for(segment, arm).name)
    mapping = _small_table(rows, {"map_segment": "string", "map_arm": "string", "ladder": "string"})
    joined = t.left_join(mapping, [t.segment == mapping.map_segment, t.arm == mapping.map_arm])
    return joined.drop("map_segment", "map_arm")


def assign(
    snapshot: ir.Table, inputs: ir.Table | None, strategy: Strategy, as_of: date
) -> ir.Table:
    """One row per active loan of the snapshot: the evaluated columns (see
    ``arrears.strategy.segments``) plus ``segment``, ``arm``, ``ladder`` (null in a
    holdout), ``strategy``, ``version`` and ``as_of``. Unexecuted.

    Raises ValueError when a condition reads a column neither table has (a missing
    score column only leaves ``score_band`` null)."""
    t = prepare(snapshot, inputs)
    score_column = strategy.score_bands.column if strategy.score_bands else None
    missing = [c for c in missing_columns(t, strategy) if c != score_column]
    if missing:
        raise ValueError(
            f"strategy {strategy.name!r} reads columns the snapshot and inputs lack: "
            + ", ".join(missing)
        )
    t = with_bands(t, strategy)
    t = with_ladder(with_arm(t.mutate(segment=segment_of(t, strategy)), strategy), strategy)
    return t.mutate(
        strategy=ibis.literal(strategy.name),
        version=ibis.literal(strategy.version, "int32"),
        as_of=ibis.literal(as_of, "date"),
    )
