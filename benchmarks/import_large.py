"""Import a large payments file and report speed and peak memory as one JSON line.

    python benchmarks/import_large.py --rows 1000000 [--loans 100000] [--url URL]

The customers and loans the payments reference are written and imported first, in a
child process, so the peak RSS reported is that of the payments import alone. The
reference measured in the same run is a bare ``csv.reader`` pass over the same file
(``read_seconds``): ``ratio`` is import time over read time. ``in_memory_mb`` is what
the file's rows would take as Python lists of strings (estimated from the first
10,000 rows); the importer streams, so ``peak_rss_mb`` must stay far below it.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from arrears.domain.products import load_catalog
from arrears.ingest import import_file
from arrears.store.db import make_engine, redact, upgrade

AS_OF = date(2024, 12, 31)
CHANNELS = ["bank_transfer", "wechat", "alipay", "card", "cash"]


def write_book(folder: Path, loans: int) -> tuple[Path, Path]:
    customers_path, loans_path = folder / "customers.csv", folder / "loans.csv"
    with customers_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "name", "mobile"])
        for i in range(loans):
            writer.writerow([f"C{i:07d}", f"客户{i}", f"138{i:08d}"])
    rng = random.Random(1)
    with loans_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["loan_id", "customer_id", "product_code", "principal", "disbursed_on"])
        for i in range(loans):
            principal = rng.choice([3000, 5000, 10000, 20000, 50000])
            disbursed = date(2023, 1, 1) + timedelta(days=i % 365)
            writer.writerow([f"L{i:07d}", f"C{i:07d}", "CONSUMER", principal, disbursed])
    return customers_path, loans_path


def write_payments(path: Path, rows: int, loans: int) -> None:
    rng = random.Random(2)
    start = date(2024, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["payment_ref", "loan_id", "paid_on", "amount", "channel"])
        for i in range(rows):
            amount = f"{rng.randint(100, 500_000) / 100:,.2f}"
            paid = start + timedelta(days=rng.randrange(365))
            writer.writerow(
                [f"P{i:09d}", f"L{rng.randrange(loans):07d}", paid, amount, rng.choice(CHANNELS)]
            )


def setup(url: str, folder: str, loans: int) -> dict[str, float]:
    """Child process: create the store and import the customers and loans."""
    engine = make_engine(url)
    upgrade(engine)
    customers_path, loans_path = write_book(Path(folder), loans)
    catalog = load_catalog()
    started = time.perf_counter()
    import_file(engine, customers_path, catalog=catalog, as_of=AS_OF)
    middle = time.perf_counter()
    import_file(engine, loans_path, catalog=catalog, as_of=AS_OF)
    return {"customers_seconds": middle - started, "loans_seconds": time.perf_counter() - middle}


def _setup_child(url: str, folder: str, loans: int, queue: multiprocessing.Queue) -> None:
    queue.put(setup(url, folder, loans))


def in_memory_mb(path: Path, sample: int = 10_000) -> float:
    """Size the file's rows would take held as lists of str, extrapolated."""
    total_rows, sampled = 0, 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            total_rows += 1
            if total_rows <= sample:
                sampled += sys.getsizeof(row) + sum(sys.getsizeof(c) for c in row)
    return sampled / min(sample, max(total_rows, 1)) * total_rows / 2**20


def read_seconds(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="payments to import")
    parser.add_argument("--loans", type=int, default=None, help="default: rows/10, at most 100k")
    parser.add_argument("--url", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--workdir", default=None, help="where to write files (default: temp)")
    args = parser.parse_args()
    loans = args.loans or max(1, min(100_000, args.rows // 10))
    folder = Path(args.workdir or tempfile.mkdtemp(prefix="arrears-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.url or f"sqlite:///{folder / 'arrears.sqlite'}"

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_setup_child, args=(url, str(folder), loans, queue))
    child.start()
    setup_times = queue.get()
    child.join()

    payments = folder / "payments.csv"
    write_payments(payments, args.rows, loans)
    reference = read_seconds(payments)
    memory_estimate = in_memory_mb(payments)

    engine = make_engine(url)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    report = import_file(engine, payments, kind="payments", as_of=AS_OF)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "rows": report.rows_imported,
        "seconds": round(seconds, 2),
        "rows_per_s": round(report.rows_imported / seconds),
        "peak_rss_mb": round(peak, 1),
        "rss_before_import_mb": round(rss_before, 1),
        "file_mb": round(payments.stat().st_size / 2**20, 1),
        "in_memory_mb": round(memory_estimate, 1),
        "read_seconds": round(reference, 2),
        "ratio": round(seconds / reference, 1),
        "loans": loans,
        **{k: round(v, 2) for k, v in setup_times.items()},
        "database": redact(url),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
