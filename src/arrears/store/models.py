"""Tables of the operational store, as typed SQLAlchemy declarative models.

The models are the schema's single definition: the Alembic migrations create exactly
these tables (a test compares the migrated database with this metadata). Money columns
use ``arrears.store.types.Money``; rates ``Rate``; never float.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from arrears.store.search_keys import id_tail_key, phone_key
from arrears.store.types import Money, Rate

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CUSTOMER_TYPES = ("individual", "sme", "corporate")
LANGUAGES = ("zh_CN", "en")
CONTACT_KINDS = ("mobile", "home", "work", "email", "address")
LOAN_STATUSES = ("active", "closed", "written_off")
CASE_STATUSES = ("open", "closed")
IMPORT_KINDS = ("customers", "loans", "payments")
DEFAULT_TIME_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ImportBatch(Base):
    """One imported file; its sha256 makes a re-import a no-op."""

    __tablename__ = "import_batches"
    __table_args__ = (CheckConstraint(_one_of("kind", IMPORT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(_one_of("customer_type", CUSTOMER_TYPES), name="customer_type"),
        CheckConstraint(_one_of("language", LANGUAGES), name="language"),
    )

    customer_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    id_number: Mapped[str | None] = mapped_column(String)
    customer_type: Mapped[str] = mapped_column(String(16), default="individual")
    mobile: Mapped[str | None] = mapped_column(String)
    email: Mapped[str | None] = mapped_column(String)
    address: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContactPoint(Base):
    __tablename__ = "contact_points"
    __table_args__ = (CheckConstraint(_one_of("kind", CONTACT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String)
    relation: Mapped[str] = mapped_column(String(32), default="self")
    consent: Mapped[bool] = mapped_column(Boolean, default=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


# the workbench's search keys (arrears.store.search_keys; migration 0011)
Index("ix_customers_mobile_key", phone_key(Customer.__table__.c.mobile), _table=Customer.__table__)
Index(
    "ix_contact_points_value_key",
    phone_key(ContactPoint.__table__.c.value),
    _table=ContactPoint.__table__,
)
Index("ix_customers_id_tail", id_tail_key(Customer.__table__.c.id_number))
Index("ix_customers_name", Customer.__table__.c.name, postgresql_ops={"name": "text_pattern_ops"})


class ProductRow(Base):
    """A product as it was when loans were booked under it (definition is JSON)."""

    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String)
    name_zh: Mapped[str] = mapped_column(String, default="")
    definition: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Loan(Base):
    __tablename__ = "loans"
    __table_args__ = (CheckConstraint(_one_of("status", LOAN_STATUSES), name="status"),)

    loan_id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    currency: Mapped[str] = mapped_column(String(3))
    principal: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    term_months: Mapped[int] = mapped_column(Integer)
    disbursed_on: Mapped[date] = mapped_column(Date)
    first_due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # last business date the daily close has posted for this loan (None: never closed)
    closed_through: Mapped[date | None] = mapped_column(Date)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InstallmentRow(Base):
    __tablename__ = "installments"

    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)


class EntryRow(Base):
    """One ledger entry; ``seq`` is its position in the loan's posting order."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("loan_id", "seq", name="uq_entries_loan_id_seq"),
        # "is this payment reversed?" (``payment_rows.standing``) is asked of every
        # payment the promise, strategy, portal and commission figures read; reversals
        # are few, so this index is small and the answer one probe
        Index(
            "ix_entries_reversals",
            "loan_id",
            "reverses",
            sqlite_where=text("kind = 'reversal'"),
            postgresql_where=text("kind = 'reversal'"),
        ),
    )

    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), primary_key=True)
    ref: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    posted_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    reverses: Mapped[str | None] = mapped_column(String)
    memo: Mapped[str] = mapped_column(String, default="")
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LegRow(Base):
    __tablename__ = "legs"
    __table_args__ = (
        ForeignKeyConstraint(
            ["loan_id", "ref"],
            ["entries.loan_id", "entries.ref"],
            name="fk_legs_entry_entries",
        ),
    )

    loan_id: Mapped[str] = mapped_column(String, primary_key=True)
    ref: Mapped[str] = mapped_column(String, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    installment: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)


class PaymentRow(Base):
    """An imported payment waiting for the daily close to post it to the ledger."""

    __tablename__ = "payments"
    __table_args__ = (
        # the payments waiting for the close (open_loan_ids, load_book, idle_loans):
        # a handful a day among millions posted, so one small index scan, not a scan
        # of every payment
        Index(
            "ix_payments_unposted",
            "loan_id",
            sqlite_where=text("posted_entry_ref IS NULL"),
            postgresql_where=text("posted_entry_ref IS NULL"),
        ),
    )

    payment_ref: Mapped[str] = mapped_column(String, primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(String(16))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    posted_entry_ref: Mapped[str | None] = mapped_column(String)


PAUSE_REASONS = ("hardship", "dispute", "other")  # domain.pauses.PauseReason


class DpdPause(Base):
    """A DPD pause (domain/pauses.py): the loan's arrears do not age on the days
    ``pause_on`` … ``pause_until`` (None: until resumed). A resume on day R ends it the
    day before (``resumed_on``); one resumed on its first day paused nothing. The close
    passes each loan's pauses to the domain core (``arrears.batch.book``)."""

    __tablename__ = "dpd_pauses"
    __table_args__ = (CheckConstraint(_one_of("reason", PAUSE_REASONS), name="reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    pause_on: Mapped[date] = mapped_column(Date)
    pause_until: Mapped[date | None] = mapped_column(Date)
    resumed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    placed_by: Mapped[str | None] = mapped_column(String)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resumed_by: Mapped[str | None] = mapped_column(String)
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @staticmethod
    def last_paused_day(on: date, until: date | None, resumed_on: date | None) -> date | None:
        """The last paused day of a pause from ``on`` through ``until`` (None: open)
        resumed on ``resumed_on``: the day before the resume, if that comes first; before
        ``on`` when it was resumed on its first day (it paused nothing)."""
        if resumed_on is None:
            return until
        ended = date.fromordinal(resumed_on.toordinal() - 1)
        return ended if until is None else min(until, ended)


class CaseRow(Base):
    """A collections case; at most one open case per loan (partial unique index)."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_one_of("status", CASE_STATUSES), name="status"),
        Index(
            "uq_cases_open_loan",
            "loan_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_cases_status_bucket", "status", "bucket"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    dpd: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8))
    loan_class: Mapped[str] = mapped_column(String(24))
    amount_overdue: Mapped[Decimal] = mapped_column(Money)
    assigned_to: Mapped[str | None] = mapped_column(String)
    updated_on: Mapped[date] = mapped_column(Date)


class CloseRun(Base):
    __tablename__ = "close_runs"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    engine: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    loans: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))


# The feature tables share this Base; importing them here puts them in one metadata.
from arrears.store import (  # noqa: E402, F401
    consent_models,
    contact_models,
    payment_models,
    portal_models,
    workbench_models,
)

TABLES = Base.metadata.tables
