"""Personal links into the portal: signed, expiring, single-loan tokens that say nothing
by themselves.

A token carries the day it was issued and the loan it is for, encrypted and
authenticated with the workspace's portal key (a synthetic-IV construction on
HMAC-SHA256: the tag is ``HMAC(k_tag, payload)[:8]``, the payload is XORed with
``HMAC(k_enc, tag || counter)``), so the same loan and day give the same token (every
message of a day carries one link), a changed byte is refused (a forgery succeeds with
odds of 2^-64 per try, and tries are throttled), and the loan id cannot be read out of
it. Links live ``link_days`` (default 30) after the day they were issued. A link is
written as URL-safe base64 (``/portal/l/<token>``); a letter prints the same bytes as a
short code in base32 groups (``/portal/code`` takes it, with or without dashes) and as
a QR code of the link.

Keys: ``$ARREARS_PORTAL_KEY`` (hex, comma-separated: the first signs new links, the
others still open older ones: rotation), else the file ``portal-keys`` in the workspace
folder (mode 0600, one hex key per line, first signs; created with a new key the first
time a link is made). ``rotate_key`` puts a new key first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, lru_cache
from pathlib import Path

ENV_PORTAL_KEY = "ARREARS_PORTAL_KEY"
KEY_FILE = "portal-keys"
TAG_BYTES = 8
EPOCH = date(2000, 1, 1)
LINK_PATH = "/portal/l/"
_REFERENCE_DAY = re.compile(r"ARR-(\d{8})-")


class PortalKeyError(RuntimeError):
    """No usable portal key (malformed, or a key file others may read)."""


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says: the loan and the day it was issued."""

    loan_id: str
    issued_on: date


def _parse_keys(text: str, where: str) -> list[bytes]:
    keys = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        try:
            key = bytes.fromhex(part)
        except ValueError:
            raise PortalKeyError(f"{where}: a portal key must be hex") from None
        if len(key) < 16:
            raise PortalKeyError(f"{where}: a portal key needs at least 32 hex digits")
        keys.append(key)
    return keys


def load_keys(root: Path | None, create: bool = False) -> list[bytes]:
    """The portal keys, signing key first (see the module docstring); ``create`` makes
    the key file when there is neither it nor the variable."""
    env = os.environ.get(ENV_PORTAL_KEY)
    if env:
        return _parse_keys(env, f"${ENV_PORTAL_KEY}")
    if root is None:
        raise PortalKeyError(f"no portal key: set ${ENV_PORTAL_KEY} or use a workspace folder")
    path = Path(root) / KEY_FILE
    if not path.exists():
        if not create:
            raise PortalKeyError(f"no portal key in {path}: no link was made with this store")
        rotate_key(root)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PortalKeyError(f"{path}: others may read the portal keys (chmod 600)")
    return _parse_keys(path.read_text(encoding="ascii"), str(path))


