"""DPD pauses (issue 25, contract 3; domain/pauses.py) on the Ibis close: a book whose
loans carry pauses (its ``pauses`` table) closes on the engine (DuckDB) exactly as on
the domain core, day by day: DPD, bucket, class, flags and the charge-off day.

The loans are the CONSUMER worked example of docs/loan-rules.md (12,000.00 at 18%, #1
paid, #2 due 10 Mar missed, grace 3 days), handed over on 15 Mar (inside two of the
pauses) and closed to 25 Apr: paused 20-31 Mar (DPD 9 through 31 Mar, 10 on 1 Apr),
paused inside grace 11-20 Mar (DPD 0 through 23 Mar, 4 on 24 Mar), open from 20 Mar
(DPD 9 from then on), two pauses, one paid during its pause, and under a charge-off rule
at 30 DPD with the 12-day pause (charged off on 21 Apr, not 9 Apr) and with an open one
(never).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference_states import differences, expected_rows, prepare, reference_states
from arrears.batch.sample import SampleLoan
from arrears.domain.account import LoanAccount, Payment, advance, open_account
from arrears.domain.pauses import Pause, PauseReason
from arrears.domain.products import ChargeOffRule, load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
CONSUMER = CAT.product("CONSUMER")
CAT_CO = replace(
    CAT,
    products={
        **CAT.products,
        "CO30": replace(CONSUMER, code="CO30", charge_off=ChargeOffRule(at_dpd=30)),
    },
)
START, END = date(2025, 3, 15), date(2025, 4, 25)
HARDSHIP, DISPUTE = PauseReason.HARDSHIP, PauseReason.DISPUTE


def _paused(loan_id: str, *pauses: Pause, code: str = "CONSUMER") -> LoanAccount:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account(loan_id, CAT_CO.product(code), terms)
    acc, _ = advance(
        acc, date(2025, 3, 1), [Payment(f"{loan_id}-1", date(2025, 2, 10), D("1100.16"))]
    )
    return replace(acc, pauses=pauses)


def _pause(on: tuple[int, int], until: tuple[int, int] | None, reason=HARDSHIP) -> Pause:
    return Pause(date(2025, *on), None if until is None else date(2025, *until), reason)


def _book() -> list[SampleLoan]:
    def loan(acc: LoanAccount, payments: tuple[Payment, ...] = ()) -> SampleLoan:
        return SampleLoan(acc, f"C-{acc.loan_id}", "never", payments)

    return [
        loan(_paused("HARDSHIP", _pause((3, 20), (3, 31)))),
        loan(_paused("IN-GRACE", _pause((3, 11), (3, 20)))),
        loan(_paused("OPEN", _pause((3, 20), None, DISPUTE))),
        loan(_paused("TWO", _pause((3, 11), (3, 16)), _pause((4, 1), (4, 5)))),
        # pays #2 and its charges during the pause: DPD 0, then #3 (10 Apr) ages
        loan(
            _paused("PAID-IN-PAUSE", _pause((3, 20), (3, 31))),
            (Payment("pp", date(2025, 3, 25), D("1200.00")),),
        ),
        loan(_paused("CO-PAUSED", _pause((3, 20), (3, 31)), code="CO30")),
        loan(_paused("CO-OPEN", _pause((4, 1), None), code="CO30")),
        loan(_paused("CO-PLAIN", code="CO30")),  # charged off on 9 Apr
        loan(_paused("PLAIN")),
    ]


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    sample = _book()
    book = BatchBook(tmp_path_factory.mktemp("pauses"))
    prepare(book, sample, CAT_CO, START)
    Closer(book, CAT_CO, "duckdb").close_through(END)
    return sample, book, reference_states(sample, CAT_CO, START, END)


def _rows(book: BatchBook, day: date) -> dict[str, dict]:
    return {r["loan_id"]: r for r in book.read_state(day)[0].to_pylist()}


def test_duckdb_pauses_dpd_as_the_domain_core(closed):
    sample, book, reference = closed
    day = START + timedelta(days=1)
    while day <= END:
        accounts, _ = book.read_state(day)
        problems = differences(accounts, expected_rows(reference, sample, day))
        assert not problems, f"{day}: {problems[:5]}"
        day += timedelta(days=1)


def test_the_paused_dpd_worked_by_hand(closed):
    _, book, _ = closed

    def dpd(loan: str, month: int, day: int) -> int:
        return _rows(book, date(2025, month, day))[loan]["dpd"]

    assert [dpd("HARDSHIP", 3, d) for d in (19, 20, 31)] + [dpd("HARDSHIP", 4, 1)] == [9, 9, 9, 10]
    assert [dpd("PLAIN", 3, 31), dpd("PLAIN", 4, 10)] == [21, 31]
    assert [dpd("IN-GRACE", 3, 23), dpd("IN-GRACE", 3, 24)] == [0, 4]
    assert [dpd("OPEN", 3, 20), dpd("OPEN", 4, 25)] == [9, 9]


def test_the_charge_off_day_moves_with_the_pause(closed):
    _, book, _ = closed
    written_off = {
        loan: next(
            (
                d
                for d in range(0, 42)
                if _rows(book, START + timedelta(days=d))[loan]["written_off"]
            ),
            None,
        )
        for loan in ("CO-PLAIN", "CO-PAUSED", "CO-OPEN")
    }
    as_dates = {k: None if v is None else START + timedelta(days=v) for k, v in written_off.items()}
    assert as_dates == {
        "CO-PLAIN": date(2025, 4, 9),
        "CO-PAUSED": date(2025, 4, 21),
        "CO-OPEN": None,  # 22 DPD on 1 Apr, then held there
    }


@pytest.mark.slow
def test_spark_pauses_dpd_as_duckdb(closed, tmp_path, monkeypatch):
    """The same Ibis code on Spark (local mode), from DuckDB's state of 19 Mar through
    24 Mar (pauses starting, running and ended inside grace): equal to the domain core
    and byte-identical to DuckDB's state."""
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")
    sample, duckdb, reference = closed
    first, last = date(2025, 3, 19), date(2025, 3, 24)
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(duckdb.root, spark.root)
    for day in spark.state_dates():
        if day > first:
            shutil.rmtree(spark.state_dir(day))
    Closer(spark, CAT_CO, "spark").close_through(last)
    day = first + timedelta(days=1)
    while day <= last:
        accounts, _ = spark.read_state(day)
        assert not differences(accounts, expected_rows(reference, sample, day)), day
        for name in ("accounts.parquet", "dues.parquet"):
            assert (spark.state_dir(day) / name).read_bytes() == (
                duckdb.state_dir(day) / name
            ).read_bytes(), f"{day} {name}"
        day += timedelta(days=1)
