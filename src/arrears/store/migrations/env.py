"""Alembic environment for the arrears store.

``arrears.store.db.upgrade`` passes an open connection in
``config.attributes['connection']``; run from the ``alembic`` command line instead, the
URL comes from ``ARREARS_DATABASE_URL`` (or the workspace SQLite file).
"""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

from arrears.store.db import make_engine
from arrears.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # On SQLite a batch migration reflects the table it rebuilds and the tables its
        # foreign keys name; reflection cannot read the customers' expression indexes
        # (phone key, 身份证 tail) and says so on every new workspace. Those tables are
        # only read, never rebuilt, so the indexes stay: the warning is noise to a user.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine()
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("arrears migrations run online only: use `arrears db upgrade`")
run_migrations_online()
