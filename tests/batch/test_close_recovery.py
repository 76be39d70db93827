"""A close killed at any point is finished or repaired by the next run: the ledger, the
cases and the snapshots end exactly as after a close that was never interrupted. The
close runs in a forked process that dies with ``os._exit`` (no cleanup, no rollback
handler, no ``finally``) at the point under test."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, create_engine, func, select

import arrears.batch.reference as reference
from arrears.batch.carried import carried_file
from arrears.batch.publish import pending_dir
from arrears.batch.reference import close_book
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.case_check import check_cases
from arrears.store.models import CaseRow, CloseRun, EntryRow
from arrears.workspace import Workspace

AS_OF = date(2026, 6, 30)
DAYS = 3
KILLED = 97


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, 150, AS_OF, seed=5)
    return folder


def _workspace(engine: Engine, root: Path, book: Path, kinds=("customers", "loans", "payments")):
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in kinds:
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + timedelta(1))
    return ws


def _die(*_args, **_kwargs):
    os._exit(KILLED)


def _killed_close(ws: Workspace, point: str) -> int:
    """Run the close in a child process that dies at ``point``; returns its exit code."""

    def child() -> None:
        os.environ["ARREARS_WORKERS"] = "1"
        ws.engine.dispose(close=False)  # the child must not use the parent's connections
        if point == "before commit":  # snapshots staged, the transaction not committed
            reference.record_staged = _die
        elif point == "after commit":  # committed, nothing moved into place
            reference.publish = _die
        elif point == "during rename":  # the first day in place, the rest still staged
            moves = []
            original = Path.replace

            def replace(self: Path, target):
                if moves:
                    _die()
                moves.append(target)
                return original(self, target)

            Path.replace = replace  # type: ignore[method-assign]
        close_book(ws, AS_OF, DAYS)
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(120)
    return process.exitcode


def _state(ws: Workspace) -> tuple:
    with ws.engine.connect() as conn:
        entries = conn.scalar(select(func.count()).select_from(EntryRow))
        cases = conn.execute(
            select(CaseRow.loan_id, CaseRow.status, CaseRow.opened_on, CaseRow.closed_on).order_by(
                CaseRow.loan_id, CaseRow.opened_on
            )
        ).all()
        runs = conn.execute(
            select(CloseRun.as_of, CloseRun.status, CloseRun.loans).order_by(CloseRun.as_of)
        ).all()
    snaps = {d: ws.snapshot_path(d).read_bytes() for d in ws.snapshot_dates()}
    return entries, cases, runs, snaps, carried_file(ws.root).read_bytes()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, book: Path) -> tuple:
    """The state after an uninterrupted close (on its own SQLite store; the close gives
    the same ledger, cases and snapshot bytes on either backend)."""
    root = tmp_path_factory.mktemp("clean")
    ws = _workspace(create_engine(f"sqlite:///{root / 'clean.sqlite'}"), root, book)
    close_book(ws, AS_OF, DAYS)
    return _state(ws)


@pytest.mark.parametrize("point", ["before commit", "after commit", "during rename"])
def test_a_killed_close_is_finished_by_the_next_run(
    engine: Engine, tmp_path: Path, book: Path, clean: tuple, point: str
):
    ws = _workspace(engine, tmp_path / "ws", book)
    assert _killed_close(ws, point) == KILLED
    if point == "before commit":
        assert ws.snapshot_dates() == [] and any(pending_dir(ws.root).rglob("*.parquet"))
    else:
        with ws.engine.connect() as conn:
            statuses = set(conn.execute(select(CloseRun.status)).scalars())
        assert "staged" in statuses
        assert len(ws.snapshot_dates()) == (0 if point == "after commit" else 1)
    again = close_book(ws, AS_OF, DAYS)
    if point == "before commit":
        assert not again.already_closed and again.recovered == []
    else:
        assert again.already_closed
        assert again.recovered == [AS_OF - timedelta(days=n) for n in (2, 1, 0)]
    assert _state(ws) == clean
    assert not pending_dir(ws.root).exists()
    assert check_cases(ws).ok


def test_a_late_loan_closed_through_a_closed_day_keeps_the_whole_book(
    engine: Engine, tmp_path: Path, book: Path
):
    """A loan imported after its days were closed is closed through them; the snapshot of
    a day already closed gets the new loan's row beside every other loan's, unchanged."""
    late = tmp_path / "late"
    late.mkdir()
    loans = pq.read_table(book / "loans.parquet")
    last = loans.slice(loans.num_rows - 1, 1)
    pq.write_table(loans.slice(0, loans.num_rows - 1), late / "loans.parquet")
    pq.write_table(pq.read_table(book / "customers.parquet"), late / "customers.parquet")
    late_id = last["loan_id"][0].as_py()
    payments = pq.read_table(book / "payments.parquet")
    mask = pa.compute.equal(payments["loan_id"], late_id)
    pq.write_table(payments.filter(pa.compute.invert(mask)), late / "payments.parquet")
    ws = _workspace(engine, tmp_path / "ws", late)
    close_book(ws, AS_OF, DAYS)
    before = pq.read_table(ws.snapshot_path(AS_OF))
    assert late_id not in before["loan_id"].to_pylist()
    pq.write_table(last, late / "late-loan.parquet")
    import_file(ws.engine, late / "late-loan.parquet", kind="loans", as_of=AS_OF + timedelta(1))
    report = close_book(ws, AS_OF, DAYS)
    assert report.loans == 1
    after = pq.read_table(ws.snapshot_path(AS_OF))
    assert after.num_rows == before.num_rows + 1
    ids = after["loan_id"].to_pylist()
    assert ids == sorted(ids) and late_id in ids
    others = after.filter(pa.compute.not_equal(after["loan_id"], late_id))
    assert others.equals(before)
