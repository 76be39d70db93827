"""`arrears close --engine duckdb`, `--explain` and `arrears snapshot` on a demo workspace:
the batch engine takes the book over from the store and its snapshots equal what the
domain core computes from the stored ledgers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from arrears.batch.book import load_book
from arrears.batch.handover import EVERYTHING
from arrears.cli import app
from arrears.domain.account import advance, state_of
from arrears.workspace import Workspace

runner = CliRunner()
AS_OF = date(2026, 6, 30)
LAST = AS_OF + timedelta(days=3)


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("batchcli") / "demo"
    result = runner.invoke(
        app, ["demo", "--loans", "500", "--days", "2", "--as-of", AS_OF.isoformat(),
              "-w", str(root), "--lang", "en"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["close", "--engine", "duckdb", "--as-of", LAST.isoformat(), "-w", str(root)]
    )
    assert result.exit_code == 0, result.output
    return root, result.output


def test_batch_close_prints_a_summary_per_day(closed):
    _, output = closed
    assert "Daily close on duckdb" in output
    for n in (1, 2, 3):
        assert (AS_OF + timedelta(days=n)).isoformat() in output


def test_batch_snapshots_equal_the_domain_core_on_the_stored_book(closed):
    root, _ = closed
    ws = Workspace.at(root)
    with ws.engine.connect() as conn:
        book = load_book(conn, ws.catalog, EVERYTHING)
    snap = {r["loan_id"]: r for r in pq.read_table(ws.snapshot_path(LAST)).to_pylist()}
    assert len(snap) == len(book.accounts) > 300
    delinquent = 0
    for acc in book.accounts:
        acc, _ = advance(acc, LAST, book.payments.get(acc.loan_id, ()))
        want = state_of(acc, ws.catalog)
        row = snap[acc.loan_id]
        assert (row["dpd"], row["bucket"], row["status"]) == (want.dpd, want.bucket, want.status)
        for name in ("principal_due", "interest_due", "penalty", "compound", "fee", "credit"):
            assert row[name] == getattr(want, name), (acc.loan_id, name)
        assert row["principal_outstanding"] == want.principal_outstanding
        assert isinstance(row["penalty"], Decimal)
        delinquent += want.dpd > 0
    assert delinquent > 10


def test_rerun_is_a_no_op(closed):
    root, _ = closed
    result = runner.invoke(
        app, ["close", "--engine", "duckdb", "--as-of", LAST.isoformat(), "-w", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output


def test_explain_prints_the_steps_and_the_plan_and_closes_nothing(closed):
    root, _ = closed
    before = sorted((root / "batch" / "state").iterdir())
    result = runner.invoke(app, ["close", "--engine", "duckdb", "--explain", "-w", str(root)])
    assert result.exit_code == 0, result.output
    for step in ("fall_due", "settle", "assess_dues", "charge", "assess", "compare"):
        assert step in result.output
    assert "SELECT" in result.output and "OVER" in result.output  # the waterfall's running sum
    assert sorted((root / "batch" / "state").iterdir()) == before


def test_snapshot_shows_a_loan_as_closed_on_a_past_date(closed):
    root, _ = closed
    ws = Workspace.at(root)
    rows = pq.read_table(ws.snapshot_path(AS_OF + timedelta(days=1))).to_pylist()
    late = next(r for r in rows if r["dpd"] > 0)
    result = runner.invoke(
        app,
        ["snapshot", "--as-of", (AS_OF + timedelta(days=1)).isoformat(), "--loan",
         late["loan_id"], "-w", str(root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert late["loan_id"] in result.output
    assert str(late["dpd"]) in result.output
    later = runner.invoke(
        app, ["snapshot", "--as-of", LAST.isoformat(), "--loan", late["loan_id"], "-w", str(root)]
    )
    assert later.exit_code == 0
    assert later.output != result.output  # a different day, a different state


def test_snapshot_of_a_customer_lists_their_loans(closed):
    root, _ = closed
    rows = pq.read_table(Workspace.at(root).snapshot_path(LAST)).to_pylist()
    customer = rows[0]["customer_id"]
    mine = [r["loan_id"] for r in rows if r["customer_id"] == customer]
    result = runner.invoke(
        app, ["snapshot", "--as-of", LAST.isoformat(), "--customer", customer, "-w", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert all(lid in result.output for lid in mine)


def test_snapshot_of_a_date_never_closed_is_a_clear_error(closed):
    root, _ = closed
    result = runner.invoke(app, ["snapshot", "--as-of", "2020-01-01", "-w", str(root)])
    assert result.exit_code == 1
    assert "2020-01-01" in result.output
