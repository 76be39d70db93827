"""Loopback load on the workbench API over 100,000 cases in PostgreSQL.

    python benchmarks/workbench_load.py [--cases 100000] [--rate 200] [--seconds 60]
        [--warmup 5] [--workers 2] [--rounds 3] [--budget 200] [--skip-build]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds a book in a PostgreSQL schema of its own (``bench_workbench``, recreated; rows
written with COPY): N customers and CONSUMER loans with their schedules and ledger
entries (3 installments fallen due, penalty accrued), N open cases spread over 100
collectors; then VACUUM (FREEZE, ANALYZE) and a CHECKPOINT, so PostgreSQL has nothing
of the build left to do. Then ``--rounds`` measured rounds back to back on the same data
(the first after the build), each with a server of its own: it starts the app as
``arrears serve --workers N`` does (uvicorn worker processes; the business clock set to
10:00 in the debtors' zone, so contacts are in hours) on 127.0.0.1 and sends an
open-loop load of ``--rate`` requests per second for ``--warmup`` seconds, not counted
(the workers fill their connection pools and warm their caches), then for ``--seconds``
measured (bounded: at most rate × (warmup + seconds) requests, 64 connections, a hard
stop 30 s after the last one was due) from 20 logged-in collectors, over keep-alive
connections of a minimal asyncio HTTP/1.1 client (the generator shares the server's
cores, so it must cost little per request):

    GET  /api/v1/queue                (read)   35%
    GET  /api/v1/cases/{id}           (read)   35%   the whole case view
    POST /api/v1/cases/{id}/contacts  (write)  10%   through the compliance gate
    POST /api/v1/cases/{id}/promises  (write)  10%
    GET  /api/v1/auth/csrf            (reference: no database) 10%

Before each round's load, ``--budget`` requests of each endpoint one after another
measure the CPU per request of the server's processes and of its PostgreSQL backends
(found by application name; CPU from /proc) against the budget of issue 29 (server:
queue ≤ 1 ms, case view ≤ 2 ms, writes ≤ 2 ms). Latency counts from the moment a
request was due. Each round prints the machine's load average at its start, p50/p95/p99
per endpoint in ms against the targets (p99 ≤ 100 ms reads, ≤ 250 ms writes), each
endpoint's p50 as a ratio of the reference's p50, the statuses seen (409 = the
compliance gate refused the contact, e.g. a daily cap), and the CPU seconds over the
measured span of every process: the server's workers, PostgreSQL (the server's
backends, its background processes such as autovacuum and the checkpointer, other
clients), this generator (its share of the cores) and the rest of the machine. One
JSON line at the end holds all figures of all rounds.

``benchmarks/workbench_profile.py`` measures the same endpoints' CPU in-process (the
app driven through ASGI, no server or client; cProfile with ``--profile``), on the
schema built here.
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


APP_NAME = "bench_workbench"


def _url(pg: str) -> str:
    """The server's URL: the benchmark's schema, and an application name by which its
    PostgreSQL backends are found (``pg_stat_activity``) to measure their CPU."""
    from sqlalchemy.engine import make_url

    query = {"options": f"-csearch_path={SCHEMA}", "application_name": APP_NAME}
    return make_url(pg).update_query_dict(query).render_as_string(hide_password=False)


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
    finally:
        raw.close()
    engine.dispose()
    settle(pg)


def migrate(pg: str) -> None:
    """Bring a schema built by an earlier version up to the store's head (``--skip-build``:
    a table added since, such as a case page's new panel reads, would be a 500). A
    schema newer than this code's migrations (built by a later commit, measured with an
    earlier one) is used as it is."""
    from alembic.util.exc import CommandError

    from arrears.store.db import make_engine, upgrade

    engine = make_engine(_url(pg))
    try:
        upgrade(engine)
    except CommandError as exc:
        print(f"schema left as it is: {exc}", flush=True)
    finally:
        engine.dispose()


def settle(pg: str) -> None:
    """Leave PostgreSQL nothing to do for the bulk load: VACUUM (FREEZE, ANALYZE) sets
    the visibility map and hint bits of the freshly COPY'd pages (else the first round's
    reads dirty them and autovacuum's insert threshold starts a vacuum of each big table
    inside the measured minute), then a CHECKPOINT writes the ~0.5 GB out now: the
    build's cost, not the load's."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(pg).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{SCHEMA}"')
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'VACUUM (FREEZE, ANALYZE) "{SCHEMA}"."{table}"')
        conn.execute("CHECKPOINT")


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


