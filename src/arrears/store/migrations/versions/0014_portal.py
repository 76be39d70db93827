"""The debtor portal (links, verification codes, portal sessions and requests).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
