"""The daily close as one Ibis pipeline: the same expressions run on DuckDB (embedded)
and on Spark (``ibis.pyspark``).

Closing day D takes the accounts and dues tables of D-1 and does what
``arrears.domain.account.close_day`` does for one loan, for every loan at once:

0. ``book_events`` (``waive_dues``): a book with an events table first books the day's
   one-off fees, costs and waivers on the state of D-1, as the store posts them while D
   is open (the workbench's waivers, fees and costs of D are on the ledger before the
   close of D starts, so the reference close finds them there): before anything of the
   close of D, so before its installments fall due, its late fees and its payments;
1. ``fall_due``: installments due on D move from not-due into dues; their interest
   counts toward the cost cap; a credit balance becomes available to pay them;
2. ``late_fees``: installments whose grace ended yesterday still unpaid get their late
   fee (cut to the cost cap) before the day's money comes in;
3. ``settle``: the day's payments (plus that credit) go through each product's waterfall,
   as a running sum over the balances in settlement order; the rest is credit;
4. ``assess_dues``: per loan, what is owed, what is past grace (the base of 罚息 and
   复利), the oldest unpaid installment;
5. ``charge``: penalty and compound for the day, rounded half-up to the cent, cut to
   what the cost cap still allows (penalty, then compound);
6. ``assess``: DPD, bucket, class, first-payment default and status;
7. ``compare``: roll forward / roll back / cure / newly delinquent against D-1, and the
   customer's worst DPD and bucket over all their loans.

All money is integer cents and all dates are day numbers, so both engines compute
exactly (no floating point anywhere); division is exact integer division.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.types as ir

from arrears.batch.state import (
    ACCOUNTS,
    ACT_ACT_BASIS,
    COMPOUND,
    COST,
    FEE,
    INTEREST,
    PENALTY,
    PRINCIPAL,
    _ratio,
    day_number,
    from_day_number,
)
from arrears.domain.calendar import DayCount
from arrears.domain.charges import charge_basis, charge_days
from arrears.domain.products import Catalog, ChargeDays

Table = ir.Table
ACCOUNTS_TYPES = [(f.name, str(ibis.dtype(f.type))) for f in ACCOUNTS]


@dataclass(frozen=True)
class Inputs:
    """The tables one close reads."""

    accounts: Table  # state of D-1
    dues: Table  # dues of D-1
    loans: Table  # the book: new loans enter on their disbursement day
    schedule: Table
    payments: Table
    products: Table
    # DPD pauses (``state.PAUSES``): a book without any reads none, and its close does
    # no pause arithmetic
    pauses: Table | None = None
    # one-off waivers, fees and costs (``state.EVENTS``): likewise optional
    events: Table | None = None


def _int(value: int) -> ir.IntegerScalar:
    return ibis.literal(value, type="int64")


Today = ir.IntegerValue  # the day number being closed, as the SQL reads it


@dataclass(frozen=True)
class DayShape:
    """What of the calendar day the close's SQL depends on beyond the day number: days
    with the same shape share one compiled SQL (``arrears.batch.plan``)."""

    days_30_360: int  # 30/360 days the day counts for (0 on the 31st, 3 on 1 March)
    act_act_factor: int  # ACT/ACT: 366 in a year of 365 days, 365 in a leap year
    month_end: bool  # unrounded accruals posted monthly are posted today


def day_shape(day: int) -> DayShape:
    d = from_day_number(day)
    basis = charge_basis(ChargeDays.ACT_ACT, DayCount.ACT_365, d)
    return DayShape(
        charge_days(ChargeDays.THIRTY_360, d),
        ACT_ACT_BASIS // basis,
        from_day_number(day + 1).day == 1,
    )


def div_round(numerator: ir.IntegerValue, denominator: ir.IntegerValue) -> ir.IntegerValue:
    """``numerator / denominator`` rounded half-up, exactly, for numerator >= 0 and
    denominator > 0: integer remainder, then a division whose result is a whole number
    (exact while the operands stay below 2**53)."""
    n = numerator * 2 + denominator
    d = denominator * 2
    return ((n - n % d) / d).cast("int64")


def left_join(a: Table, b: Table, keys: list[str]) -> Table:
    """``a`` with ``b``'s columns where the keys match (b's key columns dropped)."""
    j = a.left_join(b, keys)
    return j.drop(*[f"{k}_right" for k in keys])


def fall_due(schedule: Table, accounts: Table, today: Today) -> tuple[Table, Table]:
    """Installments falling due ``today`` for open loans (not written off), and their
    per-loan totals."""
    live = accounts.filter(~accounts.written_off).select("loan_id")
    fell = schedule.filter(schedule.due == today).semi_join(live, "loan_id")
    totals = fell.group_by("loan_id").agg(
        fell_principal=fell.principal.sum(),
        fell_interest=fell.interest.sum(),
        fell_last=fell.seq.max(),
    )
    return fell, totals


def open_accounts(inputs: Inputs, fell_totals: Table, today: Today) -> Table:
    """Accounts of D-1 with what falls due and what is paid ``today`` joined in:
    ``available`` is what the waterfall can settle today."""
    acc = inputs.accounts
    pays = inputs.payments
    paid = (
        pays.filter(pays.paid_on == today).group_by("loan_id").agg(paid_today_new=pays.amount.sum())
    )
    a = left_join(left_join(acc, fell_totals, ["loan_id"]), paid, ["loan_id"])
    a = a.select(
        *[c for c in acc.columns if c not in ("paid_today", "fell_seq")],
        has_fell=a.fell_principal.notnull(),
        fell_seq=ibis.coalesce(a.fell_last, a.fell_seq),
        fell_principal=a.fell_principal.fill_null(0),
        fell_interest=a.fell_interest.fill_null(0),
        paid_today=a.paid_today_new.fill_null(0),
    )
    live = ~a.written_off
    use_credit = live & a.has_fell
    return a.mutate(
        prev_dpd=a.dpd,
        prev_bucket_index=a.bucket_index,
        not_due=a.not_due - a.fell_principal,
        charged=a.charged + a.fell_interest,
        # the principal past due as the day starts (yesterday's end) counts for the cap
        overdue_days=a.overdue_days + ibis.ifelse(live, a.principal_due, 0),
        available=ibis.ifelse(live, a.paid_today + ibis.ifelse(use_credit, a.credit, 0), 0),
        credit=ibis.ifelse(use_credit, 0, a.credit),
    ).join(inputs.products, "product_code")


def waterfall(accounts: Table, dues: Table) -> Table:
    """The waterfall of loans with something available: one row per balance in
    settlement order (``major``, ``rank``, ``minor``), with what stands ``before`` it in
    that order and what the day's money ``settled`` of it."""
    payers = accounts.filter(accounts.available > 0)
    keyed = []
    for code, column in (
        (COST, "costs"),
        (FEE, "fee"),
        (PENALTY, "penalty"),
        (COMPOUND, "compound"),
    ):
        keyed.append(
            payers.select(
                "loan_id",
                "available",
                component=_int(code),
                seq=ibis.literal(0, type="int32"),
                balance=payers[column],
                major=payers[f"major_{code}"].cast("int64"),
                rank=_int(0),
                minor=payers[f"minor_{code}"].cast("int64"),
            )
        )
    owing = dues.join(
        payers.select(
            "loan_id",
            "available",
            "inst_dir",
            *[f"{k}_{c}" for c in (INTEREST, PRINCIPAL) for k in ("major", "minor")],
        ),
        "loan_id",
    )
    for code, column in ((INTEREST, "interest"), (PRINCIPAL, "principal")):
        keyed.append(
            owing.select(
                "loan_id",
                "available",
                component=_int(code),
                seq=owing.seq,
                balance=owing[column],
                major=owing[f"major_{code}"].cast("int64"),
                rank=(owing.seq * owing.inst_dir).cast("int64"),
                minor=owing[f"minor_{code}"].cast("int64"),
            )
        )
    rows = ibis.union(*keyed)
    window = ibis.cumulative_window(group_by="loan_id", order_by=["major", "rank", "minor"])
    before = rows.balance.sum().over(window) - rows.balance
    rows = rows.mutate(before=before)
    return rows.mutate(
        settled=ibis.greatest(ibis.least(rows.balance, rows.available - rows.before), 0)
    )


