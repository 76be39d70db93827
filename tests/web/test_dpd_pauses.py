"""Pausing and resuming a loan's DPD from the workbench (issue 25, contract 3): a
supervisor or compliance pauses the DPD of a case's loan they can see (hardship, dispute,
other), audited; collectors and agencies may not; a pause starts and a resume takes
effect only on days the loan's close has not passed; odd input is a 4xx naming the
field, never a 500. On SQLite and PostgreSQL (the ``book`` fixture's backends).

The book's loans are closed through 2026-11-30 and the app's day is 2026-12-01."""

from __future__ import annotations

from sqlalchemy import select

from arrears.store.models import DpdPause
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent


def _pause(client, case: int, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/cases/{case}/dpd-pauses", json={"reason": "dispute", **body})


def test_a_team_lead_pauses_and_resumes_a_loans_dpd_and_both_are_audited(login, book) -> None:
    tl = login("tl")
    case = book.case_ids[0]  # c1's, of team north
    made = _pause(tl, case, note="debtor disputes the late fee")
    assert made.status_code == 201, made.text
    pause = made.json()
    assert (pause["loan_id"], pause["reason"], pause["pause_on"], pause["pause_until"]) == (
        "L1",
        "dispute",
        "2026-12-01",  # today by default
        None,
    )
    assert pause["placed_by"] == "tl"
    listed = tl.get(f"/api/v1/cases/{case}/dpd-pauses").json()
    assert [p["id"] for p in listed] == [pause["id"]]
    # the collector of the case sees it, but may not resume it
    assert [p["id"] for p in login("c1").get(f"/api/v1/cases/{case}/dpd-pauses").json()] == [
        pause["id"]
    ]
    assert login("c1").post(f"/api/v1/dpd-pauses/{pause['id']}/resume").status_code == 403
    resumed = tl.post(f"/api/v1/dpd-pauses/{pause['id']}/resume", json={"on": "2026-12-10"})
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["resumed_on"], resumed.json()["resumed_by"]) == ("2026-12-10", "tl")
    again = tl.post(f"/api/v1/dpd-pauses/{pause['id']}/resume", json={"on": "2026-12-11"})
    assert again.status_code == 409
    with UnitOfWork(book.engine) as uow:
        actions = uow.session.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.entity == "dpd_pause", AuditEvent.entity_id == str(pause["id"]))
            .order_by(AuditEvent.seq)
        ).all()
    assert [tuple(a) for a in actions] == [("dpd_pause.place", "tl"), ("dpd_pause.resume", "tl")]


def test_who_may_pause_dpd_and_on_which_cases(login, book) -> None:
    north_case, south_case = book.case_ids[0], book.case_ids[2]
    # collectors and agencies may not pause (a pause changes the reported DPD and class)
    for user, case in (("c1", north_case), ("ag", book.case_ids[3])):
        assert _pause(login(user), case).status_code == 403
    # a team lead sees only their team's (and unassigned) cases: another team's is 404
    assert _pause(login("tl2"), north_case).status_code == 404
    assert _pause(login("tl"), south_case).status_code == 404
    assert _pause(login("comp"), south_case, reason="hardship").status_code == 201
    made = _pause(login("mgr"), north_case, reason="other").json()
    # a team lead of another team cannot resume it, not even from a case they can see
    tl2 = login("tl2")
    assert tl2.post(f"/api/v1/dpd-pauses/{made['id']}/resume").status_code == 404
    assert tl2.get(f"/api/v1/cases/{north_case}/dpd-pauses").status_code == 404
    with UnitOfWork(book.engine) as uow:
        stored = uow.session.scalars(select(DpdPause).order_by(DpdPause.id)).all()
        assert [(p.loan_id, p.reason, p.placed_by) for p in stored] == [
            ("L3", "hardship", "comp"),
            ("L1", "other", "mgr"),
        ]


def _fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    """The fields a 422 names: FastAPI's locations, or the service's "field: …"."""
    detail = response.json()["detail"]
    if isinstance(detail, list):
        return [str(e["loc"][-1]) for e in detail]
    return [detail.split(":")[0]]


def test_bad_input_is_a_4xx_naming_the_field(login, book) -> None:
    tl = login("tl")
    case = book.case_ids[0]
    odd = [
        ({"reason": "holiday"}, "reason"),
        ({"on": "2026-11-30"}, "on"),  # the loan is closed through 30 Nov
        ({"on": "2026-02-30"}, "on"),
        ({"on": "2026-12-05", "until": "2026-12-04"}, "until"),
        ({"until": "9999-12-31"}, "until"),  # beyond the ten-year horizon
        ({"on": "9999-12-31"}, "on"),
        ({"note": "x" * 2001}, "note"),
        ({"until": "tomorrow"}, "until"),
    ]
    for body, field in odd:
        response = _pause(tl, case, **body)
        assert response.status_code == 422, (body, response.text)
        assert _fields(response) == [field], (body, response.text)
    assert tl.post(f"/api/v1/cases/{case}/dpd-pauses", json={}).status_code == 422
    # overlapping pauses of one loan are refused
    assert _pause(tl, case, on="2026-12-05", until="2026-12-20").status_code == 201
    overlap = _pause(tl, case, on="2026-12-20")
    assert overlap.status_code == 409, overlap.text
    assert "overlaps" in overlap.json()["detail"]
    assert _pause(tl, case, on="2026-12-21").status_code == 201  # the day after: fine
    pauses = tl.get(f"/api/v1/cases/{case}/dpd-pauses").json()
    first = next(p for p in pauses if p["pause_on"] == "2026-12-05")
    # a resume on a closed day, or after the pause ended, or of an unknown pause
    closed = tl.post(f"/api/v1/dpd-pauses/{first['id']}/resume", json={"on": "2026-11-30"})
    assert closed.status_code == 422 and _fields(closed) == ["on"]
    late = tl.post(f"/api/v1/dpd-pauses/{first['id']}/resume", json={"on": "2026-12-21"})
    assert late.status_code == 409, late.text
    assert tl.post("/api/v1/dpd-pauses/2147483647/resume").status_code == 404
    # an open pause resumed beyond the horizon (its days are counted to the charge-off)
    second = next(p for p in pauses if p["pause_on"] == "2026-12-21")
    far = tl.post(f"/api/v1/dpd-pauses/{second['id']}/resume", json={"on": "9999-12-31"})
    assert far.status_code == 422 and _fields(far) == ["on"]
    bad = tl.post(f"/api/v1/dpd-pauses/{first['id']}/resume", json={"on": "someday"})
    assert bad.status_code == 422 and _fields(bad) == ["on"]
    # resumed before it starts, a pause is called off: it pauses nothing
    off = tl.post(f"/api/v1/dpd-pauses/{first['id']}/resume", json={"on": "2026-12-02"})
    assert off.status_code == 200 and off.json()["resumed_on"] == "2026-12-05"
