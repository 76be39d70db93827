"""The same strategy code on Spark (local[2]) gives exactly DuckDB's assignments and
actions: segments, sha256 arms, ladder rungs, history and skips on a varied book."""

from __future__ import annotations

import random
from decimal import Decimal

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from strategy_tables import AS_OF, inputs_table, snapshot_table

from arrears.strategy import daily_assignments, load_strategy, proposed_actions

pytestmark = pytest.mark.slow


def book(n: int = 600):
    rng = random.Random(5)
    snaps, inputs, history = [], [], []
    for k in range(n):
        loan = f"L{k:04d}"
        dpd = rng.choice([0, 0, 0, 1, 2, 4, 5, 7, 10, 12, 20, 31, 35, 45, 60, 75, 91, 100,
                          120, 150, 200])  # fmt: skip
        amount = Decimal(rng.choice([0, 500, 999, 1000, 5000, 9999, 10000, 50000, 100000,
                                     250000])) + Decimal("0.55")  # fmt: skip
        snaps.append({"loan_id": loan, "customer_id": f"C{k // 2:04d}", "dpd": dpd,
                      "bucket": "M0" if dpd == 0 else "M1", "overdue_amount": amount,
                      "paid_today": rng.choice(["0.00", "0.00", "12.50"]),
                      "product_code": rng.choice(["CONSUMER", "CARD", "SME"])})  # fmt: skip
        case = k + 1 if dpd else None
        inputs.append({
            "loan_id": loan, "case_id": case,
            "customer_type": rng.choice(["individual", "individual", "sme", "corporate"]),
            "time_zone": "Asia/Shanghai", "language": "zh_CN",
            "willingness": rng.choice([None, None, "willing_but_unable", "malicious"]),
            "promise_active": rng.random() < 0.15,
            "days_to_due": rng.choice([None, 0, 2, 3, 10]) if dpd == 0 else None,
            "score_behaviour": rng.choice([None, 500, 549, 550, 700]),
        })  # fmt: skip
        if case and rng.random() < 0.4:
            history.append((loan, case, rng.choice(["sms_d1", "call_d10", "letter_d35"])))
    hist = pa.table(
        {
            "loan_id": [h[0] for h in history],
            "case_id": pa.array([h[1] for h in history], pa.int64()),
            "step": [h[2] for h in history],
            "strategy": ["retail-default"] * len(history),
        }
    )
    return snapshot_table(snaps), inputs_table(inputs), hist


def run(con, files, strategy):
    # Parquet files, as in production: Spark's in-memory tables go through pandas,
    # which turns nulls into NaN
    s, i, h = (con.read_parquet(str(f)) for f in files)
    return [
        con.to_pyarrow(proposed_actions(s, i, strategy, AS_OF, h)).to_pylist(),
        con.to_pyarrow(daily_assignments(s, i, strategy, AS_OF, h)).to_pylist(),
    ]


def test_spark_gives_duckdb_results_row_for_row(tmp_path, monkeypatch):
    from arrears.batch.close import connect

    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "2")  # a small book: few shuffle tasks
    strategy = load_strategy()
    files = []
    for name, table in zip(("snapshot", "inputs", "history"), book(), strict=True):
        files.append(tmp_path / f"{name}.parquet")
        pq.write_table(table, files[-1])
    expected = run(ibis.duckdb.connect(), files, strategy)
    actions, assignments = expected
    assert len(actions) > 100  # a non-trivial day: many actions of many kinds
    assert len({r["channel"] for r in actions}) >= 6
    assert len({r["segment"] for r in assignments}) >= 6
    assert {r["arm"] for r in assignments} == {"champion", "fast_call", "holdout"}
    spark = connect("spark")
    try:
        got = run(spark, files, strategy)
    finally:
        spark._session.stop()
    for name, want, have in zip(("actions", "assignments"), expected, got, strict=True):
        assert len(have) == len(want), name
        for w, h in zip(want, have, strict=True):
            assert {k: h[k] for k in w} == w, (name, w, h)
