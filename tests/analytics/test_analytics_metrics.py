"""Each book metric on small snapshot sets written by hand, against arithmetic done by
hand: overdue-rate definitions, the roll-rate matrix, flows, cures, vintages, FPD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import pytest
from analytics_support import loan_facts, snapshot_days, state

from arrears.analytics.history import month_end, month_ends
from arrears.analytics.portfolio import OverdueDefinition, bucket_distribution, overdue_series
from arrears.analytics.rolls import (
    CLOSED,
    WRITTEN_OFF,
    cure_rates,
    flow_rates,
    monthly_matrices,
    net_flow_to_write_off,
    roll_matrix,
    transitions,
)
from arrears.analytics.vintage import (
    first_payment_default_rates,
    months_on_book,
    vintage_curves,
)

JAN, FEB, MAR = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)


def tables(days, facts_rows):
    con = ibis.duckdb.connect()
    snap = con.create_table("snap", snapshot_days(days))
    facts = con.create_table("facts", loan_facts(facts_rows))
    return snap, facts


def test_month_ends_cover_each_month_through_the_last_day():
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert month_ends(date(2025, 11, 15), date(2026, 2, 27)) == [
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 31),
    ]


def test_overdue_rate_follows_the_chosen_definition():
    rows = [
        state("A", principal="6000.00"),
        state("B", 15, 1, principal="1000.00", overdue="100.00"),
        state("C", 75, 3, principal="2000.00", overdue="500.00"),
        state("D", 200, 7, principal="1000.00", overdue="900.00"),
        state("E", status="closed", principal="0.00"),  # closed loans are not in the book
    ]
    snap, _ = tables({JAN: rows}, [("A", "1", JAN, None, "active")])
    m1 = overdue_series(snap, OverdueDefinition.parse("M1+"))[0]
    assert (m1.loans, m1.overdue_loans) == (4, 3)
    assert m1.rate_count == Decimal("0.7500")
    assert m1.principal == Decimal("10000.00") and m1.overdue_principal == Decimal("4000.00")
    assert m1.rate_amount == Decimal("0.4000")
    m3 = overdue_series(snap, OverdueDefinition.parse("m3+"))[0]
    assert (m3.overdue_loans, m3.rate_count, m3.rate_amount) == (
        2,
        Decimal("0.5000"),
        Decimal("0.3000"),
    )
    dist = {p.bucket_index: (p.loans, p.principal) for p in bucket_distribution(snap)}
    assert dist == {
        0: (1, Decimal("6000.00")),
        1: (1, Decimal("1000.00")),
        3: (1, Decimal("2000.00")),
        7: (1, Decimal("1000.00")),
    }


@pytest.mark.parametrize("bad", ["M", "X1+", "M10+", ""])
def test_a_bad_overdue_definition_is_refused_with_the_forms_allowed(bad):
    with pytest.raises(ValueError, match="M1\\+"):
        OverdueDefinition.parse(bad)


# Jan → Feb: A stays M0, B rolls to M1, C (M1) cures, D (M1) repays and leaves,
# E rolls M2 → M3, F (M1) leaves written off; G is new in February (not counted).
ROLL_DAYS = {
    JAN: [
        state("A", principal="1000.00"),
        state("B", principal="3000.00"),
        state("C", 10, 1, principal="500.00", overdue="50.00"),
        state("D", 20, 1, principal="200.00", overdue="20.00"),
        state("E", 50, 2, principal="800.00", overdue="160.00"),
        state("F", 25, 1, principal="300.00", overdue="30.00"),
    ],
    FEB: [
        state("A", principal="900.00"),
        state("B", 10, 1, principal="3000.00", overdue="300.00"),
        state("C", principal="450.00"),
        state("E", 80, 3, principal="800.00", overdue="240.00"),
        state("G", principal="5000.00"),
    ],
}
ROLL_FACTS = [
    (lid, "1000.00", date(2025, 6, 1), date(2025, 7, 1), final)
    for lid, final in [
        ("A", "active"), ("B", "active"), ("C", "active"), ("D", "closed"),
        ("E", "active"), ("F", "written_off"), ("G", "active"),
    ]
]  # fmt: skip


def test_roll_matrix_counts_each_loan_once_and_rows_sum_to_one():
    snap, facts = tables(ROLL_DAYS, ROLL_FACTS)
    m = roll_matrix(transitions(snap, facts, [(JAN, FEB)]), 8)
    assert m.loans[0, 0] == 1 and m.loans[0, 1] == 1
    assert m.loans[1, 0] == 1 and m.loans[1, CLOSED] == 1 and m.loans[1, WRITTEN_OFF] == 1
    assert m.loans[2, 3] == 1
    assert sum(m.loans.values()) == 6  # G, new in February, is no transition
    assert m.amounts[0, 1] == Decimal("3000.00")  # amount = principal at the start month
    assert m.share_count(1, 0) == Decimal("0.3333")
    assert m.share_amount(0, 1) == Decimal("0.7500")
    for i in (0, 1, 2):
        assert sum(m.loans.get((i, j), 0) for j in m.columns) == m.row_loans(i)
        assert abs(sum(m.share_count(i, j) for j in m.columns) - 1) <= Decimal("0.0005")
        exact = sum(m.exact_share_amount(i, j) for j in m.columns)
        assert abs(exact - 1) < Decimal("1e-20")


def test_flow_rates_chain_into_net_flow_to_write_off():
    snap, facts = tables(ROLL_DAYS, ROLL_FACTS)
    m = roll_matrix(transitions(snap, facts, [(JAN, FEB)]), 8)
    flows = {f.from_bucket: f for f in flow_rates(m)}
    assert flows[0].rate_count == Decimal("0.5000") and flows[0].rate_amount == Decimal("0.7500")
    assert flows[1].rate_count == Decimal("0")  # none of M1 went to M2
    assert flows[2].rate_count == Decimal("1.0000")
    assert net_flow_to_write_off(m) == 0  # the chain breaks at M1 → M2
    # a book where each bucket rolls half its principal on: the product of the halves
    half = {
        JAN: [state(f"L{k}a", 10 * k, k) for k in range(8)]
        + [state(f"L{k}b", 10 * k, k) for k in range(8)],
        FEB: [state(f"L{k}a", 10 * k + 30, min(k + 1, 7)) for k in range(8)]
        + [state(f"L{k}b", 10 * k, k) for k in range(8)],
    }
    facts_rows = [(r[0], "1000.00", date(2025, 1, 1), None, "active") for r in half[JAN]]
    snap, facts = tables(half, facts_rows)
    m = roll_matrix(transitions(snap, facts, [(JAN, FEB)]), 8)
    assert net_flow_to_write_off(m) == Decimal("0.007812")  # 0.5 ** 7 = 0.0078125


def test_the_flow_into_the_last_bucket_counts_loans_charged_off_on_the_way():
    # each bucket rolls half its principal on, as above, but the M6 loan that rolls on
    # is charged off at 180 DPD (written off in the store, gone from February's
    # snapshot): it reached the write-off point all the same
    half = {
        JAN: [state(f"L{k}a", 10 * k, k) for k in range(8)]
        + [state(f"L{k}b", 10 * k, k) for k in range(8)],
        FEB: [state(f"L{k}a", 10 * k + 30, min(k + 1, 7)) for k in range(8) if k != 6]
        + [state(f"L{k}b", 10 * k, k) for k in range(8)],
    }
    facts_rows = [
        (r[0], "1000.00", date(2025, 1, 1), None, "written_off" if r[0] == "L6a" else "active")
        for r in half[JAN]
    ]
    snap, facts = tables(half, facts_rows)
    m = roll_matrix(transitions(snap, facts, [(JAN, FEB)]), 8)
    assert m.loans[6, WRITTEN_OFF] == 1 and m.loans.get((6, 7), 0) == 0
    flows = {f.from_bucket: f for f in flow_rates(m)}
    assert flows[6].rate_count == Decimal("0.5000")  # M6 → M7+ or written off
    assert flows[5].rate_count == Decimal("0.5000")  # earlier flows count buckets only
    assert net_flow_to_write_off(m) == Decimal("0.007812")
    # a loan written off from an earlier bucket did not flow to the next bucket
    facts_rows = [
        (lid, a, d, c, "written_off" if lid == "L2a" else s) for lid, a, d, c, s in facts_rows
    ]
    half[FEB] = [r for r in half[FEB] if r[0] != "L2a"]
    snap, facts = tables(half, facts_rows)
    m = roll_matrix(transitions(snap, facts, [(JAN, FEB)]), 8)
    assert {f.from_bucket: f for f in flow_rates(m)}[2].rate_count == 0


def test_cure_rates_count_current_or_repaid_at_the_next_month_end():
    snap, facts = tables(ROLL_DAYS, ROLL_FACTS)
    m = roll_matrix(transitions(snap, facts, [(JAN, FEB)]), 8)
    rates = {c.bucket: c for c in cure_rates(m)}
    # M1 at January: C cured, D repaid, F written off → 2 of 3
    assert (rates[1].delinquent_loans, rates[1].cured_loans) == (3, 2)
    assert rates[1].cured_amount == Decimal("700.00")
    assert rates[2].cured_loans == 0
    assert (rates[0].delinquent_loans, rates[0].cured_loans) == (4, 2)


def test_a_cure_is_counted_once_across_months():
    days = {
        JAN: [state("X", 20, 1, overdue="50.00")],
        FEB: [state("X")],  # cured in February …
        MAR: [state("X")],  # … and still current in March: no second cure
    }
    snap, facts = tables(days, [("X", "1000.00", date(2025, 1, 1), None, "active")])
    moves = transitions(snap, facts, [(JAN, FEB), (FEB, MAR)])
    pooled = roll_matrix(moves, 8)
    assert cure_rates(pooled)[0].cured_loans == 1
    assert cure_rates(pooled)[0].delinquent_loans == 1
    assert set(monthly_matrices(moves, 8)) == {JAN, FEB}


def test_months_on_book_counts_calendar_months_from_disbursement():
    assert months_on_book(date(2026, 1, 15), date(2026, 1, 31)) == 0
    assert months_on_book(date(2026, 1, 1), date(2026, 3, 31)) == 2
    assert months_on_book(date(2025, 12, 31), date(2026, 1, 31)) == 1


def test_vintage_curve_is_overdue_share_of_the_vintage_by_months_on_book():
    days = {
        JAN: [state("V1", principal="1000.00"), state("V2", principal="3000.00")],
        FEB: [
            state("V1", principal="900.00"),
            state("V2", 20, 1, principal="2800.00", overdue="250.00"),
            state("W1", 10, 1, principal="500.00", overdue="10.00"),
        ],
        MAR: [
            state("V1", 70, 3, principal="900.00", overdue="200.00"),
            state("V2", principal="2500.00"),
            state("W1", principal="500.00"),
        ],
    }
    facts = [
        ("V1", "1000.00", date(2026, 1, 5), date(2026, 2, 5), "active"),
        ("V2", "4000.00", date(2026, 1, 20), date(2026, 2, 20), "active"),
        ("W1", "500.00", date(2026, 2, 3), date(2026, 3, 3), "active"),
    ]
    snap, f = tables(days, facts)
    curves = {
        (p.vintage, p.mob): p
        for p in vintage_curves(snap, f, [JAN, FEB, MAR], OverdueDefinition(1))
    }
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)
    assert set(curves) == {(jan, 0), (jan, 1), (jan, 2), (feb, 0), (feb, 1)}
    assert curves[jan, 0].rate_count == 0
    assert curves[jan, 1].rate_count == Decimal("0.5000")
    assert curves[jan, 1].rate_amount == Decimal("0.5600")  # 2800 / (1000 + 4000)
    assert curves[jan, 2].overdue_principal == Decimal("900.00")
    assert curves[feb, 0].rate_count == 1 and curves[feb, 1].rate_count == 0
    m3 = {(p.vintage, p.mob): p for p in vintage_curves(snap, f, [MAR], OverdueDefinition(3))}
    assert m3[jan, 2].overdue_loans == 1


def test_first_payment_default_counts_first_installments_30_days_late():
    days = {
        JAN: [state("F1", 35, 2, overdue="80.00", fpd=True), state("F2", 10, 1, fpd=True)],
        FEB: [state("F1", 63, 3, fpd=True), state("F2"), state("F3", 40, 2)],
    }
    facts = [
        ("F1", "1000.00", date(2025, 11, 10), date(2025, 12, 10), "active"),
        ("F2", "1000.00", date(2025, 11, 20), date(2025, 12, 20), "active"),
        ("F3", "1000.00", date(2025, 11, 25), date(2025, 12, 25), "active"),  # later one
        ("F4", "1000.00", date(2026, 1, 25), date(2026, 2, 25), "active"),  # not yet due 30d
    ]
    snap, f = tables(days, facts)
    (nov,) = first_payment_default_rates(snap, f, FEB)
    assert nov.vintage == date(2025, 11, 1)
    assert (nov.eligible_loans, nov.defaulted_loans) == (3, 1)
    assert nov.rate == Decimal("0.3333")


def test_the_default_period_is_twelve_calendar_months():
    from arrears.analytics.report import default_period

    assert default_period(date(2026, 11, 30)) == (date(2025, 12, 1), date(2026, 11, 30))
    assert default_period(date(2026, 1, 5)) == (date(2025, 2, 1), date(2026, 1, 5))
