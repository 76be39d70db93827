"""The queue's "contactable now" tier checks a debtor the store knows nothing about
for the gate once per time zone (``queues._Contactable``): on a book whose debtors
have different zones (one unknown, one not a zone), no mobile, a blacklisted mobile, a
hold, earlier calls today and two cases, every row's verdict and tier are those of the
gate run on that row alone (``queues.gate_verdicts``), at every hour of the day."""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from web_support import NOW, TODAY, Book, recorded

from arrears.services.workbench import contacts, holds, promises, queues
from arrears.services.workbench.access import Actor
from arrears.services.workbench.ranking import Ranking
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


def _amounts_that_tie(book: Book) -> None:
    """Amounts that tie on a score at factor 0.5 (99.99, 100.00 and 100.01 all score
    50.00) with the smaller amount at the higher DPD (the head's order must be the
    score's, not the amount's); a promise due today; a debtor on hold (known to the
    gate, never contactable) and one called two hours before (known, contactable at
    some hours); a lease on the fifth case. The fourth case is placed with the agency."""
    amounts = ["100.01", "100.00", "250.00", "80.00", "99.99", "100.00"]
    dpds = [30, 60, 45, 10, 90, 70]
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        for case_id, amount, dpd in zip(book.case_ids, amounts, dpds, strict=True):
            s.execute(
                update(CaseRow)
                .where(CaseRow.id == case_id)
                .values(amount_overdue=Decimal(amount), dpd=dpd)
            )
        mgr = _actor(s, "mgr")
        promises.create_promise(s, mgr, book.case_ids[2], Decimal("10.00"), TODAY, on=TODAY)
        holds.place_hold(s, mgr, book.case_ids[5], "dispute", "disputes it", on=TODAY)
        contacts.log_contact(s, mgr, book.case_ids[1], "call", "NA", at=NOW - timedelta(hours=2))
        # c2's lease on the fifth case: live until 05:00, expired after
        assert queues.take_lease(s, book.case_ids[4], "c2", NOW, timedelta(hours=1))
        uow.commit()


@pytest.mark.parametrize(
    "weight, default_risk", [("1", "0.5"), ("0.35", "0.3"), ("0", "0.5"), ("1", "0")]
)
def test_the_head_of_the_window_ranks_as_the_whole_window(
    book: Book, weight: str, default_risk: str
) -> None:
    """``_ranked_rows`` with a page size reads the head of the window first (``_head``,
    in the order of every debtor contactable, by the score the database works out) and
    takes it when it settles the page: for every head size and page size, at every
    hour, the page is the head of the whole window's ranking, item for item (tiers,
    scores, verdicts, as the queue annotates them), with ties of score broken by DPD
    as the whole ranking does."""
    _amounts_that_tie(book)
    ranking = Ranking(risk_weight=Decimal(weight), default_risk=Decimal(default_risk))
    work = queues.Worklist(ranking)
    settled = []
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        mgr = _actor(s, "mgr")
        for hour in range(0, 24, 2):
            moment = NOW.replace(hour=0) + timedelta(hours=hour)
            query = queues._scoped(s, mgr, moment)
            tiers = queues._tier_sets(TODAY, moment)
            whole = queues._ranked_rows(s, query, tiers, work, moment)
            assert len(whole) == 5
            for upto in range(1, 6):
                for fetch in range(1, 7):
                    with recorded(book.engine) as seen:
                        page = queues._ranked_rows(s, query, tiers, work, moment, upto, fetch=fetch)
                    # annotated as the queue does (a verdict ``_Contactable`` left to
                    # ``annotate``, blocked for the row's class, is worked out there)
                    assert queues.annotate(s, page, moment, TODAY, "cn") == queues.annotate(
                        s, whole[:upto], moment, TODAY, "cn"
                    ), (hour, upto, fetch)
                    # the head alone answered: no read of the whole window
                    settled.append(not any(" gate_held" in q and " head" not in q for q in seen))
    # both ways were taken: pages the head settled, and pages it could not (a head
    # shorter than the page, or blocked debtors in it) that read the whole window
    assert True in settled and False in settled


def test_a_queue_read_through_its_prebuilt_statements_is_the_one_built_per_request(
    book: Book,
) -> None:
    """A collector's and a manager's (every case) queue is read through statements
    built once per shape (``queues._Shape``, the values bind parameters): for each
    role, each assignee filter (any, the pool, one collector) and bucket, at every
    hour, it is the page the per-request statements (``_scoped``, ``case_scope``) rank,
    so the prebuilt scope selects the same cases; a team lead's is built per request."""
    _amounts_that_tie(book)
    with UnitOfWork(book.engine) as uow:
        s = uow.session
        for username in ("c1", "c2", "mgr", "comp", "admin", "tl"):
            actor = _actor(s, username)
            assert (queues._Shape.of(actor, None, None) is None) == (username == "tl")
            for assignee in (None, "", "c1", "c2"):
                for bucket in (None, "M4", "M3"):
                    for hour in range(0, 24, 4):
                        moment = NOW.replace(hour=0) + timedelta(hours=hour)
                        before = queues._shape_statements.cache_info()
                        got = queues.queue(
                            s, actor, assignee=assignee, bucket=bucket, limit=6,
                            now=moment, today=TODAY,
                        )  # fmt: skip
                        used = queues._shape_statements.cache_info()
                        assert (used.hits + used.misses > before.hits + before.misses) == (
                            username != "tl"
                        )
                        query = queues._scoped(s, actor, moment)
                        if assignee is not None:
                            query = query.where(
                                CaseRow.assigned_to.is_(None)
                                if assignee == ""
                                else CaseRow.assigned_to == assignee
                            )
                        if bucket is not None:
                            query = query.where(CaseRow.bucket == bucket)
                        # the whole window ranked from the per-request query
                        whole = queues._ranked_rows(
                            s, query, queues._tier_sets(TODAY, moment), queues.Worklist(),
                            moment,
                        )  # fmt: skip
                        want = queues.annotate(s, whole, moment, TODAY, "cn")
                        assert got == want, (username, assignee, bucket, hour)


_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "contactable": st.none() | st.booleans(),
        "blocked_rules": st.lists(st.text(max_size=5), max_size=2).map(tuple),
        "last_outcome": st.none() | st.text(max_size=8),
        "promise_id": st.none() | st.integers(1, 10**6),
        "promise_amount": st.none() | st.decimals("0.01", "99999.99", places=2),
        "callback_at": st.none() | st.datetimes(timezones=st.just(UTC)),
        "tier": st.none() | st.sampled_from(["contactable_now", "callback_due"]),
    },
)


@given(changes=_CHANGES, case_id=st.integers(1, 10**6), amount=st.decimals("0", "1e6", places=2))
def test_an_item_updated_for_the_page_is_the_one_replace_gives(
    changes: dict[str, object], case_id: int, amount: Decimal
) -> None:
    """``queues._updated`` (a page's items annotated without a frozen ``__init__`` per
    item) gives the item ``dataclasses.replace`` gives: equal, hashing alike, still
    frozen, the original untouched; a field QueueItem lacks is a TypeError."""
    fields = (case_id, "L1", "C1", "客户1", 30, "M1", amount, None, None, None)
    item = queues.QueueItem(*fields)
    got = queues._updated(item, **changes)
    want = dataclasses.replace(item, **changes)
    assert got == want and hash(got) == hash(want) and got is not item
    assert item == queues.QueueItem(
        case_id, "L1", "C1", "客户1", 30, "M1", amount, None, None, None
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.tier = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        queues._updated(item, no_such_field=1)
