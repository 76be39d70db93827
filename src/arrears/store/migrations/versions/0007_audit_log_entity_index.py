"""Index the audit chain by what an entry is about (entity, entity_id).

The manager's dashboard reads the entries about days (treatments held because a
model's scores shifted, and their acceptance) on every view; without the index that
is a scan of a chain that holds every contact ever made.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
