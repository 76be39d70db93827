"""What the payment tests share: the loan they pay, the stand-in's secret, a clock
the tests move, and helpers to sign and post webhook deliveries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import (
    SIGNATURE_HEADER,
    EventKind,
    event_body,
    signature_header,
)
from arrears.domain.account import (
    DayState,
    LoanAccount,
    Payment,
    advance,
    open_account,
    resume_account,
)
from arrears.domain.ledger import Account, Ledger
from arrears.domain.operations import disburse
from arrears.domain.products import ChargeOffRule, load_catalog
from arrears.domain.scenario import Scenario, ScenarioEvent, replay
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.services.payments import Checkout, start_checkout
from arrears.store.models import Customer, Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.workspace import Workspace
from charge_off_support import init_without_charge_off

SECRET = b"stand-in-test-secret-0123456789abcdef"
# The default catalogue less its charge-off rules, in the store's workspace too
# (``init_workspace``): loan L1 owes from February, past 180 DPD by December, and the
# payment tests keep it on the book (a written-off loan only books recoveries, nothing
# is charged again: tests/batch/test_charge_off_cases.py)
_DEFAULT = load_catalog()
CATALOG = replace(
    _DEFAULT,
    products={c: replace(p, charge_off=ChargeOffRule()) for c, p in _DEFAULT.products.items()},
)
PRODUCT = CATALOG.product("CONSUMER")
TERMS = LoanTerms(Decimal("12000.00"), Decimal("0.18"), 12, date(2026, 1, 15))
START = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
RETURN_URL = "/portal/paid"
DAY = date(2026, 12, 1)  # START's business date
COMPONENTS = (
    Account.NOT_DUE,
    Account.PRINCIPAL,
    Account.INTEREST,
    Account.PENALTY,
    Account.COMPOUND,
    Account.FEE,
    Account.CREDIT,
)


@dataclass
class Clock:
    """The app's clock; ``advance`` moves it on."""

    now: datetime = field(default=START)

    def __call__(self) -> datetime:
        return self.now

    def today(self) -> date:
        return (self.now + timedelta(hours=8)).date()  # Asia/Shanghai

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def init_workspace(ws: Workspace) -> None:
    """Set up ``ws`` with ``CATALOG`` as its products file (``init`` keeps one it finds)."""
    assert init_without_charge_off(ws).catalog == CATALOG


def book_loan(ws: Workspace, loan_id: str = "L1", customer_id: str = "C1") -> None:
    """Customer and CONSUMER loan (12000.00 at 18% over 12 months from 2026-01-15),
    with its schedule and disbursement, as an import books them."""
    with UnitOfWork(ws.engine) as uow:
        if uow.session.get(Customer, customer_id) is None:
            uow.customers.add(Customer(customer_id=customer_id, name="张三"))
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
            ),
            build_schedule(PRODUCT, TERMS),
        )
        uow.session.flush()
        entry = disburse(
            Ledger(loan_id, "CNY"), f"disb:{loan_id}", TERMS.disbursed_on, TERMS.principal
        )
        uow.entries.add_entry(loan_id, entry.entry)
        uow.commit()


def domain_account(through: date, payments: tuple[Payment, ...] = ()) -> LoanAccount:
    """Loan L1 advanced through the domain core as the store's closes advance it: to
    the day before ``START``'s business date (the fixture's close), resumed from its
    ledger as a close reads it, then to ``through`` with ``payments``."""
    first = advance(open_account("L1", PRODUCT, TERMS), Clock().today() - timedelta(days=1))[0]
    resumed = resume_account(
        "L1", PRODUCT, TERMS, first.schedule, first.ledger, first.closed_through
    )
    return advance(resumed, through, payments)[0]


def checkout(
    ws: Workspace, amount: str = "1234.56", currency: str = "CNY", loan_id: str = "L1"
) -> Checkout:
    with Session(ws.engine) as session:
        made = start_checkout(
            session,
            loan_id=loan_id,
            customer_id="C1",
            amount=Decimal(amount),
            currency=currency,
            return_url=RETURN_URL,
        )
        session.commit()
    return made


def page_token(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    found = re.search(r'name="token" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


def standin(client: TestClient, made: Checkout, action: str = "pay") -> Response:
    """Press a button of the stand-in's page of ``made``."""
    token = page_token(client, made.url)
    return client.post(f"{made.url}/{action}", data={"token": token})


def post_event(
    client: TestClient,
    body: bytes,
    *,
    secret: bytes = SECRET,
    at: int | None = None,
    header: str | None = None,
    name: str = "standin",
) -> Response:
    """Deliver ``body`` to the webhook, signed with ``secret`` at ``at`` (default: the
    app's now), or with ``header`` as it is."""
    if header is None:
        clock = client.app.state.settings.clock  # type: ignore[attr-defined]
        stamp = at if at is not None else int(clock().timestamp())
        header = signature_header(secret, stamp, body)
    return client.post(
        f"/webhooks/processor/{name}",
        content=body,
        headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"},
    )


def body_for(
    made: Checkout,
    kind: EventKind = EventKind.PAID,
    *,
    amount: Decimal | None = None,
    currency: str | None = None,
    event_id: str | None = None,
    created: int = 1_796_000_000,
) -> bytes:
    return event_body(
        kind,
        made.checkout_id,
        made.amount if amount is None else amount,
        currency or made.currency,
        payment_id=f"pay_{made.checkout_id[:8]}",
        created=created,
        event_id=event_id,
    )


def scenario_state(as_of: date, *events: tuple) -> DayState:
    """Loan L1's state on ``as_of`` as ``arrears loan replay`` computes it from these
    events (kind, on, amount, ref), in this order."""
    story = Scenario(
        "payments test",
        PRODUCT,
        TERMS,
        tuple(
            ScenarioEvent(n, kind, on, None if amount is None else Decimal(amount), ref)
            for n, (kind, on, amount, ref) in enumerate(events, start=1)
        ),
    )
    return replay(story, CATALOG, as_of).state


def balances_of(ledger: Ledger) -> dict[str, Decimal]:
    return {a.value: ledger.balance(a) for a in COMPONENTS}


def balances_of_state(state: DayState) -> dict[str, Decimal]:
    return {
        "not_due": state.principal_not_due,
        "principal": state.principal_due,
        "interest": state.interest_due,
        "penalty": state.penalty,
        "compound": state.compound,
        "fee": state.fee,
        "credit": state.credit,
    }
