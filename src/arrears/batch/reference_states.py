"""Hand a sample book to the batch engine, and the domain core's own states for the
same days: the two sides of the equivalence check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pyarrow as pa

from arrears.batch.close import BatchBook
from arrears.batch.sample import SampleLoan
from arrears.batch.state import (
    ACCOUNTS,
    cents,
    day_number,
    handover,
    loans_table,
    pauses_table,
    payments_table,
    schedule_table,
    shadow_cells,
)
from arrears.domain.account import DayState, advance, state_of
from arrears.domain.products import Catalog

ONE_DAY = timedelta(days=1)


def prepare(
    book: BatchBook,
    sample: Sequence[SampleLoan],
    catalog: Catalog,
    start: date,
    events: pa.Table | None = None,
) -> None:
    """Write the static tables and the state of ``start``: loans disbursed by then are
    closed through ``start`` by the domain core and handed over. ``events``: the book's
    one-off waivers, fees and costs (``state.EVENTS``), dated after ``start``."""
    opened = []
    for loan in sample:
        if loan.account.terms.disbursed_on > start:
            continue
        early = [p for p in loan.payments if p.paid_on <= start]
        acc, _ = advance(loan.account, start, early)
        opened.append((acc, loan.customer_id))
    accounts, dues = handover(opened, catalog)
    loans = loans_table((s.account, s.customer_id) for s in sample)
    paused = [s.account for s in sample if s.account.pauses]
    book.write_static(
        catalog,
        loans=loans,
        schedule=schedule_table(s.account for s in sample),
        payments=payments_table(
            (s.account.loan_id, p) for s in sample for p in s.payments if p.paid_on > start
        ),
        **({"pauses": pauses_table(paused)} if paused else {}),
        **({"events": events} if events is not None else {}),
    )
    book.write_state(start, accounts, dues)


def reference_states(
    sample: Sequence[SampleLoan], catalog: Catalog, start: date, end: date
) -> dict[date, dict[str, DayState]]:
    """The domain core's state of every loan on every day from ``start`` to ``end``."""
    days: dict[date, dict[str, DayState]] = {}
    for loan in sample:
        acc = loan.account
        opened = acc.terms.disbursed_on
        if opened > start:
            days.setdefault(opened, {})[acc.loan_id] = state_of(acc, catalog)
            first = opened + ONE_DAY
        else:
            acc, _ = advance(acc, start, [p for p in loan.payments if p.paid_on <= start])
            days.setdefault(start, {})[acc.loan_id] = state_of(acc, catalog)
            first = start + ONE_DAY
        later = [p for p in loan.payments if p.paid_on > acc.closed_through]
        _, states = advance(acc, end, later, catalog, record_from=first)
        for state in states:
            days.setdefault(state.as_of, {})[state.loan_id] = state
    return days


def expected_rows(
    states: dict[date, dict[str, DayState]],
    sample: Sequence[SampleLoan],
    day: date,
) -> dict[str, dict[str, object]]:
    """What the batch engine's account rows must hold on ``day``: the domain state, the
    flags against the day before and the customer's worst DPD and bucket."""
    customer = {s.account.loan_id: s.customer_id for s in sample}
    today, yesterday = states[day], states.get(day - ONE_DAY, {})
    worst: dict[str, tuple[int, int]] = {}
    for lid, st in today.items():
        dpd, index = worst.get(customer[lid], (0, 0))
        worst[customer[lid]] = (max(dpd, st.dpd), max(index, st.bucket_index))
    out = {}
    for lid, st in today.items():
        before = yesterday.get(lid)
        prev_dpd = before.dpd if before else 0
        prev_index = before.bucket_index if before else 0
        max_dpd, max_index = worst[customer[lid]]
        out[lid] = {
            "as_of": day_number(day),
            "status": st.status,
            "dpd": st.dpd,
            "bucket": st.bucket,
            "bucket_index": st.bucket_index,
            "loan_class": st.loan_class,
            "first_payment_default": st.first_payment_default,
            "roll_forward": st.bucket_index > prev_index,
            "roll_back": st.bucket_index < prev_index,
            "cured": prev_dpd > 0 and st.dpd == 0,
            "newly_delinquent": prev_dpd == 0 and st.dpd > 0,
            "customer_max_dpd": max_dpd,
            "customer_bucket_index": max_index,
            "not_due": cents(st.principal_not_due),
            "principal_due": cents(st.principal_due),
            "interest_due": cents(st.interest_due),
            "overdue_principal": cents(st.overdue_principal),
            "overdue_interest": cents(st.overdue_interest),
            "penalty": cents(st.penalty),
            "compound": cents(st.compound),
            "fee": cents(st.fee),
            "costs": cents(st.costs),
            "credit": cents(st.credit),
            "paid_today": cents(st.paid_today),
            "charged": cents(st.charged_to_date),
            **shadow_cells(st),
        }
    return out


COMPARED = [
    name
    for name in ACCOUNTS.names
    if name
    not in (
        "loan_id",
        "customer_id",
        "product_code",
        "principal",
        "disbursed",
        "last_due",
        "written_off",
        "anchor_due",
        "anchor_seq",
        "charges",  # the cap's measures: checked through the charges they cut
        "overdue_days",
        # the unposted accruals: checked where products accrue unrounded
        # (tests/batch/test_loan_rules_equivalence.py) and through the charges posted
        "pen_accrued",
        "comp_accrued",
        # the restructured mark's working state: checked through the class it floors
        # (tests/batch/test_arrangements_equivalence.py)
        "fell_seq",
        "rs_on",
        "rs_end",
        "rs_floor",
        "rs_cleared",
        "rs_first_seq",
        "rs_late_seq",
    )
]


def differences(actual: pa.Table, expected: dict[str, dict[str, object]]) -> list[str]:
    """Every field where the batch rows differ from the domain core's, named."""
    problems = []
    rows = {r["loan_id"]: r for r in actual.to_pylist()}
    if set(rows) != set(expected):
        missing = sorted(set(expected) - set(rows))[:5]
        extra = sorted(set(rows) - set(expected))[:5]
        problems.append(f"loan sets differ: missing {missing}, extra {extra}")
    for lid in sorted(set(rows) & set(expected)):
        for name in COMPARED:
            if rows[lid][name] != expected[lid][name]:
                problems.append(
                    f"{lid} {name}: batch {rows[lid][name]!r}, domain {expected[lid][name]!r}"
                )
    return problems
