"""Collection performance and collector KPIs on a hand-built period: every figure
below is worked out by hand from the rows in this file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import ibis
import pytest
from analytics_support import snapshot_days, state

from arrears.analytics.collections import collection_performance, opening_and_closing
from arrears.analytics.kpi import KpiConfigError, collector_kpis, load_kpi_config
from arrears.analytics.store_facts import UNASSIGNED, Attempt, PromiseFact, StoreFacts

JAN, FEB = date(2026, 1, 31), date(2026, 2, 28)
D = Decimal


def period_report(costs=None, arms_on=JAN):
    days = {
        JAN: [
            state("A", 20, 1, principal="1000.00", overdue="100.00"),
            state("B", 40, 2, principal="1000.00", overdue="200.00"),
            state("C", 200, 7, principal="1000.00", overdue="900.00"),
            state("D", principal="1000.00"),  # current: not in the population
        ],
        FEB: [
            state("A", principal="950.00"),
            state("B", 68, 2, principal="1000.00", overdue="150.00"),
            state("C", 228, 7, principal="1000.00", overdue="600.00"),
            state("D", principal="950.00"),
        ],
    }
    snap = ibis.duckdb.connect().create_table("snap", snapshot_days(days))
    facts = StoreFacts(
        cases=[
            (1, "A", date(2025, 12, 20), None, "alice"),
            (2, "B", date(2025, 12, 1), None, "bob"),
            (3, "C", date(2025, 7, 1), None, "alice"),
        ],
        users={"alice": (1, None), "bob": (2, None)},
        teams={1: "Team 1", 2: "Team 2"},
        agencies={7: "Agency 7"},
        placements={2: [(date(2026, 1, 10), None, 7)]},
        arms={
            1: [(arms_on, "s/champion")],
            2: [(arms_on, "s/challenger")],
            3: [(arms_on, "s/champion")],
        },
        attempts=[
            Attempt(date(2026, 2, 2), 1, "A", "call", "debtor", "connected_conversation", "alice"),
            Attempt(date(2026, 2, 3), 3, "C", "call", "debtor", "no_answer", "alice"),
            Attempt(date(2026, 2, 4), 3, "C", "sms", "debtor", "delivered", "alice"),
            Attempt(
                date(2026, 2, 5), 2, "B", "call", "third_party", "connected_conversation", "bob"
            ),
        ],
        promises=[
            PromiseFact(1, date(2026, 2, 10), "kept", "alice"),
            PromiseFact(3, date(2026, 2, 12), "broken", "alice"),
            PromiseFact(2, date(2026, 2, 15), "pending", "bob"),
        ],
    )
    paid = {"A": D("150.00"), "B": D("50.00"), "C": D("300.00"), "D": D("50.00")}
    kwargs = {"costs": costs} if costs else {}
    final = dict.fromkeys("ABCD", "active")
    return collection_performance(snap, facts, paid, JAN, FEB, 7, final, **kwargs)


def rows(report, dimension):
    return {r.key: r for r in report.rows[dimension]}


def test_collection_rate_caps_each_loan_at_its_opening_overdue():
    alice = rows(period_report(), "collector")["alice"]
    assert (alice.loans, alice.opening_overdue) == (2, D("1000.00"))
    assert alice.collected == D("400.00")  # A: 150 paid, capped at 100; C: 300
    assert alice.collection_rate == D("0.4000")
    assert alice.cures == 1  # A is current at the closing day, C is not
    bob = rows(period_report(), "collector")["bob"]
    assert (bob.collected, bob.collection_rate, bob.cures) == (D("50.00"), D("0.2500"), 0)


def test_recovery_rate_is_on_loans_at_the_write_off_point():
    alice = rows(period_report(), "collector")["alice"]
    # C owed 1000 principal + 900 overdue - 900 of it principal = 1000, paid 300
    assert (alice.recovery_base, alice.recovered, alice.recovery_rate) == (
        D("1000.00"),
        D("300.00"),
        D("0.3000"),
    )


def test_contacts_rpc_promises_and_costs_per_collector():
    alice = rows(period_report(), "collector")["alice"]
    assert (alice.contacts, alice.calls, alice.right_party) == (3, 2, 1)
    assert alice.rpc_rate == D("0.5000")
    assert (alice.promises_kept, alice.promises_broken) == (1, 1)
    assert alice.promise_kept_rate == D("0.5000")
    assert alice.cost == D("4.05")  # two calls at 2.00, one SMS at 0.05
    assert alice.cost_per_unit == D("0.0101")  # 4.05 / 400
    assert alice.contacts_per_10k == D("75.00")  # 3 / 400 × 10,000
    bob = rows(period_report(), "collector")["bob"]
    assert (bob.calls, bob.right_party, bob.rpc_rate) == (1, 0, 0)  # a third party is no RPC
    assert bob.promises_kept + bob.promises_broken == 0  # pending promises do not count


def test_costs_per_channel_are_configurable():
    costs = {"call": D("5.00"), "sms": D("1.00")}
    assert rows(period_report(costs), "collector")["alice"].cost == D("11.00")


def test_team_agency_and_arm_follow_the_case_on_the_opening_day():
    r = period_report()
    assert set(rows(r, "team")) == {"Team 1", "Team 2"}
    assert rows(r, "team")["Team 1"].collected == D("400.00")
    agencies = rows(r, "agency")
    assert agencies["Agency 7"].collected == D("50.00")  # B was placed on 10 January
    assert agencies["in-house"].collected == D("400.00")
    arms = rows(r, "arm")
    assert arms["s/champion"].opening_overdue == D("1000.00")
    assert arms["s/challenger"].opening_overdue == D("200.00")
    assert all(r.has_data.values())
    assert r.total().collected == D("450.00")


def test_a_store_without_workbench_data_shows_no_data_not_numbers():
    r = period_report()
    empty = collection_performance(
        ibis.duckdb.connect().create_table(
            "s", snapshot_days({JAN: [state("A", 20, 1, overdue="100.00")], FEB: [state("A")]})
        ),
        StoreFacts(),
        {"A": D("100.00")},
        JAN,
        FEB,
        7,
        {"A": "active"},
    )
    assert not any(empty.has_data.values()) and not empty.has_contacts
    assert [x.key for x in empty.rows["collector"]] == [UNASSIGNED]
    assert collector_kpis(empty, load_kpi_config(Path("/nonexistent/kpi.toml"))) == []
    assert r.has_contacts and r.has_promises


def test_opening_day_is_the_last_snapshot_before_the_period():
    days = [date(2026, 1, 31), date(2026, 2, 27), date(2026, 2, 28)]
    assert opening_and_closing(days, date(2026, 2, 1), date(2026, 2, 28)) == (JAN, FEB)
    assert opening_and_closing(days, date(2026, 1, 1), date(2026, 2, 27)) == (JAN, days[1])


KPI_TOML = """
[targets]
collected = 200.00
cures = 1
contacts = 2
promises_kept = 1

