"""Collection performance read from a real store (SQLite and PostgreSQL): cases closed
by the reference close, then workbench rows (teams, users, assignments, placements,
promises, contacts, strategy arms) as the workbench writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from arrears.analytics.model import compute_report
from arrears.analytics.store_facts import read_store_facts
from arrears.analytics.tables import report_sections
from arrears.batch.reference import close_book
from arrears.cli import app
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.store.contact_models import ContactAttempt, StrategyAssignment
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import (
    Agency,
    CaseAssignment,
    Placement,
    Promise,
    Team,
    User,
)
from arrears.workspace import Workspace

D1, D2 = date(2026, 10, 31), date(2026, 11, 30)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store-book")
    generate_portfolio(folder, 150, D2, seed=11)
    return folder


def staffed_workspace(engine: Engine, root: Path, book: Path) -> tuple[Workspace, list]:
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind)
    close_book(ws, D1, 1)
    with ws.engine.connect() as conn:
        cases = conn.execute(
            select(CaseRow.id, CaseRow.loan_id, CaseRow.customer_id).order_by(CaseRow.id)
        ).all()
    assert len(cases) >= 3, "the book should have overdue loans on D1"
    close_book(ws, D2, 1)
    morning = datetime(2026, 10, 31, 9, tzinfo=UTC)
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        team, agency = Team(name="East"), Agency(code="AG", name="Agency AG", active=True)
        s.add_all([team, agency])
        s.flush()
        staff = (("alice", "Alice Wang", team.id, None), ("bob", "bob", None, agency.id))
        for name, shown, team_id, agency_id in staff:
            s.add(
                User(
                    username=name,
                    display_name=shown,
                    password_hash="x",
                    role="collector",
                    team_id=team_id,
                    agency_id=agency_id,
                    language="en",
                    approval_limit=Decimal(0),
                    active=True,
                )
            )
        (c1, l1, cust1), (c2, _, _), (c3, _, _) = cases[:3]
        s.add(
            CaseAssignment(
                case_id=c1, from_user=None, to_user="alice", reason="", by_user="lead", at=morning
            )
        )
        s.execute(CaseRow.__table__.update().where(CaseRow.id == c2).values(assigned_to="bob"))
        s.add(
            Placement(
                case_id=c3,
                agency_id=agency.id,
                status="active",
                placed_on=date(2026, 10, 20),
                bucket="M2",
                balance_placed=Decimal("100.00"),
                rule="manual",
                placed_by="lead",
            )
        )
        s.add(
            Promise(
                case_id=c1,
                loan_id=l1,
                amount=Decimal("50.00"),
                promised_on=date(2026, 11, 2),
                due_date=date(2026, 11, 10),
                status="kept",
                paid_amount=Decimal("50.00"),
                created_by="alice",
            )
        )
        s.add(
            ContactAttempt(
                attempt_id="a1",
                customer_id=cust1,
                loan_id=l1,
                case_id=c1,
                channel="call",
                party="debtor",
                at=datetime(2026, 11, 5, 10, tzinfo=UTC),
                source="collector",
                outcome="connected_conversation",
                allowed=True,
                blocked_rules="[]",
                reason="",
                actor="alice",
            )
        )
        s.add(
            StrategyAssignment(
                as_of=D1,
                case_id=c1,
                customer_id=cust1,
                loan_id=l1,
                strategy="early",
                version=1,
                arm="champion",
                segment="M1",
            )
        )
        uow.commit()
    return ws, cases


def test_store_facts_and_collector_figures_from_a_real_store(
    engine: Engine, tmp_path: Path, book: Path
):
    ws, cases = staffed_workspace(engine, tmp_path / "ws", book)
    (c1, l1, _), (c2, _, _), (c3, _, _) = cases[:3]
    facts = read_store_facts(ws.engine, date(2026, 11, 1), D2)
    assert facts.collector_on(c1, D1) == "alice" and facts.collector_on(c2, D1) == "bob"
    assert facts.team_of("alice") == "East"
    assert facts.agency_on(c3, "—", D1) == "Agency AG"
    assert facts.agency_on(c2, "bob", D1) == "Agency AG"  # bob works for the agency
    assert facts.arm_on(c1, D1) == "early/champion"
    assert len(facts.attempts) == 1 and len(facts.promises) == 1

    r = compute_report(ws, date(2026, 11, 1), D2)
    assert (r.collections.opening_day, r.collections.closing_day) == (D1, D2)
    opening = {x["loan_id"]: x for x in pq.read_table(ws.snapshot_path(D1)).to_pylist()}
    with ws.engine.connect() as conn:
        paid = sum(
            conn.execute(
                select(PaymentRow.amount).where(
                    PaymentRow.loan_id == l1, PaymentRow.paid_on > D1, PaymentRow.paid_on <= D2
                )
            ).scalars(),
            Decimal(0),
        )
    alice = next(x for x in r.collections.rows["collector"] if x.key == "alice")
    assert alice.loans == 1
    assert alice.opening_overdue == opening[l1]["overdue_amount"]
    assert alice.collected == min(paid, opening[l1]["overdue_amount"])
    assert (alice.contacts, alice.right_party, alice.promises_kept) == (1, 1, 1)
    assert {x.key for x in r.collections.rows["team"]} >= {"East"}
    assert r.collections.has_data["collector"] and r.collections.has_data["arm"]
    assert {"alice", "bob"} <= {k.collector for k in r.kpis}
    assert [k.rank for k in r.kpis] == list(range(1, len(r.kpis) + 1))
    # a collector is shown by display name and username; one without a name of their
    # own, and every other dimension, by the key alone
    sections = {s.key: s for s in report_sections(r, "en")}
    shown = {
        t.name: [row[0].value for row in t.rows]
        for t in sections["collections"].tables + sections["kpi"].tables
    }
    assert "Alice Wang (alice)" in shown["by_collector"] and "bob" in shown["by_collector"]
    assert "alice" not in shown["by_collector"]
    assert "Alice Wang (alice)" in [row[1].value for row in sections["kpi"].tables[0].rows]
    assert "East" in shown["by_team"]

    result = CliRunner().invoke(
        app,
        ["kpi", "--from", "2026-11-01", "--to", "2026-11-30", "-w", str(ws.root)],
        env={"ARREARS_DATABASE_URL": ws.database_url},
    )
    assert result.exit_code == 0, result.output
    assert "Alice Wang (alice)" in result.output and "bob" in result.output
    assert "…" not in result.output  # wider than 100 columns: printed whole, nothing cut
