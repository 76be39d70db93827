"""The keys of the audit chain: they live outside the database, so someone who can write
to the store cannot recompute the chain after changing it.

Where the keys come from, for a store:

* ``$ARREARS_AUDIT_KEY``: one or more keys as hex (at least 32 hex digits each, 64 is
  what ``arrears audit rotate-key`` makes), comma-separated. The first signs new
  entries; the others only verify older ones. Use it where the workspace folder is not
  the place for secrets (a container's secret store, a PostgreSQL deployment).
* otherwise the keyring file ``audit-keys.json`` in the store's workspace folder (mode
  0600, created with a new key the first time an entry is written and no key exists).
  ``rotate_key`` adds a key and makes it the signing one; old keys stay in the file, so
  entries signed with them still verify. When ``$ARREARS_AUDIT_KEY`` is set, the file's
  keys still verify older entries, but the variable's first key signs.

A key is known by its id, the first 8 hex digits of the SHA-256 of the key; each audit
entry stores the id of the key that signed it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from arrears.store.db import workspace_of

ENV_AUDIT_KEY = "ARREARS_AUDIT_KEY"
KEYRING_FILE = "audit-keys.json"
LEGACY = "legacy"  # the key id of entries chained before keys (plain SHA-256)
KEY_BYTES = 32
MIN_KEY_BYTES = 16


class AuditKeyError(RuntimeError):
    """No usable audit key: missing, malformed, or a keyring file others may read."""


@dataclass(frozen=True)
class AuditKey:
    """One key of the chain: its id (first 8 hex of its SHA-256), the secret, and when
    it was made (None for a key given in the environment)."""

    key_id: str
    secret: bytes
    created: str | None = None


@dataclass(frozen=True)
class Keyring:
    """The keys that verify the chain; ``signing`` (None when there is none) signs new
    entries."""

    keys: tuple[AuditKey, ...]
    signing: AuditKey | None

    def get(self, key_id: str) -> AuditKey | None:
        """The key with id ``key_id``, or None when the keyring does not hold it."""
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None

    @property
    def ids(self) -> list[str]:
        return [key.key_id for key in self.keys]


def key_id_of(secret: bytes) -> str:
    """The id of a key: the first 8 hex digits of its SHA-256 (names it, reveals nothing
    usable about it)."""
    return hashlib.sha256(secret).hexdigest()[:8]


def make_key() -> AuditKey:
    """A new random 256-bit key."""
    secret = secrets.token_bytes(KEY_BYTES)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return AuditKey(key_id_of(secret), secret, created)


def _parse_secret(text: str, where: str) -> bytes:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise AuditKeyError(f"{where}: a key must be hex digits") from None
    if len(secret) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"{where}: a key must have at least {2 * MIN_KEY_BYTES} hex digits "
            f"({len(secret) * 2} given)"
        )
    return secret


def keys_from_environment() -> list[AuditKey]:
    """The keys of ``$ARREARS_AUDIT_KEY``, signing key first; none when it is unset."""
    value = os.environ.get(ENV_AUDIT_KEY, "").strip()
    if not value:
        return []
    keys = []
    for n, part in enumerate(value.split(","), start=1):
        secret = _parse_secret(part, f"${ENV_AUDIT_KEY} (key {n})")
        keys.append(AuditKey(key_id_of(secret), secret))
    return keys


def keyring_path(folder: Path) -> Path:
    """Where the workspace at ``folder`` keeps its keyring file."""
    return Path(folder) / KEYRING_FILE


# keyring files already read, by path: (inode, size, mtime) and what they held; every
# commit asks for the signing key, and a rotation by another process changes the mtime
_READ: dict[Path, tuple[tuple[int, int, int], list[AuditKey], str]] = {}


def read_keyring_file(path: Path) -> tuple[list[AuditKey], str | None]:
    """The keys in the keyring file at ``path`` and the id of its signing key; an empty
    list when there is no file. A file that others may read is refused."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return [], None
    if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"audit keyring {path} may be read by others "
            f"(mode {stat.S_IMODE(status.st_mode):04o}); run: chmod 600 {path}"
        )
    signature = (status.st_ino, status.st_size, status.st_mtime_ns)
    cached = _READ.get(path)
    if cached is not None and cached[0] == signature:
        return list(cached[1]), cached[2]
    keys, current = _parse_keyring(path)
    _READ[path] = (signature, keys, current)
    return list(keys), current


