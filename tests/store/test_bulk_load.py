"""Deferred indexes: dropped for a bulk load into a small table, rebuilt as they were."""

from __future__ import annotations

from sqlalchemy import Engine, text

from arrears.store.rows import deferred_indexes

INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'installments' "
    "AND sql IS NOT NULL ORDER BY name"
)


def test_plain_indexes_are_rebuilt_as_they_were(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name != "sqlite":
            with deferred_indexes(connection, ["installments"], {"installments": 100}):
                pass  # nothing to do elsewhere
            return
        before = connection.execute(text(INDEXES)).all()
        assert before, "installments has a plain index to defer"
        with deferred_indexes(connection, ["installments"], {"installments": 100}):
            assert connection.execute(text(INDEXES)).all() == []
        assert connection.execute(text(INDEXES)).all() == before
        # Nothing is deferred when few rows are coming, or the table already holds
        # more than twice as many.
        with deferred_indexes(connection, ["installments"], {"installments": 0}):
            assert connection.execute(text(INDEXES)).all() == before


def test_an_error_leaves_the_rebuild_to_the_rollback(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        before = connection.execute(text(INDEXES)).all()
        connection.commit()
        transaction = connection.begin()
        try:
            with deferred_indexes(connection, ["installments"], {"installments": 100}):
                raise RuntimeError("boom")
        except RuntimeError:
            transaction.rollback()
        assert connection.execute(text(INDEXES)).all() == before
