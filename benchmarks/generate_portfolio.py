"""Benchmark the synthetic portfolio generator and describe the book it writes.

    python benchmarks/generate_portfolio.py --loans 1000000 [--out DIR] [--seed 42]
        [--as-of 2025-06-30] [--chunk-size 200000] [--stats]

Prints one JSON line: loans, payments, seconds, loans_per_second, peak_rss_mb (before
``--stats``), and a reference measured in the same run: how many loans per second the
domain core builds schedules for one by one (``reference_loans_per_second``) and the
generator's speed as a ratio of it. ``--stats`` adds the book at as_of: share of active
loans past due, bucket shares by "oldest installment not covered by cumulative
payments", and M1 (30 days earlier) roll and cure rates.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.ingest.generator import (
    PRODUCT_CODES,
    ScheduleCache,
    expand_installments,
    generate_portfolio,
)


def _units(column: pa.ChunkedArray) -> np.ndarray:
    """Unscaled int64 values of a decimal128 column (cents for money)."""
    arr = column.combine_chunks()
    words = np.frombuffer(arr.buffers()[1], dtype="<i8", count=2 * len(arr), offset=arr.offset * 16)
    return words[::2].copy()


def _days(column: pa.ChunkedArray) -> np.ndarray:
    """Days since 1970-01-01 of a date32 column, -1 where null."""
    days = pc.fill_null(column.combine_chunks().cast(pa.int32()), -1)
    return days.to_numpy(zero_copy_only=False).astype(np.int64)


def book_stats(out_dir: Path, as_of: date) -> dict[str, object]:
    """Delinquency of the written book at ``as_of`` and 30 days earlier, ignoring charges."""
    catalog = load_catalog()
    loans = pq.read_table(out_dir / "loans.parquet")
    pays = pq.read_table(out_dir / "payments.parquet", columns=["loan_id", "paid_on", "amount"])
    product = pc.index_in(loans["product_code"], pa.array(PRODUCT_CODES)).to_numpy()
    term = loans["term_months"].to_numpy().astype(np.int64)
    args = (product, _units(loans["principal"]), _units(loans["annual_rate"]), term,
            _days(loans["disbursed_on"]))  # fmt: skip
    first_due = _days(loans["first_due_date"])
    pay_loan = pc.utf8_slice_codeunits(pays["loan_id"], 1).cast(pa.int64()).to_numpy() - 1
    pay_day, pay_cents = _days(pays["paid_on"]), _units(pays["amount"]).astype(np.float64)
    cache, edges = ScheduleCache(catalog), np.array(catalog.buckets.edges)

    def buckets(day: int) -> tuple[np.ndarray, np.ndarray]:
        ins = expand_installments(cache, *args, day, first_due)
        n = len(product)
        paid = np.bincount(pay_loan, weights=np.where(pay_day <= day, pay_cents, 0), minlength=n)
        due_n = np.bincount(ins.loan, minlength=n)
        first_row = np.cumsum(due_n) - due_n
        cum = np.cumsum(ins.due_cents)
        cum_in_loan = cum - (cum[first_row] - ins.due_cents[first_row])[ins.loan]
        covered = np.bincount(ins.loan, weights=cum_in_loan <= paid[ins.loan], minlength=n)
        behind = covered < due_n
        oldest = ins.due_day[np.minimum(first_row + covered.astype(np.int64), len(ins.loan) - 1)]
        dpd = np.where(behind, day - oldest, 0)
        active = (args[4] <= day) & (paid < ins.total_cents)
        return np.searchsorted(edges, dpd, side="left"), active

    day = (as_of - date(1970, 1, 1)).days
    now, active = buckets(day)
    before, active_before = buckets(day - 30)
    names = catalog.buckets.names
    m1 = active_before & (before == 1)
    return {
        "active_loans": int(active.sum()),
        "fully_repaid_share": round(float(1 - active.mean()), 4),
        "past_due_share_of_active": round(float((now[active] > 0).mean()), 4),
        "bucket_share_of_active": {
            names[i]: round(float((now[active] == i).mean()), 4) for i in range(len(names))
        },
        "m1_30_days_earlier": int(m1.sum()),
        "m1_to_m2_roll_rate": round(float((now[m1] >= 2).mean()), 4),
        "m1_cure_rate": round(float((now[m1] == 0).mean()), 4),
    }


def reference_loans_per_second(samples: int = 1_000) -> float:
    """Loans per second when each loan's schedule is built by the domain core, one by one."""
    catalog = load_catalog()
    rng = np.random.default_rng(0)
    products = [catalog.product(code) for code in PRODUCT_CODES]
    start = time.perf_counter()
    for i in range(samples):
        product = products[i % len(products)]
        disbursed = date(2024, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
        principal = Decimal(int(rng.integers(5, 200)) * 500)
        build_schedule(product, LoanTerms(principal, product.annual_rate, 12, disbursed))
    return samples / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, required=True)
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary directory")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--chunk-size", type=int, default=200_000)
    parser.add_argument("--stats", action="store_true", help="add delinquency stats of the book")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = opts.out or Path(tmp)
        start = time.perf_counter()
        result = generate_portfolio(out, opts.loans, opts.as_of, opts.seed,
                                    chunk_size=opts.chunk_size)  # fmt: skip
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        reference = reference_loans_per_second()
        line: dict[str, object] = {
            "loans": result.loans,
            "payments": result.payments,
            "customers": result.customers,
            "seconds": round(seconds, 2),
            "loans_per_second": round(result.loans / seconds),
            "peak_rss_mb": round(peak_mb),
            "reference_loans_per_second": round(reference),
            "ratio": round(result.loans / seconds / reference, 1),
            "behaviour_shares": {k: round(v, 4) for k, v in result.behaviour_shares.items()},
        }
        if opts.stats:
            line["book"] = book_stats(out, opts.as_of)
        print(json.dumps(line, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
