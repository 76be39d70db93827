"""Engines and migrations: where the store lives and how its schema reaches head.

``ARREARS_DATABASE_URL`` picks the database; without it the store is a SQLite file
``arrears.sqlite`` in the workspace. SQLite connections get foreign keys, WAL and
``synchronous=NORMAL``, and real transactions (BEGIN is emitted by us, so DDL and
rollbacks behave as on PostgreSQL).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

ENV_URL = "ARREARS_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# the workspace folder each store was opened for, by URL: the audit chain's keys live
# there, outside the database (arrears.services.audit_keys)
_WORKSPACES: dict[str, Path] = {}


def database_url(url: str | None = None, workspace: Path | None = None) -> str:
    """The URL the store uses: ``url``, else ``$ARREARS_DATABASE_URL``, else a SQLite
    file ``arrears.sqlite`` in ``workspace`` (default: the current directory)."""
    if url:
        return url
    env = os.environ.get(ENV_URL)
    if env:
        return env
    folder = Path(workspace) if workspace is not None else Path.cwd()
    return f"sqlite:///{folder.resolve() / 'arrears.sqlite'}"


def make_engine(
    url: str | None = None,
    workspace: Path | None = None,
    *,
    pool_size: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An Engine for the store (see ``database_url``); extra keyword arguments go to
    ``sqlalchemy.create_engine``. The schema is not touched: call ``upgrade``.

    ``pool_size`` (a server database; SQLite ignores it): keep that many connections
    open and open none beyond, for a long-running server. A pool that opens overflow
    connections and closes them on return makes PostgreSQL fork a backend for a request
    every few dozen milliseconds under load (measured with the default 5 + 10 at 200
    requests/s: 230-500 new sessions in 20 s)."""
    resolved = database_url(url, workspace)
    if pool_size is not None and make_url(resolved).get_backend_name() != "sqlite":
        kwargs = {"pool_size": pool_size, "max_overflow": 0, **kwargs}
    engine = create_engine(resolved, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    if workspace is not None:
        _WORKSPACES[engine.url.render_as_string(hide_password=False)] = Path(workspace).resolve()
    return engine


def workspace_of(engine: Engine) -> Path | None:
    """The workspace folder ``engine``'s store was opened for by ``make_engine``, if any."""
    return _WORKSPACES.get(engine.url.render_as_string(hide_password=False))


def read_engine(engine: Engine) -> Engine:
    """The engine for read-only units of work on ``engine``'s store, sharing its pool.

    On PostgreSQL its connections run in autocommit: at the default READ COMMITTED
    level every statement takes its own snapshot inside a transaction too, so reads
    lose nothing, and each request is spared its BEGIN and ROLLBACK (measured: about
    0.4 ms of PostgreSQL CPU per queue request, 1.2 ms per case view). Any other level, and
    SQLite (where a transaction is one snapshot), keep transactions: ``engine`` itself.
    """
    level = engine.get_execution_options().get("isolation_level", "READ COMMITTED")
    if engine.dialect.name != "postgresql" or level != "READ COMMITTED":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def refresh_statistics(engine: Engine) -> None:
    """Give the query planner statistics after a bulk change (an import, a close).

    - **SQLite** guesses table sizes without them and may drive a join from the big
      table: the strategy's payment feature scanned all 365k demo payments (1.05 s)
      where, with a sampled ``ANALYZE`` (``analysis_limit``: a few milliseconds on the
      1.2M-entry demo ledger), it starts from the day's open cases (0.03 s).
    - **PostgreSQL**'s autovacuum analyses a table only once a tenth of it changed, and
      only when its next round comes: the first close after an import of 50k loans read
      schedules and ledgers with plans made for empty tables (and compiled by its JIT),
      11 s where the same reads take 4 s with statistics. So the tables of the store's
      schema that were never analysed, or changed by more than a tenth since, are
      analysed now (``ANALYZE`` samples: about a second for the whole 50k-loan store).
    """
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA analysis_limit=400")
            connection.exec_driver_sql("ANALYZE")
    elif engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            stale = connection.exec_driver_sql(_STALE_TABLES).scalars().all()
            for table in stale:
                connection.exec_driver_sql(f'ANALYZE "{table}"')
            if stale and (connection.dialect.server_version_info or (0,)) >= (15,):
                # the analyses' own statistics (last_analyze) are reported when this
                # transaction ends, not up to a second later: a refresh right after sees
                # them and does not analyse the same tables again (PostgreSQL 15+)
                connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")


# the tables of the current schema whose statistics are missing or a tenth out of date
# (autovacuum's own threshold, acted on at once)
_STALE_TABLES = """
SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema()
  AND (COALESCE(last_analyze, last_autoanalyze) IS NULL
       OR n_mod_since_analyze > 50 + 0.1 * n_live_tup)
ORDER BY relname
"""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store's schema to ``revision`` (default: the latest), in one
    transaction; running it again on an up-to-date store does nothing."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the store's schema down to ``revision`` ("base" drops every table)."""
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def redact(url: str | URL) -> str:
    """``url`` fit to print: any password is replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)
