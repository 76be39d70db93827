"""What a verified debtor sees and does in the portal, always on the one loan of their
link, through the workbench's own services (as the actor ``portal``):

* ``overview``: what is owed, broken down, as of the last close; payments (and those a
  processor took that the close has not applied: pending), contacts, promises, open
  requests and holds, the lender and its hotline, the offers of their segment's policy;
* ``promise``: a promise to pay within the policy's window (``promises.create_promise``:
  it suppresses the ladder like a collector's, and the close settles it);
* ``choose_plan`` / ``accept_settlement``: an instalment plan or the settlement offer of
  the policy is proposed and approved at once by the policy (``arrangements.propose``
  then ``decide`` by ``POLICY_ACTOR``); anything outside the policy is proposed and
  left pending for a person, as a collector's proposal with no limit of their own would
  be, with a request (task) for the approving role;
* ``hardship`` and ``dispute``: documents attached to the case (``notes.add_document``),
  a request (task) with a deadline; a dispute places a dispute hold on the loan
  (``holds.place_hold``) and its task goes to compliance; under a pack whose disputes
  pause collection until verification is sent (``us-regf``) the hold is released only
  by ``resolve`` with ``verification_sent``;
* ``set_channel``: the consent ledger's opt-out or consent for a channel
  (``arrears.compliance.consent``; the gate enforces an opt-out).

Each action also leaves a case note (author ``portal``), so the case page tells the
story, and the services audit it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.domain.ledger import Account
from arrears.domain.money import ZERO, quantize
from arrears.services import audit
from arrears.services.portal.access import PORTAL_ACTOR
from arrears.services.portal.config import Policy, PortalSettings
from arrears.services.workbench import arrangements, holds, notes, promises
from arrears.services.workbench.access import Actor
from arrears.services.workbench.contacts import contact_history
from arrears.services.workbench.errors import Conflict, Invalid, NotFound
from arrears.store.contact_models import Hold, StrategyAssignment
from arrears.store.models import CaseRow, Customer, Loan, PaymentRow
from arrears.store.portal_models import PortalRequest, PortalSession
from arrears.store.repositories import EntryRepository
from arrears.store.workbench_models import Arrangement, Promise

# approves what the segment's policy pre-approved (a maker-checker pair with the portal)
POLICY_ACTOR = Actor(0, "portal-policy", "admin")
# a request outside the policy is approved as a collector's with no limit would be
DEBTOR_AS_MAKER = Actor(0, "portal", "collector")
DISPUTE_DAYS = 10  # compliance answers a dispute within this many days
REQUEST_DAYS = 5  # a team lead answers hardship and arrangement requests within
PAUSING_PACKS = ("us-regf",)  # a dispute pauses collection until verification is sent
BREAKDOWN = (
    ("principal", Account.PRINCIPAL),
    ("interest", Account.INTEREST),
    ("penalty", Account.PENALTY),
    ("compound", Account.COMPOUND),
    ("fee", Account.FEE),
)
MAX_TEXT = 2000
# a contact whose message was never sent (planned for later, blocked, given up)
UNSENT = ("queued", "sending", "failed", "blocked", "dead")
MAX_DOCUMENTS = 3


@dataclass(frozen=True)
class Target:
    """The loan, case and customer of a verified portal session."""

    customer: Customer
    loan: Loan
    case: CaseRow | None


def target(session: Session, portal: PortalSession) -> Target:
    """What ``portal`` (verified) is about; NotFound when it is not verified."""
    if portal.verified_at is None:
        raise NotFound("not verified", "portal_not_verified")
    customer = session.get(Customer, portal.customer_id)
    loan = session.get(Loan, portal.loan_id)
    assert customer is not None and loan is not None
    case = session.scalar(
        select(CaseRow)
        .where(CaseRow.loan_id == loan.loan_id)
        .order_by((CaseRow.status == "open").desc(), CaseRow.id.desc())
        .limit(1)
    )
    return Target(customer, loan, case)


def _case(t: Target) -> CaseRow:
    if t.case is None:
        raise Conflict("this loan has no collection case", "portal_no_case")
    return t.case


def segment_of(session: Session, case_id: int | None) -> str | None:
    """The case's segment on the strategy's latest day (None when never treated)."""
    if case_id is None:
        return None
    return session.scalar(
        select(StrategyAssignment.segment)
        .where(StrategyAssignment.case_id == case_id)
        .order_by(StrategyAssignment.as_of.desc())
        .limit(1)
    )


def policy_of(session: Session, t: Target, settings: PortalSettings) -> Policy:
    """The self-service policy of the case's segment."""
    return settings.policy_for(segment_of(session, t.case.id if t.case else None))