# -- CPU accounting (Linux /proc: no dependency) ----------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PG_BACKGROUND = (
    "autovacuum",
    "checkpointer",
    "background writer",
    "walwriter",
    "logical replication",
    "stats",
    "archiver",
    "wal",
)


def _stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, name, CPU seconds user + system) of a process, or None once gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK


def _descendants(root: int) -> list[int]:
    """``root`` and every process under it (uvicorn's supervisor and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            children.setdefault(found[0], []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _postgres_pids() -> dict[int, str]:
    """pid → process title of every PostgreSQL process (its title says which it is:
    ``postgres: 15/main: checkpointer``, ``… autovacuum worker``, a client backend)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if title.startswith("postgres") or "/bin/postgres" in title:
            out[int(entry)] = title
    return out


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / TICK, sum(ticks[:8]) / TICK


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class CpuMeter:
    """CPU seconds of the server's processes, PostgreSQL's (its backends serving the
    server, found by application name; its background processes; other clients) and
    this generator, sampled so that short-lived processes (an autovacuum worker) are
    counted too. ``mark()`` starts a measured span; ``span()`` gives its figures."""

    def __init__(self, pg: str, server_pid: int) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(pg).set(drivername="postgresql")
        self.probe = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self.probe_pid = self.probe.info.backend_pid
        self.server_pid = server_pid
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.kind: dict[int, str] = {}
        self.started = self.machine = (0.0, 0.0)
        self.wall = 0.0
        self.own = 0.0

    def _classify(self, titles: dict[int, str]) -> None:
        ours = {
            pid
            for (pid,) in self.probe.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
            )
        }
        for pid, title in titles.items():
            if pid in ours:
                self.kind[pid] = "pg: backends of the server"
            elif pid == self.probe_pid:
                self.kind[pid] = "pg: this meter's probe"
            else:
                background = next((b for b in PG_BACKGROUND if b in title), None)
                self.kind[pid] = f"pg: {background}" if background else "pg: other clients"

    def sample(self) -> None:
        """Read every process's CPU once."""
        titles = _postgres_pids()
        # a backend is classified until it is seen as the server's (its application
        # name may not be set yet the first time it is seen)
        self._classify(
            {
                p: t
                for p, t in titles.items()
                if self.kind.get(p, "pg: other clients") == "pg: other clients"
            }
        )
        for group, pids in (("server", _descendants(self.server_pid)), ("pg", list(titles))):
            for pid in pids:
                found = _stat(pid)
                if found is None:
                    continue
                key = (group, pid)
                self.first.setdefault(key, 0.0 if self.started != (0.0, 0.0) else found[2])
                self.last[key] = found[2]
                if group == "server":
                    self.kind[pid] = f"server: {found[1]} {pid}"

    def mark(self) -> None:
        """Start a measured span now."""
        self.first, self.last = {}, {}
        self.started = (0.0, 0.0)
        self.sample()
        self.started = _machine()
        self.wall = time.perf_counter()
        self.own = time.process_time()

    def span(self) -> dict[str, Any]:
        """CPU seconds per process kind since ``mark()``, the machine's and ours."""
        self.sample()
        busy, total = _machine()
        by_kind: dict[str, float] = {}
        for key, last in self.last.items():
            kind = self.kind.get(key[1], key[0])
            by_kind[kind] = by_kind.get(kind, 0.0) + last - self.first.get(key, last)
        return {
            "wall_s": time.perf_counter() - self.wall,
            "machine_busy_s": busy - self.started[0],
            "machine_total_s": total - self.started[1],
            "generator_s": time.process_time() - self.own,
            "processes": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        }

    def close(self) -> None:
        self.probe.close()


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


