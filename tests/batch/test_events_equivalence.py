"""One-off waivers (减免), fees and enforcement costs (实现债权的有关费用) on the Ibis
close: a book whose loans carry them (its ``events`` table, ``state.EVENTS``) closes on
the engine (DuckDB, and Spark in the slow run) exactly as on the domain core, which
posts them in ``close_day`` after the day's payments and before its accrual.

The loans are the CONSUMER worked example of docs/loan-rules.md (12,000.00 at 18%, #1
paid, #2 due 10 Mar missed, grace 3 days, late fee 30, cost cap 24% a year of the
original principal), handed over on 15 Mar (DPD 5) and closed to 30 Apr, with:

- waivers of 罚息 and of the late fee, alone and on a day with a payment (which the
  waterfall settles first: the waiver takes what the payment left);
- waivers of interest and of principal, oldest installment first, across two;
- one-off fees, alone, on a day with a payment larger than what is owed (the fee stays
  owed beside the credit until an installment falls due), and one that reaches the cost
  cap (the 罚息 stops until the allowance catches up);
- enforcement costs under the Civil Code art. 561 waterfall (costs → interest →
  principal), paid first by a later payment but not by the same day's (it is booked
  after it), outside the cost cap, and waived in part;
- a product accruing unrounded (posted at payment): a fee or waiver posts what accrued;
- a fee under a cost cap on the principal past due (it measures the charges only);
- a loan charged off at 30 DPD on the day of a fee (written off with it), then a cost
  booked after the charge-off (on the book, not paid by the recovery).

A waiver of more than is owed is refused by both: the domain core raises, the batch
close raises ``WaiverRefused`` and writes no state for that day.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.batch.close import BatchBook, Closer, WaiverRefused
from arrears.batch.engine import day_shape
from arrears.batch.reference_states import differences, expected_rows, prepare
from arrears.batch.sample import SampleLoan
from arrears.batch.state import day_number, events_table
from arrears.domain import operations as ops
from arrears.domain.account import (
    DayState,
    LoanAccount,
    Payment,
    advance,
    close_day,
    open_account,
    state_of,
)
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Account, EntryKind, Ledger
from arrears.domain.products import (
    CIVIL_CODE_561,
    AccrualRounding,
    CapBasis,
    ChargeOffRule,
    Component,
    load_catalog,
)
from arrears.domain.schedule import LoanTerms

D = Decimal
ONE_DAY = timedelta(days=1)
_CAT = load_catalog()
_CONSUMER = _CAT.product("CONSUMER")
CAT = replace(
    _CAT,
    products={
        **_CAT.products,
        "CONS-561": replace(_CONSUMER, code="CONS-561", waterfall=CIVIL_CODE_561),
        "CO30": replace(_CONSUMER, code="CO30", charge_off=ChargeOffRule(at_dpd=30)),
        # the cap on the principal past due (36% a year): it measures the charges only
        "CONS-OVD": replace(
            _CONSUMER,
            code="CONS-OVD",
            charges=replace(_CONSUMER.charges, cost_cap=D("0.36"), cost_cap_basis=CapBasis.OVERDUE),
        ),
        "CONS-PAY": replace(
            _CONSUMER,
            code="CONS-PAY",
            charges=replace(_CONSUMER.charges, accrual_rounding=AccrualRounding.AT_PAYMENT),
        ),
    },
)
START, END = date(2025, 3, 15), date(2025, 4, 30)


@dataclass(frozen=True)
class Event:
    """A one-off event: ``kind`` fee, cost or waiver (of ``component``)."""

    loan_id: str
    kind: str
    on: date
    amount: Decimal
    component: Component | None = None
    ref: str = ""

    def row(self) -> tuple[str, str, date, str | None, Decimal, str]:
        comp = None if self.component is None else self.component.value
        return (self.loan_id, self.kind, self.on, comp, self.amount, self.ref)

    def posting(self, ledger: Ledger, day: date) -> Ledger:
        if self.kind == "fee":
            return ops.charge_fee(ledger, self.ref, day, self.amount, memo="fee").ledger
        if self.kind == "cost":
            return ops.charge_cost(ledger, self.ref, day, self.amount, memo="cost").ledger
        assert self.component is not None
        return ops.waive(ledger, self.ref, day, self.component, self.amount).ledger


def _loan(loan_id: str, code: str = "CONSUMER", *payments: tuple[int, int, str]) -> SampleLoan:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account(loan_id, CAT.product(code), terms)
    pays = [Payment(f"{loan_id}-1", date(2025, 2, 10), D("1100.16"))]
    pays += [
        Payment(f"{loan_id}-p{n}", date(2025, m, d), D(a)) for n, (m, d, a) in enumerate(payments)
    ]
    return SampleLoan(acc, f"C-{loan_id}", "events", tuple(pays))


def _ev(loan_id: str, kind: str, m: int, d: int, amount: str, comp: Component | None = None):
    ref = f"{loan_id}:{kind}:{m}-{d}:{comp}"
    return Event(loan_id, kind, date(2025, m, d), D(amount), comp, ref)


PEN, FEE, COMP, INT, PRIN, COST = (
    Component.PENALTY,
    Component.FEE,
    Component.COMPOUND,
    Component.INTEREST,
    Component.PRINCIPAL,
    Component.COST,
)


def _book() -> tuple[list[SampleLoan], list[Event]]:
    sample = [
        _loan("WAIVE-PEN"),
        _loan("WAIVE-PAY", "CONSUMER", (3, 28, "20.00")),
        _loan("WAIVE-INT", "CONSUMER", (4, 20, "100.00")),
        _loan("FEE", "CONSUMER", (4, 5, "1200.00")),
        _loan("CAPPED-FEE"),
        _loan("COST-561", "CONS-561", (4, 2, "1000.00"), (4, 16, "150.00")),
        _loan("COST-CONS"),
        _loan("WAIVE-COST", "CONS-561"),
        _loan("EXACT", "CONS-PAY"),
        _loan("CHARGED-OFF", "CO30", (4, 25, "300.00")),
        _loan("FEE-OVD", "CONS-OVD"),
        _loan("PLAIN"),
    ]
    events = [
        # 罚息 (7.70 owed as the day starts) and the whole late fee waived
        _ev("WAIVE-PEN", "waiver", 3, 25, "5.00", PEN),
        _ev("WAIVE-PEN", "waiver", 3, 25, "30.00", FEE),
        # the payment settles 20.00 of the fee first: the waiver takes the 10.00 left
        _ev("WAIVE-PAY", "waiver", 3, 28, "10.00", FEE),
        _ev("WAIVE-PAY", "waiver", 3, 28, "3.00", PEN),
        # #2's interest (166.20) and 33.80 of #3's; #2's principal and 66.04 of #3's,
        # on a day with a payment
        _ev("WAIVE-INT", "waiver", 4, 12, "200.00", INT),
        _ev("WAIVE-INT", "waiver", 4, 20, "1000.00", PRIN),
        _ev("WAIVE-INT", "waiver", 4, 12, "1.00", COMP),
        _ev("FEE", "fee", 3, 20, "50.00"),
        _ev("FEE", "fee", 4, 5, "25.00"),  # beside the payment's credit
        _ev("CAPPED-FEE", "fee", 3, 20, "200.00"),  # over the cap: no 罚息 for a while
        _ev("COST-561", "cost", 3, 20, "800.00"),
        _ev("COST-561", "cost", 4, 16, "200.00"),  # after the day's payment of 150.00
        _ev("COST-CONS", "cost", 3, 20, "5000.00"),  # outside the cap: 罚息 runs on
        _ev("WAIVE-COST", "cost", 3, 18, "300.00"),
        _ev("WAIVE-COST", "waiver", 3, 22, "100.00", COST),
        _ev("WAIVE-COST", "waiver", 3, 22, "0.50", COMP),
        _ev("EXACT", "fee", 3, 21, "10.00"),  # posts the 罚息 accrued unrounded
        _ev("EXACT", "waiver", 3, 27, "1.00", PEN),
        # charged off at 30 DPD on 9 Apr: the day's fee goes off the book with the rest;
        # a cost booked after it stays on the book beside the recoveries
        _ev("CHARGED-OFF", "fee", 4, 9, "10.00"),
        _ev("CHARGED-OFF", "cost", 4, 20, "500.00"),
        # under a cap on the principal past due, a fee cuts the 罚息 it leaves room for
        _ev("FEE-OVD", "fee", 4, 14, "5.00"),
    ]
    return sample, events


def _ordered(events: Sequence[Event]) -> list[Event]:
    """A day's events in the order the engine applies them: fees and costs, then
    waivers, each by reference."""
    return sorted(events, key=lambda e: (e.kind == "waiver", e.ref))


def reference(
    sample: Sequence[SampleLoan], events: Sequence[Event], start: date, end: date
) -> dict[date, dict[str, DayState]]:
    """The domain core's state of every loan on every day, each day closed by
    ``close_day`` with its payments and its events as postings."""
    days: dict[date, dict[str, DayState]] = {}
    for loan in sample:
        acc: LoanAccount = loan.account
        acc, _ = advance(acc, start, [p for p in loan.payments if p.paid_on <= start])
        days.setdefault(start, {})[acc.loan_id] = state_of(acc, CAT)
        mine = [e for e in events if e.loan_id == acc.loan_id]
        day = start + ONE_DAY
        while day <= end:
            pays = [p for p in loan.payments if p.paid_on == day]
            posts = [e.posting for e in _ordered([e for e in mine if e.on == day])]
            acc = close_day(acc, day, pays, posts)
            days.setdefault(day, {})[acc.loan_id] = state_of(acc, CAT)
            day += ONE_DAY
    return days


def _prepared(folder, sample, events, start: date = START) -> BatchBook:
    book = BatchBook(folder)
    prepare(book, sample, CAT, start, events_table(e.row() for e in events))
    return book


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    sample, events = _book()
    book = _prepared(tmp_path_factory.mktemp("events"), sample, events)
    closer = Closer(book, CAT, "duckdb")
    closer.close_through(END)
    # compiled once per kind of day (``batch/plan.py``): the events read the day number
    # from the placeholder, so 46 days of three shapes (31 Mar, 30 Apr, the others)
    # compile three times
    shapes = {day_shape(day_number(d)) for d in _each_day(START + ONE_DAY, END)}
    assert len(closer.plan._compiled) == len(shapes) == 3
    return sample, book, reference(sample, events, START, END)


def _each_day(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def test_duckdb_waivers_fees_and_costs_as_the_domain_core(closed):
    sample, book, ref = closed
    for day in _each_day(START + ONE_DAY, END):
        accounts, _ = book.read_state(day)
        problems = differences(accounts, expected_rows(ref, sample, day))
        assert not problems, f"{day}: {problems[:5]}"


def _row(book: BatchBook, loan: str, m: int, d: int) -> dict:
    rows = book.read_state(date(2025, m, d))[0].to_pylist()
    return next(r for r in rows if r["loan_id"] == loan)


def test_the_events_worked_by_hand(closed):
    """Not vacuous: each event moved what it names, on its day, as worked here."""
    _, book, _ = closed
    # the whole late fee and 5.00 of 罚息 waived on 25 Mar
    before, after = _row(book, "WAIVE-PEN", 3, 24), _row(book, "WAIVE-PEN", 3, 25)
    assert (before["fee"], after["fee"]) == (3000, 0)
    assert after["penalty"] == before["penalty"] - 500 + 70  # and the day's 0.70 accrues
    # 20.00 paid to the fee first, the 10.00 left waived: no fee, 罚息 less 3.00
    assert _row(book, "WAIVE-PAY", 3, 28)["fee"] == 0
    # interest waived oldest first: #2's 166.20, then 33.80 of #3's 152.19
    assert _row(book, "WAIVE-INT", 4, 11)["interest_due"] == 16620 + 15219
    assert _row(book, "WAIVE-INT", 4, 12)["interest_due"] == 15219 - 3380
    # fees booked, the second beside the credit the day's payment left
    assert _row(book, "FEE", 3, 20)["fee"] == 3000 + 5000
    fee_day = _row(book, "FEE", 4, 5)
    assert fee_day["fee"] == 2500 and fee_day["credit"] > 0
    # a fee over the cost cap's room (544.44 allowed, 581.12 charged): no 罚息 to 24 Mar
    capped = [_row(book, "CAPPED-FEE", 3, d) for d in (19, 20, 24, 25)]
    assert [r["penalty"] for r in capped] == [420, 420, 420, 490]
    assert [r["charged"] for r in capped] == [38112, 58112, 58112, 58194]
    # art. 561: the cost settled first by the next payment; the same day's does not
    cost = _row(book, "COST-561", 4, 2)
    assert cost["costs"] == 0 and cost["penalty"] > 0  # 1000 - 800 did not reach it all
    assert _row(book, "COST-561", 4, 16)["costs"] == 20000
    # a cost outside the cap: 罚息 runs on beside 5,000.00 of costs
    assert _row(book, "COST-CONS", 3, 21)["penalty"] > _row(book, "COST-CONS", 3, 20)["penalty"]
    assert _row(book, "WAIVE-COST", 3, 22)["costs"] == 20000
    off = _row(book, "CHARGED-OFF", 4, 9)
    assert off["written_off"] and off["fee"] == 0 and off["shadow_fee"] == 3000 + 1000
    assert _row(book, "CHARGED-OFF", 4, 25)["costs"] == 50000


def test_a_waiver_of_more_than_is_owed_is_refused_by_both(tmp_path):
    """A waiver of the 罚息 owed as the day starts, on a day whose payment settles it
    first: the domain core refuses it, and the batch close refuses the day."""
    sample = [_loan("OVER", "CONSUMER", (3, 20, "40.00")), _loan("PLAIN")]
    # 30.00 of fee and 4.20 of 罚息 as 20 Mar starts: the payment settles both first
    events = [_ev("OVER", "waiver", 3, 20, "4.00", PEN)]
    with pytest.raises(DomainError, match="cannot waive"):
        reference(sample, events, START, date(2025, 3, 20))
    book = _prepared(tmp_path, sample, events)
    closer = Closer(book, CAT, "duckdb")
    closer.close_through(date(2025, 3, 19))
    with pytest.raises(WaiverRefused, match="loan OVER: of penalty"):
        closer.close(date(2025, 3, 20))
    assert book.state_dates()[-1] == date(2025, 3, 19)


@st.composite
def _random_events(draw) -> tuple[list[SampleLoan], list[Event]]:
    """A few loans with payments and events on random days; each waiver takes at most
    what the domain core says is owed after that day's money (and fees, costs)."""
    rng = draw(st.randoms(use_true_random=False))
    sample, events = [], []
    for n in range(4):
        code = rng.choice(("CONSUMER", "CONS-561", "CONS-PAY", "CONS-OVD"))
        pays = [
            (rng.choice((3, 4)), rng.randint(1, 28), str(D(rng.randint(100, 80000)) / 100))
            for _ in range(rng.randint(0, 2))
        ]
        pays = [(m, d, a) for m, d, a in pays if date(2025, m, d) > START]
        loan = _loan(f"R{n}", code, *pays)
        sample.append(loan)
        acc, _ = advance(loan.account, START, [p for p in loan.payments if p.paid_on <= START])
        day = START + ONE_DAY
        while day <= END:
            pays_today = [p for p in loan.payments if p.paid_on == day]
            todays: list[Event] = []
            if rng.random() < 0.08:
                kind = rng.choice(("fee", "cost"))
                amount = D(rng.randint(1, 30000)) / 100
                todays.append(Event(loan.account.loan_id, kind, day, amount, None, f"{kind}{day}"))
            if rng.random() < 0.12:
                probe = close_day(acc, day, pays_today, [e.posting for e in todays])
                comp = rng.choice(list(Component))
                owed = _owed(probe, comp)
                if owed > 0:
                    share = (owed * rng.randint(1, 100) / 100).quantize(D("0.01"))
                    amount = max(D("0.01"), share)
                    lid = loan.account.loan_id
                    todays.append(Event(lid, "waiver", day, amount, comp, f"w{day}"))
            acc = close_day(acc, day, pays_today, [e.posting for e in _ordered(todays)])
            events += todays
            day += ONE_DAY
    return sample, events