def settlement_offer(
    session: Session, loan: Loan, policy: Policy
) -> tuple[Decimal, Decimal] | None:
    """(amount to pay, relief) of the policy's settlement for ``loan``, or None when it
    forgives nothing or more than the policy's ``max_relief``."""
    ledger = EntryRepository(session).ledger(loan.loan_id, loan.currency)
    relief = sum((ledger.balance(Account(name)) for name in policy.settlement_waives), ZERO)
    if relief <= 0 or relief > policy.max_relief:
        return None
    return ledger.total_outstanding - relief, relief


def overview(
    session: Session, portal: PortalSession, settings: PortalSettings, today: date
) -> dict[str, Any]:
    """Everything the debtor's page shows (see the module docstring)."""
    t = target(session, portal)
    ledger = EntryRepository(session).ledger(t.loan.loan_id, t.loan.currency)
    policy = policy_of(session, t, settings)
    pending = _pending(session, t.loan.loan_id)
    paid = session.execute(
        select(PaymentRow.paid_on, PaymentRow.amount, PaymentRow.posted_entry_ref)
        .where(
            PaymentRow.loan_id == t.loan.loan_id,
            PaymentRow.payment_ref.not_in([p.payment_ref for p in pending]),
        )
        .order_by(PaymentRow.paid_on.desc(), PaymentRow.payment_ref.desc())
        .limit(20)
    ).all()
    case_id = t.case.id if t.case else None
    open_promise = session.scalar(
        select(Promise).where(Promise.case_id == case_id, Promise.status == "pending")
    )
    return {
        "customer_name": t.customer.name,
        "loan_id": t.loan.loan_id,
        "currency": t.loan.currency,
        "as_of": t.loan.closed_through,
        "breakdown": [(key, ledger.balance(account)) for key, account in BREAKDOWN],
        "total_due": ledger.total_due,
        "total_outstanding": ledger.total_outstanding,
        "payments": [{"paid_on": d, "amount": a, "applied": ref is not None} for d, a, ref in paid],
        "pending": pending,
        "contacts": [
            {"at": c["at"], "channel": c["channel"]}
            for c in contact_history(session, t.customer.customer_id, limit=20)
            if c["allowed"]
            and c["source"] != "system"  # the one-time codes they asked for
            and c["outbox_status"] not in UNSENT  # planned, not made
            and c["loan_id"] in (None, t.loan.loan_id)
        ],
        "promise": open_promise,
        "requests": list(
            session.scalars(
                select(PortalRequest)
                .where(PortalRequest.loan_id == t.loan.loan_id)
                .order_by(PortalRequest.id.desc())
                .limit(10)
            )
        ),
        "disputed": session.scalar(
            select(Hold.id).where(
                Hold.loan_id == t.loan.loan_id,
                Hold.kind == "dispute",
                Hold.released_on.is_(None),
            )
        )
        is not None,
        "arrangement": session.scalar(
            select(Arrangement)
            .where(Arrangement.loan_id == t.loan.loan_id)
            .order_by(Arrangement.id.desc())
            .limit(1)
        ),
        "policy": policy,
        "promise_last_day": today + timedelta(days=policy.promise_days),
        "plan_last_first_due": today + timedelta(days=policy.plan_first_due_days),
        "settlement": settlement_offer(session, t.loan, policy),
        "has_case": t.case is not None,
    }


def _pending(session: Session, loan_id: str) -> list[Any]:
    try:
        from arrears.services.payments import pending_payments
    except ImportError:  # the payments module is not installed
        return []
    return list(pending_payments(session, loan_id=loan_id))


