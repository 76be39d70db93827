"""The day's proposed actions, the per-case assignment rows for the store, and the dry
run's counts: the public results of the strategy engine, built as Ibis expressions and
executed once by the caller (``.to_pyarrow()``) on DuckDB or Spark alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.operations as ops

from arrears.strategy.assignment import assign
from arrears.strategy.ladder import SEND_DELAY_DAYS, due_steps
from arrears.strategy.model import Strategy

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

# The columns of ``proposed_actions``, in order.
ACTION_COLUMNS = (
    "as_of",
    "send_on",
    "loan_id",
    "customer_id",
    "case_id",
    "segment",
    "arm",
    "ladder",
    "step",
    "offset",
    "channel",
    "contact_channel",
    "template",
    "script",
    "priority",
    "send_at_local_hour",
    "time_zone",
    "language",
    "strategy",
    "version",
    "dpd",
    "bucket",
    "amount",
)
# The columns of ``daily_assignments`` (the store table ``strategy_assignments``).
ASSIGNMENT_COLUMNS = (
    "as_of",
    "case_id",
    "customer_id",
    "loan_id",
    "strategy",
    "version",
    "arm",
    "segment",
    "step",
    "channel",
)


def proposed_actions(
    snapshot: ir.Table,
    inputs: ir.Table | None,
    strategy: Strategy,
    as_of: date,
    history: ir.Table | None = None,
) -> ir.Table:
    """One row per action the strategy proposes after the close of ``as_of`` (to be
    sent on ``send_on`` = the next day at ``send_at_local_hour`` in ``time_zone``),
    columns ``ACTION_COLUMNS``, ordered by ``loan_id``. At most one action per loan;
    holdout arms get none; a case never gets a step its ``history`` already holds.
    ``channel`` is the step's channel (``lawyer_letter``, ``agency`` …);
    ``contact_channel`` the store's contact channel (null for referrals). Unexecuted."""
    fired = due_steps(assign(snapshot, inputs, strategy, as_of), strategy, history)
    return _actions_of(fired, as_of)


def _actions_of(fired: ir.Table, as_of: date) -> ir.Table:
    fired = fired.mutate(send_on=ibis.literal(as_of + timedelta(days=SEND_DELAY_DAYS), "date"))
    return fired.select(*ACTION_COLUMNS).order_by("loan_id")


def daily_assignments(
    snapshot: ir.Table,
    inputs: ir.Table | None,
    strategy: Strategy,
    as_of: date,
    history: ir.Table | None = None,
) -> ir.Table:
    """One row per loan with an open case (``case_id`` not null): its segment and arm
    on ``as_of`` and the step/channel it got that day (null when none) — the rows of
    the store table ``strategy_assignments``, columns ``ASSIGNMENT_COLUMNS``, ordered by
    ``case_id``. Uses the same expressions as ``proposed_actions``. Unexecuted."""
    assigned = assign(snapshot, inputs, strategy, as_of)
    return _assignments_of(assigned, due_steps(assigned, strategy, history))


def _assignments_of(assigned: ir.Table, fired: ir.Table) -> ir.Table:
    got = fired.select(got_loan=fired.loan_id, step=fired.step, channel=fired.channel)
    cases = assigned.filter(assigned.case_id.notnull())
    joined = cases.left_join(got, cases.loan_id == got.got_loan)
    return joined.select(*ASSIGNMENT_COLUMNS).order_by("case_id")


def actions_and_assignments(
    con: ibis.BaseBackend,
    snapshot: ir.Table,
    inputs: ir.Table | None,
    strategy: Strategy,
    as_of: date,
    history: ir.Table | None = None,
) -> tuple[pa.Table, pa.Table]:
    """``proposed_actions`` and ``daily_assignments`` executed on ``con`` (pyarrow),
    the same rows, with the assignment and the steps due computed and compiled once:
    each is kept as a temporary table of ``con`` that both results read (compiling
    the strategy's expressions twice cost more than running them).

    On DuckDB, over tables ``con`` holds by name, the SQL is compiled once per strategy
    and tables (``_DaySql``) and each later day runs it with its dates put in: building
    and compiling the strategy's expressions cost about a second a day, whatever the
    size of the book."""
    tables = (snapshot, inputs, history)
    key = _sql_key(con, strategy, tables)
    if key is None:
        assigned = con.create_table(
            "_strategy_assigned",
            assign(snapshot, inputs, strategy, as_of),
            temp=True,
            overwrite=True,
        )
        fired = con.create_table(
            "_strategy_fired", due_steps(assigned, strategy, history), temp=True, overwrite=True
        )
        return _actions_of(fired, as_of).to_pyarrow(), _assignments_of(assigned, fired).to_pyarrow()
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _DaySql.compile(con, snapshot, inputs, strategy, history, as_of)
        if len(_COMPILED) >= 16:  # the oldest out: a strategy saved anew is a new key
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = compiled
    else:
        compiled.create(con, as_of)
    return compiled.fetch(con, as_of)


