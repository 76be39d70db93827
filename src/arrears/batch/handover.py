"""Hand a workspace's book over from the store to the batch engine.

The store's book is closed through some date C by the reference close. The batch
book starts from the state of C (computed by the domain core from the stored ledgers,
so the two agree by construction) and takes the contract schedules and the payments
not yet posted from the store. Later closes run on the batch engine alone; each run
refreshes the payments table from the store, so newly imported payments are picked up.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from arrears.batch.book import load_book
from arrears.batch.carried import carried_states, read_carried
from arrears.batch.close import BatchBook
from arrears.batch.state import (
    day_number,
    handover,
    loans_table,
    payments_table,
    schedule_table,
)
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
    )
    if not existing:
        opened = [
            (a, book.customers[a.loan_id]) for a in book.accounts if a.terms.disbursed_on <= start
        ]
        accounts, dues = handover(opened, catalog)
        batch.write_state(start, accounts, dues)
    return batch, start, len(pays)
