"""Promises to pay (承诺还款): recorded by collectors, settled by the daily close.

A promise of ``amount`` made on ``promised_on`` and due on ``due_date`` is *kept* when
the payments received on the loan from ``promised_on`` through ``due_date`` add up to
at least ``amount`` (``settled_on`` is the day the sum got there), and *broken* when
the due date has passed (closed) without that. ``settle_promises(engine, as_of)`` is
what the close calls after it has posted the day; running it again changes nothing.
A new promise on a case replaces (cancels) its pending one.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from arrears.domain.money import quantize
from arrears.services import audit
from arrears.services.workbench.access import (
    WORKERS,
    Actor,
    case_of_object,
    require_role,
    visible_case,
    workable_case,
)
from arrears.services.workbench.errors import Conflict, Invalid, NotFound
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import Loan, PaymentRow
from arrears.store.payment_rows import standing
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Promise

MAX_DAYS_AHEAD = 90


def create_promise(
    session: Session,
    actor: Actor,
    case_id: int,
    amount: Decimal,
    due_date: date,
    *,
    on: date,
    contact_attempt_id: int | None = None,
) -> Promise:
    """Record a promise on case ``case_id`` made on ``on`` (today's business date) to
    pay ``amount`` by ``due_date``; checks the amount is positive and in cents and the
    date within ``MAX_DAYS_AHEAD`` days."""
    audit.begin_write(session)
    case = workable_case(session, actor, case_id)
    loan = session.get(Loan, case.loan_id)
    assert loan is not None
    if amount <= 0:
        raise Invalid("amount: must be positive", "positive", field="amount")
    if quantize(amount, loan.currency) != amount:
        raise Invalid(
            f"amount: {amount} has more decimals than {loan.currency} allows",
            "decimals",
            field="amount",
            currency=loan.currency,
        )
    if due_date < on:
        raise Invalid(
            f"due_date: {due_date} is before today ({on})", "date_before", field="due_date", date=on
        )
    if due_date > on + timedelta(days=MAX_DAYS_AHEAD):
        raise Invalid(
            f"due_date: at most {MAX_DAYS_AHEAD} days ahead",
            "date_too_far",
            field="due_date",
            days=MAX_DAYS_AHEAD,
            date=on,
        )
    if contact_attempt_id is not None:
        attempt_case = session.scalar(
            select(ContactAttempt.case_id).where(ContactAttempt.id == contact_attempt_id)
        )
        # a contact of another case would link this promise to a debtor's call it is not about
        if attempt_case != case_id:
            raise NotFound(
                f"no contact attempt {contact_attempt_id} on case {case_id}", "not_found"
            )
    # the pending promise is cancelled in one UPDATE … RETURNING (not read, then changed)
    replaced = session.scalars(
        update(Promise)
        .where(Promise.case_id == case_id, Promise.status == "pending")
        .values(status="cancelled", settled_on=on)
        .returning(Promise.id)
        .execution_options(synchronize_session=False)
    ).all()
    for old_id in sorted(replaced):
        # a replaced promise this session holds reads its new status when next used
        # (SQLAlchemy's own synchronisation left settled_on unset on such an object)
        held = session.identity_map.get(identity_key(Promise, old_id))
        if held is not None:
            session.expire(held, ["status", "settled_on"])
        audit.append(
            session, actor.username, "promise.cancel", "promise", old_id, {"replaced": True}
        )
    promise = Promise(
        case_id=case_id,
        loan_id=case.loan_id,
        amount=amount,
        promised_on=on,
        due_date=due_date,
        status="pending",
        paid_amount=Decimal(0),
        contact_attempt_id=contact_attempt_id,
        created_by=actor.username,
    )
    session.add(promise)
    session.flush()
    audit.append(
        session,
        actor.username,
        "promise.create",
        "promise",
        promise.id,
        {"case_id": case_id, "amount": amount, "due_date": due_date, "promised_on": on},
    )
    return promise


def cancel_promise(session: Session, actor: Actor, promise_id: int, on: date) -> Promise:
    """Cancel a pending promise (the customer withdrew it, or it was entered wrongly) on
    a case the actor may work; NotFound for a promise outside their scope."""
    audit.begin_write(session)
    promise = session.get(Promise, promise_id)
    if promise is None:
        raise NotFound(f"no promise {promise_id}", "not_found")
    case_of_object(session, actor, promise.case_id, f"promise {promise_id}")
    require_role(actor, WORKERS, "change a case")
    if promise.status != "pending":
        raise Conflict(
            f"promise {promise_id} is {promise.status}, not pending",
            "promise_settled",
            status=promise.status,
        )
    promise.status, promise.settled_on = "cancelled", on
    audit.append(session, actor.username, "promise.cancel", "promise", promise.id, {})
    return promise


def promises_of(session: Session, actor: Actor, case_id: int) -> list[Promise]:
    """The case's promises, newest first."""
    visible_case(session, actor, case_id)
    return list(
        session.scalars(
            select(Promise)
            .where(Promise.case_id == case_id)
            .order_by(Promise.promised_on.desc(), Promise.id.desc())
        )
    )


def _verdict(
    promise: Promise, payments: list[tuple[date, Decimal]], as_of: date
) -> tuple[str, Decimal, date | None]:
    """(status, paid toward it, settled_on) of a pending promise as of ``as_of``."""
    paid, reached = Decimal(0), None
    for paid_on, amount in payments:
        if promise.promised_on <= paid_on <= min(promise.due_date, as_of):
            paid += amount
            if reached is None and paid >= promise.amount:
                reached = paid_on
    if reached is not None:
        return "kept", paid, reached
    if promise.due_date <= as_of:
        return "broken", paid, promise.due_date
    return "pending", paid, None


def _standing_payments(
    session: Session, loans: set[str], as_of: date
) -> dict[str, list[tuple[date, Decimal]]]:
    """Each of ``loans``' payments through ``as_of`` not reversed, oldest first (as the
    close pays them), as (paid on, amount)."""
    by_loan: dict[str, list[tuple[date, Decimal]]] = {}
    if loans:
        rows = session.execute(
            select(PaymentRow.loan_id, PaymentRow.paid_on, PaymentRow.amount)
            .where(PaymentRow.loan_id.in_(loans), PaymentRow.paid_on <= as_of, standing())
            .order_by(PaymentRow.paid_on, PaymentRow.payment_ref)
        )
        for loan_id, paid_on, amount in rows:
            by_loan.setdefault(loan_id, []).append((paid_on, amount))
    return by_loan


def settle_session(session: Session, as_of: date, actor: str = "close") -> dict[str, int]:
    """``settle_promises`` inside an open session (the caller commits)."""
    audit.begin_write(session)
    pending = list(
        session.scalars(
            select(Promise)
            .where(Promise.status == "pending", Promise.promised_on <= as_of)
            .order_by(Promise.id)
        )
    )
    by_loan = _standing_payments(session, {p.loan_id for p in pending}, as_of)
    counts = {"kept": 0, "broken": 0, "pending": 0}
    for promise in pending:
        status, paid, settled = _verdict(promise, by_loan.get(promise.loan_id, []), as_of)
        counts[status] += 1
        promise.paid_amount = paid
        if status != "pending":
            promise.status, promise.settled_on = status, settled
            audit.append(
                session,
                actor,
                f"promise.{status}",
                "promise",
                promise.id,
                {"paid": paid, "amount": promise.amount, "as_of": as_of},
            )
    session.flush()
    return counts


def unsettle_reversed(
    session: Session, loan_id: str, paid_on: date, as_of: date, actor: str, reason: str
) -> dict[str, int]:
    """Judge again the loan's promises kept on or after ``paid_on`` once a payment of
    that day is reversed (a refund, a chargeback, a bounced transfer): a bounced payment
    kept nothing. Each is judged as the close would judge it as of ``as_of`` (the loan's
    last closed day) from the payments still standing: kept still, broken when its due
    date has passed, or pending again until then. Call after the reversal's entries are
    flushed; returns how many went each way, each change audited with ``reason``."""
    kept = list(
        session.scalars(
            select(Promise)
            .where(
                Promise.loan_id == loan_id,
                Promise.status == "kept",
                Promise.promised_on <= paid_on,
                Promise.settled_on >= paid_on,
            )
            .order_by(Promise.id)
        )
    )
    counts = {"kept": 0, "broken": 0, "pending": 0}
    if not kept:
        return counts
    payments = _standing_payments(session, {loan_id}, as_of).get(loan_id, [])
    for promise in kept:
        status, paid, settled = _verdict(promise, payments, as_of)
        counts[status] += 1
        if status == "kept":
            continue
        promise.status, promise.settled_on, promise.paid_amount = status, settled, paid
        audit.append(
            session,
            actor,
            "promise.broken" if status == "broken" else "promise.reopened",
            "promise",
            promise.id,
            {"paid": paid, "amount": promise.amount, "as_of": as_of, "reason": reason},
        )
    session.flush()
    return counts


def settle_promises(engine: Engine, as_of: date) -> dict[str, int]:
    """Mark pending promises kept or broken from the payments received through
    ``as_of`` (call after the close for ``as_of``); returns counts of kept, broken and
    still pending. Idempotent: settled promises are never revisited."""
    with UnitOfWork(engine) as uow:
        counts = settle_session(uow.session, as_of)
        uow.commit()
    return counts