def settle(rows: Table) -> tuple[Table, Table]:
    """Per-loan settled charges (fee, penalty, compound, total) and per-installment
    settled amounts of the ``waterfall`` rows."""

    def part(code: int) -> ir.IntegerValue:
        return ibis.ifelse(rows.component == code, rows.settled, 0).sum()

    per_loan = rows.group_by("loan_id").agg(
        settled_cost=part(COST),
        settled_fee=part(FEE),
        settled_penalty=part(PENALTY),
        settled_compound=part(COMPOUND),
        settled_total=rows.settled.sum(),
    )
    inst = rows.filter(rows.seq > 0)
    per_installment = inst.group_by("loan_id", "seq").agg(
        settled_interest=ibis.ifelse(inst.component == INTEREST, inst.settled, 0).sum(),
        settled_principal=ibis.ifelse(inst.component == PRINCIPAL, inst.settled, 0).sum(),
    )
    return per_loan, per_installment


def remaining_dues(dues: Table, per_installment: Table) -> Table:
    """Dues after the day's settlement; fully settled installments drop out."""
    j = left_join(dues, per_installment, ["loan_id", "seq"])
    out = j.select(
        "loan_id",
        "seq",
        "due",
        principal=j.principal - j.settled_principal.fill_null(0),
        interest=j.interest - j.settled_interest.fill_null(0),
    )
    return out.filter(out.principal + out.interest > 0)


