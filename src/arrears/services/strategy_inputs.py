"""What the strategy engine is given about a day, loaded from the store: per loan its
open case, customer type, time zone, language, running promise, days to the next due
date and the day's model scores; and the steps cases already got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from arrears.workspace import Workspace

# The windows of the willingness rule (docs/strategies.md, "Willingness from behaviour").
PROMISE_WINDOW = 90  # days of promises settled kept or broken
CONTACT_WINDOW = 90  # days of contact outcomes (refusals, hardship claimed)
PAYMENT_WINDOW = 30  # days of payments that show willingness
PAYMENT_MALICE_WINDOW = 90  # no payment in this long, with broken promises: malicious
# disposition codes whose contacts say "will not pay" / "cannot pay now"
REFUSAL_CODES = ("REFUSE",)
HARDSHIP_CODES = ("HARDSHIP",)


@dataclass(frozen=True)
class Behaviour:
    """What a loan's debtor did lately, as of a day (counts over the windows above)."""

    kept: int = 0  # promises kept, settled in the last PROMISE_WINDOW days
    broken: int = 0  # promises broken, settled in the last PROMISE_WINDOW days
    refusals: int = 0  # contacts ending in a refusal in the last CONTACT_WINDOW days
    hardship: int = 0  # contacts where hardship was claimed, last CONTACT_WINDOW days
    # days since the last payment made while the case was open (None: none)
    days_since_payment: int | None = None


def willingness(b: Behaviour) -> str:
    """The willingness class of a debtor from their behaviour, first rule that holds:

    1. ``malicious``: 3+ promises broken in 90 days and no payment in 90 days;
    2. ``willing_but_unable``: a payment toward the arrears in the last 30 days or a
       promise kept in 90 days (they pay what they can, and are still in arrears);
    3. ``able_but_unwilling``: 2+ promises broken in 90 days, or a refusal in 90 days;
    4. ``willing_but_unable``: hardship claimed in 90 days;
    5. ``unknown``: nothing of the above (no behaviour yet)."""
    paid_within = b.days_since_payment
    if b.broken >= 3 and (paid_within is None or paid_within >= PAYMENT_MALICE_WINDOW):
        return "malicious"
    if (paid_within is not None and paid_within < PAYMENT_WINDOW) or b.kept:
        return "willing_but_unable"
    if b.broken >= 2 or b.refusals:
        return "able_but_unwilling"
    if b.hardship:
        return "willing_but_unable"
    return "unknown"


def _behaviour(conn: Any, day: date) -> dict[str, Behaviour]:
    """Each loan's ``Behaviour`` as of ``day``, in three grouped queries (promises,
    contacts, payments) whatever the size of the book."""
    from sqlalchemy import and_, case, func, inspect, or_, select

    from arrears.store.models import TABLES
    from arrears.store.payment_rows import standing

    counts: dict[str, dict[str, Any]] = {}
    tables = set(inspect(conn).get_table_names())
    if "promises" in tables:
        p = TABLES["promises"]
        since = day - timedelta(days=PROMISE_WINDOW - 1)
        rows = conn.execute(
            select(
                p.c.loan_id,
                func.sum(case((p.c.status == "kept", 1), else_=0)),
                func.sum(case((p.c.status == "broken", 1), else_=0)),
            )
            .where(p.c.settled_on >= since, p.c.settled_on <= day)
            .group_by(p.c.loan_id)
        )
        for loan_id, kept, broken in rows:
            counts.setdefault(loan_id, {}).update(kept=int(kept or 0), broken=int(broken or 0))
    if "contact_logs" in tables:
        ca, cl = TABLES["contact_attempts"], TABLES["contact_logs"]
        start = datetime.combine(day - timedelta(days=CONTACT_WINDOW - 1), time(), UTC)
        end = datetime.combine(day + timedelta(days=1), time(), UTC)
        refused = (cl.c.disposition.in_(REFUSAL_CODES)) | (ca.c.outcome == "refused")
        rows = conn.execute(
            select(
                ca.c.loan_id,
                func.sum(case((refused, 1), else_=0)),
                func.sum(case((cl.c.disposition.in_(HARDSHIP_CODES), 1), else_=0)),
            )
            .select_from(ca.outerjoin(cl, cl.c.contact_attempt_id == ca.c.id))
            .where(ca.c.allowed, ca.c.at >= start, ca.c.at < end, ca.c.loan_id.is_not(None))
            .group_by(ca.c.loan_id)
        )
        for loan_id, refusals, hardship in rows:
            counts.setdefault(loan_id, {}).update(
                refusals=int(refusals or 0), hardship=int(hardship or 0)
            )
    # payments toward arrears: made while the loan's case (open on the day) was open; an
    # instalment paid on time before the loan fell behind says nothing of willingness
    pay, cases = TABLES["payments"], TABLES["cases"]
    open_on_day = and_(
        cases.c.opened_on <= day, or_(cases.c.closed_on.is_(None), cases.c.closed_on > day)
    )
    rows = conn.execute(
        select(pay.c.loan_id, func.max(pay.c.paid_on))
        .join(cases, cases.c.loan_id == pay.c.loan_id)
        .where(open_on_day, pay.c.paid_on >= cases.c.opened_on, pay.c.paid_on <= day)
        .where(standing(pay))  # a bounced payment shows no willingness
        .group_by(pay.c.loan_id)
    )
    for loan_id, last in rows:
        counts.setdefault(loan_id, {})["days_since_payment"] = (day - last).days
    return {loan_id: Behaviour(**values) for loan_id, values in counts.items()}


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
    ``days_to_due`` (days to the next installment due on or after it),
    ``willingness`` (``willingness``: derived from behaviour) and the
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
        behaviour = _behaviour(conn, day)
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
        "willingness": pa.array(
            [willingness(behaviour.get(i, Behaviour())) for i in ids], pa.string()
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
