"""What the audit chain tests share: writing entries, and tampering with the chain the
way an attacker who can change the schema (a database owner, or anyone holding the
SQLite file) would: first lift the append-only triggers of migration 0009."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from arrears.services import audit
from arrears.store.unit_of_work import UnitOfWork

SQLITE_GUARDS = (
    "audit_log_no_update",
    "audit_log_no_delete",
    "audit_head_no_rewind",
    "audit_head_no_delete",
)


def append(engine: Engine, n: int, actor: str = "tester") -> None:
    """Write ``n`` entries in one transaction."""
    with UnitOfWork(engine) as uow:
        for k in range(n):
            audit.append(uow.session, actor, "test.event", "thing", k, {"k": k, "note": "记录"})
        uow.commit()


def verify(engine: Engine, anchor: audit.Anchor | None = None) -> audit.Verdict:
    with UnitOfWork(engine) as uow:
        if anchor is None:
            return audit.verify(uow.session)
        return audit.verify(uow.session, anchor=anchor)


@contextmanager
def unguarded(engine: Engine) -> Iterator[Connection]:
    """A transaction in which ``audit_log`` and ``audit_head`` may be changed: the
    triggers that refuse it are dropped (SQLite) or disabled (PostgreSQL)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
        else:
            for trigger in SQLITE_GUARDS:
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        yield connection
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_head ENABLE TRIGGER USER"))