def _parse_keyring(path: Path) -> tuple[list[AuditKey], str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = []
        for entry in data["keys"]:
            secret = _parse_secret(entry["secret"], f"audit keyring {path}")
            if key_id_of(secret) != entry["id"]:
                raise AuditKeyError(f"audit keyring {path}: key {entry['id']} has another id")
            keys.append(AuditKey(entry["id"], secret, entry.get("created")))
        current = data["current"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditKeyError(f"audit keyring {path} is not a keyring ({exc})") from None
    if current not in {key.key_id for key in keys}:
        raise AuditKeyError(f"audit keyring {path}: its current key {current} is not in it")
    return keys, current


def _keyring_text(keys: list[AuditKey], current: str) -> str:
    return json.dumps(
        {
            "about": (
                "arrears audit chain keys: secret, keep mode 0600, back up with the store; "
                "never delete an old key while entries signed with it exist"
            ),
            "current": current,
            "keys": [
                {"id": key.key_id, "secret": key.secret.hex(), "created": key.created}
                for key in keys
            ],
        },
        indent=2,
    )


def _write_private(path: Path, text: str) -> Path:
    """Write ``text`` to a new file beside ``path`` with mode 0600 and return its path."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(handle, text.encode("utf-8"))
        os.fsync(handle)
    finally:
        os.close(handle)
    return temporary


def ensure_keyring_file(folder: Path) -> Path:
    """The workspace's keyring file, created with one new key (mode 0600) when it does
    not exist. Two processes creating it at once agree on one file."""
    path = keyring_path(folder)
    if path.exists():
        return path
    key = make_key()
    temporary = _write_private(path, _keyring_text([key], key.key_id))
    try:
        os.link(temporary, path)  # atomic, and fails if another process got there first
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path


def rotate_key(folder: Path) -> AuditKey:
    """Add a new key to the workspace's keyring file and make it the signing key; the
    old keys stay, so entries they signed still verify. Returns the new key."""
    path = keyring_path(folder)
    keys, _current = read_keyring_file(path)
    key = make_key()
    temporary = _write_private(path, _keyring_text([*keys, key], key.key_id))
    os.replace(temporary, path)
    return key


def workspace_folder(bind: Engine | Connection) -> Path | None:
    """The workspace folder of the store ``bind`` talks to: the one its engine was made
    for, else a SQLite file's folder (the workspace keeps its store there by default),
    else ``$ARREARS_WORKSPACE``; None when none is known."""
    engine = bind.engine
    folder = workspace_of(engine)
    if folder is not None:
        return folder
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(str(engine.url.database)).resolve().parent
    named = os.environ.get("ARREARS_WORKSPACE")
    return Path(named).expanduser().resolve() if named else None


def keyring_for(bind: Engine | Connection, *, create: bool = False) -> Keyring:
    """The keys of the store ``bind`` talks to (see the module docstring). With
    ``create``, a workspace without keys gets its keyring file first; when no key can
    be found or made, the keyring has no signing key."""
    from_env = keys_from_environment()
    folder = workspace_folder(bind)
    from_file: list[AuditKey] = []
    current: str | None = None
    if folder is not None:
        if create and not from_env:
            ensure_keyring_file(folder)
        from_file, current = read_keyring_file(keyring_path(folder))
    in_env = {key.key_id for key in from_env}
    keys = [*from_env, *(key for key in from_file if key.key_id not in in_env)]
    if from_env:
        signing: AuditKey | None = from_env[0]
    else:
        signing = next((key for key in from_file if key.key_id == current), None)
    return Keyring(tuple(keys), signing)


def signing_key(bind: Engine | Connection) -> AuditKey:
    """The key that signs new entries on the store ``bind`` talks to, creating the
    workspace's keyring file when there is none; refuses when no key can be had."""
    keyring = keyring_for(bind, create=True)
    if keyring.signing is None:
        raise AuditKeyError(
            "no audit key: set $ARREARS_AUDIT_KEY (hex) or open the store through its "
            "workspace (-w FOLDER), where the keyring file is kept"
        )
    return keyring.signing
