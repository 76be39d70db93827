"""Loan rules (placeholder until needed).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
