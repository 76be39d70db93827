"""CPU per request of the workbench's hot endpoints, in-process (issue 29).

    python benchmarks/workbench_profile.py [--requests 200] [--profile queue]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--build N]

The app as a worker of ``arrears serve`` builds it (``workbench_load``'s app, the
business clock at 10:00 in the debtors' zone) on the schema ``workbench_load`` builds
(``--build N`` first builds one of N cases), driven through ASGI directly: no socket,
no HTTP client, so the process's CPU time (``time.process_time``, every thread) over
``--requests`` serial requests of an endpoint is the app's own, per request. The
endpoints and cases are those of the benchmark's budget step (each collector's own
cases above id 5,000). ``--profile KIND`` prints cProfile's top functions of one
endpoint (queue, case, contact, promise, csrf).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workbench_load as bench

BATCH = 20
KINDS = {
    "queue": bench.QUEUE,
    "case": bench.CASE,
    "contact": bench.CONTACT,
    "promise": bench.PROMISE,
    "csrf": bench.REFERENCE,
    "me": "GET /me",
}


async def call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, list[str]], bytes]:
    """One request through the ASGI app: (status, headers, body)."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", str(len(body)).encode()))
    target, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
        "app": app,
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    status = 0
    found: dict[str, list[str]] = {}
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message.get("headers", []):
                found.setdefault(k.decode().lower(), []).append(v.decode())
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, found, b"".join(chunks)


async def login(app: Any, username: str) -> dict[str, str]:
    """The headers of a logged-in collector (session cookie and CSRF token)."""
    status, found, data = await call(app, "GET", "/api/v1/auth/csrf", {})
    pre_cookie = bench._cookie(found, "arrears_csrf")
    pre = {"Cookie": pre_cookie, "X-CSRF-Token": json.loads(data)["csrf_token"]}
    body = json.dumps({"username": username, "password": bench.PASSWORD}).encode()
    status, found, data = await call(app, "POST", "/api/v1/auth/login", pre, body)
    if status != 200:
        raise SystemExit(f"login of {username} failed: {status} {data[:200]!r}")
    return {
        "Cookie": bench._cookie(found, "arrears_session"),
        "X-CSRF-Token": json.loads(data)["csrf_token"],
    }


async def measure(
    app: Any,
    sessions: list[dict[str, str]],
    cases: int,
    kind: str,
    n: int,
    profile: bool,
    seed: int,
) -> dict[str, Any]:
    """CPU ms per request of ``kind`` over ``n`` serial requests (after 20 not counted)."""
    rng = random.Random(seed)
    picks = {
        k: list(range(k + 1 + 5000, cases + 1, bench.COLLECTORS))
        or list(range(k + 1, cases + 1, 100))
        for k in range(bench.SESSIONS)
    }
    statuses: dict[int, int] = {}
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profile:
        # cProfile sees one thread: run the handlers' thread work inline while profiling
        import anyio.to_thread

        async def inline(func: Any, *args: Any, **_kw: Any) -> Any:
            return func(*args)

        anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    # CPU per request of each batch of BATCH requests: the machine is shared, so the
    # least loaded batch (min) is the app's own cost, the median what it paid here
    batches: list[float] = []
    cpu = wall = started = 0.0
    for i in range(-20, n):
        who = (i + 20) % bench.SESSIONS
        own = picks[who]
        case = own[(seed * (n + 20) // bench.SESSIONS + (i + 20) // bench.SESSIONS) % len(own)]
        method, path, body = (
            ("GET", "/api/v1/me", b"") if kind == "GET /me" else bench._job(kind, case, rng)
        )
        if i == 0:
            wall = time.perf_counter()
            if profiler:
                profiler.enable()
        if i >= 0 and i % BATCH == 0:
            if i:
                batches.append((time.process_time() - cpu) / BATCH)
            cpu = time.process_time()
            started = started or cpu
        status, _h, data = await call(app, method, path, sessions[who], body)
        if status >= 500:
            raise SystemExit(f"{kind}: {status} {data[:300]!r}")
        if i >= 0:
            statuses[status] = statuses.get(status, 0) + 1
    if profiler:
        profiler.disable()
    if n % BATCH == 0:
        batches.append((time.process_time() - cpu) / BATCH)
    total, wall = time.process_time() - started, time.perf_counter() - wall
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    batches.sort()
    return {
        "cpu_ms": round(total / n * 1000, 2),
        "cpu_min_ms": round(batches[0] * 1000, 2) if batches else None,
        "cpu_median_ms": round(batches[len(batches) // 2] * 1000, 2) if batches else None,
        "wall_ms": round(wall / n * 1000, 2),
        "budget_ms": bench.BUDGET_MS.get(kind),
        "statuses": statuses,
    }


async def main_async(args: argparse.Namespace) -> None:
    os.environ["ARREARS_DATABASE_URL"] = bench._url(args.pg)
    os.environ["ARREARS_WORKSPACE"] = "/nonexistent-workspace"
    os.environ.setdefault("ARREARS_AUDIT_KEY", "0" * 64)
    os.environ[bench.CLOCK_ENV] = str(time.time())
    app = bench.app_in_contact_hours()
    sessions = [await login(app, f"c{n:03d}") for n in range(bench.SESSIONS)]
    kinds = [KINDS[k] for k in (args.only or list(KINDS))]
    out = {}
    for kind in kinds:
        profile = args.profile is not None and KINDS[args.profile] == kind
        out[kind] = await measure(
            app, sessions, args.cases, kind, args.requests, profile, args.seed
        )
        row = out[kind]
        print(
            f"{kind:28} cpu {row['cpu_ms']:6.2f} ms/request, batches of {BATCH}: min "
            f"{row['cpu_min_ms']:6.2f} median {row['cpu_median_ms']:6.2f} "
            f"(budget {row['budget_ms'] or '-'})"
            f"  wall {row['wall_ms']:6.2f} ms  {row['statuses']}",
            flush=True,
        )
    print(json.dumps({"load_average": bench.load_average(), "endpoints": out}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the schema")
    parser.add_argument("--build", action="store_true", help="build the schema first")
    parser.add_argument("--only", nargs="*", choices=list(KINDS))
    parser.add_argument("--profile", choices=list(KINDS))
    parser.add_argument("--seed", type=int, default=1, help="another slice of cases")
    parser.add_argument("--pg", default=os.environ.get("ARREARS_TEST_PG_URL", bench.PG))
    args = parser.parse_args()
    if args.build:
        bench.build(args.pg, args.cases)
    else:
        bench.migrate(args.pg)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
