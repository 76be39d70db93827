"""Workbench tables: teams, agencies, users, web sessions, login attempts, disposition
codes, case leases and assignment history, promises, arrangements, field visits,
commission rates, placements, legal actions, notes, documents, the audit chain.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from arrears.store.types import Money, Rate

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "disposition_codes",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("label_en", sa.String(), nullable=False),
        sa.Column("label_zh", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("right_party", sa.Boolean(), nullable=False),
        sa.Column("needs_promise", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_disposition_codes")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_username_at", ["username", "at"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "commission_rates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=True),
        sa.Column("min_amount", Money(), nullable=True),
        sa.Column("max_amount", Money(), nullable=True),
        sa.Column("rate", Rate(), nullable=False),
        sa.CheckConstraint(
            "basis IN ('bucket', 'amount_tier')", name=op.f("ck_commission_rates_basis")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_commission_rates_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_rates")),
    )
    with op.batch_alter_table("commission_rates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_rates_agency_id"), ["agency_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("approval_limit", Money(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language IN ('zh_CN', 'en')", name=op.f("ck_users_language")),
        sa.CheckConstraint(
            "role IN ('collector', 'team_lead', 'manager', 'compliance', 'agency', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_users_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_users_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "arrangements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("relief", Money(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("required_role", sa.String(length=16), nullable=False),
        sa.Column("maker", sa.String(length=64), nullable=False),
        sa.Column("checker", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("ledger_refs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('installment_plan', 'extension', 'waiver', 'settlement')",
            name=op.f("ck_arrangements_kind"),
        ),
        sa.CheckConstraint(
            "required_role IN ('collector', 'team_lead', 'manager', 'compliance', 'agency', "
            "'admin')",
            name=op.f("ck_arrangements_required_role"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled')",
            name=op.f("ck_arrangements_status"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_arrangements_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_arrangements_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrangements")),
    )
    with op.batch_alter_table("arrangements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arrangements_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_user", sa.String(length=64), nullable=True),
        sa.Column("to_user", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_user", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_assignments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignments")),
    )
    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_assignments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_leases",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_leases_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_leases")),
    )
    with op.batch_alter_table("case_leases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_leases_username"), ["username"], unique=False)

    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_case_id"), ["case_id"], unique=False)

    op.create_table(
        "field_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'cancelled')", name=op.f("ck_field_visits_status")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_field_visits_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_visits")),
    )
    with op.batch_alter_table("field_visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_visits_case_id"), ["case_id"], unique=False)

    op.create_table(
        "legal_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("court", sa.String(), nullable=False),
        sa.Column("court_case_number", sa.String(), nullable=False),
        sa.Column("costs", Money(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stage IN ('lawyer_letter', 'filing', 'judgment', 'enforcement', "
            "'asset_preservation', 'asset_disposal')",
            name=op.f("ck_legal_actions_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_legal_actions_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_actions")),
    )
    with op.batch_alter_table("legal_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_actions_case_id"), ["case_id"], unique=False)

    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("balance_placed", Money(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'recalled')", name=op.f("ck_placements_status")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_placements_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_placements_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index("ix_placements_agency_status", ["agency_id", "status"], unique=False)
        batch_op.create_index(
            "uq_placements_active_case",
            ["case_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "case_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("legal_action_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_documents_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["legal_action_id"],
            ["legal_actions.id"],
            name=op.f("fk_case_documents_legal_action_id_legal_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_documents")),
    )
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_documents_case_id"), ["case_id"], unique=False)

    op.create_table(
        "contact_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_attempt_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_contact_logs_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["contact_attempt_id"],
            ["contact_attempts.id"],
            name=op.f("fk_contact_logs_contact_attempt_id_contact_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["disposition"],
            ["disposition_codes.code"],
            name=op.f("fk_contact_logs_disposition_disposition_codes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_logs")),
        sa.UniqueConstraint("contact_attempt_id", name=op.f("uq_contact_logs_contact_attempt_id")),
    )
    with op.batch_alter_table("contact_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_logs_case_id"), ["case_id"], unique=False)

    op.create_table(
        "promises",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_amount", Money(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("contact_attempt_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'kept', 'broken', 'cancelled')", name=op.f("ck_promises_status")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_promises_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["contact_attempt_id"],
            ["contact_attempts.id"],
            name=op.f("fk_promises_contact_attempt_id_contact_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_promises_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
    )
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promises_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_promises_status_due", ["status", "due_date"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_assigned_to_status_dpd", ["assigned_to", "status", "dpd"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_assigned_to_status_dpd")

    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.drop_index("ix_promises_status_due")
        batch_op.drop_index(batch_op.f("ix_promises_case_id"))

    op.drop_table("promises")
    with op.batch_alter_table("contact_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_logs_case_id"))

    op.drop_table("contact_logs")
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_documents_case_id"))

    op.drop_table("case_documents")
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_placements_active_case",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_placements_agency_status")

    op.drop_table("placements")
    with op.batch_alter_table("legal_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_actions_case_id"))

    op.drop_table("legal_actions")
    with op.batch_alter_table("field_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_visits_case_id"))

    op.drop_table("field_visits")
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_case_id"))

    op.drop_table("case_notes")
    with op.batch_alter_table("case_leases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_leases_username"))

    op.drop_table("case_leases")
    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_assignments_case_id"))

    op.drop_table("case_assignments")
    with op.batch_alter_table("arrangements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arrangements_case_id"))

    op.drop_table("arrangements")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))

    op.drop_table("web_sessions")
    op.drop_table("users")
    with op.batch_alter_table("commission_rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_rates_agency_id"))

    op.drop_table("commission_rates")
    op.drop_table("teams")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_username_at")

    op.drop_table("login_attempts")
    op.drop_table("disposition_codes")
    op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_table("agencies")
