"""Incentive targets per team and per bucket (issue 24, point 8): a collector's
attainment is measured against their own target (collector, else team, else bucket,
else the default), so a late-bucket collector does not rank first merely because late
cases are larger. Every figure below is worked out by hand from the rows here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import ibis
import pytest
from analytics_support import BUCKETS, snapshot_days, state

from arrears.analytics.collections import collection_performance
from arrears.analytics.kpi import KpiConfigError, collector_kpis, load_kpi_config
from arrears.analytics.store_facts import StoreFacts

JAN, FEB = date(2026, 1, 31), date(2026, 2, 28)
D = Decimal


def two_buckets_report():
    """early (M1, team "Early"): two small loans, 100 + 100 overdue, 150 collected (75%);
    late (M5, team "Late"): one large loan, 5,000 overdue, 1,000 collected (20%)."""
    days = {
        JAN: [
            state("E1", 10, 1, principal="1000.00", overdue="100.00"),
            state("E2", 12, 1, principal="1000.00", overdue="100.00"),
            state("L1", 130, 5, principal="20000.00", overdue="5000.00"),
        ],
        FEB: [
            state("E1", principal="1000.00"),
            state("E2", 40, 2, principal="1000.00", overdue="150.00"),
            state("L1", 158, 6, principal="20000.00", overdue="4500.00"),
        ],
    }
    snap = ibis.duckdb.connect().create_table("snap", snapshot_days(days))
    facts = StoreFacts(
        cases=[
            (1, "E1", date(2025, 12, 20), None, "early"),
            (2, "E2", date(2025, 12, 20), None, "early"),
            (3, "L1", date(2025, 9, 1), None, "late"),
        ],
        users={"early": (1, None), "late": (2, None)},
        teams={1: "Early", 2: "Late"},
    )
    paid = {"E1": D("100.00"), "E2": D("50.00"), "L1": D("1000.00")}
    final = dict.fromkeys(("E1", "E2", "L1"), "active")
    return collection_performance(snap, facts, paid, JAN, FEB, 7, final)


def config(tmp_path: Path, text: str):
    (tmp_path / "kpi.toml").write_text(text, encoding="utf-8")
    return load_kpi_config(tmp_path / "kpi.toml")


# only the amount collected counts in these scores, to keep the arithmetic plain
WEIGHTS = "[weights]\ncollected = 1\ncures = 0\ncontacts = 0\npromises_kept = 0\n"


def ranked(kpis):
    return [(k.collector, k.rank, k.target["collected"], k.score) for k in kpis]


def test_one_shared_target_ranks_the_late_bucket_collector_first(tmp_path: Path):
    kpis = collector_kpis(
        two_buckets_report(), config(tmp_path, "[targets]\ncollected = 1000\n" + WEIGHTS), BUCKETS
    )
    # 1,000 of 1,000 against 150 of 1,000: the larger late case wins
    assert ranked(kpis) == [
        ("late", 1, D("1000"), D("1.0000")),
        ("early", 2, D("1000"), D("0.1500")),
    ]
    assert [k.basis for k in kpis] == ["default", "default"]


def test_bucket_targets_rank_by_attainment_of_each_collectors_own_target(tmp_path: Path):
    text = (
        "[targets]\ncollected = 1000\n"
        "[targets.buckets.M1]\ncollected = 150\n"
        "[targets.buckets.M5]\ncollected = 4000\n" + WEIGHTS
    )
    kpis = collector_kpis(two_buckets_report(), config(tmp_path, text), BUCKETS)
    # early: 150 of 150 = 100%; late: 1,000 of 4,000 = 25%
    assert ranked(kpis) == [
        ("early", 1, D("150"), D("1.0000")),
        ("late", 2, D("4000"), D("0.2500")),
    ]
    early, late = kpis
    assert (early.bucket, early.basis) == ("M1", "bucket:M1")
    assert (late.bucket, late.basis) == ("M5", "bucket:M5")
    # the commission tier follows the same attainment: early reaches the 100% tier
    assert (early.commission_rate, late.commission_rate) == (D("0.015"), D("0"))


def test_a_team_target_comes_before_the_bucket_and_a_collectors_own_before_both(
    tmp_path: Path,
):
    text = (
        "[targets.buckets.M5]\ncollected = 4000\ncures = 2\n"
        '[targets.teams."Late"]\ncollected = 800\n'
        "[targets.collectors.early]\ncollected = 300\n" + WEIGHTS
    )
    kpis = {
        k.collector: k
        for k in collector_kpis(two_buckets_report(), config(tmp_path, text), BUCKETS)
    }
    late, early = kpis["late"], kpis["early"]
    assert (late.target["collected"], late.basis, late.rank) == (D("800"), "team:Late", 1)
    assert late.target["cures"] == D("2")  # the team sets no cures target: the bucket's
    assert late.target["contacts"] == D("300")  # neither sets contacts: the default
    assert (early.target["collected"], early.basis) == (D("300"), "collector")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[targets.buckets.M1]\ncollectd = 5\n", r"targets\.buckets\.M1\] collectd: unknown key"),
        ('[targets.teams."A"]\ncollected = -5\n', "may not be negative"),
        ("[targets]\nbuckets = 5\n", r"\[targets\.buckets\] must be a table"),
    ],
)
def test_a_bad_team_or_bucket_target_names_the_key(tmp_path: Path, text: str, message: str):
    with pytest.raises(KpiConfigError, match=message):
        config(tmp_path, text)
