"""Import a generated demo book (customers, loans, payments) and print one JSON line.

    python benchmarks/import_demo_book.py [--loans 50000] [--book DIR] [--url URL]
                                          [--profile KIND]

The book is the one ``arrears demo`` generates (Parquet, typed columns); it is
generated into ``--book`` unless that folder already holds it. The store is a fresh
SQLite file in a temp dir unless ``--url`` names another (PostgreSQL: a fresh schema
``bench_import_<hex>`` in that database, dropped at the end). For each kind the line
has the rows imported, wall seconds, rows per second and CPU seconds of this process
(``time.process_time``, steadier than wall time on a shared machine). ``--profile loans`` prints the
cProfile of that kind's import (sorted by own time) to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from arrears.domain.products import load_catalog
from arrears.ingest import import_file
from arrears.ingest.generator import generate_portfolio
from arrears.store.db import make_engine, redact, upgrade
from arrears.store.unit_of_work import UnitOfWork

AS_OF = date(2026, 11, 22)
KINDS = ("customers", "loans", "payments")


def fresh_store(url: str) -> tuple[Engine, Callable[[], None]]:
    """A migrated store holding the catalog's products, and how to dispose of it."""
    if make_url(url).get_backend_name() != "postgresql":
        engine = make_engine(url)
        cleanup = engine.dispose
    else:
        schema = f"bench_import_{uuid.uuid4().hex[:12]}"
        admin = create_engine(url)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        engine = make_engine(scoped.render_as_string(hide_password=False))

        def cleanup() -> None:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()

    upgrade(engine)
    with UnitOfWork(engine) as uow:
        uow.products.ensure(load_catalog())
        uow.commit()
    return engine, cleanup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=50_000)
    parser.add_argument("--book", default=None, help="folder of the book (default: temp)")
    parser.add_argument("--url", default=None, help="database URL (default: SQLite in temp)")
    parser.add_argument("--profile", choices=KINDS, default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="arrears-demo-import-"))
    book = Path(args.book) if args.book else work / "book"
    if not (book / "payments.parquet").exists():
        generate_portfolio(book, args.loans, AS_OF, seed=args.seed)
    url = args.url or f"sqlite:///{work / 'arrears.sqlite'}"
    engine, cleanup = fresh_store(url)
    catalog = load_catalog()
    result: dict[str, object] = {"loans_in_book": args.loans, "database": redact(url)}
    for kind in KINDS:
        profiler = cProfile.Profile() if args.profile == kind else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        report = import_file(
            engine, book / f"{kind}.parquet", kind=kind, catalog=catalog, as_of=AS_OF
        )
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        result[kind] = {
            "rows": report.rows_imported,
            "seconds": round(wall, 2),
            "rows_per_s": round(report.rows_imported / wall),
            "cpu_seconds": round(cpu, 2),
        }
        if profiler is not None:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(35)
    cleanup()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
