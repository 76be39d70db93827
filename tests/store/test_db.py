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
