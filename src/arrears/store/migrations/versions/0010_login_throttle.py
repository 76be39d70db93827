"""Indexes for the login throttle and the reveal allowance (issue 22).

* ``login_attempts (ip, at)``: the throttle counts an address's recent failures on
  every sign-in (``arrears.services.workbench.login_guard``); by user it already had
  ``(username, at)``.
* ``audit_log (actor, action, at)``: a reveal of personal data counts the user's
  reveals of the last ten minutes and day in the audit chain
  (``arrears.services.workbench.reveal``), which grows by every action of every user.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"], unique=False)
    op.create_index(
        "ix_audit_log_actor_action_at", "audit_log", ["actor", "action", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_action_at", table_name="audit_log")
    op.drop_index("ix_login_attempts_ip_at", table_name="login_attempts")