[targets.collectors.bob]
collected = 100.00
"""


def test_kpis_rank_collectors_and_pay_the_tier_reached(tmp_path: Path):
    (tmp_path / "kpi.toml").write_text(KPI_TOML)
    config = load_kpi_config(tmp_path / "kpi.toml")
    alice, bob = collector_kpis(period_report(), config)
    assert (alice.collector, alice.rank, bob.collector, bob.rank) == ("alice", 1, "bob", 2)
    assert alice.achievement["collected"] == D("2.0000")  # 400 of 200
    assert alice.commission_rate == D("0.02")  # the 120% tier
    assert alice.incentive == D("28.00")  # 400 × 2% + 1 cure × 20.00
    # 0.6 × 2 + 0.2 × 1 + 0.1 × 1.5 + 0.1 × 1
    assert alice.score == D("1.6500")
    assert bob.target["collected"] == D("100.00")  # his own target
    assert bob.achievement["collected"] == D("0.5000")
    assert (bob.commission_rate, bob.incentive) == (D("0"), D("0.00"))


def test_commission_tiers_and_cure_bonus_come_from_the_file(tmp_path: Path):
    (tmp_path / "kpi.toml").write_text(
        KPI_TOML + "[commission]\ncure_bonus = 5\n[[commission.tiers]]\nfrom = 0\nrate = 0.03\n"
    )
    alice = collector_kpis(period_report(), load_kpi_config(tmp_path / "kpi.toml"))[0]
    assert alice.incentive == D("17.00")  # 400 × 3% + 1 × 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[targets]\ncollectd = 5\n", "unknown key"),
        ("[targets]\ncollected = 'lots'\n", "not a number"),
        ("[costs]\ncall = -1\n", "may not be negative"),
        ("[targets\n", "not valid TOML"),
    ],
)
def test_a_bad_kpi_file_names_the_file_and_key(tmp_path: Path, text: str, message: str):
    path = tmp_path / "kpi.toml"
    path.write_text(text)
    with pytest.raises(KpiConfigError, match=message) as e:
        load_kpi_config(path)
    assert str(path) in str(e.value)


def test_arms_first_assigned_after_the_opening_day_are_explained_in_a_note():
    from types import SimpleNamespace

    from arrears.analytics.labels import label
    from arrears.analytics.tables import _collections

    on_time = period_report()
    assert on_time.first_arm_day == JAN  # the arms held the cases on the opening day
    late = period_report(arms_on=FEB)
    assert late.first_arm_day == FEB
    # loans count for the arm holding them on the opening day: none did
    assert {r.key for r in late.rows["arm"] if r.loans} == {UNASSIGNED}

    def notes(report, lang):
        return _collections(
            SimpleNamespace(collections=report), lambda k, **kw: label(k, lang, **kw)
        ).notes

    assert not any("readout" in n for n in notes(on_time, "en"))
    (note,) = [n for n in notes(late, "en") if "readout" in n]
    assert "first assigned on 2026-02-28" in note
    assert any("策略分组首次分配于2026-02-28" in n for n in notes(late, "zh"))


def test_loans_in_recovery_on_the_opening_day_are_worked_and_their_recoveries_reported():
    # E was charged off by its product's rule before January's end (so in no snapshot);
    # on 31 Jan its shadow balances owed 2,000.00, it is bob's case and 500.00 came in
    days = {
        JAN: [state("A", 20, 1, overdue="100.00")],
        FEB: [state("A", 48, 2, overdue="100.00")],
    }
    snap = ibis.duckdb.connect().create_table("snap", snapshot_days(days))
    facts = StoreFacts(
        cases=[
            (1, "A", date(2025, 12, 20), None, "alice"),
            (4, "E", date(2025, 6, 1), None, "bob"),
        ],
        users={"alice": (1, None), "bob": (2, None)},
        teams={1: "Team 1", 2: "Team 2"},
    )
    paid = {"A": D("40.00"), "E": D("500.00")}
    final = {"A": "active", "E": "written_off"}
    args = (snap, facts, paid, JAN, FEB, 7, final)
    r = collection_performance(*args, in_recovery={"E": D("2000.00")})
    bob = rows(r, "collector")["bob"]
    assert (bob.loans, bob.opening_overdue, bob.collected) == (1, D("2000.00"), D("500.00"))
    assert (bob.recovery_base, bob.recovered, bob.recovery_rate) == (
        D("2000.00"),
        D("500.00"),
        D("0.2500"),
    )
    assert bob.cures == 0 and bob.bucket_loans == {7: 1}  # at the write-off point
    assert r.total().collected == D("540.00")
    # without it, E's recoveries are nobody's collections
    r = collection_performance(*args)
    assert "bob" not in rows(r, "collector") and r.total().collected == D("40.00")
