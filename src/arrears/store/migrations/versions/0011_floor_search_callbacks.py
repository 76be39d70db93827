"""The collections floor: a callback's date and time, and the indexes search uses.

* ``contact_logs.callback_at``: when the debtor asked to be called back (a CALLBACK
  disposition requires it); indexed, the work lists read the callbacks due.
* ``ix_customers_mobile_key`` and ``ix_contact_points_value_key``: the phone number
  without spaces, dashes, brackets, dots or ``+`` (``arrears.store.search_keys``), so
  an inbound caller's number finds the customer by an index whatever way it was
  written on import.
* ``ix_customers_id_tail``: the last four characters of the 身份证 number (a search
  by its last digits).
* ``ix_customers_name``: names by prefix (``text_pattern_ops`` on PostgreSQL, so a
  LIKE 'prefix%' uses it under any collation).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None


def _phone_key(column: str) -> str:
    expr = column
    for ch in (" ", "-", "(", ")", ".", "+"):
        expr = f"replace({expr}, '{ch}', '')"
    return expr


def upgrade() -> None:
    with op.batch_alter_table("contact_logs") as batch:
        batch.add_column(sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_contact_logs_callback_at", "contact_logs", ["callback_at"], unique=False)
    op.create_index("ix_customers_mobile_key", "customers", [sa.text(_phone_key("mobile"))])
    op.create_index("ix_contact_points_value_key", "contact_points", [sa.text(_phone_key("value"))])
    op.create_index(
        "ix_customers_id_tail", "customers", [sa.text("substr(id_number, length(id_number) - 3)")]
    )
    op.create_index(
        "ix_customers_name", "customers", ["name"], postgresql_ops={"name": "text_pattern_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_customers_name", table_name="customers")
    op.drop_index("ix_customers_id_tail", table_name="customers")
    op.drop_index("ix_contact_points_value_key", table_name="contact_points")
    op.drop_index("ix_customers_mobile_key", table_name="customers")
    op.drop_index("ix_contact_logs_callback_at", table_name="contact_logs")
    with op.batch_alter_table("contact_logs") as batch:
        batch.drop_column("callback_at")
