"""The loan import's cached schedules and disbursements are exactly the domain's."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from arrears.domain.ledger import Ledger
from arrears.domain.operations import disburse
from arrears.domain.products import Catalog
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.ingest.booking import Booking
from arrears.store.rows import encode_rows, entry_rows, installment_rows


def test_cached_schedules_are_the_domains(engine: Engine, catalog: Catalog) -> None:
    rng = random.Random(7)
    products = list(catalog.products.values())
    with engine.connect() as connection:
        booking = Booking(connection)
        for n in range(2500):
            product = rng.choice(products)
            # Few amounts and many dates: both the cache hits and the misses are taken.
            principal = Decimal(rng.choice(["1000", "5000.50", "12000", "300000"]))
            rate = rng.choice([product.annual_rate, Decimal("0.065"), Decimal("0.180000")])
            term = rng.choice([1, 3, 6, 12, 24])
            disbursed = date(2023, 1, 1) + timedelta(days=rng.randrange(800))  # incl. 29 Feb
            first_due = rng.choice([None, disbursed + timedelta(days=rng.randrange(1, 45))])
            terms = LoanTerms(principal, rate, term, disbursed, first_due)
            loan_id = f"L{n}"
            expected = installment_rows(loan_id, build_schedule(product, terms))
            _, want = encode_rows(connection, "installments", expected)
            assert list(booking.schedule(product, terms).rows(loan_id)) == want, terms


def test_cached_disbursements_are_the_domains(engine: Engine) -> None:
    now = datetime(2024, 5, 1, 12, 30)
    with engine.connect() as connection:
        booking = Booking(connection)
        created = booking.created(now)
        for n, (principal, on) in enumerate(
            [("1000", date(2024, 1, 2)), ("1000", date(2024, 3, 4)), ("25.5", date(2024, 1, 2))]
        ):
            loan_id = f"L{n}"
            entry = disburse(
                Ledger(loan_id, "CNY"), f"disb:{loan_id}", on, Decimal(principal)
            ).entry
            head, legs = entry_rows(loan_id, entry, seq=1, created_at=now)
            got_head, got_legs = booking.disbursement(
                loan_id, "CNY", on, Decimal(principal), created
            )
            assert [got_head] == encode_rows(connection, "entries", [head])[1]
            assert got_legs == encode_rows(connection, "legs", legs)[1]
