"""Fixtures of the channel tests: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps
every message it receives."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser

import pytest
from aiosmtpd.controller import Controller
from channel_helpers import free_port

_HEADERS = BytesHeaderParser()


@dataclass
class MailSink:
    """What the SMTP server received: every DATA in order (``received``) and the
    mailbox a Message-ID-deduplicating recipient would show (``mailbox``)."""

    delay: float = 0.0
    fail_next: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            # Kept raw: parsing here would hold up the reply (and the sender) each time.
            self.raw.append(envelope.content)  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    @property
    def received(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [message_from_bytes(data, policy=policy.default) for data in raw]  # type: ignore[misc]

    def message_ids(self) -> list[str]:
        with self.lock:
            raw = list(self.raw)
        return [_HEADERS.parsebytes(data)["Message-ID"] for data in raw]

    @property
    def mailbox(self) -> dict[str, EmailMessage]:
        return {m["Message-ID"]: m for m in self.received}


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """A real aiosmtpd server on 127.0.0.1 and the sink that records its mail."""
    sink = MailSink()
    port = free_port()
    # server_hostname given: aiosmtpd would otherwise resolve its FQDN per connection.
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