def parse_amount(text: str, currency: str, field: str = "amount") -> Decimal:
    """A positive amount typed by the debtor, in the currency's decimals."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise Invalid(f"{field}: not an amount", "not_amount", field=field) from None
    if not value.is_finite() or value <= 0 or value > Decimal("1e12"):
        raise Invalid(f"{field}: must be a positive amount", "positive", field=field)
    if quantize(value, currency) != value:
        raise Invalid(
            f"{field}: too many decimals for {currency}",
            "decimals",
            field=field,
            currency=currency,
        )
    return quantize(value, currency)  # "1e3" is 1000.00, never 1E+3 on a page or a checkout


def parse_day(text: str, field: str) -> date:
    """A date YYYY-MM-DD typed by the debtor."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise Invalid(f"{field}: not a date YYYY-MM-DD", "not_date", field=field) from None


def _note(session: Session, case_id: int, text: str) -> None:
    notes.add_note(session, PORTAL_ACTOR, case_id, f"[portal] {text}")


def promise(
    session: Session,
    portal: PortalSession,
    settings: PortalSettings,
    *,
    amount: Decimal,
    due_date: date,
    today: date,
) -> Promise:
    """A promise to pay ``amount`` by ``due_date`` within the policy's window."""
    t = target(session, portal)
    case = _case(t)
    policy = policy_of(session, t, settings)
    last = today + timedelta(days=policy.promise_days)
    if due_date > last:
        raise Invalid(
            f"due_date: at most {policy.promise_days} days ahead",
            "date_too_far",
            field="due_date",
            days=policy.promise_days,
            date=today,
        )
    row = promises.create_promise(session, PORTAL_ACTOR, case.id, amount, due_date, on=today)
    _note(session, case.id, f"promise to pay {amount} {t.loan.currency} by {due_date}")
    return row


def _request(
    session: Session,
    t: Target,
    kind: str,
    role: str,
    due_on: date,
    reason: str = "",
    **details: Any,
) -> PortalRequest:
    case = _case(t)
    row = PortalRequest(
        case_id=case.id,
        loan_id=t.loan.loan_id,
        customer_id=t.customer.customer_id,
        kind=kind,
        status="open",
        reason=reason,
        details=audit.canonical(details),
        assigned_role=role,
        due_on=due_on,
        hold_id=details.get("hold_id"),
        arrangement_id=details.get("arrangement_id"),
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        "portal",
        f"portal.{kind}",
        "portal_request",
        row.id,
        {"case_id": case.id, "role": role, "due_on": due_on, **details},
    )
    return row


@dataclass(frozen=True)
class ArrangementResult:
    """An arrangement the portal proposed: approved at once (within the policy) or
    waiting for ``request`` to be decided by a person."""

    arrangement: Arrangement
    request: PortalRequest | None


def _arrange(
    session: Session,
    t: Target,
    kind: str,
    terms: dict[str, Any],
    within: bool,
    today: date,
) -> ArrangementResult:
    case = _case(t)
    row = arrangements.propose(session, PORTAL_ACTOR, case.id, kind, terms, on=today)
    if within:
        arrangements.decide(
            session, POLICY_ACTOR, row.id, True, on=today, note="pre-approved by the policy"
        )
        _note(session, case.id, f"{kind} {audit.canonical(terms)} chosen, within the policy")
        return ArrangementResult(row, None)
    row.required_role = arrangements.required_role(session, DEBTOR_AS_MAKER, row.relief)
    _note(session, case.id, f"{kind} {audit.canonical(terms)} asked, outside the policy")
    request = _request(
        session,
        t,
        "arrangement",
        row.required_role,
        today + timedelta(days=REQUEST_DAYS),
        arrangement_id=row.id,
        arrangement_kind=kind,
    )
    return ArrangementResult(row, request)


