"""The batch engine's tables: a book (static contract data), a dated state, the day's
payments, and the product parameters as exact integers.

Everything the engine computes is in integer minor units (cents) and day numbers (days
since 1970-01-01), so DuckDB and Spark do exact integer arithmetic and agree with the
domain core to the cent; the snapshot turns cents into DECIMAL(18,2) at the end.

Tables (all Arrow / Parquet):

- ``schedule``: loan_id, seq, due (day), principal, interest — the contract schedule;
- ``accounts``: one row per loan on a date: the loan-level balances, the static fields
  the close needs (customer, product, principal, disbursement day, last due day) and
  the day's assessment (DPD, bucket, flags);
- ``dues``: one row per fallen-due installment still owing principal or interest;
- ``payments``: loan_id, paid_on (day), amount;
- ``events`` (optional): one-off waivers, fees and enforcement costs, each on its day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa

from arrears.domain.account import (
    DayState,
    LoanAccount,
    Payment,
    dpd_anchor,
    interest_fallen_due,
    restructuring_of,
)
from arrears.domain.ledger import LOAN_LEVEL, Account
from arrears.domain.money import MINOR_UNITS
from arrears.domain.observation import settled_on
from arrears.domain.products import (
    CLASS_ORDER,
    AccrualRounding,
    CapBasis,
    Catalog,
    ChargeDays,
    Component,
    InstallmentOrder,
    PenaltyFrom,
    Product,
    WaterfallMode,
)

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + n)


def cents(amount: Decimal) -> int:
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(value)


SCHEDULE = pa.schema(
    [
        ("loan_id", pa.string()),
        ("seq", pa.int32()),
        ("due", pa.int32()),
        ("principal", pa.int64()),
        ("interest", pa.int64()),
    ]
)

DUES = SCHEDULE

LOANS = pa.schema(
    [
        ("loan_id", pa.string()),
        ("customer_id", pa.string()),
        ("product_code", pa.string()),
        ("principal", pa.int64()),
        ("disbursed", pa.int32()),
        ("last_due", pa.int32()),
    ]
)

PAYMENTS = pa.schema([("loan_id", pa.string()), ("paid_on", pa.int32()), ("amount", pa.int64())])
# the payments table a book writes: with each payment's reference, which its journal
# entry is posted under (the close itself reads only the first three columns)
PAYMENTS_WITH_REF = pa.schema([*PAYMENTS, ("ref", pa.string())])

# DPD pauses (domain/pauses.py): the loan's arrears do not age on the days pause_on …
# pause_until (null: open); a book with none has no pauses table
PAUSES = pa.schema(
    [("loan_id", pa.string()), ("pause_on", pa.int32()), ("pause_until", pa.int32())]
)

# one-off events (optional, like pauses): on their day ``value_day``, before the close of
# that day (as the store posts them while the day is open: ``engine.book_events``), a
# ``fee`` (charged uncapped, counted toward the cost cap), a ``cost`` (实现债权的有关费用:
# outside the cap) or a ``waiver`` (减免) of ``component`` (a ``Component`` value), oldest
# installment first for interest and principal; the day's fees and costs come before its
# waivers
EVENTS = pa.schema(
    [
        ("loan_id", pa.string()),
        ("value_day", pa.int32()),
        ("kind", pa.string()),
        ("component", pa.string()),
        ("amount", pa.int64()),
        ("ref", pa.string()),
    ]
)
EVENT_KINDS = ("fee", "cost", "waiver")

# the shadow balance columns' names (shadow_<name>) and the components they hold
SHADOW_COMPONENTS = ("principal", "interest", "penalty", "compound", "fee", "costs")

# balances and counters of an account row, in cents
ACCOUNT_MONEY = (
    "not_due",
    "principal_due",
    "interest_due",
    "overdue_principal",
    "overdue_interest",
    "penalty",
    "compound",
    "fee",
    "costs",  # enforcement costs (实现债权的费用)
    "credit",
    "paid_today",
    "charged",
    "charges",  # 罚息, 复利 and fees since disbursement: a cap on basis overdue measures it
    "overdue_days",  # principal past due summed over the days (cent-days): its allowance
    # a written-off loan's shadow balances: what it owes off the book, by component, after
    # the recoveries since (applied in the product's recovery order)
    *(f"shadow_{name}" for name in SHADOW_COMPONENTS),
)

ACCOUNTS = pa.schema(
    [
        ("loan_id", pa.string()),
        ("customer_id", pa.string()),
        ("product_code", pa.string()),
        ("principal", pa.int64()),
        ("disbursed", pa.int32()),
        ("last_due", pa.int32()),
        ("written_off", pa.bool_()),
        # a written-off loan's DPD counts from the installment it had when written off
        ("anchor_due", pa.int32()),
        ("anchor_seq", pa.int32()),
        ("as_of", pa.int32()),
        ("status", pa.string()),
        ("dpd", pa.int32()),
        ("bucket", pa.string()),
        ("bucket_index", pa.int16()),
        ("loan_class", pa.string()),
        ("first_payment_default", pa.bool_()),
        ("roll_forward", pa.bool_()),
        ("roll_back", pa.bool_()),
        ("cured", pa.bool_()),
        ("newly_delinquent", pa.bool_()),
        ("customer_max_dpd", pa.int32()),
        ("customer_bucket_index", pa.int16()),
        *[(name, pa.int64()) for name in ACCOUNT_MONEY],
        # 罚息 and 复利 accrued and not yet posted by a product that rounds when posting
        # (accrual_rounding monthly / at_payment), exact: in 1/pen_den (1/comp_den) of a
        # cent of the loan's product (the domain's LoanAccount.unposted)
        ("pen_accrued", pa.int64()),
        ("comp_accrued", pa.int64()),
        ("fell_seq", pa.int32()),  # the last installment fallen due (0: none yet)
        # restructured (重组, domain/observation.py): the day of the last restructuring
        # (null: never), the last day of its observation period, the rank of the class it
        # is at least while marked (CLASS_ORDER), the day the mark cleared (null: not
        # yet), the first installment due after it (null: none), and the last of those
        # that went past grace unpaid (null: none; the on-time streak counts after it)
        ("rs_on", pa.int32()),
        ("rs_end", pa.int32()),
        ("rs_floor", pa.int16()),
        ("rs_cleared", pa.int32()),
        ("rs_first_seq", pa.int32()),
        ("rs_late_seq", pa.int32()),
    ]
)

# the components' codes in the allocation table
FEE, PENALTY, COMPOUND, INTEREST, PRINCIPAL, COST = range(6)
_CODE = {
    Component.COST: COST,
    Component.FEE: FEE,
    Component.PENALTY: PENALTY,
    Component.COMPOUND: COMPOUND,
    Component.INTEREST: INTEREST,
    Component.PRINCIPAL: PRINCIPAL,
}


# ACT/ACT charges: rates over 365 × 366 days, a day counting 366 (or 365 in a leap year)
ACT_ACT_BASIS = 365 * 366


def charge_ratios(product: Product) -> tuple[tuple[int, int], tuple[int, int]]:
    """罚息 and 复利 rates over their day basis as exact fractions (num, den)."""
    rules = product.charges
    basis = ACT_ACT_BASIS if rules.charge_days is ChargeDays.ACT_ACT else product.day_count.basis
    return _ratio(rules.penalty_rate, basis), _ratio(rules.compound_rate, basis)


def accrued_units(acc: LoanAccount) -> tuple[int, int]:
    """``acc``'s unposted 罚息 and 复利 in 1/pen_den and 1/comp_den of a cent."""
    (_, pen_den), (_, comp_den) = charge_ratios(acc.product)
    out = []
    for amount, den in zip(acc.unposted, (pen_den, comp_den), strict=True):
        units = amount * 100 * den
        if units.denominator != 1:
            raise ValueError(f"loan {acc.loan_id}: unposted {amount} is not in 1/{den} cents")
        out.append(int(units))
    return out[0], out[1]


