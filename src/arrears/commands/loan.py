"""`arrears loan schedule` and `arrears loan replay`: one loan through the domain core,
with no workspace. Their output is a stable contract (docs/loan-rules.md): JSON (or
CSV) on standard output, amounts as decimal strings.

Errors follow the other commands: a bad option value is a usage error (exit 2) that
names the option; a product file or scenario file that cannot be used is reported on
standard error naming the file and field, exit 1.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from arrears.commands.common import err, parse_date
from arrears.domain.arrangements import forgiven
from arrears.domain.calendar import DayCount
from arrears.domain.card_scenario import (
    is_card_scenario,
    parse_card_scenario,
    replay_card_scenario,
)
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Account, EntryKind
from arrears.domain.money import parse_amount, quantize
from arrears.domain.products import (
    DEFAULT_CATALOG_PATH,
    Catalog,
    Product,
    ScheduleMethod,
    load_catalog,
)
from arrears.domain.revolving import CardState, Statement
from arrears.domain.scenario import Replay, parse_scenario, read_scenario, replay
from arrears.domain.schedule import Installment, LoanTerms, build_schedule

SCHEDULE_FIELDS = ("seq", "due_date", "principal", "interest", "amount")
FORMATS = ("json", "csv")

loan_app = typer.Typer(
    help="One loan through the domain core: its schedule, or a scenario replayed.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    err.print(message, style="red", markup=False, soft_wrap=True)
    return typer.Exit(1)


def _catalog(path: Path | None) -> Catalog:
    try:
        return load_catalog(path or DEFAULT_CATALOG_PATH)
    except DomainError as exc:
        raise _fail(str(exc)) from None


def parse_rate(text: str) -> Decimal:
    """An annual rate as a decimal fraction (0.049) or a percentage ("4.9%"). A bare
    number of 1 or more is refused rather than guessed to be a percentage."""
    value = text.strip()
    percent = value.endswith("%")
    try:
        rate = parse_amount(value.removesuffix("%"))
    except DomainError:
        raise typer.BadParameter(
            f"{text!r} is not a rate (write 0.049 or 4.9%)", param_hint="'--rate'"
        ) from None
    if percent:
        rate = rate / 100
    elif rate >= 1:
        raise typer.BadParameter(
            f"{text} would be {rate * 100}% a year: write 0.049 or 4.9% for 4.9%",
            param_hint="'--rate'",
        )
    if rate < 0 or rate > 10:
        raise typer.BadParameter(f"{text} is outside 0..1000%", param_hint="'--rate'")
    return rate


def _choice(value: str, choices: type[ScheduleMethod] | type[DayCount], option: str) -> Any:
    try:
        return choices(value)
    except ValueError:
        known = " | ".join(c.value for c in choices)
        raise typer.BadParameter(f"{value!r} is not one of {known}", param_hint=option) from None


def _schedule_product(
    catalog: Catalog, code: str | None, method: str | None, day_count: str | None
) -> Product:
    """The product the schedule is built under: ``--product`` from the catalogue (its
    day count, currency and rounding), or a plain one (30/360, half-up); ``--method``
    and ``--day-count`` override what it says."""
    if code is None:
        if method is None:
            raise typer.BadParameter("give --method, or --product", param_hint="'--method'")
        base = Product("ADHOC", "ad hoc", ScheduleMethod.ANNUITY, Decimal(0), 1)
    elif catalog.revolving_product(code) is not None:
        raise typer.BadParameter(
            f"{code} is a revolving card product: it has statements, not a schedule "
            "(replay it with arrears loan replay)",
            param_hint="'--product'",
        )
    else:
        try:
            base = catalog.product(code)
        except DomainError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--product'") from None
    changes: dict[str, Any] = {}
    if method is not None:
        changes["method"] = _choice(method, ScheduleMethod, "'--method'")
    if day_count is not None:
        changes["day_count"] = _choice(day_count, DayCount, "'--day-count'")
    return replace(base, **changes)


def schedule_rows(schedule: tuple[Installment, ...]) -> list[dict[str, Any]]:
    """The schedule as the command prints it: amounts as decimal strings."""
    return [
        {
            "seq": inst.seq,
            "due_date": inst.due_date.isoformat(),
            "principal": str(inst.principal),
            "interest": str(inst.interest),
            "amount": str(inst.amount),
        }
        for inst in schedule
    ]


def replay_report(result: Replay) -> dict[str, Any]:
    """The replay as the command prints it (the stable contract of ``loan replay``):
    every amount with the currency's decimals ("0.00", not "0")."""
    s, charged = result.state, result.charged
    shadow = s.shadow

    def money(value: Decimal) -> str:
        return str(quantize(value, result.currency))

    report: dict[str, Any] = {
        "as_of": s.as_of.isoformat(),
        "status": s.status,
        "dpd": s.dpd,
        "bucket": s.bucket,
        "loan_class": s.loan_class,
        "balances": {
            "principal_outstanding": money(s.principal_outstanding),
            "principal_due": money(s.principal_due),
            "interest_due": money(s.interest_due),
            "penalty": money(s.penalty),
            "compound": money(s.compound),
            "fees": money(s.fee),
            "costs": money(result.costs),
            "credit": money(s.credit),
        },
        "charged": {
            "interest": money(charged.interest),
            "penalty": money(charged.penalty),
            "compound": money(charged.compound),
            "fees": money(charged.fees),
        },
    }
    if s.status == "written_off":
        # added keys, only for a loan written off (by hand or by the charge-off rule):
        # whether the rule did it, and what the loan still owes off the book
        report["charged_off"] = result.charged_off
        report["shadow"] = {
            "written_off": money(shadow.written_off),
            "recovered": money(shadow.recovered),
            "principal": money(shadow.principal),
            "interest": money(shadow.interest),
            "penalty": money(shadow.penalty),
            "compound": money(shadow.compound),
            "fees": money(shadow.fee),
            "costs": money(shadow.cost),
        }
    report.update(arrangement_keys(result))
    report.update(observation_keys(result))
    return report