def _owed(acc: LoanAccount, component: Component) -> Decimal:
    """What ``acc`` owes of ``component`` after its day, before that day's accrual:
    its balance less the day's accrual for 罚息 and 复利 (so a waiver of it fits)."""
    balance = acc.ledger.totals.get(Account.of(component), D(0))
    for e in acc.ledger.entries:
        if e.kind is not EntryKind.ACCRUAL or e.posted_on != acc.closed_through:
            continue
        balance -= sum((g.amount for g in e.legs if g.account is Account.of(component)), D(0))
    return max(balance, D(0))


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(book=_random_events())
def test_random_events_close_as_the_domain_core(tmp_path_factory, book):
    """Random fees, costs and waivers (each waiver within what is owed) on random
    days, with random payments: the engine's every loan and day equal the domain's."""
    sample, events = book
    folder = tmp_path_factory.mktemp("random-events")
    built = _prepared(folder, sample, events)
    Closer(built, CAT, "duckdb").close_through(END)
    ref = reference(sample, events, START, END)
    for day in _each_day(START + ONE_DAY, END):
        problems = differences(built.read_state(day)[0], expected_rows(ref, sample, day))
        assert not problems, f"{day}: {problems[:5]}"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_spark_events_as_duckdb(closed, tmp_path, monkeypatch):
    """The same Ibis code on Spark (local mode), from DuckDB's state of 19 Mar through
    25 Mar (fees, costs, waivers of fee, 罚息, 复利 and costs): equal to the domain
    core and byte-identical to DuckDB's state."""
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")
    sample, duckdb, ref = closed
    first, last = date(2025, 3, 19), date(2025, 3, 25)
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(duckdb.root, spark.root)
    for day in spark.state_dates():
        if day > first:
            shutil.rmtree(spark.state_dir(day))
    Closer(spark, CAT, "spark").close_through(last)
    for day in _each_day(first + ONE_DAY, last):
        accounts, _ = spark.read_state(day)
        assert not differences(accounts, expected_rows(ref, sample, day)), day
        for name in ("accounts.parquet", "dues.parquet"):
            assert (spark.state_dir(day) / name).read_bytes() == (
                duckdb.state_dir(day) / name
            ).read_bytes(), f"{day} {name}"
