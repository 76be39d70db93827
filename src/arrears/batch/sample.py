"""A varied sample book built with the domain core: the reference side of the batch
engine's equivalence test and of the benchmark's scalar measurement.

Every loan gets one repayment behaviour: on time, a few days late (inside and beyond
grace), chronically late, partial payments, payments short by a few cents (arrears
tolerance), overpayment into credit, a lump sum that settles several installments,
early payoff, or never paying. Some customers hold several loans.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.domain.account import LoanAccount, Payment, open_account
from arrears.domain.products import Catalog
from arrears.domain.schedule import LoanTerms

BEHAVIOURS = (
    "on_time",
    "within_grace",
    "late",
    "chronic",
    "partial",
    "short_cents",
    "overpay",
    "lump",
    "payoff",
    "never",
)


@dataclass(frozen=True)
class SampleLoan:
    account: LoanAccount  # as opened on its disbursement day
    customer_id: str
    behaviour: str
    payments: tuple[Payment, ...]


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _payments(
    rng: random.Random, loan: LoanAccount, behaviour: str, until: date
) -> list[tuple[date, Decimal]]:
    out: list[tuple[date, Decimal]] = []
    first_day = loan.terms.disbursed_on + timedelta(days=1)
    for inst in loan.schedule:
        amount = inst.principal + inst.interest
        due = inst.due_date
        if behaviour == "on_time":
            out.append((due, amount))
        elif behaviour == "within_grace":
            out.append((due + timedelta(days=rng.randint(1, loan.product.grace_days + 1)), amount))
        elif behaviour == "late":
            out.append((due + timedelta(days=rng.randint(4, 40)), amount + 60))
        elif behaviour == "chronic":
            if inst.seq % 3 == 0:
                out.append((due + timedelta(days=rng.randint(20, 80)), amount * 3))
        elif behaviour == "partial":
            share = Decimal(rng.randint(30, 90)) / 100
            out.append(
                (
                    due + timedelta(days=rng.randint(0, 10)),
                    (amount * share).quantize(Decimal("0.01")),
                )
            )
        elif behaviour == "short_cents":
            out.append((due, max(amount - Decimal(rng.randint(1, 99)) / 100, Decimal("0.01"))))
        elif behaviour == "overpay":
            out.append((due - timedelta(days=rng.randint(0, 5)), amount + _cents(rng, 1, 200)))
    if behaviour == "lump":
        out.append((first_day + timedelta(days=rng.randint(60, 300)), _cents(rng, 500, 20000)))
    elif behaviour == "payoff":
        out.append((first_day + timedelta(days=rng.randint(20, 200)), loan.terms.principal * 2))
    return [(d, a) for d, a in out if first_day <= d <= until and a > 0]


def sample_book(
    catalog: Catalog, loans: int, start: date, until: date, seed: int = 7
) -> list[SampleLoan]:
    """``loans`` loans disbursed up to 15 months before ``start`` (a tenth of them after
    it, inside the window to ``until``), with payments up to ``until``."""
    rng = random.Random(seed)
    codes = sorted(catalog.products)
    out = []
    for n in range(loans):
        product = catalog.product(codes[n % len(codes)])
        if n % 10 == 9:
            disbursed = start + timedelta(days=rng.randint(0, max((until - start).days - 1, 0)))
        else:
            disbursed = start - timedelta(days=rng.randint(1, 450))
        terms = LoanTerms(
            principal=_cents(rng, 300, 150_000),
            annual_rate=product.annual_rate,
            term_months=rng.choice((3, 6, 12, 18, 24)),
            disbursed_on=disbursed,
        )
        loan_id = f"L{n:07d}"
        account = open_account(loan_id, product, terms)
        behaviour = BEHAVIOURS[rng.randrange(len(BEHAVIOURS))]
        paid = _payments(rng, account, behaviour, until)
        payments = tuple(
            Payment(f"P{loan_id}-{k:03d}", d, a) for k, (d, a) in enumerate(sorted(paid))
        )
        customer = f"C{rng.randrange(max(loans * 3 // 4, 1)):07d}"
        out.append(SampleLoan(account, customer, behaviour, payments))
    return out
