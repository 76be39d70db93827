"""Tables of the debtor self-service portal (``arrears.services.portal``); migration
0014 creates exactly these.

* ``portal_links``: a personal link (signed token) the first time it was opened: its
  digest, never the token, the loan and customer it names, when it was issued and
  expires, and when it was revoked (a newer link of the loan was verified: links
  rotate).
* ``portal_sessions``: a debtor's visit in a browser: a random cookie token (digest
  only), its CSRF token, the link it came from, whether the debtor proved who they are
  (identity, then the one-time code, whose digest and tries live here until used).
* ``portal_failures``: every wrong identity answer, wrong code or unknown token, by
  browser address and link: what the throttles count.
* ``portal_requests``: what a debtor asked that a person must act on (a dispute, a
  hardship request, a plan or settlement outside the pre-approved policy), as a task
  for a role with a deadline.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from arrears.store.models import Base, _one_of, utcnow

PORTAL_REQUEST_KINDS = ("dispute", "hardship", "arrangement")
PORTAL_REQUEST_STATUSES = ("open", "resolved")
PORTAL_FAILURE_KINDS = ("token", "identity", "code", "code_sent")


class PortalLink(Base):
    """A personal link the first time it was opened (see the module docstring)."""

    __tablename__ = "portal_links"
    __table_args__ = (Index("ix_portal_links_loan_issued", "loan_id", "issued_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PortalSession(Base):
    """A debtor's visit in one browser (see the module docstring)."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    link_id: Mapped[int] = mapped_column(ForeignKey("portal_links.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    identity_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    code_digest: Mapped[str | None] = mapped_column(String(64))
    code_channel: Mapped[str | None] = mapped_column(String(8))
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    code_tries: Mapped[int] = mapped_column(Integer, default=0)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PortalFailure(Base):
    """One wrong answer (or unknown token, or code sent) the throttles count."""

    __tablename__ = "portal_failures"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PORTAL_FAILURE_KINDS), name="kind"),
        Index("ix_portal_failures_address_at", "address", "at"),
        Index("ix_portal_failures_link_at", "link_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("portal_links.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PortalRequest(Base):
    """What a debtor asked that a person must act on, a task for ``assigned_role`` due
    by ``due_on``; ``details`` is JSON (terms asked, document ids …)."""

    __tablename__ = "portal_requests"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PORTAL_REQUEST_KINDS), name="kind"),
        CheckConstraint(_one_of("status", PORTAL_REQUEST_STATUSES), name="status"),
        Index("ix_portal_requests_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    assigned_role: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[date] = mapped_column(Date)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    arrangement_id: Mapped[int | None] = mapped_column(ForeignKey("arrangements.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
