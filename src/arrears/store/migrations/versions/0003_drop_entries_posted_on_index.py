"""Drop the index on entries.posted_on.

Nothing reads postings by date (reports read the dated snapshots), and keeping this
index in random insertion order doubled the cost of writing a day's postings.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_entries_posted_on", table_name="entries")


def downgrade() -> None:
    op.create_index("ix_entries_posted_on", "entries", ["posted_on"], unique=False)
