"""Repositories: the store seen as collections of domain things.

Each repository works inside the session of a ``UnitOfWork`` and never commits;
the unit of work decides. Ledger entries go in and come out as domain ``Entry``
values, and a loan's ledger is always rebuilt by ``arrears.domain.ledger.replay``
from its stored entries in posting order, never read from stored balances.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from arrears.domain.errors import ConflictingPosting, DomainError
from arrears.domain.ledger import Entry, Ledger, PostStatus, replay
from arrears.domain.products import Catalog
from arrears.domain.schedule import Installment, LoanTerms
from arrears.store.models import (
    CaseRow,
    CloseRun,
    Customer,
    EntryRow,
    ImportBatch,
    InstallmentRow,
    LegRow,
    Loan,
    PaymentRow,
    ProductRow,
    utcnow,
)
from arrears.store.rows import (
    bulk_insert,
    ensure_products,
    entry_from_rows,
    entry_rows,
    installment_rows,
)


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class CustomerRepository(_Repository):
    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    def get(self, customer_id: str) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Customer)) or 0


class ProductRepository(_Repository):
    def get(self, code: str) -> ProductRow | None:
        return self.session.get(ProductRow, code)

    def ensure(self, catalog: Catalog) -> list[str]:
        """Insert the catalog's products that the store does not have yet; returns
        their codes. Existing rows are left as they are (loans were booked on them)."""
        self.session.flush()
        return ensure_products(self.session.connection(), catalog)


class LoanRepository(_Repository):
    def add(self, loan: Loan, schedule: Iterable[Installment] = ()) -> None:
        """Add ``loan`` and, when given, its schedule."""
        self.session.add(loan)
        rows = installment_rows(loan.loan_id, schedule)
        if rows:
            self.session.flush()
            bulk_insert(self.session.connection(), InstallmentRow, rows)

    def get(self, loan_id: str) -> Loan | None:
        return self.session.get(Loan, loan_id)

    def require(self, loan_id: str) -> Loan:
        loan = self.get(loan_id)
        if loan is None:
            raise DomainError(f"no loan {loan_id!r} in the store")
        return loan

    def schedule(self, loan_id: str) -> tuple[Installment, ...]:
        """The stored schedule of ``loan_id`` in installment order."""
        # a prebuilt Core statement on the session's connection: every case view reads
        # each loan's schedule, and an ORM query of the rows cost ~3x as much CPU
        self.session.flush()
        rows = self.session.connection().execute(_SCHEDULE, {"loan_id": loan_id})
        return tuple(Installment(*r) for r in rows)

    def terms(self, loan_id: str) -> LoanTerms:
        """The contract terms of ``loan_id`` as the domain builds schedules from them."""
        loan = self.require(loan_id)
        return LoanTerms(
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            term_months=loan.term_months,
            disbursed_on=loan.disbursed_on,
            first_due=loan.first_due_date,
        )


class EntryRepository(_Repository):
    def next_seq(self, loan_id: str) -> int:
        current = self.session.scalar(
            select(func.max(EntryRow.seq)).where(EntryRow.loan_id == loan_id)
        )
        return (current or 0) + 1

    def get(self, loan_id: str, ref: str) -> Entry | None:
        head = self.session.get(EntryRow, (loan_id, ref))
        if head is None:
            return None
        return entry_from_rows(_as_dict(head), self._legs(loan_id, [ref]).get(ref, []))

    def add_entry(self, loan_id: str, entry: Entry, seq: int | None = None) -> PostStatus:
        """Store ``entry`` and its legs as the ``seq``-th posting of the loan (default:
        after the last). An entry equal to the one stored under the same reference is a
        no-op reported as DUPLICATE; a different one raises ConflictingPosting."""
        existing = self.get(loan_id, entry.ref)
        if existing is not None:
            if existing.same_as(entry):
                return PostStatus.DUPLICATE
            raise ConflictingPosting(
                f"loan {loan_id}: reference {entry.ref!r} was already used for a "
                f"{existing.kind.value} of {existing.amount} on {existing.posted_on}"
            )
        head, legs = entry_rows(loan_id, entry, seq if seq is not None else self.next_seq(loan_id))
        self.session.flush()
        connection = self.session.connection()
        bulk_insert(connection, EntryRow, [head])
        bulk_insert(connection, LegRow, legs)
        return PostStatus.POSTED

    def entries(self, loan_id: str) -> tuple[Entry, ...]:
        """All entries of ``loan_id`` in posting order (by seq)."""
        self.session.flush()
        # heads and legs in one prebuilt Core statement (a row per leg, a head without
        # legs once): one round trip per ledger instead of two ORM-executed ones
        heads: list[dict[str, Any]] = []
        legs: dict[str, list[dict[str, Any]]] = {}
        for row in self.session.connection().execute(_ENTRIES, {"loan_id": loan_id}):
            ref = row.ref
            if not heads or heads[-1]["ref"] != ref:
                heads.append(
                    {
                        "ref": ref,
                        "kind": row.kind,
                        "posted_on": row.posted_on,
                        "amount": row.amount,
                        "reverses": row.reverses,
                        "memo": row.memo,
                    }
                )
                legs[ref] = []
            if row.line is not None:
                legs[ref].append(
                    {
                        "line": row.line,
                        "installment": row.installment,
                        "account": row.account,
                        "amount": row.leg_amount,
                    }
                )
        return tuple(entry_from_rows(h, legs[h["ref"]]) for h in heads)

    def ledger(self, loan_id: str, currency: str | None = None) -> Ledger:
        """The loan's ledger replayed from its stored entries (balances recomputed).
        ``currency`` defaults to the loan's."""
        if currency is None:
            currency = LoanRepository(self.session).require(loan_id).currency
        return replay(loan_id, self.entries(loan_id), currency)

    def _legs(self, loan_id: str, refs: list[str] | None = None) -> dict[str, list[dict]]:
        query = select(LegRow.__table__).where(LegRow.loan_id == loan_id)
        if refs is not None:
            query = query.where(LegRow.ref.in_(refs))
        out: dict[str, list[dict]] = {}
        for row in self.session.execute(query.order_by(LegRow.ref, LegRow.line)).mappings():
            out.setdefault(row["ref"], []).append(dict(row))
        return out


