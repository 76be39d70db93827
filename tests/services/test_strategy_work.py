"""Late-stage strategy steps create work: an agency step places the case with an agency
(once; recalled after the placement period), a litigation or lawyer-letter step opens
its legal case with the legal team's task, a visit step plans a field visit for two
collectors; a rerun of the day creates nothing more; no agency is a reason, not a crash."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from arrears.services.treatments import STRATEGY_ACTOR, treat_day
from arrears.services.workbench import agencies as agency_service
from arrears.services.workbench import legal as legal_service
from arrears.services.workbench.users import create_agency, create_team, create_user
from arrears.services.workbench.visits import visitors_of
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent, FieldVisit, LegalAction, Placement
from arrears.workspace import Workspace
from book_support import closed_book as generated_book

AS_OF = date(2026, 6, 30)
STRATEGY = """
name = "late-work"
version = 1
champion = "champion"

[[segments]]
name = "early"
when = { dpd = { min = 1, max = 30 } }
ladder = "visit"

[[segments]]
name = "mid"
when = { dpd = { min = 31, max = 90 } }
ladder = "litigation"

[[segments]]
name = "late"
when = { dpd = { min = 91 } }
ladder = "agency"

[[segments]]
name = "rest"
ladder = "visit"

[[ladders.visit.steps]]
name = "visit_d1"
offset = 1
channel = "visit"
template = "visit_task"
priority = 10
send_hour = 10

[[ladders.litigation.steps]]
name = "litigation_d31"
offset = 31
channel = "litigation"
template = "litigation_referral"
priority = 5
send_hour = 9
skip_if_promise_active = false

[[ladders.agency.steps]]
name = "agency_d91"
offset = 91
channel = "agency"
template = "agency_placement"
priority = 10
send_hour = 9

[[arms]]
name = "champion"
share = 1.0
"""


@pytest.fixture(scope="module")
def closed_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 loans closed on AS_OF, untreated."""
    return generated_book(tmp_path_factory.mktemp("work") / "ws", 300, AS_OF, 1)


def _staff(ws: Workspace, *, agencies: int) -> None:
    """A team of two collectors working every open case (the first one's), and
    ``agencies`` agencies."""
    with UnitOfWork(ws.engine) as uow:
        team = create_team(uow.session, "团队", "test").id
        for name in ("a.one", "b.two"):
            create_user(uow.session, name, "Long-enough-pass-123", "collector", team_id=team)
        for n in range(agencies):
            create_agency(uow.session, f"AG{n}", f"Agency {n}")
        uow.session.execute(
            update(CaseRow).where(CaseRow.status == "open").values(assigned_to="a.one")
        )
        uow.commit()


