"""A loan's scenario replayed through the domain core (the use case of `arrears loan
replay`): figures worked by hand, equal to closing the account directly, and every
fault of a scenario named by its field.

The CONSUMER loan is the worked example of test_worked_example.py: 12,000.00 at 18%,
12 annuity installments of 1,100.16, disbursed 2025-01-10, grace 3 days, 罚息 and 复利
27% a year on a 360-day year, late fee 30.00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.account import Payment, advance, open_account, state_of
from arrears.domain.cases import CaseMove, case_move, needs_case
from arrears.domain.errors import ProductError
from arrears.domain.products import (
    CIVIL_CODE_561,
    Component,
    PenaltyFrom,
    Waterfall,
    WaterfallMode,
    load_catalog,
    parse_catalog,
)
from arrears.domain.scenario import ScenarioError, load_scenario, parse_scenario, replay
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
LOAN = {"principal": "12000.00", "disbursed_on": date(2025, 1, 10)}


def scenario(*events: dict[str, Any], product: str = "CONSUMER", **loan: Any) -> Any:
    return parse_scenario(
        {"product": product, "loan": {**LOAN, **loan}, "events": list(events)}, CAT, "s.toml"
    )


def pay(on: date | str, amount: str, ref: str) -> dict[str, Any]:
    return {"kind": "payment", "on": on, "amount": amount, "ref": ref}


WORKED = [
    pay(date(2025, 2, 10), "1100.16", "p1"),
    pay(date(2025, 4, 20), "1000.00", "p2"),
    pay(date(2025, 4, 25), "1400.49", "p3"),
]


def test_card_interest_counts_actual_days_at_005_percent_a_day():
    # CARD says 0.05% a day (18.25% a year): 10,000 for the 31 days 10 Jan → 10 Feb is
    # 10,000 × 0.0005 × 31 = 155.00 (under 30/360 it was 10,000 × 0.1825 / 12 = 152.08)
    result = replay(scenario(product="CARD", principal="10000.00"), CAT, date(2025, 2, 10))
    assert result.state.interest_due == D("155.00")
    assert result.charged.interest == D("155.00")


def test_worked_example_by_hand():
    # As of 19 Apr: #2 and #3 unpaid, DPD 40 (from 10 Mar), late fees 2 × 30.00,
    # 罚息 30.16 and 复利 5.16 (see test_worked_example.py for the day by day)
    result = replay(scenario(*WORKED), CAT, date(2025, 4, 19))
    s = result.state
    assert (s.status, s.dpd, s.bucket, s.loan_class) == ("active", 40, "M2", "special_mention")
    assert s.principal_outstanding == D("12000.00") - D("920.16")
    assert (s.principal_due, s.interest_due) == (D("933.96") + D("947.97"), D("318.39"))
    assert (s.penalty, s.compound, s.fee, s.credit) == (D("30.16"), D("5.16"), D("60"), 0)
    assert result.charged.interest == D("180.00") + D("166.20") + D("152.19")
    assert (result.charged.penalty, result.charged.compound) == (D("30.16"), D("5.16"))
    assert result.charged.fees == D("60.00")
    assert result.costs == 0


def test_replay_of_payments_equals_closing_the_account_directly():
    product = CAT.product("CONSUMER")
    terms = LoanTerms(D("12000.00"), product.annual_rate, 12, date(2025, 1, 10))
    payments = [Payment(e["ref"], e["on"], D(e["amount"])) for e in WORKED]
    for as_of in (date(2025, 3, 20), date(2025, 4, 22), date(2025, 5, 31)):
        acc, _ = advance(open_account("scenario", product, terms), as_of, payments)
        assert replay(scenario(*WORKED), CAT, as_of).state == state_of(acc, CAT)


def test_events_after_the_as_of_date_have_not_happened_yet():
    early = replay(scenario(*WORKED), CAT, date(2025, 4, 19))
    assert early.state == replay(scenario(*WORKED[:1]), CAT, date(2025, 4, 19)).state


def test_a_reversed_payment_is_as_if_never_paid_when_it_stood_inside_grace():
    # #1 paid on its due date, bounced two days later (still inside grace): by 20 Feb
    # the loan owes #1, its late fee and the charges of 14–20 Feb, as if never paid
    bounced = scenario(
        pay(date(2025, 2, 10), "1100.16", "p1"),
        {"kind": "reversal", "on": date(2025, 2, 12), "ref": "p1"},
    )
    got = replay(bounced, CAT, date(2025, 2, 20))
    assert got.state == replay(scenario(), CAT, date(2025, 2, 20)).state
    assert got.state.dpd == 10 and got.state.fee == D("30.00")


def test_a_waiver_of_one_component_counts_in_that_days_charges():
    # 30.16 of 罚息 by 19 Apr; 10.00 waived that day leaves 20.16. Charged stays 30.16.
    waived = scenario(
        *WORKED, {"kind": "waiver", "on": date(2025, 4, 19), "amount": "10", "component": "penalty"}
    )
    result = replay(waived, CAT, date(2025, 4, 19))
    assert result.state.penalty == D("20.16")
    assert result.charged.penalty == D("30.16")


def test_a_waiver_without_component_follows_the_waterfall():
    # CONSUMER's order starts with fees: 50.00 waived of the 60.00 of late fees
    waived = scenario(*WORKED, {"kind": "waiver", "on": date(2025, 4, 19), "amount": "50.00"})
    s = replay(waived, CAT, date(2025, 4, 19)).state
    assert (s.fee, s.penalty) == (D("10.00"), D("30.16"))


def test_a_fee_is_charged_and_its_reversal_takes_it_back():
    fee = {"kind": "fee", "on": date(2025, 1, 20), "amount": "25.00", "ref": "f1"}
    charged = replay(scenario(fee), CAT, date(2025, 2, 1))
    assert (charged.state.fee, charged.charged.fees) == (D("25.00"), D("25.00"))
    undo = {"kind": "reversal", "on": date(2025, 1, 25), "ref": "f1"}
    back = replay(scenario(fee, undo), CAT, date(2025, 2, 1))
    assert (back.state.fee, back.charged.fees) == (0, 0)


def test_write_off_then_recovery():
    events = [
        *WORKED[:1],
        {"kind": "write_off", "on": date(2025, 4, 19)},
        {"kind": "recovery", "on": date(2025, 4, 25), "amount": "500.00"},
    ]
    s = replay(scenario(*events), CAT, date(2025, 4, 30)).state
    assert s.status == "written_off"
    assert (s.principal_outstanding, s.interest_due, s.penalty, s.fee) == (0, 0, 0, 0)


def test_a_written_off_loan_keeps_counting_dpd_and_is_loss_while_its_case_closes():
    # issue 25: #1 paid, #2 (due 10 Mar) never; written off on 19 Apr (DPD 40), 500.00
    # recovered on 25 Apr. The debt is still unpaid: on 30 Jun DPD counts on from 10 Mar
    # (112 days, M4) and the loan is 损失; a recovery does not stop the count. Its case
    # follows the write-off rule: it closes as written_off, and none is needed after.
    events = [
        *WORKED[:1],
        {"kind": "write_off", "on": date(2025, 4, 19)},
        {"kind": "recovery", "on": date(2025, 4, 25), "amount": "500.00"},
    ]
    for as_of, dpd, bucket in ((date(2025, 4, 19), 40, "M2"), (date(2025, 6, 30), 112, "M4")):
        s = replay(scenario(*events), CAT, as_of).state
        assert (s.status, s.dpd, s.bucket, s.loan_class) == ("written_off", dpd, bucket, "loss")
    assert case_move(s.status, s.dpd, has_open_case=True) is CaseMove.WRITTEN_OFF
    assert not needs_case(s.status, s.dpd)


def test_a_recovery_before_the_write_off_is_refused_naming_the_event():
    events = [{"kind": "recovery", "on": date(2025, 2, 25), "amount": "500.00"}]
    with pytest.raises(ScenarioError, match=r"events #1 \(recovery on 2025-02-25\): .*write"):
        replay(scenario(*events), CAT, date(2025, 4, 30))


def test_waiving_more_than_is_owed_names_the_event():
    events = [{"kind": "waiver", "on": date(2025, 2, 1), "amount": "5.00", "component": "fee"}]
    with pytest.raises(ScenarioError, match=r"s\.toml: events #1 \(waiver on 2025-02-01\)"):
        replay(scenario(*events), CAT, date(2025, 2, 2))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"product": "NOPE"}, r"s\.toml: product: unknown product 'NOPE'"),
        ({"loan": {"disbursed_on": date(2025, 1, 10)}}, r"loan\.principal: required"),
        ({"loan": {**LOAN, "disbursed_on": "2025-13-01"}}, r"loan\.disbursed_on: '2025-13-01'"),
        ({"loan": {**LOAN, "principal": "12000.005"}}, r"loan\.principal: .*more than 2 dec"),
        ({"loan": {**LOAN, "principal": 12000.005}}, r"loan\.principal: .*more than 2 dec"),
        ({"loan": {**LOAN, "term": 12}}, r"loan\.term: unknown field"),
        ({"events": [{"kind": "payment", "on": date(2025, 2, 1)}]}, r"events #1\.amount: req"),
        (
            {"events": [pay(date(2025, 2, 1), "10", "a"), pay("2025-02-30", "1", "b")]},
            r"events #2\.on: '2025-02-30' is not a date",
        ),
        ({"events": [pay(date(2025, 2, 1), "550.085", "a")]}, r"events #1\.amount: '550\.085'"),
        ({"events": [pay(date(2025, 2, 1), "-5", "a")]}, r"events #1\.amount: -5 must be pos"),
        ({"events": [{"kind": "refund", "on": date(2025, 2, 1)}]}, r"events #1\.kind: 'refund'"),
        ({"events": [{"on": date(2025, 2, 1)}]}, r"events #1\.kind: required"),
        (
            {"events": [{"kind": "reversal", "on": date(2025, 2, 1), "ref": "p9"}]},
            r"events #1\.ref: no payment, waiver, fee or recovery 'p9' before it",
        ),
        (
            {"events": [pay(date(2025, 2, 1), "10", "a"), pay(date(2025, 2, 2), "10", "a")]},
            r"events #2\.ref: 'a' is used by another event",
        ),
        (
            {"events": [{"kind": "cost", "on": date(2025, 2, 1)}]},
            r"events #1\.amount: required field is missing",
        ),
        ({"events": [pay(date(2025, 1, 10), "10", "a")]}, r"events #1\.on: .*not after the disb"),
    ],
)
def test_bad_scenarios_name_the_field(change: dict[str, Any], message: str):
    data: dict[str, Any] = {"product": "CONSUMER", "loan": dict(LOAN), **change}
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(data, CAT, "s.toml")


def test_a_reversal_after_its_payment_on_the_same_day_is_accepted():
    events = [
        pay(date(2025, 2, 10), "1100.16", "p1"),
        {"kind": "reversal", "on": date(2025, 2, 10), "ref": "p1"},
    ]
    s = replay(scenario(*events), CAT, date(2025, 2, 10)).state
    assert s.principal_due == D("920.16")


def test_load_scenario_reads_toml_and_names_the_file(tmp_path: Path):
    path = tmp_path / "loan.toml"
    path.write_text(
        'product = "CONSUMER"\n[loan]\nprincipal = "6000.00"\nannual_rate = "0.18"\n'
        "term_months = 12\ndisbursed_on = 2025-03-05\n"
        '[[events]]\nkind = "payment"\non = 2025-04-09\namount = "550.08"\nref = "p1"\n',
        encoding="utf-8",
    )
    loaded = load_scenario(path, CAT)
    assert loaded.terms.principal == D("6000.00") and loaded.events[0].amount == D("550.08")
    (tmp_path / "bad.toml").write_text("product = \n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.toml: not valid TOML"):
        load_scenario(tmp_path / "bad.toml", CAT)
    with pytest.raises(ScenarioError, match=r"none\.toml: scenario file not found"):
        load_scenario(tmp_path / "none.toml", CAT)


ISSUE_LOAN = {"principal": "6000.00", "annual_rate": "0.18", "term_months": 12}


def test_a_payment_the_day_after_grace_is_late():
    # issue 25: CONSUMER 6,000.00 at 18%, #1 (550.08 = 90.00 interest + 460.08 principal)
    # due 5 Apr, grace 3 (6–8 Apr), paid in full on 9 Apr (DPD 4). The late fee 30.00 is
    # owed for what was unpaid when grace ended, so the payment settles it first (fee →
    # interest → principal) and 30.00 of principal stays unpaid: DPD 4, M1, 关注, and
    # 罚息 30.00 × 0.27 / 360 = 0.0225 → 0.02 for the day.
    late = scenario(
        pay(date(2025, 4, 9), "550.08", "p1"),
        disbursed_on=date(2025, 3, 5),
        **ISSUE_LOAN,
    )
    s = replay(late, CAT, date(2025, 4, 9)).state
    assert (s.dpd, s.bucket, s.loan_class) == (4, "M1", "special_mention")
    assert (s.principal_due, s.interest_due, s.fee, s.penalty) == (
        D("30.00"),
        0,
        0,
        D("0.02"),
    )
    assert replay(late, CAT, date(2025, 4, 9)).charged.fees == D("30.00")
    # paid on 8 Apr, the last day of grace, it is on time: nothing charged, DPD 0
    on_time = scenario(
        pay(date(2025, 4, 8), "550.08", "p1"), disbursed_on=date(2025, 3, 5), **ISSUE_LOAN
    )
    result = replay(on_time, CAT, date(2025, 4, 9))
    assert (result.state.dpd, result.charged.fees, result.state.penalty) == (0, 0, 0)


def test_a_reversal_recharges_what_the_reversed_payment_avoided():
    # issue 25: #1 (460.08 principal + 90.00 interest) due 5 Apr, grace to 8 Apr; 600.00
    # paid on 15 Apr settles everything, then bounces on 20 Apr. 罚息 460.08 × 0.27 / 360
    # = 0.35 and 复利 90.00 × 0.27 / 360 = 0.07 a day are owed for all 12 days 9–20 Apr:
    # 4.20 and 0.84 (the 5 days the bounced payment stood, 15–19 Apr, are charged again
    # on the 20th; without that the loan showed 2.45 and 0.49).
    bounced = scenario(
        pay(date(2025, 4, 15), "600.00", "p1"),
        {"kind": "reversal", "on": date(2025, 4, 20), "ref": "p1"},
        disbursed_on=date(2025, 3, 5),
        **ISSUE_LOAN,
    )
    got = replay(bounced, CAT, date(2025, 4, 20))
    assert (got.state.penalty, got.state.compound, got.state.fee) == (
        D("4.20"),
        D("0.84"),
        D("30.00"),
    )
    assert (got.charged.penalty, got.charged.compound) == (D("4.20"), D("0.84"))
    never = replay(scenario(disbursed_on=date(2025, 3, 5), **ISSUE_LOAN), CAT, date(2025, 4, 20))
    assert got.state == never.state


def test_a_payment_bounced_after_grace_recharges_the_late_fee_it_avoided():
    # paid on the due date (5 Apr), bounced on 12 Apr: the fee of 9 Apr is charged on the
    # 12th, with the 罚息/复利 of 9–11 Apr, as if the payment had never come
    bounced = scenario(
        pay(date(2025, 4, 5), "550.08", "p1"),
        {"kind": "reversal", "on": date(2025, 4, 12), "ref": "p1"},
        disbursed_on=date(2025, 3, 5),
        **ISSUE_LOAN,
    )
    got = replay(bounced, CAT, date(2025, 4, 12))
    never = replay(scenario(disbursed_on=date(2025, 3, 5), **ISSUE_LOAN), CAT, date(2025, 4, 12))
    assert got.state == never.state
    assert (got.state.fee, got.state.penalty, got.state.compound) == (
        D("30.00"),
        D("1.40"),
        D("0.28"),
    )


NO_CAP = replace(
    CAT,
    products={
        code: replace(p, charges=replace(p.charges, cost_cap=None))
        for code, p in CAT.products.items()
    },
)


@settings(max_examples=40, deadline=None)
@given(
    paid=st.integers(1, 100),
    stood=st.integers(1, 60),
    cents=st.integers(1, 300_000),
    product=st.sampled_from(["CONSUMER", "MICRO", "SME", "CARD"]),
)
def test_a_reversed_payment_leaves_the_loan_as_if_never_paid(paid, stood, cents, product):
    # whatever the day, the amount and how long it stood, a payment reversed leaves every
    # balance and the charges to date exactly as if it had never been made (no cost cap:
    # under one, the recharge is cut to the cap, below)
    start = date(2025, 3, 5)
    pay_on = start + timedelta(days=paid)
    reverse_on = pay_on + timedelta(days=stood)
    events = (
        pay(pay_on, str(D(cents) / 100), "p1"),
        {"kind": "reversal", "on": reverse_on, "ref": "p1"},
    )
    loan = {"disbursed_on": start, "principal": "6000.00"}

    def run(catalog, *events):
        data = {"product": product, "loan": {**LOAN, **loan}, "events": list(events)}
        return replay(parse_scenario(data, catalog, "s.toml"), catalog, reverse_on)

    got, never = run(NO_CAP, *events), run(NO_CAP)
    assert got.state == never.state
    assert got.charged == never.charged
    # under the cap the recharge is cut: the charges (contract interest aside, which is
    # never cut and may fall due after them) stay within the allowance
    capped = run(CAT, *events).charged
    allowance = D(6000) * D("0.24") * (reverse_on - start).days / 365
    charges = capped.penalty + capped.compound + capped.fees
    assert charges <= allowance.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_enforcement_costs_are_their_own_component_settled_first():
    # contract 1: 800.00 of court fees booked on 20 Mar (CONSUMER, #2 unpaid since 10 Mar)
    # are owed as costs, outside the cost cap; 1,000.00 paid on 25 Mar settles them first
    # (CONSUMER's waterfall names no place for costs: Civil Code art. 561 puts them
    # first), then the fee 30.00, 罚息, 复利 and interest of #2
    booked = [
        *WORKED[:1],
        {"kind": "cost", "on": date(2025, 3, 20), "amount": "800.00", "ref": "c1"},
    ]
    before = replay(scenario(*booked), CAT, date(2025, 3, 24))
    assert before.costs == D("800.00") and before.state.costs == D("800.00")
    assert before.charged.fees == D("30.00")  # a cost is not a fee, nor under the cap
    paid = replay(
        scenario(*booked, pay(date(2025, 3, 25), "1000.00", "p2")), CAT, date(2025, 3, 25)
    )
    # 罚息 0.70 and 复利 0.12 a day 14–24 Mar (7.70, 1.32): 1,000 − 800 − 30 − 7.70 − 1.32
    # = 160.98 of #2's interest 166.20, 5.22 left
    b, s = before.state, paid.state
    assert (b.penalty, b.compound) == (D("7.70"), D("1.32"))
    assert (paid.costs, s.fee, s.interest_due) == (0, 0, D("5.22"))
    # reversed, waived and written off like any other component
    reversed_ = replay(
        scenario(*booked, {"kind": "reversal", "on": date(2025, 3, 22), "ref": "c1"}),
        CAT,
        date(2025, 3, 24),
    )
    assert reversed_.costs == 0
    waived = scenario(
        *booked,
        {"kind": "waiver", "on": date(2025, 3, 22), "amount": "300.00", "component": "cost"},
    )
    assert replay(waived, CAT, date(2025, 3, 24)).costs == D("500.00")
    gone = scenario(*booked, {"kind": "write_off", "on": date(2025, 3, 22)})
    assert replay(gone, CAT, date(2025, 3, 24)).costs == 0


def test_civil_code_561_waterfall_is_named_and_the_default_for_cny_products():
    product = {"method": "annuity", "annual_rate": 0.18, "term_months": 12}
    cat = parse_catalog(
        {
            "products": {
                "NAMED": {**product, "waterfall": "civil_code_561"},
                "PLAIN": product,
                "USD": {**product, "currency": "USD"},
            }
        }
    )
    assert cat.product("NAMED").waterfall == CIVIL_CODE_561 == cat.product("PLAIN").waterfall
    assert CIVIL_CODE_561.order == tuple(
        Component(c) for c in ("cost", "penalty", "compound", "interest", "principal", "fee")
    )
    assert CIVIL_CODE_561.mode is WaterfallMode.BY_COMPONENT
    assert cat.product("USD").waterfall == Waterfall()
    with pytest.raises(ProductError, match=r"products\.X\.waterfall: .*unknown waterfall"):
        parse_catalog({"products": {"X": {**product, "waterfall": "art_999"}}})


def test_under_art_561_interest_of_every_installment_comes_before_any_principal():
    # CONSUMER under art. 561: #2 and #3 unpaid on 19 Apr with 罚息, 复利, a late fee and
    # 300.00 of costs; 700.00 settles costs, then 罚息 and 复利, then the interest of #2
    # and #3, then principal — the late fees last
    consumer = replace(CAT.product("CONSUMER"), waterfall=CIVIL_CODE_561)
    cat = replace(CAT, products={**CAT.products, "CONSUMER": consumer})
    events = [
        WORKED[0],
        {"kind": "cost", "on": date(2025, 4, 1), "amount": "300.00", "ref": "c1"},
        pay(date(2025, 4, 19), "700.00", "p2"),
    ]
    data = {"product": "CONSUMER", "loan": LOAN, "events": events}
    day_before = parse_scenario({**data, "events": events[:2]}, cat, "s")
    unpaid = replay(day_before, cat, date(2025, 4, 18)).state
    s = replay(parse_scenario(data, cat, "s"), cat, date(2025, 4, 19)).state
    assert (s.costs, s.compound, s.interest_due) == (0, 0, 0)
    assert s.fee == D("60.00")  # the two late fees wait until the debt is paid
    settled = D(300) + unpaid.penalty + unpaid.compound + D("318.39")
    assert s.principal_due == D("933.96") + D("947.97") - (D(700) - settled)
    # the payment comes before the day's accrual: 罚息 of 19 Apr on what is left
    assert s.penalty == (s.principal_due * D("0.27") / 360).quantize(D("0.01"), ROUND_HALF_UP)


def _back_charged():
    consumer = CAT.product("CONSUMER")
    charges = replace(consumer.charges, penalty_from=PenaltyFrom.DUE_DATE)
    return replace(CAT, products={**CAT.products, "CONSUMER": replace(consumer, charges=charges)})


def test_penalty_from_the_due_date_once_grace_is_missed():
    # contract 2: #1 (460.08 + 90.00) due 5 Apr, grace 3, unpaid. penalty_from = "due_date"
    # charges the 3 grace days back on 9 Apr (3 × 0.35 罚息, 3 × 0.07 复利) besides the
    # day's own: every day past due is charged, 12 + 3 = 15 days by 20 Apr
    cat = _back_charged()
    data = {"product": "CONSUMER", "loan": {**LOAN, **ISSUE_LOAN, "disbursed_on": date(2025, 3, 5)}}
    for as_of, penalty, compound in (
        (date(2025, 4, 8), "0", "0"),
        (date(2025, 4, 9), "1.40", "0.28"),
        (date(2025, 4, 20), "5.25", "1.05"),
    ):
        s = replay(parse_scenario({**data, "events": []}, cat, "s"), cat, as_of).state
        assert (s.penalty, s.compound) == (D(penalty), D(compound))
    default = replay(parse_scenario({**data, "events": []}, CAT, "s"), CAT, date(2025, 4, 20))
    assert (default.state.penalty, default.state.compound) == (D("4.20"), D("0.84"))
    # paid on the last day of grace: on time, nothing charged back
    on_time = {**data, "events": [pay(date(2025, 4, 8), "550.08", "p1")]}
    s = replay(parse_scenario(on_time, cat, "s"), cat, date(2025, 4, 20)).state
    assert (s.penalty, s.compound, s.fee) == (0, 0, 0)
    # paid in full the day after: fee 30.00 and 1.05 + 0.21 charged back come first
    late = {**data, "events": [pay(date(2025, 4, 9), "550.08", "p1")]}
    s = replay(parse_scenario(late, cat, "s"), cat, date(2025, 4, 9)).state
    # 550.08 − 30.00 − 1.05 − 0.21 − 90.00 = 428.82 of 460.08: 31.26 left, DPD 4
    assert (s.principal_due, s.dpd) == (D("31.26"), 4)
    assert load_catalog().product("CONSUMER").charges.penalty_from is PenaltyFrom.GRACE_END
