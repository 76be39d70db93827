"""File adapters: a spool folder per channel for the demo and for print shops.

``FileSpoolAdapter`` writes each message as a file ``<root>/<channel>/<key>.<ext>``
(status ``sent``), so ``arrears demo`` shows what was sent without any server.
``LetterSpoolAdapter`` renders letter messages (their body is a ``Letter`` as JSON) to
PDF in a print shop's spool folder. Both name the file after the idempotency key and
write it atomically, so a resend after a crash rewrites the same file, never a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arrears.channels.adapters.base import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    key_digest,
)
from arrears.channels.letters import Letter, LetterError, write_letter_pdf

EXTENSIONS = {"email": "eml", "sms": "txt", "push": "txt", "call": "txt", "letter": "txt"}


def spool_name(idempotency_key: str) -> str:
    """The file stem of a message in a spool: readable and file-system safe."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in idempotency_key)
    return f"{safe[:80]}-{key_digest(idempotency_key, 10)}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


@dataclass
class FileSpoolAdapter:
    """Writes each message of any channel to ``<root>/<channel>/`` (see module doc)."""

    root: Path

    def path_for(self, message: OutgoingMessage) -> Path:
        """Where ``message`` is (or will be) written."""
        ext = EXTENSIONS.get(message.channel, "txt")
        return Path(self.root) / message.channel / f"{spool_name(message.idempotency_key)}.{ext}"

    def send(self, message: OutgoingMessage) -> SendResult:
        """Write the message file (headers, then the body); returns its path as id."""
        path = self.path_for(message)
        head = [
            f"To: {message.recipient}",
            f"Channel: {message.channel}",
            f"Language: {message.language}",
            f"Idempotency-Key: {message.idempotency_key}",
        ]
        if message.subject:
            head.append(f"Subject: {message.subject}")
        _write_atomically(path, ("\n".join(head) + "\n\n" + message.body + "\n").encode("utf-8"))
        return SendResult(provider_message_id=str(path))


@dataclass
class LetterSpoolAdapter:
    """Renders letter messages to PDF in a print shop's spool folder ``root``."""

    root: Path

    def send(self, message: OutgoingMessage) -> SendResult:
        """Render the letter in the message body to ``<root>/<key>.pdf``."""
        try:
            letter = Letter.from_json(message.body)
        except LetterError as exc:
            raise PermanentSendError(f"letter {message.idempotency_key}: {exc}") from exc
        path = Path(self.root) / f"{spool_name(message.idempotency_key)}.pdf"
        write_letter_pdf(letter, path)
        return SendResult(provider_message_id=str(path))
