"""The consent and opt-out ledger.

* ``consent_entries``: each consent or opt-out per debtor, channel and recipient, with
  its time, source (portal, reply STOP, call note, letter) and the text shown.
* ``holds.recipient``: an opt-out's hold names the number or address it came from
  (None: every one).
* ``holds.kind`` may be ``validation_pending`` (Reg F 1006.34: a debt's validation
  notice is not yet sent).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels = None
depends_on = None


_KINDS = (
    "dispute",
    "hardship",
    "bankruptcy",
    "deceased",
    "legal_hold",
    "do_not_contact",
    "consent_withdrawn",
)


def _kinds(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("recipient", sa.String(), nullable=True))
        batch.drop_constraint(op.f("ck_holds_kind"), type_="check")
        batch.create_check_constraint("kind", _kinds((*_KINDS, "validation_pending")))
    op.create_table(
        "consent_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("recipient", sa.String(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('consent', 'opt_out')", name=op.f("ck_consent_entries_kind")),
        sa.CheckConstraint(
            "source IN ('portal', 'reply_stop', 'call_note', 'letter')",
            name=op.f("ck_consent_entries_source"),
        ),
        sa.CheckConstraint(
            "channel IS NULL OR channel IN ('call', 'sms', 'email', 'letter', 'visit', 'push')",
            name=op.f("ck_consent_entries_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_consent_entries_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["holds.id"], name=op.f("fk_consent_entries_hold_id_holds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_entries")),
    )
    op.create_index(
        "ix_consent_entries_customer_at", "consent_entries", ["customer_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_consent_entries_customer_at", table_name="consent_entries")
    op.drop_table("consent_entries")
    op.execute("DELETE FROM holds WHERE kind = 'validation_pending'")
    with op.batch_alter_table("holds") as batch:
        batch.drop_constraint(op.f("ck_holds_kind"), type_="check")
        batch.create_check_constraint("kind", _kinds(_KINDS))
        batch.drop_column("recipient")
