"""Segmentation (分段催收): each dimension, its boundaries, first match wins, the
catch-all, missing inputs."""

from __future__ import annotations

import pytest
from strategy_tables import AS_OF, strategy_from

from arrears.strategy import assign

LADDER = """
[ladders.l]
steps = [{ name = "sms1", offset = 1, channel = "sms", template = "t" }]
"""
STRATEGY = strategy_from(
    """
name = "seg"
version = 1
[amount_tiers]
column = "overdue_amount"
tiers = [{ name = "lt1k", below = 1000 }, { name = "1k_10k", below = 10000 },
         { name = "10k_100k", below = 100000 }, { name = "ge100k" }]
[score_bands]
column = "score_behaviour"
tiers = [{ name = "high_risk", below = 550 }, { name = "low_risk" }]

[[segments]]
name = "fraud"
when = { willingness = "malicious" }
ladder = "l"
[[segments]]
name = "corporate"
when = { customer_type = ["sme", "corporate"] }
ladder = "l"
[[segments]]
name = "risky"
when = { score_band = "high_risk" }
ladder = "l"
[[segments]]
name = "cards"
when = { product = "CARD" }
ladder = "l"
[[segments]]
name = "substandard"
when = { columns = { loan_class = ["substandard", "doubtful"] } }
ladder = "l"
[[segments]]
name = "big"
when = { amount_tier = ["10k_100k", "ge100k"] }
ladder = "l"
[[segments]]
name = "m2"
when = { bucket = "M2" }
ladder = "l"
[[segments]]
name = "early"
when = { dpd = { min = 1, max = 30 } }
ladder = "l"
[[segments]]
name = "rest"
ladder = "l"
"""
    + LADDER
)


def segments(tables, snap_rows, input_rows=None, strategy=STRATEGY):
    snap, inputs = tables(snap_rows, input_rows)
    out = assign(snap, inputs, strategy, AS_OF).order_by("loan_id").to_pyarrow().to_pylist()
    return {r["loan_id"]: r for r in out}


def test_dpd_range_edges_are_inclusive(tables):
    rows = [{"loan_id": f"L{d:02d}", "dpd": d} for d in (0, 1, 30, 31)]
    got = segments(tables, rows)
    assert {k: v["segment"] for k, v in got.items()} == {
        "L00": "rest", "L01": "early", "L30": "early", "L31": "rest",
    }  # fmt: skip


def test_amount_tier_edges_are_lower_inclusive_upper_exclusive(tables):
    amounts = ["0.00", "999.99", "1000.00", "9999.99", "10000.00", "99999.99", "100000.00"]
    rows = [{"loan_id": f"L{i}", "overdue_amount": a} for i, a in enumerate(amounts)]
    got = segments(tables, rows)
    assert [got[f"L{i}"]["amount_tier"] for i in range(len(amounts))] == [
        "lt1k", "lt1k", "1k_10k", "1k_10k", "10k_100k", "10k_100k", "ge100k",
    ]  # fmt: skip
    assert [got[f"L{i}"]["segment"] for i in range(len(amounts))] == ["rest"] * 4 + ["big"] * 3


def test_each_dimension_selects_its_segment(tables):
    rows = [
        {"loan_id": "A", "dpd": 5},
        {"loan_id": "B", "dpd": 5, "product_code": "CARD"},
        {"loan_id": "C", "dpd": 5, "loan_class": "doubtful"},
        {"loan_id": "D", "dpd": 40, "bucket": "M2"},
        {"loan_id": "E", "dpd": 5},
        {"loan_id": "F", "dpd": 5},
        {"loan_id": "G", "dpd": 5},
    ]
    inputs = [
        {"loan_id": "A", "customer_type": "individual", "score_behaviour": 700},
        {"loan_id": "E", "customer_type": "sme"},
        {"loan_id": "F", "score_behaviour": 549},
        {"loan_id": "G", "willingness": "malicious", "customer_type": "corporate"},
    ]
    got = segments(tables, rows, inputs)
    assert {k: v["segment"] for k, v in got.items()} == {
        "A": "early", "B": "cards", "C": "substandard", "D": "m2",
        "E": "corporate", "F": "risky", "G": "fraud",  # first match wins over corporate
    }  # fmt: skip
    assert got["A"]["score_band"] == "low_risk" and got["F"]["score_band"] == "high_risk"
    assert got["B"]["willingness"] == "unknown"  # default when no willingness input


def test_score_band_edge_and_missing_score_column(tables):
    got = segments(tables, [{"loan_id": "X", "dpd": 3}], [{"loan_id": "X", "score_behaviour": 550}])
    assert (got["X"]["score_band"], got["X"]["segment"]) == ("low_risk", "early")
    # no score column at all: the band is null and the "risky" segment simply never matches
    got = segments(tables, [{"loan_id": "X", "dpd": 3}])
    assert got["X"]["score_band"] is None and got["X"]["segment"] == "early"


def test_only_active_loans_are_assigned(tables):
    got = segments(tables, [{"loan_id": "A", "dpd": 3}, {"loan_id": "B", "status": "closed"}])
    assert list(got) == ["A"]


def test_a_condition_on_an_absent_column_is_a_clear_error(tables):
    s = strategy_from(
        'name = "x"\nversion = 1\n[[segments]]\nname = "v"\nwhen = { columns = { vip = true } }\n'
        'ladder = "l"\n[[segments]]\nname = "rest"\nladder = "l"\n' + LADDER
    )
    snap, _ = tables([{"loan_id": "A"}])
    with pytest.raises(ValueError, match="lack: vip"):
        assign(snap, None, s, AS_OF)


def test_generic_null_condition_and_numeric_range(tables):
    s = strategy_from(
        'name = "x"\nversion = 1\n'
        '[[segments]]\nname = "no_due"\nwhen = { columns = { days_to_due = { null = true } } }\n'
        'ladder = "l"\n'
        '[[segments]]\nname = "soon"\nwhen = { columns = { days_to_due = { max = 3 } } }\n'
        'ladder = "l"\n[[segments]]\nname = "rest"\nladder = "l"\n' + LADDER
    )
    rows = [{"loan_id": k} for k in "ABC"]
    inputs = [{"loan_id": "A", "days_to_due": 3}, {"loan_id": "B", "days_to_due": 4}]
    got = segments(tables, rows, inputs, s)
    assert {k: v["segment"] for k, v in got.items()} == {"A": "soon", "B": "rest", "C": "no_due"}
