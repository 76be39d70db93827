"""`arrears demo` staffs the floor: besides its collectors, a team lead per team, a
manager, a legal user, an agency with commission rates and its user, and an admin
whose password is printed once and signs in; it writes a KPI target per team, and
prints the work its strategy and collectors left on the floor."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from arrears.analytics.kpi import load_kpi_config
from arrears.cli import app
from arrears.services import demo_floor
from arrears.services.workbench.users import authenticate
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Agency, CommissionRate, Placement, User
from arrears.workspace import Workspace

runner = CliRunner()


def test_the_demo_creates_its_staff_and_prints_the_admin_password_once(tmp_path: Path):
    root = tmp_path / "demo"
    out = runner.invoke(
        app, ["demo", "--loans", "300", "--days", "2", "--as-of", "2026-06-30", "-w", str(root)]
    )
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if line.startswith("admin: ")]
    assert len(lines) == 1  # printed once
    password = lines[0].split()[1]
    assert out.output.count(password) == 1
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        signed_in = authenticate(uow.session, "admin", password)
        assert isinstance(signed_in, User) and signed_in.role == "admin"
        uow.commit()
    with UnitOfWork(ws.engine) as uow:
        users = {u.username: u for u in uow.session.scalars(select(User))}
        agency = uow.session.scalar(select(Agency))
        rates = list(uow.session.scalars(select(CommissionRate)))
    leads = [u for u in users.values() if u.role == "team_lead"]
    assert len(leads) == len(demo_floor.TEAMS)
    assert all(u.approval_limit > 0 and u.team_id is not None for u in leads)
    assert {u.team_id for u in leads} == {
        u.team_id for u in users.values() if u.role == "collector"
    }
    assert users["sun.li"].role == "manager"
    assert users["legal.wu"].role == "manager"  # the legal team's user (no legal role)
    assert agency is not None and agency.code == demo_floor.AGENCY[0]
    assert users["agency.demo"].role == "agency"
    assert users["agency.demo"].agency_id == agency.id
    assert {r.bucket for r in rates} == {b for b, _ in demo_floor.AGENCY_RATES}
    # the work on the floor, as printed, is what the store holds
    with UnitOfWork(ws.engine) as uow:
        placed = len(
            uow.session.scalars(select(Placement).where(Placement.status == "active")).all()
        )
    work = demo_floor.created_work(ws)
    assert work.placements == placed
    flat = " ".join(out.output.split())
    assert f"Work on the floor: {placed:,} cases placed with agencies ({work.agencies})" in flat
    assert f"{work.callbacks:,} callbacks booked on open cases" in flat
    # a collected target per team, from its own buckets' opening overdue (so a late
    # bucket's collector is not measured against an early one's amount)
    config = load_kpi_config(root / "kpi.toml")
    assert set(config.team_targets) == {team for team, _, _ in demo_floor.TEAMS}
    assert all(t["collected"] >= 0 and t["contacts"] > 0 for t in config.team_targets.values())
    assert "KPI targets per team written to kpi.toml" in flat