def _headroom(a: Table, today: Today, uncapped: ir.IntegerValue) -> ir.IntegerValue:
    """What the cost cap still allows ``today`` (``uncapped`` itself without a cap).
    Basis original: the rate on the principal since disbursement, measuring contract
    interest and charges; basis overdue: the rate on the principal-days past due,
    measuring the charges only. ``cap_num / cap_den`` is the rate over 365, times the
    LPR of the contract date (``lpr_num / lpr_den``) for a multiple of the LPR."""
    num = a.cap_num * ibis.ifelse(a.cap_lpr, a.lpr_num, 1)
    den = a.cap_den * ibis.ifelse(a.cap_lpr, a.lpr_den, 1)
    original = div_round(a.principal * num * (today - a.disbursed), den)
    overdue = div_round(a.overdue_days * num, den)
    room = ibis.ifelse(a.cap_overdue, overdue - a.charges, original - a.charged)
    return ibis.ifelse(a.cap_den > 0, ibis.greatest(room, 0), uncapped)


def with_lpr(a: Table, catalog: Catalog) -> Table:
    """``lpr_num / lpr_den``: the one-year LPR on each loan's contract (disbursement) day,
    from the catalogue's table (1 when no product caps on the LPR)."""
    table = next((p.charges.lpr for p in catalog.products.values() if p.charges.lpr), ())
    if not table:
        return a.mutate(lpr_num=_int(1), lpr_den=_int(1))
    branches = [(a.disbursed >= day_number(since), _ratio(rate)) for since, rate in table]
    branches.reverse()  # the latest LPR in force first
    return a.mutate(
        lpr_num=ibis.cases(*[(c, _int(n)) for c, (n, _) in branches], else_=_int(0)),
        lpr_den=ibis.cases(*[(c, _int(d)) for c, (_, d) in branches], else_=_int(1)),
    )


def late_installments(a: Table, dues: Table, today: Today) -> Table:
    """Installments whose grace ended yesterday with more than the tolerance unpaid:
    their late ``fee`` and, with ``pen_back``, the 罚息 (``back_p``) and 复利
    (``back_c``) of their grace days on what they owe, all uncapped."""
    charging = (a.fee_fixed > 0) | (a.fee_num > 0) | (a.pen_back & (a.grace > 0))
    params = a.filter(~a.written_off & charging).select(
        "loan_id", "grace", "tolerance", "fee_fixed", "fee_num", "fee_den", "pen_back",
        "pen_num", "pen_den", "comp_num", "comp_den",
    )  # fmt: skip
    j = dues.join(params, "loan_id")
    owed = j.principal + j.interest
    late = j.filter(((today - j.due) == j.grace + 1) & (owed > j.tolerance))
    owed = late.principal + late.interest
    fee = late.fee_fixed + ibis.ifelse(
        late.fee_num > 0, div_round(owed * late.fee_num, late.fee_den), 0
    )
    back = late.pen_back & (late.grace > 0)

    def daily(base: ir.IntegerValue, num: ir.IntegerValue, den: ir.IntegerValue) -> Any:
        return ibis.ifelse(back & (num > 0), late.grace * div_round(base * num, den), 0)

    return late.select(
        "loan_id",
        "seq",
        fee=fee,
        back_p=daily(late.principal, late.pen_num, late.pen_den),
        back_c=daily(late.interest, late.comp_num, late.comp_den),
    )


def late_fees(a: Table, dues: Table, today: Today) -> Table:
    """Late fees of installments whose grace ended yesterday with more than the
    tolerance unpaid, charged before the day's payments (a payment after grace is late
    and settles the fee first), and with ``pen_back`` the 罚息 and 复利 of their grace
    days charged back on what they owe; cut to the cost cap (fees, then 罚息, 复利)."""
    late = late_installments(a, dues, today)
    fees = late.group_by("loan_id").agg(
        fee_raw=late.fee.sum(), back_p=late.back_p.sum(), back_c=late.back_c.sum()
    )
    a = left_join(a, fees, ["loan_id"])
    raw, bp, bc = a.fee_raw.fill_null(0), a.back_p.fill_null(0), a.back_c.fill_null(0)
    room = _headroom(a, today, raw + bp + bc)
    a = a.mutate(fee_new=ibis.least(raw, room))
    a = a.mutate(bp_new=ibis.least(bp, room - a.fee_new))
    a = a.mutate(bc_new=ibis.least(bc, room - a.fee_new - a.bp_new))
    new = a.fee_new + a.bp_new + a.bc_new
    return a.mutate(
        fee=a.fee + a.fee_new,
        penalty=a.penalty + a.bp_new,
        compound=a.compound + a.bc_new,
        charged=a.charged + new,
        charges=a.charges + new,
    ).drop("fee_raw", "back_p", "back_c")  # fee_new, bp_new, bc_new: the day's (journal)


