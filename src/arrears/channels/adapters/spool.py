"""File adapters: a spool folder per channel for the demo and for print shops.

``FileSpoolAdapter`` writes each message as a file ``<root>/<channel>/<key>.<ext>``
(status ``sent``), so ``arrears demo`` shows what was sent without any server.
``LetterSpoolAdapter`` hands letter messages (their body is a ``Letter`` as JSON) to a
print shop's spool folder, one file per letter under the letter's date;
``render_print_runs`` then sets each date's letters as one PDF print run (the CJK font
is embedded once per run: a run of a hundred letters costs about what four single
letters do). Both adapters name the file after the idempotency key and write it
atomically, so a resend after a crash rewrites the same file, never a second.
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
from arrears.channels.letters import Letter, LetterError, render_print_run
from arrears.files import write_atomically

EXTENSIONS = {"email": "eml", "sms": "txt", "push": "txt", "call": "txt", "letter": "txt"}


def spool_name(idempotency_key: str) -> str:
    """The file stem of a message in a spool: readable and file-system safe."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in idempotency_key)
    return f"{safe[:80]}-{key_digest(idempotency_key, 10)}"


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
        write_atomically(path, "\n".join(head) + "\n\n" + message.body + "\n")
        return SendResult(provider_message_id=str(path))


@dataclass
class LetterSpoolAdapter:
    """Hands letter messages to a print shop's spool folder ``root``."""

    root: Path

    def send(self, message: OutgoingMessage) -> SendResult:
        """Write the letter to ``<root>/<letter date>/<key>.json``; ``render_print_runs``
        sets it in type. A body that is not a letter is refused for good."""
        try:
            letter = Letter.from_json(message.body)
        except LetterError as exc:
            raise PermanentSendError(f"letter {message.idempotency_key}: {exc}") from exc
        folder = Path(self.root) / letter.letter_date.isoformat()
        path = folder / f"{spool_name(message.idempotency_key)}.json"
        write_atomically(path, message.body)
        return SendResult(provider_message_id=str(path))


PRINT_RUN = "print-run.pdf"


def render_print_runs(root: Path) -> list[Path]:
    """For each date folder of the letter spool ``root`` whose letters changed since
    its print run was set, set them again as ``<date>/print-run.pdf`` (letters in file
    name order, so the same spool gives the same run). Returns the runs written."""
    written = []
    for folder in sorted(p for p in Path(root).glob("*") if p.is_dir()):
        files = sorted(folder.glob("*.json"))
        run = folder / PRINT_RUN
        if not files or (
            run.exists() and run.stat().st_mtime >= max(f.stat().st_mtime for f in files)
        ):
            continue
        letters = [Letter.from_json(f.read_text(encoding="utf-8")) for f in files]
        write_atomically(run, render_print_run(letters))
        written.append(run)
    return written
