"""The collections floor's work lists (issue 24, point 1): the ranked queue, "next
case" in the same order, "my promises", "my callbacks", the load per collector, each
scoped like the queue, and the callback's date and time on a contact.

The book of ``web_support`` with, on 2026-12-01 12:00 Shanghai (the app's clock):
case 2 (c2) a promise due today, case 1 (c1) a promise broken yesterday, case 3 (c3)
a callback asked for 11:00 today, case 5 (pool, DPD 200) a hold that stops calls, case
6 (pool, DPD 150) nothing: so the ranking is 2, 1, 3, 6 (contactable), 5 (not).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from web_support import NOW, TODAY, Book, login_client

from arrears.services.settings import SettingsError, load_settings
from arrears.services.workbench import contacts, holds, queues
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Invalid
from arrears.services.workbench.ranking import Ranking, load_ranking
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import ContactLog, Promise, User
from arrears.web.app import Settings, create_app


def _actor(engine, username: str) -> Actor:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return Actor.of(uow.session.scalar(select(User).where(User.username == username)))


def _promise(uow: UnitOfWork, case_id: int, loan_id: str, due: date, status: str) -> None:
    uow.session.add(
        Promise(
            case_id=case_id, loan_id=loan_id, amount=Decimal("500.00"),
            promised_on=due - timedelta(days=3), due_date=due, status=status,
            paid_amount=Decimal(0), created_by="c1",
        )
    )  # fmt: skip


@pytest.fixture
def floor(book: Book) -> Book:
    """The book with the promises, callback and hold of the module docstring."""
    c1, c2, c3, *_ = book.case_ids
    with UnitOfWork(book.engine) as uow:
        _promise(uow, c2, "L2", TODAY, "pending")
        _promise(uow, c1, "L1", TODAY - timedelta(days=1), "broken")
        # c3 called at 10:00 Shanghai; asked to be called back at 11:00
        result = contacts.log_contact(
            uow.session, _actor(book.engine, "c3"), c3, "call", "CALLBACK",
            at=NOW - timedelta(hours=2), callback_at=NOW - timedelta(hours=1),
        )  # fmt: skip
        assert result.allowed
        holds.place_hold(
            uow.session, _actor(book.engine, "mgr"), book.case_ids[4], "dispute",
            "disputes the amount", on=TODAY,
        )  # fmt: skip
        uow.commit()
    return book


def test_the_queue_ranks_promises_callbacks_contactable_then_the_rest(login, floor) -> None:
    rows = login("mgr").get("/api/v1/queue").json()
    ids = floor.case_ids
    assert [r["case_id"] for r in rows] == [ids[1], ids[0], ids[2], ids[5], ids[4]]
    assert [r["tier"] for r in rows] == [
        "promise_due_today",
        "promise_broken_yesterday",
        "callback_due",
        "contactable_now",
        None,
    ]
    by_id = {r["case_id"]: r for r in rows}
    held = by_id[ids[4]]
    assert held["contactable"] is False and held["blocked_rules"]
    assert held["next_action"] == "wait_blocked"
    assert by_id[ids[1]]["next_action"] == "confirm_promise"
    assert by_id[ids[1]]["promise_due"] == TODAY.isoformat()
    assert by_id[ids[0]]["next_action"] == "chase_broken"
    called = by_id[ids[2]]
    assert (called["last_outcome"], called["last_contact_channel"]) == ("CALLBACK", "call")
    assert called["callback_at"].startswith("2026-12-01T03:00")
    assert called["next_action"] == "call_back"
    # no scores in this workspace: every case has the default risk 0.5 × its amount
    assert Decimal(by_id[ids[5]]["score"]) == (Decimal(by_id[ids[5]]["amount_overdue"]) / 2)


def test_next_case_follows_the_ranking(floor) -> None:
    mgr = _actor(floor.engine, "mgr")
    with UnitOfWork(floor.engine) as uow:
        # the manager's own cases first (none), then the pool: 6 is callable, 5 is held
        taken = queues.next_case(uow.session, mgr, now=NOW)
        assert taken is not None and taken.id == floor.case_ids[5]
        uow.commit()


def test_risk_times_amount_orders_the_rest_and_its_weight_is_configurable(floor) -> None:
    mgr = _actor(floor.engine, "mgr")
    risky = {"L5": Decimal("0.10"), "L6": Decimal("0.90")}
    no_tiers = Ranking(tiers=(), risk_weight=Decimal(1))
    with UnitOfWork(floor.engine) as uow:
        pool = queues.queue(
            uow.session, mgr, assignee="", now=NOW, work=queues.Worklist(no_tiers, "cn", risky)
        )
        assert [i.case_id for i in pool] == [floor.case_ids[5], floor.case_ids[4]]
        assert pool[0].score == (pool[0].amount_overdue * Decimal("0.90")).quantize(Decimal("0.01"))
        # risk weight 0: amount alone, then the higher DPD (case 5, DPD 200)
        flat = Ranking(tiers=(), risk_weight=Decimal(0))
        pool = queues.queue(
            uow.session, mgr, assignee="", now=NOW, work=queues.Worklist(flat, "cn", risky)
        )
        assert [i.case_id for i in pool] == [floor.case_ids[4], floor.case_ids[5]]


def test_the_ranking_is_read_from_arrears_toml(tmp_path: Path, floor) -> None:
    (tmp_path / "arrears.toml").write_text(
        '[queue]\ntiers = ["callback_due", "promise_due_today"]\nrisk_weight = 0.25\n',
        encoding="utf-8",
    )
    ranking = load_ranking(tmp_path)
    load_settings(tmp_path)  # the workspace's other readers accept the table
    assert ranking.tiers == ("callback_due", "promise_due_today")
    assert ranking.risk_weight == Decimal("0.25")
    app = create_app(tmp_path, engine=floor.engine, settings=Settings(clock=lambda: NOW),
                     migrate=False)  # fmt: skip
    with login_client(app, "mgr") as client:
        rows = client.get("/api/v1/queue").json()
    ids = floor.case_ids
    # the callback first now, the promise due today second, the broken promise in no tier
    assert [r["case_id"] for r in rows[:2]] == [ids[2], ids[1]]
    assert rows[0]["tier"] == "callback_due" and rows[2]["tier"] is None
    (tmp_path / "arrears.toml").write_text('[queue]\ntiers = ["soon"]\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"queue\.tiers"):
        load_ranking(tmp_path)


def test_lists_are_scoped_like_the_queue(login, floor) -> None:
    ids = floor.case_ids
    c2 = login("c2")
    assert [r["case_id"] for r in c2.get("/api/v1/worklists/promises").json()] == [ids[1]]
    assert c2.get("/api/v1/worklists/callbacks").json() == []
    assert [r["case_id"] for r in c2.get("/api/v1/queue").json()] == [ids[1]]
    c3 = login("c3")
    callbacks = c3.get("/api/v1/worklists/callbacks").json()
    assert [r["case_id"] for r in callbacks] == [ids[2]]
    assert c3.get("/api/v1/worklists/promises").json() == []
    # the north lead sees the north team's promises (cases 1 and 2), not c3's callback
    tl = login("tl")
    promises = tl.get("/api/v1/worklists/promises").json()
    assert sorted(r["case_id"] for r in promises) == sorted([ids[0], ids[1]])
    assert tl.get("/api/v1/worklists/callbacks").json() == []
    load = {r["username"]: r for r in tl.get("/api/v1/worklists/load").json()}
    assert set(load) == {"c1", "c2"}
    assert load["c2"]["promises_due_today"] == 1 and load["c1"]["promises_broken_yesterday"] == 1
    # the south lead: only c3, and c3's callback
    tl2 = login("tl2")
    assert [r["case_id"] for r in tl2.get("/api/v1/worklists/callbacks").json()] == [ids[2]]
    assert tl2.get("/api/v1/worklists/promises").json() == []
    assert [r["username"] for r in tl2.get("/api/v1/worklists/load").json()] == ["c3"]
    south = tl2.get("/api/v1/worklists/load").json()[0]
    assert (south["callbacks_due"], south["contacts_today"], south["open_cases"]) == (1, 1, 1)
    # collectors have no load view; the agency user sees none of these cases
    assert c2.get("/api/v1/worklists/load").status_code == 403
    agency = login("ag")
    assert agency.get("/api/v1/worklists/promises").json() == []
    assert agency.get("/api/v1/worklists/callbacks").json() == []


def test_a_callback_needs_its_date_and_time(login, floor) -> None:
    c1 = login("c1")
    case_id = floor.case_ids[0]
    url = f"/api/v1/cases/{case_id}/contacts"
    missing = c1.post(url, json={"channel": "call", "disposition": "CALLBACK"})
    assert missing.status_code == 422
    assert "callback_at" in missing.text and "date and time" in missing.text
    naive = c1.post(
        url, json={"channel": "call", "disposition": "CALLBACK", "callback_at": "2026-12-02T10:00"}
    )
    assert naive.status_code == 422
    past = c1.post(
        url,
        json={
            "channel": "call",
            "disposition": "CALLBACK",
            "callback_at": "2026-12-01T09:00+08:00",
        },
    )
    assert past.status_code == 422 and "not after the contact" in past.text
    ok = c1.post(
        url,
        json={
            "channel": "call",
            "disposition": "CALLBACK",
            "callback_at": "2026-12-02T15:30+08:00",
        },
    )
    assert ok.status_code == 201, ok.text
    with UnitOfWork(floor.engine) as uow:
        log = uow.session.scalars(
            select(ContactLog).where(ContactLog.case_id == case_id).order_by(ContactLog.id.desc())
        ).first()
        assert log is not None and log.callback_at is not None
        assert log.callback_at.replace(tzinfo=None).isoformat() == "2026-12-02T07:30:00"
    later = c1.get("/api/v1/worklists/callbacks").json()
    assert [r["case_id"] for r in later] == [case_id]
    assert later[0]["callback_at"].startswith("2026-12-02T07:30")
    # the broken promise of yesterday comes before a callback that is not due yet
    assert later[0]["next_action"] == "chase_broken"
    # another contact answers the callback: it is no longer pending
    c1.post(url, json={"channel": "call", "disposition": "NA"})
    assert c1.get("/api/v1/worklists/callbacks").json() == []


def test_the_contact_form_refuses_a_callback_without_a_time(login, floor) -> None:
    c1 = login("c1")
    case_id = floor.case_ids[0]
    form = {"csrf_token": c1.headers["X-CSRF-Token"], "channel": "call", "disposition": "CALLBACK"}
    refused = c1.post(f"/cases/{case_id}/contact", data=form)
    assert refused.status_code == 422
    assert "callback_at" in refused.text
    bad = c1.post(f"/cases/{case_id}/contact", data={**form, "callback_at": "tomorrow"})
    assert bad.status_code == 422
    done = c1.post(
        f"/cases/{case_id}/contact", data={**form, "callback_at": "2026-12-02T15:30"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    page = c1.get(f"/cases/{case_id}").text
    assert "2026-12-02 15:30" in page  # shown in the page's zone, as typed


def test_the_service_refuses_a_callback_without_a_time(floor) -> None:
    c1 = _actor(floor.engine, "c1")
    with UnitOfWork(floor.engine) as uow, pytest.raises(Invalid, match="callback_at"):
        contacts.log_contact(uow.session, c1, floor.case_ids[0], "call", "CALLBACK", at=NOW)


def test_risk_is_read_from_the_latest_scores(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from arrears.services.book_models import scores_path
    from arrears.services.workbench.ranking import loan_risks

    for day, pd in ((date(2026, 11, 30), 0.10), (date(2026, 12, 1), 0.42)):
        path = scores_path(tmp_path, day)
        path.parent.mkdir(parents=True)
        table = pa.table(
            {
                "loan_id": ["L1", "L1", "L2"],
                "model": ["roll", "cure", "roll"],
                "version": ["1", "1", "1"],
                "score": [1.0, 1.0, 1.0],
                "pd": [pd, pd / 2, 0.9],
            }
        )
        pq.write_table(table, path)
    # the latest day; the highest pd of any model, or the named model's
    assert loan_risks(tmp_path) == {"L1": Decimal("0.42"), "L2": Decimal("0.9")}
    assert loan_risks(tmp_path, "cure") == {"L1": Decimal("0.21")}
    assert loan_risks(tmp_path / "nowhere") == {}


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('tiers = "callback_due"', "queue.tiers"),
        ('tiers = ["callback_due", "callback_due"]', "queue.tiers"),
        ("risk_weight = 2", "queue.risk_weight"),
        ('default_risk = "high"', "queue.default_risk"),
        ("window = 10", "queue.window"),
        ("colour = 1", "queue.colour"),
    ],
)
def test_a_bad_ranking_names_its_key(tmp_path: Path, table: str, key: str) -> None:
    (tmp_path / "arrears.toml").write_text(f"[queue]\n{table}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_ranking(tmp_path)
