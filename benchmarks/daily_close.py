"""One daily close of an N-loan book on the Ibis batch engine; one JSON line out.

    python benchmarks/daily_close.py --accounts 1000000 [--engine duckdb|spark]

The book (state of D-1, the schedule of every installment still to fall due, the
payments of D) is synthesised with NumPy into ``benchmarks/.data/close-N`` and reused
by later runs. About one loan in ten is delinquent with one to six unpaid installments
(penalty, compound, fees, some at the cost cap), one in thirty has an installment
falling due on D, one in thirty pays on D.

The reference measured in the same run is the scalar domain core closing the same day
for a varied sample of 2,000 loans (the equivalence test's book): ``ratio`` is the
scalar time per account over the engine's time per account. Peak RSS covers this
process and its children (Spark's JVM included).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from arrears.batch.close import BatchBook, Closer
from arrears.batch.state import ACCOUNTS, DUES, LOANS, PAYMENTS, SCHEDULE, day_number
from arrears.domain.account import advance
from arrears.domain.products import DEFAULT_CATALOG_PATH, load_catalog

DAY = date(2026, 6, 30)  # the day closed
CATALOG = load_catalog(DEFAULT_CATALOG_PATH)
DATA = Path(__file__).parent / ".data"


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pa.array(np.char.add(prefix, np.char.zfill(numbers.astype("U9"), 9)), pa.string())


def synthesize(book: BatchBook, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    d = day_number(DAY)
    prev = d - 1
    codes = np.array(sorted(CATALOG.products))
    product = codes[rng.integers(0, len(codes), n)]
    term = rng.choice(np.array([6, 12, 24, 36]), n)
    principal = rng.integers(50_000, 5_000_000, n).astype(np.int64)
    disbursed = prev - rng.integers(1, 30 * term)  # still inside the term
    last_due = disbursed + 30 * term
    loan_ids = _ids("L", np.arange(n))
    customer_ids = _ids("C", rng.integers(0, n * 4 // 5, n))
    per_inst = principal // term
    interest = (principal * 15 + 500) // 1000  # 1.5% a month, flat
    # installments still to fall due: seq k due at disbursed + 30 k, k = fallen+1 .. term
    fallen = (prev - disbursed) // 30
    remaining = term - fallen
    rows = np.repeat(np.arange(n), remaining)
    offset = np.arange(rows.size) - np.repeat(np.cumsum(remaining) - remaining, remaining)
    seq = fallen[rows] + 1 + offset
    due = disbursed[rows] + 30 * seq
    sched_principal = np.where(
        seq == term[rows], principal[rows] - per_inst[rows] * (term[rows] - 1), per_inst[rows]
    )
    order = np.lexsort((seq, rows, due))
    schedule = pa.Table.from_arrays(
        [
            loan_ids.take(pa.array(rows[order])),
            pa.array(seq[order].astype(np.int32)),
            pa.array(due[order].astype(np.int32)),
            pa.array(sched_principal[order]),
            pa.array(interest[rows][order]),
        ],
        schema=SCHEDULE,
    )
    not_due = np.bincount(rows, weights=sched_principal, minlength=n).astype(np.int64)
    # one loan in ten is delinquent on its last 1..6 fallen-due installments
    late = (rng.random(n) < 0.10) & (fallen >= 1)
    missed = np.where(late, np.minimum(rng.integers(1, 7, n), fallen), 0)
    drows = np.repeat(np.arange(n), missed)
    doff = np.arange(drows.size) - np.repeat(np.cumsum(missed) - missed, missed)
    dseq = fallen[drows] - doff
    dues = pa.Table.from_arrays(
        [
            loan_ids.take(pa.array(drows)),
            pa.array(dseq.astype(np.int32)),
            pa.array((disbursed[drows] + 30 * dseq).astype(np.int32)),
            pa.array(per_inst[drows]),
            pa.array(interest[drows]),
        ],
        schema=DUES,
    ).sort_by([("loan_id", "ascending"), ("seq", "ascending")])
    p_due = np.bincount(drows, weights=per_inst[drows], minlength=n).astype(np.int64)
    i_due = np.bincount(drows, weights=interest[drows], minlength=n).astype(np.int64)
    oldest = np.where(late, disbursed + 30 * (fallen - missed + 1), prev)
    dpd = np.where(late & (prev - oldest > 3), prev - oldest, 0).astype(np.int32)
    penalty = np.where(late, (p_due * dpd * 75) // 100_000, 0).astype(np.int64)
    compound = np.where(late, (i_due * dpd * 75) // 100_000, 0).astype(np.int64)
    fee = (missed * 3000).astype(np.int64)
    # cost so far: interest fallen due plus charges; a quarter of the late ones at the cap
    charged = interest * fallen + penalty + compound + fee
    cap = (principal * 24 * (prev - disbursed)) // 36_500
    charged = np.where(late & (rng.random(n) < 0.25), np.maximum(charged, cap), charged)
    zeros = np.zeros(n, np.int64)
    edges = np.array(CATALOG.buckets.edges)
    bucket_index = np.searchsorted(edges, dpd, side="left").astype(np.int16)
    names = np.array(CATALOG.buckets.names)
    columns = {
        "loan_id": loan_ids,
        "customer_id": customer_ids,
        "product_code": pa.array(product),
        "principal": pa.array(principal),
        "disbursed": pa.array(disbursed.astype(np.int32)),
        "last_due": pa.array(last_due.astype(np.int32)),
        "written_off": pa.array(np.zeros(n, bool)),
        "anchor_due": pa.nulls(n, pa.int32()),
        "anchor_seq": pa.nulls(n, pa.int32()),
        "as_of": pa.array(np.full(n, prev, np.int32)),
        "status": pa.array(np.full(n, "active")),
        "dpd": pa.array(dpd),
        "bucket": pa.array(names[bucket_index]),
        "bucket_index": pa.array(bucket_index),
        "loan_class": pa.array(np.where(dpd > 0, "special_mention", "normal")),
        "first_payment_default": pa.array((dpd > 0) & (fallen - missed == 0)),
        "roll_forward": pa.array(np.zeros(n, bool)),
        "roll_back": pa.array(np.zeros(n, bool)),
        "cured": pa.array(np.zeros(n, bool)),
        "newly_delinquent": pa.array(np.zeros(n, bool)),
        "customer_max_dpd": pa.array(dpd),
        "customer_bucket_index": pa.array(bucket_index),
        "not_due": pa.array(not_due),
        "principal_due": pa.array(p_due),
        "interest_due": pa.array(i_due),
        "overdue_principal": pa.array(np.where(dpd > 0, p_due, 0)),
        "overdue_interest": pa.array(np.where(dpd > 0, i_due, 0)),
        "penalty": pa.array(penalty),
        "compound": pa.array(compound),
        "fee": pa.array(fee),
        "costs": pa.array(zeros),
        "credit": pa.array(zeros),
        "paid_today": pa.array(zeros),
        "charged": pa.array(charged.astype(np.int64)),
        "charges": pa.array((charged - interest * fallen).astype(np.int64)),
        "overdue_days": pa.array(zeros),  # no product caps on the principal in arrears
    }
    # what the synthetic book does not model starts at zero for every loan: the shadow
    # balances of charged-off loans, 罚息/复利 accrued and not yet posted
    unmodelled = {f.name for f in ACCOUNTS} - set(columns)
    for name in unmodelled:
        kind = ACCOUNTS.field(name).type
        columns[name] = pa.array(np.zeros(n, bool) if pa.types.is_boolean(kind) else zeros)
    accounts = pa.Table.from_arrays(
        [columns[f.name].cast(f.type) for f in ACCOUNTS], schema=ACCOUNTS
    )
    payers = np.flatnonzero(rng.random(n) < 1 / 30)
    payments = pa.Table.from_arrays(
        [
            loan_ids.take(pa.array(payers)),
            pa.array(np.full(payers.size, d, np.int32)),
            pa.array(rng.integers(1_000, 300_000, payers.size).astype(np.int64)),
        ],
        schema=PAYMENTS,
    )
    loans = accounts.select(LOANS.names)
    book.write_static(CATALOG, loans=loans, schedule=schedule, payments=payments)
    book.write_state(DAY - timedelta(days=1), accounts, dues)


def scalar_seconds_per_account(sample_size: int = 2000) -> float:
    """The domain core closing one day, per account, on the equivalence test's book."""
    from arrears.batch.sample import sample_book

    start = DAY - timedelta(days=1)
    sample = sample_book(CATALOG, sample_size, start, DAY, seed=3)
    ready = []
    for loan in sample:
        if loan.account.terms.disbursed_on > start:
            continue
        acc, _ = advance(loan.account, start, [p for p in loan.payments if p.paid_on <= start])
        ready.append((acc, [p for p in loan.payments if p.paid_on == DAY]))
    started = time.perf_counter()
    for acc, pays in ready:
        advance(acc, DAY, pays, CATALOG, record_from=DAY)
    return (time.perf_counter() - started) / len(ready)


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + children) / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    book = BatchBook(DATA / f"close-{args.accounts}")
    if not args.measure:
        if not (book.state_dir(DAY - timedelta(days=1)) / "accounts.parquet").exists():
            started = time.perf_counter()
            synthesize(book, args.accounts)
            print(f"synthesised in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        # the close runs in a fresh process, so its peak RSS is its own
        command = [sys.executable, __file__, "--measure", *(argv or sys.argv[1:])]
        return subprocess.run(command, check=False).returncode
    shutil.rmtree(book.state_dir(DAY), ignore_errors=True)
    closer = Closer(book, CATALOG, args.engine, snapshots=book.root / "snapshots")
    started = time.perf_counter()
    result = closer.close(DAY)
    seconds = time.perf_counter() - started
    rss = peak_rss_mb()
    scalar = scalar_seconds_per_account()
    per_account = seconds / result.accounts
    print(
        json.dumps(
            {
                "accounts": result.accounts,
                "engine": args.engine,
                "seconds": round(seconds, 2),
                "accounts_per_second": round(result.accounts / seconds),
                "peak_rss_mb": rss,
                "scalar_us_per_account": round(scalar * 1e6, 1),
                "engine_us_per_account": round(per_account * 1e6, 2),
                "ratio": round(scalar / per_account, 1),
                "delinquent": result.summary["delinquent"],
                "paid_today_cents": result.summary["paid_today"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
