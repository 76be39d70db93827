"""One-off waivers (减免), fees and enforcement costs (实现债权的有关费用) on the Ibis
close: a book whose loans carry them (its ``events`` table, ``state.EVENTS``) closes on
the engine (DuckDB, and Spark in the slow run) exactly as on the domain core driven as the
store drives it: the workbench posts an event to the ledger while its day is open, so the
close of that day (``close_day``) starts from it, before its installments fall due, its
late fees and its payments.

The loans are the CONSUMER worked example of docs/loan-rules.md (12,000.00 at 18%, #1
paid, #2 due 10 Mar missed, grace 3 days, late fee 30, cost cap 24% a year of the
original principal), handed over on 15 Mar (DPD 5) and closed to 30 Apr, with:

- waivers of 罚息 and of the late fee, alone and on a day with a payment that would
  have covered them (the waiver comes first: the payment settles what it left);
- waivers of interest and of principal, oldest installment first, across two;
- one-off fees, alone, on a day with a payment larger than what is owed (the payment
  settles the fee booked before it), and one that reaches the cost cap (the 罚息 stops
  until the allowance catches up);
- enforcement costs under the Civil Code art. 561 waterfall (costs → interest →
  principal), paid first by a later payment and by the same day's (it is booked before
  it), outside the cost cap, and waived in part;
- a product accruing unrounded (posted at payment): a fee posts nothing of what accrued,
  and a waiver of 罚息 takes what a payment posted;
- a fee under a cost cap on the principal past due (it measures the charges only);
- a loan charged off at 30 DPD on the day of a fee (written off with it), then a cost
  booked after the charge-off (on the book, not paid by the recovery).

A waiver of more than is owed as its day starts is refused by both: the domain core
raises, the batch close raises ``WaiverRefused`` and writes no state for that day.
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
    cost_charged,
    open_account,
    state_of,
)
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Account, Ledger
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
        _loan("COVERED", "CONSUMER", (3, 20, "40.00")),
        _loan("WAIVE-INT", "CONSUMER", (4, 20, "100.00")),
        _loan("FEE", "CONSUMER", (4, 5, "1200.00")),
        _loan("CAPPED-FEE"),
        _loan("COST-561", "CONS-561", (4, 2, "1000.00"), (4, 16, "150.00")),
        _loan("COST-CONS"),
        _loan("WAIVE-COST", "CONS-561"),
        _loan("EXACT", "CONS-PAY", (3, 24, "20.00")),
        _loan("CHARGED-OFF", "CO30", (4, 25, "300.00")),
        _loan("FEE-OVD", "CONS-OVD"),
        _loan("PLAIN"),
    ]
    events = [
        # 罚息 (7.70 owed as the day starts) and the whole late fee waived
        _ev("WAIVE-PEN", "waiver", 3, 25, "5.00", PEN),
        _ev("WAIVE-PEN", "waiver", 3, 25, "30.00", FEE),
        # 10.00 of the fee waived first: the payment settles the 20.00 left
        _ev("WAIVE-PAY", "waiver", 3, 28, "10.00", FEE),
        _ev("WAIVE-PAY", "waiver", 3, 28, "3.00", PEN),
        # 4.00 of the 4.20 of 罚息 owed as 20 Mar starts, waived on the day 40.00 paid
        # would have settled all of it (with the 30.00 fee): the payment meets 0.20
        _ev("COVERED", "waiver", 3, 20, "4.00", PEN),
        # #2's interest (166.20) and 33.80 of #3's; #2's principal and 66.04 of #3's,
        # on a day with a payment
        _ev("WAIVE-INT", "waiver", 4, 12, "200.00", INT),
        _ev("WAIVE-INT", "waiver", 4, 20, "1000.00", PRIN),
        _ev("WAIVE-INT", "waiver", 4, 12, "1.00", COMP),
        _ev("FEE", "fee", 3, 20, "50.00"),
        _ev("FEE", "fee", 4, 5, "25.00"),  # the day's payment settles it
        _ev("CAPPED-FEE", "fee", 3, 20, "200.00"),  # over the cap: no 罚息 for a while
        _ev("COST-561", "cost", 3, 20, "800.00"),
        _ev("COST-561", "cost", 4, 16, "200.00"),  # the day's 150.00 settles it first
        _ev("COST-CONS", "cost", 3, 20, "5000.00"),  # outside the cap: 罚息 runs on
        _ev("WAIVE-COST", "cost", 3, 18, "300.00"),
        _ev("WAIVE-COST", "waiver", 3, 22, "100.00", COST),
        _ev("WAIVE-COST", "waiver", 3, 22, "0.50", COMP),
        _ev("EXACT", "fee", 3, 21, "10.00"),  # posts nothing of the 罚息 accrued
        _ev("EXACT", "waiver", 3, 27, "1.00", PEN),  # of what the 24 Mar payment posted
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


def posted(acc: LoanAccount, events: Sequence[Event], day: date) -> LoanAccount:
    """``acc``, closed through the day before ``day``, with ``events`` posted as the
    workbench posts them while ``day`` is open: on its ledger, before the close of
    ``day``, the cap's measure counted from the ledger (as ``resume_account`` counts it
    when the reference close replays a loan someone posted to)."""
    if not events:
        return acc
    ledger = acc.ledger
    for e in _ordered(events):
        ledger = e.posting(ledger, day)
    return replace(acc, ledger=ledger, charged=cost_charged(ledger))


def reference(
    sample: Sequence[SampleLoan], events: Sequence[Event], start: date, end: date
) -> dict[date, dict[str, DayState]]:
    """The domain core's state of every loan on every day, each day's events posted
    before its close (``posted``), then the day closed by ``close_day`` with its
    payments."""
    days: dict[date, dict[str, DayState]] = {}
    for loan in sample:
        acc: LoanAccount = loan.account
        acc, _ = advance(acc, start, [p for p in loan.payments if p.paid_on <= start])
        days.setdefault(start, {})[acc.loan_id] = state_of(acc, CAT)
        mine = [e for e in events if e.loan_id == acc.loan_id]
        day = start + ONE_DAY
        while day <= end:
            pays = [p for p in loan.payments if p.paid_on == day]
            acc = close_day(posted(acc, [e for e in mine if e.on == day], day), day, pays)
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
    # 10.00 of the fee waived, the 20.00 left paid: no fee
    assert _row(book, "WAIVE-PAY", 3, 28)["fee"] == 0
    # 4.00 of 罚息 waived before 40.00 is paid: the payment settles the fee (30.00), the
    # 0.20 of 罚息 left and 复利, and interest with the rest; the day's 0.70 accrues
    covered = _row(book, "COVERED", 3, 20)
    assert (covered["fee"], covered["penalty"]) == (0, 70)
    # interest waived oldest first: #2's 166.20, then 33.80 of #3's 152.19
    assert _row(book, "WAIVE-INT", 4, 11)["interest_due"] == 16620 + 15219
    assert _row(book, "WAIVE-INT", 4, 12)["interest_due"] == 15219 - 3380
    # fees booked, the second settled by the day's payment with the rest
    assert _row(book, "FEE", 3, 20)["fee"] == 3000 + 5000
    assert _row(book, "FEE", 4, 4)["fee"] == 3000 + 5000
    assert _row(book, "FEE", 4, 5)["fee"] == 0
    # a fee over the cost cap's room (544.44 allowed, 581.12 charged): no 罚息 to 24 Mar
    capped = [_row(book, "CAPPED-FEE", 3, d) for d in (19, 20, 24, 25)]
    assert [r["penalty"] for r in capped] == [420, 420, 420, 490]
    assert [r["charged"] for r in capped] == [38112, 58112, 58112, 58194]
    # art. 561: the cost settled first by the next payment, and by the same day's
    cost = _row(book, "COST-561", 4, 2)
    assert cost["costs"] == 0 and cost["penalty"] > 0  # 1000 - 800 did not reach it all
    assert _row(book, "COST-561", 4, 16)["costs"] == 20000 - 15000
    # a cost outside the cap: 罚息 runs on beside 5,000.00 of costs
    assert _row(book, "COST-CONS", 3, 21)["penalty"] > _row(book, "COST-CONS", 3, 20)["penalty"]
    assert _row(book, "WAIVE-COST", 3, 22)["costs"] == 20000
    off = _row(book, "CHARGED-OFF", 4, 9)
    assert off["written_off"] and off["fee"] == 0 and off["shadow_fee"] == 3000 + 1000
    assert _row(book, "CHARGED-OFF", 4, 25)["costs"] == 50000


def test_a_waiver_of_more_than_is_owed_is_refused_by_both(tmp_path):
    """A waiver of more than the 罚息 owed as the day starts (4.20 on 20 Mar), though
    not more than the day's accrual makes it: the domain core refuses it, and the batch
    close refuses the day."""
    sample = [_loan("OVER"), _loan("PLAIN")]
    events = [_ev("OVER", "waiver", 3, 20, "4.50", PEN)]
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
    what the domain core says is owed as its day starts (with that day's fees, costs)."""
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
                comp = rng.choice(list(Component))
                owed = _owed(posted(acc, todays, day), comp)
                if owed > 0:
                    share = (owed * rng.randint(1, 100) / 100).quantize(D("0.01"))
                    amount = max(D("0.01"), share)
                    lid = loan.account.loan_id
                    todays.append(Event(lid, "waiver", day, amount, comp, f"w{day}"))
            acc = close_day(posted(acc, todays, day), day, pays_today)
            events += todays
            day += ONE_DAY
    return sample, events


def _owed(acc: LoanAccount, component: Component) -> Decimal:
    """What ``acc``'s ledger owes of ``component`` (interest and principal: fallen due)."""
    return max(acc.ledger.totals.get(Account.of(component), D(0)), D(0))


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
    25 Mar (fees, costs, waivers of fee, 罚息, 复利 and costs, and on 20 Mar a waiver of
    罚息 before a payment that would have settled it): equal to the domain core and
    byte-identical to DuckDB's state."""
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
