"""Fixtures of the channel tests: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps
every message it receives."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class MailSink:
    """What the SMTP server received: every DATA in order (``received``) and the
    mailbox a Message-ID-deduplicating recipient would show (``mailbox``)."""

    delay: float = 0.0
    fail_next: list[str] = field(default_factory=list)
    received: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.received]

    @property
    def mailbox(self) -> dict[str, EmailMessage]:
        with self.lock:
            return {m["Message-ID"]: m for m in self.received}


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """A real aiosmtpd server on 127.0.0.1 and the sink that records its mail."""
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
