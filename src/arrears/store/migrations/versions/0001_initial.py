"""Initial schema: customers, loans, schedules, ledger, payments inbox, cases, imports, close runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 17:59:24.667810
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from arrears.store.types import Money, Rate

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "close_runs",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_close_runs")),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('customers', 'loans', 'payments')", name=op.f("ck_import_batches_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
        sa.UniqueConstraint("sha256", name=op.f("uq_import_batches_sha256")),
    )
    op.create_table(
        "products",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_zh", sa.String(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_products")),
    )
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("id_number", sa.String(), nullable=True),
        sa.Column("customer_type", sa.String(length=16), nullable=False),
        sa.Column("mobile", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "customer_type IN ('individual', 'sme', 'corporate')",
            name=op.f("ck_customers_customer_type"),
        ),
        sa.CheckConstraint("language IN ('zh_CN', 'en')", name=op.f("ck_customers_language")),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_customers_import_batch_id_import_batches"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customers")),
    )
    op.create_table(
        "contact_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('mobile', 'home', 'work', 'email', 'address')",
            name=op.f("ck_contact_points_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_contact_points_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_points")),
    )
    op.create_index(
        op.f("ix_contact_points_customer_id"), "contact_points", ["customer_id"], unique=False
    )
    op.create_table(
        "loans",
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", Money(), nullable=False),
        sa.Column("annual_rate", Rate(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("first_due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'closed', 'written_off')", name=op.f("ck_loans_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name=op.f("fk_loans_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_loans_import_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["product_code"], ["products.code"], name=op.f("fk_loans_product_code_products")
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loans")),
    )
    op.create_index(op.f("ix_loans_customer_id"), "loans", ["customer_id"], unique=False)
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("loan_class", sa.String(length=24), nullable=False),
        sa.Column("amount_overdue", Money(), nullable=False),
        sa.Column("assigned_to", sa.String(), nullable=True),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_cases_status")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name=op.f("fk_cases_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_cases_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_customer_id"), "cases", ["customer_id"], unique=False)
    op.create_index(op.f("ix_cases_loan_id"), "cases", ["loan_id"], unique=False)
    op.create_index("ix_cases_status_bucket", "cases", ["status", "bucket"], unique=False)
    op.create_index(
        "uq_cases_open_loan",
        "cases",
        ["loan_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "entries",
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("reverses", sa.String(), nullable=True),
        sa.Column("memo", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_entries_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", "ref", name=op.f("pk_entries")),
        sa.UniqueConstraint("loan_id", "seq", name="uq_entries_loan_id_seq"),
    )
    op.create_index(op.f("ix_entries_posted_on"), "entries", ["posted_on"], unique=False)
    op.create_table(
        "installments",
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal", Money(), nullable=False),
        sa.Column("interest", Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_installments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", "seq", name=op.f("pk_installments")),
    )
    op.create_index(op.f("ix_installments_due_date"), "installments", ["due_date"], unique=False)
    op.create_table(
        "payments",
        sa.Column("payment_ref", sa.String(), nullable=False),
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("posted_entry_ref", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_payments_import_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name=op.f("fk_payments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("payment_ref", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_loan_id"), "payments", ["loan_id"], unique=False)
    op.create_index(op.f("ix_payments_paid_on"), "payments", ["paid_on"], unique=False)
    op.create_table(
        "legs",
        sa.Column("loan_id", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("installment", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id", "ref"], ["entries.loan_id", "entries.ref"], name="fk_legs_entry_entries"
        ),
        sa.PrimaryKeyConstraint("loan_id", "ref", "line", name=op.f("pk_legs")),
    )


def downgrade() -> None:
    op.drop_table("legs")
    op.drop_index(op.f("ix_payments_paid_on"), table_name="payments")
    op.drop_index(op.f("ix_payments_loan_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_installments_due_date"), table_name="installments")
    op.drop_table("installments")
    op.drop_index(op.f("ix_entries_posted_on"), table_name="entries")
    op.drop_table("entries")
    op.drop_index(
        "uq_cases_open_loan",
        table_name="cases",
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_cases_status_bucket", table_name="cases")
    op.drop_index(op.f("ix_cases_loan_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_customer_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_index(op.f("ix_loans_customer_id"), table_name="loans")
    op.drop_table("loans")
    op.drop_index(op.f("ix_contact_points_customer_id"), table_name="contact_points")
    op.drop_table("contact_points")
    op.drop_table("customers")
    op.drop_table("products")
    op.drop_table("import_batches")
    op.drop_table("close_runs")
