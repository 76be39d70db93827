"""Writing a file whole or not at all, readable by its owner only.

Every file arrears hands to someone (a letter PDF, a dialer list, a report, a score
file, a saved model, a snapshot) is written beside its final name and renamed into
place, so a reader finds the old file or the new one, never half of one, and a failure
leaves the old file as it was and no partial file behind.

Nearly all of them hold personal data (names, phones, amounts owed, loan ids), so every
file written here is mode 0600 and every folder made here 0700, whatever the process
umask: the partial file is created 0600 before its first byte (no moment when another
user could open it) and set 0600 again before the rename (a library that writes by path
may have replaced it). Folders that already exist are left as they are: ``--out`` may
name the user's own folder, which is not ours to close; the workspace closes its own
root (``Workspace.init``). Standard library only, so any package may use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PARTIAL = ".partial"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def partial_of(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    return path.with_name(path.name + PARTIAL)


def private_dir(path: Path) -> Path:
    """Make sure folder ``path`` exists; each folder made on the way (its missing
    parents included) is mode 0700. Folders already there keep their mode. Returns
    ``path``."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # made meanwhile by another writer: not ours to change
        # mkdir's mode passes through the umask, which could take the owner's bits too
        os.chmod(folder, PRIVATE_DIR)
    return path


def open_private(
    path: Path, mode: str = "w", *, encoding: str | None = None, newline: str | None = None
) -> IO[Any]:
    """``open(path, mode)`` for writing ("w", "a", "wb", "ab"), the file mode 0600 and
    its folder made by ``private_dir``. A file already there is set to 0600 too (it
    gets our bytes, so it gets our protection)."""
    if mode not in ("w", "a", "wb", "ab"):
        raise ValueError(f"open_private writes or appends; got mode {mode!r}")
    path = Path(path)
    private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    descriptor = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    try:
        if hasattr(os, "fchmod"):  # POSIX: a file already there keeps its mode on open
            os.fchmod(descriptor, PRIVATE_FILE)
        return os.fdopen(descriptor, mode, encoding=encoding, newline=newline)
    except BaseException:
        os.close(descriptor)
        raise


def make_private(path: Path) -> Path:
    """Set the existing file ``path`` to mode 0600 (for a file a library or a database
    engine created itself). Returns ``path``."""
    os.chmod(path, PRIVATE_FILE)
    return path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """The path to write the new ``path`` to (its folder made by ``private_dir``),
    already created empty with mode 0600. When the block ends, the file written
    there is set to 0600 and replaces ``path`` in one rename; if the block raises, it
    is removed and ``path`` is untouched."""
    private_dir(path.parent)
    partial = partial_of(path)
    try:
        open_private(partial, "wb").close()
        yield partial
        make_private(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` whole or not at all, mode 0600, text as UTF-8 with
    its line ends as given (the same bytes on every system). Returns ``path``.

    ``replacing`` for bytes in hand: the partial file is opened once, 0600 from its
    creation, and written by us alone, so it needs no second chmod (a sent message is a
    file of the spool: this is once per message)."""
    path = Path(path)
    partial = partial_of(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open_private(partial, "wb") as handle:
            handle.write(payload)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path
