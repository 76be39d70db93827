"""The Ibis daily close equals the domain core: every loan, every day, every balance to
the cent, DPD, bucket, class and flags; on DuckDB and on Spark; reruns write the same
bytes."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference_states import differences, expected_rows, prepare, reference_states
from arrears.batch.sample import BEHAVIOURS, sample_book
from arrears.domain.products import DEFAULT_CATALOG_PATH, load_catalog

START = date(2026, 3, 1)
DAYS = 95
END = START + timedelta(days=DAYS)
CATALOG = load_catalog(DEFAULT_CATALOG_PATH)


@pytest.fixture(scope="module")
def sample():
    return sample_book(CATALOG, 1500, START, END, seed=11)


@pytest.fixture(scope="module")
def reference(sample):
    return reference_states(sample, CATALOG, START, END)


def _book(folder: Path, sample) -> BatchBook:
    book = BatchBook(folder)
    prepare(book, sample, CATALOG, START)
    return book


def _each_day(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def test_sample_exercises_every_behaviour_and_charge(sample, reference):
    """Guard against a vacuous equivalence: the window holds late fees, penalty,
    compound, credit, cures, roll-forwards, first-payment defaults and repaid loans."""
    assert {s.behaviour for s in sample} == set(BEHAVIOURS)
    seen = Counter()
    for day in _each_day(START + timedelta(days=1), END):
        before = reference[day - timedelta(days=1)]
        for lid, st in reference[day].items():
            prev = before.get(lid)
            seen["fee_charged"] += bool(prev and st.fee > prev.fee)
            seen["penalty_accrued"] += bool(prev and st.penalty > prev.penalty)
            seen["compound_accrued"] += bool(prev and st.compound > prev.compound)
            seen["credit"] += st.credit > 0
            seen["cured"] += bool(prev and prev.dpd > 0 and st.dpd == 0)
            seen["m2_plus"] += st.bucket_index >= 2
            seen["fpd"] += st.first_payment_default
            seen["closed"] += st.status == "closed"
            seen["paid"] += st.paid_today > 0
    assert all(seen[k] > 0 for k in (
        "fee_charged", "penalty_accrued", "compound_accrued", "credit", "cured",
        "m2_plus", "fpd", "closed", "paid",
    )), seen  # fmt: skip


def test_duckdb_close_equals_domain_core_every_loan_every_day(tmp_path, sample, reference):
    book = _book(tmp_path, sample)
    closer = Closer(book, CATALOG, "duckdb")
    run = closer.close_through(END)
    assert [d.as_of for d in run.days] == list(_each_day(START + timedelta(days=1), END))
    for day in _each_day(START + timedelta(days=1), END):
        accounts, _ = book.read_state(day)
        problems = differences(accounts, expected_rows(reference, sample, day))
        assert not problems, f"{day}: {len(problems)} differences, first: {problems[:5]}"


def test_rerunning_a_day_writes_identical_bytes(tmp_path, sample):
    book = _book(tmp_path, sample)
    closer = Closer(book, CATALOG, "duckdb")
    closer.close_through(START + timedelta(days=3))
    day = START + timedelta(days=3)
    files = [book.state_dir(day) / name for name in ("accounts.parquet", "dues.parquet")]
    first = [f.read_bytes() for f in files]
    closer.close(day)
    assert [f.read_bytes() for f in files] == first


def test_catch_up_closes_missed_days_in_order(tmp_path, sample):
    book = _book(tmp_path, sample)
    closer = Closer(book, CATALOG, "duckdb")
    closer.close_through(START + timedelta(days=1))
    run = closer.close_through(START + timedelta(days=4))  # D-3 .. D-1 were missed
    assert [d.as_of for d in run.days] == [START + timedelta(days=n) for n in (2, 3, 4)]
    assert book.state_dates()[-1] == START + timedelta(days=4)


SPARK_DAYS = 10  # Spark closes the last days of the window from DuckDB's state


@pytest.mark.slow
def test_spark_close_equals_domain_core_and_duckdb_bytes(tmp_path, sample, monkeypatch):
    """Spark (local mode) through the very same Ibis code: from DuckDB's state of day
    ``END - SPARK_DAYS``, equal to the domain core on every loan and each of the last
    ``SPARK_DAYS`` days, and byte-identical to DuckDB's state. (DuckDB is held to the
    domain core on all 95 days above; those days of Spark cover fees, penalty, compound,
    credit, cures, roll-forwards, repaid loans and payments, checked below.)"""
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")  # a small book: one task a stage
    loans = sample[:300]
    first = END - timedelta(days=SPARK_DAYS)
    duckdb = _book(tmp_path / "duckdb", loans)
    Closer(duckdb, CATALOG, "duckdb").close_through(END)
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(duckdb.root, spark.root)
    for day in spark.state_dates():
        if day > first:
            shutil.rmtree(spark.state_dir(day))
    run = Closer(spark, CATALOG, "spark").close_through(END)
    assert [d.as_of for d in run.days] == list(_each_day(first + timedelta(days=1), END))
    reference = reference_states(loans, CATALOG, START, END)
    seen = Counter()
    for day in _each_day(first + timedelta(days=1), END):
        spark_accounts, _ = spark.read_state(day)
        problems = differences(spark_accounts, expected_rows(reference, loans, day))
        assert not problems, f"{day}: {len(problems)} differences, first: {problems[:5]}"
        for name in ("accounts.parquet", "dues.parquet"):
            assert (spark.state_dir(day) / name).read_bytes() == (
                duckdb.state_dir(day) / name
            ).read_bytes(), f"{day} {name}"
        before = reference[day - timedelta(days=1)]
        for lid, st in reference[day].items():
            prev = before.get(lid)
            seen["fee"] += bool(prev and st.fee > prev.fee)
            seen["penalty"] += bool(prev and st.penalty > prev.penalty)
            seen["compound"] += bool(prev and st.compound > prev.compound)
            seen["credit"] += st.credit > 0
            seen["cured"] += bool(prev and prev.dpd > 0 and st.dpd == 0)
            seen["roll"] += bool(prev and st.bucket_index > prev.bucket_index)
            seen["closed"] += st.status == "closed"
            seen["paid"] += st.paid_today > 0
    assert all(seen[k] > 0 for k in (
        "fee", "penalty", "compound", "credit", "cured", "roll", "closed", "paid",
    )), seen  # fmt: skip