# the placeholders of the day's dates in compiled SQL (``_DaySql``)
_AS_OF, _SEND_ON = date(1901, 2, 3), date(1901, 2, 4)
_TABLES = {"assigned": "_strategy_assigned", "fired": "_strategy_fired"}


def _date_sql(day: date) -> str:
    return f"MAKE_DATE({day.year}, {day.month}, {day.day})"  # as Ibis compiles a date


@dataclass
class _DaySql:
    """A strategy's day as DuckDB SQL with placeholder dates: the two temporary tables,
    then the two results, and the results' Arrow schemas."""

    statements: tuple[str, str]  # CREATE ... AS <assigned>, CREATE ... AS <fired>
    queries: tuple[str, str]  # actions, assignments
    schemas: tuple[pa.Schema, pa.Schema]
    # the strategy's small in-memory tables (segment and arm to ladder...) the SQL names
    memtables: dict[str, pa.Table]

    @classmethod
    def compile(
        cls,
        con: ibis.BaseBackend,
        snapshot: ir.Table,
        inputs: ir.Table | None,
        strategy: Strategy,
        history: ir.Table | None,
        as_of: date,
    ) -> _DaySql:
        """Compile over the placeholder dates, checking each is where it belongs and
        nowhere else, and create the temporary tables for ``as_of`` on the way (they
        are needed to compile what reads them)."""
        statements: list[str] = []
        memtables: dict[str, pa.Table] = {}

        def gather(expr: ir.Table) -> None:
            for op in expr.op().find(ops.InMemoryTable):
                memtables[op.name] = op.data.to_pyarrow(op.schema)

        def create(name: str, expr: ir.Table) -> ir.Table:
            gather(expr)
            _register(con, memtables)
            sql = f"CREATE OR REPLACE TEMP TABLE {name} AS {con.compile(expr)}"
            statements.append(sql)
            con.raw_sql(_dated(sql, as_of))
            return con.table(name)

        assigned = create(_TABLES["assigned"], assign(snapshot, inputs, strategy, _AS_OF))
        fired = create(_TABLES["fired"], due_steps(assigned, strategy, history))
        exprs = (_actions_of(fired, _AS_OF), _assignments_of(assigned, fired))
        for expr in exprs:
            gather(expr)
        _register(con, memtables)  # for the results' fetch that follows
        queries = tuple(str(con.compile(expr)) for expr in exprs)
        placed = [_date_sql(_AS_OF) in statements[0], _date_sql(_SEND_ON) in queries[0]]
        if not all(placed) or "MAKE_DATE(1901" in statements[1] + queries[1]:
            raise AssertionError("the strategy's compiled SQL does not hold its dates as planned")
        return cls(
            (statements[0], statements[1]),
            (queries[0], queries[1]),
            (exprs[0].schema().to_pyarrow(), exprs[1].schema().to_pyarrow()),
            memtables,
        )

    def create(self, con: ibis.BaseBackend, as_of: date) -> None:
        """The temporary tables of ``as_of`` (on a connection of the day: the strategy's
        in-memory tables are registered there first)."""
        _register(con, self.memtables)
        for sql in self.statements:
            con.raw_sql(_dated(sql, as_of))

    def fetch(self, con: ibis.BaseBackend, as_of: date) -> tuple[pa.Table, pa.Table]:
        raw = con.con  # type: ignore[attr-defined]  # the DuckDB connection
        actions, assignments = (
            raw.sql(_dated(sql, as_of)).to_arrow_table().cast(schema)
            for sql, schema in zip(self.queries, self.schemas, strict=True)
        )
        return actions, assignments