_SCHEDULE = (
    select(
        InstallmentRow.seq,
        InstallmentRow.due_date,
        InstallmentRow.principal,
        InstallmentRow.interest,
    )
    .where(InstallmentRow.loan_id == bindparam("loan_id"))
    .order_by(InstallmentRow.seq)
)
_ENTRIES = (
    select(
        EntryRow.ref,
        EntryRow.kind,
        EntryRow.posted_on,
        EntryRow.amount,
        EntryRow.reverses,
        EntryRow.memo,
        LegRow.line,
        LegRow.installment,
        LegRow.account,
        LegRow.amount.label("leg_amount"),
    )
    .outerjoin(LegRow, and_(LegRow.loan_id == EntryRow.loan_id, LegRow.ref == EntryRow.ref))
    .where(EntryRow.loan_id == bindparam("loan_id"))
    .order_by(EntryRow.seq, LegRow.line)
)


class PaymentRepository(_Repository):
    def add(self, payment: PaymentRow) -> None:
        self.session.add(payment)

    def get(self, payment_ref: str) -> PaymentRow | None:
        return self.session.get(PaymentRow, payment_ref)

    def unposted(self, through: date | None = None, loan_id: str | None = None) -> list[PaymentRow]:
        """Payments not yet posted by the close, oldest first (then by reference)."""
        query = select(PaymentRow).where(PaymentRow.posted_entry_ref.is_(None))
        if through is not None:
            query = query.where(PaymentRow.paid_on <= through)
        if loan_id is not None:
            query = query.where(PaymentRow.loan_id == loan_id)
        return list(
            self.session.scalars(query.order_by(PaymentRow.paid_on, PaymentRow.payment_ref))
        )

    def mark_posted(self, payment_ref: str, entry_ref: str) -> None:
        payment = self.get(payment_ref)
        if payment is None:
            raise DomainError(f"no payment {payment_ref!r} in the store")
        payment.posted_entry_ref = entry_ref


