"""The legal team's tasks (issue 24, point 3): every open case in litigation with its
stage's next task and deadline, the nearest (and late) first, scoped like every list,
on the /legal page the top bar links to. The app's today is 2026-12-01."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from arrears.services.workbench import legal
from arrears.services.workbench.access import Actor
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User

TODAY = date(2026, 12, 1)


def _stage(mgr, case_id: int, stage: str, on: str, court: str = "") -> None:  # type: ignore[no-untyped-def]
    body = {"stage": stage, "started_on": on, "court": court}
    answer = mgr.post(f"/api/v1/cases/{case_id}/legal", json=body)
    assert answer.status_code == 201, answer.text


def test_tasks_by_deadline_scoped_and_on_the_page(book, login) -> None:
    mgr = login("mgr")
    one, two, three, _, five, six = book.case_ids
    _stage(mgr, one, "lawyer_letter", "2026-11-10")  # due 11-25: 6 days late
    _stage(mgr, two, "lawyer_letter", "2026-11-01")
    _stage(mgr, two, "filing", "2026-11-20", court="朝阳区人民法院")  # due 12-20
    _stage(mgr, three, "judgment", "2026-11-16", court="海淀区人民法院")  # due 12-01
    _stage(mgr, five, "filing", "2026-11-30", court="东城区人民法院")
    _stage(mgr, six, "lawyer_letter", "2026-11-30")
    with UnitOfWork(book.engine) as uow:  # case 6 ends (repaid): no task any more
        uow.session.execute(update(CaseRow).where(CaseRow.id == six).values(status="closed"))
        uow.commit()
        manager = Actor.of(uow.session.get(User, _user_id(uow, "mgr")))
        listed = legal.tasks(uow.session, manager, TODAY)
    assert [(t.case_id, t.stage, t.due_on, t.days_left) for t in listed] == [
        (one, "lawyer_letter", date(2026, 11, 25), -6),
        (three, "judgment", date(2026, 12, 1), 0),
        (two, "filing", date(2026, 12, 20), 19),
        (five, "filing", date(2026, 12, 30), 29),
    ]
    # the page: in that order, with the task, the deadline and how late, in Chinese
    page = mgr.get("/legal")
    assert page.status_code == 200 and 'href="/legal"' in page.text
    table = page.text.split('data-testid="legal-tasks"', 1)[1].split("</table>", 1)[0]
    assert [int(x.split('"')[0]) for x in table.split('data-case="')[1:]] == [one, three, two, five]
    assert "跟进债务人对律师函的回应" in table and "已逾期 6 天" in table
    assert "今日到期" in table and "剩余 19 天" in table and "朝阳区人民法院" in table
    # a record link fills the form with the case
    filled = mgr.get(f"/legal?case_id={one}")
    assert f'name="case_id" required inputmode="numeric" value="{one}"' in filled.text
    # the team lead of north sees north's cases only; the south's lead only case 3
    north = login("tl").get("/legal").text.split('data-testid="legal-tasks"', 1)[1]
    assert f'data-case="{one}"' in north and f'data-case="{three}"' not in north
    south = login("tl2").get("/legal").text.split('data-testid="legal-tasks"', 1)[1]
    assert f'data-case="{three}"' in south and f'data-case="{one}"' not in south
    # a collector has no legal work to see
    assert login("c1").get("/legal").status_code == 403


def _user_id(uow: UnitOfWork, username: str) -> int:
    found = uow.session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found
