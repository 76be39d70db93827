"""Helpers for the strategy tests: strategies from TOML text, small snapshot and input
tables."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from arrears.strategy import parse_strategy

AS_OF = date(2026, 11, 30)
MONEY = pa.decimal128(18, 2)

SNAPSHOT_DEFAULTS: dict[str, Any] = {
    "as_of": AS_OF,
    "customer_id": None,
    "product_code": "CONSUMER",
    "status": "active",
    "dpd": 0,
    "bucket": "M0",
    "loan_class": "normal",
    "overdue_amount": Decimal("0.00"),
    "paid_today": Decimal("0.00"),
}
SNAPSHOT_TYPES = {
    "as_of": pa.date32(),
    "loan_id": pa.string(),
    "customer_id": pa.string(),
    "product_code": pa.string(),
    "status": pa.string(),
    "dpd": pa.int32(),
    "bucket": pa.string(),
    "loan_class": pa.string(),
    "overdue_amount": MONEY,
    "paid_today": MONEY,
}
INPUT_TYPES = {
    "loan_id": pa.string(),
    "case_id": pa.int64(),
    "customer_type": pa.string(),
    "time_zone": pa.string(),
    "language": pa.string(),
    "willingness": pa.string(),
    "promise_active": pa.bool_(),
    "days_to_due": pa.int64(),
    "days_since_last_payment": pa.int64(),
    "score_behaviour": pa.int64(),
}


def strategy_from(text: str):
    """A validated strategy from TOML text."""
    return parse_strategy(tomllib.loads(text), "test.toml")


def snapshot_table(rows: list[dict[str, Any]]) -> pa.Table:
    """A snapshot with the columns the strategy reads; ``customer_id`` defaults to
    ``C-<loan_id>``."""
    full = []
    for row in rows:
        merged = {**SNAPSHOT_DEFAULTS, **row}
        merged["customer_id"] = merged["customer_id"] or f"C-{merged['loan_id']}"
        merged["overdue_amount"] = Decimal(str(merged["overdue_amount"]))
        merged["paid_today"] = Decimal(str(merged["paid_today"]))
        full.append(merged)
    return pa.table(
        {name: pa.array([r[name] for r in full], kind) for name, kind in SNAPSHOT_TYPES.items()}
    )


def inputs_table(rows: list[dict[str, Any]]) -> pa.Table:
    """An input table with the columns named in ``rows`` (plus ``loan_id``)."""
    names = ["loan_id", *sorted({k for r in rows for k in r} - {"loan_id"})]
    return pa.table({n: pa.array([r.get(n) for r in rows], INPUT_TYPES[n]) for n in names})
