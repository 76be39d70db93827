"""The synthetic portfolio generator: reproducible, in the import format, and consistent
with the domain core's exact schedules."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrears.domain.products import load_catalog, parse_catalog
from arrears.domain.schedule import LoanTerms, build_schedule, due_dates
from arrears.ingest.generator import (
    MONEY,
    ScheduleCache,
    _decimals,
    canonical_days,
    expand_installments,
    generate_portfolio,
)

AS_OF = date(2025, 6, 30)
LOANS = 3_000
FILES = ("customers", "loans", "payments", "behaviour")
EXPECTED_SCHEMAS = {
    "customers": [
        ("customer_id", pa.string()), ("name", pa.string()), ("id_number", pa.string()),
        ("customer_type", pa.string()), ("mobile", pa.string()), ("email", pa.string()),
        ("address", pa.string()), ("time_zone", pa.string()), ("language", pa.string()),
    ],
    "loans": [
        ("loan_id", pa.string()), ("customer_id", pa.string()), ("product_code", pa.string()),
        ("currency", pa.string()), ("principal", pa.decimal128(18, 2)),
        ("annual_rate", pa.decimal128(9, 6)), ("term_months", pa.int32()),
        ("disbursed_on", pa.date32()), ("first_due_date", pa.date32()),
    ],
    "payments": [
        ("payment_ref", pa.string()), ("loan_id", pa.string()), ("paid_on", pa.date32()),
        ("amount", pa.decimal128(18, 2)), ("currency", pa.string()), ("channel", pa.string()),
    ],
    "behaviour": [("customer_id", pa.string()), ("behaviour", pa.string())],
}  # fmt: skip


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("book")
    done: list[int] = []
    result = generate_portfolio(out, LOANS, AS_OF, seed=7, chunk_size=1_000, progress=done.append)
    tables = {name: pq.read_table(out / f"{name}.parquet") for name in FILES}
    return {"out": out, "result": result, "progress": done, **tables}


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return table.to_pylist()


def _digest(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / f"{name}.parquet").read_bytes()).hexdigest()
        for name in FILES
    }


def test_same_arguments_give_identical_bytes_and_another_seed_another_book(
    tmp_path: Path,
) -> None:
    first = generate_portfolio(tmp_path / "a", 1_500, AS_OF, seed=3, chunk_size=600)
    generate_portfolio(tmp_path / "b", 1_500, AS_OF, seed=3, chunk_size=600)
    generate_portfolio(tmp_path / "c", 1_500, AS_OF, seed=4, chunk_size=600)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    other = _digest(tmp_path / "c")
    assert all(other[name] != digest for name, digest in _digest(tmp_path / "a").items())
    assert first.loans == 1_500
    assert not list((tmp_path / "a").glob("*.partial"))


def test_columns_and_types_are_exactly_the_import_format(book: dict[str, object]) -> None:
    for name, expected in EXPECTED_SCHEMAS.items():
        schema = book[name].schema
        assert [(f.name, f.type) for f in schema] == expected, name


def test_counts_progress_and_row_groups(book: dict[str, object]) -> None:
    result = book["result"]
    assert result.loans == LOANS == book["loans"].num_rows
    assert result.customers == book["customers"].num_rows
    assert result.payments == book["payments"].num_rows
    assert 1.1 < LOANS / result.customers < 1.3
    assert book["progress"] == [1_000, 2_000, 3_000]
    assert pq.ParquetFile(result.loans_path).num_row_groups == 3


def test_ids_are_unique_and_references_resolve(book: dict[str, object]) -> None:
    customers, loans = _rows(book["customers"]), _rows(book["loans"])
    payments, truth = _rows(book["payments"]), _rows(book["behaviour"])
    customer_ids = [c["customer_id"] for c in customers]
    loan_ids = [ln["loan_id"] for ln in loans]
    refs = [p["payment_ref"] for p in payments]
    for ids in (customer_ids, loan_ids, refs):
        assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"C\d{8}", c) for c in customer_ids)
    assert all(re.fullmatch(r"L\d{9}", c) for c in loan_ids)
    assert all(re.fullmatch(r"P\d{9}-\d{2,3}-[1-5]", r) for r in refs)
    assert {ln["customer_id"] for ln in loans} == set(customer_ids)
    assert {p["loan_id"] for p in payments} <= set(loan_ids)
    assert [t["customer_id"] for t in truth] == customer_ids


def test_payments_fall_between_disbursement_and_as_of(book: dict[str, object]) -> None:
    disbursed = {ln["loan_id"]: ln["disbursed_on"] for ln in _rows(book["loans"])}
    payments = _rows(book["payments"])
    assert payments
    channels = {"bank_transfer", "card", "wechat", "alipay", "cash", "agency"}
    for p in payments:
        assert disbursed[p["loan_id"]] <= p["paid_on"] <= AS_OF
        assert p["amount"] > 0 and p["amount"].as_tuple().exponent == -2
        assert p["currency"] == "CNY" and p["channel"] in channels
    assert {p["channel"] for p in payments} == channels


def test_settlements_recover_part_of_debt_given_up_for_good(book: dict[str, object]) -> None:
    """Kind 5: one payment per loan, only on loans of customers who stopped for good,
    190–540 days after the first installment left unpaid (past M7), 20–60% of the
    installments fallen due from it to then, in whole hundreds of yuan."""
    catalog = load_catalog()
    truth = {t["customer_id"]: t["behaviour"] for t in _rows(book["behaviour"])}
    loans = {ln["loan_id"]: ln for ln in _rows(book["loans"])}
    settlements = [p for p in _rows(book["payments"]) if p["payment_ref"].endswith("-5")]
    assert len(settlements) >= 5
    assert len({p["loan_id"] for p in settlements}) == len(settlements)
    for p in settlements:
        loan = loans[p["loan_id"]]
        assert truth[loan["customer_id"]] in {"willing_unable", "able_unwilling", "fraud"}
        first_unpaid = int(p["payment_ref"].split("-")[1])
        schedule = build_schedule(catalog.product(loan["product_code"]), _terms(loan))
        unpaid = schedule[first_unpaid - 1 :]
        assert 190 <= (p["paid_on"] - unpaid[0].due_date).days <= 540
        owed = sum((s.amount for s in unpaid if s.due_date <= p["paid_on"]), Decimal(0))
        assert p["amount"] % 100 == 0
        assert owed * Decimal("0.2") - 100 <= p["amount"] <= owed * Decimal("0.6")


def test_decimals_are_exact() -> None:
    cents = np.array([1, -1, 0, 123_456_789_012_345, 99, -250], dtype=np.int64)
    values = _decimals(cents, MONEY).to_pylist()
    assert values == [Decimal(int(c)).scaleb(-2) for c in cents]
    assert [str(v) for v in values[:3]] == ["0.01", "-0.01", "0.00"]


def _terms(loan: dict[str, object]) -> LoanTerms:
    return LoanTerms(loan["principal"], loan["annual_rate"], loan["term_months"],
                     loan["disbursed_on"], loan["first_due_date"])  # fmt: skip


def test_loans_follow_the_product_catalog(book: dict[str, object]) -> None:
    catalog = load_catalog()
    loans = _rows(book["loans"])
    types = {c["customer_id"]: c["customer_type"] for c in _rows(book["customers"])}
    by_product: dict[str, int] = defaultdict(int)
    terms = {"CONSUMER": {6, 12, 24, 36}, "CARD": {12}, "MICRO": {3, 6, 12}, "SME": {12, 24}}
    steps = {"CONSUMER": 1_000, "CARD": 500, "MICRO": 500, "SME": 50_000}
    for loan in loans:
        code = loan["product_code"]
        by_product[code] += 1
        assert loan["term_months"] in terms[code]
        assert loan["principal"] % steps[code] == 0
        assert loan["annual_rate"] < Decimal("0.24") and loan["currency"] == "CNY"
        assert (code == "SME") == (types[loan["customer_id"]] in ("sme", "corporate"))
        assert AS_OF.toordinal() - 730 <= loan["disbursed_on"].toordinal() < AS_OF.toordinal()
        if code == "CARD":  # the holder's 还款日, 20–50 days after the draw
            gap = (loan["first_due_date"] - loan["disbursed_on"]).days
            assert loan["first_due_date"].day in (5, 10, 15, 20, 25) and 20 <= gap <= 51
        else:
            assert loan["first_due_date"] is None
    shares = {code: count / len(loans) for code, count in by_product.items()}
    expected = {"CONSUMER": 0.45, "CARD": 0.25, "MICRO": 0.20, "SME": 0.10}
    assert shares.keys() == expected.keys() == catalog.products.keys()
    assert all(abs(shares[c] - expected[c]) < 0.04 for c in expected), shares


def test_schedules_match_the_domain_and_principal_is_repaid_in_full(
    book: dict[str, object],
) -> None:
    catalog = load_catalog()
    loans = _rows(book["loans"])[:600]
    codes = ("CONSUMER", "CARD", "MICRO", "SME")
    cache = ScheduleCache(catalog)
    day = np.array([ln["disbursed_on"].toordinal() - 719163 for ln in loans])
    first_due = [ln["first_due_date"] for ln in loans]
    ins = expand_installments(
        cache,
        np.array([codes.index(ln["product_code"]) for ln in loans]),
        np.array([int(ln["principal"] * 100) for ln in loans]),
        np.array([int(ln["annual_rate"] * 1_000_000) for ln in loans]),
        np.array([ln["term_months"] for ln in loans]),
        day,
        10**6,
        np.array([-1 if d is None else d.toordinal() - 719163 for d in first_due]),
    )
    for i, loan in enumerate(loans):
        schedule = build_schedule(catalog.product(loan["product_code"]), _terms(loan))
        assert sum(s.principal for s in schedule) == loan["principal"]
        rows = ins.loan == i
        assert ins.count[i] == len(schedule) == rows.sum()
        assert [Decimal(int(c)).scaleb(-2) for c in ins.due_cents[rows]] == [
            s.amount for s in schedule
        ]
        assert [date.fromordinal(int(d) + 719163) for d in ins.due_day[rows]] == [
            s.due_date for s in schedule
        ]


def test_canonical_disbursement_day_keeps_the_due_date_offsets() -> None:
    days = np.arange(date(2023, 1, 1).toordinal(), date(2025, 1, 1).toordinal()) - 719163
    canon = canonical_days(days)
    for d, c in zip(days.tolist(), canon.tolist(), strict=True):
        start, other = date.fromordinal(d + 719163), date.fromordinal(c + 719163)
        due = due_dates(LoanTerms(Decimal(1), Decimal(0), 1, start), 14)
        moved = due_dates(LoanTerms(Decimal(1), Decimal(0), 1, other), 14)
        assert [(x - start).days for x in due] == [(x - other).days for x in moved]


def test_always_payers_are_current_under_the_domain_schedule(book: dict[str, object]) -> None:
    catalog = load_catalog()
    truth = {t["customer_id"]: t["behaviour"] for t in _rows(book["behaviour"])}
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for p in _rows(book["payments"]):
        paid[p["loan_id"]] += p["amount"]
    checked = 0
    for loan in _rows(book["loans"]):
        if truth[loan["customer_id"]] != "always_pays":
            continue
        schedule = build_schedule(catalog.product(loan["product_code"]), _terms(loan))
        due = sum((s.amount for s in schedule if s.due_date <= AS_OF), Decimal(0))
        assert paid[loan["loan_id"]] >= due, loan
        checked += 1
    assert checked > LOANS * 0.6


def test_behaviour_shares_are_near_the_targets(book: dict[str, object]) -> None:
    expected = {"always_pays": 0.72, "late_then_cures": 0.12, "willing_unable": 0.08,
                "able_unwilling": 0.05, "fraud": 0.03}  # fmt: skip
    truth = [t["behaviour"] for t in _rows(book["behaviour"])]
    shares = book["result"].behaviour_shares
    assert shares.keys() == expected.keys()
    for name, share in expected.items():
        assert shares[name] == pytest.approx(truth.count(name) / len(truth))
        assert abs(shares[name] - share) < 0.025, (name, shares[name])


def _check_char(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def test_customer_personal_data_is_plausible_and_obviously_fake(book: dict[str, object]) -> None:
    customers = _rows(book["customers"])
    zones: dict[str, int] = defaultdict(int)
    for c in customers:
        number = c["id_number"]
        assert re.fullmatch(r"\d{17}[\dX]", number) and number[17] == _check_char(number[:17])
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert 20 <= (AS_OF - born).days / 365.25 <= 65
        assert re.fullmatch(r"1(3[3-9]|5[0-9]|8[56]|77|99)0000\d{4}", c["mobile"])
        assert c["email"] is None or re.fullmatch(
            r"[a-z]+\d+@example\.(com|cn|net|org)", c["email"]
        )
        ZoneInfo(c["time_zone"])
        zones[c["time_zone"]] += 1
        assert c["customer_type"] in ("individual", "sme", "corporate")
        assert c["language"] in ("zh_CN", "en")
        if c["language"] == "zh_CN":
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", c["name"])
        else:
            assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", c["name"])
        assert c["address"]
    assert zones["Asia/Shanghai"] / len(customers) > 0.85
    assert {"Asia/Urumqi", "Asia/Hong_Kong"} <= zones.keys()
    english = sum(c["language"] == "en" for c in customers) / len(customers)
    assert 0.02 < english < 0.09


def test_zero_loans_writes_empty_files_with_the_schema(tmp_path: Path) -> None:
    result = generate_portfolio(tmp_path, 0, AS_OF)
    assert (result.customers, result.loans, result.payments) == (0, 0, 0)
    for name, expected in EXPECTED_SCHEMAS.items():
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert table.num_rows == 0 and [(f.name, f.type) for f in table.schema] == expected


def test_bad_arguments_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        generate_portfolio(tmp_path / "x", 10, AS_OF, chunk_size=0)
    catalog = parse_catalog(
        {"products": {"CARD": {"method": "card_minimum", "annual_rate": 0.18, "term_months": 12}}}
    )
    with pytest.raises(ValueError, match="CONSUMER"):
        generate_portfolio(tmp_path / "y", 10, AS_OF, catalog=catalog)
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob("y/*"))


def test_explicit_first_due_dates_of_act_products_follow_the_domain() -> None:
    # A card's 还款日 sets its first period's length; under ACT/365 the amounts depend
    # on it (and on the months after it), so the cache must build them per such period.
    catalog = load_catalog()
    cache = ScheduleCache(catalog)
    codes = ("CONSUMER", "CARD", "MICRO", "SME")
    disbursed = [date(2025, 1, 10), date(2025, 1, 20), date(2025, 1, 30), date(2025, 2, 3)]
    first_due = [date(2025, 2, 15), date(2025, 3, 5), date(2025, 3, 25), date(2025, 3, 10)]
    for code in ("CARD", "MICRO", "SME"):
        n = len(disbursed)
        ins = expand_installments(
            cache,
            np.full(n, codes.index(code)),
            np.full(n, 1_000_000),
            np.full(n, 182_500),
            np.full(n, 6),
            np.array([d.toordinal() - 719163 for d in disbursed]),
            10**6,
            np.array([d.toordinal() - 719163 for d in first_due]),
        )
        for i, (start, first) in enumerate(zip(disbursed, first_due, strict=True)):
            terms = LoanTerms(Decimal("10000.00"), Decimal("0.1825"), 6, start, first)
            schedule = build_schedule(catalog.product(code), terms)
            rows = ins.loan == i
            assert [Decimal(int(c)).scaleb(-2) for c in ins.due_cents[rows]] == [
                s.amount for s in schedule
            ], (code, start, first)
            assert [date.fromordinal(int(d) + 719163) for d in ins.due_day[rows]] == [
                s.due_date for s in schedule
            ]