def assess_dues(dues: Table, accounts: Table, today: Today) -> Table:
    """Per loan: owed principal and interest, the part past grace and the oldest unpaid
    installment; ``rs_blocked``: how many installments hold a restructured loan's mark
    (unpaid past grace, or unpaid among the last ``rs_on_time`` fallen due)."""
    params = accounts.select("loan_id", "grace", "tolerance", "fell_seq", "rs_on_time")
    j = dues.join(params, "loan_id")
    owed = j.principal + j.interest
    past_grace = (today - j.due) > j.grace
    unpaid = (j.due < today) & (owed > j.tolerance)
    blocking = (owed > j.tolerance) & (past_grace | (j.seq > j.fell_seq - j.rs_on_time))
    return j.group_by("loan_id").agg(
        rs_blocked=ibis.ifelse(blocking, 1, 0).sum(),
        principal_due=j.principal.sum(),
        interest_due=j.interest.sum(),
        overdue_principal=ibis.ifelse(past_grace, j.principal, 0).sum(),
        overdue_interest=ibis.ifelse(past_grace, j.interest, 0).sum(),
        oldest_due=ibis.ifelse(unpaid, j.due, ibis.null("int32")).min(),
        oldest_seq=ibis.ifelse(unpaid, j.seq, ibis.null("int32")).min(),
    )


def post_unposted(a: Table, today: Today) -> Table:
    """A product that accrues unrounded (``accrue_exact``) posts what is unposted before
    the day's money when a payment comes in: ``pen_accrued / pen_den`` cents rounded
    half-up (复利 alike), cut to the cost cap (罚息 first, before the late fees), into
    ``pp_new`` and ``pc_new``; what the rounding left stays unposted. A day's one-off
    event posts nothing: the store booked it before the close (``book_events``), on the
    ledger, where what accrued unrounded is not."""
    posting = a.accrue_exact & ~a.written_off & (a.paid_today > 0)
    pen = ibis.ifelse(posting, div_round(a.pen_accrued, a.pen_den), 0)
    comp = ibis.ifelse(posting, div_round(a.comp_accrued, a.comp_den), 0)
    room = _headroom(a, today, pen + comp)
    a = a.mutate(pp_new=ibis.least(pen, room))
    a = a.mutate(pc_new=ibis.least(comp, room - a.pp_new))
    new = a.pp_new + a.pc_new
    return a.mutate(
        penalty=a.penalty + a.pp_new,
        compound=a.compound + a.pc_new,
        charged=a.charged + new,
        charges=a.charges + new,
        pen_accrued=a.pen_accrued - pen * a.pen_den,
        comp_accrued=a.comp_accrued - comp * a.comp_den,
    )


def charge(a: Table, today: Today, shape: DayShape) -> Table:
    """The day's 罚息 and 复利 under the cost cap, and the new balances. A product with
    ``charge_30_360`` counts the day for its 30/360 days (0 on the 31st, 3 on 1 March);
    under ``act_act`` the rates are over 365 × 366 days and a day counts 366 in a year of
    365 days, 365 in a leap year (the year of the day before). A product that accrues
    unrounded (``accrue_exact``) adds the day's exact charge to ``pen_accrued`` and
    ``comp_accrued`` (in 1/``pen_den`` and 1/``comp_den`` cents) and, when it posts
    monthly, posts them rounded on the last day of the month."""
    zero = _int(0)
    live = ~a.written_off
    days = ibis.ifelse(a.charge_30_360, _int(shape.days_30_360), _int(1))
    days = days * ibis.ifelse(a.act_act, _int(shape.act_act_factor), _int(1))
    units_p = ibis.ifelse(live & (a.pen_num > 0), a.overdue_principal * a.pen_num * days, zero)
    units_c = ibis.ifelse(live & (a.comp_num > 0), a.overdue_interest * a.comp_num * days, zero)
    pen_accrued = a.pen_accrued + ibis.ifelse(a.accrue_exact, units_p, zero)
    comp_accrued = a.comp_accrued + ibis.ifelse(a.accrue_exact, units_c, zero)
    posting = a.accrue_exact & live & a.post_monthly & ibis.literal(shape.month_end)
    pen = ibis.ifelse(
        a.accrue_exact,
        ibis.ifelse(posting, div_round(pen_accrued, a.pen_den), zero),
        div_round(units_p, a.pen_den),
    )
    comp = ibis.ifelse(
        a.accrue_exact,
        ibis.ifelse(posting, div_round(comp_accrued, a.comp_den), zero),
        div_round(units_c, a.comp_den),
    )
    a = a.mutate(
        pen_raw=pen,
        comp_raw=comp,
        pen_accrued=pen_accrued - ibis.ifelse(posting, pen * a.pen_den, zero),
        comp_accrued=comp_accrued - ibis.ifelse(posting, comp * a.comp_den, zero),
    )
    headroom = _headroom(a, today, a.pen_raw + a.comp_raw)
    a = a.mutate(pen_new=ibis.least(a.pen_raw, headroom))
    a = a.mutate(comp_new=ibis.least(a.comp_raw, headroom - a.pen_new))
    return a.mutate(
        fee=a.fee - a.settled_fee,
        costs=a.costs - a.settled_cost,
        penalty=a.penalty - a.settled_penalty + a.pen_new,
        compound=a.compound - a.settled_compound + a.comp_new,
        credit=a.credit + a.available - a.settled_total,
        charged=a.charged + a.pen_new + a.comp_new,
        charges=a.charges + a.pen_new + a.comp_new,
    )


