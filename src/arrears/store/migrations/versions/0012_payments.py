"""Payments from a processor: hosted checkouts and the processor's webhook events
(``arrears.store.payment_models``; docs/payments.md).

* ``payment_checkouts``: one hosted checkout for an exact amount of one loan, its
  status (open, paid, refunded, charged_back) and the ``payments`` row it booked;
* ``processor_events``: each webhook event once, unique by (processor, event id).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from arrears.store.types import Money

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_checkouts",
        sa.Column("checkout_id", sa.String(length=64), nullable=False),
        sa.Column("processor", sa.String(length=32), nullable=False),
        sa.Column("processor_ref", sa.String(length=128), nullable=True),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_ref", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'paid', 'refunded', 'charged_back')",
            name=op.f("ck_payment_checkouts_status"),
        ),
        sa.CheckConstraint(
            "origin IN ('portal', 'workbench', 'demo')", name=op.f("ck_payment_checkouts_origin")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_checkouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_payment_checkouts_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_payment_checkouts_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("checkout_id", name=op.f("pk_payment_checkouts")),
        sa.UniqueConstraint("payment_ref", name=op.f("uq_payment_checkouts_payment_ref")),
    )
    op.create_index(
        op.f("ix_payment_checkouts_loan_id"), "payment_checkouts", ["loan_id"], unique=False
    )
    op.create_table(
        "processor_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("processor", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("checkout_id", sa.String(length=64), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("signed_at", sa.Integer(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('paid', 'refunded', 'chargeback')", name=op.f("ck_processor_events_kind")
        ),
        sa.ForeignKeyConstraint(
            ["checkout_id"],
            ["payment_checkouts.checkout_id"],
            name=op.f("fk_processor_events_checkout_id_payment_checkouts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor_events")),
        sa.UniqueConstraint(
            "processor", "event_id", name=op.f("uq_processor_events_processor_event")
        ),
    )
    op.create_index(
        op.f("ix_processor_events_checkout_id"), "processor_events", ["checkout_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_processor_events_checkout_id"), table_name="processor_events")
    op.drop_table("processor_events")
    op.drop_index(op.f("ix_payment_checkouts_loan_id"), table_name="payment_checkouts")
    op.drop_table("payment_checkouts")
