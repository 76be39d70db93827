"""The daily close compiled to SQL once, run every day.

Building the close's Ibis expression and compiling it to SQL costs seconds whatever the
book's size (about 5 s a day on this machine, against well under a second of running it
on a small book), so closing N days one by one used to cost N compiles. The SQL of two
days differs only by the day number and by what ``engine.DayShape`` holds (the day's
30/360 count, its ACT/ACT factor, whether it ends a month). So a ``Plan`` compiles the
close once per shape, over tables of fixed names, with a placeholder for the day number,
and each day:

1. points ``arrears_prev_accounts`` and ``arrears_prev_dues`` at the state of the day
   before (the book's static tables keep their ``arrears_<name>`` views);
2. on Spark, materialises the intermediate tables the close reads several times
   (``keep``), in order, as local checkpoints, so no query Spark plans holds the whole
   close; on DuckDB they are common table expressions of each output;
3. runs the outputs' SQL with the day number put in the placeholder's place.

The placeholder is an integer literal no close could hold (a day number in the year
5,400,000), replaced as a whole token, and a plan refuses SQL that does not contain it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from arrears.batch.engine import DayShape, Inputs, Today, close_day, day_shape
from arrears.batch.state import ACCOUNTS, DUES
from arrears.domain.products import Catalog

PLACEHOLDER = 1_987_654_321
_TOKEN = re.compile(rf"(?<![0-9A-Za-z_.]){PLACEHOLDER}(?![0-9A-Za-z_.])")
PREVIOUS = {"accounts": "arrears_prev_accounts", "dues": "arrears_prev_dues"}

# what a close produces, from its inputs, a ``keep`` and the day placeholder
Build = Callable[[Inputs, Callable[[ir.Table], ir.Table], Today], dict[str, ir.Table]]


@dataclass(frozen=True)
class Compiled:
    """One shape's SQL: the intermediate tables in the order they are materialised, then
    each output's query; every statement with the day placeholder in it."""

    stages: tuple[tuple[str, str], ...]
    outputs: dict[str, str]

    def statements(self, day: int) -> Compiled:
        def put(sql: str) -> str:
            return _TOKEN.sub(str(day), sql)

        return Compiled(
            tuple((name, put(sql)) for name, sql in self.stages),
            {name: put(sql) for name, sql in self.outputs.items()},
        )

    def inlined(self) -> Compiled:
        """The stages as common table expressions of each output, not materialised."""
        if not self.stages:
            return self
        ctes = ", ".join(f'"{name}" AS ({sql})' for name, sql in self.stages)
        return Compiled(
            (), {name: f"WITH {ctes} SELECT * FROM ({sql})" for name, sql in self.outputs.items()}
        )


def compile_close(
    build: Build, static: dict[str, ibis.Schema], dialect: str, prefix: str = "arrears_stage"
) -> Compiled:
    """``build`` over unbound tables of fixed names, compiled to ``dialect``: each table
    ``keep`` is given becomes a stage of its own (compiling the pieces costs a fraction of
    compiling the whole)."""
    inputs = Inputs(
        accounts=ibis.table(ibis.Schema.from_pyarrow(ACCOUNTS), name=PREVIOUS["accounts"]),
        dues=ibis.table(ibis.Schema.from_pyarrow(DUES), name=PREVIOUS["dues"]),
        **{name: ibis.table(schema, name=f"arrears_{name}") for name, schema in static.items()},
    )
    stages: list[tuple[str, str]] = []

    def keep(table: ir.Table) -> ir.Table:
        name = f"{prefix}_{len(stages)}"
        stages.append((name, _sql(table, dialect)))
        return ibis.table(table.schema(), name=name)

    outputs = build(inputs, keep, ibis.literal(PLACEHOLDER, type="int64"))
    compiled = Compiled(
        tuple(stages), {name: _sql(table, dialect) for name, table in outputs.items()}
    )
    if not any(_TOKEN.search(sql) for _, sql in compiled.stages + tuple(compiled.outputs.items())):
        raise AssertionError(f"the day placeholder {PLACEHOLDER} is missing from the SQL")
    return compiled


def _sql(table: ir.Table, dialect: str) -> str:
    return str(ibis.to_sql(table, dialect=dialect))


class Plan:
    """The close of one catalogue on one connection, compiled per ``DayShape``."""

    def __init__(self, con: Any, engine: str, catalog: Catalog, static: dict[str, ibis.Schema]):
        self.con, self.engine, self.catalog, self.static = con, engine, catalog, static
        self._compiled: dict[DayShape, Compiled] = {}
        self._frames: dict[str, Any] = {}  # Spark: the checkpointed stages

    def build(self, day: int) -> Build:
        catalog = self.catalog

        def build(inputs: Inputs, keep: Callable[[ir.Table], ir.Table], today: Today) -> Any:
            accounts, dues = close_day(inputs, day, catalog, keep, today)
            return {"accounts": accounts, "dues": dues}

        return build

    def compiled(self, day: int) -> Compiled:
        shape = day_shape(day)
        if shape not in self._compiled:
            if self.engine == "duckdb":
                # one query per output: DuckDB plans the close whole, where stages held in
                # memory would be the book several times over (5 GB at 1M loans, not 2.2)
                compiled = compile_close(self.build(day), self.static, "duckdb").inlined()
            else:
                compiled = compile_close(self.build(day), self.static, "pyspark")
            self._compiled[shape] = compiled
        return self._compiled[shape].statements(day)

    def run(self, day: int) -> dict[str, pa.Table]:
        """The outputs of closing ``day`` (a day number); the previous state must be in
        place (``Closer.point_previous``)."""
        plan = self.compiled(day)
        for name, sql in plan.stages:
            self._materialise(name, sql)
        try:
            return {name: self._fetch(sql) for name, sql in plan.outputs.items()}
        finally:  # last first
            for name, _ in reversed(plan.stages):
                self._drop(name)

    # stages exist on Spark only (``compiled``)
    def _materialise(self, name: str, sql: str) -> None:
        # a checkpoint: later queries read its rows, not re-plan its query
        frame = self.con.raw_sql(sql).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def _drop(self, name: str) -> None:
        self.con._session.catalog.dropTempView(name)
        frame = self._frames.pop(name, None)
        if frame is not None:
            frame.unpersist()

    def _fetch(self, sql: str) -> pa.Table:
        if self.engine == "duckdb":
            return self.con.raw_sql(sql).fetch_arrow_table()
        return self.con.raw_sql(sql).toArrow()