def card_report(card: CardState) -> dict[str, Any]:
    """A revolving card replayed, as the command prints it: the keys of every replay
    (``balances`` and ``charged`` mapped onto a card: principal is purchases and cash
    advances, ``principal_due`` the part of it on a statement, ``fees`` every fee and
    late fee; a card has no 罚息, 复利 or enforcement costs) plus ``revolving`` (the
    account on the as-of day) and ``statements`` (each statement as cut, and how it
    stood on the as-of day)."""
    currency = card.account.product.currency

    def money(value: Decimal) -> str:
        return str(quantize(value, currency))

    zero = money(Decimal(0))
    return {
        "as_of": card.as_of.isoformat(),
        "status": "active",
        "dpd": card.dpd,
        "bucket": card.bucket,
        "loan_class": card.loan_class.value,
        "balances": {
            "principal_outstanding": money(card.principal_billed + card.principal_unbilled),
            "principal_due": money(card.principal_billed),
            "interest_due": money(card.interest_due),
            "penalty": zero,
            "compound": zero,
            "fees": money(card.fees_due),
            "costs": zero,
            "credit": money(card.credit),
        },
        "charged": {
            "interest": money(card.charged_interest),
            "penalty": zero,
            "compound": zero,
            "fees": money(card.charged_fees),
        },
        "revolving": {
            "credit_limit": money(card.account.credit_limit),
            "balance": money(card.balance),
            "available_credit": money(card.available_credit),
            "over_limit": money(card.over_limit),
            "unbilled": money(card.unbilled),
            "minimum_due": money(card.minimum_due),
            "past_due": money(card.past_due),
        },
        "statements": [statement_row(s, money) for s in card.statements],
    }


def statement_row(s: Statement, money: Any) -> dict[str, Any]:
    """One statement as ``loan replay`` prints it."""
    return {
        "number": s.number,
        "statement_date": s.statement_date.isoformat(),
        "due_date": s.due_date.isoformat(),
        "grace_end": s.grace_end.isoformat(),
        "opening_balance": money(s.opening_balance),
        "purchases": money(s.purchases),
        "cash_advances": money(s.cash_advances),
        "fees": money(s.fees),
        "interest": money(s.interest),
        "payments": money(s.payments),
        "refunds": money(s.refunds),
        "balance": money(s.balance),
        "minimum": money(s.minimum),
        "minimum_parts": {
            "charges": money(s.parts.charges),
            "past_due": money(s.parts.past_due),
            "over_limit": money(s.parts.over_limit),
            "principal_in_full": money(s.parts.principal_in_full),
            "percentage": money(s.parts.percentage),
        },
        "paid_since": money(s.paid),
        "paid_in_full": s.paid_in_full,
        "minimum_paid": s.minimum_paid,
    }


def observation_keys(result: Replay) -> dict[str, Any]:
    """Keys added for a loan ever restructured, or ever paused (absent otherwise):
    ``restructured`` (under observation on the as-of day: its class at least the floor)
    with ``restructuring`` (its day, the observation period's last day, the floor and the
    day the mark cleared, or null); ``paused`` (the as-of day is a DPD pause) with
    ``pauses`` (each pause's first and last day, null while open, and its reason)."""
    out: dict[str, Any] = {}
    r, acc = result.restructuring, result.account
    if r is not None:
        out["restructured"] = result.state.restructured
        out["restructuring"] = {
            "on": r.on.isoformat(),
            "observation_end": r.observation_end.isoformat(),
            "floor": r.floor.value,
            "cleared_on": r.cleared_on.isoformat() if r.cleared_on else None,
        }
    if acc is not None and acc.pauses:
        out["paused"] = any(p.covers(result.state.as_of) for p in acc.pauses)
        out["pauses"] = [
            {
                "on": p.on.isoformat(),
                "until": p.until.isoformat() if p.until else None,
                "reason": p.reason.value,
            }
            for p in acc.pauses
        ]
    return out


