"""``arrangements.applied_on``: the business day an approved arrangement was posted.

An extension (展期) or a re-spread installment plan changes the schedule and posts no
ledger entry, yet restructures the loan from the end of that day (issue 25, contract 3);
the close reads the day here. Arrangements approved before this revision get the UTC
date of their ``decided_at`` (the business day is not recorded elsewhere; in Asia/
Shanghai it differs only for approvals made between 00:00 and 08:00 local time).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels = None
depends_on = None


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


def upgrade() -> None:
    with op.batch_alter_table("arrangements") as batch:
        batch.add_column(sa.Column("applied_on", sa.Date(), nullable=True))
    table = sa.table(
        "arrangements",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("decided_at", sa.String()),
        sa.column("applied_on", sa.Date()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(table.c.id, table.c.decided_at).where(table.c.status == "approved")
    ).all()
    for arrangement_id, decided_at in rows:
        day = _day(decided_at)
        if day is not None:
            bind.execute(table.update().where(table.c.id == arrangement_id).values(applied_on=day))


def downgrade() -> None:
    with op.batch_alter_table("arrangements") as batch:
        batch.drop_column("applied_on")
