"""The tamper-evident audit chain: every change and contact is one entry.

Each entry's ``hash`` is ``HMAC-SHA256(key, prev_hash + canonical(row))`` where the
canonical row is the sorted-key JSON of seq, at (UTC, microseconds), actor, action,
entity, entity_id and the payload, and the key lives outside the database
(``arrears.services.audit_keys``); the entry stores the key's id. Someone who can write
to the store but has no key cannot recompute the chain after an edit. Entries from
before keys (key id ``legacy``) carry ``sha256(prev_hash + canonical(row))``.

``append`` is called inside the transaction of the change it records and stages the
entry on the session; the entries are chained when that transaction commits: lock the
single ``audit_head`` row, insert the entries, move the head. Concurrent writers queue
on that row and never fork the chain. On PostgreSQL the database does the chaining
during COMMIT (a deferred trigger on ``audit_pending``, migrations 0006 and 0009, which
gets the key for that transaction only), so the row is locked only for the server's
commit work; on SQLite (one writer at a time) it is done here, just before COMMIT.
Either way a writer never holds the head while its request does other work. Seq is
commit order; ``at`` is when the change was made. ``verify`` walks the chain in seq
order and names the first entry that was edited, deleted or moved; with an ``Anchor``
(the head written down elsewhere by ``take_anchor``) it also catches a chain cut short
with its head moved back.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, bindparam, event, func, insert, select, true, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, SessionTransaction

from arrears.services.audit_keys import LEGACY, AuditKey, Keyring, keyring_for, signing_key
from arrears.store.unit_of_work import ReadOnlyError, ReadOnlySession
from arrears.store.workbench_models import AuditEvent, AuditHead, AuditPending

GENESIS = "0" * 64
HEAD_ID = 1
_PENDING = "arrears.audit.pending"  # key in Session.info: entries staged, not yet chained


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"audit payload cannot hold {type(value).__name__} {value!r}")


def canonical(value: object) -> str:
    """``value`` as canonical JSON: sorted keys, no spaces, UTF-8 kept, Decimal and
    dates as strings. Equal values always give equal text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def utc_text(moment: datetime) -> str:
    """``moment`` in UTC as ISO text with microseconds; a naive value is taken as UTC
    (SQLite hands timestamps back without their zone)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: str,
    key: AuditKey | None = None,
) -> str:
    """The hash an entry with these fields must carry: the HMAC-SHA256 under ``key``,
    or for a legacy entry (``key`` None) the plain sha256."""
    row = row_head(at, actor, action, entity, entity_id, payload) + f"{seq}}}"
    message = (prev_hash + row).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def _pads(key: AuditKey) -> str:
    """``key`` as the chain trigger of migration 0009 takes it: ``id:inner:outer``, the
    HMAC's inner and outer padded keys in hex (RFC 2104), so the database needs only
    sha256 to compute the same HMAC."""
    block = key.secret if len(key.secret) <= 64 else hashlib.sha256(key.secret).digest()
    block = block.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block)
    outer = bytes(b ^ 0x5C for b in block)
    return f"{key.key_id}:{inner.hex()}:{outer.hex()}"


def row_head(
    at: datetime, actor: str, action: str, entity: str, entity_id: str, payload: str
) -> str:
    """An entry's canonical row up to its seq: seq sorts last, so the whole row is
    ``row_head(...) + str(seq) + "}"`` (what the PostgreSQL chain trigger completes)."""
    row = canonical(
        {
            "at": utc_text(at),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
        }
    )
    return row[:-1] + ',"seq":'


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain's head row and read it in one statement: (seq, hash). SQLite
    only: on PostgreSQL the chain trigger of migration 0006 does the same in SQL."""
    # the UPDATE takes the lock before the read, so the seq/hash read stay ours
    head = AuditHead.__table__
    lock = (
        update(head)
        .where(head.c.id == HEAD_ID)
        .values(seq=head.c.seq)
        .returning(head.c.seq, head.c.hash)
    )
    row = session.execute(lock).first()
    if row is None:
        # first entry ever: two writers may both get here, so the insert tolerates the
        # other's row, and the UPDATE then queues behind whoever inserted
        session.execute(
            sqlite.insert(head)
            .values(id=HEAD_ID, seq=0, hash=GENESIS)
            .on_conflict_do_nothing(index_elements=[head.c.id])
        )
        row = session.execute(lock).one()
    return int(row.seq), str(row.hash)


