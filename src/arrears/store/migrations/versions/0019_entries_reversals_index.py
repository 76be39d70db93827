"""``ix_entries_reversals``: the reversal entries by loan and the payment they reverse.

Whether a payment still stands (``arrears.store.payment_rows.standing``) is asked of
each payment that the promise, strategy, portal and commission figures read. Without
this index SQLite walked every ledger entry of the loan for each payment: the
strategy's payment feature took about a second a day on the 50k-loan demo. Reversals
are few, so the partial index is small.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels = None
depends_on = None

REVERSALS = sa.text("kind = 'reversal'")


def upgrade() -> None:
    op.create_index(
        "ix_entries_reversals",
        "entries",
        ["loan_id", "reverses"],
        sqlite_where=REVERSALS,
        postgresql_where=REVERSALS,
    )


def downgrade() -> None:
    op.drop_index("ix_entries_reversals", table_name="entries")
