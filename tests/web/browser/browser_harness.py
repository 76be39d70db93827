"""Browser-test harness: a real demo workspace, the real app under uvicorn on a free
loopback port (in a subprocess), and Debian's Chromium driven by Playwright. The
fixtures are re-exported by conftest.py; tests import the helpers from here.

Nothing is downloaded: Chromium is ``/usr/bin/chromium`` (``apt-get install chromium``;
``.ci/run`` installs it). Screenshots go to ``$ARREARS_ARTIFACTS`` or ``test-artifacts/``
at the repository root (git-ignored), so a reviewer can look at them after a run.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from chromium_session import shared_browser

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_LOANS = 400
# days of snapshots and strategy treatments (each treated day costs seconds)
DEMO_DAYS = 2
PASSWORD = "correct-horse-42"
VIEWPORT = {"width": 1366, "height": 768}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Chromium against the real app (runs in the normal suite)"
    )


def artifacts_dir() -> Path:
    """Where screenshots are written (created on first use)."""
    folder = Path(os.environ.get("ARREARS_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def arrears_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``arrears`` command (same interpreter) and fail with its output."""
    code = "import sys; from arrears.cli import main; sys.argv[0] = 'arrears'; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "ARREARS_LANG": "en", "COLUMNS": "200"},
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"arrears {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@dataclass(frozen=True)
class Staff:
    """The users seeded into the browser-test workspace (all share PASSWORD)."""

    collector: str = "li.na"
    collector2: str = "wang.fang"
    team_lead: str = "zhao.lei"
    manager: str = "chen.jing"
    compliance: str = "sun.li"
    # ends locked by the lockout test; receives the bulk transfer of the oversight test
    victim: str = "zhou.qiang"
    # works the cases of the oversight test (holds, transfers, placements)
    collector3: str = "liu.yang"
    agency_code: str = "HZ-LAW"
    agent: str = "hz.agent"


def seed_staff(root: Path) -> Staff:
    """Create a team with two collectors and a lead, a manager and a compliance officer,
    and assign the demo's open cases to the collectors (via the back end's services)."""
    from sqlalchemy import select

    from arrears.services.workbench import agencies, users
    from arrears.services.workbench.access import Actor
    from arrears.services.workbench.seed import seed_workbench
    from arrears.store.db import upgrade
    from arrears.store.models import CaseRow
    from arrears.store.unit_of_work import UnitOfWork
    from arrears.workspace import Workspace

    staff = Staff()
    workspace = Workspace.at(root)
    upgrade(workspace.engine)
    seed_workbench(workspace.engine)
    with UnitOfWork(workspace.engine) as uow:
        team = users.create_team(uow.session, "华东一组")
        users.create_user(
            uow.session, staff.collector, PASSWORD, "collector", display_name="李娜",
            team_id=team.id, language="en", approval_limit=Decimal("500"),
        )  # fmt: skip
        users.create_user(
            uow.session, staff.collector2, PASSWORD, "collector", display_name="王芳",
            team_id=team.id, language="zh_CN", approval_limit=Decimal("500"),
        )  # fmt: skip
        users.create_user(
            uow.session, staff.team_lead, PASSWORD, "team_lead", display_name="赵磊",
            team_id=team.id, language="en", approval_limit=Decimal("20000"),
        )  # fmt: skip
        users.create_user(
            uow.session, staff.manager, PASSWORD, "manager", display_name="陈静",
            language="en", approval_limit=Decimal("1000000"),
        )  # fmt: skip
        users.create_user(
            uow.session, staff.compliance, PASSWORD, "compliance", display_name="孙丽",
            language="zh_CN",
        )  # fmt: skip
        users.create_user(
            uow.session, staff.victim, PASSWORD, "collector", display_name="周强",
            team_id=team.id, language="zh_CN",
        )  # fmt: skip
        users.create_user(
            uow.session, staff.collector3, PASSWORD, "collector", display_name="刘洋",
            team_id=team.id, language="en", approval_limit=Decimal("500"),
        )  # fmt: skip
        agency = users.create_agency(uow.session, staff.agency_code, "杭州正信律师事务所")
        users.create_user(
            uow.session, staff.agent, PASSWORD, "agency", display_name="钱律师",
            agency_id=agency.id, language="zh_CN",
        )  # fmt: skip
        manager = users.user_by_name(uow.session, staff.manager)
        assert manager is not None
        agencies.set_commission_rates(
            uow.session, Actor.of(manager), agency.id,
            [{"bucket": "M7+", "rate": "0.25"}, {"min_amount": "0", "rate": "0.15"}],
        )  # fmt: skip
        cases = list(uow.session.scalars(select(CaseRow).where(CaseRow.status == "open")))
        owners = (staff.collector, staff.collector2, staff.collector3)
        for index, case in enumerate(sorted(cases, key=lambda c: c.id)):
            case.assigned_to = owners[index % len(owners)]
        uow.commit()
    workspace.engine.dispose()
    return staff


