"""Where the store lives, and printing its URL safely."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from arrears.store.db import ENV_URL, database_url, make_engine, redact


def test_url_from_argument_then_environment_then_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    assert database_url(workspace=tmp_path) == f"sqlite:///{tmp_path.resolve()}/arrears.sqlite"
    monkeypatch.setenv(ENV_URL, "sqlite:///from-env.sqlite")
    assert database_url(workspace=tmp_path) == "sqlite:///from-env.sqlite"
    assert database_url("sqlite:///given.sqlite", tmp_path) == "sqlite:///given.sqlite"


def test_sqlite_pragmas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    engine = make_engine(workspace=tmp_path)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    engine.dispose()
    assert (tmp_path / "arrears.sqlite").exists()


def test_redact_hides_the_password() -> None:
    url = "postgresql+psycopg://collector:s3cret@db.example:5432/arrears"
    assert redact(url) == "postgresql+psycopg://collector:***@db.example:5432/arrears"
    assert redact("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_a_server_pool_keeps_its_connections_and_opens_none_beyond(
    blank_engine, tmp_path: Path
) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    url = blank_engine.url.render_as_string(hide_password=False)
    engine = make_engine(url, tmp_path, pool_size=2, pool_timeout=0.5)
    try:
        if engine.dialect.name == "sqlite":  # the file database keeps SQLAlchemy's pool
            assert engine.pool.size() == 5  # type: ignore[attr-defined]
            return
        held = [engine.connect() for _ in range(2)]
        with pytest.raises(PoolTimeout):  # a third waits for one of the two, none is opened
            engine.connect()
        for connection in held:
            connection.close()
        assert engine.pool.checkedin() == 2  # both kept open for the next requests
    finally:
        engine.dispose()
