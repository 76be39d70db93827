"""A hosted checkout expires: ``payment_checkouts.expires_at`` and the status
``expired`` (a page left open unpaid past ``[payments] checkout_minutes``).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels = None
depends_on = None

OLD = "status IN ('open', 'paid', 'refunded', 'charged_back')"
NEW = "status IN ('open', 'paid', 'refunded', 'charged_back', 'expired')"


def upgrade() -> None:
    with op.batch_alter_table("payment_checkouts") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_payment_checkouts_status"), type_="check")
        batch.create_check_constraint(op.f("ck_payment_checkouts_status"), NEW)


def downgrade() -> None:
    op.execute("UPDATE payment_checkouts SET status = 'open' WHERE status = 'expired'")
    with op.batch_alter_table("payment_checkouts") as batch:
        batch.drop_constraint(op.f("ck_payment_checkouts_status"), type_="check")
        batch.create_check_constraint(op.f("ck_payment_checkouts_status"), OLD)
        batch.drop_column("expires_at")
