"""The analytics expressions are engine-neutral: on Spark (local[2]) they give the
figures DuckDB gives on the same hand-built snapshots. Slow: starts a JVM."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest
from test_analytics_metrics import FEB, JAN, ROLL_DAYS, ROLL_FACTS

from arrears.analytics.portfolio import OverdueDefinition, bucket_distribution, overdue_series
from arrears.analytics.rolls import transitions
from arrears.analytics.vintage import first_payment_default_rates, vintage_curves
from conftest import loan_facts, snapshot_days

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
