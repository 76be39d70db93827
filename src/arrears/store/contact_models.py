"""Tables of contact: holds, blacklist, every proposed contact with the compliance
verdict, the transactional outbox and its delivery events, message templates, and the
strategy assignment of each case per day.

A contact decision and its outbox row are written in one transaction (see
``arrears.channels.outbox``); a blocked proposal is kept here with the rule ids that
blocked it, so "why was this debtor not called?" always has an answer.
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from arrears.domain.contact import CHANNELS, HOLD_KINDS, PARTIES
from arrears.store.models import Base, _one_of, utcnow

CONTACT_SOURCES = ("strategy", "collector", "agency", "system")
OUTBOX_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "bounced",
    "dead",
    "blocked",
)


class Hold(Base):
    """A reason not to contact a customer (or one loan of theirs), from ``placed_on``
    until ``released_on``. ``channel`` None means every channel."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint(_one_of("kind", HOLD_KINDS), name="kind"),
        Index("ix_holds_customer_released", "customer_id", "released_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loans.loan_id"))
    kind: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str | None] = mapped_column(String)  # None: every number/address
    placed_on: Mapped[date] = mapped_column(Date)
    placed_by: Mapped[str | None] = mapped_column(String)
    released_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BlacklistEntry(Base):
    """A phone number, email address or other contact value never to be used."""

    __tablename__ = "blacklist"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_blacklist_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str | None] = mapped_column(String)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContactAttempt(Base):
    """One proposed or made contact and the compliance gate's verdict on it.

    ``allowed`` False rows are the blocked proposals, with ``blocked_rules`` (a JSON
    list of rule ids) and ``reason``. Only allowed attempts count toward caps."""

    __tablename__ = "contact_attempts"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("party", PARTIES), name="party"),
        CheckConstraint(_one_of("source", CONTACT_SOURCES), name="source"),
        Index("ix_contact_attempts_customer_at", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[str] = mapped_column(String, unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loans.loan_id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    party: Mapped[str] = mapped_column(String(16), default="debtor")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16))
    strategy_step: Mapped[str | None] = mapped_column(String)
    template: Mapped[str | None] = mapped_column(String)
    outcome: Mapped[str | None] = mapped_column(String(32))
    allowed: Mapped[bool] = mapped_column(Boolean)
    blocked_rules: Mapped[str] = mapped_column(Text, default="[]")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A message to send, written in the same transaction as its allowed contact.

    ``idempotency_key`` is unique and is passed to the channel, so a dispatcher that
    dies after sending and before recording cannot make the channel send twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="status"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String, unique=True)
    contact_attempt_id: Mapped[int] = mapped_column(ForeignKey("contact_attempts.id"))
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    subject: Mapped[str | None] = mapped_column(String)
    body: Mapped[str] = mapped_column(Text)
    attachment: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveryEvent(Base):
    """A status change of an outbox message (sent, delivered, bounced …), in order."""

    __tablename__ = "delivery_events"
    __table_args__ = (CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")


class MessageTemplate(Base):
    """A saved message template; a new version per save. Only templates that pass the
    template sandbox and the compliance linter are ever written; ``disabled_reason``
    is set on one a later re-check refused (it is then never rendered)."""

    __tablename__ = "message_templates"
    __table_args__ = (CheckConstraint(_one_of("channel", CHANNELS), name="channel"),)

    name: Mapped[str] = mapped_column(String, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class StrategyAssignment(Base):
    """Which strategy, arm, segment and ladder step a case had on a day (sticky arm)."""

    __tablename__ = "strategy_assignments"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    loan_id: Mapped[str] = mapped_column(String)
    strategy: Mapped[str] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(32))
    segment: Mapped[str] = mapped_column(String)
    step: Mapped[str | None] = mapped_column(String)
    channel: Mapped[str | None] = mapped_column(String(16))  # a step channel (strategy.model)