def _ratio(rate: Decimal, basis: int = 1) -> tuple[int, int]:
    """``rate / basis`` as an exact integer fraction (0/1 for a zero rate)."""
    f = Fraction(rate) / basis
    return f.numerator, f.denominator


def product_row(code: str, product: Product) -> dict[str, object]:
    """One product's parameters as integers: rates as exact fractions over their day
    basis, amounts in cents, and the waterfall as sort keys (major, minor) per
    component plus the installment direction."""
    if MINOR_UNITS.get(product.currency, 2) != 2:
        raise ValueError(f"product {code}: the batch engine handles two-decimal currencies")
    rules = product.charges
    (pen_num, pen_den), (comp_num, comp_den) = charge_ratios(product)
    fee_num, fee_den = _ratio(rules.late_fee_rate)
    # the cap's yearly rate over 365, or for a multiple of the LPR that multiple (the
    # engine multiplies in the LPR of each loan's contract date)
    cap = rules.cost_cap if rules.cost_cap_lpr_multiple is None else rules.cost_cap_lpr_multiple
    cap_num, cap_den = (0, 0) if cap is None else _ratio(cap, 365)
    waterfall = product.waterfall
    order = waterfall.full_order  # costs placed (first unless the order names them)
    keys: dict[int, tuple[int, int]] = {}
    if waterfall.mode is WaterfallMode.BY_INSTALLMENT:
        first = min(order.index(Component.INTEREST), order.index(Component.PRINCIPAL))
        for pos, component in enumerate(order):
            keys[_CODE[component]] = (first, pos) if component.per_installment else (pos, 0)
    else:
        for pos, component in enumerate(order):
            keys[_CODE[component]] = (pos, 0)
    row: dict[str, object] = {
        "product_code": code,
        "grace": product.grace_days,
        "tolerance": cents(product.arrears_tolerance),
        "pen_num": pen_num,
        "pen_den": pen_den,
        "comp_num": comp_num,
        "comp_den": comp_den,
        "fee_fixed": cents(rules.late_fee_fixed),
        "fee_num": fee_num,
        "fee_den": fee_den,
        "cap_num": cap_num,
        "cap_den": cap_den,
        "cap_overdue": rules.cost_cap_basis is CapBasis.OVERDUE,
        "pen_back": rules.penalty_from is PenaltyFrom.DUE_DATE,
        "charge_30_360": rules.charge_days is ChargeDays.THIRTY_360,
        "act_act": rules.charge_days is ChargeDays.ACT_ACT,
        "accrue_exact": rules.exact,
        "post_monthly": rules.accrual_rounding is AccrualRounding.MONTHLY,
        "cap_lpr": rules.cost_cap_lpr_multiple is not None,
        "inst_dir": 1 if waterfall.installments is InstallmentOrder.OLDEST_FIRST else -1,
    }
    for code_, (major, minor) in keys.items():
        row[f"major_{code_}"] = major
        row[f"minor_{code_}"] = minor
    return row


