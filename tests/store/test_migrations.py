"""The migrated schema is exactly the models, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

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
