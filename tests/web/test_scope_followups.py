"""Scope gaps left after every write re-checked its object's case (issue 22, finding 2):

- a field visit is ordered only for a visitor who may see and work the case (not another
  team's collector, not a user of another agency, not a read-only role);
- a team lead moves a collector (``new_team_id`` of a transfer) only within their own
  team, and assigns cases only to members of their own team; a lead of no team has no
  members;
- the case page offers a hold's release button only where ``release_hold`` would
  accept it: a hold of the customer on a loan the user cannot see shows no button.

Each runs on SQLite and PostgreSQL (the ``book`` of web_support.py).
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from web_support import TODAY, Book, add_user

from arrears.services.workbench import holds
from arrears.services.workbench.access import Actor
from arrears.store.models import CaseRow, Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Agency, FieldVisit, User

API = "/api/v1"


def _add_agency(book: Book, code: str) -> int:
    with UnitOfWork(book.engine) as uow:
        agency = Agency(code=code, name=f"agency {code}", active=True)
        uow.session.add(agency)
        uow.commit()
        return agency.id


def _visits(book: Book) -> list[tuple[int, str]]:
    with UnitOfWork(book.engine) as uow:
        return list(uow.session.execute(select(FieldVisit.case_id, FieldVisit.assigned_to)).all())


def _user(book: Book, username: str) -> User:
    with UnitOfWork(book.engine) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        uow.session.expunge(user)
        return user


def _assignee(book: Book, case_id: int) -> str | None:
    with UnitOfWork(book.engine) as uow:
        return uow.session.scalar(select(CaseRow.assigned_to).where(CaseRow.id == case_id))


# 1. the visitor of a field visit


def test_a_visit_is_refused_for_a_visitor_who_may_not_work_the_case(login, book) -> None:
    case1, case4 = book.case_ids[0], book.case_ids[3]  # c1's (north); placed with agency A1
    add_user(book, "ag2", "agency", agency_id=_add_agency(book, "A2"))
    tl, mgr = login("tl"), login("mgr")
    refusals = [
        (tl, case1, "c3"),  # a collector of the other team
        (tl, case1, "c2"),  # a collector of the same team, not assigned the case
        (tl, case1, "ag"),  # an agency user: case 1 is not placed
        (mgr, case4, "ag2"),  # a user of another agency than the case's
        (mgr, case1, "comp"),  # compliance sees every case but works none
    ]
    for client, case_id, visitor in refusals:
        response = client.post(
            f"{API}/cases/{case_id}/visits",
            json={"scheduled_on": str(TODAY), "assigned_to": visitor},
        )
        assert response.status_code == 422, (visitor, response.text)
        assert response.json()["detail"] == (
            f"assigned_to: visitor {visitor!r} may not work case {case_id}"
        )
    assert _visits(book) == []
    # whoever may work the case is accepted
    accepted = [(tl, case1, "c1"), (mgr, case1, "tl"), (mgr, case4, "ag"), (tl, case1, None)]
    for client, case_id, visitor in accepted:
        response = client.post(
            f"{API}/cases/{case_id}/visits",
            json={"scheduled_on": str(TODAY), "assigned_to": visitor},
        )
        assert response.status_code == 201, (visitor, response.text)
    assert sorted(_visits(book)) == sorted(
        [(case1, "c1"), (case1, "tl"), (case4, "ag"), (case1, "tl")]
    )


def test_the_case_page_refuses_a_visit_for_another_teams_collector(login, book) -> None:
    case1 = book.case_ids[0]
    response = login("tl").post(
        f"/cases/{case1}/visit",
        data={"scheduled_on": str(TODAY), "assigned_to": "c3"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "c3 无权处理此案件" in response.text  # the refusal, in the page's language
    assert _visits(book) == []


# 2. team leads move collectors and cases only within their own team


def test_a_team_lead_may_not_move_a_collector_to_another_team(login, book) -> None:
    case1 = book.case_ids[0]
    body = {"from_user": "c1", "to_users": ["c2"], "reason": "c1 changes team"}
    refused = login("tl").post(f"{API}/transfers", json={**body, "new_team_id": book.south})
    assert refused.status_code == 403, refused.text
    assert "another team" in refused.json()["detail"]
    assert _user(book, "c1").team_id == book.north
    assert _assignee(book, case1) == "c1"  # nothing moved
    # within their own team, a lead may; a manager moves anyone anywhere
    own = login("tl").post(f"{API}/transfers", json={**body, "new_team_id": book.north})
    assert own.status_code == 200 and own.json() == {"c2": 1}
    assert _user(book, "c1").team_id == book.north
    moved = login("mgr").post(
        f"{API}/transfers", json={**body, "to_users": [], "new_team_id": book.south}
    )
    assert moved.status_code == 200, moved.text
    assert _user(book, "c1").team_id == book.south


def test_a_team_lead_assigns_cases_only_within_their_own_team(login, book) -> None:
    """To a member of their team, never another team's; and a lead of no team has no
    members (two users without a team are not one team): they assign to nobody and
    transfer nobody's cases."""
    pool_case = book.case_ids[4]  # unassigned: every lead sees the pool
    tl = login("tl")
    other_team = tl.post(f"{API}/cases/{pool_case}/assign", json={"to_user": "c3"})
    assert other_team.status_code == 404 and "in your team" in other_team.json()["detail"]
    assert _assignee(book, pool_case) is None
    add_user(book, "tl0", "team_lead")
    add_user(book, "c0", "collector")
    lead = login("tl0")
    assign = lead.post(f"{API}/cases/{pool_case}/assign", json={"to_user": "c0"})
    assert assign.status_code == 404, assign.text
    assert _assignee(book, pool_case) is None
    body = {"from_user": "c0", "to_users": [], "reason": "x"}
    transfer = lead.post(f"{API}/transfers", json=body)
    assert transfer.status_code == 404, transfer.text
    # the lead of north assigns to north
    assert tl.post(f"{API}/cases/{pool_case}/assign", json={"to_user": "c2"}).status_code == 200
    assert _assignee(book, pool_case) == "c2"


