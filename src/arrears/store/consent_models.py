"""The consent and opt-out ledger (table ``consent_entries``).

One row per consent given or withdrawn, per debtor, channel and recipient: when, how
it reached us (``source``: the loan agreement at origination, the debtor portal, a
reply STOP/退订 to a text, a note of a call, a letter) and the text the debtor saw or
sent. Rows are never changed: the latest entry for a channel and recipient is the
debtor's preference. An opt-out also places a ``consent_withdrawn`` hold
(``hold_id``), which is what the compliance gate enforces.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.domain.contact import CHANNELS
from arrears.store.models import Base, _one_of, utcnow

CONSENT_KINDS = ("consent", "opt_out")
CONSENT_SOURCES = ("portal", "reply_stop", "call_note", "letter", "origination")


class ConsentEntry(Base):
    """A consent or an opt-out. ``channel`` None: every channel; ``recipient`` None:
    every number or address on the channel (stored as contact values are compared)."""

    __tablename__ = "consent_entries"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CONSENT_KINDS), name="kind"),
        CheckConstraint(_one_of("source", CONSENT_SOURCES), name="source"),
        CheckConstraint(f"channel IS NULL OR {_one_of('channel', CHANNELS)}", name="channel"),
        Index("ix_consent_entries_customer_at", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    kind: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str | None] = mapped_column(String(8))
    recipient: Mapped[str | None] = mapped_column(String)
    source: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
