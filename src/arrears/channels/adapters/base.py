"""What every channel adapter promises: ``send(message) -> SendResult``, raising
``TransientSendError`` (try again later) or ``PermanentSendError`` (never deliverable)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol


class TransientSendError(Exception):
    """The channel could not take the message now (connection, timeout, 4xx SMTP, 5xx
    HTTP): the dispatcher retries with backoff."""


class PermanentSendError(Exception):
    """The channel refused the message for good (bad address, rejected content): the
    dispatcher dead-letters it at once."""


@dataclass(frozen=True)
class OutgoingMessage:
    """An outbox row as an adapter sees it (a plain value, detached from the session)."""

    outbox_id: int
    idempotency_key: str
    channel: str
    recipient: str
    language: str
    subject: str | None
    body: str
    attachment: str | None
    attempt: int


@dataclass(frozen=True)
class SendResult:
    """The channel accepted the message; ``provider_message_id`` is how its receipts
    will name it. ``status`` is ``sent`` unless the channel confirms delivery at once."""

    provider_message_id: str
    status: str = "sent"
    detail: str = ""


class Adapter(Protocol):
    """A channel. ``send`` must pass ``message.idempotency_key`` to the channel."""

    def send(self, message: OutgoingMessage) -> SendResult: ...


def key_digest(idempotency_key: str, length: int = 32) -> str:
    """A short, file-name and header safe digest of an idempotency key."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:length]
