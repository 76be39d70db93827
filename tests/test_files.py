"""A file arrears writes is written whole or not at all: the old file stays as it was
when writing fails, and no partial file is left behind."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.files import PARTIAL, open_private, private_dir, replacing, write_atomically
from arrears.models.scoring import SCORE_SCHEMA, write_scores
from arrears.services.book_models import scores_path

runner = CliRunner()


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


# --- owner-only files: personal data is mode 0600 in folders of mode 0700 -----------


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most systems run with (0o022: new files world-readable)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_are_the_owners_only_whatever_the_umask(tmp_path: Path, loose_umask: None):
    path = write_atomically(tmp_path / "a" / "b" / "dialer.csv", "phone\n13800000001\n")
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    with replacing(tmp_path / "scores.parquet") as partial:
        assert _mode(partial) == 0o600  # private before its first byte
        partial.unlink()  # as a library writing by path may do: a new file, the umask's mode
        partial.write_bytes(b"PAR1")
    assert _mode(tmp_path / "scores.parquet") == 0o600


def test_a_world_readable_file_rewritten_becomes_the_owners_only(tmp_path: Path, loose_umask: None):
    path = tmp_path / "report.html"
    path.write_text("old")
    assert _mode(path) == 0o644
    write_atomically(path, "new")
    assert _mode(path) == 0o600
    appended = tmp_path / "list.csv"
    appended.write_text("a\n")
    with open_private(appended, "a") as handle:
        handle.write("b\n")
    assert _mode(appended) == 0o600 and appended.read_text() == "a\nb\n"


def test_private_dir_closes_what_it_makes_and_leaves_existing_folders(
    tmp_path: Path, loose_umask: None
):
    os.umask(0o177)  # even a umask that would take the owner's own search bit
    made = private_dir(tmp_path / "x" / "y")
    assert _mode(tmp_path / "x") == 0o700 and _mode(made) == 0o700
    before = _mode(tmp_path)  # pytest's folder, not ours: left as it is
    private_dir(tmp_path)
    assert _mode(tmp_path) == before


def test_a_workspace_and_everything_written_in_it_is_the_owners_only(
    tmp_path: Path, loose_umask: None
):
    """The demo (store, snapshots, spools of every channel, letters' print runs, dialer
    lists, the HTML report), reports as Excel and PDF, a dialer export, a model's score
    file, and an import's rejects file: each file 0600, each folder 0700."""
    root = tmp_path / "ws"
    run = [
        ["demo", "--loans", "200", "--days", "2", "--as-of", "2026-06-30", "-w", str(root)],
        ["report", "--format", "xlsx", "-w", str(root)],
        ["report", "--format", "pdf", "-w", str(root)],
        ["dialer", "export", "--date", "2026-07-01", "-w", str(root)],
    ]
    for args in run:
        result = runner.invoke(app, [*args, "--lang", "en"] if args[0] != "dialer" else args)
        assert result.exit_code == 0, (args, result.output)
    day = date(2026, 6, 30)
    scores = pa.table(
        {
            "loan_id": ["L1"],
            "customer_id": ["C1"],
            "model": ["m"],
            "version": ["v"],
            "score": pa.array([600], pa.int32()),
            "pd": [0.1],
        },
        schema=SCORE_SCHEMA,
    )
    write_scores(scores, scores_path(root, day))
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    bad = incoming / "customers.csv"
    bad.write_text("customer_id,name,mobile\nZZ1,张三,13800000001\nZZ2,,13800000002\n")
    result = runner.invoke(app, ["import", str(bad), "--quarantine", "-w", str(root)])
    assert result.exit_code in (0, 1), result.output
    assert _mode(incoming / "customers.rejects.csv") == 0o600

    kinds = {p.relative_to(root).parts[0] for p in root.rglob("*")}
    assert {"arrears.sqlite", "snapshots", "outbox", "reports", "scores"} <= kinds, kinds
    assert {p.suffix for p in (root / "reports").iterdir()} >= {".html", ".xlsx", ".pdf"}
    loose = [
        f"{p.relative_to(root)} {_mode(p):o}"
        for p in [root, *root.rglob("*")]
        if (p.is_dir() and _mode(p) != 0o700) or (p.is_file() and _mode(p) != 0o600)
    ]
    assert loose == []
