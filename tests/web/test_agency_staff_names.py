"""An agency user sees the names of their own agency's users only: the lender's staff
(the collector the case was assigned to, the manager who wrote a note, who reassigned
it) and another agency's users appear as ``lender-staff`` in the API and as 委托方人员
on the pages; the lender's own users still see every name.

Each runs on SQLite and PostgreSQL (the ``book`` of web_support.py: case 4 is placed
with agency A1, whose user is ``ag``).
"""

from __future__ import annotations

from sqlalchemy import update
from web_support import Book, add_user

from arrears.services.workbench.access import LENDER_STAFF
from arrears.store.models import CaseRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Agency, CaseNote

API = "/api/v1"
NOTES = ("mgr", "ag", "ag_b", "other")  # the authors of notes 0-3 on the placed case


def _worked_by_everyone(book: Book, login) -> int:  # type: ignore[no-untyped-def]
    """Case 4 (placed with A1) assigned to collector c1, with notes by the manager, by
    ``ag`` and by ``ag_b`` (A1 too, reading English) and by ``other`` (of agency A2,
    kept the way a former placement's note would be)."""
    case = book.case_ids[3]
    with UnitOfWork(book.engine) as uow:
        uow.session.execute(update(CaseRow).where(CaseRow.id == case).values(assigned_to="c1"))
        a2 = Agency(code="A2", name="agency A2", active=True)
        uow.session.add(a2)
        uow.commit()
        other_agency = a2.id
    add_user(book, "ag_b", "agency", "en", agency_id=book.agency_id)
    add_user(book, "other", "agency", agency_id=other_agency)
    for username in ("mgr", "ag", "ag_b"):  # a note's body: its author's place in NOTES
        body = f"note {NOTES.index(username)}"
        posted = login(username).post(f"{API}/cases/{case}/notes", json={"body": body})
        assert posted.status_code == 201, posted.text
    with UnitOfWork(book.engine) as uow:  # a note kept from another agency's placement
        uow.session.add(CaseNote(case_id=case, author="other", body="note 3"))
        uow.commit()
    return case


def test_agency_api_shows_own_agency_names_and_hides_the_lenders(login, book) -> None:
    case = _worked_by_everyone(book, login)
    ag, mgr = login("ag"), login("mgr")

    view = ag.get(f"{API}/cases/{case}").json()
    assert view["case"]["assigned_to"] == LENDER_STAFF
    authors = {n["body"]: n["author"] for n in view["notes"]}
    assert authors == {
        "note 0": LENDER_STAFF,  # the manager
        "note 1": "ag",
        "note 2": "ag_b",
        "note 3": LENDER_STAFF,  # another agency's user
    }
    notes = {n["body"]: n["author"] for n in ag.get(f"{API}/cases/{case}/notes").json()}
    assert notes == authors
    [item] = ag.get(f"{API}/queue").json()
    assert item["case_id"] == case and item["assigned_to"] == LENDER_STAFF
    hits = ag.get(f"{API}/search", params={"q": "客户4"}).json()
    assert [(h["case_id"], h["assigned_to"]) for h in hits] == [(case, LENDER_STAFF)]

    # the lender's manager sees every name as it is
    view = mgr.get(f"{API}/cases/{case}").json()
    assert view["case"]["assigned_to"] == "c1"
    assert {n["author"] for n in view["notes"]} == {"mgr", "ag", "ag_b", "other"}


def test_agency_pages_name_the_lenders_staff_in_their_language(login, book) -> None:
    case = _worked_by_everyone(book, login)
    ag = login("ag")
    for path, params in ((f"/cases/{case}", {}), ("/queue", {}), ("/search", {"q": "客户4"})):
        page = ag.get(path, params=params)
        assert page.status_code == 200, path
        assert "委托方人员" in page.text, path
        for hidden in (">c1<", "mgr", ">other<", "· other"):
            assert hidden not in page.text, (path, hidden)
    assert "ag_b" in ag.get(f"/cases/{case}").text
    english = login("ag_b").get(f"/cases/{case}")
    assert "lender staff" in english.text and "mgr" not in english.text
