"""The unit of work: one session, one transaction, explicit commit.

    with UnitOfWork(engine) as uow:
        uow.loans.add(loan, schedule)
        uow.entries.add_entry(loan.loan_id, entry, seq=1)
        uow.commit()

Leaving the block without ``commit()`` (or with an exception) rolls everything back.
``UnitOfWork(engine, read_only=True)`` only reads: any insert, update, delete or flush
of changes raises ``ReadOnlyError`` before it reaches the database (pair it with
``db.read_engine``, as the web app does for GET requests).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from arrears.store.repositories import (
    CaseRepository,
    CloseRunRepository,
    CustomerRepository,
    EntryRepository,
    ImportBatchRepository,
    LoanRepository,
    PaymentRepository,
    ProductRepository,
)
from arrears.store.rows import BATCH_SIZE, Row, TableLike, bulk_insert


class ReadOnlyError(RuntimeError):
    """A read-only unit of work was asked to change the store (a programming error)."""


class ReadOnlySession(Session):
    """A session that refuses every write (see ``_refuse_writes``)."""


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyError(f"a read-only unit of work may not run: {state.statement}")


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyError("a read-only unit of work may not flush changes")


class UnitOfWork:
    """A transaction on the store with its repositories; see the module docstring."""

    session: Session
    customers: CustomerRepository
    products: ProductRepository
    loans: LoanRepository
    entries: EntryRepository
    payments: PaymentRepository
    cases: CaseRepository
    import_batches: ImportBatchRepository
    close_runs: CloseRunRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only

    def __enter__(self) -> UnitOfWork:
        # a plain Session: a sessionmaker made here would define a new Session subclass
        # (and its event plumbing) for every unit of work — every web request
        kind = ReadOnlySession if self.read_only else Session
        self.session = kind(bind=self.engine, expire_on_commit=False)
        self.customers = CustomerRepository(self.session)
        self.products = ProductRepository(self.session)
        self.loans = LoanRepository(self.session)
        self.entries = EntryRepository(self.session)
        self.payments = PaymentRepository(self.session)
        self.cases = CaseRepository(self.session)
        self.import_batches = ImportBatchRepository(self.session)
        self.close_runs = CloseRunRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed; objects already loaded stay
        # readable (detached, not expired), so a caller may use what it fetched.
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            self.close()

    @property
    def connection(self) -> Connection:
        """The Core connection of this unit's transaction (pending ORM changes flushed)."""
        self.session.flush()
        return self.session.connection()

    def bulk_insert(
        self, table: TableLike, rows: Iterable[Row], batch_size: int = BATCH_SIZE
    ) -> int:
        """Insert many rows in this transaction with Core executemany; see
        ``arrears.store.rows.bulk_insert``."""
        if self.read_only:
            raise ReadOnlyError("a read-only unit of work may not insert rows")
        return bulk_insert(self.connection, table, rows, batch_size)

    def commit(self) -> None:
        self.session.commit()

    def close(self) -> None:
        """Roll back what is not committed and give the connection back; rows already
        read stay readable (detached). Safe to call more than once."""
        self.session.close()

    def rollback(self) -> None:
        self.session.rollback()
