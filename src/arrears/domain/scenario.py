"""One loan's story replayed through the domain core: the use case behind
``arrears loan replay``.

A scenario (a TOML file, see ``docs/loan-rules.md``) names a product, the loan's
contract and the events that happened to it (payments, reversals, waivers, fees,
enforcement costs, a write-off, recoveries), each at its value date. ``replay`` opens
the account, closes it day by day to the as-of date and posts each event on its day,
after that day's installments fall due, its late fees and its payments, and before its
accrual, in the order the file lists the events of one day. A reversal of a payment (or
waiver) re-closes the days it stood without it and charges what it had avoided. Every
fault of a scenario is a ``ScenarioError`` naming the file, the field and, for an event,
its number (counted from 1 as the ``[[events]]`` tables appear in the file).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from arrears.domain import operations as ops
from arrears.domain.account import (
    AvoidedCharges,
    ChargesToDate,
    DayState,
    LoanAccount,
    Posting,
    advance,
    avoided_charges,
    charged_off,
    charges_to_date,
    close_day,
    open_account,
    recharge,
    restructuring_of,
    state_of,
)
from arrears.domain.arrangements import PLAN_METHODS, Plan, extend, reamortise, settle
from arrears.domain.calendar import add_months
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Account, Ledger
from arrears.domain.money import MINOR_UNITS, quantize, to_decimal
from arrears.domain.observation import Restructuring
from arrears.domain.pauses import Pause, PauseReason, add_pause, resume
from arrears.domain.products import Catalog, Component, Product, ScheduleMethod, Waterfall
from arrears.domain.schedule import LoanTerms

ONE_DAY = timedelta(days=1)


class ScenarioError(DomainError):
    """A scenario cannot be replayed; the message names the file and the field."""


class EventKind(StrEnum):
    PAYMENT = "payment"
    REVERSAL = "reversal"  # of an earlier payment, waiver or fee, named by its ref
    WAIVER = "waiver"  # 减免
    WRITE_OFF = "write_off"  # 核销
    RECOVERY = "recovery"  # money received after the write-off
    FEE = "fee"
    COST = "cost"  # 实现债权的费用: legal and collection costs, a component of their own
    SETTLEMENT = "settlement"  # 结清: amount paid, the rest (due and not yet due) forgiven
    PLAN = "plan"  # 分期: overdue and not-yet-due balances re-amortised into a new schedule
    EXTENSION = "extension"  # 展期: the installments not yet due fall due ``months`` later
    PAUSE = "pause"  # DPD stops counting from ``on`` (through ``until``, or until a resume)
    RESUME = "resume"  # ends the pause in force: DPD counts again from ``on``


# applied to the account at the end of their day, after its accrual (domain/arrangements.py)
ARRANGEMENTS = (EventKind.SETTLEMENT, EventKind.PLAN, EventKind.EXTENSION)
# applied to the account before their day is closed: that day is paused, or counts again
PAUSES = (EventKind.PAUSE, EventKind.RESUME)


UNSUPPORTED: dict[EventKind, str] = {}
REVERSIBLE = (
    EventKind.PAYMENT,
    EventKind.WAIVER,
    EventKind.FEE,
    EventKind.RECOVERY,
    EventKind.COST,
)
NEEDS_AMOUNT = (
    EventKind.PAYMENT,
    EventKind.WAIVER,
    EventKind.RECOVERY,
    EventKind.FEE,
    EventKind.COST,
    EventKind.SETTLEMENT,
)
PLAN_FIELDS = {"term", "method", "rate", "first_due", "charges"}
PAUSE_FIELDS = {"until", "reason"}
EVENT_FIELDS = {"kind", "on", "amount", "ref", "component", "memo", "months"}
EVENT_FIELDS |= PLAN_FIELDS | PAUSE_FIELDS
LOAN_FIELDS = {"principal", "annual_rate", "term_months", "disbursed_on", "first_due"}
TOP_FIELDS = {"product", "loan", "events"}


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    """One event of a scenario. ``ref`` is the event's own reference, except for a
    reversal, whose ``ref`` names the event it reverses."""

    number: int  # 1 for the first [[events]] table of the file
    kind: EventKind
    on: date
    amount: Decimal | None
    ref: str
    component: Component | None = None
    memo: str = ""
    plan: PlanTerms | None = None  # a plan's terms (kind plan)
    until: date | None = None  # a pause's last day (None: until a resume)
    reason: PauseReason | None = None  # a pause's reason
    months: int | None = None  # an extension's months

    @property
    def label(self) -> str:
        return f"events #{self.number} ({self.kind.value} on {self.on})"


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """A plan event's terms; the rate is the contract's unless given."""

    term: int
    method: ScheduleMethod
    rate: Decimal | None
    first_due: date
    charges: bool


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loan's contract under one product and what happened to it."""

    source: str
    product: Product
    terms: LoanTerms
    events: tuple[ScenarioEvent, ...]


