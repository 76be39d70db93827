"""The readout on constructed data with known outcomes: cure rates, recovered amounts,
their intervals (checked against independent float formulas and SciPy's t quantile)
and the window rules."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest
from scipy import stats as scipy_stats

from arrears.strategy.readout import readout
from arrears.strategy.stats import t_quantile, wilson

D1 = date(2026, 11, 1)
D2, D3 = D1 + timedelta(days=1), D1 + timedelta(days=2)
N = 1000
Z = 1.959963984540054


def wilson_float(x, n):
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def book():
    """Champion: 300 of 1000 cured, mean recovered 60.00; challenger: 400 of 1000
    cured, mean 110.00. Payments on the assignment day (5.00 each) must not count."""
    asg, snaps = [], []
    for arm, cured, paid_even, paid_odd in (
        ("champion", 300, 100, 0),
        ("challenger", 400, 150, 50),
    ):
        for k in range(N):
            loan = f"{arm}-{k}"
            case = len(asg) + 1
            asg.append((D1, case, loan, "s", arm))
            snaps.append((D1, loan, 10, Decimal("5.00")))
            snaps.append((D2, loan, 11, Decimal(paid_even if k % 2 == 0 else paid_odd)))
            snaps.append((D3, loan, 0 if k < cured else 12, Decimal("10.00")))
    return asg, snaps


def tables(asg, snaps):
    a = pa.table(
        {
            "as_of": pa.array([r[0] for r in asg], pa.date32()),
            "case_id": pa.array([r[1] for r in asg], pa.int64()),
            "loan_id": [r[2] for r in asg],
            "strategy": [r[3] for r in asg],
            "arm": [r[4] for r in asg],
        }
    )
    s = pa.table(
        {
            "as_of": pa.array([r[0] for r in snaps], pa.date32()),
            "loan_id": [r[1] for r in snaps],
            "dpd": pa.array([r[2] for r in snaps], pa.int32()),
            "paid_today": pa.array([r[3] for r in snaps], pa.decimal128(18, 2)),
        }
    )
    return ibis.memtable(a), ibis.memtable(s)


@pytest.fixture(scope="module")
def result():
    return readout(*tables(*book()), "s", D1, D3, "champion")


def test_cure_rates_and_wilson_intervals(result):
    champion, challenger = result.arms
    assert (champion.arm, champion.cases, champion.cured) == ("champion", N, 300)
    assert (challenger.arm, challenger.cured) == ("challenger", 400)
    assert challenger.cure_rate == Decimal("0.4000")
    for arm, x in ((champion, 300), (challenger, 400)):
        low, high = wilson_float(x, N)
        assert float(arm.cure_ci[0]) == pytest.approx(low, abs=1e-4)
        assert float(arm.cure_ci[1]) == pytest.approx(high, abs=1e-4)


def test_cure_difference_interval_contains_the_true_difference(result):
    (c,) = result.comparisons
    assert c.arm == "challenger" and c.cure_diff == Decimal("0.1000")
    l1, u1 = wilson_float(300, N)
    l2, u2 = wilson_float(400, N)
    low = 0.1 - math.sqrt((0.4 - l2) ** 2 + (u1 - 0.3) ** 2)
    high = 0.1 + math.sqrt((u2 - 0.4) ** 2 + (0.3 - l1) ** 2)
    assert float(c.cure_diff_ci[0]) == pytest.approx(low, abs=1e-4)
    assert float(c.cure_diff_ci[1]) == pytest.approx(high, abs=1e-4)
    assert 0 < c.cure_diff_ci[0] < Decimal("0.1") < c.cure_diff_ci[1]


def test_amount_recovered_excludes_the_assignment_day(result):
    champion, challenger = result.arms
    assert champion.recovered_total == Decimal("60000.00")
    assert (champion.recovered_mean, challenger.recovered_mean) == (Decimal("60.00"),
                                                                    Decimal("110.00"))  # fmt: skip
    assert isinstance(champion.recovered_total, Decimal)


def test_mean_difference_welch_interval_matches_scipy(result):
    (c,) = result.comparisons
    assert c.recovered_diff == Decimal("50.00")
    # both arms: half the cases one value, half another, 100 apart -> sd = 50.025...
    sd = math.sqrt(N * 50.0**2 / (N - 1))
    se = math.sqrt(2 * sd * sd / N)
    df = (2 * sd * sd / N) ** 2 / (2 * (sd * sd / N) ** 2 / (N - 1))
    half = scipy_stats.t.ppf(0.975, df) * se
    assert float(c.recovered_diff_ci[0]) == pytest.approx(50 - half, abs=0.01)
    assert float(c.recovered_diff_ci[1]) == pytest.approx(50 + half, abs=0.01)
    champion = result.arms[0]
    half1 = scipy_stats.t.ppf(0.975, N - 1) * sd / math.sqrt(N)
    assert float(champion.recovered_ci[0]) == pytest.approx(60 - half1, abs=0.01)


@pytest.mark.parametrize("df", [3, 4, 5, 8, 12, 30, 100, 1000])
def test_t_quantile_is_close_to_scipy(df):
    assert float(t_quantile(df)) == pytest.approx(scipy_stats.t.ppf(0.975, df), abs=5e-3)


def test_wilson_edges():
    assert wilson(0, 0) == (0, 1)
    low, high = wilson(0, 10)
    assert low == 0 and 0 < high < Decimal("0.31")
    low, high = wilson(10, 10)
    assert high == 1 and low > Decimal("0.69")


def test_window_rules_first_arm_late_assignment_and_missing_loans():
    asg = [
        (D1 - timedelta(days=1), 1, "OLD", "s", "champion"),  # before the window: left out
        (D2, 2, "LATE", "s", "champion"),  # assigned on D2: only D3's payment counts
        (D1, 3, "GONE", "s", "champion"),  # not in the end snapshot: not cured
        (D1, 4, "OTHER", "x", "champion"),  # another strategy
        (D1, 5, "BOTH", "s", "champion"),
        (D2, 5, "BOTH", "s", "champion"),  # second day of the same case: one case
    ]
    snaps = [
        (D1, "LATE", 5, Decimal("1.00")),
        (D2, "LATE", 6, Decimal("2.00")),
        (D3, "LATE", 0, Decimal("4.00")),
        (D2, "GONE", 3, Decimal("8.00")),
        (D3, "BOTH", 1, Decimal("16.00")),
        (D3, "OLD", 0, Decimal("32.00")),
    ]
    result = readout(*tables(asg, snaps), "s", D1, D3, "champion")
    (arm,) = result.arms
    assert (arm.cases, arm.cured) == (3, 1)
    assert arm.recovered_total == Decimal("28.00")  # LATE 4 + GONE 8 + BOTH 16
    assert result.comparisons == []