def _job(kind: str, case: int, rng: random.Random) -> tuple[str, str, bytes]:
    """(method, path, body) of a request of endpoint ``kind`` on ``case``."""
    if kind == QUEUE:
        return "GET", "/api/v1/queue?limit=50", b""
    if kind == CASE:
        return "GET", f"/api/v1/cases/{case}", b""
    if kind == CONTACT:
        body = json.dumps({"disposition": rng.choice(["NA", "RPC", "BUSY", "PTP"])}).encode()
        return "POST", f"/api/v1/cases/{case}/contacts", body
    if kind == PROMISE:
        return "POST", f"/api/v1/cases/{case}/promises", PROMISE_BODY
    return "GET", "/api/v1/auth/csrf", b""


def _endpoint(pick: float) -> str:
    """The endpoint of the mix (``MIX``) a uniform draw ``pick`` in [0, 1) falls on."""
    for kind, share in MIX:
        if pick < share:
            return kind
        pick -= share
    return REFERENCE


QUEUE, CASE = "GET /queue", "GET /cases/{id}"
CONTACT, PROMISE = "POST contacts", "POST promises"
REFERENCE = "GET /auth/csrf (reference)"
MIX = ((QUEUE, 0.35), (CASE, 0.35), (CONTACT, 0.10), (PROMISE, 0.10), (REFERENCE, 0.10))
PROMISE_BODY = b'{"amount": "300.00", "due_date": "2026-12-20"}'
# server CPU per request, serial, in ms (issue 29); the reference has none of its own
BUDGET_MS = {QUEUE: 1.0, CASE: 2.0, CONTACT: 2.0, PROMISE: 2.0}


