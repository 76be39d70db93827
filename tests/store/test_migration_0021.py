"""Migration 0021 gives each arrangement approved before it the day it was approved
(``applied_on``: the UTC date of ``decided_at``, the business day not being recorded
then), and none to the others, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, MetaData, select

from arrears.store.db import upgrade

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_0021_backfills_the_day_of_approved_arrangements(blank_engine: Engine) -> None:
    upgrade(blank_engine, "0020")
    meta = MetaData()
    names = ["customers", "products", "loans", "cases", "arrangements"]
    meta.reflect(blank_engine, only=names)
    t = meta.tables
    with blank_engine.begin() as connection:
        connection.execute(
            t["customers"].insert(),
            {
                "customer_id": "C1",
                "name": "客户",
                "customer_type": "individual",
                "time_zone": "Asia/Shanghai",
                "language": "zh_CN",
                "created_at": NOW,
            },
        )
        connection.execute(
            t["products"].insert(),
            {"code": "CONSUMER", "name": "c", "name_zh": "", "definition": "{}", "updated_at": NOW},
        )
        connection.execute(
            t["loans"].insert(),
            {
                "loan_id": "L1",
                "customer_id": "C1",
                "product_code": "CONSUMER",
                "currency": "CNY",
                "principal": 1200000,
                "annual_rate": "0.18",
                "term_months": 12,
                "disbursed_on": date(2026, 1, 15),
                "status": "active",
                "created_at": NOW,
            },
        )
        connection.execute(
            t["cases"].insert(),
            {
                "id": 1,
                "customer_id": "C1",
                "loan_id": "L1",
                "status": "open",
                "opened_on": date(2026, 9, 1),
                "dpd": 90,
                "bucket": "M4",
                "loan_class": "substandard",
                "amount_overdue": 100,
                "updated_on": date(2026, 11, 19),
            },
        )
        common = {
            "case_id": 1,
            "loan_id": "L1",
            "relief": 0,
            "terms": '{"months": 2}',
            "required_role": "team_lead",
            "maker": "c1",
            "decision_note": "",
            "ledger_refs": "[]",
            "created_at": NOW,
        }
        connection.execute(
            t["arrangements"].insert(),
            [
                {**common, "id": 1, "kind": "extension", "status": "approved", "decided_at": NOW},
                {**common, "id": 2, "kind": "extension", "status": "rejected", "decided_at": NOW},
                {**common, "id": 3, "kind": "extension", "status": "pending", "decided_at": None},
            ],
        )
    upgrade(blank_engine)
    meta = MetaData()
    meta.reflect(blank_engine, only=["arrangements"])
    a = meta.tables["arrangements"]
    with blank_engine.connect() as connection:
        days = dict(connection.execute(select(a.c.id, a.c.applied_on).order_by(a.c.id)).all())
    assert days == {1: date(2026, 11, 20), 2: None, 3: None}
