"""Each role reads and changes only what it must: IDOR attempts on case ids, another
collector's case, an agency on a case not placed with it, approvals above the limit or
of one's own proposal."""

from __future__ import annotations

import pytest


def test_collector_sees_only_their_own_cases(login, book) -> None:
    c1 = login("c1")
    own, others = book.case_ids[0], book.case_ids[1:]
    assert [i["case_id"] for i in c1.get("/api/v1/queue").json()] == [own]
    assert c1.get(f"/api/v1/cases/{own}").status_code == 200
    for case in others:  # another collector's, the agency's and the pool's
        assert c1.get(f"/api/v1/cases/{case}").status_code == 404
        assert c1.get(f"/api/v1/cases/{case}/notes").status_code == 404
        response = c1.post(f"/api/v1/cases/{case}/notes", json={"body": "idor"})
        assert response.status_code == 404
        response = c1.post(
            f"/api/v1/cases/{case}/promises", json={"amount": "10.00", "due_date": "2026-12-05"}
        )
        assert response.status_code == 404
    # an id that does not exist answers exactly like one that is not yours
    assert c1.get("/api/v1/cases/999999").status_code == 404


def test_agency_user_sees_only_cases_placed_with_their_agency(login, book) -> None:
    ag = login("ag")
    placed = book.case_ids[3]
    assert [i["case_id"] for i in ag.get("/api/v1/queue").json()] == [placed]
    assert ag.get(f"/api/v1/cases/{placed}").status_code == 200
    for case in book.case_ids[:3] + book.case_ids[4:]:
        assert ag.get(f"/api/v1/cases/{case}").status_code == 404
    # an agency may not unmask, read the dashboard or take pool cases
    reveal = ag.post(
        f"/api/v1/cases/{placed}/reveal", json={"field": "mobile", "reason_code": "legal"}
    )
    assert reveal.status_code == 403
    assert ag.get("/api/v1/dashboard").status_code == 403
    assert ag.post("/api/v1/queue/next").status_code == 403


def test_placed_case_leaves_the_collectors_queue_and_recall_returns_it(login, book) -> None:
    mgr, ag = login("mgr"), login("ag")
    case = book.case_ids[4]
    assert mgr.post(
        f"/api/v1/cases/{case}/placement", json={"agency_id": book.agency_id}
    ).is_success
    assert ag.get(f"/api/v1/cases/{case}").status_code == 200
    assert case not in [i["case_id"] for i in mgr.get("/api/v1/queue?limit=200").json()]
    assert mgr.post(f"/api/v1/cases/{case}/recall").status_code == 200
    assert ag.get(f"/api/v1/cases/{case}").status_code == 404


def test_team_lead_reassigns_within_the_team_only(login, book) -> None:
    tl, c1 = login("tl"), login("c1")
    case = book.case_ids[0]
    assert c1.post(f"/api/v1/cases/{case}/assign", json={"to_user": "c2"}).status_code == 403
    # c3 is in the south team
    assert tl.post(f"/api/v1/cases/{case}/assign", json={"to_user": "c3"}).status_code == 404
    # the south team's case is invisible to the north lead
    south = book.case_ids[2]
    assert tl.post(f"/api/v1/cases/{south}/assign", json={"to_user": "c1"}).status_code == 404
    moved = tl.post(f"/api/v1/cases/{case}/assign", json={"to_user": "c2", "reason": "leave"})
    assert moved.json()["assigned_to"] == "c2"
    assert c1.get(f"/api/v1/cases/{case}").status_code == 404
    history = tl.get(f"/api/v1/cases/{case}/assignments").json()
    assert [(h["from_user"], h["to_user"], h["by_user"]) for h in history] == [("c1", "c2", "tl")]


def test_compliance_reads_everything_but_works_no_case(login, book) -> None:
    comp = login("comp")
    case = book.case_ids[0]
    assert comp.get(f"/api/v1/cases/{case}").status_code == 200
    contact = comp.post(f"/api/v1/cases/{case}/contacts", json={"disposition": "RPC"})
    assert contact.status_code == 403
    assert comp.post(f"/api/v1/cases/{case}/notes", json={"body": "x"}).status_code == 403
    assert comp.get("/api/v1/audit/verify").json()["ok"] is True
    assert login("c1").get("/api/v1/audit/verify").status_code == 403


@pytest.mark.parametrize("who", ["c1", "tl", "comp", "ag"])
def test_only_admins_add_users(login, who) -> None:
    body = {"username": "eve", "password": "long-password", "role": "admin"}
    assert login(who).post("/api/v1/users", json=body).status_code == 403


def test_maker_never_approves_their_own_and_a_collector_not_above_their_limit(login, book) -> None:
    c1, tl = login("c1"), login("tl")
    case = book.case_ids[0]
    own = c1.post(
        f"/api/v1/cases/{case}/arrangements",
        json={"kind": "waiver", "terms": {"component": "penalty", "amount": "50.00"}},
    ).json()
    refused = c1.post(f"/api/v1/arrangements/{own['id']}/decision", json={"approve": True})
    assert refused.status_code == 403
    assert "own" in refused.json()["detail"]
    assert tl.post(f"/api/v1/arrangements/{own['id']}/decision", json={"approve": False}).is_success
    # the team lead proposes 300.00 of relief on c1's case: c1 (limit 100) may not approve
    big = tl.post(
        f"/api/v1/cases/{case}/arrangements",
        json={"kind": "waiver", "terms": {"component": "interest", "amount": "300.00"}},
    ).json()
    refused = c1.post(f"/api/v1/arrangements/{big['id']}/decision", json={"approve": True})
    assert refused.status_code == 403
    # another collector cannot even see it
    c2 = login("c2")
    unseen = c2.post(f"/api/v1/arrangements/{big['id']}/decision", json={"approve": True})
    assert unseen.status_code == 404
    assert c1.get(f"/api/v1/cases/{case}/arrangements").json()[0]["status"] == "pending"
