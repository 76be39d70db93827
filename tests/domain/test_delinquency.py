"""Days past due, grace, tolerance, ageing buckets, five-tier class, first-payment default."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.domain import operations as ops
from arrears.domain.account import Payment, advance, open_account, state_of
from arrears.domain.delinquency import assess, days_past_due, oldest_unpaid, worst
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Ledger
from arrears.domain.products import (
    BucketScheme,
    ClassificationScheme,
    LoanClass,
    Waterfall,
    load_catalog,
)
from arrears.domain.schedule import Installment, LoanTerms

D = Decimal
DUE1, DUE2, DUE3 = date(2025, 2, 10), date(2025, 3, 10), date(2025, 4, 10)
SCHEDULE = (
    Installment(1, DUE1, D("900.00"), D("100.00")),
    Installment(2, DUE2, D("950.00"), D("50.00")),
    Installment(3, DUE3, D("1150.00"), D("20.00")),
)


def ledger_with_due(*seqs: int, paid: str = "0") -> Ledger:
    """Installments ``seqs`` fallen due, then ``paid`` settled oldest first."""
    ledger = ops.disburse(Ledger("Q1"), "disb", date(2025, 1, 10), D("3000.00")).ledger
    for inst in SCHEDULE:
        if inst.seq in seqs:
            ledger = ops.fall_due(ledger, inst).ledger
    if D(paid) > 0:
        ledger = ops.pay(ledger, "pay", DUE1, D(paid), Waterfall()).ledger
    return ledger


def test_dpd_is_zero_on_the_due_date_and_counts_from_the_next_day():
    ledger = ledger_with_due(1)
    assert days_past_due(SCHEDULE, ledger, DUE1) == 0
    assert days_past_due(SCHEDULE, ledger, DUE1 - timedelta(days=1)) == 0
    for n in range(1, 40):
        assert days_past_due(SCHEDULE, ledger, DUE1 + timedelta(days=n)) == n


def test_grace_keeps_dpd_at_zero_then_counts_from_the_due_date():
    ledger = ledger_with_due(1)
    got = [days_past_due(SCHEDULE, ledger, DUE1 + timedelta(days=n), 3) for n in range(0, 8)]
    assert got == [0, 0, 0, 0, 4, 5, 6, 7]


def test_paid_installment_is_not_past_due():
    ledger = ledger_with_due(1, paid="1000.00")
    assert days_past_due(SCHEDULE, ledger, DUE1 + timedelta(days=20)) == 0


def test_dpd_counts_from_the_oldest_unpaid_installment():
    # inst 1 settled, inst 2 missed, inst 3 also due: DPD counts from 10 Mar
    ledger = ledger_with_due(1, 2, 3, paid="1000.00")
    as_of = date(2025, 4, 20)
    assert oldest_unpaid(SCHEDULE, ledger, as_of).seq == 2
    assert days_past_due(SCHEDULE, ledger, as_of) == (as_of - DUE2).days == 41


def test_partly_paid_oldest_installment_still_counts():
    # 999.99 of inst 1's 1000.00 paid: one cent keeps it past due
    ledger = ledger_with_due(1, paid="999.99")
    assert days_past_due(SCHEDULE, ledger, date(2025, 3, 1)) == 19


@pytest.mark.parametrize(
    ("paid", "tolerance", "expected"),
    [
        ("999.50", "0.50", 0),  # 0.50 left, tolerated (at the tolerance)
        ("999.51", "0.50", 0),  # 0.49 left
        ("999.49", "0.50", 19),  # 0.51 left, beyond tolerance
        ("999.99", "0", 19),
    ],
)
def test_arrears_tolerance(paid, tolerance, expected):
    ledger = ledger_with_due(1, paid=paid)
    assert days_past_due(SCHEDULE, ledger, date(2025, 3, 1), 0, D(tolerance)) == expected


DEFAULT_BUCKETS = [
    (0, "M0"),
    (1, "M1"),
    (30, "M1"),
    (31, "M2"),
    (60, "M2"),
    (61, "M3"),
    (90, "M3"),
    (91, "M4"),
    (120, "M4"),
    (121, "M5"),
    (150, "M5"),
    (151, "M6"),
    (180, "M6"),
    (181, "M7+"),
    (5000, "M7+"),
]


@pytest.mark.parametrize(("dpd", "bucket"), DEFAULT_BUCKETS)
def test_default_bucket_edges(dpd, bucket):
    scheme = load_catalog().buckets
    assert scheme.bucket(dpd) == bucket
    assert scheme.names[scheme.index(dpd)] == bucket
    assert assess(dpd, 1, scheme, ClassificationScheme()).bucket == bucket


def test_default_bucket_names_and_labels():
    scheme = BucketScheme()
    assert scheme.names == ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")
    assert scheme.label(0) == "M0 (current)"
    assert scheme.label(2) == "M2 (31–60)"
    assert scheme.label(7) == "M7+ (>180)"


@pytest.mark.parametrize(
    ("dpd", "bucket"), [(0, "M0"), (1, "M1"), (7, "M1"), (8, "M2"), (14, "M2"), (15, "M3+")]
)
def test_custom_bucket_edges(dpd, bucket):
    scheme = BucketScheme((0, 7, 14))
    assert scheme.names == ("M0", "M1", "M2", "M3+")
    assert scheme.bucket(dpd) == bucket


@pytest.mark.parametrize("edges", [(), (1, 30), (0, 30, 30), (0, 60, 30)])
def test_invalid_bucket_edges(edges):
    with pytest.raises(DomainError):
        BucketScheme(edges)


FIVE_TIER = [
    (0, LoanClass.NORMAL, "正常"),
    (1, LoanClass.SPECIAL_MENTION, "关注"),
    (90, LoanClass.SPECIAL_MENTION, "关注"),
    (91, LoanClass.SUBSTANDARD, "次级"),
    (270, LoanClass.SUBSTANDARD, "次级"),
    (271, LoanClass.DOUBTFUL, "可疑"),
    (360, LoanClass.DOUBTFUL, "可疑"),
    (361, LoanClass.LOSS, "损失"),
    (3650, LoanClass.LOSS, "损失"),
]


@pytest.mark.parametrize(("dpd", "cls", "zh"), FIVE_TIER)
def test_five_tier_classification_at_every_boundary(dpd, cls, zh):
    scheme = load_catalog().classification
    assert scheme.classify(dpd) is cls
    assert scheme.classify(dpd).zh == zh
    assert assess(dpd, 2, BucketScheme(), scheme).loan_class is cls


def test_custom_classification():
    scheme = ClassificationScheme(normal=3, special_mention=60, substandard=180, doubtful=365)
    assert [scheme.classify(d) for d in (3, 4, 60, 61, 180, 181, 365, 366)] == [
        LoanClass.NORMAL,
        LoanClass.SPECIAL_MENTION,
        LoanClass.SPECIAL_MENTION,
        LoanClass.SUBSTANDARD,
        LoanClass.SUBSTANDARD,
        LoanClass.DOUBTFUL,
        LoanClass.DOUBTFUL,
        LoanClass.LOSS,
    ]


@pytest.mark.parametrize(
    "bounds", [(-1, 90, 270, 360), (0, 0, 270, 360), (0, 90, 80, 360), (0, 90, 270, 270)]
)
def test_invalid_classification(bounds):
    with pytest.raises(DomainError):
        ClassificationScheme(*bounds)


def test_customer_level_view_is_the_worst_loan():
    buckets, classes = BucketScheme(), ClassificationScheme()
    loans = [assess(d, s, buckets, classes) for d, s in ((0, None), (45, 3), (95, 1), (12, 2))]
    w = worst(loans)
    assert w is not None
    assert (w.dpd, w.bucket, w.loan_class, w.first_payment_default) == (
        95,
        "M4",
        LoanClass.SUBSTANDARD,
        True,
    )
    assert worst([]) is None
    current = worst([assess(0, None, buckets, classes)] * 2)
    assert current is not None and not current.delinquent


def test_first_payment_default_flag_from_assess():
    buckets, classes = BucketScheme(), ClassificationScheme()
    assert assess(5, 1, buckets, classes).first_payment_default
    assert not assess(5, 2, buckets, classes).first_payment_default
    assert not assess(0, 1, buckets, classes).first_payment_default  # within grace: not yet


def _account(payments=()):
    cat = load_catalog()
    product = replace(cat.product("CONSUMER"), grace_days=3)
    acc = open_account("Q2", product, LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10)))
    return cat, advance(acc, date(2025, 2, 9), payments)[0]


def test_first_payment_default_on_an_account_that_never_paid():
    cat, acc = _account()
    acc, states = advance(acc, date(2025, 2, 20), catalog=cat, record_from=date(2025, 2, 10))
    by_day = {s.as_of: s for s in states}
    # due 10 Feb, grace 3: DPD 0 on the 10th..13th, then 4, 5, ...
    assert [by_day[date(2025, 2, d)].dpd for d in range(10, 17)] == [0, 0, 0, 0, 4, 5, 6]
    assert not by_day[date(2025, 2, 13)].first_payment_default
    assert by_day[date(2025, 2, 14)].first_payment_default
    assert by_day[date(2025, 2, 14)].bucket == "M1"
    assert by_day[date(2025, 2, 14)].loan_class == "special_mention"


def test_no_first_payment_default_when_the_first_was_paid():
    cat, acc = _account([Payment("p1", date(2025, 2, 1), D("1100.16"))])
    acc, _ = advance(acc, date(2025, 3, 20))
    state = state_of(acc, cat)
    assert state.dpd == 10  # installment 2, due 10 Mar, is the oldest unpaid
    assert not state.first_payment_default
