"""The transactional outbox: messages written in the caller's transaction, each status
change recorded as a delivery event, and delivery receipts from the channels.

A message's life (``delivery_events`` keeps each step, in order)::

    queued -> sending -> sent -> delivered | bounced
                 |  \\-> failed -> sending ...      (retry with backoff)
                 |   \\-> dead                       (after max attempts, or rejected)
                 \\-> blocked                        (compliance re-check at send time)

``sending`` is a claim with a lease: a dispatcher that dies leaves the row ``sending``
until the lease ends, and the next dispatcher sends it again with the same idempotency
key (see docs/channels.md for what that guarantees).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from arrears.store.contact_models import CHANNELS, DeliveryEvent, OutboxMessage

FINAL_STATUSES = frozenset({"delivered", "bounced", "dead", "blocked"})
# Receipts a channel may report for a message it accepted, and what they may follow.
RECEIPT_STATUSES = {
    "delivered": frozenset({"sent"}),
    "bounced": frozenset({"sent", "delivered"}),
    "failed": frozenset({"sent"}),
}


class OutboxError(ValueError):
    """A message or receipt the outbox refuses; the message says which and why."""


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive UTC values)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def record_event(
    session: Session, message: OutboxMessage, status: str, at: datetime, detail: str = ""
) -> None:
    """Set ``message`` to ``status`` and add the delivery event for it."""
    message.status = status
    message.updated_at = at
    session.add(DeliveryEvent(outbox_id=message.id, status=status, at=at, detail=detail))


class OutboxBatch:
    """Messages queued together in the caller's transaction (a day's treatments): each
    is checked as it is added; ``flush`` writes them all with one look-up of their
    idempotency keys and two bulk inserts (the messages, then their ``queued`` events),
    where queueing them one by one cost a look-up and two flushes each."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.messages: list[OutboxMessage] = []
        self._keys: set[str] = set()

    def add(
        self,
        *,
        contact_attempt_id: int,
        channel: str,
        recipient: str,
        language: str,
        subject: str | None,
        body: str,
        idempotency_key: str,
        attachment: str | None = None,
        at: datetime | None = None,
        not_before: datetime | None = None,
    ) -> OutboxMessage:
        """A queued message, written at ``flush`` (see ``enqueue``)."""
        if channel not in CHANNELS:
            raise OutboxError(
                f"outbox: channel must be one of {', '.join(CHANNELS)}, got {channel!r}"
            )
        if not recipient:
            raise OutboxError(f"outbox: message {idempotency_key!r} has no recipient")
        if not idempotency_key:
            raise OutboxError("outbox: idempotency_key is required")
        if idempotency_key in self._keys:
            raise OutboxError(f"outbox: idempotency key {idempotency_key!r} is already queued")
        self._keys.add(idempotency_key)
        now = as_utc(at or datetime.now(UTC))
        message = OutboxMessage(
            idempotency_key=idempotency_key,
            contact_attempt_id=contact_attempt_id,
            channel=channel,
            recipient=recipient,
            language=language,
            subject=subject,
            body=body,
            attachment=attachment,
            status="queued",
            attempts=0,
            next_attempt_at=as_utc(not_before) if not_before is not None else now,
            created_at=now,
            updated_at=now,
        )
        self.messages.append(message)
        return message

    def flush(self) -> list[OutboxMessage]:
        """Write the batch's messages and their ``queued`` events; an idempotency key
        already in the outbox is an ``OutboxError`` and nothing of the batch is added."""
        messages, self.messages = self.messages, []
        keys = [m.idempotency_key for m in messages]
        for start in range(0, len(keys), 500):
            taken = self.session.scalar(
                select(OutboxMessage.idempotency_key)
                .where(OutboxMessage.idempotency_key.in_(keys[start : start + 500]))
                .limit(1)
            )
            if taken is not None:
                raise OutboxError(f"outbox: idempotency key {taken!r} is already queued")
        self.session.add_all(messages)
        self.session.flush()
        self.session.add_all(
            [
                DeliveryEvent(outbox_id=m.id, status="queued", at=m.created_at, detail="")
                for m in messages
            ]
        )
        self._keys.clear()
        return messages


def enqueue(
    session: Session,
    *,
    contact_attempt_id: int,
    channel: str,
    recipient: str,
    language: str,
    subject: str | None,
    body: str,
    idempotency_key: str,
    attachment: str | None = None,
    at: datetime | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add a queued message (and its ``queued`` event) in the caller's transaction: it
    is committed together with the contact decision, or not at all. The idempotency key
    must be unique (re-enqueueing the same contact is an ``OutboxError``, not a second
    message). ``at`` is when it is queued (default now); the dispatcher sends it no
    earlier than ``not_before`` (default: at once). Many at once: ``OutboxBatch``."""
    batch = OutboxBatch(session)
    message = batch.add(
        contact_attempt_id=contact_attempt_id,
        channel=channel,
        recipient=recipient,
        language=language,
        subject=subject,
        body=body,
        idempotency_key=idempotency_key,
        attachment=attachment,
        at=at,
        not_before=not_before,
    )
    batch.flush()
    return message


def record_delivery(
    engine: Engine,
    reference: str,
    status: str,
    detail: str = "",
    *,
    at: datetime | None = None,
) -> OutboxMessage:
    """Apply a channel's delivery receipt for the message whose provider message id
    or idempotency key is ``reference``: ``delivered``, ``bounced`` or ``failed``
    (failed after acceptance is final: the channel gave up). A receipt repeated for
    the status the message already has is a no-op; one that does not fit the message's
    state (a receipt for a message never sent) is an ``OutboxError``. Returns the
    message as stored."""
    if status not in RECEIPT_STATUSES:
        raise OutboxError(
            f"receipt for {reference!r}: status must be one of "
            f"{', '.join(RECEIPT_STATUSES)}, got {status!r}"
        )
    now = as_utc(at or datetime.now(UTC))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        message = session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    OutboxMessage.provider_message_id == reference,
                    OutboxMessage.idempotency_key == reference,
                )
            )
            .with_for_update()
        ).first()
        if message is None:
            raise OutboxError(f"receipt for {reference!r}: no such outbox message")
        if message.status == status:
            return message
        if message.status not in RECEIPT_STATUSES[status]:
            raise OutboxError(f"receipt for {reference!r}: {status} cannot follow {message.status}")
        record_event(session, message, status, now, detail)
        if status != "delivered":
            message.last_error = detail or status
        return message


def events_of(session: Session, outbox_ids: Iterable[int]) -> dict[int, list[str]]:
    """The statuses each message went through, in order, by outbox id."""
    ids = list(outbox_ids)
    out: dict[int, list[str]] = {i: [] for i in ids}
    rows = session.execute(
        select(DeliveryEvent.outbox_id, DeliveryEvent.status)
        .where(DeliveryEvent.outbox_id.in_(ids))
        .order_by(DeliveryEvent.outbox_id, DeliveryEvent.id)
    )
    for outbox_id, status in rows:
        out[outbox_id].append(status)
    return out