@dataclass(frozen=True, slots=True)
class Replay:
    """A scenario replayed to ``state.as_of``: the day's snapshot row, and what the
    loan has been charged since disbursement."""

    state: DayState
    charged: ChargesToDate
    currency: str
    costs: Decimal  # enforcement costs outstanding (实现债权的费用)
    charged_off: bool = False  # written off by the product's charge-off rule
    account: LoanAccount | None = None  # the loan as replayed (its schedule and ledger)
    # its last restructuring (a plan), judged on the as-of day; None: never restructured
    restructuring: Restructuring | None = None


def load_scenario(path: Path | str, catalog: Catalog) -> Scenario:
    """Read and check the scenario file at ``path`` against ``catalog``."""
    return parse_scenario(read_scenario(path), catalog, str(path))


def read_scenario(path: Path | str) -> dict[str, Any]:
    """The TOML of the scenario file at ``path``; a file that cannot be read is a
    ScenarioError naming it."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def parse_scenario(data: Mapping[str, Any], catalog: Catalog, source: str) -> Scenario:
    """Build a Scenario from parsed TOML; every fault names ``source`` and the field."""

    def fail(field: str, reason: str) -> ScenarioError:
        return ScenarioError(f"{source}: {field}: {reason}")

    unknown = set(data) - TOP_FIELDS
    if unknown - {"account"}:
        first = sorted(unknown - {"account"})[0]
        raise fail(first, f"unknown field (a scenario has {sorted(TOP_FIELDS)})")
    code = data.get("product")
    if not isinstance(code, str):
        raise fail("product", "required: the code of a product of the catalogue")
    if catalog.revolving_product(code) is not None:
        raise fail("product", f"{code} is a revolving card product: replay it with [account]")
    try:
        product = catalog.product(code)
    except DomainError as exc:
        cards = ", ".join(sorted(catalog.revolving))
        raise fail("product", f"{exc}{f' (revolving: {cards})' if cards else ''}") from None
    if unknown:  # [account]: a revolving card's table
        raise fail(
            "account",
            f"{code} is an instalment loan product: its scenario has [loan], not [account] "
            "(only a revolving card product takes [account])",
        )
    loan = data.get("loan")
    if not isinstance(loan, Mapping):
        raise fail("loan", "required: a [loan] table with principal and disbursed_on")
    terms = _terms(loan, product, partial(_prefixed, fail, "loan."))
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list) or not all(isinstance(e, Mapping) for e in raw_events):
        raise fail("events", "must be [[events]] tables")
    events = [
        _event(n, body, product, terms, partial(_prefixed, fail, f"events #{n}."))
        for n, body in enumerate(raw_events, start=1)
    ]
    _check_refs(events, fail)
    return Scenario(source, product, terms, tuple(events))


def _prefixed(
    fail: Callable[[str, str], ScenarioError], prefix: str, field: str, reason: str
) -> ScenarioError:
    return fail(prefix + field, reason)


Fail = Callable[[str, str], ScenarioError]


def _terms(loan: Mapping[str, Any], product: Product, fail: Fail) -> LoanTerms:
    unknown = set(loan) - LOAN_FIELDS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (a loan has {sorted(LOAN_FIELDS)})")
    principal = _amount(loan, "principal", product.currency, fail, required=True)
    assert principal is not None
    rate = product.annual_rate
    if "annual_rate" in loan:
        rate = _number(loan["annual_rate"], "annual_rate", fail)
        if not 0 <= rate <= 10:
            raise fail("annual_rate", f"rate {rate} is outside 0..10 (write 0.18 for 18%)")
    term = product.term_months
    if "term_months" in loan:
        term = loan["term_months"]
        if isinstance(term, bool) or not isinstance(term, int) or term <= 0:
            raise fail("term_months", f"{term!r} is not a positive whole number of months")
    disbursed_on = _date(loan, "disbursed_on", fail)
    first_due = _date(loan, "first_due", fail) if "first_due" in loan else None
    try:
        return LoanTerms(principal, rate, term, disbursed_on, first_due)
    except DomainError as exc:
        raise fail("first_due" if first_due else "principal", str(exc)) from None


def _event(
    number: int, body: Mapping[str, Any], product: Product, terms: LoanTerms, fail: Fail
) -> ScenarioEvent:
    unknown = set(body) - EVENT_FIELDS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (an event has {sorted(EVENT_FIELDS)})")
    raw_kind = body.get("kind")
    try:
        kind = EventKind(str(raw_kind))
    except ValueError:
        known = " | ".join(k.value for k in EventKind)
        if raw_kind is None:
            raise fail("kind", f"required field is missing (one of {known})") from None
        raise fail("kind", f"{raw_kind!r} is not one of {known}") from None
    if kind in UNSUPPORTED:
        raise fail("kind", UNSUPPORTED[kind])
    on = _date(body, "on", fail)
    if on <= terms.disbursed_on:
        raise fail("on", f"{on} is not after the disbursement date {terms.disbursed_on}")
    amount = _amount(body, "amount", product.currency, fail, required=kind in NEEDS_AMOUNT)
    if amount is not None and kind not in NEEDS_AMOUNT:
        raise fail("amount", f"a {kind.value} takes no amount")
    ref = body.get("ref", f"{kind.value}#{number}")
    if not isinstance(ref, str) or not ref.strip():
        raise fail("ref", f'{ref!r} is not a reference (write ref = "p1")')
    if kind is EventKind.REVERSAL and "ref" not in body:
        raise fail("ref", "required: a reversal names the ref of the event it reverses")
    component = None
    if "component" in body:
        if kind is not EventKind.WAIVER:
            raise fail("component", "only a waiver names a component")
        try:
            component = Component(body["component"])
        except ValueError:
            known = " | ".join(c.value for c in Component)
            raise fail("component", f"{body['component']!r} is not one of {known}") from None
    memo = body.get("memo", "")
    if not isinstance(memo, str):
        raise fail("memo", "must be text")
    plan = _plan(body, on, fail) if kind is EventKind.PLAN else None
    if kind is not EventKind.PLAN and PLAN_FIELDS & set(body):
        raise fail(sorted(PLAN_FIELDS & set(body))[0], "only a plan takes this field")
    until, reason = _pause(body, on, fail) if kind is EventKind.PAUSE else (None, None)
    if kind is not EventKind.PAUSE and PAUSE_FIELDS & set(body):
        raise fail(sorted(PAUSE_FIELDS & set(body))[0], "only a pause takes this field")
    months = None
    if kind is EventKind.EXTENSION:
        months = body.get("months")
        if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
            raise fail("months", f"{months!r} is not a whole number of months from 1 to 120")
    elif "months" in body:
        raise fail("months", "only an extension takes this field")
    return ScenarioEvent(
        number, kind, on, amount, ref.strip(), component, memo, plan, until, reason, months
    )


def _pause(body: Mapping[str, Any], on: date, fail: Fail) -> tuple[date | None, PauseReason]:
    """A pause's last day ``until`` (optional: open until a resume) and its ``reason``,
    hardship (the default), dispute or other."""
    until = _date(body, "until", fail) if "until" in body else None
    if until is not None and until < on:
        raise fail("until", f"{until} is before the pause's first day {on}")
    try:
        reason = PauseReason(str(body.get("reason", PauseReason.HARDSHIP.value)))
    except ValueError:
        known = " | ".join(r.value for r in PauseReason)
        raise fail("reason", f"{body['reason']!r} is not one of {known}") from None
    return until, reason


def _plan(body: Mapping[str, Any], on: date, fail: Fail) -> PlanTerms:
    """A plan's terms: ``term`` installments (required), ``method`` annuity or
    equal_principal (required), ``rate`` (the contract's by default), ``first_due`` (a
    month after ``on`` by default) and ``charges`` (false by default)."""
    term = body.get("term")
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= 360:
        raise fail("term", f"{term!r} is not a whole number of installments from 1 to 360")
    methods = " | ".join(m.value for m in PLAN_METHODS)
    try:
        method = ScheduleMethod(str(body.get("method")))
    except ValueError:
        method = None
    if method not in PLAN_METHODS:
        shown = "required field is missing" if "method" not in body else repr(body["method"])
        raise fail("method", f"{shown}: a plan's method is one of {methods}")
    assert method is not None
    rate = None
    if "rate" in body:
        rate = _number(body["rate"], "rate", fail)
        if not 0 <= rate <= 10:
            raise fail("rate", f"rate {rate} is outside 0..10 (write 0.12 for 12%)")
    first_due = _date(body, "first_due", fail) if "first_due" in body else add_months(on, 1)
    if first_due <= on:
        raise fail("first_due", f"{first_due} is not after the plan's day {on}")
    charges = body.get("charges", False)
    if not isinstance(charges, bool):
        raise fail("charges", f"{charges!r} is not true or false")
    return PlanTerms(term, method, rate, first_due, charges)


def _check_refs(events: list[ScenarioEvent], fail: Callable[[str, str], ScenarioError]) -> None:
    """Refs are unique, and a reversal names an earlier reversible event not already
    reversed ("earlier": by date, and in file order on the same date)."""
    seen: dict[str, ScenarioEvent] = {}
    reversed_: set[str] = set()
    for event in sorted(events, key=lambda e: (e.on, e.number)):
        where = f"events #{event.number}.ref"
        if event.kind is EventKind.REVERSAL:
            target = seen.get(event.ref)
            if target is None:
                raise fail(where, f"no payment, waiver, fee or recovery {event.ref!r} before it")
            if target.kind not in REVERSIBLE:
                raise fail(where, f"{event.ref!r} is a {target.kind.value}; it cannot be reversed")
            if event.ref in reversed_:
                raise fail(where, f"{event.ref!r} is already reversed")
            reversed_.add(event.ref)
            continue
        if event.ref in seen:
            raise fail(where, f"{event.ref!r} is used by another event")
        seen[event.ref] = event


def _date(body: Mapping[str, Any], field: str, fail: Fail) -> date:
    if field not in body:
        raise fail(field, "required field is missing (a date YYYY-MM-DD)")
    value = body[field]
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise fail(field, f"{value!r} is not a date of the form YYYY-MM-DD")


def _number(value: object, field: str, fail: Fail) -> Decimal:
    # TOML gives a float for 0.18; its repr is the shortest spelling of what was written.
    try:
        return to_decimal(repr(value) if isinstance(value, float) else value)
    except DomainError as exc:
        raise fail(field, str(exc)) from None


def _amount(
    body: Mapping[str, Any], field: str, currency: str, fail: Fail, required: bool
) -> Decimal | None:
    if field not in body:
        if required:
            raise fail(field, 'required field is missing (an amount such as "550.08")')
        return None
    value = _number(body[field], field, fail)
    if value <= 0:
        raise fail(field, f"{value} must be positive")
    if quantize(value, currency) != value:
        places = MINOR_UNITS[currency]
        raise fail(field, f"{body[field]!r} has more than {places} decimals for {currency}")
    return value


def replay(scenario: Scenario, catalog: Catalog, as_of: date) -> Replay:
    """Open the scenario's loan, close it day by day through ``as_of`` with each event
    posted on its value date (events after ``as_of`` have not happened yet), and read
    the loan as of that day."""
    terms = scenario.terms
    if as_of < terms.disbursed_on:
        raise ScenarioError(
            f"{scenario.source}: as-of {as_of} is before the loan's disbursement "
            f"{terms.disbursed_on}"
        )
    acc = open_account("scenario", scenario.product, terms)
    by_day: dict[date, list[ScenarioEvent]] = {}
    for event in scenario.events:
        if event.on <= as_of:
            by_day.setdefault(event.on, []).append(event)
    run = _Run(scenario.source, by_day)
    acc = run.close_through(acc, as_of, {})
    return Replay(
        state=state_of(acc, catalog),
        charged=charges_to_date(acc.ledger),
        currency=acc.currency,
        costs=acc.ledger.balance(Account.COST),
        charged_off=charged_off(acc.ledger),
        account=acc,
        restructuring=restructuring_of(acc, as_of, catalog),
    )


# reversing one of these re-closes the days it stood without it and charges the difference
RECHARGED = (EventKind.PAYMENT, EventKind.WAIVER)


@dataclass
class _Run:
    """Closes a loan through the scenario's event days; remembers the account as it was
    before each event day, so a reversal can re-close the days its target stood."""

    source: str
    by_day: dict[date, list[ScenarioEvent]]
    before: dict[date, LoanAccount] = field(default_factory=dict)

    def close_through(
        self, acc: LoanAccount, until: date, posted: dict[str, tuple[str, ...]]
    ) -> LoanAccount:
        """Close ``acc`` through ``until``, each event on its day; ``posted`` maps an
        event's ref to the ledger refs it booked."""
        for day in sorted(d for d in self.by_day if acc.closed_through < d <= until):
            acc, _ = advance(acc, day - ONE_DAY)
            self.before[day] = acc
            events = self.by_day[day]
            for event in events:
                if event.kind in PAUSES:
                    acc = self._pause(acc, event)
            postings = [
                self._posting(acc, e, posted)
                for e in events
                if e.kind not in ARRANGEMENTS and e.kind not in PAUSES
            ]
            acc = close_day(acc, day, postings=postings)
            for event in events:
                if event.kind in ARRANGEMENTS:
                    acc = self._arrange(acc, event, posted)
        acc, _ = advance(acc, until)
        return acc

    def _posting(
        self, acc: LoanAccount, event: ScenarioEvent, posted: dict[str, tuple[str, ...]]
    ) -> Posting:
        """The ledger posting of ``event``; a domain refusal (waiving more than is owed,
        writing off a repaid loan) becomes a ScenarioError naming the event."""
        waterfall = acc.product.waterfall
        missed = self._avoided(acc, event, posted) if event.kind is EventKind.REVERSAL else None

        def book(ledger: Ledger, day: date) -> Ledger:
            try:
                ledger, refs = _book(ledger, day, event, posted, waterfall)
                if missed is not None:
                    ledger = recharge(acc, ledger, f"recharge:{event.ref}", day, missed)
            except DomainError as exc:
                reason = str(exc).removeprefix(f"loan {ledger.loan_id}: ")
                raise ScenarioError(f"{self.source}: {event.label}: {reason}") from None
            posted[event.ref] = refs
            return ledger

        return book

    def _pause(self, acc: LoanAccount, event: ScenarioEvent) -> LoanAccount:
        """A pause (from its day) or a resume (its day counts again), before the day is
        closed; an overlapping pause or a resume with no pause in force names the event."""
        try:
            if event.kind is EventKind.PAUSE:
                assert event.reason is not None
                pause = Pause(event.on, event.until, event.reason)
                return replace(acc, pauses=add_pause(acc.pauses, pause))
            return replace(acc, pauses=resume(acc.pauses, event.on))
        except DomainError as exc:
            raise ScenarioError(f"{self.source}: {event.label}: {exc}") from None

    def _arrange(
        self, acc: LoanAccount, event: ScenarioEvent, posted: dict[str, tuple[str, ...]]
    ) -> LoanAccount:
        """A settlement or plan, at the end of its day; a domain refusal (a settlement
        of a repaid loan, a plan on a written-off one) names the event."""
        try:
            if event.kind is EventKind.SETTLEMENT:
                assert event.amount is not None
                acc = settle(acc, event.ref, event.on, event.amount, event.memo)
            elif event.kind is EventKind.EXTENSION:
                assert event.months is not None
                acc = extend(acc, event.on, event.months)
            else:
                assert event.plan is not None
                p = event.plan
                rate = acc.terms.annual_rate if p.rate is None else p.rate
                plan = Plan(p.term, p.method, rate, p.first_due, p.charges)
                acc = reamortise(acc, event.ref, event.on, plan, event.memo)
        except DomainError as exc:
            reason = str(exc).removeprefix(f"loan {acc.loan_id}: ")
            raise ScenarioError(f"{self.source}: {event.label}: {reason}") from None
        posted[event.ref] = (event.ref,)
        return acc

    def _avoided(
        self, acc: LoanAccount, reversal: ScenarioEvent, posted: dict[str, tuple[str, ...]]
    ) -> AvoidedCharges | None:
        """What the reversed payment (or waiver) avoided from its day to the day before
        the reversal: the loan closed again over those days without it, less what was
        actually charged."""
        target = next(
            e
            for d in sorted(self.by_day)
            for e in self.by_day[d]
            if e.ref == reversal.ref and e.kind is not EventKind.REVERSAL
        )
        if target.kind not in RECHARGED or target.on >= reversal.on:
            return None
        without = {
            d: [e for e in events if e is not target]
            for d, events in self.by_day.items()
            if d < reversal.on
        }
        again = _Run(self.source, without, dict(self.before))
        start = self.before[target.on]
        replayed = again.close_through(start, acc.closed_through, dict(posted))
        return avoided_charges(acc, replayed)


