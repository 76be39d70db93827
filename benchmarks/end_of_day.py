"""One end of day of an N-loan book with 24 months of history, step by step; JSON out.

    python benchmarks/end_of_day.py --loans 50000 --db sqlite|postgres --engine duckdb|spark
    python benchmarks/end_of_day.py --loans 50000 --catch-up 30

The book is the demo's generator's (24 months of loans, ~11% of active loans past due,
an installment falling due and a payment arriving for about one loan in thirty a day),
imported into a fresh store (SQLite in ``benchmarks/.data``, or a new schema of the
PostgreSQL database of ``--url``) and closed through D-1 by the default close: that is
the setup, timed apart. Then the day's activity: D's payments wait to be posted and 1% of
the loans get workbench changes (half of a past-due loan's penalty waived, or a current
loan's remaining schedule extended by two months, as approved arrangements post them).

Measured, in this order, all on the same book:

- ``reference_sample``: the close as it was before carried state (every ledger reloaded
  and replayed, then advanced through D by the domain core) on a sample of ``--sample``
  loans (20k, a contiguous block of loan ids: the generator's ids are in no particular
  order of age or behaviour), and the carrying close on the same sample; nothing is
  written;
- ``batch_engine``: the Ibis engine on ``--engine``: the handover from the store, then
  the advance of D; the loans whose snapshot row differs from the end of day's are
  counted, and the first few shown with their differing columns;
- ``end_of_day``: ``run_end_of_day`` through D, every step with its seconds and rows
  (take in, advance, post, cases, publish, promises, score, treat), and the per-loan
  ratio of the reference close to it.

``load`` gives the machine's load average and a ``timeit`` of ``sum(range(50))`` (about
0.5 µs on this machine when quiet), so a figure from a busy machine says so. Peak RSS
covers this process and its forked workers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from arrears.batch.book import open_loan_ids
from arrears.batch.carried import read_carried
from arrears.batch.workers import Job, close_all
from arrears.domain.operations import waive
from arrears.domain.products import Component
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.daily import after_close
from arrears.services.end_of_day import run_end_of_day
from arrears.services.workbench import restructure
from arrears.services.workbench.arrangements import _replace_schedule, remaining_installments
from arrears.snapshots import MONEY_COLUMNS, read_snapshot
from arrears.store.db import upgrade
from arrears.store.models import InstallmentRow, PaymentRow
from arrears.store.repositories import EntryRepository
from arrears.workspace import Workspace

DAY = date(2026, 6, 30)  # D, the day the end of day closes
DATA = Path(__file__).parent / ".data"
PG_URL = os.environ.get("ARREARS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def load() -> dict[str, Any]:
    """The machine's load: 1/5/15-minute load averages and a tiny timeit (µs a loop)."""
    out = subprocess.run(
        [sys.executable, "-m", "timeit", "sum(range(50))"], capture_output=True, text=True
    ).stdout.strip()
    return {"loadavg": list(os.getloadavg()), "cpus": os.cpu_count(), "timeit_sum50": out}


def peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "largest_child": round(children, 1)}


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, round(time.perf_counter() - started, 2)


def build(
    root: Path, url: str, loans: int, seed: int, through: date = DAY - timedelta(days=1)
) -> tuple[Workspace, dict[str, Any]]:
    """A workspace holding the generated book, closed through ``through`` (D-1) by the
    default close."""
    data = DATA / f"eod-book-{loans}-{seed}"
    setup: dict[str, Any] = {}
    if not (data / "payments.parquet").exists():
        _, setup["generate"] = _timed(generate_portfolio, data, loans, DAY, seed=seed)
    ws = Workspace.at(root, url)
    ws.init()
    started = time.perf_counter()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, data / f"{kind}.parquet", kind=kind, as_of=DAY + timedelta(1))
    setup["import"] = round(time.perf_counter() - started, 2)
    history, setup["close_history"] = _timed(run_end_of_day, ws, through, 1, after=False)
    setup["history_entries"] = history.close.entries_posted
    return ws, setup


