"""Payment arrangements with maker-checker approval, posted to the ledger on approval.

Kinds and what approval does (through the domain core, exact in Decimal):

* ``waiver`` (减免) ``{"component": "penalty", "amount": "120.00"}``: waives that much of
  the component (``arrears.domain.operations.waive``); relief = the amount.
* ``settlement`` (结清) ``{"amount": "5000.00", "pay_by": "2026-12-20"}``: the customer
  settles everything for ``amount``; relief = outstanding − amount is forgiven in the
  domain core's ``SETTLEMENT_ORDER`` (penalty, compound, fee, costs, interest due,
  principal due, then principal not yet due: one ``settlement`` entry,
  ``arr:<id>:forgive``) and the installments not yet due become one installment due on
  ``pay_by`` holding the principal not yet due that is left (no interest: contract
  interest not yet due is not owed), so exactly ``amount`` is left to pay; paid, the
  loan is closed (repaid) on ``pay_by``.
* ``extension`` (展期) ``{"months": 3}``: installments not yet due move ``months`` later.
* ``installment_plan`` ``{"count": 6, "first_due": "2027-01-15"}``: the principal and
  interest not yet due are re-spread over ``count`` monthly installments. With
  ``"method": "annuity" | "equal_principal"`` (and optionally ``"rate": "0.12"``, the
  contract's rate by default, and ``"charges": true``) the plan re-amortises instead:
  the principal and interest fallen due and unpaid (and the charges, when asked) plus
  the principal not yet due become the principal of ``count`` new installments at
  ``rate`` from ``first_due`` (``arrears.domain.arrangements``: one ``restructure``
  entry ``arr:<id>:plan`` moving them into principal not yet due).

Who approves: a proposal needs a checker who is not the maker, whose role ranks at least
``required_role`` and whose approval limit covers the relief. ``required_role`` is
``collector`` (a peer) when the relief is within the maker's own limit, ``team_lead``
when within the maker's team lead's limit, otherwise ``manager``. Schedule changes with
no relief need a team lead.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from arrears.domain.arrangements import (
    PLAN_METHODS,
    Plan,
    forgive,
    plan_schedule,
    reamortised_principal,
)
from arrears.domain.arrangements import restructure as restructure_entry
from arrears.domain.errors import DomainError
from arrears.domain.ledger import LOAN_LEVEL, Account, EntryKind, Ledger
from arrears.domain.money import quantize
from arrears.domain.operations import waive
from arrears.domain.products import Component, Product, ScheduleMethod, load_catalog
from arrears.domain.schedule import Installment
from arrears.services import audit
from arrears.services.audit import canonical
from arrears.services.workbench import restructure
from arrears.services.workbench.access import (
    Actor,
    case_of_object,
    visible_case,
    workable_case,
)
from arrears.services.workbench.errors import Conflict, Forbidden, Invalid, NotFound
from arrears.store.db import workspace_of
from arrears.store.models import CaseRow, InstallmentRow, Loan
from arrears.store.repositories import EntryRepository, LoanRepository
from arrears.store.rows import bulk_insert, installment_rows
from arrears.store.workbench_models import ARRANGEMENT_KINDS, Arrangement, User
from arrears.workspace import Workspace

NO_RELIEF = Decimal("0.00")
# how far ahead a settlement's pay-by date or a plan's first due date may be
MAX_AHEAD = timedelta(days=366)
RANK = {"collector": 1, "team_lead": 2, "manager": 3, "admin": 4}


def _money(terms: dict[str, Any], key: str, currency: str) -> Decimal:
    try:
        value = Decimal(str(terms[key]))
    except KeyError:
        raise Invalid(f"terms.{key}: required", "required", field=key) from None
    except InvalidOperation:
        raise Invalid(
            f"terms.{key}: {terms[key]!r} is not an amount", "not_amount", field=key
        ) from None
    if not value.is_finite() or value <= 0:
        raise Invalid(f"terms.{key}: must be a positive amount", "positive", field=key)
    if quantize(value, currency) != value:
        raise Invalid(
            f"terms.{key}: {value} has more decimals than {currency} allows",
            "decimals",
            field=key,
            currency=currency,
        )
    return value


def _int(terms: dict[str, Any], key: str, low: int, high: int) -> int:
    value = terms.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Invalid(
            f"terms.{key}: a whole number from {low} to {high} is required",
            "whole_between",
            field=key,
            low=low,
            high=high,
        )
    return value


def _date(terms: dict[str, Any], key: str, after: date) -> date:
    try:
        value = date.fromisoformat(str(terms[key]))
    except KeyError:
        raise Invalid(f"terms.{key}: required", "required", field=key) from None
    except ValueError:
        raise Invalid(
            f"terms.{key}: {terms[key]!r} is not a date YYYY-MM-DD", "not_date", field=key
        ) from None
    if value < after:
        raise Invalid(
            f"terms.{key}: {value} is before {after}", "date_before", field=key, date=after
        )
    if value > after + MAX_AHEAD:
        # a plan must stay within the calendar when its months are added
        raise Invalid(
            f"terms.{key}: {value} is more than {MAX_AHEAD.days} days after {after}",
            "date_too_far",
            field=key,
            days=MAX_AHEAD.days,
            date=after,
        )
    return value


def remaining_installments(session: Session, loan_id: str, ledger: Ledger) -> list[Installment]:
    """Installments that have not fallen due in the ledger, in order."""
    fallen = {
        e.ref.removeprefix("due:") for e in ledger.entries if e.kind is EntryKind.INSTALLMENT_DUE
    }
    schedule = LoanRepository(session).schedule(loan_id)
    return [i for i in schedule if str(i.seq) not in fallen]


def _waivable(ledger: Ledger, component: Component) -> Decimal:
    return ledger.balance(Account.of(component))


def _check_terms(
    session: Session, kind: str, terms: dict[str, Any], loan: Loan, on: date
) -> tuple[dict[str, Any], Decimal]:
    """The normalised terms and the relief they give, or Invalid naming the field."""
    ledger = EntryRepository(session).ledger(loan.loan_id, loan.currency)
    remaining = remaining_installments(session, loan.loan_id, ledger)
    if kind == "waiver":
        try:
            component = Component(str(terms.get("component")))
        except ValueError:
            names = ", ".join(c.value for c in Component)
            raise Invalid(
                f"terms.component: must be one of {names}", "one_of", field="component"
            ) from None
        amount = _money(terms, "amount", loan.currency)
        owed = _waivable(ledger, component)
        if amount > owed:
            raise Invalid(
                f"terms.amount: {amount} exceeds the {component.value} owed ({owed})",
                "waiver_exceeds",
                amount=amount,
                component=component.value,
                owed=owed,
            )
        return {"component": component.value, "amount": str(amount)}, amount
    if kind == "settlement":
        amount = _money(terms, "amount", loan.currency)
        pay_by = _date(terms, "pay_by", on)
        outstanding = ledger.total_outstanding
        if amount >= outstanding:
            raise Invalid(
                f"terms.amount: {amount} is not below the outstanding {outstanding}",
                "settlement_not_below",
                amount=amount,
                outstanding=outstanding,
            )
        # the relief may reach the principal not yet due (issue 25, contract 7)
        return {"amount": str(amount), "pay_by": pay_by.isoformat()}, outstanding - amount
    if kind == "installment_plan" and "method" in terms:
        return _plan_terms(terms, loan, ledger, on), NO_RELIEF
    if not remaining:
        raise Invalid(
            "kind: every installment has fallen due; nothing to reschedule", "nothing_to_reschedule"
        )
    if kind == "extension":
        return {"months": _int(terms, "months", 1, 24)}, NO_RELIEF
    if kind == "installment_plan":
        count = _int(terms, "count", 1, 60)
        first_due = _date(terms, "first_due", on)
        return {"count": count, "first_due": first_due.isoformat()}, NO_RELIEF
    raise Invalid(f"kind: must be one of {', '.join(ARRANGEMENT_KINDS)}", "one_of", field="kind")


def _plan_terms(terms: dict[str, Any], loan: Loan, ledger: Ledger, on: date) -> dict[str, Any]:
    """The terms of a re-amortising plan, or Invalid naming the field."""
    count = _int(terms, "count", 1, 60)
    first_due = _date(terms, "first_due", on + timedelta(days=1))
    method = str(terms.get("method"))
    if method not in {m.value for m in PLAN_METHODS}:
        raise Invalid(
            f"terms.method: must be one of {', '.join(m.value for m in PLAN_METHODS)}",
            "one_of",
            field="method",
        )
    clean: dict[str, Any] = {"count": count, "first_due": first_due.isoformat()}
    clean["method"] = method
    if "rate" in terms:
        try:
            rate = Decimal(str(terms["rate"]))
        except InvalidOperation:
            rate = Decimal(-1)
        if isinstance(terms["rate"], float) or not rate.is_finite() or not 0 <= rate <= 1:
            raise Invalid(
                'terms.rate: a yearly rate from 0 to 1 as a string, e.g. "0.12"',
                "invalid_field",
                field="rate",
            )
        clean["rate"] = str(rate)
    charges = terms.get("charges", False)
    if not isinstance(charges, bool):
        raise Invalid("terms.charges: true or false", "invalid_field", field="charges")
    clean["charges"] = charges
    try:
        reamortised_principal(ledger, charges)
    except DomainError:
        raise Invalid("kind: nothing is owed to re-amortise", "nothing_to_reschedule") from None
    return clean


def _product(session: Session, loan: Loan) -> Product:
    """The loan's product in the catalogue of the session's workspace (its day count
    and rounding build a plan's schedule); an unknown code is a DomainError."""
    bind = session.get_bind()
    root = workspace_of(bind if isinstance(bind, Engine) else bind.engine)
    catalog = Workspace.at(root).catalog if root is not None else load_catalog()
    return catalog.product(loan.product_code)


def _team_lead_limit(session: Session, actor: Actor) -> Decimal | None:
    if actor.team_id is None:
        return None
    return session.scalar(
        select(func.max(User.approval_limit)).where(
            User.team_id == actor.team_id, User.role == "team_lead", User.active.is_(True)
        )
    )


def required_role(session: Session, maker: Actor, relief: Decimal) -> str:
    """The lowest role that may approve ``relief`` proposed by ``maker``."""
    if relief == 0:
        return "team_lead" if RANK.get(maker.role, 0) < RANK["team_lead"] else maker.role
    if relief <= maker.approval_limit and maker.role in RANK:
        return maker.role
    lead = _team_lead_limit(session, maker)
    if RANK.get(maker.role, 0) < RANK["team_lead"] and lead is not None and relief <= lead:
        return "team_lead"
    return "manager"


def propose(
    session: Session,
    actor: Actor,
    case_id: int,
    kind: str,
    terms: dict[str, Any],
    *,
    on: date,
    note: str = "",
) -> Arrangement:
    """Propose an arrangement on case ``case_id`` (the actor is the maker); checks the
    terms against the ledger now and works out who must approve."""
    audit.begin_write(session)
    case = workable_case(session, actor, case_id)
    if kind not in ARRANGEMENT_KINDS:
        raise Invalid(
            f"kind: must be one of {', '.join(ARRANGEMENT_KINDS)}", "one_of", field="kind"
        )
    pending = session.scalar(
        select(Arrangement.id).where(
            Arrangement.case_id == case_id, Arrangement.status == "pending"
        )
    )
    if pending is not None:
        raise Conflict(
            f"case {case_id} already has arrangement {pending} waiting for approval",
            "arrangement_pending",
            id=pending,
        )
    loan = session.get(Loan, case.loan_id)
    assert loan is not None
    clean, relief = _check_terms(session, kind, terms, loan, on)
    row = Arrangement(
        case_id=case_id,
        loan_id=case.loan_id,
        kind=kind,
        status="pending",
        relief=relief,
        terms=canonical(clean),
        required_role=required_role(session, actor, relief),
        maker=actor.username,
        decision_note=note,
        ledger_refs="[]",
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor.username,
        "arrangement.propose",
        "arrangement",
        row.id,
        {"case_id": case_id, "kind": kind, "terms": clean, "relief": relief},
    )
    return row


def approval_refusal(actor: Actor, arrangement: Arrangement) -> Forbidden | None:
    """None when ``actor`` may approve ``arrangement``, else the refusal saying why not."""
    if actor.username == arrangement.maker:
        return Forbidden("a maker can never approve their own arrangement", "own_arrangement")
    if RANK.get(actor.role, 0) < RANK.get(arrangement.required_role, 99):
        return Forbidden(
            f"needs a {arrangement.required_role} or above",
            "needs_role",
            role=arrangement.required_role,
        )
    if actor.role != "admin" and arrangement.relief > actor.approval_limit:
        return Forbidden(
            f"relief {arrangement.relief} is above your approval limit {actor.approval_limit}",
            "above_limit",
            relief=arrangement.relief,
            limit=actor.approval_limit,
        )
    return None


def may_approve(actor: Actor, arrangement: Arrangement) -> str | None:
    """None when ``actor`` may approve ``arrangement``, else why not."""
    refusal = approval_refusal(actor, arrangement)
    return None if refusal is None else str(refusal)


def _replace_schedule(session: Session, loan_id: str, new: tuple[Installment, ...]) -> None:
    first = min(i.seq for i in new)
    session.execute(
        delete(InstallmentRow).where(InstallmentRow.loan_id == loan_id, InstallmentRow.seq >= first)
    )
    session.flush()
    bulk_insert(session.connection(), InstallmentRow, installment_rows(loan_id, new))


def _apply(session: Session, arrangement: Arrangement, on: date) -> list[str]:
    """Post the approved arrangement; returns the ledger references written."""
    loan = session.get(Loan, arrangement.loan_id)
    assert loan is not None
    entries = EntryRepository(session)
    ledger = entries.ledger(loan.loan_id, loan.currency)
    remaining = remaining_installments(session, loan.loan_id, ledger)
    terms = json.loads(arrangement.terms)
    refs: list[str] = []
    memo = f"arrangement {arrangement.id} ({arrangement.kind})"
    if arrangement.kind == "waiver":
        ref = f"arr:{arrangement.id}:waive"
        result = waive(ledger, ref, on, Component(terms["component"]), arrangement.relief, memo)
        entries.add_entry(loan.loan_id, result.entry)
        refs.append(ref)
    elif arrangement.kind == "settlement":
        owed = ledger.total_outstanding
        if arrangement.relief >= owed:
            raise Conflict(
                f"the ledger changed since the proposal: {arrangement.relief} could not be "
                f"forgiven, {owed} is owed",
                "ledger_changed",
                amount=arrangement.relief,
            )
        ref = f"arr:{arrangement.id}:forgive"
        ledger = forgive(ledger, ref, on, arrangement.relief, memo)
        entry = ledger.entry(ref)
        assert entry is not None
        entries.add_entry(loan.loan_id, entry)
        refs.append(ref)
        if remaining:
            pay_by = date.fromisoformat(terms["pay_by"])
            left = ledger.balance(Account.NOT_DUE, LOAN_LEVEL)
            new = restructure.accelerate(remaining, pay_by, left, loan.currency)
            _replace_schedule(session, loan.loan_id, new)
    elif arrangement.kind == "extension":
        _replace_schedule(session, loan.loan_id, restructure.extend(remaining, terms["months"]))
    elif arrangement.kind == "installment_plan" and "method" in terms:
        refs.append(_reamortise(session, arrangement, loan, ledger, remaining, on, memo))
    elif arrangement.kind == "installment_plan":
        new = restructure.respread(
            remaining, terms["count"], date.fromisoformat(terms["first_due"]), loan.currency
        )
        _replace_schedule(session, loan.loan_id, new)
    return refs


def _reamortise(
    session: Session,
    arrangement: Arrangement,
    loan: Loan,
    ledger: Ledger,
    remaining: list[Installment],
    on: date,
    memo: str,
) -> str:
    """Post a re-amortising plan's ``restructure`` entry and write its new schedule in
    place of the installments not yet due; returns the entry's reference."""
    terms = json.loads(arrangement.terms)
    rate = Decimal(terms["rate"]) if "rate" in terms else loan.annual_rate
    plan = Plan(
        terms["count"],
        ScheduleMethod(terms["method"]),
        rate,
        date.fromisoformat(terms["first_due"]),
        bool(terms.get("charges", False)),
    )
    schedule = LoanRepository(session).schedule(loan.loan_id)
    fallen = len(schedule) - len(remaining)
    principal = reamortised_principal(ledger, plan.charges)
    new = plan_schedule(_product(session, loan), principal, plan, on, fallen)
    ref = f"arr:{arrangement.id}:plan"
    ledger = restructure_entry(ledger, ref, on, plan.charges, memo)
    entry = ledger.entry(ref)
    assert entry is not None
    EntryRepository(session).add_entry(loan.loan_id, entry)
    session.execute(
        delete(InstallmentRow).where(
            InstallmentRow.loan_id == loan.loan_id, InstallmentRow.seq > fallen
        )
    )
    session.flush()
    bulk_insert(session.connection(), InstallmentRow, installment_rows(loan.loan_id, new))
    return ref


def decide(
    session: Session,
    actor: Actor,
    arrangement_id: int,
    approve: bool,
    *,
    on: date,
    note: str = "",
) -> Arrangement:
    """Approve (and post to the ledger) or reject a pending arrangement. The checker
    must see the case (else NotFound, as for no such arrangement), not be the maker,
    and rank and limit high enough to approve."""
    audit.begin_write(session)
    arrangement = session.get(Arrangement, arrangement_id)
    if arrangement is None:
        raise NotFound(f"no arrangement {arrangement_id}", "not_found")
    case_of_object(session, actor, arrangement.case_id, f"arrangement {arrangement_id}")
    if arrangement.status != "pending":
        raise Conflict(
            f"arrangement {arrangement_id} is already {arrangement.status}",
            "arrangement_decided",
            id=arrangement_id,
            status=arrangement.status,
        )
    if approve:
        refusal = approval_refusal(actor, arrangement)
        if refusal is not None:
            raise refusal
        try:
            refs = _apply(session, arrangement, on)
        except DomainError as exc:
            raise Conflict(
                f"cannot apply arrangement {arrangement_id}: {exc}",
                "arrangement_cannot_apply",
                id=arrangement_id,
            ) from None
        arrangement.ledger_refs = json.dumps(refs)
        arrangement.applied_on = on
    elif actor.username != arrangement.maker and RANK.get(actor.role, 0) < RANK["team_lead"]:
        raise Forbidden("only the maker or a team lead or above may reject", "reject_not_allowed")
    arrangement.status = "approved" if approve else "rejected"
    arrangement.checker = actor.username
    arrangement.decided_at = datetime.now(UTC)
    if note:
        arrangement.decision_note = note
    session.flush()
    audit.append(
        session,
        actor.username,
        "arrangement.approve" if approve else "arrangement.reject",
        "arrangement",
        arrangement.id,
        {"ledger_refs": json.loads(arrangement.ledger_refs), "note": note},
    )
    return arrangement


def arrangements_of(session: Session, actor: Actor, case_id: int) -> list[Arrangement]:
    """The case's arrangements, newest first."""
    visible_case(session, actor, case_id)
    return list(
        session.scalars(
            select(Arrangement)
            .where(Arrangement.case_id == case_id)
            .order_by(Arrangement.id.desc())
        )
    )


def approvals_waiting(session: Session, actor: Actor) -> list[Arrangement]:
    """Pending arrangements ``actor`` could approve (in their case scope), oldest first."""
    from arrears.services.workbench.access import case_scope

    rows = session.scalars(
        select(Arrangement)
        .join(CaseRow, CaseRow.id == Arrangement.case_id)
        .where(Arrangement.status == "pending", case_scope(session, actor))
        .order_by(Arrangement.id)
    )
    return [a for a in rows if may_approve(actor, a) is None]
