"""Search and the inbound-call flow (issue 24, point 2), and the floor's pages.

Each key finds its customer's case (name prefix, phone as written or with +86,
身份证 last digits, loan id, customer id), within the searcher's scope only, with the
phone and ID masked for the role; the full value is still only seen through a reveal,
which the audit chain keeps. The inbound call opens the one case a number matches, or
lists them when several do.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from arrears.services.workbench import search
from arrears.services.workbench.access import Actor
from arrears.store.models import ContactPoint, Customer
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent, User

# the book's customers: C{n} 客户{n}, mobile 1381234000{n}, ID 11010119900101 00{n} X


def _actor(engine, username: str) -> Actor:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return Actor.of(uow.session.scalar(select(User).where(User.username == username)))


@pytest.mark.parametrize(
    ("q", "by", "matched_by"),
    [
        ("客户1", "name", "name"),
        ("客户1", "any", "name"),
        ("13812340001", "phone", "phone"),
        ("+86 138-1234-0001", "any", "phone"),
        ("001X", "id_number", "id_number"),
        ("0101001x", "any", "id_number"),
        ("L1", "loan_id", "loan_id"),
        ("C1", "customer_id", "customer_id"),
    ],
)
def test_each_key_finds_the_case_masked_for_a_collector(login, book, q, by, matched_by) -> None:
    hits = login("c1").get("/api/v1/search", params={"q": q, "by": by}).json()
    assert [(h["case_id"], h["matched_by"]) for h in hits] == [(book.case_ids[0], matched_by)]
    assert hits[0]["mobile"] == "138****0001"
    assert hits[0]["id_number"] == "110101********001X"


def test_search_stays_in_the_searchers_scope(login, book) -> None:
    # c2 (north) and tl2 (south lead) do not see c1's customer; the agency sees only its placement
    for user in ("c2", "tl2", "ag"):
        for q in ("客户1", "13812340001", "001X", "L1", "C1"):
            assert login(user).get("/api/v1/search", params={"q": q}).json() == [], (user, q)
    assert [h["case_id"] for h in login("ag").get("/api/v1/search", params={"q": "L4"}).json()] == [
        book.case_ids[3]
    ]
    agency_hit = login("ag").get("/api/v1/search", params={"q": "13812340004"}).json()[0]
    assert agency_hit["mobile"] == "*******0004" and agency_hit["placed"] is True


def test_a_name_prefix_finds_every_customer_in_scope(login, book) -> None:
    hits = login("mgr").get("/api/v1/search", params={"q": "客户", "limit": 10}).json()
    assert sorted(h["case_id"] for h in hits) == sorted(book.case_ids)


def test_bad_searches_are_4xx(login, book) -> None:
    c1 = login("c1")
    assert c1.get("/api/v1/search", params={"q": ""}).status_code == 422
    assert c1.get("/api/v1/search", params={"q": "12", "by": "phone"}).status_code == 422
    assert c1.get("/api/v1/search", params={"q": "ab", "by": "id_number"}).status_code == 422
    assert c1.get("/api/v1/search", params={"q": "x", "by": "nope"}).status_code == 422
    assert c1.get("/api/v1/search", params={"q": "%_\\"}).json() == []
    assert c1.get("/search", params={"q": "12", "by": "phone"}).status_code == 422
    # a NUL or other control character is refused, never sent to the database
    assert c1.get("/api/v1/search", params={"q": "客户\x00"}).status_code == 422
    assert c1.get("/api/v1/search", params={"q": "1381234\x000001"}).status_code == 422
    assert "phone" in c1.get("/api/v1/inbound", params={"phone": "\x00"}).json()["detail"]


def test_a_reveal_after_a_search_is_still_logged(login, book) -> None:
    c1 = login("c1")
    hit = c1.get("/api/v1/search", params={"q": "13812340001"}).json()[0]
    revealed = c1.post(
        f"/api/v1/cases/{hit['case_id']}/reveal",
        json={"field": "mobile", "reason_code": "inbound_call"},
    )
    assert revealed.json()["value"] == "13812340001"
    with UnitOfWork(book.engine) as uow:
        logged = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "pii.reveal", AuditEvent.actor == "c1")
        ).all()
        assert len(logged) == 1


def test_inbound_call_opens_the_case_or_lists_several(login, book) -> None:
    c1 = login("c1")
    opened = c1.get("/inbound", params={"phone": "138 1234 0001"}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/cases/{book.case_ids[0]}"
    assert (
        c1.get("/api/v1/inbound", params={"phone": "13812340001"}).json()["case_id"]
        == (book.case_ids[0])
    )
    # customer 6's contact point has customer 5's number: a manager gets a pick-list
    with UnitOfWork(book.engine) as uow:
        uow.session.add(ContactPoint(customer_id="C6", kind="home", value="+86 (138) 1234-0005"))
        uow.commit()
    mgr = login("mgr")
    both = mgr.get("/api/v1/inbound", params={"phone": "13812340005"}).json()
    assert both["case_id"] is None
    assert sorted(h["case_id"] for h in both["hits"]) == sorted(book.case_ids[4:6])
    page = mgr.get("/inbound", params={"phone": "13812340005"})
    assert page.status_code == 200 and page.text.count('data-testid="search-hit"') == 2
    none = c1.get("/inbound", params={"phone": "13900000000"})
    assert 'data-testid="search-none"' in none.text


def test_a_phone_written_with_separators_on_import_is_found(book) -> None:
    with UnitOfWork(book.engine) as uow:
        uow.session.execute(
            update(Customer).where(Customer.customer_id == "C2").values(mobile="+86 138-1234-0002")
        )
        uow.commit()
    with UnitOfWork(book.engine) as uow:
        hits = search.search(uow.session, _actor(book.engine, "c2"), "13812340002")
        assert [h.customer_id for h in hits] == ["C2"]
        assert hits[0].amount_overdue > Decimal(0)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_pages_render_in_each_language(login, book, lang) -> None:
    words = {
        "en": ("Promises", "Search", "Load per collector"),
        "zh_CN": ("承诺还款", "查询", "催收员工作量"),
    }[lang]
    tl = login("tl")
    tl.cookies.set("lang", lang)
    with UnitOfWork(book.engine) as uow:
        uow.session.execute(update(User).where(User.username == "tl").values(language=lang))
        uow.commit()
    for path in ("/queue", "/queue/promises", "/queue/callbacks", "/queue/load", "/search?q=客户"):
        page = tl.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "floor." not in page.text, path  # every key has its words
    assert all(w in tl.get("/queue/load").text for w in words)
    assert tl.get("/queue/load").text.count('data-testid="load-c') == 2
    c1 = login("c1")
    assert c1.get("/queue/load").status_code == 403
