"""Charge-off through the store's daily close (issue 25, contract 8): with a rule at 180
DPD on every product, the loans past it leave the book, their cases stay open in
recovery (not closed as if repaid or written off), ``arrears status``'s check agrees,
and a recovery of everything written off closes the case as ``recovered``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from arrears.analytics.store_facts import in_recovery_on
from arrears.batch.reference import close_book
from arrears.cli import app
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.case_check import check_cases
from arrears.store.models import CaseRow, EntryRow, Loan
from arrears.workspace import Workspace

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, 400, AS_OF, seed=7)
    return folder


def workspace_for(engine: Engine, root: Path, book: Path) -> Workspace:
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + timedelta(1))
    return ws


def _with_charge_off(ws: Workspace) -> Workspace:
    """The workspace again, every product of its catalogue charging off at 180 DPD (the
    default catalogue's own rules, one line each, replaced)."""
    lines = ws.products_path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = "".join(line for line in lines if not line.startswith("charge_off = "))
    tables = "".join(
        f"\n[products.{code}.charge_off]\nat_dpd = 180\n" for code in ws.catalog.products
    )
    ws.products_path.write_text(kept + tables)
    again = Workspace.at(ws.root, ws.database_url)  # a workspace reads its catalogue once
    assert all(p.charge_off.threshold() == 180 for p in again.catalog.products.values())
    return again


def test_charged_off_loans_are_worked_in_recovery(engine: Engine, tmp_path: Path, book: Path):
    ws = workspace_for(engine, tmp_path / "ws", book)
    ws = _with_charge_off(ws)
    report = close_book(ws, AS_OF, 1)
    rows = {r["loan_id"]: r for r in pq.read_table(ws.snapshot_path(AS_OF)).to_pylist()}
    with ws.engine.connect() as conn:
        charged = dict(
            conn.execute(
                select(EntryRow.loan_id, EntryRow.amount).where(
                    EntryRow.ref.startswith("chargeoff:")
                )
            ).all()
        )
        cases = {
            c.loan_id: c
            for c in conn.execute(
                select(
                    CaseRow.loan_id,
                    CaseRow.status,
                    CaseRow.dpd,
                    CaseRow.loan_class,
                    CaseRow.amount_overdue,
                )
            )
        }
        statuses = dict(conn.execute(select(Loan.loan_id, Loan.status)).all())
    assert charged, "the generated book has loans past 180 DPD"
    assert report.charged_off == len(charged)  # the close says how many it charged off
    # nothing active is left at or past the rule
    assert all(r["dpd"] < 180 for r in rows.values() if r["status"] == "active")
    for lid, written in charged.items():
        # charged off (in the catch-up, before the recorded day: not in its snapshot),
        # worked in recovery: DPD counting on, 损失, owing what was written off
        assert statuses[lid] == "written_off" and lid not in rows
        case = cases[lid]
        assert (case.status, case.loan_class) == ("open", "loss") and case.dpd > 180
        assert 0 < case.amount_overdue <= written
    assert report.cases_closed_by["written_off"] == 0
    check = check_cases(ws)
    assert check.ok
    # what ``arrears status`` shows: the loans in recovery, what they owe off the book
    # (each case's amount) and what came back since (the written off less that)
    assert check.in_recovery == len(charged)
    assert check.shadow_owed == sum(cases[lid].amount_overdue for lid in charged)
    assert check.recovered == sum(charged.values()) - check.shadow_owed
    # what the report's collection performance takes as the loans in recovery on a day
    owed_on = in_recovery_on(ws.engine, AS_OF)
    assert owed_on == {lid: cases[lid].amount_overdue for lid in charged}
    # and what ``arrears ageing`` says under its table, off the book
    shown = CliRunner().invoke(
        app,
        ["ageing", "-w", str(ws.root), "--lang", "en"],
        env={"ARREARS_DATABASE_URL": ws.database_url},
    )
    assert shown.exit_code == 0, shown.output
    assert (
        f"Charged off, in recovery (off the book, not in the table): {len(charged):,} loans, "
        f"{check.shadow_owed:,.2f} owed in shadow balances"
    ) in " ".join(shown.stdout.split())

    # everything written off on one loan comes back the next day: its case closes
    loan_id, amount = sorted(charged.items())[0]
    day = AS_OF + timedelta(days=1)
    extra = tmp_path / "recovery.parquet"
    pq.write_table(
        pa.table(
            {
                "payment_ref": ["REC-1"],
                "loan_id": [loan_id],
                "paid_on": [day],
                "amount": pa.array([amount], pa.decimal128(18, 2)),
                "currency": ["CNY"],
                "channel": ["bank_transfer"],
            }
        ),
        extra,
    )
    import_file(ws.engine, extra, kind="payments", as_of=day)
    report = close_book(ws, day, 1)
    with ws.engine.connect() as conn:
        case = conn.execute(
            select(CaseRow.status, CaseRow.closed_on).where(CaseRow.loan_id == loan_id)
        ).one()
        still_open = {
            c.loan_id: c
            for c in conn.execute(
                select(CaseRow.loan_id, CaseRow.dpd, CaseRow.updated_on).where(
                    CaseRow.status == "open"
                )
            )
        }
    assert (case.status, case.closed_on) == ("closed", day)
    assert report.cases_closed_by["recovered"] == 1
    assert set(charged) - {loan_id} <= set(still_open)
    # the others, with nothing paid, are closed too: their cases count DPD on, a day later
    for lid in set(charged) - {loan_id}:
        assert (still_open[lid].dpd, still_open[lid].updated_on) == (cases[lid].dpd + 1, day)
    after = check_cases(ws)
    assert after.ok and after.in_recovery == len(charged) - 1
    owed = cases[loan_id].amount_overdue  # recovered: what its shadow owed, the rest credit
    # dated: in recovery on AS_OF still, not after the day it was recovered in full
    assert in_recovery_on(ws.engine, AS_OF) == owed_on
    assert in_recovery_on(ws.engine, day) == {k: v for k, v in owed_on.items() if k != loan_id}
    assert (after.shadow_owed, after.recovered) == (
        check.shadow_owed - owed,
        check.recovered + owed,
    )