def arrangement_keys(result: Replay) -> dict[str, Any]:
    """Keys added for a loan with a settlement or a plan (absent otherwise): the
    settlement's day, what was paid and what was forgiven by component; the last plan's
    day, the principal it re-amortised and its new installments."""
    acc = result.account
    if acc is None:
        return {}
    out: dict[str, Any] = {}

    def money(value: Decimal) -> str:
        return str(quantize(value, result.currency))

    entries = acc.ledger.entries
    forgiving = [e for e in entries if e.kind is EntryKind.SETTLEMENT]
    if forgiving:
        ref = forgiving[-1].ref.removesuffix(":forgive")
        payment = acc.ledger.entry(ref)
        by_account = forgiven(acc.ledger)
        out["settlement"] = {
            "on": forgiving[-1].posted_on.isoformat(),
            "paid": money(payment.amount if payment is not None else Decimal(0)),
            "forgiven": {
                name: money(by_account.get(account, Decimal(0))) for name, account in FORGIVEN_KEYS
            },
        }
    plans = [e for e in entries if e.kind is EntryKind.RESTRUCTURE]
    if plans:
        last = plans[-1]
        out["plan"] = {
            "on": last.posted_on.isoformat(),
            "principal": money(last.amount),
            "schedule": schedule_rows(
                tuple(i for i in acc.schedule if i.due_date > last.posted_on)
            ),
        }
    return out


FORGIVEN_KEYS = (
    ("principal_not_due", Account.NOT_DUE),
    ("principal_due", Account.PRINCIPAL),
    ("interest_due", Account.INTEREST),
    ("penalty", Account.PENALTY),
    ("compound", Account.COMPOUND),
    ("fees", Account.FEE),
    ("costs", Account.COST),
)


@loan_app.command("schedule")
def schedule_command(
    principal: Annotated[str, typer.Option("--principal", help="Principal, e.g. 1000000.00.")],
    rate: Annotated[
        str, typer.Option("--rate", help="Annual rate: 0.049 or 4.9% (monthly rate = rate/12).")
    ],
    term: Annotated[int, typer.Option("--term", help="Number of monthly installments.")],
    start: Annotated[
        str, typer.Option("--start", help="Disbursement date YYYY-MM-DD; first due a month on.")
    ],
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            help="annuity (等额本息) | equal_principal (等额本金) | interest_only (先息后本) "
            "| card_minimum (default: the product's).",
        ),
    ] = None,
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            help="Product code: its day count, currency and principal rounding apply.",
        ),
    ] = None,
    day_count: Annotated[
        str | None,
        typer.Option("--day-count", help="30/360 | ACT/365 | ACT/360 (default: the product's)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json (an array) or csv.")] = "json",
    products: Annotated[
        Path | None, typer.Option("--products", help="Product file (default: the built-in one).")
    ] = None,
) -> None:
    """Print a loan's repayment schedule (还款计划): one row per installment with seq,
    due_date, principal, interest and amount."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="'--format'")
    try:
        amount = parse_amount(principal)
    except DomainError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--principal'") from None
    annual_rate = parse_rate(rate)
    disbursed = parse_date(start, "--start")
    chosen = _schedule_product(_catalog(products), product, method, day_count)
    try:
        terms = LoanTerms(amount, annual_rate, term, disbursed)
        rows = schedule_rows(build_schedule(chosen, terms))
    except DomainError as exc:
        raise _fail(str(exc)) from None
    if fmt == "json":
        body = ",\n ".join(json.dumps(row, ensure_ascii=False) for row in rows)
        typer.echo(f"[\n {body}\n]" if rows else "[]")
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SCHEDULE_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    typer.echo(out.getvalue(), nl=False)


@loan_app.command("replay")
def replay_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Replay through this day, YYYY-MM-DD.")],
    products: Annotated[
        Path | None, typer.Option("--products", help="Product file (default: the built-in one).")
    ] = None,
) -> None:
    """Replay one loan's scenario (contract and events) through the domain core and
    print its state as of --as-of: status, DPD, bucket, class, balances and what it
    has been charged. A revolving card's scenario ([account], purchases, cash
    advances, payments, refunds, fees) also prints its account and statements."""
    day: date = parse_date(as_of, "--as-of")
    catalog = _catalog(products)
    try:
        data = read_scenario(scenario)
        if is_card_scenario(data, catalog):
            card = replay_card_scenario(
                parse_card_scenario(data, catalog, str(scenario)), catalog, day
            )
            report = card_report(card)
        else:
            report = replay_report(
                replay(parse_scenario(data, catalog, str(scenario)), catalog, day)
            )
    except DomainError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    """Add ``arrears loan`` to the main app."""
    app.add_typer(loan_app, name="loan")
