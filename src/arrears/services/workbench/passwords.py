"""The password policy of workbench users: at least ``MIN_LENGTH`` characters, not one
of the 10,000 most common passwords (``common_passwords.txt``, shipped with the
package), not such a password with digits or symbols stuck on (``iloveyou2024!``), not
one character or an ascending run repeated, and not containing the username.

``password_problem`` names what is wrong (or None); ``check_password`` raises
``Invalid`` with that reason. Applied wherever a password is set: user creation (CLI,
admin API, seeds) and password resets. Logins never check it: an old password still
works until it is reset."""

from __future__ import annotations

import functools
import secrets
from pathlib import Path

from arrears.services.workbench.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 256
COMMON_FILE = Path(__file__).resolve().parent / "common_passwords.txt"
# a core shorter than this (after stripping digits and symbols) is not a "word"
_MIN_CORE = 4
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercased."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("# "))


def _core(password: str) -> str:
    """``password`` without the digits and symbols at either end."""
    start, end = 0, len(password)
    while start < end and not password[start].isalpha():
        start += 1
    while end > start and not password[end - 1].isalpha():
        end -= 1
    return password[start:end]


def _is_run(text: str) -> bool:
    """A unit of up to four characters repeated (``abcabcabcabc``), or a stretch of an
    ascending or keyboard run (``1234567890123``)."""
    if any(text == (text[:k] * len(text))[: len(text)] for k in range(1, 5)):
        return True
    return any(text in run * (len(text) // len(run) + 2) for run in _RUNS)


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` may not be set for ``username``, or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return "must be text (it holds a lone UTF-16 surrogate)"
    lowered = password.lower()
    common = common_passwords()
    if lowered in common:
        return "is one of the most common passwords"
    core = _core(lowered)
    if len(core) >= _MIN_CORE and core in common:
        return f"is a common password ({core!r}) with digits or symbols added"
    if _is_run(lowered):
        return "is a few characters repeated or a run of the keyboard"
    name = username.strip().lower()
    if name and name in lowered:
        return "must not contain the username"
    return None


def check_password(password: str, username: str = "") -> None:
    """Raise ``Invalid`` naming the reason when ``password`` breaks the policy."""
    problem = password_problem(password, username)
    if problem is not None:
        raise Invalid(f"password: {problem}", "password_weak")


def new_password(username: str = "") -> str:
    """A random password that meets the policy, fit to print once (16 URL-safe
    characters)."""
    while True:
        password = secrets.token_urlsafe(12)
        if password_problem(password, username) is None:
            return password