class CaseRepository(_Repository):
    def get_open(self, loan_id: str) -> CaseRow | None:
        return self.session.scalar(
            select(CaseRow).where(CaseRow.loan_id == loan_id, CaseRow.status == "open")
        )

    def open(
        self,
        loan_id: str,
        opened_on: date,
        *,
        dpd: int,
        bucket: str,
        loan_class: str,
        amount_overdue: Decimal,
        assigned_to: str | None = None,
    ) -> CaseRow:
        """Open a case for ``loan_id``; a loan has at most one open case, so a second
        open raises DomainError (the database enforces it too)."""
        if self.get_open(loan_id) is not None:
            raise DomainError(f"loan {loan_id} already has an open case")
        loan = LoanRepository(self.session).require(loan_id)
        case = CaseRow(
            customer_id=loan.customer_id,
            loan_id=loan_id,
            status="open",
            opened_on=opened_on,
            dpd=dpd,
            bucket=bucket,
            loan_class=loan_class,
            amount_overdue=amount_overdue,
            assigned_to=assigned_to,
            updated_on=opened_on,
        )
        self.session.add(case)
        self.session.flush()
        return case

    def close(self, loan_id: str, closed_on: date) -> CaseRow | None:
        """Close the loan's open case, if any; returns it."""
        case = self.get_open(loan_id)
        if case is not None:
            case.status, case.closed_on, case.updated_on = "closed", closed_on, closed_on
            self.session.flush()
        return case

    def for_loan(self, loan_id: str) -> list[CaseRow]:
        return list(
            self.session.scalars(
                select(CaseRow).where(CaseRow.loan_id == loan_id).order_by(CaseRow.id)
            )
        )


class ImportBatchRepository(_Repository):
    def by_sha256(self, sha256: str) -> ImportBatch | None:
        return self.session.scalar(select(ImportBatch).where(ImportBatch.sha256 == sha256))

    def add(self, batch: ImportBatch) -> ImportBatch:
        self.session.add(batch)
        self.session.flush()
        return batch

    def get(self, batch_id: int) -> ImportBatch | None:
        return self.session.get(ImportBatch, batch_id)


class CloseRunRepository(_Repository):
    def get(self, as_of: date) -> CloseRun | None:
        return self.session.get(CloseRun, as_of)

    def start(self, as_of: date, engine: str) -> CloseRun:
        """Record that the close for ``as_of`` started (a re-run restarts the record)."""
        run = self.get(as_of)
        if run is None:
            run = CloseRun(as_of=as_of, engine=engine, status="running", loans=0)
            self.session.add(run)
        run.engine, run.status, run.started_at, run.finished_at = engine, "running", utcnow(), None
        self.session.flush()
        return run

    def finish(self, as_of: date, loans: int, status: str = "done") -> CloseRun:
        run = self.get(as_of)
        if run is None:
            raise DomainError(f"no close run for {as_of} was started")
        run.loans, run.status, run.finished_at = loans, status, utcnow()
        self.session.flush()
        return run

    def latest(self, status: str = "done") -> CloseRun | None:
        return self.session.scalar(
            select(CloseRun)
            .where(CloseRun.status == status)
            .order_by(CloseRun.as_of.desc())
            .limit(1)
        )


def _as_dict(row: EntryRow) -> dict:
    return {c.key: getattr(row, c.key) for c in EntryRow.__table__.columns}
