"""Champion/challenger assignment: a sha256 hash of (strategy, customer), identical in
Python and in the Ibis expression, close to the shares, sticky across days."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pyarrow as pa
from strategy_tables import AS_OF, strategy_from

from arrears.strategy import arm_of_customer, assign, customer_point
from arrears.strategy.assignment import SCALE, point_of

ARMS = """
name = "{name}"
version = {version}
[[segments]]
name = "all"
ladder = "l"
[ladders.l]
steps = [{{ name = "s", offset = 1, channel = "sms", template = "t" }}]
[[arms]]
name = "champion"
share = 0.7
[[arms]]
name = "challenger"
share = 0.2
[[arms]]
name = "never"
share = 0
[[arms]]
name = "holdout"
share = 0.1
holdout = true
"""


def arms(name="cc", version=1):
    return strategy_from(ARMS.format(name=name, version=version))


def test_the_point_is_the_first_13_hex_digits_of_sha256():
    import hashlib

    digest = hashlib.sha256(b"cc|C-42").hexdigest()
    assert customer_point("cc", "C-42") == int(digest[:13], 16)
    assert 0 <= customer_point("cc", "C-42") < SCALE


def test_ibis_point_equals_python_point(con):
    ids = [f"C{n:06d}" for n in range(3000)] + ["客户-一", "x" * 40, ""]
    t = con.create_table("ids", pa.table({"customer_id": ids}))
    got = t.select(t.customer_id, p=point_of(t.customer_id, "cc")).to_pyarrow().to_pylist()
    assert all(r["p"] == customer_point("cc", r["customer_id"]) for r in got)


def test_shares_hold_on_100k_customers_within_five_sigma(con):
    n = 100_000
    ids = [f"CUST-{k}" for k in range(n)]
    s = arms()
    counts = Counter(arm_of_customer(s, c) for c in ids)
    for arm in s.arms:
        p = float(arm.share)
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(counts[arm.name] - n * p) <= 5 * sigma + 1e-9, (arm.name, counts)
    assert counts["never"] == 0
    # the engine assigns exactly the same arms
    snap = con.create_table(
        "book",
        pa.table(
            {
                "as_of": pa.array([AS_OF] * n, pa.date32()),
                "loan_id": ids,
                "customer_id": ids,
                "status": ["active"] * n,
                "dpd": pa.array([1] * n, pa.int32()),
                "bucket": ["M1"] * n,
                "product_code": ["CONSUMER"] * n,
                "overdue_amount": pa.array([0] * n, pa.decimal128(18, 2)),
                "paid_today": pa.array([0] * n, pa.decimal128(18, 2)),
            }
        ),
    )
    out = assign(snap, None, s, AS_OF).select("customer_id", "arm").to_pyarrow().to_pylist()
    assert Counter(r["arm"] for r in out) == counts
    assert all(r["arm"] == arm_of_customer(s, r["customer_id"]) for r in out[:5000])


def test_arms_are_sticky_across_days_and_shared_by_a_customers_loans(tables):
    day1 = [{"loan_id": f"L{k}", "customer_id": f"C{k // 2}", "dpd": 1} for k in range(400)]
    day2 = [{**r, "dpd": 2, "as_of": AS_OF + timedelta(days=1)} for r in day1]
    s = arms()

    def arm_by_loan(rows, as_of):
        snap, _ = tables(rows)
        out = assign(snap, None, s, as_of).to_pyarrow().to_pylist()
        return {r["loan_id"]: (r["customer_id"], r["arm"]) for r in out}

    first = arm_by_loan(day1, AS_OF)
    second = arm_by_loan(day2, AS_OF + timedelta(days=1))
    assert first == second
    per_customer: dict[str, set[str]] = {}
    for customer, arm in first.values():
        per_customer.setdefault(customer, set()).add(arm)
    assert all(len(a) == 1 for a in per_customer.values())
    assert set().union(*per_customer.values()) == {"champion", "challenger", "holdout"}


def test_a_new_version_keeps_the_arms_a_new_name_reshuffles():
    ids = [f"C{k}" for k in range(2000)]
    v1, v2, other = arms(version=1), arms(version=2), arms(name="other")
    assert [arm_of_customer(v1, c) for c in ids] == [arm_of_customer(v2, c) for c in ids]
    moved = sum(arm_of_customer(v1, c) != arm_of_customer(other, c) for c in ids)
    assert moved > 200


def test_holdout_rows_have_no_ladder(tables):
    snap, _ = tables([{"loan_id": f"L{k}", "dpd": 1} for k in range(300)])
    out = assign(snap, None, arms(), AS_OF).to_pyarrow().to_pylist()
    assert {r["ladder"] for r in out if r["arm"] == "holdout"} == {None}
    assert {r["ladder"] for r in out if r["arm"] != "holdout"} == {"l"}
