"""The migrated schema is exactly the models, on both databases."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SAWarning

from arrears.store.db import downgrade, upgrade
from arrears.store.models import Base


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_creates_exactly_the_models(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    assert _diffs(blank_engine) == []
    assert set(Base.metadata.tables) <= set(inspect(blank_engine).get_table_names())


def test_upgrade_twice_is_a_no_op_and_downgrade_drops_everything(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    upgrade(blank_engine)
    downgrade(blank_engine, "base")
    assert set(inspect(blank_engine).get_table_names()) <= {"alembic_version"}
    upgrade(blank_engine)
    assert _diffs(blank_engine) == []


def test_upgrade_is_silent_and_keeps_the_expression_indexes(blank_engine: Engine) -> None:
    """A new workspace's migrations print no reflection warning, and the customers'
    expression indexes (phone key, 身份证 tail), which reflection cannot see, are there
    after the batch migrations that read the customers table on SQLite."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        upgrade(blank_engine)
    if blank_engine.dialect.name == "sqlite":
        catalog = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers'"
    else:
        catalog = "SELECT indexname FROM pg_indexes WHERE tablename = 'customers'"
    with blank_engine.connect() as connection:
        names = set(connection.exec_driver_sql(catalog).scalars())
    assert {"ix_customers_mobile_key", "ix_customers_id_tail"} <= names
