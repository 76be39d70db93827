"""What the strategy engine is given about a day, loaded from the store: per loan its
open case, customer type, time zone, language, running promise, days to the next due
date and the day's model scores; the steps cases already got; and the loans in recovery
it works beside the day's snapshot (``strategy_snapshot``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
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


def recovery_rows(ws: Workspace, day: date) -> pa.Table:
    """The loans in recovery on ``day`` as rows of the snapshot's schema, for the
    strategy: each loan written off on or before ``day`` whose case was open on ``day``
    (a loan charged off by its product's rule: a loan written off by hand has its case
    closed) and was brought up to date by a close of ``day`` or later.

    A loan in recovery has left the book, so the snapshot keeps no row for it after the
    day it was charged off; its debtor still owes the shadow balances and its case is
    still worked. Its row here has the status ``RECOVERY``; its DPD on ``day``: the
    case's, less the days that counted between ``day`` and the case's last update
    (nothing else moves it once it is written off); the bucket of that DPD and the
    case's class; and the shadow balances on ``day`` (``domain.account.shadow_from``:
    the write-off legs less what was recovered through ``day``) in the overdue columns:
    ``overdue_amount`` and ``total_due`` are what it still owes, principal and interest
    all overdue. A loan whose shadow owed nothing on ``day`` is left out."""
    from sqlalchemy import and_, exists, func, or_, select

    from arrears.batch.book import stored_pauses
    from arrears.domain.account import shadow_from
    from arrears.domain.ledger import Account, EntryKind
    from arrears.domain.pauses import paused_days
    from arrears.snapshots import MONEY_COLUMNS, snapshot_table
    from arrears.store.models import TABLES
    from arrears.store.rows import batched
    from arrears.strategy.segments import RECOVERY

    loans, cases = TABLES["loans"], TABLES["cases"]
    entries, legs = TABLES["entries"], TABLES["legs"]
    of_entry = and_(
        entries.c.loan_id == legs.c.loan_id, entries.c.ref == legs.c.ref, entries.c.posted_on <= day
    )
    written_off = exists().where(
        entries.c.loan_id == loans.c.loan_id,
        entries.c.kind == EntryKind.WRITE_OFF.value,
        entries.c.posted_on <= day,
    )
    open_on_day = and_(
        cases.c.opened_on <= day, or_(cases.c.closed_on.is_(None), cases.c.closed_on > day)
    )
    with ws.engine.connect() as conn:
        working = conn.execute(
            select(loans.c.loan_id, loans.c.customer_id, loans.c.product_code, cases.c.dpd,
                   cases.c.updated_on, cases.c.loan_class)
            .join(cases, cases.c.loan_id == loans.c.loan_id)
            .where(loans.c.status == "written_off", written_off, open_on_day,
                   cases.c.updated_on >= day)
            .order_by(loans.c.loan_id)
        ).all()  # fmt: skip
        ids = [r.loan_id for r in working]
        written: dict[str, dict[Account, Decimal]] = {}
        recovered: dict[str, Decimal] = {}
        for chunk in batched(ids, 500):
            for loan_id, account, amount in conn.execute(
                select(legs.c.loan_id, legs.c.account, func.sum(legs.c.amount))
                .join(entries, of_entry)
                .where(legs.c.loan_id.in_(chunk), entries.c.kind == EntryKind.WRITE_OFF.value)
                .group_by(legs.c.loan_id, legs.c.account)
            ):  # fmt: skip
                written.setdefault(loan_id, {})[Account(account)] = Decimal(amount)
            recovered.update(
                (loan_id, Decimal(amount))
                for loan_id, amount in conn.execute(
                    select(legs.c.loan_id, func.sum(legs.c.amount))
                    .join(entries, of_entry)
                    .where(legs.c.loan_id.in_(chunk), legs.c.account == Account.RECOVERED.value)
                    .group_by(legs.c.loan_id)
                )
            )
        later = {r.loan_id for r in working if r.updated_on > day}
        pauses = stored_pauses(conn, later) if later else {}
    catalog = ws.catalog
    rows, customers, products = [], {}, {}
    for r in working:
        product = catalog.product(r.product_code)
        order = product.charge_off.order(product.waterfall)
        owed = shadow_from(written.get(r.loan_id, {}), recovered.get(r.loan_id, Decimal(0)), order)
        if owed.total <= 0:
            continue
        counted = (r.updated_on - day).days - paused_days(
            pauses.get(r.loan_id, ()), day, r.updated_on
        )
        dpd = r.dpd - counted
        amounts = {
            "principal_outstanding": owed.principal,
            "principal_due": owed.principal,
            "interest_due": owed.interest,
            "overdue_principal": owed.principal,
            "overdue_interest": owed.interest,
            "penalty": owed.penalty,
            "compound": owed.compound,
            "fee": owed.fee,
            "costs": owed.cost,
            "total_due": owed.total,
            "overdue_amount": owed.total,
        }
        money = [int(amounts.get(c, Decimal(0)).scaleb(2)) for c in MONEY_COLUMNS]
        index = catalog.buckets.index(dpd)
        bucket = catalog.buckets.names[index]
        rows.append((r.loan_id, RECOVERY, dpd, bucket, index, r.loan_class, False, *money))
        customers[r.loan_id], products[r.loan_id] = r.customer_id, r.product_code
    return snapshot_table(day, rows, customers, products)


def strategy_snapshot(con: Any, ws: Workspace, day: date, recovery: pa.Table | None = None) -> Any:
    """What the strategy evaluates on ``day``, as a lazy table of the Ibis backend
    ``con``: the day's snapshot with its rows of the loans in recovery replaced by
    ``recovery`` (``recovery_rows``, read when not given)."""
    from arrears.snapshots import scan_snapshots

    snapshot = scan_snapshots(con, ws.snapshots_dir, [day])
    rows = recovery_rows(ws, day) if recovery is None else recovery
    if not rows.num_rows:
        return snapshot
    working = con.create_table("strategy_recovery", rows, overwrite=True)
    return snapshot.anti_join(working, "loan_id").union(working)
