"""What the strategy engine is given about a day, loaded from the store: per loan its
open case, customer type, time zone, language, running promise, days to the next due
date and the day's model scores; and the steps cases already got."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from arrears.workspace import Workspace


def _scores_wide(ws: Workspace, day: date) -> dict[str, dict[str, int]]:
    """``score_<model>`` per loan from ``<ws>/scores/as_of=D/part-0.parquet`` (if any)."""
    import pyarrow.parquet as pq

    path = ws.root / "scores" / f"as_of={day.isoformat()}" / "part-0.parquet"
    if not path.exists():
        return {}
    wide: dict[str, dict[str, int]] = {}
    for row in pq.read_table(path, columns=["loan_id", "model", "score"]).to_pylist():
        wide.setdefault(f"score_{row['model']}", {})[row["loan_id"]] = row["score"]
    return wide


def day_inputs(ws: Workspace, day: date) -> pa.Table:
    """The strategy inputs of ``day``, one row per loan of the store: ``loan_id``,
    ``case_id`` (the case open on that day), ``customer_type``, ``time_zone``,
    ``language``, ``promise_active`` (a promise running on that day),
    ``days_to_due`` (days to the next installment due on or after it) and the
    ``score_<model>`` columns of that day's scores file."""
    import pyarrow as pa
    from sqlalchemy import and_, func, inspect, or_, select

    from arrears.store.models import TABLES

    loans, customers = TABLES["loans"], TABLES["customers"]
    cases, installments = TABLES["cases"], TABLES["installments"]
    with ws.engine.connect() as conn:
        book = conn.execute(
            select(loans.c.loan_id, customers.c.customer_type, customers.c.time_zone,
                   customers.c.language)
            .join(customers, customers.c.customer_id == loans.c.customer_id)
            .order_by(loans.c.loan_id)
        ).all()  # fmt: skip
        open_on_day = and_(
            cases.c.opened_on <= day, or_(cases.c.closed_on.is_(None), cases.c.closed_on > day)
        )
        case_of = dict(
            conn.execute(
                select(cases.c.loan_id, func.max(cases.c.id))
                .where(open_on_day)
                .group_by(cases.c.loan_id)
            ).all()
        )
        next_due = dict(
            conn.execute(
                select(installments.c.loan_id, func.min(installments.c.due_date))
                .where(installments.c.due_date >= day)
                .group_by(installments.c.loan_id)
            ).all()
        )
        promised: set[str] = set()
        if inspect(conn).has_table("promises"):
            promises = TABLES["promises"]
            running = and_(
                promises.c.promised_on <= day,
                promises.c.due_date >= day,
                or_(promises.c.settled_on.is_(None), promises.c.settled_on > day),
            )
            promised = set(conn.execute(select(promises.c.loan_id).where(running)).scalars())
    ids = [r.loan_id for r in book]
    columns: dict[str, pa.Array] = {
        "loan_id": pa.array(ids, pa.string()),
        "case_id": pa.array([case_of.get(i) for i in ids], pa.int64()),
        "customer_type": pa.array([r.customer_type for r in book], pa.string()),
        "time_zone": pa.array([r.time_zone for r in book], pa.string()),
        "language": pa.array([r.language for r in book], pa.string()),
        "promise_active": pa.array([i in promised for i in ids], pa.bool_()),
        "days_to_due": pa.array(
            [(next_due[i] - day).days if i in next_due else None for i in ids], pa.int64()
        ),
    }
    for name, by_loan in sorted(_scores_wide(ws, day).items()):
        columns[name] = pa.array([by_loan.get(i) for i in ids], pa.int64())
    return pa.table(columns)


def step_history(ws: Workspace, day: date) -> pa.Table:
    """Steps the cases got before ``day`` (from ``strategy_assignments``)."""
    import pyarrow as pa
    from sqlalchemy import select

    from arrears.store.models import TABLES

    sa = TABLES["strategy_assignments"]
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(sa.c.loan_id, sa.c.case_id, sa.c.step, sa.c.strategy)
            .where(sa.c.as_of < day, sa.c.step.is_not(None))
        ).all()  # fmt: skip
    return pa.table(
        {
            "loan_id": pa.array([r.loan_id for r in rows], pa.string()),
            "case_id": pa.array([r.case_id for r in rows], pa.int64()),
            "step": pa.array([r.step for r in rows], pa.string()),
            "strategy": pa.array([r.strategy for r in rows], pa.string()),
        }
    )