def rotate_key(root: Path) -> Path:
    """Put a new signing key first in the workspace's key file (older keys still open
    the links they signed until those expire); creates the file (0600)."""
    path = Path(root) / KEY_FILE
    old = path.read_text(encoding="ascii") if path.exists() else ""
    fd = os.open(path.with_suffix(".new"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n" + old)
    os.replace(path.with_suffix(".new"), path)
    return path


@lru_cache(maxsize=16)
def _subkeys(key: bytes) -> tuple[bytes, bytes]:
    return (
        hmac.new(key, b"arrears portal tag", hashlib.sha256).digest(),
        hmac.new(key, b"arrears portal enc", hashlib.sha256).digest(),
    )


def _stream(k_enc: bytes, tag: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(k_enc, tag + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out[:length]


def seal(key: bytes, claim: LinkClaim) -> bytes:
    """The token bytes of ``claim`` under ``key``."""
    days = (claim.issued_on - EPOCH).days
    payload = days.to_bytes(2, "big") + claim.loan_id.encode()
    k_tag, k_enc = _subkeys(key)
    tag = hmac.new(k_tag, payload, hashlib.sha256).digest()[:TAG_BYTES]
    body = bytes(a ^ b for a, b in zip(payload, _stream(k_enc, tag, len(payload)), strict=True))
    return tag + body


def unseal(keys: list[bytes], raw: bytes) -> LinkClaim | None:
    """The claim of token bytes ``raw`` under one of ``keys``, or None (forged, cut or
    signed with a key no longer kept)."""
    if len(raw) < TAG_BYTES + 3 or len(raw) > 200:
        return None
    tag, body = raw[:TAG_BYTES], raw[TAG_BYTES:]
    for key in keys:
        k_tag, k_enc = _subkeys(key)
        payload = bytes(a ^ b for a, b in zip(body, _stream(k_enc, tag, len(body)), strict=True))
        expected = hmac.new(k_tag, payload, hashlib.sha256).digest()[:TAG_BYTES]
        if hmac.compare_digest(tag, expected):
            try:
                loan_id = payload[2:].decode()
            except UnicodeDecodeError:
                return None
            return LinkClaim(loan_id, EPOCH + timedelta(days=int.from_bytes(payload[:2], "big")))
    return None


def encode_link_token(raw: bytes) -> str:
    """Token bytes as they appear in a link (URL-safe base64, no padding)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_short_code(raw: bytes) -> str:
    """Token bytes as a letter prints them: base32 in groups of four."""
    text = base64.b32encode(raw).decode().rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def decode_link_token(text: str) -> bytes | None:
    """Token bytes from a link's token, or None when it is not one (never an
    exception: it is what a stranger sent)."""
    text = text.strip()
    if not text or len(text) > 300 or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_short_code(text: str) -> bytes | None:
    """Token bytes from a short code as typed (any case, spaces and dashes ignored),
    or None when it is not one."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if not compact or len(compact) > 300 or not re.fullmatch(r"[A-Z2-7]+", compact):
        return None
    try:
        return base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError):
        return None


def token_digest(raw: bytes) -> str:
    """What the store keeps of a token (never the token)."""
    return hashlib.sha256(raw).hexdigest()


def reference_day(reference: str) -> date | None:
    """The day in a message reference ``ARR-YYYYMMDD-…`` (None when it has none)."""
    found = _REFERENCE_DAY.match(reference)
    if found is None:
        return None
    try:
        return date(int(found[1][:4]), int(found[1][4:6]), int(found[1][6:]))
    except ValueError:
        return None


@dataclass(frozen=True)
class PortalLinks:
    """Makes the personal links of one workspace (``[portal]`` in arrears.toml)."""

    base_url: str
    root: Path | None
    link_days: int = 30

    @cached_property
    def signing_key(self) -> bytes:
        """The key new links are signed with (read once per settings load)."""
        return load_keys(self.root, create=True)[0]

    def raw_token(self, loan_id: str, issued_on: date) -> bytes:
        """The token bytes for ``loan_id`` issued on ``issued_on``."""
        return seal(self.signing_key, LinkClaim(loan_id, issued_on))

    def link(self, loan_id: str, issued_on: date) -> str:
        """The link a message about ``loan_id`` sent after ``issued_on`` carries."""
        token = encode_link_token(self.raw_token(loan_id, issued_on))
        return self.base_url.rstrip("/") + LINK_PATH + token

    def link_for(self, reference: str, loan_id: str) -> str:
        """``link`` for a message with ``reference`` (its day is the issue day; a
        reference without one is issued today)."""
        return self.link(loan_id, reference_day(reference) or date.today())

    def short_code(self, loan_id: str, issued_on: date) -> str:
        """The code a letter prints, typed at ``/portal/code``."""
        return encode_short_code(self.raw_token(loan_id, issued_on))


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of a QR code of ``text`` (dark = True), quiet zone excluded: what a
    letter draws (``segno``, pure Python)."""
    import segno

    code = segno.make(text, error="m", micro=False)
    return [[bool(cell) for cell in row] for row in code.matrix]


def letter_code(pay_link: str) -> tuple[str, str, list[list[bool]]] | None:
    """What a letter prints for a portal link: (the address to type the code at, the
    short code, the QR code's modules), or None when ``pay_link`` is not a portal link
    (a lender's own pay page)."""
    head, sep, token = pay_link.rpartition(LINK_PATH)
    raw = decode_link_token(token) if sep else None
    if raw is None:
        return None
    return head + "/portal", encode_short_code(raw), qr_matrix(pay_link)
