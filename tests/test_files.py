"""A file arrears writes is written whole or not at all: the old file stays as it was
when writing fails, and no partial file is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.files import PARTIAL, replacing, write_atomically


def test_the_new_file_replaces_the_old_and_nothing_else_is_left(tmp_path: Path):
    path = tmp_path / "deep" / "folder" / "list.csv"
    write_atomically(path, "a,b\n1,2\n")
    write_atomically(path, "a,b\n3,4\n")
    assert path.read_text(encoding="utf-8") == "a,b\n3,4\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["list.csv"]


def test_text_is_written_as_utf8(tmp_path: Path):
    path = write_atomically(tmp_path / "letter.txt", "尊敬的客户：应还 1,234.56 元")
    assert path.read_bytes() == "尊敬的客户：应还 1,234.56 元".encode()


def test_a_failure_halfway_leaves_the_old_file_and_no_partial(tmp_path: Path):
    path = tmp_path / "report.html"
    path.write_text("yesterday's report", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"), replacing(path) as partial:
        partial.write_text("<html>half of to", encoding="utf-8")
        raise RuntimeError("disk full")
    assert path.read_text(encoding="utf-8") == "yesterday's report"
    assert not (tmp_path / f"report.html{PARTIAL}").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_failure_before_any_byte_leaves_no_new_file(tmp_path: Path):
    path = tmp_path / "new.parquet"
    with pytest.raises(KeyboardInterrupt), replacing(path):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
