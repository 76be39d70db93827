"""Login hardening (issue 22, finding 4): unknown users cost what a wrong password
costs, a spray of usernames from one address is throttled, a storm of failures from
one address locks that address out and not the user, repeated failures are answered
more slowly, the password policy holds wherever a password is set, and sessions end
after their idle and absolute timeouts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_support import NOW, PASSWORD, Book

from arrears.cli import app as cli
from arrears.commands.web import is_loopback
from arrears.services.workbench.errors import Invalid
from arrears.services.workbench.passwords import new_password, password_problem
from arrears.services.workbench.users import (
    LockoutPolicy,
    LoginError,
    SessionPolicy,
    authenticate,
    create_user,
    unlock_user,
)
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.app import Settings, create_app
from arrears.workspace import Workspace

# throttling as configured by default, with delays short enough for a test
FAST = LockoutPolicy(base_delay=timedelta(milliseconds=200))


class Clock:
    """A business clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def hardened(book: Book, clock: Clock):  # type: ignore[no-untyped-def]
    return create_app(
        engine=book.engine, settings=Settings(clock=clock, lockout=FAST), migrate=False
    )


@pytest.fixture
def client_from(hardened) -> Iterator[Callable[[str], TestClient]]:  # type: ignore[no-untyped-def]
    """A client of the hardened app whose requests come from address ``ip``."""
    clients: list[TestClient] = []

    def make(ip: str) -> TestClient:
        client = TestClient(hardened, client=(ip, 40000))
        client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_an_unknown_user_costs_as_much_as_a_wrong_password(book: Book) -> None:
    # every attempt from its own address and under the user's throttle, so only the
    # password check itself is timed
    policy = LockoutPolicy(max_failures=1000)

    def seconds(username: str, n: int) -> float:
        with UnitOfWork(book.engine) as uow:
            started = time.perf_counter()
            result = authenticate(uow.session, username, "wrong-guess", f"10.9.{n}.1", policy)
            took = time.perf_counter() - started
            uow.rollback()
        assert isinstance(result, LoginError) and result.reason == "invalid"
        return took

    known = statistics.median(seconds("c1", n) for n in range(7))
    unknown = statistics.median(seconds(f"nobody{n}", 100 + n) for n in range(7))
    assert unknown > 0.6 * known, (unknown, known)


def test_a_spray_of_usernames_from_one_address_is_throttled(client_from) -> None:
    sprayer = client_from("203.0.113.9")
    answers = [_login(sprayer, f"user{n}", "Winter2026!") for n in range(25)]
    checked = [a for a in answers if a.status_code == 401]
    refused = [a for a in answers if a.status_code == 429]
    assert len(checked) == FAST.address_free
    assert len(refused) == 25 - FAST.address_free
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert "try again in" in refused[0].json()["detail"]


def test_a_storm_from_another_address_does_not_lock_the_user_out(client_from) -> None:
    attacker = client_from("198.51.100.7")
    codes = [_login(attacker, "c1", f"guess-{n}").status_code for n in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {423}
    # even the right password no longer opens c1 from the attacker's address …
    assert _login(attacker, "c1", PASSWORD).status_code == 423
    # … but the collector signs in from theirs
    assert _login(client_from("192.0.2.20"), "c1", PASSWORD).status_code == 200


def test_a_lock_ends_with_its_window_or_an_admin_unlock(client_from, clock, book) -> None:
    office = client_from("192.0.2.30")
    for n in range(5):
        assert _login(office, "c2", f"typo-{n}").status_code == 401
    assert _login(office, "c2", PASSWORD).status_code == 423
    clock.advance(minutes=16)
    assert _login(office, "c2", PASSWORD).status_code == 200
    for n in range(5):
        assert _login(office, "c3", f"typo-{n}").status_code == 401
    assert _login(office, "c3", PASSWORD).status_code == 423
    with UnitOfWork(book.engine) as uow:
        assert unlock_user(uow.session, "c3", "admin") == 5
        uow.commit()
    assert _login(office, "c3", PASSWORD).status_code == 200


def test_repeated_failures_of_one_user_from_one_address_are_answered_more_slowly(
    client_from, book
) -> None:
    # the service says how long to hold each failure back: nothing for the first three
    # of a (user, address), then 0.2 s, 0.4 s …
    with UnitOfWork(book.engine) as uow:
        held = [
            authenticate(uow.session, "tl2", f"nope-{n}", "192.0.2.41", FAST, NOW) for n in range(5)
        ]
        uow.rollback()
    assert [r.hold_back for r in held if isinstance(r, LoginError)] == [0, 0, 0, 0.2, 0.4]
    # and the app waits that long before it answers
    client = client_from("192.0.2.40")
    took = []
    for n in range(5):
        started = time.perf_counter()
        assert _login(client, "tl", f"nope-{n}").status_code == 401
        took.append(time.perf_counter() - started)
    assert took[3] >= 0.2 and took[4] >= 0.4


def test_a_spread_out_guess_at_one_user_slows_strangers_but_not_the_user(
    client_from,
) -> None:
    # the user has signed in from the office before
    office = client_from("192.0.2.50")
    assert _login(office, "mgr", PASSWORD).status_code == 200
    office.post("/api/v1/auth/logout")
    for n in range(FAST.user_free):
        assert _login(client_from(f"198.18.0.{n + 1}"), "mgr", "guess").status_code == 401
    stranger = _login(client_from("198.18.1.1"), "mgr", PASSWORD)
    assert stranger.status_code == 429 and "this user" in stranger.json()["detail"]
    assert _login(client_from("192.0.2.50"), "mgr", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("12345678", "at least 12 characters"),
        ("password1234", "most common"),
        ("iloveyou2024!", "common password"),
        ("aaaaaaaaaaaaaa", "repeated"),
        ("1234567890123", "repeated or a run"),
        ("Li.Na-was-here-2026", "username"),
    ],
)
def test_the_password_policy_names_what_is_wrong(password: str, problem: str) -> None:
    found = password_problem(password, "li.na")
    assert found is not None and problem in found