# the components a waiver names, their balance column and the column of its day's total
WAIVED = (
    ("fee", "fee", "w_fee"),
    ("penalty", "penalty", "w_penalty"),
    ("compound", "compound", "w_compound"),
    ("cost", "costs", "w_cost"),
    ("interest", "interest", "w_interest"),
    ("principal", "principal", "w_principal"),
)
EVENT_TOTALS = ("ev_fee", "ev_cost", *(total for _, _, total in WAIVED))


def day_events(events: Table, today: Today) -> Table:
    """Per loan, the one-off events of ``today``: fees (``ev_fee``) and costs
    (``ev_cost``) booked, and what is waived of each component (``w_<component>``)."""
    e = events.filter(events.value_day == today)

    def total(condition: ir.BooleanValue) -> ir.IntegerValue:
        return ibis.ifelse(condition, e.amount, 0).sum().cast("int64")

    waiver = e.kind == "waiver"
    return e.group_by("loan_id").agg(
        ev_fee=total(e.kind == "fee"),
        ev_cost=total(e.kind == "cost"),
        **{t: total(waiver & (e.component == name)) for name, _, t in WAIVED},
    )


def waive_dues(dues: Table, totals: Table) -> tuple[Table, Table]:
    """Dues of D-1 after the day's waivers of interest and principal (``book_events``):
    each waiver takes from the oldest installment first (``domain.operations.waive``),
    whatever the product's waterfall, of those fallen due by D-1; installments waived to
    nothing drop out. Also, per loan waiving them, the interest and principal owed
    before (``owed_interest``, ``owed_principal``)."""
    w = totals.filter((totals.w_interest > 0) | (totals.w_principal > 0))
    w = w.select("loan_id", "w_interest", "w_principal")
    j = dues.join(w, "loan_id")
    window = ibis.cumulative_window(group_by="loan_id", order_by="seq")
    cut_i = ibis.greatest(
        ibis.least(j.interest, j.w_interest - (j.interest.sum().over(window) - j.interest)), 0
    )
    cut_p = ibis.greatest(
        ibis.least(j.principal, j.w_principal - (j.principal.sum().over(window) - j.principal)), 0
    )
    waived = j.select(
        "loan_id",
        "seq",
        "due",
        principal=(j.principal - cut_p).cast("int64"),
        interest=(j.interest - cut_i).cast("int64"),
    )
    owed_before = j.group_by("loan_id").agg(
        owed_interest=j.interest.sum(), owed_principal=j.principal.sum()
    )
    out = dues.anti_join(w, "loan_id").union(waived.filter(waived.principal + waived.interest > 0))
    return out, owed_before


def book_events(a: Table, totals: Table, owed_before: Table) -> Table:
    """The accounts of D-1 with the day's fees and costs booked and its loan-level
    waivers applied, as the store posts them while D is open, before the close of D
    (so before its installments fall due, its late fees and its money): a fee counts
    toward the cost cap (``charged``, ``charges``), a cost does not; a waiver of
    principal lowers the principal past due the day starts with (the cap's
    ``overdue_days``). ``refused``: the first component a waiver of the loan waives
    more of than it owes at the end of D-1 (with the day's fees and costs), which
    ``domain.operations.waive`` refuses and so does the close (``arrears.batch.close``),
    else null. ``owed_before``: per loan waiving them, the interest and principal owed
    at the end of D-1 (``waive_dues``); ``totals``: the day's events (``day_events``)."""
    a = left_join(left_join(a, totals, ["loan_id"]), owed_before, ["loan_id"])
    a = a.mutate(**{t: a[t].fill_null(_int(0)) for t in EVENT_TOTALS})
    left = {
        "fee": a.fee + a.ev_fee,
        "penalty": a.penalty,
        "compound": a.compound,
        "cost": a.costs + a.ev_cost,
        "interest": a.owed_interest.fill_null(_int(0)),
        "principal": a.owed_principal.fill_null(_int(0)),
    }
    refused = ibis.cases(
        *[(a[t] > left[name], ibis.literal(name, "string")) for name, _, t in WAIVED],
        else_=ibis.null("string"),
    )
    return a.mutate(
        refused=refused,
        fee=a.fee + a.ev_fee - a.w_fee,
        costs=a.costs + a.ev_cost - a.w_cost,
        penalty=a.penalty - a.w_penalty,
        compound=a.compound - a.w_compound,
        principal_due=a.principal_due - a.w_principal,
        interest_due=a.interest_due - a.w_interest,
        charged=a.charged + a.ev_fee,
        charges=a.charges + a.ev_fee,
    ).drop("owed_interest", "owed_principal", *EVENT_TOTALS)


