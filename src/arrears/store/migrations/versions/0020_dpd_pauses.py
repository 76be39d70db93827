"""``dpd_pauses``: a loan's DPD pauses (hardship, dispute, other), from a day through a
day or until resumed, with who placed and resumed each and why; the close passes them
to the domain core (issue 25, contract 3).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dpd_pauses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("pause_on", sa.Date(), nullable=False),
        sa.Column("pause_until", sa.Date(), nullable=True),
        sa.Column("resumed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_by", sa.String(), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('hardship', 'dispute', 'other')", name=op.f("ck_dpd_pauses_reason")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_dpd_pauses_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dpd_pauses")),
    )
    op.create_index(op.f("ix_dpd_pauses_loan_id"), "dpd_pauses", ["loan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dpd_pauses_loan_id"), table_name="dpd_pauses")
    op.drop_table("dpd_pauses")
