"""The audit chain is extended at COMMIT by the database on PostgreSQL: entries are
staged in ``audit_pending`` and a deferred constraint trigger chains them (seq, hash)
into ``audit_log`` while the transaction commits. The head row is then locked only for
the server's own commit work, never across round trips to a busy client. On SQLite
(one writer at a time) the chain is still extended by ``arrears.services.audit``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# the hash is sha256(prev_hash || canonical row), as arrears.services.audit.entry_hash
# computes it: the row's canonical JSON is canonical_head || seq || '}'
CHAIN_FUNCTION = """
CREATE FUNCTION audit_chain_pending() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    last_hash varchar(64);
    next_hash varchar(64);
BEGIN
    UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash INTO last_seq, last_hash;
    IF NOT FOUND THEN
        INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))
            ON CONFLICT (id) DO NOTHING;
        UPDATE audit_head SET seq = seq WHERE id = 1
            RETURNING seq, hash INTO last_seq, last_hash;
    END IF;
    next_hash := encode(sha256(convert_to(
        last_hash || NEW.canonical_head || (last_seq + 1)::text || '}', 'UTF8')), 'hex');
    INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, payload, prev_hash, hash)
        VALUES (last_seq + 1, NEW.at, NEW.actor, NEW.action, NEW.entity, NEW.entity_id,
                NEW.payload, last_hash, next_hash);
    UPDATE audit_head SET seq = last_seq + 1, hash = next_hash WHERE id = 1;
    DELETE FROM audit_pending WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""
CHAIN_TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_chain AFTER INSERT ON audit_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_pending()
"""


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("canonical_head", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHAIN_FUNCTION)
        op.execute(CHAIN_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_chain ON audit_pending")
        op.execute("DROP FUNCTION audit_chain_pending()")
    op.drop_table("audit_pending")