def _case(value: ir.IntegerValue, edges: list[Any], labels: list[Any]) -> ir.Value:
    """``labels[i]`` for the first edge ``value <= edges[i]``, else the last label."""
    branches = [(value <= edge, label) for edge, label in zip(edges, labels, strict=False)]
    return ibis.cases(*branches, else_=labels[-1])


# the shadow balances and the components (their codes) they hold
SHADOWS = (
    ("shadow_principal", PRINCIPAL),
    ("shadow_interest", INTEREST),
    ("shadow_penalty", PENALTY),
    ("shadow_compound", COMPOUND),
    ("shadow_fee", FEE),
    ("shadow_costs", COST),
)


def recover(a: Table) -> Table:
    """Money received for a loan already written off is recovery: it reduces the shadow
    balances in the product's recovery order (``rec_<code>`` ranks), the rest is credit."""
    total = sum((a[name] for name, _ in SHADOWS), _int(0))
    recovered = ibis.ifelse(a.written_off, ibis.least(a.paid_today, total), 0)
    taken = {}
    for name, code in SHADOWS:
        rank = a[f"rec_{code}"]
        before = sum(
            (ibis.ifelse(a[f"rec_{other}"] < rank, a[n], 0) for n, other in SHADOWS),
            _int(0),
        )
        taken[name] = a[name] - ibis.greatest(ibis.least(a[name], recovered - before), 0)
    return a.mutate(
        credit=a.credit + ibis.ifelse(a.written_off, a.paid_today - recovered, 0), **taken
    )


def charge_off(a: Table, dpd: ir.IntegerValue) -> Table:
    """Loans whose DPD reached their product's charge-off rule (``co_dpd`` > 0) today:
    every balance leaves the book into the shadow balances, the loan is written off and
    its DPD counts on from its oldest unpaid installment."""
    co = ~a.written_off & (a.co_dpd > 0) & (dpd >= a.co_dpd)
    moved = {
        "shadow_principal": a.not_due + a.principal_due,
        "shadow_interest": a.interest_due,
        "shadow_penalty": a.penalty,
        "shadow_compound": a.compound,
        "shadow_fee": a.fee,
        "shadow_costs": a.costs,
    }
    zeroed = [
        "not_due",
        "principal_due",
        "interest_due",
        "overdue_principal",
        "overdue_interest",
        "penalty",
        "compound",
        "fee",
        "costs",
    ]
    return a.mutate(
        **{name: ibis.ifelse(co, value, a[name]) for name, value in moved.items()},
        **{name: ibis.ifelse(co, 0, a[name]) for name in zeroed},
        anchor_due=ibis.ifelse(co, a.oldest_due, a.anchor_due),
        anchor_seq=ibis.ifelse(co, a.oldest_seq, a.anchor_seq),
        written_off=a.written_off | co,
    )


def went_late(a: Table, owing: Table, today: Today) -> Table:
    """``rs_late_seq`` of restructured loans moved to their installment due after the
    restructuring whose grace ended yesterday with more than the tolerance unpaid: it
    was not paid on time, so the on-time streak counts from after it."""
    params = a.filter(a.rs_on.notnull()).select("loan_id", "rs_on", "grace", "tolerance")
    j = owing.join(params, "loan_id")
    late = j.filter(
        (j.due > j.rs_on)
        & ((today - j.due) == j.grace + 1)
        & (j.principal + j.interest > j.tolerance)
    )
    latest = late.group_by("loan_id").agg(late_seq=late.seq.max())
    a = left_join(a, latest, ["loan_id"])
    return a.mutate(rs_late_seq=ibis.coalesce(a.late_seq, a.rs_late_seq)).drop("late_seq")


def observe(a: Table, today: Today) -> Table:
    """The restructured mark clears ``today`` (``rs_cleared``) when its observation
    period has ended, the last ``rs_on_time`` installments fallen due since the
    restructuring were each paid on time (settled now, none of them past grace unpaid
    since: ``rs_late_seq``) and nothing is past grace unpaid (``rs_blocked``); it is
    judged on the day's dues after the day's money (``domain.observation``)."""
    k = a.rs_on_time
    clears = (
        a.rs_on.notnull()
        & a.rs_cleared.isnull()
        & (today >= a.rs_end)
        & (a.fell_seq - a.rs_first_seq.fill_null(a.fell_seq + 1) + 1 >= k)
        & (a.rs_blocked == 0)
        & (a.rs_late_seq.isnull() | (a.rs_late_seq <= a.fell_seq - k))
    )
    return a.mutate(rs_cleared=ibis.ifelse(clears, today.cast("int32"), a.rs_cleared))


def paused_days(a: Table, pauses: Table, today: Today) -> Table:
    """``paused``: each loan's paused days after the day its DPD counts from
    (``dpd_from``) through ``today`` (``domain.pauses.paused_days``)."""
    p = pauses.join(a.filter(a.dpd_from.notnull()).select("loan_id", "dpd_from"), "loan_id")
    first = ibis.greatest(p.pause_on, p.dpd_from + 1)
    last = ibis.least(p.pause_until.fill_null(today), today)
    per = p.group_by("loan_id").agg(paused_new=ibis.greatest(last - first + 1, 0).sum())
    a = left_join(a, per, ["loan_id"])
    return a.mutate(paused=a.paused_new.fill_null(0)).drop("paused_new")


