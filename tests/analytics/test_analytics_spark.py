"""The analytics expressions are engine-neutral: on Spark (local[2]) they give the
figures DuckDB gives on the same hand-built snapshots. Slow: starts a JVM."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest
from analytics_support import loan_facts, snapshot_days
from test_analytics_metrics import FEB, JAN, ROLL_DAYS, ROLL_FACTS

from arrears.analytics.portfolio import OverdueDefinition, bucket_distribution, overdue_series
from arrears.analytics.rolls import transitions
from arrears.analytics.vintage import first_payment_default_rates, vintage_curves

pytestmark = pytest.mark.slow


def figures(con) -> tuple:
    snap = con.create_table("snap", ibis.memtable(snapshot_days(ROLL_DAYS)), overwrite=True)
    facts = con.create_table("facts", ibis.memtable(loan_facts(ROLL_FACTS)), overwrite=True)
    return (
        overdue_series(snap, OverdueDefinition(1)),
        bucket_distribution(snap),
        transitions(snap, facts, [(JAN, FEB)]),
        vintage_curves(snap, facts, [JAN, FEB], OverdueDefinition(1)),
        first_payment_default_rates(snap, facts, FEB),
    )


def test_spark_gives_the_duckdb_figures():
    pytest.importorskip("pyspark")
    from arrears.batch.close import connect

    spark = connect("spark")
    assert figures(spark) == figures(ibis.duckdb.connect())
    # the tables went to a scratch folder of this process, not to ./spark-warehouse
    warehouse = spark._session.conf.get("spark.sql.warehouse.dir")
    assert (
        "arrears-spark-" in warehouse and (Path(warehouse.removeprefix("file:")) / "snap").is_dir()
    )
    assert not (Path.cwd() / "spark-warehouse" / "snap").exists()


@pytest.fixture(scope="module")
def floor_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo workspace with the collection floor's data (cases held by
    collectors, contacts, promises, strategy arms), not only snapshots."""
    from typer.testing import CliRunner

    from arrears.cli import app

    root = tmp_path_factory.mktemp("spark-report") / "demo"
    args = ["demo", "--loans", "400", "--days", "3", "--as-of", "2026-06-30", "-w", str(root)]
    result = CliRunner().invoke(app, [*args, "--lang", "en"])
    assert result.exit_code == 0, result.output
    return root


def test_the_whole_report_on_spark_equals_duckdb(floor_book: Path):
    """Every measure of `compute_report`, the collection floor's included, and the HTML
    file `arrears report --engine spark` writes: the same as on DuckDB, to the byte."""
    pytest.importorskip("pyspark")
    from datetime import date

    from typer.testing import CliRunner

    from arrears.analytics.model import compute_report
    from arrears.batch.close import connect
    from arrears.cli import app
    from arrears.workspace import Workspace

    ws = Workspace.at(floor_book)
    period = (date(2025, 7, 1), date(2026, 6, 30))
    on_duckdb = compute_report(ws, *period)
    assert on_duckdb.collections.has_data and on_duckdb.kpis  # the floor is in it
    assert on_duckdb.vintages and on_duckdb.monthly
    assert compute_report(ws, *period, backend=connect("spark")) == on_duckdb

    files = {}
    for engine in ("duckdb", "spark"):
        out = floor_book / f"report-{engine}.html"
        result = CliRunner().invoke(
            app, ["report", "--engine", engine, "--out", str(out), "-w", str(floor_book)]
        )
        assert result.exit_code == 0, result.output
        files[engine] = out.read_bytes()
    assert files["spark"] == files["duckdb"]
