"""Tables of the collector workbench: users and teams, login sessions and attempts,
disposition codes, case leases and assignment history, promises to pay, arrangements
(maker-checker), field visits, agencies with placements and commission rates, legal
actions, notes, documents, and the hash-chained audit log. Migration 0005 creates
exactly these.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from arrears.store.models import LANGUAGES, Base, CaseRow, _one_of, utcnow
from arrears.store.types import Money, Rate

ROLES = ("collector", "team_lead", "manager", "compliance", "agency", "admin")
PROMISE_STATUSES = ("pending", "kept", "broken", "cancelled")
ARRANGEMENT_KINDS = ("installment_plan", "extension", "waiver", "settlement")
# the kinds that restructure a loan from the day they are applied (domain/observation.py)
RESTRUCTURING_KINDS = ("extension", "installment_plan")
ARRANGEMENT_STATUSES = ("pending", "approved", "rejected", "cancelled")
VISIT_STATUSES = ("open", "done", "cancelled")
PLACEMENT_STATUSES = ("active", "recalled")
COMMISSION_BASES = ("bucket", "amount_tier")
LEGAL_STAGES = (
    "lawyer_letter",
    "filing",
    "judgment",
    "enforcement",
    "asset_preservation",
    "asset_disposal",
)


class Team(Base):
    """A team of collectors under a team lead."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Agency(Base):
    """A collection agency (委外机构) cases can be placed with."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A workbench user; ``approval_limit`` is the largest relief (waived or forgiven
    amount) this user may approve alone."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        CheckConstraint(_one_of("language", LANGUAGES), name="language"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String)
    password_hash: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    approval_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A server-side login session; the cookie carries the token, the table its
    sha256 (a stolen database does not yield live cookies)."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """One login attempt, kept for lockout and for the record."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        # the login throttle counts an address's recent failures (migration 0010)
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    success: Mapped[bool] = mapped_column(Boolean)


class DispositionCode(Base):
    """A configurable action/outcome code a collector picks when logging a contact;
    ``outcome`` is the channel outcome it records on the contact attempt."""

    __tablename__ = "disposition_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label_en: Mapped[str] = mapped_column(String)
    label_zh: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String(32))
    party: Mapped[str] = mapped_column(String(16), default="debtor")
    right_party: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_promise: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)


