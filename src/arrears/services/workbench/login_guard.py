"""What stands between a sign-in attempt and the password check: throttling first,
then a lock that an outsider cannot turn against a collector.

Every attempt that reached the password check is a row of ``login_attempts`` (user,
address, time, success); the rules below count those rows, so they hold across the
worker processes of one store. Three keys are counted over ``policy.window``:

- the (user, address) pair: after ``pair_free`` failures each failed answer is held
  back longer (``hold_back``: 1 s, 2 s, … doubling); at ``max_failures`` the pair is
  locked (423) until its failures age out of the window or an administrator unlocks
  the user (``unlock``). Only that address is locked: the user signs in from theirs.
- the address: after ``address_free`` failures (any users: a spray of usernames), the
  address must wait a doubling delay after its last failure (429, Retry-After).
- the user, from addresses it has not signed in from within ``familiar_for``: after
  ``user_free`` failures (a spread-out guess at one account), those addresses wait a
  doubling delay too; addresses the user signed in from recently are not slowed.

A refused attempt checks no password and is not counted (it is audited by the
caller), so waiting out the delay is always enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.store.workbench_models import LoginAttempt


@dataclass(frozen=True)
class LockoutPolicy:
    """The knobs of login throttling and locking (see the module docstring)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    pair_free: int = 3
    address_free: int = 10
    user_free: int = 10
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    familiar_for: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class LoginError:
    """Why a login failed: ``reason`` is ``invalid``, ``locked`` or ``throttled``.
    ``retry_after`` (seconds) says when a throttled address may try again;
    ``hold_back`` (seconds) is how long to wait before answering a failure."""

    reason: str
    message: str
    retry_after: int | None = None
    hold_back: float = 0.0


def doubling_delay(failures: int, free: int, policy: LockoutPolicy) -> timedelta:
    """No delay for the first ``free`` failures, then ``base_delay`` doubling with each
    further failure, at most ``max_delay``."""
    if failures < free:
        return timedelta(0)
    steps = min(failures - free, 30)  # 2**30 s is past any sensible max_delay
    return min(policy.base_delay * (2**steps), policy.max_delay)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _address_is(ip: str | None) -> ColumnElement[bool]:
    return LoginAttempt.ip.is_(None) if ip is None else LoginAttempt.ip == ip


def _failures(
    session: Session, since: datetime, *where: ColumnElement[bool]
) -> tuple[int, datetime | None]:
    """How many failed attempts match ``where`` after ``since``, and the last one's time."""
    count, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.success.is_(False), LoginAttempt.at > since, *where
        )
    ).one()
    return int(count or 0), _aware(last) if last is not None else None


def _last_success(session: Session, username: str, ip: str | None) -> datetime | None:
    last = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, _address_is(ip), LoginAttempt.success.is_(True)
        )
    )
    return _aware(last) if last is not None else None


def _wait(last: datetime | None, delay: timedelta, now: datetime) -> int:
    """Whole seconds still to wait after ``last`` for ``delay`` to pass (0: none)."""
    if last is None or not delay:
        return 0
    left = (last + delay - now).total_seconds()
    return math.ceil(left) if left > 0 else 0


def pair_failures(
    session: Session, username: str, ip: str | None, policy: LockoutPolicy, now: datetime
) -> int:
    """Failed attempts of ``username`` from ``ip`` within the window, since the pair's
    last success."""
    since = now - policy.window
    last_ok = _last_success(session, username, ip)
    if last_ok is not None and last_ok > since:
        since = last_ok
    count, _ = _failures(session, since, LoginAttempt.username == username, _address_is(ip))
    return count


def refusal(
    session: Session, username: str, ip: str | None, policy: LockoutPolicy, now: datetime
) -> LoginError | None:
    """Why this attempt is refused before any password is checked, or None. The
    answer depends on the attempts only, never on whether ``username`` exists."""
    minutes = max(1, int(policy.window.total_seconds() // 60))
    if pair_failures(session, username, ip, policy, now) >= policy.max_failures:
        return LoginError(
            "locked",
            f"too many failed sign-ins for this user from this address: locked for up to "
            f"{minutes} minutes, or until an administrator unlocks it",
        )
    since = now - policy.window
    count, last = _failures(session, since, _address_is(ip))
    wait = _wait(last, doubling_delay(count, policy.address_free, policy), now)
    if wait:
        return LoginError(
            "throttled",
            f"too many failed sign-ins from this address: try again in {wait} seconds",
            retry_after=wait,
        )
    count, last = _failures(session, since, LoginAttempt.username == username)
    wait = _wait(last, doubling_delay(count, policy.user_free, policy), now)
    if wait and not _familiar(session, username, ip, policy, now):
        return LoginError(
            "throttled",
            f"too many failed sign-ins for this user: try again in {wait} seconds",
            retry_after=wait,
        )
    return None


def _familiar(
    session: Session, username: str, ip: str | None, policy: LockoutPolicy, now: datetime
) -> bool:
    """Whether ``username`` signed in from ``ip`` within ``familiar_for``."""
    last_ok = _last_success(session, username, ip)
    return last_ok is not None and last_ok > now - policy.familiar_for


def hold_back(failures_before: int, policy: LockoutPolicy) -> float:
    """Seconds to hold back the answer to a pair's failure, given its failures before
    this one: 0 for the first ``pair_free``, then doubling."""
    return doubling_delay(failures_before, policy.pair_free, policy).total_seconds()


def unlock(session: Session, username: str, actor: str, ip: str | None = None) -> int:
    """Forget the failed sign-ins of ``username`` (from ``ip`` only, when given), which
    lifts its locks and delays; returns how many were forgotten. Audited; the failures
    themselves stay in the audit chain (``login.failed``)."""
    where = [LoginAttempt.username == username, LoginAttempt.success.is_(False)]
    if ip is not None:
        where.append(LoginAttempt.ip == ip)
    gone = session.execute(delete(LoginAttempt).where(*where)).rowcount or 0
    audit.append(session, actor, "login.unlock", "user", username, {"ip": ip, "failures": gone})
    return gone