# 3. the release button of a hold


def _customer_with_a_loan_of_the_other_team(book: Book) -> dict[str, int]:
    """Make loan L3 (case 3, c3 of team south) a loan of customer C1 too, so case 1's
    page (c1, team north) lists holds on a loan team north cannot see; place a hold on
    case 1's loan, one on loan L3 and one on the whole customer."""
    case1, case3 = book.case_ids[0], book.case_ids[2]
    with UnitOfWork(book.engine) as uow:
        session = uow.session
        session.execute(update(Loan).where(Loan.loan_id == "L3").values(customer_id="C1"))
        session.execute(update(CaseRow).where(CaseRow.id == case3).values(customer_id="C1"))
        mgr = Actor.of(session.scalar(select(User).where(User.username == "mgr")))
        own = holds.place_hold(session, mgr, case1, "dispute", "own loan", on=TODAY)
        other = holds.place_hold(session, mgr, case3, "hardship", "other loan", on=TODAY)
        whole = holds.place_hold(
            session, mgr, case1, "do_not_contact", "whole customer", on=TODAY, whole_customer=True
        )
        uow.commit()
        return {"own": own.id, "other": other.id, "whole": whole.id}


def _release_buttons(page: str, case_id: int) -> set[int]:
    """Ids of the holds the page has a release form for."""
    found = re.findall(rf'action="/cases/{case_id}/hold/(\d+)/release"', page)
    return {int(hold_id) for hold_id in found}


def _listed_holds(page: str) -> set[int]:
    return {int(hold_id) for hold_id in re.findall(r'data-testid="hold-(\d+)"', page)}


def test_the_case_page_offers_release_only_for_holds_the_user_may_release(login, book) -> None:
    case1 = book.case_ids[0]
    ids = _customer_with_a_loan_of_the_other_team(book)
    tl = login("tl")
    page = tl.get(f"/cases/{case1}").text
    assert _listed_holds(page) == set(ids.values())  # every hold of the customer is shown
    assert _release_buttons(page, case1) == {ids["own"], ids["whole"]}
    flags = {h["id"]: h["releasable"] for h in tl.get(f"{API}/cases/{case1}").json()["holds"]}
    assert flags == {ids["own"]: True, ids["whole"]: True, ids["other"]: False}
    # the button it does not show is one the service refuses
    refused = tl.post(f"/cases/{case1}/hold/{ids['other']}/release", follow_redirects=False)
    assert refused.status_code == 404
    # a manager sees every loan's case, so may release every hold
    assert _release_buttons(login("mgr").get(f"/cases/{case1}").text, case1) == set(ids.values())
    # a collector may release none (RELEASE_ROLES), a released hold has no button
    assert _release_buttons(login("c1").get(f"/cases/{case1}").text, case1) == set()
    released = tl.post(f"{API}/holds/{ids['own']}/release")
    assert released.status_code == 200, released.text
    assert _release_buttons(tl.get(f"/cases/{case1}").text, case1) == {ids["whole"]}