class ContactLog(Base):
    """A collector's record of a contact: the attempt (in ``contact_attempts``, with
    the compliance verdict) plus the disposition code and the collector's note."""

    __tablename__ = "contact_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_attempt_id: Mapped[int] = mapped_column(ForeignKey("contact_attempts.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    disposition: Mapped[str] = mapped_column(ForeignKey("disposition_codes.code"))
    note: Mapped[str] = mapped_column(Text, default="")
    # when the debtor asked to be called back (a CALLBACK disposition requires it)
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseLease(Base):
    """Who is working a case right now, until ``expires_at`` (the "next case" lock)."""

    __tablename__ = "case_leases"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseAssignment(Base):
    """One change of a case's assignee, kept forever."""

    __tablename__ = "case_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_user: Mapped[str | None] = mapped_column(String(64))
    to_user: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_user: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Promise(Base):
    """A promise to pay ``amount`` by ``due_date``; the close settles it kept or
    broken from the payments actually received."""

    __tablename__ = "promises"
    __table_args__ = (
        CheckConstraint(_one_of("status", PROMISE_STATUSES), name="status"),
        Index("ix_promises_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    promised_on: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    settled_on: Mapped[date | None] = mapped_column(Date)
    contact_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempts.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Arrangement(Base):
    """A proposed payment arrangement (installment plan, 展期, 减免, 结清), waiting for
    a checker whose approval limit covers ``relief``; ``terms`` is canonical JSON."""

    __tablename__ = "arrangements"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ARRANGEMENT_KINDS), name="kind"),
        CheckConstraint(_one_of("status", ARRANGEMENT_STATUSES), name="status"),
        CheckConstraint(_one_of("required_role", ROLES), name="required_role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    relief: Mapped[Decimal] = mapped_column(Money)
    terms: Mapped[str] = mapped_column(Text)
    required_role: Mapped[str] = mapped_column(String(16))
    maker: Mapped[str] = mapped_column(String(64))
    checker: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the business day an approved arrangement was posted: an extension (展期) or an
    # installment plan restructures the loan from the end of it (domain/observation.py),
    # which the close reads here (``arrears.batch.book.stored_restructurings``)
    applied_on: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    ledger_refs: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FieldVisit(Base):
    """A field-visit task (外访) and its outcome."""

    __tablename__ = "field_visits"
    __table_args__ = (CheckConstraint(_one_of("status", VISIT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    scheduled_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    visited_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CommissionRate(Base):
    """An agency's commission rate on money collected: for one bucket, or for an
    amount tier [min_amount, max_amount) of the balance placed."""

    __tablename__ = "commission_rates"
    __table_args__ = (CheckConstraint(_one_of("basis", COMMISSION_BASES), name="basis"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    basis: Mapped[str] = mapped_column(String(16))
    bucket: Mapped[str | None] = mapped_column(String(8))
    min_amount: Mapped[Decimal | None] = mapped_column(Money)
    max_amount: Mapped[Decimal | None] = mapped_column(Money)
    rate: Mapped[Decimal] = mapped_column(Rate)


class Placement(Base):
    """A case placed with an agency from ``placed_on`` until it is recalled."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint(_one_of("status", PLACEMENT_STATUSES), name="status"),
        # a case is with at most one agency at a time
        Index(
            "uq_placements_active_case",
            "case_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_placements_agency_status", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    placed_on: Mapped[date] = mapped_column(Date)
    recalled_on: Mapped[date | None] = mapped_column(Date)
    bucket: Mapped[str] = mapped_column(String(8))
    balance_placed: Mapped[Decimal] = mapped_column(Money)
    rule: Mapped[str] = mapped_column(String, default="manual")
    placed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LegalAction(Base):
    """One stage of a case's litigation (lawyer letter → filing → judgment →
    enforcement → asset preservation / disposal), with court and costs."""

    __tablename__ = "legal_actions"
    __table_args__ = (CheckConstraint(_one_of("stage", LEGAL_STAGES), name="stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(24))
    started_on: Mapped[date] = mapped_column(Date)
    court: Mapped[str] = mapped_column(String, default="")
    court_case_number: Mapped[str] = mapped_column(String, default="")
    costs: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseNote(Base):
    """A free-text note on a case."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseDocument(Base):
    """A document attached to a case (or one legal action of it), stored in the row."""

    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    legal_action_id: Mapped[int | None] = mapped_column(ForeignKey("legal_actions.id"))
    file_name: Mapped[str] = mapped_column(String)
    content_type: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class _AuditFields:
    """What an audit entry records, chained (``AuditEvent``) or staged (``AuditPending``)."""

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String)
    payload: Mapped[str] = mapped_column(Text)


class AuditEvent(_AuditFields, Base):
    """One entry of the append-only audit chain: ``hash`` is the HMAC-SHA256, under the
    key named by ``key_id``, of ``prev_hash`` and the canonical row, so editing,
    deleting or reordering breaks the chain and only a holder of the key (kept outside
    the database) could recompute it. Entries from before keys (migration 0009) have
    key id ``legacy`` and a plain sha256. Triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        # a user's recent reveals are counted on every reveal (migration 0010)
        Index("ix_audit_log_actor_action_at", "actor", "action", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16), server_default="legacy")


class AuditPending(_AuditFields, Base):
    """An audit entry staged by a transaction on PostgreSQL, not yet chained: at COMMIT
    a deferred trigger (migration 0006) gives it its seq and hash, moves it to
    ``audit_log`` and deletes it, so the table is empty outside open transactions.
    ``canonical_head`` is the entry's canonical row up to its seq (seq sorts last)."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    canonical_head: Mapped[str] = mapped_column(Text)


class AuditHead(Base):
    """The single row naming the chain's last entry; each commit that chains entries
    locks it, so concurrent writers queue instead of forking the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


# Work queues read open cases by assignee in priority order; the index lives here, with
# the workbench that needs it, on the cases table defined in arrears.store.models.
Index(
    "ix_cases_assigned_to_status_dpd",
    CaseRow.__table__.c.assigned_to,
    CaseRow.__table__.c.status,
    CaseRow.__table__.c.dpd,
)
