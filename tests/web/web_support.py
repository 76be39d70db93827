"""The workbench tests' book and clients (the fixtures in conftest.py use these; test
modules import constants and helpers from here, never from conftest).

A small collections book with workbench users, and logged-in API clients.

``book`` (on each backend, from ``engine``): six CONSUMER loans of 12000.00 at 18%
over 12 months disbursed 2026-01-15, installments 1-3 fallen due and unpaid, 50.00
penalty and 5.00 compound accrued, each with an open case:

    case 1 → collector c1 (team north)    case 4 → placed with agency A1
    case 2 → collector c2 (team north)    case 5, 6 → unassigned (dpd 200, 150)
    case 3 → collector c3 (team south)

Users (password ``password-1``): c1, c2 (collectors north, limit 100), c3 (collector
south), tl (team lead north, limit 2000), tl2 (team lead south, limit 2000), mgr
(manager, limit 50000), comp (compliance), ag (agency A1), admin.

The app's clock is pinned to 2026-12-01 04:00 UTC (12:00 in Shanghai, inside the
contact hours).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from arrears.domain.ledger import Ledger
from arrears.domain.operations import accrue, disburse, fall_due
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.services.workbench.seed import seed_dispositions
from arrears.services.workbench.users import hash_password
from arrears.store.models import Customer, Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Agency, Placement, Team, User

PASSWORD = "password-1"
_HASH = hash_password(PASSWORD)  # one argon2 hash for every test user (hashing is slow)
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
TODAY = NOW.date()
TERMS = LoanTerms(Decimal("12000.00"), Decimal("0.18"), 12, date(2026, 1, 15))
PENALTY = Decimal("50.00")
COMPOUND = Decimal("5.00")
ASSIGNEES = ["c1", "c2", "c3", None, None, None]
DPDS = [120, 110, 100, 90, 200, 150]


@dataclass
class Book:
    engine: Engine
    case_ids: list[int]
    agency_id: int
    north: int
    south: int


def _users(north: int, south: int, agency: int) -> list[User]:
    spec = [
        ("c1", "collector", north, None, "100"),
        ("c2", "collector", north, None, "100"),
        ("c3", "collector", south, None, "100"),
        ("tl", "team_lead", north, None, "2000"),
        ("tl2", "team_lead", south, None, "2000"),
        ("mgr", "manager", None, None, "50000"),
        ("comp", "compliance", None, None, "0"),
        ("ag", "agency", None, agency, "0"),
        ("admin", "admin", None, None, "0"),
    ]
    return [
        User(
            username=name,
            display_name=name.upper(),
            password_hash=_HASH,
            role=role,
            team_id=team,
            agency_id=agency_id,
            language="zh_CN",
            approval_limit=Decimal(limit),
            active=True,
        )
        for name, role, team, agency_id, limit in spec
    ]


def make_book(engine: Engine) -> Book:
    """Book the loans, cases, teams, agency and users described in the module doc."""
    catalog = load_catalog()
    product = catalog.product("CONSUMER")
    schedule = build_schedule(product, TERMS)
    with UnitOfWork(engine) as uow:
        uow.products.ensure(catalog)
        north, south = Team(name="north"), Team(name="south")
        agency = Agency(code="A1", name="华信催收", active=True)
        uow.session.add_all([north, south, agency])
        uow.session.flush()
        uow.session.add_all(_users(north.id, south.id, agency.id))
        seed_dispositions(uow.session)
        case_ids = []
        for n in range(1, 7):
            customer_id, loan_id = f"C{n}", f"L{n}"
            uow.customers.add(
                Customer(
                    customer_id=customer_id,
                    name=f"客户{n}",
                    id_number=f"11010119900101{n:03d}X",
                    mobile=f"1381234{n:04d}",
                    email=f"debtor{n}@example.com",
                    address=f"北京市朝阳区建国路{n}号院3单元",
                )
            )
            uow.loans.add(
                Loan(
                    loan_id=loan_id,
                    customer_id=customer_id,
                    product_code="CONSUMER",
                    currency="CNY",
                    principal=TERMS.principal,
                    annual_rate=TERMS.annual_rate,
                    term_months=TERMS.term_months,
                    disbursed_on=TERMS.disbursed_on,
                    closed_through=date(2026, 11, 30),
                ),
                schedule,
            )
            ledger = disburse(
                Ledger(loan_id), f"disb:{loan_id}", TERMS.disbursed_on, TERMS.principal
            ).ledger
            for installment in schedule[:3]:
                ledger = fall_due(ledger, installment).ledger
            accrued = accrue(ledger, "acc:1", date(2026, 11, 30), PENALTY, COMPOUND)
            assert accrued is not None
            ledger = accrued.ledger
            for seq, entry in enumerate(ledger.entries, start=1):
                uow.entries.add_entry(loan_id, entry, seq)
            overdue = sum((i.amount for i in schedule[:3]), Decimal(0)) + PENALTY + COMPOUND
            case = uow.cases.open(
                loan_id,
                date(2026, 9, 1),
                dpd=DPDS[n - 1],
                bucket="M4" if DPDS[n - 1] >= 90 else "M3",
                loan_class="doubtful",
                amount_overdue=overdue,
                assigned_to=ASSIGNEES[n - 1],
            )
            case_ids.append(case.id)
        uow.session.add(
            Placement(
                case_id=case_ids[3],
                agency_id=agency.id,
                status="active",
                placed_on=date(2026, 11, 1),
                bucket="M4",
                balance_placed=Decimal("10000.00"),
                rule="manual",
                placed_by="mgr",
            )
        )
        uow.commit()
        return Book(engine, case_ids, agency.id, north.id, south.id)


def add_user(
    book: Book, username: str, role: str, language: str = "zh_CN", **where: int | None
) -> None:
    """Add an active user (password as the book's) with ``team_id`` / ``agency_id``."""
    with UnitOfWork(book.engine) as uow:
        c1 = uow.session.scalar(select(User).where(User.username == "c1"))
        assert c1 is not None
        uow.session.add(
            User(
                username=username,
                display_name=username.upper(),
                password_hash=c1.password_hash,
                role=role,
                team_id=where.get("team_id"),
                agency_id=where.get("agency_id"),
                language=language,
                approval_limit=Decimal(0),
                active=True,
            )
        )
        uow.commit()


def login_client(app, username: str, password: str = PASSWORD) -> TestClient:  # type: ignore[no-untyped-def]
    """A client logged in as ``username`` that sends its CSRF token on every request."""
    return log_in(TestClient(app), username, password)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Log ``client`` in as ``username``; it sends the session's CSRF token from now on."""
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


@contextmanager
def recorded(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block, whitespace folded."""
    seen: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)
