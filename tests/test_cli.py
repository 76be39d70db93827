"""The `arrears` command as a user runs it: demo, import, close, ageing, status."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()
AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("cli") / "demo"
    result = runner.invoke(
        app,
        [
            "demo",
            "--loans",
            "600",
            "--days",
            "3",
            "--as-of",
            AS_OF,
            "-w",
            str(root),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    return root, result.output


def test_demo_prints_the_ageing_table(demo: tuple[Path, str]):
    root, output = demo
    for text in ("Ageing of the book on 2026-06-30", "M0", "M7+", "Overdue rate (M1+)"):
        assert text in output
    assert "Five-tier classification" in output and "Substandard" in output
    snapshots = sorted(p.parent.name for p in (root / "snapshots").glob("*/part-0.parquet"))
    assert snapshots == ["as_of=2026-06-28", "as_of=2026-06-29", "as_of=2026-06-30"]


def test_ageing_table_adds_up_to_the_snapshot(demo: tuple[Path, str]):
    root, output = demo
    rows = pq.read_table(root / "snapshots" / f"as_of={AS_OF}" / "part-0.parquet").to_pylist()
    active = [r for r in rows if r["status"] == "active"]
    overdue = [r for r in active if r["dpd"] > 0]
    rate = len(overdue) / len(active) * 100
    assert f"{rate:.2f}% by count ({len(overdue):,} / {len(active):,})" in output


def test_ageing_in_chinese(demo: tuple[Path, str]):
    root, _ = demo
    result = runner.invoke(app, ["ageing", "-w", str(root), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    for text in ("账龄分布", "逾期率", "五级分类", "关注", "损失"):
        assert text in result.output


def test_closing_again_changes_nothing(demo: tuple[Path, str]):
    root, _ = demo
    result = runner.invoke(app, ["close", "--as-of", AS_OF, "-w", str(root), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Already closed through 2026-06-30" in result.output


def test_status_shows_the_book(demo: tuple[Path, str]):
    root, _ = demo
    result = runner.invoke(app, ["status", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert "600" in result.output and "2026-06-30" in result.output


def test_bad_import_names_row_and_field_and_writes_nothing(tmp_path: Path):
    bad = tmp_path / "customers.csv"
    bad.write_text("customer_id,name,language\nC1,Ann,en\nC2,,en\nC3,Bo,xx\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(bad), "-w", str(tmp_path / "ws"), "--lang", "en"])
    assert result.exit_code == 1
    assert "row 3" in result.output and "name" in result.output
    assert "row 4" in result.output and "language" in result.output
    status = runner.invoke(app, ["status", "-w", str(tmp_path / "ws")])
    assert "customers" in status.output and "│ 0" in status.output


def test_demo_refuses_to_overwrite_a_folder_it_did_not_make(tmp_path: Path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = runner.invoke(app, ["demo", "--loans", "10", "-w", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