def build_book(root: Path) -> None:
    """A small real book through the ordinary commands: generate, import, and the daily
    close of the last days through yesterday (with the strategy's treatments). Lighter
    than ``arrears demo``, which also closes every month end of the history."""
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    data = root / "data"
    arrears_cli("generate", "--loans", str(DEMO_LOANS), "--out", str(data), "--as-of", yesterday)
    arrears_cli("init", "-w", str(root))
    for kind in ("customers", "loans", "payments"):
        arrears_cli("import", str(data / f"{kind}.parquet"), "-w", str(root))
    arrears_cli("close", "--as-of", yesterday, "--days", str(DEMO_DAYS), "-w", str(root))


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # under pytest-xdist every worker has its own basetemp inside the run's folder
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded demo workspace of this test run, built once (the first worker builds
    it under a file lock, the others wait and reuse it)."""
    shared = _shared_dir(tmp_path_factory)
    template = shared / "browser-template"
    with (shared / "browser-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (template / ".seeded").exists():
                if template.exists():
                    shutil.rmtree(template)
                build_book(template)
                seed_staff(template)
                (template / ".seeded").write_text("ok\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return template


def workspace_copy(tmp_path_factory: pytest.TempPathFactory, name: str = "browser") -> Path:
    """A fresh copy of a small real demo book, closed through yesterday, with the
    strategy's treatments of its last days and the seeded staff."""
    root = tmp_path_factory.mktemp(name) / "ws"
    shutil.copytree(_template(tmp_path_factory), root)
    return root


@pytest.fixture(scope="session")
def workspace_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace the session's browser tests share (``workspace_copy``)."""
    return workspace_copy(tmp_path_factory)


@pytest.fixture(scope="session")
def staff(workspace_root: Path) -> Staff:
    """The seeded users (see ``seed_staff``)."""
    return Staff()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
def server(workspace_root: Path, staff: Staff) -> Iterator[Server]:
    """The real app (``arrears.web.app.create_app``) under uvicorn on 127.0.0.1."""
    with serve(workspace_root) as running:
        yield running


@contextmanager
def serve(root: Path, day_file: Path | None = None) -> Iterator[Server]:
    """The real app on the workspace ``root`` under uvicorn on a free loopback port.
    Its business clock runs from 12:00 Beijing time today, so the compliance gate's
    contact hours allow a call whenever the suite runs (time still advances); with
    ``day_file``, as many days later as the file says (a test turns the floor's day
    over by writing it)."""
    port = _free_port()
    code = (
        "import sys, uvicorn; from datetime import UTC, date, datetime, time, timedelta; "
        "from pathlib import Path; "
        "from arrears.web.app import Settings, create_app; "
        "start = datetime.now(UTC); noon = datetime.combine(date.today(), time(4), tzinfo=UTC); "
        "days = (lambda f: int(Path(f).read_text() or 0) if f else 0); "
        "clock = lambda: noon + (datetime.now(UTC) - start) + timedelta(days=days(sys.argv[3])); "
        "app = create_app(workspace_root=sys.argv[1], settings=Settings(clock=clock)); "
        "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
    )
    log = root / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(root), str(port), str(day_file or "")],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the app did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    try:
        yield Server(base, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched by Playwright (never downloaded): the one of
    this test process (``chromium_session``), whichever conftest asks for it."""
    yield shared_browser()


def sign_in(page: Page, base_url: str, username: str, lang: str = "") -> None:
    """Sign in through the login form (as a person would) and wait for the landing page."""
    page.goto(base_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    if lang:
        page.select_option("select[name=lang]", lang)
    page.click("button[type=submit].primary")
    page.wait_for_selector("[data-testid=whoami]")


def shot(page: Page, name: str, full_page: bool = False) -> Path:
    """Save a screenshot of ``page`` as ``<artifacts>/<name>.png`` and return its path."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
