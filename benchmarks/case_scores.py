"""The case page's score lookup on a book-sized score file: one loan's scores, per view.

Run: ``python benchmarks/case_scores.py [--loans 10000000] [--lookups 300]``.

A score file of ``--loans`` loans and two models (an early-warning score on two thirds
of them, a roll-forward score on all: the shape the daily close writes) is written by
``arrears.models.scoring.write_scores`` into a scratch workspace, and the case page's
``case_view.loan_scores`` looks up random loans in it. The reference measured in the
same run is the same rows written as ``pq.write_table`` lays them out by default (row
groups of up to 1,048,576 rows). Printed: file sizes, row groups, lookup p50 / p99 in
milliseconds for both, the p99 ratio, and a check that both give the same rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arrears.models.scoring import SCORE_SCHEMA, write_scores
from arrears.services.book_models import scores_path
from arrears.services.workbench.case_view import loan_scores

DAY = date(2026, 11, 30)


def score_rows(loans: int, seed: int = 0) -> pa.Table:
    """Two models' scores, as ``score_table`` gives them (unsorted across models)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{n:09d}" for n in range(loans)], dtype=object)
    current = np.sort(rng.choice(loans, size=loans * 2 // 3, replace=False))
    parts = []
    for model, rows in (("early_warning_30", current), ("roll_forward", np.arange(loans))):
        n = len(rows)
        parts.append(
            pa.table(
                {
                    "loan_id": pa.array(ids[rows], pa.string()),
                    "customer_id": pa.array(ids[rows], pa.string()),
                    "model": pa.array([model] * n, pa.string()),
                    "version": pa.array(["0123456789ab"] * n, pa.string()),
                    "score": pa.array(rng.integers(300, 850, n), pa.int32()),
                    "pd": pa.array(rng.random(n), pa.float64()),
                },
                schema=SCORE_SCHEMA,
            )
        )
    return pa.concat_tables(parts)


def lookups(root: Path, loan_ids: list[str]) -> tuple[list[float], list[list[dict]]]:
    seconds, found = [], []
    for loan_id in loan_ids:
        start = time.perf_counter()
        found.append(loan_scores(root, loan_id))
        seconds.append(time.perf_counter() - start)
    return seconds, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=10_000_000)
    parser.add_argument("--lookups", type=int, default=300)
    args = parser.parse_args(argv)
    rows = score_rows(args.loans)
    rng = np.random.default_rng(1)
    wanted = [f"L{n:09d}" for n in rng.integers(0, args.loans, args.lookups)]
    with tempfile.TemporaryDirectory() as scratch:
        ours, default = Path(scratch) / "ours", Path(scratch) / "default"
        start = time.perf_counter()
        write_scores(rows, scores_path(ours, DAY))
        print(f"write_scores: {len(rows):,} rows in {time.perf_counter() - start:.1f} s")
        sorted_rows = pq.read_table(scores_path(ours, DAY))
        scores_path(default, DAY).parent.mkdir(parents=True)
        pq.write_table(sorted_rows, scores_path(default, DAY), compression="zstd")
        results = {}
        for name, root in (("default layout", default), ("write_scores", ours)):
            meta = pq.read_metadata(scores_path(root, DAY))
            lookups(root, wanted[:5])  # warm the page cache
            seconds, found = lookups(root, wanted)
            ms = sorted(s * 1000 for s in seconds)
            p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            results[name] = (p99, found)
            size = scores_path(root, DAY).stat().st_size / 1e6
            print(
                f"{name:<15} {size:7.1f} MB {meta.num_row_groups:>4} row groups  "
                f"lookup p50 {statistics.median(ms):8.2f} ms  p99 {p99:8.2f} ms"
            )
    same = results["default layout"][1] == results["write_scores"][1]
    assert all(results["write_scores"][1]), "every looked-up loan has a roll-forward score"
    print(f"same rows from both: {same}")
    ratio = results["default layout"][0] / results["write_scores"][0]
    print(f"lookup p99, default layout / write_scores: {ratio:.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
