"""The day's journal from the batch engine: the ledger entries and legs the domain core
posts for each loan and day (``arrears.domain.account.close_day``), as Ibis tables
beside the day's accounts and dues, so the batch close can post the ledger.

For a loan not written off, closing day D posts, in this order (``ordinal``):

1. ``due:<seq>`` (installment_due) for each installment falling due: its interest on
   the installment, its principal moved from not-due (installment 0) to the installment;
2. ``late:<seq>`` (fee, memo ``late fee``) for each installment whose grace ended
   yesterday unpaid, cut to the cost cap in installment order;
3. ``back:<D>`` (accrual): the 罚息 and 复利 of those installments' grace days;
4. ``credit:<D>`` (credit_applied): credit used against what fell due;
5. each payment of D under its own reference (payment), in reference order, settled
   through the waterfall one after the other, any excess to credit;
6. ``accr:<D>`` (accrual): the day's 罚息 and 复利.

The waterfall is one running sum over the balances in settlement order (the engine's
``waterfall`` rows), so consecutive settlements (the credit, then each payment) are
consecutive slices of it: a leg is the overlap of one balance's slice with one
payment's. Money is integer cents, dates are day numbers until ``posted_on``.

Out of the journal's scope: reversals, arrangements, write-offs (and recoveries) and
holds, which the engine does not model yet, and waivers, costs and other fees, which the
engine books from its events table before the close of their day, as the store posts
them (``engine.book_events``), but whose entries the journal does not post (the store
holds them already); ``out_of_scope`` names the loans they touch.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy import Connection, func, or_, select

from arrears.batch.engine import Day, close_day_tables
from arrears.batch.state import (
    COMPOUND,
    COST,
    FEE,
    INTEREST,
    PENALTY,
    PRINCIPAL,
    day_number,
    from_day_number,
)
from arrears.domain.account import LATE_FEE_MEMO
from arrears.domain.ledger import LOAN_LEVEL, Account, EntryKind

Table = ir.Table

ENTRIES = pa.schema(
    [
        ("loan_id", pa.string()),
        ("ref", pa.string()),
        ("kind", pa.string()),
        ("posted_on", pa.date32()),
        ("amount", pa.int64()),  # cents
        ("reverses", pa.string()),
        ("memo", pa.string()),
        ("ordinal", pa.int64()),  # the entry's place among the loan's entries of the day
    ]
)
LEGS = pa.schema(
    [
        ("loan_id", pa.string()),
        ("ref", pa.string()),
        ("line", pa.int64()),
        ("installment", pa.int32()),
        ("account", pa.string()),
        ("amount", pa.int64()),  # cents
    ]
)

# the entry kinds the engine posts, in the order of a day's entries
DUE, LATE, BACK, CREDIT, PAYMENT, ACCRUAL = range(6)
KINDS = {
    DUE: EntryKind.INSTALLMENT_DUE,
    LATE: EntryKind.FEE,
    BACK: EntryKind.ACCRUAL,
    CREDIT: EntryKind.CREDIT_APPLIED,
    PAYMENT: EntryKind.PAYMENT,
    ACCRUAL: EntryKind.ACCRUAL,
}
# what the engine does not journal: a loan with any of these is out of its scope
UNMODELLED_KINDS = (
    EntryKind.WAIVER,
    EntryKind.REVERSAL,
    EntryKind.WRITE_OFF,
    EntryKind.COST,
)
_ACCOUNT = {
    COST: Account.COST,
    FEE: Account.FEE,
    PENALTY: Account.PENALTY,
    COMPOUND: Account.COMPOUND,
    INTEREST: Account.INTEREST,
    PRINCIPAL: Account.PRINCIPAL,
}


def _i64(value: int) -> ir.IntegerScalar:
    return ibis.literal(value, type="int64")


def _str(value: str) -> ir.StringScalar:
    return ibis.literal(value, type="string")


def _account(component: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(*[(component == c, _str(a.value)) for c, a in _ACCOUNT.items()])


def _entries(t: Table, ref: Any, group: int, amount: Any, key: Any, memo: str = "") -> Table:
    """Entry rows of ``t``; ``group`` and ``key`` (an integer) order them within the day."""
    return t.select(
        "loan_id",
        ref=ref,
        kind=_str(KINDS[group].value),
        amount=amount.cast("int64"),
        memo=_str(memo),
        group=_i64(group),
        key=key.cast("int64") if isinstance(key, ir.Value) else _i64(key),
    )


def _legs(t: Table, ref: Any, installment: Any, account: Any, amount: Any, *order: Any) -> Table:
    """Leg rows of ``t``; ``order`` (three integers) orders them within their entry."""
    o1, o2, o3 = (o.cast("int64") if isinstance(o, ir.Value) else _i64(o) for o in order)
    return t.select(
        "loan_id",
        ref=ref,
        installment=installment.cast("int32")
        if isinstance(installment, ir.Value)
        else ibis.literal(installment, "int32"),
        account=account if isinstance(account, ir.Value) else _str(account),
        amount=amount.cast("int64"),
        o1=o1,
        o2=o2,
        o3=o3,
    )


def journal(closed: Day, payments: Table, day: int) -> tuple[Table, Table]:
    """The entries and legs (``ENTRIES``, ``LEGS`` less ``posted_on`` cast, see
    ``day_journal``) of ``day`` from the engine's ``closed`` day and the book's
    ``payments`` (with their ``ref``)."""
    if "ref" not in payments.columns:
        raise ValueError(
            "the batch book's payments table has no 'ref' column (written before the "
            "journal existed): refresh the book from the store to post the journal"
        )
    iso = from_day_number(day).isoformat()
    entries: list[Table] = []
    legs: list[Table] = []

    # 1. installments falling due
    fell = closed.fell
    due_ref = _str("due:").concat(fell.seq.cast("string"))
    entries.append(_entries(fell, due_ref, DUE, fell.principal + fell.interest, fell.seq))
    f = fell.filter(fell.interest > 0)
    legs.append(
        _legs(f, _str("due:").concat(f.seq.cast("string")), f.seq, "interest", f.interest, 1, 0, 0)
    )
    f = fell.filter(fell.principal > 0)
    f_ref = _str("due:").concat(f.seq.cast("string"))
    legs.append(_legs(f, f_ref, LOAN_LEVEL, "not_due", -f.principal, 2, 0, 0))
    legs.append(_legs(f, f_ref, f.seq, "principal", f.principal, 3, 0, 0))

    deltas = closed.deltas.filter(~closed.deltas.written_off)

    # 2. late fees, cut to the cap in installment order (the engine caps their total)
    late = closed.late.join(deltas.select("loan_id", "fee_new"), "loan_id")
    window = ibis.cumulative_window(group_by="loan_id", order_by="seq")
    earlier = late.fee.sum().over(window) - late.fee
    late = late.mutate(charged=ibis.greatest(ibis.least(late.fee, late.fee_new - earlier), 0))
    late = late.filter(late.charged > 0)
    late_ref = _str("late:").concat(late.seq.cast("string"))
    entries.append(_entries(late, late_ref, LATE, late.charged, late.seq, LATE_FEE_MEMO))
    legs.append(_legs(late, late_ref, LOAN_LEVEL, "fee", late.charged, 1, 0, 0))

    # 3. and 6. back charges and the day's accrual
    for group, prefix, pen, comp in (
        (BACK, "back", "bp_new", "bc_new"),
        (ACCRUAL, "accr", "pen_new", "comp_new"),
    ):
        ref = _str(f"{prefix}:{iso}")
        d = deltas.filter(deltas[pen] + deltas[comp] > 0)
        entries.append(_entries(d, ref, group, d[pen] + d[comp], 0))
        p = deltas.filter(deltas[pen] > 0)
        legs.append(_legs(p, ref, LOAN_LEVEL, "penalty", p[pen], 1, 0, 0))
        c = deltas.filter(deltas[comp] > 0)
        legs.append(_legs(c, ref, LOAN_LEVEL, "compound", c[comp], 2, 0, 0))

    # 4. credit used, then 5. the payments: consecutive slices of the waterfall
    rows = closed.waterfall
    owed = rows.group_by("loan_id").agg(total=rows.balance.sum())
    money = deltas.filter(deltas.available > 0).join(owed, "loan_id")
    money = money.select(
        "loan_id",
        "total",
        used=ibis.least(money.available - money.paid_today, money.total),
    )
    credit = money.filter(money.used > 0)
    credit_ref = _str(f"credit:{iso}")
    entries.append(_entries(credit, credit_ref, CREDIT, credit.used, 0))
    pays = payments.filter(payments.paid_on == day).join(money, "loan_id")
    paid = ibis.cumulative_window(group_by="loan_id", order_by="ref")
    end = pays.used + pays.amount.sum().over(paid)
    pays = pays.mutate(end=end)
    pays = pays.mutate(start=pays.end - pays.amount)
    entries.append(
        pays.select(
            "loan_id",
            "ref",
            kind=_str(EntryKind.PAYMENT.value),
            amount=pays.amount.cast("int64"),
            memo=_str(""),
            group=_i64(PAYMENT),
            key=_i64(0),
        )
    )
    slices = ibis.union(
        credit.select("loan_id", ref=credit_ref, start=_i64(0), end=credit.used),
        pays.select("loan_id", "ref", start=pays.start.cast("int64"), end=pays.end.cast("int64")),
    )
    j = rows.join(slices, "loan_id")
    part = ibis.least(j.before + j.balance, j.end) - ibis.greatest(j.before, j.start)
    j = j.mutate(part=part).filter(part > 0)
    legs.append(_legs(j, j.ref, j.seq, _account(j.component), -j.part, j.major, j.rank, j.minor))
    last = 1 << 40  # the credit leg comes after every settled balance
    legs.append(_legs(credit, credit_ref, LOAN_LEVEL, "credit", -credit.used, last, 0, 0))
    excess = pays.end - ibis.greatest(pays.start, pays.total)
    over = pays.mutate(excess=excess).filter(excess > 0)
    legs.append(_legs(over, over.ref, LOAN_LEVEL, "credit", over.excess, last, 0, 0))

    e = ibis.union(*entries)
    e = e.mutate(
        ordinal=ibis.row_number().over(group_by="loan_id", order_by=["group", "key", "ref"]) + 1
    )
    e = e.select(
        "loan_id",
        "ref",
        "kind",
        posted_on=ibis.literal(from_day_number(day), type="date"),
        amount="amount",
        reverses=ibis.null("string"),
        memo="memo",
        ordinal=e.ordinal.cast("int64"),
    )
    g = ibis.union(*legs)
    g = g.mutate(
        line=ibis.row_number().over(group_by=["loan_id", "ref"], order_by=["o1", "o2", "o3"]) + 1
    )
    g = g.select(
        "loan_id",
        "ref",
        line=g.line.cast("int64"),
        installment="installment",
        account="account",
        amount="amount",
    )
    return e, g


def day_journal(closer: Any, day: date) -> tuple[pa.Table, pa.Table]:
    """The journal of ``day`` on ``closer``'s book and engine (``arrears.batch.close.
    Closer``), from the state of the day before: ``ENTRIES`` and ``LEGS`` as Arrow
    tables, sorted by loan, ordinal and line."""
    inputs = closer.inputs(day - timedelta(days=1))
    # the journal reads the day's tables several times: each is computed once
    closed = close_day_tables(inputs, day_number(day), closer.catalog, lambda t: t.cache())
    closed = replace(
        closed,
        fell=closed.fell.cache(),
        late=closed.late.cache(),
        waterfall=closed.waterfall.cache(),
        deltas=closed.deltas.cache(),
    )
    entries, legs = journal(closed, inputs.payments, day_number(day))
    e = closer.con.to_pyarrow(entries).select(ENTRIES.names).cast(ENTRIES)
    g = closer.con.to_pyarrow(legs).select(LEGS.names).cast(LEGS)
    return (
        e.sort_by([("loan_id", "ascending"), ("ordinal", "ascending")]),
        g.sort_by([("loan_id", "ascending"), ("ref", "ascending"), ("line", "ascending")]),
    )


def out_of_scope(conn: Connection) -> set[str]:
    """The loans whose journal the engine does not produce (it does not model them
    yet): any stored waiver, reversal, write-off or cost, a fee other than a late fee,
    an arrangement, or a hold on the loan or its customer."""
    from arrears.store.contact_models import Hold
    from arrears.store.models import EntryRow, Loan
    from arrears.store.workbench_models import Arrangement

    entries = EntryRow.__table__.c
    kinds = [k.value for k in UNMODELLED_KINDS]
    found = set(
        conn.execute(
            select(entries.loan_id).where(
                or_(
                    entries.kind.in_(kinds),
                    (entries.kind == EntryKind.FEE.value) & (entries.memo != LATE_FEE_MEMO),
                )
            )
        ).scalars()
    )
    found |= set(conn.execute(select(Arrangement.loan_id)).scalars())
    holds = Hold.__table__.c
    found |= {lid for lid in conn.execute(select(holds.loan_id)).scalars() if lid is not None}
    customers = select(holds.customer_id).where(holds.loan_id.is_(None))
    found |= set(
        conn.execute(select(Loan.loan_id).where(Loan.customer_id.in_(customers))).scalars()
    )
    return found


def post_journal(conn: Connection, entries: pa.Table, legs: pa.Table, created_at: Any) -> int:
    """Insert in bulk (``insert_postings``) the journal's entries (``ENTRIES``) and legs
    (``LEGS``) that the store does not hold yet, in the caller's transaction; returns
    how many entries were inserted. Idempotent per loan and ref, so per loan, day and
    kind (each ref names its day, or the installment falling due or charged late): an
    entry already stored under its ref is skipped when it is the same (kind, day,
    amount) and refused with ``ConflictingPosting`` when not. A new entry's ``seq``
    follows the loan's last stored one, in the journal's order (day, ordinal)."""
    from arrears.domain.errors import ConflictingPosting
    from arrears.store.ledger_rows import CentsReader, date_column, insert_postings, money_column
    from arrears.store.models import EntryRow

    if entries.num_rows == 0:
        return 0
    c = EntryRow.__table__.c
    days = entries.column("posted_on").to_pylist()
    first, last = min(days), max(days)
    read = CentsReader(conn)
    stored: dict[tuple[str, str], tuple[str, date, int]] = {}
    query = select(
        c.loan_id, c.ref, c.kind, date_column(conn, c.posted_on), money_column(conn, c.amount)
    )
    for loan_id, ref, kind, on, amount in conn.execute(
        query.where(c.posted_on.between(first, last))
    ):
        stored[(loan_id, ref)] = (kind, read.day(on), int(read(amount).scaleb(2)))
    last_seq = dict(conn.execute(select(c.loan_id, func.max(c.seq)).group_by(c.loan_id)).all())
    rows = sorted(entries.to_pylist(), key=lambda r: (r["loan_id"], r["posted_on"], r["ordinal"]))
    new_entries = []
    fresh: set[tuple[str, str]] = set()
    for r in rows:
        key = (r["loan_id"], r["ref"])
        found = stored.get(key)
        if found is not None:
            if found != (r["kind"], r["posted_on"], r["amount"]):
                raise ConflictingPosting(
                    f"loan {key[0]}: reference {key[1]!r} was already used for a {found[0]} "
                    f"of {found[2]} cents on {found[1]}, the journal has a {r['kind']} of "
                    f"{r['amount']} cents on {r['posted_on']}"
                )
            continue
        seq = last_seq[key[0]] = last_seq.get(key[0], 0) + 1
        new_entries.append(
            (key[0], key[1], r["kind"], r["posted_on"], r["amount"], r["reverses"], r["memo"], seq)
        )
        fresh.add(key)
    new_legs = [
        (g["loan_id"], g["ref"], g["line"], g["installment"], g["account"], g["amount"])
        for g in legs.to_pylist()
        if (g["loan_id"], g["ref"]) in fresh
    ]
    insert_postings(conn, new_entries, new_legs, created_at)
    return len(new_entries)