def products_table(catalog: Catalog) -> pa.Table:
    rows = []
    for code, p in sorted(catalog.products.items()):
        row = product_row(code, p)
        c = catalog.classification_of(p)  # 五级分类 thresholds, the product's or the book's
        # the charge-off rule: its DPD (0: never), and the rank of each component in the
        # order recoveries reduce the shadow balances (rec_<code>)
        order = p.charge_off.order(p.waterfall)
        row |= {f"rec_{_CODE[comp]}": order.index(comp) for comp in Component}
        row |= {
            "co_dpd": p.charge_off.threshold(c) or 0,
            "cls_normal": c.normal,
            "cls_special_mention": c.special_mention,
            "cls_substandard": c.substandard,
            "cls_doubtful": c.doubtful,
            "rs_on_time": p.restructured.on_time_payments,
        }
        rows.append(row)
    return pa.Table.from_pylist(rows)


def schedule_table(accounts: Iterable[LoanAccount]) -> pa.Table:
    rows = [
        (
            acc.loan_id,
            inst.seq,
            day_number(inst.due_date),
            cents(inst.principal),
            cents(inst.interest),
        )
        for acc in accounts
        for inst in acc.schedule
    ]
    rows.sort(key=lambda r: (r[2], r[0], r[1]))  # by due day: a day's rows are contiguous
    return _table(rows, SCHEDULE)


