"""Fixtures shared by every test folder: a migrated store on SQLite and PostgreSQL.

``engine`` is parametrized: ``sqlite`` (a fresh file in the test's tmp dir) and
``postgresql`` (a fresh schema ``test_<hex>`` on the server at
``$ARREARS_TEST_PG_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
dropped afterwards, so tests may run in parallel under pytest-xdist). When no server
answers, the PostgreSQL params are skipped with a message saying so.

``blank_engine`` is the same without the migrations applied.

Tests that need a system program skip, saying which and how to install it, when it is
absent: ``needs_chromium`` (Debian's ``/usr/bin/chromium``: Playwright, chart images)
and ``needs_poppler`` (``pdftotext``/``pdftoppm`` of poppler-utils). A test gets the
marker explicitly, or by itself when its code or a fixture it uses launches Chromium
(``sync_playwright``, ``render_png``) or runs a poppler program. CI (``.ci/run``)
installs both; with ``ARREARS_REQUIRE_SYSTEM_TOOLS=1`` a missing one fails the test
instead of skipping it.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from arrears.store.db import make_engine, redact, upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The audit chain is signed with a key kept outside the database. Test stores (often a
# PostgreSQL schema with no workspace folder) and the commands tests run share this one;
# tests of the keyring file itself unset it.
os.environ.setdefault("ARREARS_AUDIT_KEY", "5e" * 32)
# likewise the key of the debtors' portal links (messages name them; arrears.services.portal)
os.environ.setdefault("ARREARS_PORTAL_KEY", "7a" * 32)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_url() -> str:
    """The PostgreSQL server tests use (``$ARREARS_TEST_PG_URL`` or the local default)."""
    return os.environ.get("ARREARS_TEST_PG_URL", DEFAULT_PG_URL)


def sqlite_url(folder: Path) -> str:
    """A SQLite file URL inside ``folder``."""
    return f"sqlite:///{folder / 'arrears.sqlite'}"


@functools.cache
def pg_unreachable_reason() -> str | None:
    """None when the PostgreSQL server answers, else why the tests skip it."""
    try:
        probe = create_engine(pg_url(), connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("select 1"))
        probe.dispose()
    except Exception as exc:  # any failure to connect means: skip, and say why
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"PostgreSQL not reachable at {redact(pg_url())} ({first_line}); "
            "store tests ran on SQLite only"
        )
    return None


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> str:
    return pg_url()


@pytest.fixture(name="sqlite_url")
def sqlite_url_fixture(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


def _pg_schema_engine() -> Iterator[Engine]:
    reason = pg_unreachable_reason()
    if reason:
        pytest.skip(reason)
    schema = f"test_{uuid.uuid4().hex}"
    admin = create_engine(pg_url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no tables) on each backend."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path))
        yield engine
        engine.dispose()
    else:
        yield from _pg_schema_engine()


@pytest.fixture
def engine(blank_engine: Engine) -> Engine:
    """A store migrated to head on each backend (sqlite, postgresql)."""
    upgrade(blank_engine)
    return blank_engine


CHROMIUM = "/usr/bin/chromium"
POPPLER = ("pdftotext", "pdftoppm")
# code that launches Chromium or runs a poppler program (a test, or a fixture it uses)
_USES = {
    "needs_chromium": re.compile(r"\bsync_playwright\b|\bshared_browser\(|\brender_png\("),
    "needs_poppler": re.compile(r"\[\s*[\"'](?:pdftotext|pdftoppm)[\"']"),
}


def missing_tool(marker: str) -> str | None:
    """None when the program the marker names is installed, else why the test skips."""
    if marker == "needs_chromium":
        if Path(CHROMIUM).exists():
            return None
        return (
            f"needs Chromium at {CHROMIUM} (Debian/Ubuntu: apt-get install chromium); "
            "CI (.ci/run) installs it"
        )
    absent = [tool for tool in POPPLER if shutil.which(tool) is None]
    if not absent:
        return None
    return (
        f"needs poppler ({', '.join(absent)}; Debian/Ubuntu: apt-get install poppler-utils); "
        "CI (.ci/run) installs it"
    )


@functools.cache
def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_chromium: " + "uses Debian's /usr/bin/chromium")
    config.addinivalue_line("markers", "needs_poppler: " + "runs pdftotext/pdftoppm (poppler)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        info = getattr(item, "_fixtureinfo", None)
        functions = [function] if function is not None else []
        if info is not None:
            for definitions in info.name2fixturedefs.values():
                functions.extend(d.func for d in definitions)
        code = "\n".join(_source(f) for f in functions)
        for marker, pattern in _USES.items():
            if item.get_closest_marker(marker) is None and pattern.search(code):
                item.add_marker(marker)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Close this process's Chromium, if a browser test opened it (chromium_session)."""
    from chromium_session import close_shared_browser

    close_shared_browser()


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in _USES:
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing_tool(marker)
        if reason is None:
            continue
        if os.environ.get("ARREARS_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail(reason + " (ARREARS_REQUIRE_SYSTEM_TOOLS is set)")
        pytest.skip(reason)
