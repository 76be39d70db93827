"""``ix_payments_unposted``: the payments the close has not posted yet, by loan.

Every close asks which payments wait to be posted (``batch.book.open_loan_ids``,
``load_book``, ``carried.idle_loans``): a day's few hundred among every payment ever
imported. Without this index PostgreSQL scanned all payments for each of those reads
(the 50k-loan book: 368k payments, a dozen scans a close). Posted payments leave the
partial index, so it stays the size of a day's payments.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels = None
depends_on = None

UNPOSTED = sa.text("posted_entry_ref IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_payments_unposted",
        "payments",
        ["loan_id"],
        sqlite_where=UNPOSTED,
        postgresql_where=UNPOSTED,
    )


def downgrade() -> None:
    op.drop_index("ix_payments_unposted", table_name="payments")