def loans_table(loans: Iterable[tuple[LoanAccount, str]]) -> pa.Table:
    """The book's static loan rows from ``(account, customer id)`` pairs."""
    rows = [
        (
            acc.loan_id,
            customer,
            acc.product.code,
            cents(acc.terms.principal),
            day_number(acc.terms.disbursed_on),
            day_number(acc.schedule[-1].due_date),
        )
        for acc, customer in loans
    ]
    return _table(rows, LOANS)


def pauses_table(accounts: Iterable[LoanAccount]) -> pa.Table:
    """The DPD pauses of ``accounts``."""
    rows = [
        (
            acc.loan_id,
            day_number(p.on),
            None if p.until is None else day_number(p.until),
        )
        for acc in accounts
        for p in acc.pauses
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    return _table(rows, PAUSES)


def events_table(events: Iterable[tuple[str, str, date, str | None, Decimal, str]]) -> pa.Table:
    """The events table from ``(loan_id, kind, day, component, amount, ref)``: a waiver
    names its component, a fee or cost none."""
    rows = []
    for lid, kind, on, component, amount, ref in events:
        if kind not in EVENT_KINDS:
            raise ValueError(f"loan {lid}: event {ref!r} is a {kind!r}, not one of {EVENT_KINDS}")
        if (component is None) != (kind != "waiver"):
            raise ValueError(f"loan {lid}: event {ref!r}: only a waiver names a component")
        if component is not None:
            Component(component)  # a known component, or ValueError
        if amount <= 0:
            raise ValueError(f"loan {lid}: event {ref!r}: amount must be positive, got {amount}")
        rows.append((lid, day_number(on), kind, component, cents(amount), ref))
    rows.sort(key=lambda r: (r[1], r[0], r[5]))
    return _table(rows, EVENTS)


def payments_table(payments: Iterable[tuple[str, Payment]]) -> pa.Table:
    rows = [(lid, day_number(p.paid_on), cents(p.amount), p.ref) for lid, p in payments]
    rows.sort(key=lambda r: (r[1], r[0], r[3]))
    return _table(rows, PAYMENTS_WITH_REF)


def _table(rows: Sequence[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.Table.from_arrays(
        [pa.array(col, f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )


def dues_rows(acc: LoanAccount) -> list[tuple[str, int, int, int, int]]:
    """The fallen-due installments of ``acc`` still owing principal or interest."""
    owed: dict[int, list[int]] = {}
    for (seq, account), value in acc.ledger.balances.items():
        if seq != LOAN_LEVEL and account in (Account.PRINCIPAL, Account.INTEREST) and value:
            pair = owed.setdefault(seq, [0, 0])
            pair[0 if account is Account.PRINCIPAL else 1] += cents(value)
    return [
        (acc.loan_id, seq, day_number(acc.schedule[seq - 1].due_date), p, i)
        for seq, (p, i) in sorted(owed.items())
        if p + i > 0
    ]


def account_row(
    acc: LoanAccount, customer_id: str, state: DayState, catalog: Catalog
) -> dict[str, object]:
    """The batch account row of ``acc`` from its domain state (for handing a book
    closed by the domain core over to the batch engine)."""
    anchor = dpd_anchor(acc, state.as_of) if acc.ledger.written_off else None
    return {
        "loan_id": acc.loan_id,
        "customer_id": customer_id,
        "product_code": acc.product.code,
        "principal": cents(acc.terms.principal),
        "disbursed": day_number(acc.terms.disbursed_on),
        "last_due": day_number(acc.schedule[-1].due_date),
        "written_off": acc.ledger.written_off,
        "anchor_due": day_number(anchor.due_date) if anchor else None,
        "anchor_seq": anchor.seq if anchor else None,
        "as_of": day_number(state.as_of),
        "status": state.status,
        "dpd": state.dpd,
        "bucket": state.bucket,
        "bucket_index": state.bucket_index,
        "loan_class": state.loan_class,
        "first_payment_default": state.first_payment_default,
        "roll_forward": False,
        "roll_back": False,
        "cured": False,
        "newly_delinquent": False,
        "customer_max_dpd": 0,
        "customer_bucket_index": 0,
        "not_due": cents(state.principal_not_due),
        "principal_due": cents(state.principal_due),
        "interest_due": cents(state.interest_due),
        "overdue_principal": cents(state.overdue_principal),
        "overdue_interest": cents(state.overdue_interest),
        "penalty": cents(state.penalty),
        "compound": cents(state.compound),
        "fee": cents(state.fee),
        "costs": cents(state.costs),
        "credit": cents(state.credit),
        "paid_today": cents(state.paid_today),
        "charged": cents(state.charged_to_date),
        "charges": cents(state.charged_to_date - interest_fallen_due(acc, state.as_of)),
        "overdue_days": cents(acc.overdue_days),
        "pen_accrued": accrued_units(acc)[0],
        "comp_accrued": accrued_units(acc)[1],
        **shadow_cells(state),
        **restructured_cells(acc, state.as_of, catalog),
    }


def restructured_cells(acc: LoanAccount, day: date, catalog: Catalog) -> dict[str, object]:
    """The ``fell_seq`` and ``rs_*`` cells of ``acc`` at the end of ``day``: its last
    restructuring (as ``domain.observation`` judges it), the first installment due after
    it and the last of those that went past grace unpaid."""
    fell = [i.seq for i in acc.schedule if i.due_date <= day]
    r = restructuring_of(acc, day, catalog)
    if r is None:
        none = dict.fromkeys(("rs_on", "rs_end", "rs_cleared", "rs_first_seq", "rs_late_seq"))
        return {"fell_seq": max(fell, default=0), "rs_floor": 0, **none}
    grace = timedelta(days=acc.product.grace_days)
    settled = settled_on(acc.ledger, day, acc.product.arrears_tolerance)
    late = [
        i.seq
        for i in acc.schedule
        if r.on < i.due_date and i.due_date + grace < day
        and (settled.get(i.seq) or date.max) > i.due_date + grace
    ]  # fmt: skip
    first = next((i.seq for i in acc.schedule if i.due_date > r.on), None)
    return {
        "fell_seq": max(fell, default=0),
        "rs_on": day_number(r.on),
        "rs_end": day_number(r.observation_end),
        "rs_floor": CLASS_ORDER.index(r.floor),
        "rs_cleared": None if r.cleared_on is None else day_number(r.cleared_on),
        "rs_first_seq": first,
        "rs_late_seq": max(late, default=None),
    }


def shadow_cells(state: DayState) -> dict[str, int]:
    """The ``shadow_*`` cells of a domain state, in cents."""
    s = state.shadow
    values = (s.principal, s.interest, s.penalty, s.compound, s.fee, s.cost)
    return {
        f"shadow_{name}": cents(value)
        for name, value in zip(SHADOW_COMPONENTS, values, strict=True)
    }


def handover(
    accounts: Sequence[tuple[LoanAccount, str]], catalog: Catalog
) -> tuple[pa.Table, pa.Table]:
    """Accounts and dues tables of a book the domain core closed through one date."""
    from arrears.domain.account import state_of

    rows = [account_row(acc, cust, state_of(acc, catalog), catalog) for acc, cust in accounts]
    rows.sort(key=lambda r: str(r["loan_id"]))
    worst: dict[object, tuple[int, int]] = {}
    for r in rows:
        dpd, index = worst.get(r["customer_id"], (0, 0))
        worst[r["customer_id"]] = (max(dpd, int(r["dpd"])), max(index, int(r["bucket_index"])))  # type: ignore[call-overload]
    for r in rows:
        r["customer_max_dpd"], r["customer_bucket_index"] = worst[r["customer_id"]]
    dues = [row for acc, _ in accounts for row in dues_rows(acc)]
    dues.sort(key=lambda r: (r[0], r[1]))
    return pa.Table.from_pylist(rows, schema=ACCOUNTS), _table(dues, DUES)
