"""Charge-off per product (issue 25, contract 8) on the domain core: the rule fires at
the end of the first day the DPD reaches it, the balances leave the book as shadow
balances by component, charges stop, DPD counts on, and recoveries reduce the shadow
balances in the product's named order."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.domain import operations as ops
from arrears.domain.account import (
    LoanAccount,
    Payment,
    advance,
    charged_off,
    close_day,
    open_account,
    shadow_of,
    state_of,
)
from arrears.domain.errors import ProductError
from arrears.domain.ledger import Account, EntryKind
from arrears.domain.products import (
    PRINCIPAL_FIRST,
    ChargeOffRule,
    ClassificationScheme,
    Component,
    LoanClass,
    load_catalog,
    parse_catalog,
)
from arrears.domain.schedule import LoanTerms

D = Decimal
ONE = timedelta(days=1)
CAT = load_catalog()
# the default CONSUMER charges off at 180 DPD; these tests set the rule themselves
CONSUMER = replace(CAT.product("CONSUMER"), code="CO-NONE", charge_off=ChargeOffRule())
AT_180 = replace(CONSUMER, code="CO-180", charge_off=ChargeOffRule(at_dpd=180))
DISBURSED = date(2025, 3, 5)  # #1 550.08 due 5 Apr, never paid
FIRES = date(2025, 10, 2)  # 5 Apr + 180 days


def _open(product=AT_180) -> LoanAccount:
    return open_account("CO-1", product, LoanTerms(D("6000.00"), D("0.18"), 12, DISBURSED))


def _day_by_day(acc: LoanAccount, to: date, payments=()) -> LoanAccount:
    by_day: dict[date, list[Payment]] = {}
    for p in payments:
        by_day.setdefault(p.paid_on, []).append(p)
    while acc.closed_through < to:
        day = acc.closed_through + ONE
        acc = close_day(acc, day, by_day.get(day, ()))
    return acc


def test_the_rule_fires_at_the_end_of_the_day_dpd_reaches_180():
    acc, states = advance(_open(), date(2025, 10, 20), catalog=CAT, record_from=date(2025, 10, 1))
    by_day = {s.as_of: s for s in states}
    before, fired = by_day[FIRES - ONE], by_day[FIRES]
    assert (before.status, before.dpd, before.loan_class) == ("active", 179, "substandard")
    assert (fired.status, fired.dpd, fired.loan_class) == ("written_off", 180, "loss")
    assert charged_off(acc.ledger)
    entry = next(e for e in acc.ledger.entries if e.kind is EntryKind.WRITE_OFF)
    assert (entry.ref, entry.posted_on) == (f"chargeoff:{FIRES}", FIRES)
    # the balances left the book; the shadow holds each component, the day's 罚息 included
    assert fired.principal_outstanding == fired.penalty == fired.fee == fired.interest_due == 0
    shadow = fired.shadow
    assert shadow.principal == D("6000.00")
    assert shadow.interest == before.interest_due
    assert shadow.fee == before.fee
    assert shadow.penalty > before.penalty and shadow.compound > before.compound
    assert shadow.total == shadow.written_off == entry.amount and shadow.recovered == 0
    # charges stop, DPD counts on
    last = by_day[date(2025, 10, 20)]
    assert last.charged_to_date == fired.charged_to_date
    assert (last.dpd, last.loan_class, last.shadow) == (198, "loss", shadow)


def test_skipping_quiet_days_equals_closing_every_day():
    pays = [Payment("p1", date(2025, 4, 20), D("300.00"))]
    skipped, _ = advance(_open(), date(2025, 11, 30), pays)
    daily = _day_by_day(_open(), date(2025, 11, 30), pays)
    # quiet stretches post one accrual for several days: the same balances
    assert skipped.ledger.balances == daily.ledger.balances
    assert [e for e in skipped.ledger.entries if e.kind is EntryKind.WRITE_OFF] == [
        e for e in daily.ledger.entries if e.kind is EntryKind.WRITE_OFF
    ]
    assert state_of(skipped, CAT) == state_of(daily, CAT)


def test_a_loan_without_a_rule_or_that_pays_is_not_charged_off():
    never, _ = advance(_open(CONSUMER), date(2026, 6, 1))
    assert not never.ledger.written_off and state_of(never, CAT).dpd == 422
    # 1,500.00 on 1 Sep settles the charges, #1 and #2: the oldest unpaid is #3 (due
    # 5 Jun), DPD 88 that day, so the rule fires on 2 Dec (5 Jun + 180), not on 2 Oct
    pays = [Payment("p", date(2025, 9, 1), D("1500.00"))]
    paid, _ = advance(_open(), date(2025, 12, 1), pays)
    assert not paid.ledger.written_off and state_of(paid, CAT).dpd == 179
    later, _ = advance(paid, date(2025, 12, 2))
    assert later.ledger.entries[-1].ref == "chargeoff:2025-12-02"


def test_a_rule_that_comes_in_late_fires_on_the_next_close():
    acc, _ = advance(_open(CONSUMER), date(2026, 1, 10))  # DPD 280, no rule yet
    acc = replace(acc, product=AT_180)
    acc, _ = advance(acc, date(2026, 1, 11))
    assert acc.ledger.entries[-1].ref == "chargeoff:2026-01-11"
    assert state_of(acc, CAT).dpd == 281


def test_at_class_loss_fires_on_the_first_day_of_loss():
    # 损失 over 360 DPD by default: fires at DPD 361; a product classing 损失 over 180: 181
    loss = replace(CONSUMER, charge_off=ChargeOffRule(at_class=LoanClass.LOSS))
    acc, _ = advance(_open(loss), date(2026, 4, 1))
    assert acc.ledger.entries[-1].ref == "chargeoff:2026-04-01"  # 5 Apr 2025 + 361
    strict = replace(loss, classification=ClassificationScheme(0, 60, 90, 180))
    acc, _ = advance(_open(strict), date(2025, 10, 3))
    assert acc.ledger.entries[-1].ref == "chargeoff:2025-10-03"
    # both given: the first reached
    both = replace(CONSUMER, charge_off=ChargeOffRule(at_dpd=90, at_class=LoanClass.LOSS))
    assert both.charge_off.threshold(None) == 90


def _charged_off_then_paid(product, amount: str) -> LoanAccount:
    acc, _ = advance(
        _open(product), date(2025, 10, 10), [Payment("r1", date(2025, 10, 10), D(amount))]
    )
    return acc


def test_recoveries_reduce_the_shadow_in_the_waterfalls_order():
    at = state_of(advance(_open(), FIRES)[0], CAT).shadow
    acc = _charged_off_then_paid(AT_180, "500.00")
    s = shadow_of(acc)
    # CONSUMER's order: (costs,) fee, penalty, compound, interest, principal
    assert s.fee == 0 and s.penalty == 0 and s.compound == 0
    assert s.interest == at.interest - (D("500.00") - at.fee - at.penalty - at.compound)
    assert (s.principal, s.recovered) == (D("6000.00"), D("500.00"))
    first = replace(AT_180, charge_off=ChargeOffRule(at_dpd=180, recovery_order=PRINCIPAL_FIRST))
    s = shadow_of(_charged_off_then_paid(first, "500.00"))
    assert (s.principal, s.interest, s.fee) == (D("5500.00"), at.interest, at.fee)
    # the day's state shows the recovery as paid today; nothing returns to the book
    st_ = state_of(_charged_off_then_paid(AT_180, "500.00"), CAT)
    assert (st_.paid_today, st_.principal_outstanding, st_.status) == (
        D("500.00"),
        0,
        "written_off",
    )


def test_more_than_the_shadow_becomes_credit():
    acc = _charged_off_then_paid(AT_180, "7000.00")
    s = shadow_of(acc)
    assert s.total == 0 and s.recovered == s.written_off
    assert acc.ledger.balance(Account.CREDIT) == D("7000.00") - s.written_off


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cents=st.lists(st.integers(1, 300_000), max_size=5),
    reverse=st.booleans(),
    principal_first=st.booleans(),
)
def test_shadow_and_recoveries_conserve_what_was_written_off(cents, reverse, principal_first):
    order = PRINCIPAL_FIRST if principal_first else None
    product = replace(AT_180, charge_off=ChargeOffRule(at_dpd=180, recovery_order=order))
    acc, _ = advance(_open(product), FIRES)
    written = shadow_of(acc)
    day = FIRES
    refs = []
    for n, c in enumerate(cents):
        day += ONE
        acc = close_day(acc, day, [Payment(f"r{n}", day, D(c) / 100)])
        refs.append(f"r{n}")
        s = shadow_of(acc)
        assert s.total + s.recovered == s.written_off == written.written_off
        for name in ("principal", "interest", "penalty", "compound", "fee", "cost"):
            assert 0 <= getattr(s, name) <= getattr(written, name)
    paid = sum((D(c) / 100 for c in cents), D(0))
    assert shadow_of(acc).recovered == min(paid, written.written_off)
    if reverse and refs:
        day += ONE
        undo = refs[0]
        acc = close_day(
            acc, day, postings=[lambda ledger, d: ops.reverse(ledger, "rev", d, undo).ledger]
        )
        s = shadow_of(acc)
        assert s.total + s.recovered == s.written_off == written.written_off
        assert s.total >= 0


def test_the_rule_is_read_from_the_product_file(tmp_path: Path):
    body = (
        "[portfolio]\nclassification = { normal = 0, special_mention = 60, substandard = 90,"
        " doubtful = 150 }\n"
        '[products.P]\nmethod = "annuity"\nannual_rate = 0.18\nterm_months = 12\n'
        'charge_off = { at_class = "loss", recovery_order = "principal_first" }\n'
        '[products.Q]\nmethod = "annuity"\nannual_rate = 0.18\nterm_months = 12\n'
        "[products.Q.charge_off]\nat_dpd = 180\n"
        'recovery_order = ["principal", "interest", "cost", "fee", "penalty", "compound"]\n'
    )
    cat = parse_catalog(tomllib.loads(body), "x.toml")
    p, q = cat.product("P").charge_off, cat.product("Q").charge_off
    assert (p.at_class, p.class_dpd, p.threshold(), p.recovery_order) == (
        LoanClass.LOSS,
        151,
        151,
        PRINCIPAL_FIRST,
    )
    assert q.threshold() == 180 and q.recovery_order[2] is Component.COST
    bare = '[products.R]\nmethod = "annuity"\nannual_rate = 0.18\nterm_months = 12\n'
    assert not parse_catalog(tomllib.loads(bare), "x.toml").product("R").charge_off.active
    # the default catalogue: consumer loans, cards and micro-loans at 180 DPD, SME loans
    # on reaching 损失 (past 360 DPD under the book's classification)
    rules = {code: p.charge_off for code, p in CAT.products.items()}
    assert {code: r.threshold() for code, r in rules.items()} == {
        "CONSUMER": 180,
        "CARD": 180,
        "MICRO": 180,
        "SME": 361,
    }
    assert rules["SME"].at_class is LoanClass.LOSS and rules["SME"].at_dpd is None
    assert all(r.recovery_order is None for r in rules.values())  # each its waterfall


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ("{ at_dpd = 0 }", "at_dpd 0 must be at least 1"),
        ('{ at_class = "normal" }', "at_class cannot be normal"),
        ('{ at_class = "worst" }', "'worst' is not a valid LoanClass"),
        ('{ recovery_order = "waterfall" }', "give at_dpd, at_class or both"),
        ('{ at_dpd = 180, recovery_order = "oldest" }', "unknown recovery_order 'oldest'"),
        ('{ at_dpd = 180, recovery_order = ["principal"] }', "recovery_order must name each"),
        ("{ at_dpd = 180, when = 1 }", "unknown keys ['when']"),
    ],
)
def test_a_bad_rule_names_the_file_product_and_field(table: str, reason: str):
    body = (
        '[products.P]\nmethod = "annuity"\nannual_rate = 0.18\nterm_months = 12\n'
        f"charge_off = {table}\n"
    )
    with pytest.raises(
        ProductError, match=r"x\.toml: products\.P\.charge_off: invalid value"
    ) as exc:
        parse_catalog(tomllib.loads(body), "x.toml")
    assert reason in str(exc.value)
