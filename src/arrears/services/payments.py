"""Payments through a payment processor (docs/payments.md): hosted checkouts for the
debtor portal, and the processor's webhook events booked in the store.

* ``start_checkout`` asks the workspace's processor for a hosted page taking exactly
  an amount of one loan, and records the checkout.
* ``receive_webhook`` verifies a delivery (signature, timestamp tolerance), records the
  event once per event id, and acts on it: ``paid`` books a row of ``payments`` (the
  table the daily close takes in, so the next close applies it through the product's
  waterfall; until then it is pending); ``refunded`` and ``chargeback`` take back all
  or part of it: a payment not yet taken in by a close is reduced or withdrawn, one
  the close posted is reversed in the ledger by the domain's ``reverse`` (the
  ``reversal`` of a scenario), dated the loan's first open day, and what a partial
  reversal leaves is booked again for the next close; so the next close charges again
  on what the reversal re-opened and the ledger's legs still balance.
* ``pending_payments`` / ``processor_payments``: what the portal shows.

Every accepted event is audited (actor ``processor:<name>``); a delivery refused is
logged without its body and never audited (anyone can send one).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arrears.batch.book import stored_pauses, stored_restructurings
from arrears.channels.adapters.processor import (
    CheckoutRequest,
    Event,
    EventKind,
    Processor,
    ProcessorError,
    WebhookRejected,
)
from arrears.domain.errors import DomainError
from arrears.domain.money import MINOR_UNITS, quantize
from arrears.domain.products import Catalog, load_catalog
from arrears.services import audit
from arrears.services.clock import as_utc
from arrears.services.payment_config import configured_processor
from arrears.services.payment_reversal import reverse_payment
from arrears.services.settings import PaymentSettings, load_settings
from arrears.services.workbench.promises import unsettle_reversed
from arrears.store.db import workspace_of
from arrears.store.models import Loan, PaymentRow, utcnow
from arrears.store.payment_models import CHECKOUT_ORIGINS, ProcessorEvent
from arrears.store.payment_models import Checkout as CheckoutRow
from arrears.store.repositories import EntryRepository, LoanRepository
from arrears.workspace import Workspace

ONE_DAY = timedelta(days=1)
PAYMENT_CHANNEL = "processor"  # payments.channel of a payment booked by a paid event
REVERSED = {EventKind.REFUNDED: "refunded", EventKind.CHARGEBACK: "charged_back"}


class CheckoutError(ValueError):
    """A checkout cannot be started; the message names the field and the reason."""


@dataclass(frozen=True)
class Checkout:
    """A hosted checkout: send the debtor to ``url`` (the processor's page)."""

    checkout_id: str
    url: str
    loan_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PendingPayment:
    """A payment made through the processor. ``status``: ``pending`` (booked, not yet
    applied by a close), ``applied``, ``refunded`` or ``charged_back``."""

    checkout_id: str
    payment_ref: str
    amount: Decimal
    currency: str
    paid_at: datetime
    status: str


@dataclass(frozen=True)
class Receipt:
    """What a webhook delivery did: ``status`` ``accepted`` or ``duplicate`` (seen
    before: nothing changed), ``outcome`` what the event booked."""

    event_id: str
    kind: str
    status: str
    outcome: str


def start_checkout(
    session: Session,
    *,
    loan_id: str,
    customer_id: str,
    amount: Decimal,
    currency: str,
    return_url: str,
    origin: str = "portal",
    processor: Processor | None = None,
    now: datetime | None = None,
) -> Checkout:
    """Start a hosted checkout taking exactly ``amount`` ``currency`` for ``loan_id`` of
    ``customer_id``, and record it (audited). ``processor`` defaults to the workspace's
    (``[payments] processor``). ``CheckoutError`` names the field when an input is
    wrong: no such loan of that customer, another currency than the loan's, an amount
    that is not positive or has more decimals than the currency, a ``return_url`` that
    is not a path of this site or an http(s) address; and (field ``processor``) when
    the processor refuses the checkout. The page takes payment until ``now`` (the
    app's clock; the wall clock by default) plus ``[payments] checkout_minutes``; older
    open checkouts past their time are marked expired first. The caller commits."""
    audit.begin_write(session)  # before the first read (SQLite: one writer at a time)
    loan = session.get(Loan, loan_id)
    if loan is None or loan.customer_id != customer_id:
        raise CheckoutError(f"loan_id: no loan {loan_id!r} of customer {customer_id!r}")
    if currency != loan.currency:
        raise CheckoutError(f"currency: the loan is in {loan.currency}, not {currency!r}")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise CheckoutError(f"amount: {amount!r} must be a positive Decimal")
    if quantize(amount, currency) != amount:
        places = MINOR_UNITS.get(currency, 2)
        raise CheckoutError(f"amount: {amount} has more than {places} decimals for {currency}")
    if origin not in CHECKOUT_ORIGINS:
        raise CheckoutError(f"origin: {origin!r} is not one of {', '.join(CHECKOUT_ORIGINS)}")
    _check_return_url(return_url)
    root = _workspace(session)
    processor = processor or configured_processor(root)
    now = now or utcnow()
    expire_checkouts(session, now)
    expires_at = now + timedelta(minutes=_checkout_minutes(root))
    checkout_id = secrets.token_urlsafe(24)
    try:
        hosted = processor.create_checkout(
            CheckoutRequest(
                checkout_id, amount, currency, f"loan {loan_id}", return_url, expires_at
            )
        )
    except ProcessorError as exc:
        raise CheckoutError(f"processor: {processor.name} refused the checkout ({exc})") from None
    session.add(
        CheckoutRow(
            checkout_id=checkout_id,
            processor=processor.name,
            processor_ref=hosted.processor_ref,
            loan_id=loan_id,
            customer_id=customer_id,
            amount=amount,
            currency=currency,
            origin=origin,
            return_url=return_url,
            url=hosted.url,
            status="open",
            created_at=now,
            expires_at=expires_at,
        )
    )
    audit.append(
        session,
        f"{origin}:{customer_id}",
        "payment.checkout",
        "loan",
        loan_id,
        {
            "checkout_id": checkout_id,
            "amount": amount,
            "currency": currency,
            "processor": processor.name,
        },
    )
    session.flush()
    return Checkout(checkout_id, hosted.url, loan_id, amount, currency)


def _checkout_minutes(root: Path | None) -> int:
    if root is None:
        return PaymentSettings().checkout_minutes
    return load_settings(root).payments.checkout_minutes


def expired(checkout: CheckoutRow, now: datetime) -> bool:
    """Whether ``checkout``'s page has stopped taking payment: marked expired, or open
    with its time run out."""
    if checkout.status == "expired":
        return True
    ends = checkout.expires_at
    return checkout.status == "open" and ends is not None and as_utc(now) >= as_utc(ends)


def expire_checkouts(session: Session, now: datetime) -> int:
    """Mark the open checkouts whose time ran out as expired (each audited); returns
    how many. A processor's late ``paid`` event for one still books the money."""
    stale = list(
        session.scalars(
            select(CheckoutRow).where(
                CheckoutRow.status == "open",
                CheckoutRow.expires_at.is_not(None),
                CheckoutRow.expires_at <= now,
            )
        )
    )
    for checkout in stale:
        checkout.status = "expired"
        audit.append(
            session,
            "payments",
            "payment.expired",
            "loan",
            checkout.loan_id,
            {"checkout_id": checkout.checkout_id, "expires_at": str(checkout.expires_at)},
            at=now,
        )
    return len(stale)


def _check_return_url(url: str) -> None:
    if not isinstance(url, str) or not url or len(url) > 2000 or not url.isprintable():
        raise CheckoutError("return_url: must be a path or web address")
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return
    if url.startswith(("https://", "http://")):
        return
    raise CheckoutError(f"return_url: {url[:80]!r} is neither a path of this site nor http(s)")


def _catalog(session: Session) -> Catalog:
    """The product catalog the close of the session's workspace uses."""
    root = _workspace(session)
    return Workspace.at(root).catalog if root is not None else load_catalog()


def _workspace(session: Session) -> Path | None:
    bind = session.get_bind()
    return workspace_of(bind if isinstance(bind, Engine) else bind.engine)


def processor_payments(session: Session, *, loan_id: str) -> list[PendingPayment]:
    """Every payment made through a processor for ``loan_id``, oldest first; the amount
    of one still paid is what is left of it after partial refunds."""
    rows = session.execute(
        select(CheckoutRow, PaymentRow.posted_entry_ref, PaymentRow.amount)
        .outerjoin(PaymentRow, PaymentRow.payment_ref == CheckoutRow.payment_ref)
        .where(CheckoutRow.loan_id == loan_id, CheckoutRow.status != "open")
        .order_by(CheckoutRow.paid_at, CheckoutRow.checkout_id)
    ).all()
    out = []
    for checkout, posted, booked in rows:
        amount = checkout.amount
        if checkout.status == "paid":
            status = "pending" if posted is None else "applied"
            amount = booked  # what is left of it after a partial refund
        else:
            status = checkout.status
        assert checkout.payment_ref is not None and checkout.paid_at is not None
        out.append(
            PendingPayment(
                checkout.checkout_id,
                checkout.payment_ref,
                amount,
                checkout.currency,
                checkout.paid_at,
                status,
            )
        )
    return out


def pending_payments(session: Session, *, loan_id: str) -> list[PendingPayment]:
    """Payments made through a processor for ``loan_id`` that no close has applied yet
    (each ``status`` is ``pending``), oldest first."""
    return [p for p in processor_payments(session, loan_id=loan_id) if p.status == "pending"]


def receive_webhook(
    session: Session,
    processor: Processor,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    today: date,
    catalog: Catalog | None = None,
) -> Receipt:
    """Verify and apply one webhook delivery (see the module doc); ``WebhookRejected``
    with the HTTP status when it is refused. A delivery of an event already recorded is
    ``duplicate`` when it was signed anew (a processor's retry) and a 409 ``replay``
    when it carries the very same signed timestamp; the same event id with another body
    is a 409 ``conflict``. ``today`` is the business date a paid event books the
    payment on. The caller commits."""
    event = processor.verify_webhook(headers, body, int(now.timestamp()))
    audit.begin_write(session)
    checkout = session.scalar(
        select(CheckoutRow).where(CheckoutRow.checkout_id == event.checkout_id).with_for_update()
    )
    if checkout is None or checkout.processor != processor.name:
        raise WebhookRejected(404, "unknown_checkout", f"no checkout {event.checkout_id!r}")
    seen = session.scalar(
        select(ProcessorEvent).where(
            ProcessorEvent.processor == processor.name, ProcessorEvent.event_id == event.event_id
        )
    )
    if seen is not None:
        if seen.body_sha256 != event.body_sha256:
            raise WebhookRejected(409, "conflict", f"event {event.event_id} came with another body")
        if seen.signed_at == event.signed_at:
            raise WebhookRejected(409, "replay", f"event {event.event_id}: this delivery was seen")
        return Receipt(event.event_id, seen.kind, "duplicate", seen.outcome)
    _check_amount(session, checkout, event)
    if event.kind is EventKind.PAID:
        outcome = _book_payment(session, checkout, event, now, today)
    else:
        outcome = _reverse_payment(session, checkout, event, now, catalog or _catalog(session))
    session.add(
        ProcessorEvent(
            processor=processor.name,
            event_id=event.event_id,
            kind=event.kind.value,
            checkout_id=checkout.checkout_id,
            amount=event.amount,
            currency=event.currency,
            signed_at=event.signed_at,
            body_sha256=event.body_sha256,
            outcome=outcome,
            received_at=now,
        )
    )
    audit.append(
        session,
        f"processor:{processor.name}",
        f"payment.{event.kind.value}",
        "loan",
        checkout.loan_id,
        {
            "checkout_id": checkout.checkout_id,
            "event_id": event.event_id,
            "payment_id": event.payment_id,
            "amount": event.amount,
            "currency": event.currency,
            "outcome": outcome,
        },
        at=now,
    )
    session.flush()
    return Receipt(event.event_id, event.kind.value, "accepted", outcome)


def _reversed_so_far(session: Session, checkout: CheckoutRow) -> Decimal:
    """What refunds and chargebacks of ``checkout`` have taken back already."""
    amounts = session.scalars(
        select(ProcessorEvent.amount).where(
            ProcessorEvent.checkout_id == checkout.checkout_id,
            ProcessorEvent.kind != EventKind.PAID.value,
        )
    )
    return sum(amounts, Decimal(0))


def _check_amount(session: Session, checkout: CheckoutRow, event: Event) -> None:
    """A paid event carries exactly the checkout's amount; a refund or chargeback at
    most what is still paid (a partial one is fine), to the cent; currency the
    checkout's. Else 422."""
    exact = quantize(event.amount, checkout.currency) == event.amount
    if event.kind is EventKind.PAID or checkout.status != "paid":
        fits = event.amount == checkout.amount
        what = f"the checkout's {checkout.amount} {checkout.currency}"
    else:
        left = checkout.amount - _reversed_so_far(session, checkout)
        fits = event.amount <= left
        what = f"at most the {left} {checkout.currency} still paid"
    if not (exact and fits and event.currency == checkout.currency):
        raise WebhookRejected(
            422,
            "amount_mismatch",
            f"event {event.event_id}: {event.amount} {event.currency} is not {what}",
        )


def _book_payment(
    session: Session, checkout: CheckoutRow, event: Event, now: datetime, today: date
) -> str:
    """A row of ``payments`` for the checkout's amount, paid on ``today``: the next
    close posts it (a day already closed: on the first open day). A checkout that
    expired is booked too: the processor says the money moved, so it is the debtor's."""
    if checkout.status not in ("open", "expired"):
        raise WebhookRejected(
            409, "already_paid", f"checkout {checkout.checkout_id} is {checkout.status} already"
        )
    ref = f"pp:{checkout.checkout_id}"
    session.add(
        PaymentRow(
            payment_ref=ref,
            loan_id=checkout.loan_id,
            paid_on=today,
            amount=checkout.amount,
            currency=checkout.currency,
            channel=PAYMENT_CHANNEL,
        )
    )
    checkout.status, checkout.paid_at, checkout.payment_ref = "paid", now, ref
    checkout.processor_ref = event.payment_id
    return f"booked {ref}"


def _reverse_payment(
    session: Session, checkout: CheckoutRow, event: Event, now: datetime, catalog: Catalog
) -> str:
    """Take ``event.amount`` back from the checkout's payment. One no close took in yet
    is reduced (withdrawn when nothing is left); one the close posted is reversed in the
    ledger on the loan's first open day (``payment_reversal``: with what it avoided
    charged again) and what is left of it,
    if anything, booked again as a new payment of that day for the next close."""
    if checkout.status != "paid" or checkout.payment_ref is None:
        raise WebhookRejected(
            409,
            "not_paid",
            f"checkout {checkout.checkout_id} is {checkout.status}: nothing to reverse",
        )
    payment = session.get(PaymentRow, checkout.payment_ref)
    if payment is None:  # pragma: no cover - the paid event booked it in this store
        raise WebhookRejected(409, "not_paid", f"payment {checkout.payment_ref} is not booked")
    left = payment.amount - event.amount
    if not left:
        checkout.status, checkout.reversed_at = REVERSED[event.kind], now
    if payment.posted_entry_ref is None:
        if left:
            payment.amount = left
            return f"reduced pending {payment.payment_ref} by {event.amount} to {left}"
        session.delete(payment)
        return f"withdrew pending {payment.payment_ref}"
    loan = session.get(Loan, checkout.loan_id)
    assert loan is not None and loan.closed_through is not None  # a close posted it
    repository, loans = EntryRepository(session), LoanRepository(session)
    on, posted = loan.closed_through + ONE_DAY, payment.posted_entry_ref
    ref = f"rev:{posted}"
    conn, ids = session.connection(), {loan.loan_id}
    try:
        booked = reverse_payment(
            loan.loan_id,
            loan.currency,
            catalog.product(loan.product_code),
            loans.terms(loan.loan_id),
            loans.schedule(loan.loan_id),
            repository.entries(loan.loan_id),
            loan.closed_through,
            posted,
            memo=event.kind.value,
            # as the close sees the loan: its DPD pauses and restructuring days
            pauses=stored_pauses(conn, ids).get(loan.loan_id, ()),
            restructured_on=stored_restructurings(conn, ids).get(loan.loan_id, ()),
        )
    except DomainError as exc:
        raise WebhookRejected(409, "cannot_reverse", str(exc)) from None
    for entry in booked:
        repository.add_entry(loan.loan_id, entry)
    session.flush()
    judged = unsettle_reversed(
        session,
        loan.loan_id,
        payment.paid_on,
        loan.closed_through,
        actor=f"processor:{checkout.processor}",
        reason=f"{event.kind.value} of {posted}",
    )
    if loan.status == "closed" and repository.ledger(loan.loan_id).total_outstanding > 0:
        loan.status = "active"  # repaid no more: the close must take it in again
    recharged = [e.ref for e in booked if e.ref != ref]
    outcome = f"reversed {posted} as {ref} on {on.isoformat()}"
    if recharged:
        outcome += f", recharged {' '.join(recharged)}"
    if judged["broken"] or judged["pending"]:
        broken, again = judged["broken"], judged["pending"]
        outcome += f", promises it kept: {broken} broken, {again} pending again"
    if left:
        rest = _rest_ref(checkout)
        session.add(
            PaymentRow(
                payment_ref=rest,
                loan_id=loan.loan_id,
                paid_on=on,
                amount=left,
                currency=payment.currency,
                channel=PAYMENT_CHANNEL,
            )
        )
        checkout.payment_ref = rest
        outcome += f", {left} booked again as {rest}"
    return outcome


def _rest_ref(checkout: CheckoutRow) -> str:
    """The reference of the next rebooking of what a partial reversal left."""
    base = f"pp:{checkout.checkout_id}"
    current = checkout.payment_ref or base
    n = int(current.rsplit(":r", 1)[1]) + 1 if ":r" in current.removeprefix(base) else 1
    return f"{base}:r{n}"
