"""Allocation (分案): cases to teams by bucket, to collectors balanced by amount overdue,
sticky while the bucket stays with the collector's team; reruns move nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from arrears.analytics.store_facts import read_store_facts
from arrears.services.settings import SettingsError, load_settings
from arrears.services.workbench.access import Actor
from arrears.services.workbench.allocation import CaseState, allocate, cut_off
from arrears.services.workbench.errors import Forbidden, Invalid
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent, CaseAssignment

ON = date(2026, 11, 30)
ADMIN = Actor(0, "admin", "admin")
RULES = {"north": ["M3", "M4"], "south": ["M5", "M6", "M7+"]}
# L1 stays with c1 (north); L2 is now south's; L3 (c3, south) is now north's; L4 is
# placed with an agency; L5 is new to north; L6 is cured (no team works M0)
STATES = {
    "L1": CaseState("M4", Decimal("1000.00")),
    "L2": CaseState("M7+", Decimal("500.00")),
    "L3": CaseState("M4", Decimal("800.00")),
    "L4": CaseState("M4", Decimal("9000.00")),
    "L5": CaseState("M3", Decimal("3000.00")),
    "L6": CaseState("M0", Decimal("0.00")),
}


def _assignees(engine) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return dict(uow.session.execute(select(CaseRow.loan_id, CaseRow.assigned_to)).all())


def _run(engine, states=STATES, rules=RULES, actor=ADMIN):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        result = allocate(uow.session, actor, ON, states, rules)
        uow.commit()
    return result


def test_cases_go_to_the_team_of_their_bucket_balanced_by_amount(book) -> None:
    result = _run(book.engine)
    assert _assignees(book.engine) == {
        "L1": "c1",  # kept: M4 is still north's
        "L2": "c3",  # M7+ is south's, and c3 its only collector
        "L3": "c1",  # north: L5 (3000) went first to the empty c2, then L3 to c1
        "L4": None,  # placed with the agency: not allocated
        "L5": "c2",
        "L6": None,  # cured: no team works M0, back to the pool (it was there)
    }
    assert (result.cases, result.kept, result.moved, result.pooled) == (5, 1, 3, 1)
    assert result.books == {
        "c1": (2, Decimal("1800.00")),
        "c2": (1, Decimal("3000.00")),
        "c3": (1, Decimal("500.00")),
    }
    with UnitOfWork(book.engine) as uow:
        rows = uow.session.scalars(select(CaseAssignment).order_by(CaseAssignment.id)).all()
        entries = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.allocate")
        ).all()
    assert len(rows) == 3
    assert {r.reason for r in rows} == {"allocation 2026-11-30"}
    assert {r.by_user for r in rows} == {"admin"}
    assert all(r.at.replace(tzinfo=None) == cut_off(ON).replace(tzinfo=None) for r in rows)
    assert len(entries) == 1


def test_a_rerun_with_the_same_states_moves_nothing(book) -> None:
    _run(book.engine)
    before = _assignees(book.engine)
    again = _run(book.engine)
    assert (again.kept, again.moved) == (4, 0)
    assert _assignees(book.engine) == before
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseAssignment)) == 3


def test_the_report_attributes_a_case_to_its_collector_from_the_cut_off(book) -> None:
    _run(book.engine)
    facts = read_store_facts(book.engine, date(2026, 11, 1), ON)
    case_l3 = book.case_ids[2]
    assert facts.collector_on(case_l3, ON) == "c1"
    assert facts.team_of("c1") == "north"


def test_a_bucket_leaving_every_team_sends_the_case_to_the_pool(book) -> None:
    _run(book.engine)
    states = {**STATES, "L1": CaseState("M0", Decimal("0.00"))}
    result = _run(book.engine, states)
    assert _assignees(book.engine)["L1"] is None
    assert result.pooled == 2


def test_bad_rules_and_roles_are_refused_by_name(book) -> None:
    with pytest.raises(Invalid, match="rules: no team 'east'"):
        _run(book.engine, rules={"east": ["M1"]})
    with pytest.raises(Invalid, match="bucket M4 is worked by 'north' and 'south'"):
        _run(book.engine, rules={"north": ["M4"], "south": ["M4"]})
    with pytest.raises(Invalid, match="name at least one team"):
        _run(book.engine, rules={})
    with pytest.raises(Forbidden):
        _run(book.engine, actor=Actor(1, "c1", "collector"))
    assert _assignees(book.engine)["L2"] == "c2"  # nothing was written


def test_allocation_rules_are_read_from_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "arrears.toml").write_text(
        '[allocation.teams]\n"早期组 M1" = ["M1"]\nlate = ["M4", "M7+"]\n', encoding="utf-8"
    )
    assert load_settings(tmp_path).allocation_rules() == {
        "早期组 M1": ("M1",),
        "late": ("M4", "M7+"),
    }
    (tmp_path / "arrears.toml").write_text('[allocation.teams]\nlate = "M4"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"arrears.toml: allocation.teams.late must be a"):
        load_settings(tmp_path)
    (tmp_path / "arrears.toml").write_text("[allocation]\nteam = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"allocation\.team is not a setting"):
        load_settings(tmp_path)
