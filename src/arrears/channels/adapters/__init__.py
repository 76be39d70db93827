"""Channel adapters: how a message from the outbox reaches its channel. Each takes the
message's idempotency key to the channel, so that sending the same message again
(after a crash) is recognised there as the same message."""

from arrears.channels.adapters.base import (
    Adapter,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

__all__ = [
    "Adapter",
    "OutgoingMessage",
    "PermanentSendError",
    "SendResult",
    "TransientSendError",
]