def _book(
    ledger: Ledger,
    day: date,
    event: ScenarioEvent,
    posted: dict[str, tuple[str, ...]],
    waterfall: Waterfall,
) -> tuple[Ledger, tuple[str, ...]]:
    kind, ref, amount = event.kind, event.ref, event.amount
    if kind is EventKind.REVERSAL:
        for target in posted[ref]:
            ledger = ops.reverse(ledger, f"rev:{target}", day, target, memo=event.memo).ledger
        return ledger, ()
    if kind is EventKind.WRITE_OFF:
        return ops.write_off(ledger, ref, day, memo=event.memo).ledger, (ref,)
    assert amount is not None
    if kind is EventKind.PAYMENT:
        return ops.pay(ledger, ref, day, amount, waterfall).ledger, (ref,)
    if kind is EventKind.RECOVERY:
        if not ledger.written_off:
            raise DomainError("a recovery needs the loan written off first (kind write_off)")
        return ops.pay(ledger, ref, day, amount, waterfall).ledger, (ref,)
    if kind is EventKind.FEE:
        return ops.charge_fee(ledger, ref, day, amount, memo=event.memo or "fee").ledger, (ref,)
    if kind is EventKind.COST:
        return ops.charge_cost(ledger, ref, day, amount, memo=event.memo or "cost").ledger, (ref,)
    if kind is EventKind.WAIVER:
        return _waive(ledger, day, event, amount, waterfall)
    raise DomainError(f"{kind.value} events cannot be booked")  # pragma: no cover


def _waive(
    ledger: Ledger, day: date, event: ScenarioEvent, amount: Decimal, waterfall: Waterfall
) -> tuple[Ledger, tuple[str, ...]]:
    """A waiver of one component, or without one, of what is due in the product's
    waterfall order (charges and fallen-due interest and principal): one waiver entry
    per component it reaches, ``<ref>:<component>``."""
    if event.component is not None:
        return ops.waive(ledger, event.ref, day, event.component, amount, event.memo).ledger, (
            event.ref,
        )
    if amount > ledger.total_due:
        raise DomainError(f"cannot waive {amount}, only {ledger.total_due} is due")
    refs: list[str] = []
    left = amount
    for component in waterfall.full_order:
        owed = ledger.balance(Account.of(component))
        part = min(owed, left)
        if part > 0:
            ref = f"{event.ref}:{component.value}"
            ledger = ops.waive(ledger, ref, day, component, part, event.memo).ledger
            refs.append(ref)
            left -= part
    return ledger, tuple(refs)
