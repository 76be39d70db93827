"""Users, teams and logins: argon2 password hashes, the password policy
(``passwords``), throttling and per-address locks (``login_guard``), server-side
sessions with idle and absolute timeouts and a CSRF token each.

``authenticate`` returns the user or a ``LoginError`` (never raises for a wrong
password, so the login page can show why); ``start_session`` returns the cookie token
once (only its sha256 is stored); ``live_session`` maps a cookie back to the user.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, bindparam, delete, select, update
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench import login_guard
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Conflict, Invalid, NotFound
from arrears.services.workbench.login_guard import LockoutPolicy, LoginError
from arrears.services.workbench.passwords import MIN_LENGTH, check_password
from arrears.services.workbench.passwords import new_password as _policy_password
from arrears.store.models import LANGUAGES
from arrears.store.workbench_models import ROLES, Agency, LoginAttempt, Team, User, WebSession

__all__ = ["LockoutPolicy", "LoginError", "SessionPolicy"]

_hasher = PasswordHasher()
MIN_PASSWORD = MIN_LENGTH


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``idle`` since its last request, ``absolute`` since
    sign-in, whichever ends first. The idle deadline is moved on at most once per
    ``touch_every``, so a busy user does not write on every request."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(minutes=1)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# the API's bounds (web/api/schemas.py), checked here for the pages and the CLI too
NAME_LENGTH = 100  # a team's name, a user's display name
AGENCY_NAME_LENGTH = 200
CODE_LENGTH = 32  # an agency's code (the column's width)


def _text(value: str, field: str, high: int, *, required: bool = True) -> str:
    """``value`` stripped, or Invalid naming ``field`` when it is empty (and
    ``required``) or longer than ``high`` characters."""
    text = value.strip()
    if (required and not text) or len(text) > high:
        low = 1 if required else 0
        raise Invalid(
            f"{field}: must be {low} to {high} characters",
            "length",
            field=field,
            low=low,
            high=high,
        )
    return text


def create_team(session: Session, name: str, actor: str = "system") -> Team:
    """A new team (names are unique, 1 to 100 characters)."""
    name = _text(name, "team_name", NAME_LENGTH)
    if session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"team {name!r} exists already", "exists", name=name)
    team = Team(name=name)
    session.add(team)
    session.flush()
    audit.append(session, actor, "team.create", "team", team.id, {"name": name})
    return team


def team_by_name(session: Session, name: str) -> Team | None:
    """The team called ``name``, if any."""
    return session.scalar(select(Team).where(Team.name == name))


def list_teams(session: Session) -> list[Team]:
    """Every team, by name."""
    return list(session.scalars(select(Team).order_by(Team.name)))


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    team_id: int | None = None,
    agency_id: int | None = None,
    language: str = "zh_CN",
    approval_limit: Decimal = Decimal(0),
    actor: str = "system",
) -> User:
    """A new user with an argon2-hashed password; checks role, language, the password
    policy (``passwords``), that agency users name an agency, and that the username is
    free."""
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid(
            "username: must be 1 to 64 characters", "length", field="username", low=1, high=64
        )
    if role not in ROLES:
        raise Invalid(f"role: {role!r} is not one of {', '.join(ROLES)}", "one_of", field="role")
    if language not in LANGUAGES:
        raise Invalid(
            f"language: {language!r} is not one of {', '.join(LANGUAGES)}",
            "one_of",
            field="language",
        )
    display_name = _text(display_name, "display_name", NAME_LENGTH, required=False)
    check_password(password, username)
    if role == "agency" and agency_id is None:
        raise Invalid(
            "agency_id: an agency user must belong to an agency", "agency_user_needs_agency"
        )
    if agency_id is not None and session.get(Agency, agency_id) is None:
        raise Invalid(f"agency_id: no agency {agency_id}", "no_agency", id=agency_id)
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team_id: no team {team_id}", "no_team", name=team_id)
    if approval_limit < 0:
        raise Invalid(
            "approval_limit: must not be negative", "not_negative_amount", field="approval_limit"
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists already", "exists", name=username)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        team_id=team_id,
        agency_id=agency_id,
        language=language,
        approval_limit=approval_limit,
        active=True,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        {"username": username, "role": role, "team_id": team_id, "agency_id": agency_id},
    )
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def user_by_name(session: Session, username: str) -> User | None:
    """The user called ``username``, if any."""
    return session.scalar(select(User).where(User.username == username))


def set_language(session: Session, user_id: int, language: str) -> User:
    """Switch a user's interface language (zh_CN or en)."""
    if language not in LANGUAGES:
        raise Invalid(
            f"language: {language!r} is not one of {', '.join(LANGUAGES)}",
            "one_of",
            field="language",
        )
    user = session.get(User, user_id)
    if user is None:
        raise Invalid(f"user_id: no user {user_id}", "no_user", name=user_id)
    user.language = language
    audit.append(session, user.username, "user.language", "user", user.id, {"language": language})
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash with the hasher's parameters, of a password nobody knows: verified
    against for unknown users, so they cost what a wrong password costs."""
    return _hasher.hash(secrets.token_urlsafe(24))


def warm_up() -> None:
    """Make the dummy hash now (a server calls this on start), so the first unknown
    user does not pay for it."""
    _dummy_hash()


def _verify(password_hash: str, password: str) -> bool:
    # a lone surrogate (JSON allows "\ud800") is not UTF-8: pass it through as bytes,
    # where it simply does not match, instead of failing the request
    secret = password.encode("utf-8", "surrogatepass")
    try:
        return _hasher.verify(password_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str | None = None,
    policy: LockoutPolicy = LockoutPolicy(),
    now: datetime | None = None,
) -> User | LoginError:
    """The user when ``password`` is right and the account is active, else a
    LoginError. Throttled and locked attempts (``login_guard.refusal``) check no
    password; every other attempt costs one argon2 verification, whether or not the
    user exists or is active, and is recorded (in ``session``; the caller commits, also
    after a failure, so failures count)."""
    moment = now or _now()
    # as stored: at most 64 characters, and text the database can hold
    username = username.strip()[:64].encode("utf-8", "replace").decode("utf-8")
    refused = login_guard.refusal(session, username, ip, policy, moment)
    if refused is not None:
        action = "login.locked" if refused.reason == "locked" else "login.throttled"
        audit.append(session, username, action, "user", username, {"ip": ip}, at=moment)
        return refused
    before = login_guard.pair_failures(session, username, ip, policy, moment)
    user = user_by_name(session, username)
    matches = _verify(user.password_hash if user is not None else _dummy_hash(), password)
    ok = matches and user is not None and user.active
    session.add(LoginAttempt(username=username, ip=ip, at=moment, success=ok))
    session.flush()
    if not ok or user is None:
        audit.append(session, username, "login.failed", "user", username, {"ip": ip}, at=moment)
        return LoginError(
            "invalid",
            "wrong username or password",
            hold_back=login_guard.hold_back(before, policy),
        )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.append(session, username, "login", "user", user.id, {"ip": ip}, at=moment)
    return user


def reset_password(session: Session, username: str, password: str, actor: str) -> User:
    """Set a new password for ``username`` (checked against the policy), end its
    sessions and forget its failed sign-ins; audited without the password."""
    user = user_by_name(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", "no_user", name=username)
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    ended = session.execute(delete(WebSession).where(WebSession.user_id == user.id)).rowcount
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.username == user.username, LoginAttempt.success.is_(False)
        )
    )
    audit.append(
        session, actor, "user.password_reset", "user", user.id, {"sessions_ended": ended or 0}
    )
    return user


def unlock_user(session: Session, username: str, actor: str, ip: str | None = None) -> int:
    """Lift the locks and delays on ``username`` (from ``ip`` only, when given): its
    failed sign-ins are forgotten. Returns how many."""
    if user_by_name(session, username) is None:
        raise NotFound(f"no user {username!r}", "no_user", name=username)
    return login_guard.unlock(session, username, actor, ip)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(
    session: Session,
    user: User,
    ip: str | None = None,
    policy: SessionPolicy = SessionPolicy(),
    now: datetime | None = None,
) -> tuple[str, WebSession]:
    """A new login session for ``user``: returns the cookie token (shown once) and the
    stored session row (whose ``csrf_token`` forms and htmx must send back). It ends
    after ``policy.idle`` without a request, or ``policy.absolute`` after now."""
    moment = now or _now()
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        ip=ip,
        created_at=moment,
        expires_at=moment + min(policy.idle, policy.absolute),
    )
    session.add(row)
    session.flush()
    return token, row


@dataclass(frozen=True)
class LiveSession:
    """A session that is still valid: its user, CSRF token, and the idle deadline it
    should move to (None when it need not move yet)."""

    actor: Actor
    csrf_token: str
    token_hash: str
    extend_to: datetime | None


def live_session(
    session: Session | Connection,
    token: str | None,
    policy: SessionPolicy = SessionPolicy(),
    now: datetime | None = None,
) -> LiveSession | None:
    """The session of cookie ``token`` when its user is active and it has passed
    neither its idle deadline nor ``policy.absolute`` since sign-in, else None. One
    narrow, prebuilt query: it runs on every request."""
    if not token:
        return None
    moment = now or _now()
    token_hash = _token_hash(token)
    # a Core statement on a connection (the session's, or the one given): no ORM
    # execution to pay for
    connection = session if isinstance(session, Connection) else session.connection()
    row = connection.execute(_SESSION_ACTOR, {"token_hash": token_hash}).first()
    if row is None or not row.active:
        return None
    idle_end = _aware(row.expires_at)
    absolute_end = _aware(row.created_at) + policy.absolute
    if moment >= idle_end or moment >= absolute_end:
        return None
    target = min(moment + policy.idle, absolute_end)
    extend_to = target if target - idle_end >= policy.touch_every else None
    return LiveSession(Actor.of(row), row.csrf_token, token_hash, extend_to)


def extend_session(engine: Engine, live: LiveSession) -> None:
    """Move the session's idle deadline on (its own short transaction: requests that
    only read use a read-only unit of work). Never shortens it."""
    if live.extend_to is None:
        return
    with engine.begin() as connection:
        connection.execute(
            update(WebSession)
            .where(
                WebSession.token_hash == live.token_hash,
                WebSession.expires_at < live.extend_to,
            )
            .values(expires_at=live.extend_to)
        )


_SESSION_ACTOR = (
    select(
        User.id,
        User.username,
        User.role,
        User.team_id,
        User.agency_id,
        User.approval_limit,
        User.language,
        User.display_name,
        User.active,
        WebSession.created_at,
        WebSession.expires_at,
        WebSession.csrf_token,
    )
    .join(WebSession, WebSession.user_id == User.id)
    .where(WebSession.token_hash == bindparam("token_hash"))
)


def end_session(session: Session, token: str | None, actor: str = "system") -> bool:
    """Log out: delete the session of ``token``; True when there was one."""
    if not token:
        return False
    gone = session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))
    if gone.rowcount:
        audit.append(session, actor, "logout", "session", "-", {})
    return bool(gone.rowcount)


def create_agency(session: Session, code: str, name: str, actor: str = "system") -> Agency:
    """A new collection agency (codes are unique, 1 to 32 characters; a name of 1 to
    200)."""
    code = _text(code, "code", CODE_LENGTH)
    name = _text(name, "agency_name", AGENCY_NAME_LENGTH)
    if session.scalar(select(Agency).where(Agency.code == code)) is not None:
        raise Conflict(f"agency {code!r} exists already", "exists", name=code)
    agency = Agency(code=code, name=name, active=True)
    session.add(agency)
    session.flush()
    audit.append(session, actor, "agency.create", "agency", agency.id, {"code": code})
    return agency


def new_password(username: str = "") -> str:
    """A random password that meets the policy, fit to print once (16 URL-safe
    characters)."""
    return _policy_password(username)