def _register(con: ibis.BaseBackend, memtables: dict[str, pa.Table]) -> None:
    """The strategy's in-memory tables on ``con``: raw SQL does not register them."""
    for name, table in memtables.items():
        con.con.register(name, table)  # type: ignore[attr-defined]  # DuckDB's own


def _dated(sql: str, as_of: date) -> str:
    return sql.replace(_date_sql(_AS_OF), _date_sql(as_of)).replace(
        _date_sql(_SEND_ON), _date_sql(as_of + timedelta(days=SEND_DELAY_DAYS))
    )


_COMPILED: dict[tuple[object, ...], _DaySql] = {}


def _sql_key(
    con: ibis.BaseBackend, strategy: Strategy, tables: tuple[ir.Table | None, ...]
) -> tuple[object, ...] | None:
    """What the compiled SQL of a strategy's day depends on: the strategy and each
    table's name and schema; None where it cannot be kept (not DuckDB, or a table that
    is an expression or a file scan with a name of its own each time)."""
    if getattr(con, "name", "") != "duckdb":
        return None
    shapes: list[object] = []
    for table in tables:
        if table is None:
            shapes.append(None)
            continue
        op = table.op()
        name = getattr(op, "name", None)
        if not isinstance(op, ops.DatabaseTable) or name is None or name.startswith("ibis_"):
            return None
        shapes.append((name, tuple(table.schema().items())))
    return (strategy.fingerprint, strategy.name, strategy.version, *shapes)


@dataclass(frozen=True)
class PreviewRow:
    segment: str
    arm: str
    step: str | None
    channel: str | None
    loans: int


@dataclass(frozen=True)
class Preview:
    """The dry run of one day: how many loans each segment and arm holds, and how many
    actions each (segment, arm, step, channel) would send."""

    as_of: date
    strategy: str
    version: int
    assigned: list[PreviewRow]  # step and channel None: loans per segment and arm
    actions: list[PreviewRow]

    @property
    def total_actions(self) -> int:
        return sum(r.loans for r in self.actions)

    def by_channel(self) -> dict[str, int]:
        """Actions per channel, largest first."""
        counts: dict[str, int] = {}
        for row in self.actions:
            counts[str(row.channel)] = counts.get(str(row.channel), 0) + row.loans
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def preview(
    snapshot: ir.Table,
    inputs: ir.Table | None,
    strategy: Strategy,
    as_of: date,
    history: ir.Table | None = None,
) -> Preview:
    """Execute the day's assignment and actions and count them (nothing is written).
    Returns the counts and leaves the tables alone; see ``preview_tables`` to get
    them too."""
    result, _ = preview_tables(snapshot, inputs, strategy, as_of, history)
    return result


def preview_tables(
    snapshot: ir.Table,
    inputs: ir.Table | None,
    strategy: Strategy,
    as_of: date,
    history: ir.Table | None = None,
) -> tuple[Preview, pa.Table]:
    """``preview`` plus the executed ``proposed_actions`` table (pyarrow)."""
    assigned = assign(snapshot, inputs, strategy, as_of)
    seg = assigned.group_by(["segment", "arm"]).aggregate(loans=assigned.count())
    actions = proposed_actions(snapshot, inputs, strategy, as_of, history).to_pyarrow()
    seg_rows = seg.order_by(["segment", "arm"]).to_pyarrow().to_pylist()
    counts: dict[tuple[str, str, str, str], int] = {}
    for row in actions.select(["segment", "arm", "step", "channel"]).to_pylist():
        key = (row["segment"], row["arm"], row["step"], row["channel"])
        counts[key] = counts.get(key, 0) + 1
    order = {s.name: i for i, s in enumerate(strategy.segments)}
    action_rows = [PreviewRow(*key, n) for key, n in counts.items()]
    action_rows.sort(key=lambda r: (order.get(r.segment, 99), r.arm, -r.loans, str(r.step)))
    assigned_rows = [PreviewRow(r["segment"], r["arm"], None, None, r["loans"]) for r in seg_rows]
    assigned_rows.sort(key=lambda r: (order.get(r.segment, 99), r.arm))
    return Preview(as_of, strategy.name, strategy.version, assigned_rows, action_rows), actions
