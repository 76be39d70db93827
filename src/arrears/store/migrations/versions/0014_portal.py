"""The debtor portal (links, verification codes, portal sessions and requests).

* ``portal_links``: each personal link the first time it was opened (its digest, the
  loan, issue and expiry days, revocation when a newer link was verified).
* ``portal_sessions``: a debtor's visit in one browser, its CSRF token, identity check
  and one-time code (digest) until verified.
* ``portal_failures``: wrong answers by address and link, for the throttles.
* ``portal_requests``: disputes, hardship and out-of-policy arrangement requests, each
  a task for a role with a deadline.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    other = target.partition(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{other}"))


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        _stamp("first_seen_at"),
        _stamp("last_seen_at"),
        sa.Column("visits", sa.Integer(), nullable=False),
        _stamp("revoked_at", True),
        _fk("portal_links", "customer_id", "customers.customer_id"),
        _fk("portal_links", "loan_id", "loans.loan_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_portal_links_token_digest")),
    )
    op.create_index("ix_portal_links_loan_issued", "portal_links", ["loan_id", "issued_on"])
    op.create_table(
        "portal_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        _stamp("at"),
        sa.CheckConstraint(
            "kind IN ('token', 'identity', 'code', 'code_sent')",
            name=op.f("ck_portal_failures_kind"),
        ),
        _fk("portal_failures", "link_id", "portal_links.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_failures")),
    )
    op.create_index("ix_portal_failures_address_at", "portal_failures", ["address", "at"])
    op.create_index("ix_portal_failures_link_at", "portal_failures", ["link_id", "at"])
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("identity_ok", sa.Boolean(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("code_channel", sa.String(length=8), nullable=True),
        _stamp("code_expires_at", True),
        sa.Column("code_tries", sa.Integer(), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        _stamp("verified_at", True),
        _stamp("created_at"),
        _stamp("last_seen_at"),
        _stamp("expires_at"),
        _stamp("ended_at", True),
        _fk("portal_sessions", "customer_id", "customers.customer_id"),
        _fk("portal_sessions", "link_id", "portal_links.id"),
        _fk("portal_sessions", "loan_id", "loans.loan_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_portal_sessions_token_digest")),
    )
    op.create_index(op.f("ix_portal_sessions_link_id"), "portal_sessions", ["link_id"])
    op.create_table(
        "portal_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("assigned_role", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("arrangement_id", sa.Integer(), nullable=True),
        _stamp("created_at"),
        _stamp("resolved_at", True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('dispute', 'hardship', 'arrangement')", name=op.f("ck_portal_requests_kind")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'resolved')", name=op.f("ck_portal_requests_status")
        ),
        _fk("portal_requests", "arrangement_id", "arrangements.id"),
        _fk("portal_requests", "case_id", "cases.id"),
        _fk("portal_requests", "customer_id", "customers.customer_id"),
        _fk("portal_requests", "hold_id", "holds.id"),
        _fk("portal_requests", "loan_id", "loans.loan_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_requests")),
    )
    op.create_index(op.f("ix_portal_requests_case_id"), "portal_requests", ["case_id"])
    op.create_index("ix_portal_requests_status_due", "portal_requests", ["status", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_portal_requests_status_due", table_name="portal_requests")
    op.drop_index(op.f("ix_portal_requests_case_id"), table_name="portal_requests")
    op.drop_table("portal_requests")
    op.drop_index(op.f("ix_portal_sessions_link_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index("ix_portal_failures_link_at", table_name="portal_failures")
    op.drop_index("ix_portal_failures_address_at", table_name="portal_failures")
    op.drop_table("portal_failures")
    op.drop_index("ix_portal_links_loan_issued", table_name="portal_links")
    op.drop_table("portal_links")
