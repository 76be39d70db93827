"""A strategy assignment's step channel holds every step channel of a strategy.

``strategy_assignments.channel`` was ``varchar(8)``: enough for the contact channels,
not for the referral and letter steps (``lawyer_letter``, ``litigation``), which
PostgreSQL refused at the treat step (SQLite does not enforce the length).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("strategy_assignments") as batch:
        batch.alter_column(
            "channel", type_=sa.String(16), existing_type=sa.String(8), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("strategy_assignments") as batch:
        batch.alter_column(
            "channel", type_=sa.String(8), existing_type=sa.String(16), existing_nullable=True
        )