def choose_plan(
    session: Session,
    portal: PortalSession,
    settings: PortalSettings,
    *,
    count: int,
    first_due: date,
    today: date,
) -> ArrangementResult:
    """An instalment plan of ``count`` months from ``first_due``: approved at once when
    the policy offers that many months and the first due date is within its window,
    else a request for a person. Under a policy whose ``plan_method`` is annuity or
    equal_principal the plan re-amortises what is overdue with what is not yet due."""
    t = target(session, portal)
    policy = policy_of(session, t, settings)
    within = count in policy.plan_counts and first_due <= today + timedelta(
        days=policy.plan_first_due_days
    )
    terms: dict[str, Any] = {"count": count, "first_due": first_due.isoformat()}
    if policy.plan_method != "respread":  # re-amortised at the contract's rate
        terms["method"] = policy.plan_method
    return _arrange(session, t, "installment_plan", terms, within, today)


def accept_settlement(
    session: Session,
    portal: PortalSession,
    settings: PortalSettings,
    *,
    amount: Decimal | None,
    pay_by: date,
    today: date,
) -> ArrangementResult:
    """The policy's settlement offer (``amount`` None or the offer's amount): approved
    at once; a lower amount the debtor names is a request for a person."""
    t = target(session, portal)
    policy = policy_of(session, t, settings)
    offer = settlement_offer(session, t.loan, policy)
    if amount is None:
        if offer is None:
            raise Conflict("there is no settlement offer for this loan", "portal_no_offer")
        amount = offer[0]
    within = offer is not None and amount >= offer[0] and pay_by <= today + timedelta(days=30)
    terms = {"amount": str(amount), "pay_by": pay_by.isoformat()}
    return _arrange(session, t, "settlement", terms, within, today)


def _documents(session: Session, case_id: int, files: list[tuple[str, str, bytes]]) -> list[int]:
    if len(files) > MAX_DOCUMENTS:
        raise Invalid(
            f"documents: at most {MAX_DOCUMENTS}", "portal_too_many_files", high=MAX_DOCUMENTS
        )
    return [
        notes.add_document(session, PORTAL_ACTOR, case_id, name, kind, content).id
        for name, kind, content in files
    ]


def _reason(text: str) -> str:
    clean = text.strip()
    if not clean or len(clean) > MAX_TEXT:
        raise Invalid(
            f"reason: 1 to {MAX_TEXT} characters", "length", field="reason", low=1, high=MAX_TEXT
        )
    return clean


def hardship(
    session: Session,
    portal: PortalSession,
    *,
    reason: str,
    files: list[tuple[str, str, bytes]],
    today: date,
) -> PortalRequest:
    """A request for hardship relief with documents, a task for the team lead."""
    t = target(session, portal)
    case = _case(t)
    clean = _reason(reason)
    documents = _documents(session, case.id, files)
    _note(session, case.id, f"hardship relief asked: {clean}")
    return _request(
        session,
        t,
        "hardship",
        "team_lead",
        today + timedelta(days=REQUEST_DAYS),
        clean,
        documents=documents,
    )


def dispute(
    session: Session,
    portal: PortalSession,
    *,
    reason: str,
    files: list[tuple[str, str, bytes]],
    today: date,
    pack: str,
) -> PortalRequest:
    """Dispute the debt: a dispute hold on the loan (the gate stops every contact about
    it), documents on the case, a task for compliance due in ``DISPUTE_DAYS``."""
    t = target(session, portal)
    case = _case(t)
    clean = _reason(reason)
    existing = session.scalar(
        select(PortalRequest).where(
            PortalRequest.loan_id == t.loan.loan_id,
            PortalRequest.kind == "dispute",
            PortalRequest.status == "open",
        )
    )
    if existing is not None:
        raise Conflict("this debt is already disputed", "portal_already_disputed")
    documents = _documents(session, case.id, files)
    hold = holds.place_hold(
        session,
        PORTAL_ACTOR,
        case.id,
        "dispute",
        f"disputed by the debtor: {clean}"[:500],
        on=today,
    )
    _note(session, case.id, f"debt disputed: {clean}")
    return _request(
        session,
        t,
        "dispute",
        "compliance",
        today + timedelta(days=DISPUTE_DAYS),
        clean,
        documents=documents,
        hold_id=hold.id,
        paused_until_verification=pack in PAUSING_PACKS,
    )


RESOLUTIONS = {
    "dispute": ("verification_sent", "upheld", "rejected"),
    "hardship": ("granted", "declined"),
    "arrangement": ("decided",),
}