def test_good_and_generated_passwords_pass_the_policy() -> None:
    assert password_problem("correct-horse-42", "li.na") is None
    assert all(password_problem(new_password("admin"), "admin") is None for _ in range(200))


def test_weak_passwords_are_refused_by_the_service_and_the_admin_api(book, login) -> None:
    with UnitOfWork(book.engine) as uow, pytest.raises(Invalid, match="12 characters"):
        create_user(uow.session, "weak", "12345678", "collector")
    admin = login("admin")
    body = {"username": "newbie", "password": "12345678", "role": "collector"}
    refused = admin.post("/api/v1/users", json=body)
    assert refused.status_code == 422 and "password" in refused.json()["detail"]
    body["password"] = "newbie-password-1"
    assert admin.post("/api/v1/users", json=body).status_code == 422  # has the username
    body["password"] = "blue-kettle-on-the-stove"
    assert admin.post("/api/v1/users", json=body).status_code == 201


@pytest.fixture
def timed(book: Book, clock: Clock):  # type: ignore[no-untyped-def]
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    return create_app(
        engine=book.engine, settings=Settings(clock=clock, sessions=policy), migrate=False
    )


def _signed_in(app) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    answer = _login(client, "c1", PASSWORD)
    assert answer.status_code == 200
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def test_an_idle_session_ends_after_thirty_minutes(timed, clock) -> None:
    with _signed_in(timed) as client:
        clock.advance(minutes=29)
        assert client.get("/api/v1/me").status_code == 200
        clock.advance(minutes=29)  # 58 min after sign-in, 29 after the last request
        assert client.get("/api/v1/me").status_code == 200
        clock.advance(minutes=31)
        assert client.get("/api/v1/me").status_code == 401


def test_a_busy_session_still_ends_twelve_hours_after_sign_in(timed, clock) -> None:
    with _signed_in(timed) as client:
        for _ in range(28):  # a request every 25 minutes: 11 h 40 min
            clock.advance(minutes=25)
            assert client.get("/api/v1/me").status_code == 200
        clock.advance(minutes=25)
        assert client.get("/api/v1/me").status_code == 401


def test_cookies_are_httponly_lax_and_secure_when_asked(book: Book) -> None:
    app = create_app(
        engine=book.engine,
        settings=Settings(clock=lambda: NOW, secure_cookies=True),
        migrate=False,
    )
    with TestClient(app, base_url="https://testserver") as client:
        token = client.get("/api/v1/auth/csrf")
        assert all("HttpOnly" in c and "Secure" in c for c in token.headers.get_list("set-cookie"))
        client.headers["X-CSRF-Token"] = token.json()["csrf_token"]
        signed = _login(client, "c1", PASSWORD)
        cookie = signed.headers["set-cookie"]
        assert "arrears_session=" in cookie
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False)],
)
def test_serve_sends_secure_cookies_unless_on_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_users_reset_password_and_unlock_on_the_command_line(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "-w", str(root)]).exit_code == 0
    added = runner.invoke(cli, ["users", "add", "li", "--password", "12345678", "-w", str(root)])
    assert added.exit_code == 2 and "12 characters" in added.output
    added = runner.invoke(cli, ["users", "add", "li", "-w", str(root)])
    assert added.exit_code == 0, added.output
    weak = runner.invoke(
        cli, ["users", "reset-password", "li", "--password-stdin", "-w", str(root)],
        input="password1234\n",
    )  # fmt: skip
    assert weak.exit_code == 2 and "common" in weak.output
    new = "copper-lantern-harbour"
    reset = runner.invoke(
        cli, ["users", "reset-password", "li", "--password-stdin", "-w", str(root)],
        input=new + "\n",
    )  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert new not in reset.output
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        for n in range(5):
            authenticate(uow.session, "li", f"wrong-{n}", "10.1.1.1")
        uow.commit()
    with UnitOfWork(ws.engine) as uow:
        locked = authenticate(uow.session, "li", new, "10.1.1.1")
        assert isinstance(locked, LoginError) and locked.reason == "locked"
        uow.rollback()
    unlocked = runner.invoke(cli, ["users", "unlock", "li", "-w", str(root)])
    assert unlocked.exit_code == 0 and "5 failed sign-ins" in unlocked.output
    with UnitOfWork(ws.engine) as uow:
        assert not isinstance(authenticate(uow.session, "li", new, "10.1.1.1"), LoginError)
        uow.commit()
    ws.engine.dispose()


def test_text_that_is_not_utf8_is_a_failed_login_or_a_refused_password(book) -> None:
    # a lone surrogate cannot be encoded as UTF-8 for argon2: a failed login (known
    # user or not), never an exception; as a new password, refused by the policy
    with UnitOfWork(book.engine) as uow:
        for username in ("c1", "nobody", "c\udc00"):
            result = authenticate(uow.session, username, "\ud800-guess", "10.2.2.2")
            assert isinstance(result, LoginError) and result.reason == "invalid"
        uow.rollback()
        with pytest.raises(Invalid, match="surrogate"):
            create_user(uow.session, "odd", "\ud800" * 13, "collector")


def test_a_lone_surrogate_in_a_json_body_is_a_422_not_a_500(app) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
        answer = client.post(
            "/api/v1/auth/login",
            content=rb'{"username": "c1", "password": "\ud800x"}',
            headers={"Content-Type": "application/json", "X-CSRF-Token": token},
        )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "password"]
