"""SMTP with STARTTLS against a real aiosmtpd server that requires it (certificate
made by openssl for 127.0.0.1): with ``starttls`` the message goes through encrypted,
without it the server's refusal dead-letters the message."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from channel_helpers import MailSink, free_port

from arrears.channels.adapters.base import OutgoingMessage, PermanentSendError
from arrears.channels.adapters.smtp import SmtpAdapter


@pytest.fixture
def tls_server(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    sink, port = MailSink(), free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, server_hostname="mx.test",
        tls_context=server_context, require_starttls=True,
    )  # fmt: skip
    controller.start()
    try:
        yield sink, port, ssl.create_default_context(cafile=str(cert))
    finally:
        controller.stop()


MESSAGE = OutgoingMessage(1, "K-tls", "email", "zhang@example.com", "zh_CN", "提醒", "<p>您好</p>",
                          None, 1)  # fmt: skip


def test_starttls_sends_when_the_server_requires_it(tls_server) -> None:
    sink, port, client_context = tls_server
    adapter = SmtpAdapter("127.0.0.1", port, starttls=True, ssl_context=client_context)
    result = adapter.send(MESSAGE)
    adapter.close()
    assert sink.message_ids() == [result.provider_message_id]


def test_without_starttls_the_server_refuses(tls_server) -> None:
    sink, port, _ = tls_server
    with pytest.raises(PermanentSendError, match="530"):
        SmtpAdapter("127.0.0.1", port).send(MESSAGE)
    assert sink.raw == []
