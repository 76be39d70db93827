"""One day of the strategy engine (segments, arms, ladder) over an N-loan book on DuckDB;
one JSON line out.

    python benchmarks/strategy_day.py --loans 1000000

The book (a snapshot and an input table, one row per loan, about one loan in four
overdue at DPD 1-200, a step history for a third of the overdue cases) is synthesised
with NumPy into ``benchmarks/.data/strategy-N`` and reused by later runs.

The reference measured in the same run is the plain scan the evaluation cannot do
without: reading both Parquet files and joining them on ``loan_id`` (a count of the
join). ``ratio`` is the strategy's time over that scan's time.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arrears.snapshots import decimal_from_cents

AS_OF = date(2026, 11, 30)


def build(folder: Path, n: int) -> tuple[Path, Path, Path]:
    """Write the snapshot, inputs and history of an ``n``-loan book (seeded)."""
    files = folder / "snapshot.parquet", folder / "inputs.parquet", folder / "history.parquet"
    if all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    ids = np.array([f"L{k:08d}" for k in range(n)])
    overdue = rng.random(n) < 0.25
    dpd = np.where(overdue, rng.integers(1, 201, n), 0).astype(np.int32)
    cents = np.where(overdue, rng.lognormal(8.5, 1.3, n) * 100, 0).astype(np.int64)
    snapshot = pa.table(
        {
            "as_of": pa.array([AS_OF] * n, pa.date32()),
            "loan_id": ids,
            "customer_id": np.array([f"C{k // 2:08d}" for k in range(n)]),
            "product_code": rng.choice(["CONSUMER", "CARD", "MICRO", "SME"], n),
            "status": np.full(n, "active"),
            "dpd": dpd,
            "bucket": np.where(dpd == 0, "M0", "M1"),
            "overdue_amount": decimal_from_cents(cents),
            "paid_today": decimal_from_cents(np.zeros(n, dtype=np.int64)),
        }
    )
    case_id = np.where(overdue, np.arange(1, n + 1), -1)
    inputs = pa.table(
        {
            "loan_id": ids,
            "case_id": pa.array(case_id, pa.int64()).to_pylist(),
            "customer_type": rng.choice(["individual", "individual", "sme", "corporate"], n),
            "time_zone": np.full(n, "Asia/Shanghai"),
            "language": np.full(n, "zh_CN"),
            "promise_active": rng.random(n) < 0.05,
            "days_to_due": np.where(overdue, -1, rng.integers(0, 31, n)),
            "score_behaviour": rng.integers(400, 800, n),
        }
    )
    inputs = inputs.set_column(
        1, "case_id", pa.array([c if c > 0 else None for c in case_id], pa.int64())
    )
    pick = np.flatnonzero(overdue & (rng.random(n) < 0.33))
    history = pa.table(
        {
            "loan_id": ids[pick],
            "case_id": pa.array(case_id[pick], pa.int64()),
            "step": rng.choice(["sms_d1", "push_d2", "call_d10", "letter_d35"], len(pick)),
            "strategy": np.full(len(pick), "retail-default"),
        }
    )
    for table, path in zip((snapshot, inputs, history), files, strict=True):
        pq.write_table(table, path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=200_000)
    args = parser.parse_args()
    import ibis

    from arrears.strategy import load_strategy, proposed_actions

    snap_f, inputs_f, hist_f = build(Path(__file__).parent / ".data" / f"strategy-{args.loans}",
                                     args.loans)  # fmt: skip
    con = ibis.duckdb.connect()
    snap, inputs, hist = (con.read_parquet(str(f)) for f in (snap_f, inputs_f, hist_f))

    started = time.perf_counter()
    joined = snap.join(inputs, "loan_id").count().execute()
    scan = time.perf_counter() - started

    strategy = load_strategy()
    started = time.perf_counter()
    actions = proposed_actions(snap, inputs, strategy, AS_OF, hist).to_pyarrow()
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "strategy_day",
                "loans": args.loans,
                "joined": int(joined),
                "actions": actions.num_rows,
                "seconds": round(elapsed, 3),
                "loans_per_second": round(args.loans / elapsed),
                "reference_scan_seconds": round(scan, 3),
                "ratio": round(elapsed / scan, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