def resolve(
    session: Session,
    actor: Actor,
    request_id: int,
    outcome: str,
    *,
    note: str,
    today: date,
    pack: str,
) -> PortalRequest:
    """Close a portal request (a staff member of its role, or above). A dispute's hold
    is released with it, except ``upheld`` (the debt is wrong: the hold stays until the
    loan is corrected); under ``us-regf`` only ``verification_sent`` may release it."""
    from arrears.services.workbench.access import visible_case

    audit.begin_write(session)
    row = session.get(PortalRequest, request_id)
    if row is None:
        raise NotFound(f"no request {request_id}", "not_found")
    visible_case(session, actor, row.case_id)
    if actor.role not in (row.assigned_role, "manager", "admin"):
        raise NotFound(f"no request {request_id}", "not_found")
    if row.status != "open":
        raise Conflict(f"request {request_id} is already resolved", "portal_request_resolved")
    if outcome not in RESOLUTIONS[row.kind]:
        raise Invalid(
            f"outcome: one of {', '.join(RESOLUTIONS[row.kind])}", "one_of", field="outcome"
        )
    details = json.loads(row.details)
    if (
        row.kind == "dispute"
        and details.get("paused_until_verification")
        and outcome != "verification_sent"
        and outcome != "upheld"
    ):
        raise Conflict(
            "collection stays paused until verification is sent", "portal_verification_first"
        )
    if row.kind == "dispute" and outcome != "upheld" and row.hold_id is not None:
        hold = session.get(Hold, row.hold_id)
        if hold is not None and hold.released_on is None:
            holds.release_hold(session, actor, row.hold_id, on=today)
    row.status = "resolved"
    row.resolution = f"{outcome}: {note.strip()}"[:MAX_TEXT]
    row.resolved_by = actor.username
    row.resolved_at = datetime.now(UTC)
    audit.append(
        session,
        actor.username,
        "portal.request_resolved",
        "portal_request",
        row.id,
        {"outcome": outcome, "note": note},
    )
    return row


def open_requests(session: Session, actor: Actor) -> list[PortalRequest]:
    """Open portal requests for ``actor``'s role (all of them for managers and admins)
    on cases they may see, by deadline."""
    from arrears.services.workbench.access import case_scope

    query = (
        select(PortalRequest)
        .join(CaseRow, CaseRow.id == PortalRequest.case_id)
        .where(PortalRequest.status == "open", case_scope(session, actor))
        .order_by(PortalRequest.due_on, PortalRequest.id)
    )
    if actor.role not in ("manager", "admin"):
        query = query.where(PortalRequest.assigned_role == actor.role)
    return list(session.scalars(query))


def channel_preferences(session: Session, customer_id: str) -> dict[str, str]:
    """channel -> ``opted_out`` or ``consented`` (the debtor's latest word on the
    channel as a whole), from the consent ledger; {} when it is not installed."""
    try:
        from arrears.compliance.consent import preferences
    except ImportError:
        return {}
    return {
        p.channel: p.state
        for p in preferences(session, customer_id)
        if p.channel and p.recipient is None
    }


PREFERENCE_CHANNELS = ("sms", "call", "email", "push", "letter")


def set_channel(
    session: Session,
    portal: PortalSession,
    channel: str,
    allow: bool,
    *,
    text: str,
    now: datetime,
) -> None:
    """Opt out of (``allow`` False) or back into a channel, as the debtor's own word in
    the consent ledger (source ``portal``, ``text`` the words they were shown)."""
    from arrears.compliance.consent import record_consent, record_opt_out

    t = target(session, portal)
    if channel not in PREFERENCE_CHANNELS:
        raise Invalid(
            f"channel: one of {', '.join(PREFERENCE_CHANNELS)}", "one_of", field="channel"
        )
    audit.begin_write(session)
    record = record_consent if allow else record_opt_out
    record(
        session,
        customer_id=t.customer.customer_id,
        channel=channel,
        recipient=None,
        source="portal",
        text=text,
        at=now,
        actor="portal",
    )
    if t.case is not None:
        _note(session, t.case.id, f"{'allowed' if allow else 'opted out of'} {channel}")