def workbench_changes(ws: Workspace, share: float, seed: int) -> dict[str, int]:
    """Waivers and extensions on ``share`` of the loans, posted on D as approved
    arrangements post them."""
    snapshot = read_snapshot(ws.snapshots_dir, DAY - timedelta(days=1))
    rows = snapshot.filter(pc.equal(snapshot["status"], "active")).to_pylist()
    rng = random.Random(seed)
    wanted = max(1, int(len(snapshot) * share))
    charged = [r for r in rows if r["penalty"] >= Decimal("0.02")]
    current = [r for r in rows if r["dpd"] == 0 and r["principal_not_due"] > 0]
    waived = rng.sample(charged, min(len(charged), wanted // 2))
    extended = rng.sample(current, min(len(current), wanted - len(waived)))
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        for n, r in enumerate(waived):
            ledger = entries.ledger(r["loan_id"])
            half = (r["penalty"] / 2).quantize(Decimal("0.01"))
            result = waive(ledger, f"bench:{n}:waive", DAY, Component.PENALTY, half, "bench")
            entries.add_entry(r["loan_id"], result.entry)
        for r in extended:
            ledger = entries.ledger(r["loan_id"])
            remaining = remaining_installments(session, r["loan_id"], ledger)
            _replace_schedule(session, r["loan_id"], restructure.extend(remaining, 2))
        session.commit()
    return {"waivers": len(waived), "extensions": len(extended)}


def activity(ws: Workspace) -> dict[str, int]:
    """What D holds: installments falling due, payments waiting, loans past due on D-1."""
    snapshot = read_snapshot(ws.snapshots_dir, DAY - timedelta(days=1))
    with ws.engine.connect() as conn:
        falling = conn.scalar(
            select(func.count()).select_from(InstallmentRow).where(InstallmentRow.due_date == DAY)
        )
        paying = conn.scalar(
            select(func.count()).select_from(PaymentRow).where(PaymentRow.paid_on == DAY)
        )
    return {
        "loans_active": int(pc.sum(pc.equal(snapshot["status"], "active")).as_py()),
        "past_due": int(pc.sum(pc.greater(snapshot["dpd"], 0)).as_py()),
        "installments_falling_due": int(falling or 0),
        "payments": int(paying or 0),
    }


def reference_sample(ws: Workspace, size: int) -> dict[str, Any]:
    """The replaying and the carrying close of D on the same sample (nothing written)."""
    with ws.engine.connect() as conn:
        ids = open_loan_ids(conn, DAY)
    sample = ids[:size]  # a contiguous block: each worker loads whole ranges of ids
    catalog = ws.catalog
    replaying = Job(ws.database_url, DAY, DAY, catalog)
    carrying = Job(ws.database_url, DAY, DAY, catalog, carried=read_carried(ws.root))
    _, replay_s = _timed(close_all, replaying, sample)
    result, carry_s = _timed(close_all, carrying, sample)
    return {
        "loans": len(sample),
        "replaying_seconds": replay_s,
        "carrying_seconds": carry_s,
        "carried_loans": result.resumed,
        "replaying_ms_per_loan": round(replay_s / len(sample) * 1000, 3),
        "carrying_ms_per_loan": round(carry_s / len(sample) * 1000, 3),
    }


def batch_engine(ws: Workspace, engine: str) -> tuple[dict[str, Any], Any]:
    """The handover from the store and the engine's advance of D."""
    from arrears.batch.close import Closer
    from arrears.batch.handover import from_store

    (book, start, pending), handover_s = _timed(from_store, ws)
    closer, connect_s = _timed(Closer, book, ws.catalog, engine)
    result, advance_s = _timed(closer.close, DAY)
    return {
        "engine": engine,
        "handover_seconds": handover_s,
        "connect_seconds": connect_s,
        "advance_seconds": advance_s,
        "loans": result.accounts,
        "payments": pending,
        "state_from": start.isoformat(),
    }, book


def differing_loans(ws: Workspace, book: Any) -> dict[str, Any]:
    """Loans whose money, DPD or status on D differ between the engine and the close,
    and the first few of them with the columns that differ. The close's snapshot holds
    the loans active on D and those that stopped being active on D (repaid, charged
    off); the engine's state also every loan closed or written off before: compared are
    the engine's rows active on D or in the close's snapshot."""
    from arrears.snapshots import snapshot_from_accounts

    accounts, _ = book.read_state(DAY)
    engine = snapshot_from_accounts(accounts)
    close = read_snapshot(ws.snapshots_dir, DAY)
    listed = pc.is_in(engine["loan_id"], close["loan_id"].combine_chunks())
    engine = engine.filter(pc.or_(pc.equal(engine["status"], "active"), listed))
    columns = ["loan_id", "status", "dpd", *MONEY_COLUMNS]
    mine = {r["loan_id"]: r for r in engine.select(columns).to_pylist()}
    theirs = {r["loan_id"]: r for r in close.select(columns).to_pylist()}
    differing = sorted(
        lid for lid in mine.keys() | theirs.keys() if mine.get(lid) != theirs.get(lid)
    )
    examples = {}
    for lid in differing[:5]:
        m, t = mine.get(lid), theirs.get(lid)
        if m is None or t is None:
            examples[lid] = "only in the " + ("close" if m is None else "engine")
        else:
            examples[lid] = {k: [str(m[k]), str(t[k])] for k in columns if m[k] != t[k]}
    return {"loans": len(differing), "first (engine, close)": examples}


def catch_up(ws: Workspace, days: int) -> dict[str, Any]:
    """The close (take in to publish, no treatments) of one day, D - ``days``, then of
    the ``days`` days after it, D - ``days`` + 1 through D, in one run (a close that
    missed them catches up), on a book closed through D - ``days`` - 1."""
    first = DAY - timedelta(days=days)
    one, one_s = _timed(run_end_of_day, ws, first, 1, after=False)
    many, many_s = _timed(run_end_of_day, ws, DAY, 1, after=False)

    def steps(eod: Any) -> list[dict[str, Any]]:
        return [{"name": s.name, "seconds": s.seconds, "rows": s.rows} for s in eod.steps]

    return {
        "one_day": {"as_of": first.isoformat(), "seconds": one_s, "steps": steps(one)},
        "catch_up": {
            "from": (first + timedelta(days=1)).isoformat(),
            "through": DAY.isoformat(),
            "days": days,
            "seconds": many_s,
            "steps": steps(many),
            "entries_posted": many.close.entries_posted,
        },
        "ratio_catch_up_to_one_day": round(many_s / max(one_s, 0.01), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=50_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--url", default=PG_URL, help="PostgreSQL database (a schema is made)")
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--changes", type=float, default=0.01, help="share with workbench changes")
    parser.add_argument(
        "--catch-up",
        type=int,
        default=0,
        metavar="DAYS",
        help="measure instead the close of one day and then of DAYS missed days in one run",
    )
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"loans": args.loans, "db": args.db, "as_of": DAY.isoformat()}
    out["load_before"] = load()
    root = DATA / f"eod-{args.db}-{args.loans}-{uuid.uuid4().hex[:8]}"
    schema = None
    if args.db == "sqlite":
        url = f"sqlite:///{root / 'arrears.sqlite'}"
        root.mkdir(parents=True)
    else:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(args.url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(args.url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        upgrade(create_engine(url))
        if args.catch_up:
            through = DAY - timedelta(days=args.catch_up + 1)
            ws, out["setup"] = build(root, url, args.loans, args.seed, through)
            out |= catch_up(ws, args.catch_up)
            out["peak_rss_mb"] = peak_rss_mb()
            out["load_after"] = load()
            return _print(out)
        ws, out["setup"] = build(root, url, args.loans, args.seed)
        out["workbench_changes"] = workbench_changes(ws, args.changes, args.seed)
        out["activity"] = activity(ws)
        out["reference_sample"] = reference_sample(ws, args.sample)
        try:
            out["batch_engine"], book = batch_engine(ws, args.engine)
        except Exception as exc:  # the engine is optional to the end of day: say why
            out["batch_engine"], book = {"engine": args.engine, "error": repr(exc)}, None
        # the end of day as run_end_of_day runs it: the close, then what follows it (a
        # failing step after the close is reported, the close's figures kept)
        eod, seconds = _timed(run_end_of_day, ws, DAY, 1, after=False)
        close = eod.close
        steps = list(eod.steps)
        try:
            after, after_s = _timed(after_close, ws, close.days)
            steps += after.steps
            seconds += after_s
        except Exception as exc:
            out["after_close_error"] = repr(exc)[:300]
        out["end_of_day"] = {
            "seconds": round(seconds, 2),
            "steps": [{"name": s.name, "seconds": s.seconds, "rows": s.rows} for s in steps],
            "loans": close.loans,
            "loans_carried": close.loans_resumed,
            "loans_idle": close.loans_idle,
            "entries_posted": close.entries_posted,
            "ms_per_loan": round(seconds / max(close.loans, 1) * 1000, 3),
        }
        close_seconds = sum(
            s.seconds for s in steps if s.name in ("take in", "advance", "post", "cases")
        )
        sample = out["reference_sample"]
        out["ratio_reference_to_close"] = round(
            sample["replaying_ms_per_loan"] / (close_seconds / max(close.loans, 1) * 1000), 2
        )
        if book is not None:
            differing = differing_loans(ws, book)
            out["batch_engine"]["loans_differing_from_close"] = differing["loans"]
            out["batch_engine"]["differing_from_close"] = differing["first (engine, close)"]
        out["peak_rss_mb"] = peak_rss_mb()
        out["load_after"] = load()
    finally:
        if schema is not None:
            with create_engine(args.url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        shutil.rmtree(root, ignore_errors=True)
    return _print(out)


def _print(out: dict[str, Any]) -> int:
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
