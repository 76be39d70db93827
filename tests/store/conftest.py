"""A store with one customer and one CONSUMER loan (with its schedule) booked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from arrears.domain.products import Catalog, load_catalog
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.store.models import Customer, Loan
from arrears.store.unit_of_work import UnitOfWork

TERMS = LoanTerms(Decimal("12000.00"), Decimal("0.18"), 12, date(2024, 1, 15))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def terms() -> LoanTerms:
    """The terms of loan L1 in ``booked``."""
    return TERMS


@pytest.fixture
def booked(engine: Engine, catalog: Catalog) -> Engine:
    """``engine`` holding customer C1 and loan L1 (CONSUMER, 12000 at 18% over 12 months)."""
    with UnitOfWork(engine) as uow:
        uow.products.ensure(catalog)
        uow.customers.add(Customer(customer_id="C1", name="张三"))
        uow.loans.add(
            Loan(
                loan_id="L1",
                customer_id="C1",
                product_code="CONSUMER",
                currency="CNY",
                principal=TERMS.principal,
                annual_rate=TERMS.annual_rate,
                term_months=TERMS.term_months,
                disbursed_on=TERMS.disbursed_on,
            ),
            build_schedule(catalog.product("CONSUMER"), TERMS),
        )
        uow.commit()
    return engine
