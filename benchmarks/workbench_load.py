"""Loopback load on the workbench API over 100,000 cases in PostgreSQL.

    python benchmarks/workbench_load.py [--cases 100000] [--rate 200] [--seconds 60]
        [--warmup 5] [--workers 2] [--skip-build]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds a book in a PostgreSQL schema of its own (``bench_workbench``, recreated; rows
written with COPY): N customers and CONSUMER loans with their schedules and ledger
entries (3 installments fallen due, penalty accrued), N open cases spread over 100
collectors. Starts the app as ``arrears serve --workers N`` does (uvicorn worker
processes; the business clock set to 10:00 in the debtors' zone, so contacts are in
hours) on 127.0.0.1 and sends an open-loop load of ``--rate`` requests per second
for ``--warmup`` seconds, not counted (the workers fill their connection pools and warm
their caches), then for ``--seconds`` measured (bounded: at most rate × (warmup +
seconds) requests, 64 connections, a hard stop 30 s after the last one was due) from
20 logged-in collectors, over keep-alive connections of a
minimal asyncio HTTP/1.1 client (the generator shares the server's cores, so it must
cost little per request):

    GET  /api/v1/queue                (read)   35%
    GET  /api/v1/cases/{id}           (read)   35%   the whole case view
    POST /api/v1/cases/{id}/contacts  (write)  10%   through the compliance gate
    POST /api/v1/cases/{id}/promises  (write)  10%
    GET  /api/v1/auth/csrf            (reference: no database) 10%

Latency counts from the moment a request was due. Prints p50/p95/p99 per endpoint in
ms against the targets (p99 ≤ 100 ms reads, ≤ 250 ms writes), each endpoint's p50 as a
ratio of the reference's p50 in the same run, the statuses seen (409 = the compliance
gate refused the contact, e.g. a daily cap), and one JSON line with all figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_workbench"
COLLECTORS = 100
SESSIONS = 20
PASSWORD = "bench-password"
TARGETS = {"read": 100.0, "write": 250.0}
IN_FLIGHT = 64


def _url(pg: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(pg).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return url.render_as_string(hide_password=False)


def build(pg: str, cases: int) -> None:
    """Recreate the schema and fill it with COPY."""
    from sqlalchemy import create_engine, text

    from arrears.domain.ledger import Ledger
    from arrears.domain.operations import accrue, disburse, fall_due
    from arrears.domain.products import load_catalog
    from arrears.domain.schedule import LoanTerms, build_schedule
    from arrears.services.workbench.seed import seed_dispositions
    from arrears.services.workbench.users import hash_password
    from arrears.store.db import make_engine, upgrade
    from arrears.store.rows import entry_rows
    from arrears.store.unit_of_work import UnitOfWork

    admin = create_engine(pg)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    admin.dispose()
    engine = make_engine(_url(pg))
    upgrade(engine)
    catalog = load_catalog()
    terms = LoanTerms(Decimal("12000.00"), Decimal("0.18"), 12, date(2026, 1, 15))
    schedule = build_schedule(catalog.product("CONSUMER"), terms)
    ledger = disburse(Ledger("T"), "disb", terms.disbursed_on, terms.principal).ledger
    for installment in schedule[:3]:
        ledger = fall_due(ledger, installment).ledger
    accrued = accrue(ledger, "acc:1", date(2026, 11, 30), Decimal("50.00"), Decimal("5.00"))
    assert accrued is not None
    template = [entry_rows("T", e, seq) for seq, e in enumerate(accrued.ledger.entries, 1)]
    overdue = sum((i.amount for i in schedule[:3]), Decimal(0)) + Decimal("55.00")
    now = datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        uow.products.ensure(catalog)
        seed_dispositions(uow.session)
        uow.session.execute(text("INSERT INTO teams (name, created_at) VALUES ('bench', now())"))
        uow.commit()
    digest = hash_password(PASSWORD)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rng = random.Random(7)

        def copy(table: str, columns: list[str], rows) -> None:  # type: ignore[no-untyped-def]
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
                for row in rows:
                    out.write_row(row)

        copy(
            "users",
            [
                "username",
                "display_name",
                "password_hash",
                "role",
                "team_id",
                "language",
                "approval_limit",
                "active",
                "created_at",
            ],
            (
                (
                    f"c{n:03d}",
                    f"Collector {n}",
                    digest,
                    "collector",
                    1,
                    "zh_CN",
                    Decimal("100.00"),
                    True,
                    now,
                )
                for n in range(COLLECTORS)
            ),
        )
        copy(
            "customers",
            [
                "customer_id",
                "name",
                "id_number",
                "customer_type",
                "mobile",
                "email",
                "address",
                "time_zone",
                "language",
                "created_at",
            ],
            (
                (
                    f"C{n:07d}",
                    f"客户{n}",
                    f"110101199001{n:06d}",
                    "individual",
                    f"139{n:08d}",
                    f"d{n}@example.com",
                    f"北京市朝阳区建国路{n}号",
                    "America/New_York",
                    "zh_CN",
                    now,
                )
                for n in range(cases)
            ),
        )
        copy(
            "loans",
            [
                "loan_id",
                "customer_id",
                "product_code",
                "currency",
                "principal",
                "annual_rate",
                "term_months",
                "disbursed_on",
                "status",
                "closed_through",
                "created_at",
            ],
            (
                (
                    f"L{n:07d}",
                    f"C{n:07d}",
                    "CONSUMER",
                    "CNY",
                    terms.principal,
                    terms.annual_rate,
                    12,
                    terms.disbursed_on,
                    "active",
                    date(2026, 11, 30),
                    now,
                )
                for n in range(cases)
            ),
        )
        copy(
            "installments",
            ["loan_id", "seq", "due_date", "principal", "interest"],
            (
                (f"L{n:07d}", i.seq, i.due_date, i.principal, i.interest)
                for n in range(cases)
                for i in schedule
            ),
        )
        copy(
            "entries",
            [
                "loan_id",
                "ref",
                "kind",
                "posted_on",
                "amount",
                "reverses",
                "memo",
                "seq",
                "created_at",
            ],
            (
                (
                    f"L{n:07d}",
                    h["ref"],
                    h["kind"],
                    h["posted_on"],
                    h["amount"],
                    h["reverses"],
                    h["memo"],
                    h["seq"],
                    now,
                )
                for n in range(cases)
                for h, _ in template
            ),
        )
        copy(
            "legs",
            ["loan_id", "ref", "line", "installment", "account", "amount"],
            (
                (f"L{n:07d}", g["ref"], g["line"], g["installment"], g["account"], g["amount"])
                for n in range(cases)
                for _, legs in template
                for g in legs
            ),
        )
        copy(
            "cases",
            [
                "customer_id",
                "loan_id",
                "status",
                "opened_on",
                "dpd",
                "bucket",
                "loan_class",
                "amount_overdue",
                "assigned_to",
                "updated_on",
            ],
            (
                (
                    f"C{n:07d}",
                    f"L{n:07d}",
                    "open",
                    date(2026, 9, 1),
                    d,
                    "M4" if d >= 90 else "M3",
                    "doubtful",
                    overdue,
                    f"c{n % COLLECTORS:03d}",
                    date(2026, 11, 30),
                )
                for n in range(cases)
                for d in [rng.randint(31, 200)]
            ),
        )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
        # write the bulk load's pages out now: a checkpoint of ~0.5 GB of fresh rows
        # landing in the middle of the measured minute is the build's cost, not the load's
        cursor.execute("CHECKPOINT")
        raw.commit()
    finally:
        raw.close()
    engine.dispose()


def serve(pg: str, port: int, workers: int) -> None:
    """Run the app on 127.0.0.1:port (the subprocess side) as ``arrears serve
    --workers N`` does: worker processes each build the app from the environment."""
    import uvicorn

    os.environ["ARREARS_DATABASE_URL"] = _url(pg)
    os.environ["ARREARS_WORKSPACE"] = "/nonexistent-workspace"
    # the audit chain's key lives outside the database; the benchmark's schema is
    # dropped after the run, so a throwaway key for this run is enough
    os.environ.setdefault("ARREARS_AUDIT_KEY", secrets.token_hex(32))
    os.environ[CLOCK_ENV] = str(time.time())
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    uvicorn.run(
        "workbench_load:app_in_contact_hours",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="error",
        access_log=False,
    )


CLOCK_ENV = "BENCH_CLOCK_STARTED"


def app_in_contact_hours():  # type: ignore[no-untyped-def]
    """The app as ``arrears serve`` builds it (``app_from_environment``), its business
    clock started at 15:00 UTC today, 10:00 in the debtors' New York, so that logged
    contacts meet the contact hours whenever the benchmark runs (at night every one
    would be refused, a cheaper path than a contact that goes through)."""
    import dataclasses
    from datetime import timedelta

    from arrears.web.app import app_from_environment

    app = app_from_environment()
    started = float(os.environ[CLOCK_ENV])
    base = datetime.combine(date.today(), datetime.min.time(), UTC) + timedelta(hours=15)

    def clock() -> datetime:
        return base + timedelta(seconds=time.time() - started)

    app.state.settings = dataclasses.replace(app.state.settings, clock=clock)
    return app


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the load generator shares
    the server's two cores, so it must cost far less per request than an HTTP library."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, list[str]], bytes]:
        """Send one request and read the whole response (Content-Length framed)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            found: dict[str, list[str]] = {}
            for line in head.split(b"\r\n")[1:]:
                name, sep, value = line.partition(b":")
                if sep:
                    found.setdefault(name.strip().lower().decode(), []).append(
                        value.strip().decode()
                    )
            length = int(found.get("content-length", ["0"])[0])
            data = await self.reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise
        return status, found, data

    def close(self) -> None:
        """Drop the socket (the next request reconnects)."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _cookie(found: dict[str, list[str]], name: str) -> str:
    return next(c.split(";")[0] for c in found["set-cookie"] if c.startswith(f"{name}="))


async def _login(connection: Connection, username: str) -> dict[str, str]:
    _, found, data = await connection.request("GET", "/api/v1/auth/csrf", {})
    pre = {"Cookie": _cookie(found, "arrears_csrf"), "X-CSRF-Token": json.loads(data)["csrf_token"]}
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    status, found, data = await connection.request("POST", "/api/v1/auth/login", pre, body)
    if status != 200:
        raise SystemExit(f"login of {username} failed: {status} {data[:200]!r}")
    return {
        "Cookie": _cookie(found, "arrears_session"),
        "X-CSRF-Token": json.loads(data)["csrf_token"],
    }


async def load(port: int, rate: int, seconds: int, cases: int, warmup: int = 0) -> dict[str, Any]:
    """Send the open-loop load; latencies in ms per endpoint, and statuses, of the
    requests due after the first ``warmup`` seconds."""
    logins = Connection("127.0.0.1", port)
    sessions = [await _login(logins, f"c{n:03d}") for n in range(SESSIONS)]
    logins.close()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(IN_FLIGHT):
        idle.put_nowait(Connection("127.0.0.1", port))
    # cases of collector n are those with id ≡ n+1 (mod 100): ids start at 1
    own = {n: list(range(n + 1, min(cases, 5000) + 1, COLLECTORS)) for n in range(SESSIONS)}
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, dict[int | str, int]] = {}
    rng = random.Random(11)
    total = rate * (warmup + seconds)
    counted_from = warmup * rate  # the index of the first measured request

    async def one(
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        due: float,
        counted: bool,
    ) -> None:
        # latency counts from the moment the request was due (open loop): time spent
        # waiting for a free connection is the server being late, not the client
        connection = await idle.get()
        try:
            status: int | str = (await connection.request(method, path, headers, body))[0]
        except (OSError, asyncio.IncompleteReadError) as exc:  # counted, and its time kept
            status = type(exc).__name__
        finally:
            idle.put_nowait(connection)
        if not counted:
            return
        latencies.setdefault(kind, []).append((time.perf_counter() - due) * 1000)
        counts = statuses.setdefault(kind, {})
        counts[status] = counts.get(status, 0) + 1

    tasks = []
    start = time.perf_counter()
    for k in range(total):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - start > warmup + seconds + 30:
            break
        n = rng.randrange(SESSIONS)
        case = rng.choice(own[n])
        pick = rng.random()
        if pick < 0.35:
            job = ("GET /queue", "GET", "/api/v1/queue?limit=50", b"")
        elif pick < 0.70:
            job = ("GET /cases/{id}", "GET", f"/api/v1/cases/{case}", b"")
        elif pick < 0.80:
            code = rng.choice(["NA", "RPC", "BUSY", "PTP"])
            body = json.dumps({"disposition": code}).encode()
            job = ("POST contacts", "POST", f"/api/v1/cases/{case}/contacts", body)
        elif pick < 0.90:
            body = b'{"amount": "300.00", "due_date": "2026-12-20"}'
            job = ("POST promises", "POST", f"/api/v1/cases/{case}/promises", body)
        else:
            job = ("GET /auth/csrf (reference)", "GET", "/api/v1/auth/csrf", b"")
        kind, method, path, body = job
        job_args = (kind, method, path, sessions[n], body, due, k >= counted_from)
        tasks.append(asyncio.create_task(one(*job_args)))
    # bounded: whatever is not answered 30 s after the last request was due is
    # cancelled and reported as unanswered
    _done, pending = await asyncio.wait(
        tasks, timeout=max(1.0, start + warmup + seconds + 30 - time.perf_counter())
    )
    for task in pending:
        task.cancel()
    wall = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return {
        "latencies": latencies,
        "statuses": statuses,
        "wall": wall,
        "sent": len(tasks),
        "unanswered": len(pending),
    }


async def _wait_until_up(port: int) -> None:
    for _ in range(300):
        probe = Connection("127.0.0.1", port)
        try:
            await probe.request("GET", "/api/v1/auth/csrf", {})
            return
        except OSError:
            await asyncio.sleep(0.1)
        finally:
            probe.close()
    raise SystemExit(f"the server did not come up on port {port}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5, help="seconds sent but not measured")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes (arrears serve --workers)"
    )
    parser.add_argument("--pg", default=os.environ.get("ARREARS_TEST_PG_URL", PG))
    parser.add_argument("--skip-build", action="store_true", help="reuse the existing schema")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.pg, args.port, args.workers)
        return
    if not args.skip_build:
        started = time.perf_counter()
        build(args.pg, args.cases)
        print(f"built {args.cases} cases in {time.perf_counter() - started:.1f} s", flush=True)
    command = [sys.executable, __file__, "--serve", "--pg", args.pg]
    server = subprocess.Popen([*command, "--port", str(args.port), "--workers", str(args.workers)])
    try:
        asyncio.run(_wait_until_up(args.port))
        result = asyncio.run(load(args.port, args.rate, args.seconds, args.cases, args.warmup))
    finally:
        server.terminate()
        server.wait(30)
    latencies, statuses = result["latencies"], result["statuses"]
    reference = "GET /auth/csrf (reference)"
    ref_p50 = _pct(latencies[reference], 50)
    figures = {}
    print(
        f"sent {result['sent']} requests in {result['wall']:.1f} s "
        f"({result['sent'] / result['wall']:.0f}/s), the first {args.warmup} s not measured; "
        f"{args.cases} cases in PostgreSQL; "
        f"unanswered within the bound: {result['unanswered']}"
    )
    print(
        f"{'endpoint':32} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'target':>8} "
        f"{'p50/ref':>8}  statuses"
    )
    for kind in sorted(latencies):
        values = latencies[kind]
        target = (
            None if kind == reference else TARGETS["write" if kind.startswith("POST") else "read"]
        )
        row = {
            "n": len(values),
            "p50": round(_pct(values, 50), 1),
            "p95": round(_pct(values, 95), 1),
            "p99": round(_pct(values, 99), 1),
            "target_p99": target,
            "met": None if target is None else _pct(values, 99) <= target,
            "ratio_p50_to_reference": round(_pct(values, 50) / ref_p50, 1),
            "statuses": statuses[kind],
        }
        figures[kind] = row
        print(
            f"{kind:32} {row['n']:>6} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8} "
            f"{target or '-':>8} {row['ratio_p50_to_reference']:>8}  {row['statuses']}"
        )
    print(
        json.dumps(
            {
                "cases": args.cases,
                "rate": args.rate,
                "seconds": args.seconds,
                "warmup_s": args.warmup,
                "sent": result["sent"],
                "unanswered": result["unanswered"],
                "wall_s": round(result["wall"], 1),
                "endpoints": figures,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
