"""Consent ledger: a consent may come from the loan's origination (source
``origination``: the debtor gave the number and agreed to autodialled calls and texts in
the loan agreement).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels = None
depends_on = None

_SOURCES = ("portal", "reply_stop", "call_note", "letter")


def _sources(sources: tuple[str, ...]) -> str:
    return f"source IN ({', '.join(repr(s) for s in sources)})"


def upgrade() -> None:
    with op.batch_alter_table("consent_entries") as batch:
        batch.drop_constraint(op.f("ck_consent_entries_source"), type_="check")
        batch.create_check_constraint("source", _sources((*_SOURCES, "origination")))


def downgrade() -> None:
    op.execute("DELETE FROM consent_entries WHERE source = 'origination'")
    with op.batch_alter_table("consent_entries") as batch:
        batch.drop_constraint(op.f("ck_consent_entries_source"), type_="check")
        batch.create_check_constraint("source", _sources(_SOURCES))