async def budget(
    port: int, sessions: list[dict[str, str]], cases: int, round_no: int, meter: CpuMeter, n: int
) -> dict[str, dict[str, Any]]:
    """Server and PostgreSQL CPU per request of each endpoint, ``n`` requests one after
    another on one connection (after 20 not counted), from the 20 collectors in turn, on
    cases the load does not use (ids above 5,000; another slice each round, so a case
    gets one contact and one promise a round)."""
    connection = Connection("127.0.0.1", port)
    rng = random.Random(round_no)
    picks = {
        k: list(range(k + 1 + 5000, cases + 1, COLLECTORS)) or list(range(k + 1, cases + 1, 100))
        for k in range(SESSIONS)
    }
    out = {}
    try:
        for kind, _share in MIX:
            statuses: dict[int, int] = {}
            for i in range(-20, n):
                if i == 0:
                    meter.mark()
                who = (i + 20) % SESSIONS
                own = picks[who]
                case = own[(round_no * (n + 20) // SESSIONS + (i + 20) // SESSIONS) % len(own)]
                method, path, body = _job(kind, case, rng)
                status = (await connection.request(method, path, sessions[who], body))[0]
                if i >= 0:
                    statuses[status] = statuses.get(status, 0) + 1
            span = meter.span()
            procs = span["processes"]
            server = sum(v for k, v in procs.items() if k.startswith("server"))
            pg = procs.get("pg: backends of the server", 0.0)
            out[kind] = {
                "server_ms": round(server / n * 1000, 2),
                "pg_ms": round(pg / n * 1000, 2),
                "wall_ms": round(span["wall_s"] / n * 1000, 2),
                "budget_ms": BUDGET_MS.get(kind),
                "met": None if kind not in BUDGET_MS else server / n * 1000 <= BUDGET_MS[kind],
                "statuses": statuses,
            }
    finally:
        connection.close()
    return out


async def load(
    port: int,
    rate: int,
    seconds: int,
    cases: int,
    warmup: int,
    sessions: list[dict[str, str]],
    meter: CpuMeter,
) -> dict[str, Any]:
    """Send the open-loop load; latencies in ms per endpoint, and statuses, of the
    requests due after the first ``warmup`` seconds; the CPU of every process over
    the measured seconds (``CpuMeter``, sampled twice a second)."""
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

    async def sampling() -> None:
        while True:
            await asyncio.sleep(0.5)
            meter.sample()

    sampler = asyncio.create_task(sampling())
    tasks = []
    start = time.perf_counter()
    for k in range(total):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - start > warmup + seconds + 30:
            break
        if k == counted_from:
            meter.mark()
        n = rng.randrange(SESSIONS)
        case = rng.choice(own[n])
        kind = _endpoint(rng.random())
        method, path, body = _job(kind, case, rng)
        job_args = (kind, method, path, sessions[n], body, due, k >= counted_from)
        tasks.append(asyncio.create_task(one(*job_args)))
    # bounded: whatever is not answered 30 s after the last request was due is
    # cancelled and reported as unanswered
    _done, pending = await asyncio.wait(
        tasks, timeout=max(1.0, start + warmup + seconds + 30 - time.perf_counter())
    )
    cpu = meter.span()
    sampler.cancel()
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
        "measured": sum(len(v) for v in latencies.values()),
        "unanswered": len(pending),
        "cpu": cpu,
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


async def one_round(args: argparse.Namespace, round_no: int, server_pid: int) -> dict[str, Any]:
    """Log the 20 collectors in, measure each endpoint's CPU budget, send the load."""
    await _wait_until_up(args.port)
    meter = CpuMeter(args.pg, server_pid)
    try:
        logins = Connection("127.0.0.1", args.port)
        sessions = [await _login(logins, f"c{n:03d}") for n in range(SESSIONS)]
        logins.close()
        cpu_budget = (
            await budget(args.port, sessions, args.cases, round_no, meter, args.budget)
            if args.budget
            else {}
        )
        result = await load(
            args.port, args.rate, args.seconds, args.cases, args.warmup, sessions, meter
        )
    finally:
        meter.close()
    result["budget"] = cpu_budget
    return result


def report(args: argparse.Namespace, round_no: int, load_at_start: str, result: dict) -> dict:
    """Print a round's figures; returns them (the JSON line's)."""
    latencies, statuses, cpu = result["latencies"], result["statuses"], result["cpu"]
    # (none when no reference request was answered within the bound)
    ref_p50 = _pct(latencies[REFERENCE], 50) if latencies.get(REFERENCE) else None
    measured = max(1, result["measured"])  # answered and counted
    print(
        f"round {round_no}: load average at start {load_at_start}; "
        f"sent {result['sent']} requests in {result['wall']:.1f} s "
        f"({result['sent'] / result['wall']:.0f}/s), the first {args.warmup} s not measured; "
        f"{args.cases} cases in PostgreSQL; unanswered within the bound: {result['unanswered']}"
    )
    if result["budget"]:
        print(
            f"  CPU per request, serial ({args.budget} each):  "
            f"{'server':>8} {'budget':>7} {'pg':>6} {'wall':>6}  statuses"
        )
        for kind, row in result["budget"].items():
            mark = "" if row["met"] is None else (" ok" if row["met"] else " OVER")
            print(
                f"  {kind:36} {row['server_ms']:>6.2f}ms {row['budget_ms'] or '-':>7}"
                f"{mark:5} {row['pg_ms']:>5.2f} {row['wall_ms']:>6.2f}  {row['statuses']}"
            )
    figures = {}
    print(
        f"  {'endpoint':32} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'target':>8} "
        f"{'p50/ref':>8}  statuses"
    )
    for kind in sorted(latencies):
        values = latencies[kind]
        target = (
            None if kind == REFERENCE else TARGETS["write" if kind.startswith("POST") else "read"]
        )
        row = {
            "n": len(values),
            "p50": round(_pct(values, 50), 1),
            "p95": round(_pct(values, 95), 1),
            "p99": round(_pct(values, 99), 1),
            "target_p99": target,
            "met": None if target is None else _pct(values, 99) <= target,
            "ratio_p50_to_reference": round(_pct(values, 50) / ref_p50, 1) if ref_p50 else None,
            "statuses": statuses[kind],
        }
        figures[kind] = row
        print(
            f"  {kind:32} {row['n']:>6} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8} "
            f"{target or '-':>8} {row['ratio_p50_to_reference'] or '-':>8}  {row['statuses']}"
        )
    cores = os.cpu_count() or 1
    span = cpu["wall_s"]
    procs = cpu["processes"]
    server = sum(v for k, v in procs.items() if k.startswith("server"))
    pg_server = procs.get("pg: backends of the server", 0.0)
    pg_others = procs.get("pg: other clients", 0.0)
    pg_background = sum(v for k, v in procs.items() if k.startswith("pg")) - pg_server - pg_others
    ours = server + pg_server + pg_background + cpu["generator_s"]
    print(
        f"  CPU over the measured {span:.1f} s ({cores} cores = {span * cores:.0f} CPU s): "
        f"machine busy {cpu['machine_busy_s']:.1f} s ({cpu['machine_busy_s'] / span / cores:.0%}); "
        f"server {server:.1f} s ({server / measured * 1000:.2f} ms per answered request), "
        f"its PostgreSQL backends {pg_server:.1f} s ({pg_server / measured * 1000:.2f} ms), "
        f"PostgreSQL's background {pg_background:.1f} s, "
        f"generator {cpu['generator_s']:.1f} s ({cpu['generator_s'] / span / cores:.1%} "
        f"of the cores, {cpu['generator_s'] / measured * 1000:.2f} ms/request); "
        f"not ours: other PostgreSQL clients {pg_others:.1f} s, the rest of the machine "
        f"{cpu['machine_busy_s'] - ours - pg_others:.1f} s"
    )
    print("    " + "; ".join(f"{k} {v:.2f} s" for k, v in procs.items() if v >= 0.01))
    return {
        "round": round_no,
        "load_average_at_start": load_at_start,
        "sent": result["sent"],
        "unanswered": result["unanswered"],
        "wall_s": round(result["wall"], 1),
        "endpoints": figures,
        "cpu_budget": result["budget"],
        "cpu_s": {
            "span_s": round(span, 1),
            "machine_busy": round(cpu["machine_busy_s"], 1),
            "server": round(server, 2),
            "postgres_server": round(pg_server, 2),
            "postgres_background": round(pg_background, 2),
            "postgres_other_clients": round(pg_others, 2),
            "generator": round(cpu["generator_s"], 2),
            "processes": procs,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5, help="seconds sent but not measured")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds, back to back")
    parser.add_argument(
        "--budget",
        type=int,
        default=200,
        help="serial requests per endpoint measuring CPU per request before each round (0: none)",
    )
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
    else:
        migrate(args.pg)
    rounds = []
    for round_no in range(1, args.rounds + 1):
        load_at_start = load_average()
        command = [sys.executable, __file__, "--serve", "--pg", args.pg]
        server = subprocess.Popen(
            [*command, "--port", str(args.port), "--workers", str(args.workers)]
        )
        try:
            result = asyncio.run(one_round(args, round_no, server.pid))
        finally:
            server.terminate()
            server.wait(30)
        rounds.append(report(args, round_no, load_at_start, result))
        sys.stdout.flush()
    summary = {
        "cases": args.cases,
        "rate": args.rate,
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "workers": args.workers,
        "fresh_build": not args.skip_build,
        "rounds": rounds,
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
