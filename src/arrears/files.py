"""Writing a file whole or not at all.

Every file arrears hands to someone (a letter PDF, a dialer list, a report, a score
file, a saved model, a snapshot) is written beside its final name and renamed into
place, so a reader finds the old file or the new one, never half of one, and a failure
leaves the old file as it was and no partial file behind. Standard library only, so any
package may use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = ".partial"


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """The path to write the new ``path`` to (its folder made if needed). When the block
    ends, the file written there replaces ``path`` in one rename; if the block raises,
    it is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PARTIAL)
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` whole or not at all, text as UTF-8 with its line ends
    as given (the same bytes on every system). Returns ``path``."""
    with replacing(path) as partial:
        partial.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path
