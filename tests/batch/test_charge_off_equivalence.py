"""Charge-off per product (issue 25, contract 8) on the Ibis close equals the domain
core, on DuckDB and on Spark: loans charged off at 180 DPD and on reaching 损失 inside
the window, one paying on the day it is charged off, recoveries after it in the
waterfall's order and principal first (more than the shadow becomes credit), a loan
charged off before the window and a loan written off by hand, both recovering."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference_states import differences, expected_rows, prepare, reference_states
from arrears.batch.sample import SampleLoan
from arrears.domain import operations as ops
from arrears.domain.account import LoanAccount, Payment, advance, open_account
from arrears.domain.products import (
    PRINCIPAL_FIRST,
    ChargeOffRule,
    ClassificationScheme,
    LoanClass,
    load_catalog,
)
from arrears.domain.schedule import LoanTerms

D = Decimal
ONE = timedelta(days=1)
BASE = load_catalog()
_CONSUMER = BASE.product("CONSUMER")
CAT = replace(
    BASE,
    products={
        # the default products without their charge-off rules (CO-NONE, W-HAND: none)
        **{code: replace(p, charge_off=ChargeOffRule()) for code, p in BASE.products.items()},
        "CO-180": replace(_CONSUMER, code="CO-180", charge_off=ChargeOffRule(at_dpd=180)),
        "CO-PF": replace(
            _CONSUMER,
            code="CO-PF",
            charge_off=ChargeOffRule(at_dpd=180, recovery_order=PRINCIPAL_FIRST),
        ),
        # 损失 over 180 DPD under its own thresholds: fires at DPD 181
        "CO-LOSS": replace(
            _CONSUMER,
            code="CO-LOSS",
            classification=ClassificationScheme(0, 60, 90, 180),
            charge_off=ChargeOffRule(at_class=LoanClass.LOSS, class_dpd=181),
        ),
    },
)
START = date(2025, 9, 28)
END = date(2025, 10, 12)
MARCH = date(2025, 3, 5)  # #1 due 5 Apr: 180 DPD on 2 Oct


def _open(loan_id: str, code: str, disbursed: date = MARCH) -> LoanAccount:
    return open_account(
        loan_id, CAT.product(code), LoanTerms(D("6000.00"), D("0.18"), 12, disbursed)
    )


def _pays(*items: tuple[str, str]) -> tuple[Payment, ...]:
    return tuple(Payment(f"r{n}", date.fromisoformat(d), D(a)) for n, (d, a) in enumerate(items))


def _book() -> list[SampleLoan]:
    by_hand, _ = advance(_open("W-HAND", "CONSUMER", date(2025, 1, 5)), date(2025, 6, 1))
    by_hand = replace(
        by_hand, ledger=ops.write_off(by_hand.ledger, "wo:hand", date(2025, 6, 1)).ledger
    )
    return [
        SampleLoan(_open("CO-NEVER", "CO-180"), "C1", "never", ()),
        SampleLoan(
            _open("CO-REC", "CO-180"),
            "C2",
            "written_off",
            _pays(("2025-10-06", "500.00"), ("2025-10-08", "300.00")),
        ),
        SampleLoan(_open("CO-PF", "CO-PF"), "C3", "written_off", _pays(("2025-10-09", "7000.00"))),
        SampleLoan(_open("CO-SAMEDAY", "CO-180"), "C4", "late", _pays(("2025-10-02", "100.00"))),
        # #1 due 5 Feb: charged off on 4 Aug, before the window; recovers on 1 Oct
        SampleLoan(
            _open("CO-EARLY", "CO-180", date(2025, 1, 5)),
            "C5",
            "written_off",
            _pays(("2025-10-01", "1000.00")),
        ),
        SampleLoan(_open("CO-LOSS", "CO-LOSS"), "C6", "never", ()),
        SampleLoan(_open("CO-NONE", "CONSUMER"), "C6", "never", ()),
        SampleLoan(by_hand, "C7", "written_off", _pays(("2025-10-03", "250.00"))),
    ]


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    sample = _book()
    book = BatchBook(tmp_path_factory.mktemp("charge_off"))
    prepare(book, sample, CAT, START)
    Closer(book, CAT, "duckdb").close_through(END)
    return sample, book, reference_states(sample, CAT, START, END)


def _each_day(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += ONE


def test_duckdb_equals_the_domain_core_every_day(closed):
    sample, book, reference = closed
    for day in _each_day(START + ONE, END):
        problems = differences(book.read_state(day)[0], expected_rows(reference, sample, day))
        assert not problems, f"{day}: {problems[:5]}"


def test_what_the_charge_off_does_on_the_batch(closed):
    _, book, reference = closed
    rows = {r["loan_id"]: r for r in book.read_state(date(2025, 10, 2))[0].to_pylist()}
    never = rows["CO-NEVER"]
    assert (never["status"], never["dpd"], never["loan_class"], never["written_off"]) == (
        "written_off",
        180,
        "loss",
        True,
    )
    assert never["not_due"] == never["principal_due"] == never["penalty"] == 0
    assert never["shadow_principal"] == 600_000
    assert rows["CO-LOSS"]["status"] == "active" and rows["CO-NONE"]["status"] == "active"
    # the dues of a charged-off loan left with it
    dues = book.read_state(date(2025, 10, 2))[1].to_pylist()
    assert not [d for d in dues if d["loan_id"] == "CO-NEVER"]
    assert [d for d in dues if d["loan_id"] == "CO-NONE"]
    last = {r["loan_id"]: r for r in book.read_state(END)[0].to_pylist()}
    assert last["CO-LOSS"]["status"] == "written_off"  # 3 Oct, DPD 181
    assert reference[date(2025, 10, 3)]["CO-LOSS"].dpd == 181
    # principal first: 7,000 recovers the whole shadow; the rest is credit
    pf = reference[END]["CO-PF"]
    assert pf.shadow.total == 0 and pf.credit == D("7000.00") - pf.shadow.written_off
    assert last["CO-PF"]["credit"] == int(pf.credit * 100)
    rec = reference[END]["CO-REC"].shadow
    # 800.00 settles the 798.74 of charges and interest before any principal
    assert (rec.recovered, rec.interest, rec.principal) == (D("800.00"), 0, D("5998.74"))


SPARK_FROM = date(2025, 10, 1)  # Spark closes 2–4 Oct from DuckDB's state of 1 Oct


@pytest.mark.slow
def test_spark_equals_the_domain_core_and_duckdb(closed, tmp_path, monkeypatch):
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")
    sample, duckdb, reference = closed
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(duckdb.root, spark.root)
    for day in spark.state_dates():
        if day > SPARK_FROM:
            shutil.rmtree(spark.state_dir(day))
    last = date(2025, 10, 4)
    Closer(spark, CAT, "spark").close_through(last)
    for day in _each_day(SPARK_FROM + ONE, last):
        problems = differences(spark.read_state(day)[0], expected_rows(reference, sample, day))
        assert not problems, f"{day}: {problems[:5]}"
        for name in ("accounts.parquet", "dues.parquet"):
            assert (spark.state_dir(day) / name).read_bytes() == (
                duckdb.state_dir(day) / name
            ).read_bytes(), f"{day} {name}"
