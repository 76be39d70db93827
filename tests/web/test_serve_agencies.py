"""`arrears serve` on a real port with its seeded admin; agencies, commission and
litigation through the API."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from arrears.store.models import PaymentRow
from arrears.store.unit_of_work import UnitOfWork


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(workspace: Path, port: int, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("ARREARS_DATABASE_URL", None)
    command = [sys.executable, "-m", "arrears.cli", "serve", "-w", str(workspace)]
    process = subprocess.Popen(
        [*command, "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            break
        lines.append(line)
        if line.startswith("workbench:"):
            break
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return process, lines
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("".join(lines))


def _log_in_as_seeded_admin(client: httpx.Client, base: str, lines: list[str]) -> None:
    """Log ``client`` in with the admin password `arrears serve` printed."""
    found = re.search(r"user admin with password (\S+)", "".join(lines))
    assert found, lines
    token = client.get(f"{base}/auth/csrf").json()["csrf_token"]
    response = client.post(
        f"{base}/auth/login",
        json={"username": "admin", "password": found.group(1)},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200


@pytest.mark.slow
def test_serve_seeds_an_admin_once_and_it_can_log_in(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    port = _free_port()
    process, lines = _serve(workspace, port)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        with httpx.Client() as client:
            _log_in_as_seeded_admin(client, base, lines)
            assert client.get(f"{base}/me").json()["role"] == "admin"
            assert len(client.get(f"{base}/dispositions").json()) >= 10
    finally:
        process.terminate()
        process.wait(10)
    process, lines = _serve(workspace, _free_port())
    process.terminate()
    process.wait(10)
    assert "password" not in "".join(lines)


@pytest.mark.slow
def test_serve_with_two_workers_shares_sessions_across_processes(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    port = _free_port()
    process, lines = _serve(workspace, port, "--workers", "2")
    try:
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid), "-f", "multiprocessing"],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert len(children) >= 2, children  # two workers (and perhaps a resource tracker)
        base = f"http://127.0.0.1:{port}/api/v1"
        with httpx.Client() as client:
            _log_in_as_seeded_admin(client, base, lines)
            cookies = dict(client.cookies)
        # a new connection each time: the kernel spreads them over both workers, and the
        # session made by one is honoured by the other (sessions live in the store)
        roles = [
            httpx.get(f"{base}/me", cookies=cookies, headers={"Connection": "close"}).json()
            for _ in range(12)
        ]
        assert {r["role"] for r in roles} == {"admin"}
    finally:
        process.terminate()
        process.wait(20)


def test_agency_commission_by_bucket_and_tier_and_performance(login, book) -> None:
    mgr = login("mgr")
    rates = [
        {"bucket": "M4", "rate": "0.15"},
        {"min_amount": "0", "max_amount": "5000", "rate": "0.30"},
    ]
    assert mgr.put(f"/api/v1/agencies/{book.agency_id}/rates", json=rates).status_code == 200
    placed = mgr.post(
        "/api/v1/placements/by-rule",
        json={"agency_ids": [book.agency_id], "buckets": ["M4"], "min_dpd": 150},
    )
    assert placed.json() == {str(book.agency_id): 2}  # the pool's dpd 200 and 150 cases
    with UnitOfWork(book.engine) as uow:
        for ref, loan, day, amount in [
            ("P1", "L4", date(2026, 11, 15), "1000.00"),  # placed case 4, M4 → 15%
            ("P2", "L5", date(2026, 12, 1), "333.33"),  # placed today, M4 → 15%
            ("P3", "L4", date(2026, 10, 1), "500.00"),  # before the placement: no commission
        ]:
            uow.payments.add(
                PaymentRow(
                    payment_ref=ref,
                    loan_id=loan,
                    paid_on=day,
                    amount=Decimal(amount),
                    currency="CNY",
                )
            )
        uow.commit()
    rows = mgr.get(
        "/api/v1/agencies/performance", params={"start": "2026-11-01", "end": "2026-12-31"}
    ).json()
    (row,) = rows
    assert row["collected"] == "1333.33"
    # 1000.00 × 0.15 = 150.00 and 333.33 × 0.15 = 49.9995 → 50.00
    assert row["commission_owed"] == "200.00"
    assert row["active"] == 3
    # the agency user sees their own figures; a collector sees none
    assert (
        login("ag")
        .get("/api/v1/agencies/performance", params={"start": "2026-11-01", "end": "2026-12-31"})
        .json()[0]["commission_owed"]
        == "200.00"
    )
    assert (
        login("c1")
        .get("/api/v1/agencies/performance", params={"start": "2026-11-01", "end": "2026-12-31"})
        .status_code
        == 403
    )


def test_litigation_stages_go_forward_and_the_pipeline_counts_them(login, book) -> None:
    tl = login("tl")
    case = book.case_ids[0]
    url = f"/api/v1/cases/{case}/legal"
    assert tl.post(url, json={"stage": "lawyer_letter", "started_on": "2026-11-01"}).is_success
    no_court = tl.post(url, json={"stage": "filing", "started_on": "2026-11-10"})
    assert no_court.status_code == 422 and "court" in no_court.json()["detail"]
    filed = tl.post(
        url,
        json={
            "stage": "filing",
            "started_on": "2026-11-10",
            "court": "北京市朝阳区人民法院",
            "court_case_number": "(2026)京0105民初12345号",
            "costs": "1200.00",
        },
    )
    assert filed.status_code == 201
    back = tl.post(url, json={"stage": "lawyer_letter", "started_on": "2026-11-20"})
    assert back.status_code == 422
    disposal = tl.post(
        url, json={"stage": "asset_disposal", "started_on": "2026-11-20", "court": "x"}
    )
    assert disposal.status_code == 422
    assert [s["stage"] for s in tl.get(url).json()] == ["lawyer_letter", "filing"]
    pipeline = login("mgr").get("/api/v1/legal/pipeline").json()
    assert pipeline["filing"] == {"cases": 1, "costs": "1200.00"}
    assert pipeline["lawyer_letter"]["cases"] == 0
    judgment = {"stage": "judgment", "started_on": "2026-12-01", "court": "x"}
    assert login("c1").post(url, json=judgment).status_code == 403


def test_a_serving_process_freezes_what_it_built_at_start(tmp_path) -> None:
    # in a process of its own: freezing is for the whole process
    import subprocess
    import sys

    code = (
        "import gc; from arrears.web.app import create_app, serving\n"
        f"app = serving(create_app({str(tmp_path)!r}))\n"
        "assert app.state.engine is not None\n"
        "print(gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 50_000  # the modules, the app, its routes