@pytest.fixture
def ws(closed_book: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(closed_book, root)
    return Workspace.at(root)


def _copy_strategy(ws: Workspace) -> Path:
    path = ws.root / "late-work.toml"
    path.write_text(STRATEGY, encoding="utf-8")
    return path


def _count(ws: Workspace, *columns: object, where: tuple[object, ...] = ()) -> int:
    with UnitOfWork(ws.engine) as uow:
        return uow.session.scalar(select(func.count(*columns)).where(*where)) or 0


def _steps(ws: Workspace, step: str) -> set[int]:
    with UnitOfWork(ws.engine) as uow:
        from arrears.store.contact_models import StrategyAssignment

        return set(
            uow.session.scalars(
                select(StrategyAssignment.case_id).where(StrategyAssignment.step == step)
            )
        )


def test_late_steps_create_one_placement_legal_case_and_visit_each_and_a_rerun_none(
    ws: Workspace,
):
    _staff(ws, agencies=2)
    report = treat_day(ws, AS_OF, strategy_file=_copy_strategy(ws))
    placed, litigated, visited = (
        _steps(ws, "agency_d91"),
        _steps(ws, "litigation_d31"),
        _steps(ws, "visit_d1"),
    )
    assert placed and litigated and visited  # the book has cases on every rung
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        placements = s.execute(select(Placement.case_id, Placement.agency_id, Placement.rule)).all()
        assert sorted(p.case_id for p in placements) == sorted(placed)  # one per case
        assert {p.rule for p in placements} == {"strategy:agency_d91"}
        per_agency = [sum(p.agency_id == a for p in placements) for a in {1, 2}]
        assert abs(per_agency[0] - per_agency[1]) <= 1  # spread over the agencies
        legal = s.execute(select(LegalAction.case_id, LegalAction.stage, LegalAction.notes)).all()
        assert sorted(a.case_id for a in legal) == sorted(litigated)
        assert {a.stage for a in legal} == {"filing"}
        assert all("法务组待办" in a.notes and "Legal team:" in a.notes for a in legal)
        allowed_visits = set(
            s.scalars(
                select(ContactAttempt.case_id).where(
                    ContactAttempt.channel == "visit", ContactAttempt.allowed
                )
            )
        )
        visits = list(s.scalars(select(FieldVisit)))
        assert allowed_visits and sorted(v.case_id for v in visits) == sorted(allowed_visits)
        assert all(visitors_of(v) == ["a.one", "b.two"] for v in visits)
        assert all(v.scheduled_on == AS_OF + timedelta(days=1) for v in visits)
        audited = dict(
            s.execute(
                select(AuditEvent.action, func.count())
                .where(AuditEvent.actor == "strategy")
                .group_by(AuditEvent.action)
            ).all()
        )
    assert report.work == {
        "placed": len(placed),
        "legal_case": len(litigated),
        "visit": len(visits),
    }
    assert audited["placement.place"] == len(placed)
    assert audited["legal.stage"] == len(litigated)
    assert audited["visit.order"] == audited["visit.plan"] == len(visits)

    again = treat_day(ws, AS_OF, strategy_file=_copy_strategy(ws))
    assert again.already_done and not again.work
    assert _count(ws, Placement.id) == len(placed)
    assert _count(ws, LegalAction.id) == len(litigated)
    assert _count(ws, FieldVisit.id) == len(visits)


def test_each_creation_checks_what_the_case_has_and_placements_are_recalled_after_the_period(
    ws: Workspace,
):
    _staff(ws, agencies=1)
    treat_day(ws, AS_OF, strategy_file=_copy_strategy(ws))
    on = AS_OF + timedelta(days=1)
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        case_id = s.scalar(select(Placement.case_id).limit(1))
        placer = agency_service.StrategyPlacer(s)
        placed_now = agency_service.active_placements(s, [case_id])
        again, why = agency_service.place_for_strategy(
            s, STRATEGY_ACTOR, placer, case_id, on=on, step="agency_d91", placed=placed_now
        )
        assert again is None and why == "placed with agency 1 already"
        litigated = s.scalars(select(LegalAction).limit(1)).one()
        stages = legal_service.current_stages(s, [litigated.case_id])
        assert stages[litigated.case_id].id == litigated.id
        referred, why = legal_service.refer(
            s,
            STRATEGY_ACTOR,
            litigated.case_id,
            litigated.stage,
            on,
            step="again",
            stages=stages,
        )
        assert referred is None and why == f"in litigation at {litigated.stage} already"
        day = on + timedelta(days=agency_service.PLACEMENT_DAYS - 1)
        assert agency_service.recall_expired(s, STRATEGY_ACTOR, on=day) == 0
        day += timedelta(days=1)
        placed = s.scalar(select(func.count(Placement.id)))
        assert agency_service.recall_expired(s, STRATEGY_ACTOR, on=day) == placed
        assert set(s.scalars(select(Placement.status))) == {"recalled"}
        assert set(s.scalars(select(Placement.recalled_on))) == {day}
        uow.commit()


def test_without_an_agency_the_step_is_not_placed_with_its_reason(ws: Workspace):
    _staff(ws, agencies=0)
    report = treat_day(ws, AS_OF, strategy_file=_copy_strategy(ws))
    late = _steps(ws, "agency_d91")
    assert late and report.not_done["agency: no active agency"] == len(late)
    assert _count(ws, Placement.id) == 0
    assert _count(ws, AuditEvent.seq, where=(AuditEvent.action == "placement.not_placed",)) == len(
        late
    )


def test_a_visit_without_a_second_collector_is_not_planned_with_its_reason(ws: Workspace):
    _staff(ws, agencies=1)
    with UnitOfWork(ws.engine) as uow:
        from arrears.store.workbench_models import User

        uow.session.execute(update(User).where(User.username == "b.two").values(active=False))
        uow.commit()
    report = treat_day(ws, AS_OF, strategy_file=_copy_strategy(ws))
    assert _count(ws, FieldVisit.id) == 0
    assert report.not_done["visit: no second collector in a.one's team"] > 0