def assess(a: Table, today: Today, catalog: Catalog, pauses: Table | None = None) -> Table:
    """DPD, bucket, five-tier class, first-payment default and status ``today``; the
    recoveries of loans written off, and the charge-off of loans reaching the rule. A
    restructured loan (``rs_on``) is at least its floor (``rs_floor``) until its mark
    clears (``observe``), unless repaid. With ``pauses``, DPD (and the charge-off
    rule's count) leaves out the paused days since the installment it counts from."""
    a = observe(recover(a), today)
    # a written-off loan has no dues left: it counts from the installment it was written
    # off with, and is 损失 whatever its DPD
    oldest_due = ibis.ifelse(a.written_off, a.anchor_due, a.oldest_due)
    raw = today - oldest_due.fill_null(today)
    if pauses is not None:
        # the day DPD counts from is the same after the charge-off (its anchor)
        a = paused_days(a.mutate(dpd_from=oldest_due), pauses, today)
        raw = today - a.dpd_from.fill_null(today) - a.paused
    a = charge_off(a, ibis.ifelse(raw > a.grace, raw, 0))
    oldest_due = ibis.ifelse(a.written_off, a.anchor_due, a.oldest_due)
    oldest_seq = ibis.ifelse(a.written_off, a.anchor_seq, a.oldest_seq)
    raw = today - oldest_due.fill_null(today)
    if pauses is not None:
        raw = raw - a.paused
    dpd = ibis.ifelse(raw > a.grace, raw, 0).cast("int32")
    edges = list(catalog.buckets.edges)
    names = list(catalog.buckets.names)
    class_edges = [a.cls_normal, a.cls_special_mention, a.cls_substandard, a.cls_doubtful]
    classes = ["normal", "special_mention", "substandard", "doubtful", "loss"]
    owed = a.not_due + a.principal_due + a.interest_due + a.penalty + a.compound + a.fee + a.costs
    status = ibis.cases(
        (a.written_off, "written_off"),
        ((owed == 0) & (a.last_due <= today), "closed"),
        else_="active",
    )
    a = a.mutate(dpd=dpd, status=status)
    marked = (
        a.rs_on.notnull()
        & (a.rs_on <= today)
        & (a.rs_cleared.isnull() | (today < a.rs_cleared))
        & (a.status != "closed")
    )
    rank = _case(a.dpd, class_edges, list(range(len(classes))))
    rank = ibis.ifelse(marked, ibis.greatest(rank, a.rs_floor.cast("int64")), rank)
    return a.mutate(
        as_of=today.cast("int32"),
        bucket=_case(a.dpd, edges, names),
        bucket_index=_case(a.dpd, edges, list(range(len(names)))).cast("int16"),
        loan_class=ibis.ifelse(
            a.written_off, "loss", ibis.cases(*[(rank == i, c) for i, c in enumerate(classes)])
        ),
        first_payment_default=(a.dpd > 0) & (oldest_seq.fill_null(0) == 1),
    )


def compare(a: Table) -> Table:
    """Flags against D-1 and the customer-level view."""
    a = a.mutate(
        roll_forward=a.bucket_index > a.prev_bucket_index,
        roll_back=a.bucket_index < a.prev_bucket_index,
        cured=(a.prev_dpd > 0) & (a.dpd == 0),
        newly_delinquent=(a.prev_dpd == 0) & (a.dpd > 0),
    )
    worst = a.group_by("customer_id").agg(
        customer_max_dpd=a.dpd.max(), customer_bucket_index=a.bucket_index.max()
    )
    return a.drop("customer_max_dpd", "customer_bucket_index").join(worst, "customer_id")


def new_accounts(loans: Table, today: Today, catalog: Catalog) -> Table:
    """Loans disbursed ``today``: opened, the whole principal not yet due, current."""
    new = loans.filter(loans.disbursed == today)
    opened: dict[str, Any] = {
        "as_of": today.cast("int32"),
        "status": "active",
        "bucket": catalog.buckets.names[0],
        "loan_class": "normal",
        "not_due": new.principal,
        "anchor_due": None,
        "anchor_seq": None,
        **dict.fromkeys(("rs_on", "rs_end", "rs_cleared", "rs_first_seq", "rs_late_seq")),
    }
    columns: dict[str, Any] = {}
    for name, dtype in [*ACCOUNTS_TYPES, ("prev_dpd", "int32"), ("prev_bucket_index", "int16")]:
        if name in loans.columns:
            columns[name] = new[name]
        else:
            value = opened.get(name, False if dtype == "boolean" else 0)
            columns[name] = value if isinstance(value, ir.Expr) else ibis.literal(value, dtype)
    return new.select(**columns)