def begin_write(session: Session) -> None:
    """Call first in a transaction that will change the store. On SQLite it takes the
    write lock now (waiting for other writers), so the transaction never reads a
    snapshot that a concurrent writer then invalidates; on PostgreSQL it does nothing
    (row locks are taken where needed, and the audit head is locked during COMMIT)."""
    if session.get_bind().dialect.name == "sqlite":
        _lock_head(session)


def append(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    payload: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Stage one entry in ``session``'s transaction; it is chained and written when the
    transaction commits (the entry lands exactly when the change it records does, and
    is dropped with it on rollback)."""
    if isinstance(session, ReadOnlySession):
        raise ReadOnlyError(f"a read-only unit of work may not record {action}")
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    # stored as it will be read back (microseconds, UTC), so the hash is reproducible
    staged = {
        "at": moment,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "payload": canonical(dict(payload or {})),
    }
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still drops the entry
    session.info.setdefault(_PENDING, []).append(staged)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Write the staged entries inside the committing transaction. On PostgreSQL they
    go to ``audit_pending`` and the database chains them during COMMIT (migration
    0006), so the head row is never locked across a round trip to this process; on
    SQLite, which has one writer at a time, they are chained here."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    bind = session.get_bind()
    key = signing_key(bind)
    if bind.dialect.name == "postgresql":
        # the key is set transaction-local by the INSERT itself (one round trip, not a
        # SELECT set_config and then the INSERT): it is gone when this transaction ends,
        # and is never written to a table (the trigger reads it during COMMIT)
        signing = _pads(key)
        staged = [
            {**entry, "canonical_head": row_head(**entry), "signing": signing} for entry in pending
        ]
        session.execute(_staging_insert(), staged)
        return
    session.flush()
    seq, digest = _lock_head(session)
    rows = []
    for entry in pending:
        prev, seq = digest, seq + 1
        digest = entry_hash(prev, seq, **entry, key=key)
        rows.append({**entry, "seq": seq, "prev_hash": prev, "hash": digest, "key_id": key.key_id})
    session.execute(insert(AuditEvent.__table__), rows)
    head = AuditHead.__table__
    session.execute(update(head).where(head.c.id == HEAD_ID).values(seq=seq, hash=digest))


@functools.cache
def _staging_insert() -> Any:
    """INSERT INTO audit_pending of one staged entry (its fields as parameters) that
    also sets the transaction-local ``arrears.audit_key`` to ``:signing``: the row is
    selected from the one-row CTE that calls ``set_config``, so the key is set before
    the row exists."""
    table = AuditPending.__table__
    names = ("canonical_head", "at", "actor", "action", "entity", "entity_id", "payload")
    keyed = select(
        func.set_config("arrears.audit_key", bindparam("signing", type_=Text()), true()).label(
            "set"
        )
    ).cte("audit_key")
    values = select(*(bindparam(n, type_=table.c[n].type) for n in names)).select_from(keyed)
    return insert(table).from_select(names, values)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back transaction takes its staged entries with it."""
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: ``ok``, how many entries it checked, and for a broken
    chain the seq of the first bad entry and why."""

    ok: bool
    checked: int
    first_bad: int | None = None
    reason: str = ""


class AnchorError(ValueError):
    """An anchor file that cannot be read as an anchor, naming the field and reason."""


@dataclass(frozen=True)
class Anchor:
    """The chain's head written down outside the database: the last entry's seq, its
    hash and key id, and when the anchor was taken. The chain may only grow past it."""

    seq: int
    hash: str
    key_id: str
    taken_at: str

    def to_json(self) -> str:
        """The anchor as JSON text, as ``from_json`` reads it back."""
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "key_id": self.key_id, "at": self.taken_at},
            indent=2,
        )

    @classmethod
    def from_json(cls, text_: str) -> Anchor:
        """The anchor in ``text_`` (see ``to_json``); an ``AnchorError`` names what is wrong."""
        try:
            data = json.loads(text_)
        except ValueError as exc:
            raise AnchorError(f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise AnchorError("not a JSON object")
        seq, digest = data.get("seq"), data.get("hash")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise AnchorError(f"seq must be a whole number >= 0, not {seq!r}")
        if not isinstance(digest, str) or len(digest) != 64:
            raise AnchorError(f"hash must be 64 hex digits, not {digest!r}")
        return cls(seq, digest, str(data.get("key_id", "")), str(data.get("at", "")))


def take_anchor(session: Session) -> Anchor:
    """The chain's head now, to be stored where the database's writers cannot reach."""
    head = session.get(AuditHead, HEAD_ID)
    seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS)
    key_id = ""
    if seq:
        key_id = session.scalar(select(AuditEvent.key_id).where(AuditEvent.seq == seq)) or ""
    return Anchor(seq, digest, key_id, datetime.now(UTC).isoformat(timespec="seconds"))


def _check_entry(
    row: AuditEvent, prev: str, expected: int, keyring: Keyring, keyed_since: int | None
) -> str | None:
    """Why ``row`` does not hold as entry ``expected`` after hash ``prev``, or None."""
    if row.seq != expected:
        return f"entry {expected} is missing (deleted)"  # ``expected`` is the bad seq
    if row.prev_hash != prev:
        return (
            f"entry {row.seq} does not follow entry {row.seq - 1} "
            "(reordered, or its predecessor was replaced)"
        )
    key: AuditKey | None = None
    if row.key_id == LEGACY:
        if keyed_since is not None:
            return (
                f"entry {row.seq} has no key (legacy) but entry {keyed_since} before it is "
                "keyed: entries were rewritten without the key"
            )
    else:
        key = keyring.get(row.key_id)
        if key is None:
            known = ", ".join(keyring.ids) or "none"
            return (
                f"entry {row.seq} is signed with key {row.key_id}, which is not in the "
                f"keyring (keys known: {known}); restore that key from its backup, or the "
                "entry was forged"
            )
    fields = (row.at, row.actor, row.action, row.entity, row.entity_id, row.payload)
    if entry_hash(row.prev_hash, row.seq, *fields, key=key) != row.hash:
        return f"entry {row.seq} was edited"
    return None


def verify(
    session: Session,
    batch: int = 5000,
    *,
    keyring: Keyring | None = None,
    anchor: Anchor | None = None,
) -> Verdict:
    """Walk the whole chain and report the first entry that does not hold: a changed
    field (its HMAC no longer matches), a gap in seq (deleted), a prev_hash that is not
    its predecessor's hash (moved or deleted), a key id the keyring does not hold, a
    legacy (unkeyed) entry after a keyed one, or a head that says more entries exist
    than are left (deleted from the end). With ``anchor``: a chain shorter than the
    anchor (cut short, head moved back) or whose entry at the anchor's seq no longer
    has the anchored hash (rewritten). ``keyring`` defaults to the store's keys."""
    if keyring is None:
        keyring = keyring_for(session.get_bind())
    prev, expected, checked, after = GENESIS, 1, 0, 0
    keyed_since: int | None = None
    if anchor is not None and anchor.seq == 0 and anchor.hash != GENESIS:
        return Verdict(False, 0, 0, "the anchor names entry 0 with a hash other than genesis")
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
        ).scalars()
        rows = list(rows)
        if not rows:
            break
        for row in rows:
            reason = _check_entry(row, prev, expected, keyring, keyed_since)
            if reason is not None:
                return Verdict(False, checked, min(expected, row.seq), reason)
            if anchor is not None and row.seq == anchor.seq and row.hash != anchor.hash:
                return Verdict(
                    False,
                    checked,
                    row.seq,
                    f"entry {row.seq} no longer has the hash anchored at {anchor.taken_at} "
                    "(the chain up to it was rewritten)",
                )
            if keyed_since is None and row.key_id != LEGACY:
                keyed_since = row.seq
            prev, expected, checked = row.hash, expected + 1, checked + 1
        after = rows[-1].seq
        session.expunge_all()
    head = session.get(AuditHead, HEAD_ID)
    if head is not None and (head.seq != checked or head.hash != prev):
        return Verdict(
            False,
            checked,
            checked + 1,
            f"the chain ends at entry {checked} but its head records entry {head.seq} "
            "(entries deleted from the end)",
        )
    if anchor is not None and anchor.seq > checked:
        return Verdict(
            False,
            checked,
            checked + 1,
            f"the chain ends at entry {checked} but the anchor taken at {anchor.taken_at} "
            f"records entry {anchor.seq} (entries deleted from the end, head moved back)",
        )
    return Verdict(True, checked)
