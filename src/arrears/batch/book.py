"""Reading the book for a close: loans, schedules, ledgers and unposted payments.

A close can read the whole book or one partition of it (a range of loan ids), so each
worker process loads and closes its own share without inheriting a large heap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, exists, func, select

from arrears.batch.carried import Carried, carried_account
from arrears.domain.account import LoanAccount, Payment, resume_account
from arrears.domain.ledger import Account, Entry, EntryKind, Leg, replay
from arrears.domain.pauses import Pause, PauseReason
from arrears.domain.products import Catalog
from arrears.domain.schedule import Installment, LoanTerms
from arrears.store.ledger_rows import CentsReader, date_column, money_column
from arrears.store.models import (
    CaseRow,
    DpdPause,
    EntryRow,
    InstallmentRow,
    LegRow,
    Loan,
    PaymentRow,
)
from arrears.store.workbench_models import RESTRUCTURING_KINDS, Arrangement


@dataclass
class Book:
    accounts: list[LoanAccount]
    customers: dict[str, str]
    products: dict[str, str]
    payments: dict[str, list[Payment]]
    # loan id -> entries the store holds before the close's own (the next one is +1)
    stored: dict[str, int] = field(default_factory=dict)
    # loans resumed from their carried state -> their last balance-moving day before it
    carried: dict[str, date | None] = field(default_factory=dict)


def _in_range(column: Any, first: str | None, last: str | None) -> list[Any]:
    conditions = []
    if first is not None:
        conditions.append(column >= first)
    if last is not None:
        conditions.append(column <= last)
    return conditions


def _in_recovery() -> Any:
    """A written-off loan whose case is still open: charged off by its product's rule and
    in recovery (``arrears.domain.cases``: the case of a loan written off by hand or
    recovered in full closes, so an open one here is worked on)."""
    loans, cases = Loan.__table__, CaseRow.__table__
    return (loans.c.status == "written_off") & exists().where(
        cases.c.loan_id == loans.c.loan_id, cases.c.status == "open"
    )


def _not_closed_through(as_of: date) -> list[Any]:
    """Loans disbursed by ``as_of`` that the close has not yet taken through it: active
    ones and ones in recovery (whose cases follow their DPD every day), and repaid or
    written-off ones only when a payment for them waits to be posted (nothing else ever
    happens to an ended loan, so it costs nothing on quiet days)."""
    loans, payments = Loan.__table__, PaymentRow.__table__
    waiting = exists().where(
        payments.c.loan_id == loans.c.loan_id,
        payments.c.posted_entry_ref.is_(None),
        payments.c.paid_on <= as_of,
    )
    return [
        loans.c.disbursed_on <= as_of,
        loans.c.closed_through.is_(None) | (loans.c.closed_through < as_of),
        (loans.c.status == "active") | _in_recovery() | waiting,
    ]


def open_loan_ids(conn: Connection, as_of: date) -> list[str]:
    """Ids of the loans a close through ``as_of`` has work for, in order."""
    loans = Loan.__table__
    return list(
        conn.execute(
            select(loans.c.loan_id).where(*_not_closed_through(as_of)).order_by(loans.c.loan_id)
        ).scalars()
    )


def load_book(
    conn: Connection,
    catalog: Catalog,
    as_of: date,
    first: str | None = None,
    last: str | None = None,
    carried: Mapping[str, Carried] | None = None,
    skip: frozenset[str] = frozenset(),
    last_seq: Mapping[str, int] | None = None,
) -> Book:
    """The loans still open through ``as_of`` (or with payments to post), with their
    schedules, ledgers and unposted payments; only loan ids ``first``..``last`` when
    given (a partition of the book, read through the primary keys).

    A loan with a ``carried`` state the store still agrees with (active or in recovery,
    closed through the same day, no entry posted since) resumes from it; only the
    others' ledgers are read and replayed (``arrears.batch.carried``). Loans in ``skip``
    are left out (idle loans the close moves forward without loading them). ``last_seq``:
    each loan's last stored entry's seq if the caller read it already (else read here)."""
    loans = Loan.__table__
    rows = (
        conn.execute(
            select(loans, _in_recovery().label("in_recovery"))
            .where(*_not_closed_through(as_of))
            .where(*_in_range(loans.c.loan_id, first, last))
            .order_by(loans.c.loan_id)
        )
        .mappings()
        .all()
    )
    money = CentsReader(conn)
    pays = PaymentRow.__table__
    payments: dict[str, list[Payment]] = defaultdict(list)
    for ref, loan_id, paid_on, amount in conn.execute(
        select(
            pays.c.payment_ref,
            pays.c.loan_id,
            date_column(conn, pays.c.paid_on),
            money_column(conn, pays.c.amount),
        )
        .where(pays.c.posted_entry_ref.is_(None), pays.c.paid_on <= as_of)
        .where(*_in_range(pays.c.loan_id, first, last))
        .order_by(pays.c.loan_id, pays.c.payment_ref)
    ).all():
        payments[loan_id].append(Payment(ref, money.day(paid_on), money(amount)))
    wanted = [
        r
        for r in rows
        if (r["status"] == "active" or r["in_recovery"] or r["loan_id"] in payments)
        and r["loan_id"] not in skip
    ]
    ids = {r["loan_id"] for r in wanted}
    inst = InstallmentRow.__table__
    schedules: dict[str, list[Installment]] = defaultdict(list)
    query = select(
        inst.c.loan_id,
        inst.c.seq,
        date_column(conn, inst.c.due_date),
        money_column(conn, inst.c.principal),
        money_column(conn, inst.c.interest),
    )
    for condition in _scope(inst.c.loan_id, ids, first, last, len(ids) < len(rows) // 2):
        for loan_id, seq, due, principal, interest in conn.execute(
            query.where(*condition).order_by(inst.c.loan_id, inst.c.seq)
        ).all():
            if loan_id in ids:
                due_date = money.day(due)
                schedules[loan_id].append(
                    Installment(seq, due_date, money(principal), money(interest))
                )
    few = len(ids) < len(rows) // 2
    pauses = stored_pauses(conn, ids, first, last, few)
    marked = stored_restructurings(conn, ids, first, last, few)
    resumed = {
        lid: state
        for lid, state in _trusted(conn, wanted, carried or {}, first, last, last_seq).items()
        # a payment dated in a closed day re-closes the loan from that day, which needs
        # its stored entries (arrears.domain.backdating): it is replayed, not resumed;
        # so is a loan an extension or plan restructured (its mark is judged on its
        # ledger's history), also on the first close after it, whose carried row is
        # still trusted (an extension posts no entry)
        if not any(p.paid_on <= state.closed_through for p in payments.get(lid, ()))
        and lid not in marked
    }
    replayed = ids - resumed.keys()
    ledgers = _ledgers(conn, replayed, money, first, last, len(replayed) < len(ids) // 4)
    # a loan in recovery resumes with its write-off entries (its DPD anchor and shadow
    # balances are judged on their legs), not its whole ledger
    recovering = {r["loan_id"] for r in wanted if r["in_recovery"]} & resumed.keys()
    written = _ledgers(conn, recovering, money, first, last, True, EntryKind.WRITE_OFF)
    book = Book([], {}, {}, payments)
    for r in wanted:
        lid = r["loan_id"]
        terms = LoanTerms(
            r["principal"],
            r["annual_rate"],
            r["term_months"],
            r["disbursed_on"],
            r["first_due_date"],
        )
        product = catalog.product(r["product_code"])
        schedule = tuple(schedules.get(lid, ()))
        state = resumed.get(lid)
        if state is not None:
            acc = carried_account(
                lid,
                product,
                terms,
                schedule,
                r["currency"],
                state,
                pauses.get(lid, ()),
                tuple(written.get(lid, ())),
            )
            book.stored[lid] = state.seq
            book.carried[lid] = state.moved_on
        else:
            ledger = replay(lid, ledgers.get(lid, ()), r["currency"])
            closed_through = r["closed_through"] or r["disbursed_on"]
            acc = resume_account(
                lid,
                product,
                terms,
                schedule,
                ledger,
                closed_through,
                pauses.get(lid, ()),
                marked.get(lid, ()),
            )
            book.stored[lid] = len(ledger.entries)
        book.accounts.append(acc)
        book.customers[lid] = r["customer_id"]
        book.products[lid] = r["product_code"]
    return book


def stored_pauses(
    conn: Connection,
    ids: set[str],
    first: str | None = None,
    last: str | None = None,
    few: bool = True,
) -> dict[str, tuple[Pause, ...]]:
    """The DPD pauses the store keeps for the loans ``ids`` (table ``dpd_pauses``), as
    the domain core takes them: a resumed pause ends the day before its resume, and one
    resumed on its first day paused nothing (left out)."""
    if not ids:
        return {}
    p = DpdPause.__table__.c
    query = select(p.loan_id, p.pause_on, p.pause_until, p.resumed_on, p.reason)
    out: dict[str, list[Pause]] = defaultdict(list)
    for condition in _scope(p.loan_id, ids, first, last, few):
        for loan_id, on, until, resumed_on, reason in conn.execute(
            query.where(*condition).order_by(p.loan_id, p.pause_on)
        ).all():
            last_day = DpdPause.last_paused_day(on, until, resumed_on)
            if loan_id in ids and (last_day is None or last_day >= on):
                out[loan_id].append(Pause(on, last_day, PauseReason(reason)))
    return {lid: tuple(found) for lid, found in out.items()}


def stored_restructurings(
    conn: Connection,
    ids: set[str],
    first: str | None = None,
    last: str | None = None,
    few: bool = True,
) -> dict[str, tuple[date, ...]]:
    """The days the loans ``ids`` were restructured by an approved arrangement that
    posts no ledger entry (an extension, a re-spread plan): ``arrangements.applied_on``,
    as ``resume_account`` takes them. A loan that has any is replayed from its stored
    entries on every close, not resumed from a carried state (``carried.carried_row``)."""
    if not ids:
        return {}
    a = Arrangement.__table__.c
    query = select(a.loan_id, a.applied_on).where(
        a.status == "approved", a.kind.in_(RESTRUCTURING_KINDS), a.applied_on.is_not(None)
    )
    out: dict[str, set[date]] = defaultdict(set)
    for condition in _scope(a.loan_id, ids, first, last, few):
        for loan_id, on in conn.execute(query.where(*condition)).all():
            if loan_id in ids:
                out[loan_id].add(on)
    return {lid: tuple(sorted(days)) for lid, days in out.items()}


def _trusted(
    conn: Connection,
    rows: list[Any],
    carried: Mapping[str, Carried],
    first: str | None,
    last: str | None,
    last_seq: Mapping[str, int] | None = None,
) -> dict[str, Carried]:
    """The carried states of ``rows`` the store agrees with: the loan is active or in
    recovery, closed through the carried day, and its last stored entry (``last_seq``,
    read here if not given) is the carried one."""
    candidates = {
        r["loan_id"]: state
        for r in rows
        if (r["status"] == "active" or r["in_recovery"])
        and (state := carried.get(r["loan_id"])) is not None
        and state.closed_through == r["closed_through"]
    }
    if not candidates:
        return {}
    if last_seq is None:
        e = EntryRow.__table__.c
        last_seq = dict(
            conn.execute(
                select(e.loan_id, func.max(e.seq))
                .where(*_in_range(e.loan_id, first, last))
                .group_by(e.loan_id)
            ).all()
        )
    return {lid: s for lid, s in candidates.items() if last_seq.get(lid) == s.seq}


_ACCOUNTS = {a.value: a for a in Account}
_KINDS = {k.value: k for k in EntryKind}


_FEW = 500  # loan ids per IN list when only a few loans of a range are read


def _scope(
    column: Any, ids: set[str], first: str | None, last: str | None, few: bool
) -> list[list[Any]]:
    """Conditions on ``column`` reading the loans ``ids`` of the range ``first``..``last``:
    the range itself (one scan), or with ``few`` the ids themselves, in IN lists."""
    if not few:
        return [_in_range(column, first, last)]
    chosen = sorted(ids)
    return [[column.in_(chosen[i : i + _FEW])] for i in range(0, len(chosen), _FEW)]


def _ledgers(
    conn: Connection,
    ids: set[str],
    money: CentsReader,
    first: str | None,
    last: str | None,
    few: bool = False,
    kind: EntryKind | None = None,
) -> dict[str, list[Entry]]:
    """Stored entries of the loans ``ids``, in posting order, with their legs: read by
    the range ``first``..``last``, or with ``few`` by the ids themselves; only the
    entries of ``kind`` when given."""
    legs_table, entries_table = LegRow.__table__, EntryRow.__table__
    if not ids:
        return {}

    def where(column: Any) -> list[list[Any]]:
        return _scope(column, ids, first, last, few)

    legs_query = select(
        legs_table.c.loan_id,
        legs_table.c.ref,
        legs_table.c.installment,
        legs_table.c.account,
        money_column(conn, legs_table.c.amount),
    )
    if kind is not None:
        of_kind = (entries_table.c.loan_id == legs_table.c.loan_id) & (
            entries_table.c.ref == legs_table.c.ref
        )
        legs_query = legs_query.join(entries_table, of_kind).where(
            entries_table.c.kind == kind.value
        )
    legs: dict[tuple[str, str], list[Leg]] = defaultdict(list)
    for condition in where(legs_table.c.loan_id):
        for loan_id, ref, installment, account, amount in conn.execute(
            legs_query.where(*condition).order_by(
                legs_table.c.loan_id, legs_table.c.ref, legs_table.c.line
            )
        ).all():
            if loan_id in ids:
                legs[(loan_id, ref)].append(Leg(installment, _ACCOUNTS[account], money(amount)))
    out: dict[str, list[Entry]] = defaultdict(list)
    e = entries_table.c
    amount_column = money_column(conn, e.amount)
    query = select(e.loan_id, e.ref, e.kind, e.posted_on, amount_column, e.reverses, e.memo)
    if kind is not None:
        query = query.where(e.kind == kind.value)
    rows = [
        row
        for condition in where(e.loan_id)
        for row in conn.execute(query.where(*condition).order_by(e.loan_id, e.seq)).all()
    ]
    for loan_id, ref, kind, posted_on, amount, reverses, memo in rows:
        if loan_id in ids:
            entry_legs = tuple(legs[(loan_id, ref)])
            out[loan_id].append(
                Entry(ref, _KINDS[kind], posted_on, money(amount), entry_legs, reverses, memo or "")
            )
    return out