STEPS: list[tuple[str, Callable[..., Any]]] = [
    ("book_events", book_events),  # a book with an events table (and ``waive_dues``)
    ("fall_due", fall_due),
    ("late_fees", late_fees),
    ("settle", settle),
    ("assess_dues", assess_dues),
    ("charge", charge),
    ("assess", assess),
    ("compare", compare),
]


@dataclass(frozen=True)
class Day:
    """One closed day: its accounts and dues, and the day's deltas the journal posts
    (``arrears.batch.journal``)."""

    accounts: Table  # ACCOUNTS columns (and ``refused`` when the book has events)
    dues: Table
    fell: Table  # installments falling due on the day, of loans not written off
    late: Table  # ``late_installments``: uncapped late fees and back charges
    waterfall: Table  # ``waterfall`` rows of the day's money
    # per loan: late fees (fee_new), back-charged 罚息/复利 (bp_new, bc_new), the day's
    # 罚息/复利 (pen_new, comp_new), paid_today, available (payments plus credit used)
    deltas: Table


def close_day(
    inputs: Inputs,
    day: int,
    catalog: Catalog,
    keep: Callable[[Table], Table] = lambda t: t,
    today: Today | None = None,
) -> tuple[Table, Table]:
    """Accounts and dues of ``day`` (a day number) from those of the day before.
    ``keep`` may materialise the intermediate tables that later steps read several
    times (worth it on Spark, where each reuse would otherwise be recomputed).
    ``today`` is the expression the SQL reads the day number from (by default the
    literal ``day``; ``arrears.batch.plan`` passes a placeholder to compile once)."""
    closed = close_day_tables(inputs, day, catalog, keep, today)
    return closed.accounts, closed.dues


def close_day_tables(
    inputs: Inputs,
    day: int,
    catalog: Catalog,
    keep: Callable[[Table], Table] = lambda t: t,
    today: Today | None = None,
) -> Day:
    """``close_day`` with the day's deltas kept (see ``Day``). ``day`` decides only
    what the SQL's shape depends on (``DayShape``); the day number itself is ``today``."""
    if today is None:
        today = _int(day)
    shape = day_shape(day)
    events = None if inputs.events is None else day_events(inputs.events, today)
    if events is not None:
        # the store posted them while the day was open: the close of D starts from them
        waived, owed_before = waive_dues(inputs.dues, events)
        booked = book_events(inputs.accounts, events, owed_before)
        inputs = replace(inputs, accounts=booked, dues=waived)
    fell, fell_totals = fall_due(inputs.schedule, inputs.accounts, today)
    owing = inputs.dues.union(fell.select("loan_id", "seq", "due", "principal", "interest"))
    opened = with_lpr(open_accounts(inputs, fell_totals, today), catalog)
    opened = post_unposted(opened, today)
    a = keep(went_late(late_fees(opened, owing, today), owing, today))
    rows = keep(waterfall(a, owing))
    per_loan, per_installment = settle(rows)
    dues = keep(remaining_dues(owing, per_installment))
    owed = assess_dues(dues, a, today)
    a = left_join(left_join(a, per_loan, ["loan_id"]), owed, ["loan_id"])
    zero = _int(0)
    a = a.mutate(
        settled_cost=a.settled_cost.fill_null(zero),
        settled_fee=a.settled_fee.fill_null(zero),
        settled_penalty=a.settled_penalty.fill_null(zero),
        settled_compound=a.settled_compound.fill_null(zero),
        settled_total=a.settled_total.fill_null(zero),
        principal_due=a.principal_due_right.fill_null(zero),
        interest_due=a.interest_due_right.fill_null(zero),
        overdue_principal=a.overdue_principal_right.fill_null(zero),
        overdue_interest=a.overdue_interest_right.fill_null(zero),
        rs_blocked=a.rs_blocked.fill_null(zero),
    )
    a = keep(charge(a, today, shape))
    deltas = a.select(
        "loan_id", "written_off", "fee_new", "bp_new", "bc_new", "pen_new", "comp_new",
        "paid_today", "available",
    )  # fmt: skip
    a = keep(assess(a, today, catalog, inputs.pauses))
    if any(p.charge_off.active for p in catalog.products.values()):
        # a loan charged off today leaves its dues (the shadow balances hold them)
        dues = dues.anti_join(a.filter(a.written_off), "loan_id")
    # with events, the accounts carry ``refused`` (``book_events``) after their columns:
    # the close refuses a day on which any loan has one (``arrears.batch.close``)
    extra = [] if events is None else ["refused"]
    columns = [*ACCOUNTS.names, "prev_dpd", "prev_bucket_index", *extra]
    opened_today = new_accounts(inputs.loans, today, catalog)
    if events is not None:
        opened_today = opened_today.mutate(refused=ibis.null("string"))
    a = compare(a.select(*columns).union(opened_today.select(*columns)))
    late = late_installments(opened, owing, today)
    return Day(a.select(*ACCOUNTS.names, *extra), dues, fell, late, rows, deltas)
