"""Users, teams and logins: argon2 password hashes, lockout after repeated failures,
server-side sessions with a CSRF token each.

``authenticate`` returns the user or a ``LoginError`` (never raises for a wrong
password, so the login page can show why); ``start_session`` returns the cookie token
once (only its sha256 is stored); ``session_actor`` maps a cookie back to the user.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Conflict, Invalid
from arrears.store.models import LANGUAGES
from arrears.store.workbench_models import ROLES, Agency, LoginAttempt, Team, User, WebSession

_hasher = PasswordHasher()
SESSION_HOURS = 12
MIN_PASSWORD = 8


@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` failed logins within ``window`` lock the account for the rest
    of that window."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginError:
    """Why a login failed: ``reason`` is ``invalid`` or ``locked``."""

    reason: str
    message: str


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def create_team(session: Session, name: str, actor: str = "system") -> Team:
    """A new team (names are unique)."""
    if session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"team {name!r} exists already")
    team = Team(name=name)
    session.add(team)
    session.flush()
    audit.append(session, actor, "team.create", "team", team.id, {"name": name})
    return team


def team_by_name(session: Session, name: str) -> Team | None:
    """The team called ``name``, if any."""
    return session.scalar(select(Team).where(Team.name == name))


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
    """A new user with an argon2-hashed password; checks role, language, password
    length, that agency users name an agency, and that the username is free."""
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid("username: must be 1 to 64 characters")
    if role not in ROLES:
        raise Invalid(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if language not in LANGUAGES:
        raise Invalid(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password: must be at least {MIN_PASSWORD} characters")
    if role == "agency" and agency_id is None:
        raise Invalid("agency_id: an agency user must belong to an agency")
    if agency_id is not None and session.get(Agency, agency_id) is None:
        raise Invalid(f"agency_id: no agency {agency_id}")
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team_id: no team {team_id}")
    if approval_limit < 0:
        raise Invalid("approval_limit: must not be negative")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists already")
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
        raise Invalid(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    user = session.get(User, user_id)
    if user is None:
        raise Invalid(f"user_id: no user {user_id}")
    user.language = language
    audit.append(session, user.username, "user.language", "user", user.id, {"language": language})
    return user


def failures_since(session: Session, username: str, since: datetime) -> int:
    """Failed logins of ``username`` after ``since`` and after its last success."""
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    start = max(since, _aware(last_ok)) if last_ok is not None else since
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > start,
            )
        )
        or 0
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str | None = None,
    policy: LockoutPolicy = LockoutPolicy(),
    now: datetime | None = None,
) -> User | LoginError:
    """The user when ``password`` is right and the account is active and not locked,
    else a LoginError. Every attempt is recorded (in ``session``; the caller commits,
    also after a failure, so failures count)."""
    moment = now or _now()
    username = username.strip()[:64]
    locked = failures_since(session, username, moment - policy.window) >= policy.max_failures
    user = user_by_name(session, username)
    ok = False
    if not locked and user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    session.add(LoginAttempt(username=username, ip=ip, at=moment, success=ok))
    session.flush()
    if locked:
        audit.append(session, username, "login.locked", "user", username, {"ip": ip})
        minutes = int(policy.window.total_seconds() // 60)
        return LoginError(
            "locked",
            f"too many failed logins: the account is locked for up to {minutes} minutes",
        )
    if not ok or user is None:
        audit.append(session, username, "login.failed", "user", username, {"ip": ip})
        return LoginError("invalid", "wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.append(session, username, "login", "user", user.id, {"ip": ip})
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(
    session: Session, user: User, ip: str | None = None, hours: int = SESSION_HOURS
) -> tuple[str, WebSession]:
    """A new login session for ``user``: returns the cookie token (shown once) and the
    stored session row (whose ``csrf_token`` forms and htmx must send back)."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        ip=ip,
        created_at=_now(),
        expires_at=_now() + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return token, row


def session_actor(session: Session, token: str | None) -> tuple[Actor, str] | None:
    """What every request needs of its session cookie: the active user as an ``Actor``
    and the session's CSRF token, or None (unknown, expired or deactivated). One
    narrow, prebuilt query: it runs on every request."""
    if not token:
        return None
    row = session.execute(_SESSION_ACTOR, {"token_hash": _token_hash(token)}).first()
    if row is None or not row.active or _aware(row.expires_at) <= _now():
        return None
    return Actor.of(row), row.csrf_token


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
    """A new collection agency (codes are unique)."""
    if not code.strip():
        raise Invalid("code: must not be empty")
    if session.scalar(select(Agency).where(Agency.code == code)) is not None:
        raise Conflict(f"agency {code!r} exists already")
    agency = Agency(code=code, name=name, active=True)
    session.add(agency)
    session.flush()
    audit.append(session, actor, "agency.create", "agency", agency.id, {"code": code})
    return agency


def new_password() -> str:
    """A random password fit to print once (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)
