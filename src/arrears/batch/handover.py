"""Hand a workspace's book over from the store to the batch engine.

The store's book is closed through some date C by the reference close. The batch
book starts from the state of C (computed by the domain core from the stored ledgers,
so the two agree by construction) and takes the contract schedules and the payments
not yet posted from the store. Later closes run on the batch engine alone; each run
refreshes the payments table from the store, so newly imported payments are picked up,
the pauses table (``state.PAUSES``) from the store's DPD pauses, and the events table
(``state.EVENTS``) from the store's ledgers: the waivers, fees other than late fees and
enforcement costs dated after the start, not reversed. The batch engine books them on
their day before the close of that day (``engine.book_events``), where the reference
close, which replays them from the ledger, finds them: before the day's installments
fall due, its late fees and its payments. (The journal does not post them, the store
holds them: ``journal.out_of_scope`` keeps naming the loans that carry them.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

from arrears.batch.book import load_book
from arrears.batch.carried import carried_states, read_carried
from arrears.batch.close import BatchBook
from arrears.batch.state import (
    day_number,
    events_table,
    handover,
    loans_table,
    pauses_table,
    payments_table,
    schedule_table,
)
from arrears.domain.account import LATE_FEE_MEMO, LoanAccount, resume_account
from arrears.domain.ledger import Entry, EntryKind, replay
from arrears.domain.products import Component
from arrears.workspace import Workspace

EVERYTHING = date(9999, 12, 31)


class HandoverError(ValueError):
    pass


def batch_book(ws: Workspace) -> BatchBook:
    return BatchBook(Path(ws.root) / "batch")


def from_store(ws: Workspace) -> tuple[BatchBook, date, int]:
    """Refresh the batch book's tables from the store; on the first run also write the
    starting state. Returns the book, the date its state starts from and the number of
    payments waiting to be closed."""
    catalog = ws.catalog
    carried = carried_states(read_carried(ws.root))  # no ledger replayed that the close carried
    with ws.engine.connect() as conn:
        book = load_book(conn, catalog, EVERYTHING, carried=carried)
    if not book.accounts:
        raise HandoverError("the store holds no open loans: import a book first")
    batch = batch_book(ws)
    existing = batch.state_dates()
    start = existing[0] if existing else max(a.closed_through for a in book.accounts)
    behind = [
        a.loan_id
        for a in book.accounts
        if a.terms.disbursed_on <= start and a.closed_through != start
    ]
    if behind and not existing:
        raise HandoverError(
            f"{len(behind)} loans (first {behind[0]}) are not closed through {start}: "
            f"run 'arrears close --as-of {start}' on the reference engine first"
        )
    events = stored_events(book.accounts, start)
    paused = [a for a in book.accounts if a.pauses]  # the store's DPD pauses
    loans = loans_table((a, book.customers[a.loan_id]) for a in book.accounts)
    pays = [
        (lid, p)
        for lid, payments in book.payments.items()
        for p in payments
        if day_number(p.paid_on) > day_number(start)
    ]
    batch.write_static(
        catalog,
        loans=loans,
        schedule=schedule_table(book.accounts),
        payments=payments_table(pays),
        **({"events": events_table(events)} if events else {}),
        **({"pauses": pauses_table(paused)} if paused else {}),
    )
    if not existing:
        # the state of the start leaves out the events dated after it: the engine books
        # them on their day
        opened = [
            (without_events(a, start), book.customers[a.loan_id])
            for a in book.accounts
            if a.terms.disbursed_on <= start
        ]
        accounts, dues = handover(opened, catalog)
        batch.write_state(start, accounts, dues)
    return batch, start, len(pays)


_EVENT_KINDS = {EntryKind.WAIVER: "waiver", EntryKind.FEE: "fee", EntryKind.COST: "cost"}
Event = tuple[str, str, date, "str | None", Decimal, str]


def _event_entries(acc: LoanAccount, after: date) -> Iterable[Entry]:
    """``acc``'s waivers, fees other than late fees and costs dated after ``after`` and
    not reversed."""
    entries = acc.ledger.entries
    reversed_refs = {e.reverses for e in entries if e.kind is EntryKind.REVERSAL}
    for e in entries:
        if e.posted_on <= after or e.ref in reversed_refs or e.kind not in _EVENT_KINDS:
            continue
        if e.kind is EntryKind.FEE and e.memo == LATE_FEE_MEMO:
            continue  # the close's own (or a reversal's recharge)
        yield e


def stored_events(accounts: Iterable[LoanAccount], after: date) -> list[Event]:
    """The events table's rows (``state.events_table``) of the stored waivers, fees and
    costs dated after ``after``; a waiver's component is the account its legs reduce."""
    rows: list[Event] = []
    for acc in accounts:
        for e in _event_entries(acc, after):
            component = None
            if e.kind is EntryKind.WAIVER:
                reduced = {leg.account for leg in e.legs}
                if len(reduced) != 1:
                    raise HandoverError(
                        f"loan {acc.loan_id}: waiver {e.ref!r} reduces "
                        f"{sorted(a.value for a in reduced)}; the batch engine takes a "
                        "waiver of one component"
                    )
                component = Component(reduced.pop().value).value
            rows.append(
                (acc.loan_id, _EVENT_KINDS[e.kind], e.posted_on, component, e.amount, e.ref)
            )
    return rows


def without_events(acc: LoanAccount, after: date) -> LoanAccount:
    """``acc`` with its ledger's events dated after ``after`` left out (``stored_events``),
    as it stood at the end of ``after``; ``acc`` itself when it has none."""
    dropped = {e.ref for e in _event_entries(acc, after)}
    if not dropped:
        return acc
    kept = [e for e in acc.ledger.entries if e.ref not in dropped]
    return resume_account(
        acc.loan_id,
        acc.product,
        acc.terms,
        acc.schedule,
        replay(acc.loan_id, kept, acc.currency),
        acc.closed_through,
        acc.pauses,
        acc.restructured_on,
    )
