"""Fixtures of the strategy tests: an embedded DuckDB and small tables on it."""

from __future__ import annotations

import ibis
import pytest
from strategy_tables import inputs_table, snapshot_table


@pytest.fixture
def con():
    return ibis.duckdb.connect()


@pytest.fixture
def tables(con):
    """``tables(snapshot_rows, input_rows=None)`` -> (snapshot, inputs) Ibis tables."""
    counter = iter(range(10_000))

    def make(snapshot_rows, input_rows=None):
        n = next(counter)
        snap = con.create_table(f"snap_{n}", snapshot_table(snapshot_rows))
        inputs = None
        if input_rows is not None:
            inputs = con.create_table(f"inputs_{n}", inputs_table(input_rows))
        return snap, inputs

    return make
