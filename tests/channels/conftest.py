"""Fixtures of the channel tests: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps
every message it receives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from channel_helpers import MailSink, free_port


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
