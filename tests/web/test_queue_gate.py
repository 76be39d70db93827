"""The queue's "contactable now" tier checks a debtor the store knows nothing about
for the gate once per time zone (``queues._Contactable``): on a book whose debtors
have different zones (one unknown, one not a zone), no mobile, a blacklisted mobile, a
hold, earlier calls today and two cases, every row's verdict and tier are those of the
gate run on that row alone (``queues.gate_verdicts``), at every hour of the day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from web_support import NOW, TODAY, Book

from arrears.services.workbench import contacts, holds, queues
from arrears.services.workbench.access import Actor
from arrears.store.models import CaseRow, Customer, Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User


def _actor(session, username: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor.of(session.scalar(select(User).where(User.username == username)))


def _mixed(book: Book) -> None:
    zones = [
        "Asia/Shanghai",
        "America/New_York",
        "",
        "Not/AZone",
        "Asia/Shanghai",
        "Europe/London",
    ]
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        for n, zone in enumerate(zones, 1):
            s.execute(
                update(Customer).where(Customer.customer_id == f"C{n}").values(time_zone=zone)
            )
        s.execute(update(Customer).where(Customer.customer_id == "C5").values(mobile=""))
        # L6 is C1's second loan: the same debtor twice in the queue
        s.execute(update(Loan).where(Loan.loan_id == "L6").values(customer_id="C1"))
        s.execute(update(CaseRow).where(CaseRow.loan_id == "L6").values(customer_id="C1"))
        mgr = _actor(s, "mgr")
        holds.add_to_blacklist(s, mgr, "phone", "1381234" + "0003", "asked never to be called")
        holds.place_hold(s, mgr, book.case_ids[1], "dispute", "disputes it", on=TODAY)
        for hours in (3, 2, 1):  # calls to C1 earlier today: caps
            contacts.log_contact(
                s, mgr, book.case_ids[0], "call", "NA", at=NOW - timedelta(hours=hours)
            )
        uow.commit()


def test_contactable_now_is_the_gates_verdict_on_each_row(book: Book) -> None:
    _mixed(book)
    seen = set()
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        mgr = _actor(s, "mgr")
        for hour in range(0, 24, 2):
            moment = NOW.replace(hour=0) + timedelta(hours=hour)
            items = queues.queue(s, mgr, now=moment, today=TODAY, limit=50)
            rows = [queues._GateRow(i.case_id, i.loan_id, i.customer_id) for i in items]
            alone = queues.gate_verdicts(s, rows, moment, "cn")
            assert len(items) == 5  # the sixth case is placed with the agency
            for item in items:
                verdict = alone[item.case_id]
                got = (item.contactable, item.blocked_rules, item.blocked_reasons)
                assert got == (verdict.allowed, verdict.rules, verdict.reasons), (hour, item)
                assert (item.tier == "contactable_now") == verdict.allowed, (hour, item)
                seen.add((item.customer_id, verdict.allowed))
    # the book is mixed enough: the held (C2) and blacklisted (C3) debtors never
    # allowed, C5 in its hours only, C1 (called today) blocked at some hours
    allowed = {c for c, ok in seen if ok}
    assert "C5" in allowed and not allowed & {"C2", "C3"}
    assert {c for c, ok in seen if not ok} >= {"C1", "C2", "C3", "C5"}


def test_a_short_page_is_the_head_of_the_whole_ranking(book: Book) -> None:
    """A debtor the store knows about (held, blacklisted, called today) is checked only
    when their row comes up for the page (``queues._best``): every page, one row or a
    few, at every hour, is the same slice of the ranking as the whole list gives."""
    _mixed(book)
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        mgr = _actor(s, "mgr")
        for hour in range(0, 24, 2):
            moment = NOW.replace(hour=0) + timedelta(hours=hour)
            whole = queues.queue(s, mgr, now=moment, today=TODAY, limit=50)
            assert len(whole) == 5
            for offset in range(5):
                for limit in (1, 2):
                    page = queues.queue(s, mgr, now=moment, today=TODAY, limit=limit, offset=offset)
                    assert page == whole[offset : offset + limit], (hour, offset, limit)
            # next case takes the head of the same ranking
            head = queues._ranked_rows(
                s,
                queues._scoped(s, mgr, moment),
                queues._tier_sets(TODAY, moment),
                queues.Worklist(),
                moment,
                1,
            )
            assert [i.case_id for i in head] == [whole[0].case_id], hour
