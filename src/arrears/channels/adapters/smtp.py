"""Email over SMTP (smtplib). The Message-ID is derived from the idempotency key, so a
message sent again after a crash carries the same Message-ID (receiving systems and
our tests dedupe on it), and the raw key travels in ``X-Arrears-Idempotency-Key``."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from arrears.channels.adapters.base import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    key_digest,
)
from arrears.channels.templates import html_to_text


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The Message-ID of the email for ``idempotency_key``: the same key, the same id."""
    return f"<{key_digest(idempotency_key)}.arrears@{domain}>"


@dataclass
class SmtpAdapter:
    """Sends email bodies (HTML, with a plain-text alternative) through an SMTP server.
    ``starttls`` upgrades the connection before login; 5xx replies are permanent
    failures, connection errors and 4xx replies transient."""

    host: str
    port: int = 25
    sender: str = "collections@example.com"
    domain: str = "arrears.local"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The email for ``message`` (headers, text and HTML parts, any PDF attachment)."""
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Message-ID"] = message_id_for(message.idempotency_key, self.domain)
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["X-Arrears-Idempotency-Key"] = message.idempotency_key
        email.set_content(html_to_text(message.body))
        email.add_alternative(message.body, subtype="html")
        if message.attachment:
            path = Path(message.attachment)
            email.add_attachment(
                path.read_bytes(), maintype="application", subtype="pdf", filename=path.name
            )
        return email

    def _connection(self) -> smtplib.SMTP:
        # One session is reused across messages (a NOOP proves it is still open first),
        # so a batch does not pay a TCP and EHLO round trip per email.
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (OSError, smtplib.SMTPException):
                pass
            self.close()
        # local_hostname given: smtplib would otherwise resolve our FQDN on every connect.
        smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.domain, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=self.ssl_context or ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        """End the SMTP session, if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send ``message`` (reusing the open session); see the class doc for failures.
        After any failure the session is closed, so the next send starts clean."""
        email = self.build(message)
        try:
            try:
                refused = self._connection().send_message(email)
            except BaseException:
                self.close()
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentSendError(f"recipient refused: {exc.recipients}") from exc
            raise TransientSendError(f"recipient deferred: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if exc.smtp_code >= 500:
                raise PermanentSendError(text) from exc
            raise TransientSendError(text) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientSendError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise PermanentSendError(f"recipient refused: {refused}")
        return SendResult(provider_message_id=email["Message-ID"])
