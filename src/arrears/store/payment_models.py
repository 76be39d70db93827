"""Tables of payments through a payment processor (docs/payments.md): the hosted
checkouts the debtor portal opens, and every webhook event the processor sent.

A checkout is the project's side of one hosted payment page: the exact amount and
currency asked for, which loan it pays, and what became of it. A ``paid`` event books
the money as a row of ``payments`` (the table the daily close takes in), whose
reference is the checkout's ``payment_ref``; a refund or chargeback reverses it in the
ledger. Events are unique by (processor, event id), so a delivery seen before changes
nothing. No card data is ever stored: the processor keeps it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from arrears.store.models import Base, _one_of, utcnow
from arrears.store.types import Money

# open: the page was made, nothing paid yet; paid: the money is booked (pending until
# the close posts it); refunded / charged_back: the payment was reversed; expired: the
# page's time ran out unpaid
CHECKOUT_STATUSES = ("open", "paid", "refunded", "charged_back", "expired")
CHECKOUT_ORIGINS = ("portal", "workbench", "demo")
EVENT_KINDS = ("paid", "refunded", "chargeback")


class Checkout(Base):
    """A hosted checkout for an exact amount of one loan."""

    __tablename__ = "payment_checkouts"
    __table_args__ = (
        CheckConstraint(_one_of("status", CHECKOUT_STATUSES), name="status"),
        CheckConstraint(_one_of("origin", CHECKOUT_ORIGINS), name="origin"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    checkout_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processor: Mapped[str] = mapped_column(String(32))
    processor_ref: Mapped[str | None] = mapped_column(String(128))  # the processor's id
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    origin: Mapped[str] = mapped_column(String(16), default="portal")
    return_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)  # the processor's hosted page
    status: Mapped[str] = mapped_column(String(16), default="open")
    # the payments row a paid event booked (payments.payment_ref)
    payment_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the page takes no payment after this (migration 0018; None on older checkouts)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProcessorEvent(Base):
    """One webhook event as the processor signed it, recorded once per event id."""

    __tablename__ = "processor_events"
    __table_args__ = (
        UniqueConstraint("processor", "event_id", name="uq_processor_events_processor_event"),
        CheckConstraint(_one_of("kind", EVENT_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    processor: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    checkout_id: Mapped[str] = mapped_column(
        ForeignKey("payment_checkouts.checkout_id"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    # the signed timestamp of the first delivery (a second delivery carrying the very
    # same one is a replay) and the body's digest (same id, other body: a conflict)
    signed_at: Mapped[int] = mapped_column(Integer)
    body_sha256: Mapped[str] = mapped_column(String(64))
    # what it did: the payment ref booked, or the reversal's ledger ref
    outcome: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
