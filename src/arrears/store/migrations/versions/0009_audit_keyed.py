"""A keyed, append-only audit chain.

* ``audit_log.key_id``: the id of the key whose HMAC-SHA256 an entry's hash is. The
  entries already chained keep their plain sha256 hashes and get key id ``legacy``:
  this migration cannot count on reading the key (``alembic upgrade`` may run where
  the workspace is not), and re-chaining them would also launder any edit made before
  it. ``arrears.services.audit.verify`` checks legacy entries as plain hashes, the
  first keyed entry chains on the last of them (so they cannot be recomputed either),
  and refuses a legacy entry after a keyed one.
* PostgreSQL: the chain trigger of 0006 computes the HMAC. The key reaches it for the
  committing transaction only, as the transaction-local setting ``arrears.audit_key``
  (``key id:inner pad:outer pad`` in hex, set by the audit service just before COMMIT);
  it is never written to a table. A staged entry without it is refused.
* Triggers on both databases refuse UPDATE and DELETE on ``audit_log`` (and TRUNCATE
  on PostgreSQL), and moving ``audit_head`` backwards or deleting it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# hash = HMAC-SHA256(key, prev_hash || canonical row), computed as
# sha256(outer_pad || sha256(inner_pad || message)) with the pads the service sends,
# exactly what arrears.services.audit.entry_hmac computes with Python's hmac module
KEYED_CHAIN_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_chain_pending() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    last_hash varchar(64);
    next_hash varchar(64);
    signing text := coalesce(current_setting('arrears.audit_key', true), '');
    signing_id text;
    inner_pad bytea;
    outer_pad bytea;
BEGIN
    IF signing = '' THEN
        RAISE EXCEPTION 'audit entry without an audit key: only arrears.services.audit '
            'writes entries, and it signs them';
    END IF;
    signing_id := split_part(signing, ':', 1);
    inner_pad := decode(split_part(signing, ':', 2), 'hex');
    outer_pad := decode(split_part(signing, ':', 3), 'hex');
    UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash INTO last_seq, last_hash;
    IF NOT FOUND THEN
        INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))
            ON CONFLICT (id) DO NOTHING;
        UPDATE audit_head SET seq = seq WHERE id = 1
            RETURNING seq, hash INTO last_seq, last_hash;
    END IF;
    next_hash := encode(sha256(outer_pad || sha256(inner_pad || convert_to(
        last_hash || NEW.canonical_head || (last_seq + 1)::text || '}', 'UTF8'))), 'hex');
    INSERT INTO audit_log
        (seq, at, actor, action, entity, entity_id, payload, prev_hash, hash, key_id)
        VALUES (last_seq + 1, NEW.at, NEW.actor, NEW.action, NEW.entity, NEW.entity_id,
                NEW.payload, last_hash, next_hash, signing_id);
    UPDATE audit_head SET seq = last_seq + 1, hash = next_hash WHERE id = 1;
    DELETE FROM audit_pending WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""

# the function as migration 0006 made it, for the downgrade
PLAIN_CHAIN_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_chain_pending() RETURNS trigger LANGUAGE plpgsql AS $$
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

POSTGRES_GUARDS = [
    """
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$
""",
    """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
""",
    """
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
""",
    """
CREATE FUNCTION audit_head_refuse_rewind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'audit_head only moves forward: % refused', TG_OP;
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_refuse_rewind()
""",
]
POSTGRES_GUARDS_DROP = [
    "DROP TRIGGER audit_head_forward_only ON audit_head",
    "DROP FUNCTION audit_head_refuse_rewind()",
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "DROP FUNCTION audit_log_refuse_change()",
]

SQLITE_GUARDS = [
    """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END
""",
    """
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END
""",
    """
CREATE TRIGGER audit_head_no_rewind BEFORE UPDATE ON audit_head WHEN NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward: UPDATE refused'); END
""",
    """
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward: DELETE refused'); END
""",
]
SQLITE_GUARDS_DROP = [
    "DROP TRIGGER audit_head_no_delete",
    "DROP TRIGGER audit_head_no_rewind",
    "DROP TRIGGER audit_log_no_delete",
    "DROP TRIGGER audit_log_no_update",
]


def upgrade() -> None:
    op.add_column(
        "audit_log",
        sa.Column("key_id", sa.String(length=16), server_default="legacy", nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(KEYED_CHAIN_FUNCTION)
        for statement in POSTGRES_GUARDS:
            op.execute(statement)
    else:
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_GUARDS_DROP:
            op.execute(statement)
        op.execute(PLAIN_CHAIN_FUNCTION)
        op.drop_column("audit_log", "key_id")
    else:
        for statement in SQLITE_GUARDS_DROP:
            op.execute(statement)
        with op.batch_alter_table("audit_log") as batch_op:
            batch_op.drop_column("key_id")
