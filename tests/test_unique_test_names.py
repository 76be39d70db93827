"""Every test module has a name of its own: the test folders are not packages, so two
files of one basename in two folders make pytest refuse the second one ("import file
mismatch") and its tests silently never run in CI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def test_no_two_test_modules_share_a_basename() -> None:
    names = Counter(path.name for path in Path(__file__).parent.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
