"""The case page in one call: the customer's whole picture as the actor may see it.

Balances are never read from stored totals: each loan's ledger is replayed by the
domain core from its stored entries (``EntryRepository.ledger``). Bucket history comes
from the dated snapshots of the close; contact history spans channels (strategy,
collectors, agencies) with the outbox status; the compliance status says, for each
channel, whether the customer may be contacted right now and which rule says not.
Personal data is masked for the actor's role (full values only through ``reveal``).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, Select, and_, bindparam, exists, select
from sqlalchemy.orm import Session

from arrears.channels.gating import debtor_gate_inputs, history_for
from arrears.compliance.gate import normalize_contact
from arrears.domain.account import LATE_FEE_MEMO
from arrears.domain.ledger import Account, EntryKind, Ledger
from arrears.domain.observation import restructuring
from arrears.domain.products import load_catalog
from arrears.domain.schedule import Installment
from arrears.services.clock import as_utc, business_date, utc_now, workspace_time_zone
from arrears.services.workbench import (
    agencies,
    arrangements,
    contacts,
    dpd_pauses,
    legal,
    notes,
)
from arrears.services.workbench.access import (
    Actor,
    hide_lender_staff,
    visible_case_and_customer,
)
from arrears.services.workbench.holds import holds_of, releasable_holds
from arrears.services.workbench.masking import mask
from arrears.services.workbench.visits import visits
from arrears.store.consent_models import ConsentEntry
from arrears.store.contact_models import BlacklistEntry, ContactAttempt, Hold, StrategyAssignment
from arrears.store.db import workspace_of
from arrears.store.models import CaseRow, ContactPoint, Customer, DpdPause, Loan
from arrears.store.repositories import EntryRepository, LoanRepository
from arrears.store.workbench_models import (
    RESTRUCTURING_KINDS,
    Arrangement,
    CaseDocument,
    CaseLease,
    CaseNote,
    FieldVisit,
    LegalAction,
    Placement,
    Promise,
)
from arrears.workspace import Workspace

log = logging.getLogger(__name__)
SNAPSHOT_DAYS = 62


def customer_view(
    session: Session, customer: Customer, role: str, *, points: bool = True
) -> dict[str, Any]:
    """The customer's identity and contact data, masked for ``role`` (``points=False``:
    the caller knows there are no extra contact points)."""
    rows = (
        session.scalars(
            select(ContactPoint)
            .where(ContactPoint.customer_id == customer.customer_id)
            .order_by(ContactPoint.is_primary.desc(), ContactPoint.id)
        )
        if points
        else []
    )
    kind_field = {"mobile": "mobile", "home": "mobile", "work": "mobile", "email": "email"}
    return {
        "customer_id": customer.customer_id,
        "name": customer.name,
        "customer_type": customer.customer_type,
        "id_number": mask("id_number", customer.id_number, role),
        "mobile": mask("mobile", customer.mobile, role),
        "email": mask("email", customer.email, role),
        "address": mask("address", customer.address, role),
        "time_zone": customer.time_zone,
        "language": customer.language,
        "contact_points": [
            {
                "id": p.id,
                "kind": p.kind,
                "relation": p.relation,
                "consent": p.consent,
                "value": mask(kind_field.get(p.kind, "address"), p.value, role),
            }
            for p in rows
        ],
    }


def loan_view(session: Session, loan: Loan | Row[Any], *, arranged: bool = True) -> dict[str, Any]:
    """A loan with its schedule, ledger entries and balances replayed from the ledger
    (``arranged=False``: the caller knows no approved restructuring arrangement of the
    loan is on record, so none is read)."""
    ledger = EntryRepository(session).ledger(loan.loan_id, loan.currency)
    schedule = LoanRepository(session).schedule(loan.loan_id)
    fallen = {e.ref for e in ledger.entries}
    return {
        "loan_id": loan.loan_id,
        "product_code": loan.product_code,
        "currency": loan.currency,
        "principal": loan.principal,
        "annual_rate": loan.annual_rate,
        "term_months": loan.term_months,
        "disbursed_on": loan.disbursed_on,
        "status": loan.status,
        "closed_through": loan.closed_through,
        "balances": {a.value: ledger.balance(a) for a in Account},
        "total_outstanding": ledger.total_outstanding,
        "total_due": ledger.total_due,
        "restructuring": _restructuring(session, loan, ledger, schedule, arranged),
        "schedule": [
            {
                "seq": i.seq,
                "due_date": i.due_date,
                "principal": i.principal,
                "interest": i.interest,
                "fallen_due": f"due:{i.seq}" in fallen,
                "owed_principal": ledger.balance(Account.PRINCIPAL, i.seq),
                "owed_interest": ledger.balance(Account.INTEREST, i.seq),
            }
            for i in schedule
        ],
        "entries": [
            {
                "ref": e.ref,
                "kind": e.kind.value,
                "posted_on": e.posted_on,
                "amount": e.amount,
                "reverses": e.reverses,
                # the close's own memo says in English what the kind's label says
                "memo": "" if e.memo == LATE_FEE_MEMO else e.memo,
                "installment": _installment_of(e.ref),
            }
            for e in ledger.entries
        ],
    }


def _restructuring(
    session: Session,
    loan: Loan | Row[Any],
    ledger: Ledger,
    schedule: Sequence[Installment],
    arranged: bool = True,
) -> dict[str, Any] | None:
    """The loan's last restructuring (a re-amortising plan's entry, or the day an
    extension or re-spread plan was approved: ``arrangements.applied_on``) as judged on
    the day it is closed through (``domain/observation.py``): its day, the observation
    period's end, the class floor, the day the mark cleared and whether it is still
    marked; None when never restructured."""
    applied = (
        session.connection().execute(_APPLIED_ON, {"loan_id": loan.loan_id}).scalars()
        if arranged
        else ()
    )
    made = sorted(
        {e.posted_on for e in ledger.entries if e.kind is EntryKind.RESTRUCTURE} | set(applied)
    )
    if not made:
        return None
    # an arrangement approved today is posted before the day's close: judged from its day
    day = max(loan.closed_through or loan.disbursed_on, made[-1])
    bind = session.get_bind()
    root = workspace_of(bind if isinstance(bind, Engine) else bind.engine)
    catalog = Workspace.at(root).catalog if root is not None else load_catalog()
    product = catalog.product(loan.product_code)
    r = restructuring(
        schedule,
        ledger,
        day,
        product.restructured,
        catalog.classification_of(product),
        product.grace_days,
        product.arrears_tolerance,
        made,
    )
    if r is None:
        return None
    return {
        "on": r.on,
        "observation_end": r.observation_end,
        "floor": r.floor.value,
        "cleared_on": r.cleared_on,
        "marked": r.marked(day) and loan.status == "active",
    }


# the days a restructuring arrangement of a loan was applied (``_restructuring``)
_APPLIED_ON = select(Arrangement.applied_on).where(
    Arrangement.loan_id == bindparam("loan_id"),
    Arrangement.status == "approved",
    Arrangement.kind.in_(RESTRUCTURING_KINDS),
    Arrangement.applied_on.is_not(None),
)


def _installment_of(ref: str) -> int | None:
    """The installment a system entry is about (``due:3``, ``late:3`` → 3), else None."""
    kind, _, seq = ref.partition(":")
    return int(seq) if kind in ("due", "late") and seq.isdigit() else None


def bucket_history(
    root: Path | None, loan_ids: list[str], days: int = SNAPSHOT_DAYS
) -> list[dict[str, Any]]:
    """(as_of, loan, dpd, bucket, overdue) from the last ``days`` snapshots of the
    workspace at ``root``, oldest first; empty without snapshots."""
    if root is None or not loan_ids:
        return []
    from arrears.workspace import Workspace

    ws = Workspace.at(root)
    from arrears.snapshots import read_snapshot

    out: list[dict[str, Any]] = []
    for day in ws.snapshot_dates()[-days:]:
        columns = ["loan_id", "dpd", "bucket", "overdue_amount"]
        table = read_snapshot(ws.snapshots_dir, day, columns, loans=loan_ids)
        for row in table.to_pylist():
            out.append({"as_of": day, **row})
    return out


def loan_scores(root: Path | None, loan_id: str) -> list[dict[str, Any]]:
    """The model scores of ``loan_id`` on the latest day the workspace at ``root`` was
    scored (as_of, model, version, score, pd), a row per model; empty when never."""
    if root is None:
        return []
    import pyarrow.parquet as pq

    from arrears.services.book_models import score_days, scores_path

    days = score_days(root)
    if not days:
        return []
    table = pq.read_table(scores_path(root, days[0]), filters=[("loan_id", "=", loan_id)])
    columns = ["model", "version", "score", "pd"]
    return [{"as_of": days[0], **row} for row in table.select(columns).to_pylist()]


@functools.cache
def _scripts(root: Path | None) -> dict[str, str | None]:
    """Step name → call script of the workspace's strategy (empty when none loads)."""
    try:
        from arrears.strategy.loader import load_strategy

        strategy = load_strategy(workspace_root=root)
    except Exception as exc:  # a broken strategy file must not break the case page
        log.warning("no call scripts: the strategy did not load (%s)", exc)
        return {}
    return {step.name: step.script for ladder in strategy.ladders.values() for step in ladder.steps}


def strategy_view(session: Session, case: CaseRow, root: Path | None) -> dict[str, Any] | None:
    """The case's latest strategy assignment, and the call script (话术) of the latest
    call step it got, written out for this debtor (``script_text``)."""
    row = session.scalar(
        select(StrategyAssignment)
        .where(StrategyAssignment.case_id == case.id)
        .order_by(StrategyAssignment.as_of.desc())
        .limit(1)
    )
    if row is None:
        return None
    call = session.scalar(
        select(StrategyAssignment.step)
        .where(StrategyAssignment.case_id == case.id, StrategyAssignment.channel == "call")
        .order_by(StrategyAssignment.as_of.desc())
        .limit(1)
    )
    script = _scripts(root).get(call) if call else None
    return {
        "as_of": row.as_of,
        "strategy": row.strategy,
        "version": row.version,
        "arm": row.arm,
        "segment": row.segment,
        "step": row.step,
        "channel": row.channel,
        "script": script,
        "script_text": script_text(session, case, root, script) if script else None,
    }


def script_text(session: Session, case: CaseRow, root: Path | None, name: str) -> str | None:
    """The call script ``name`` filled in for the case's debtor and loan, in the
    debtor's language (None when the template does not exist)."""
    from arrears.channels.fields import LANGUAGES
    from arrears.channels.templates import TemplateError, get_template, render
    from arrears.services.settings import Settings, load_settings, message_reference
    from arrears.services.time_barred import script_disclosure

    customer = session.get(Customer, case.customer_id)
    loan = session.get(Loan, case.loan_id)
    if customer is None or loan is None:
        return None
    language = customer.language if customer.language in LANGUAGES else "zh_CN"
    settings = load_settings(root) if root is not None else Settings()
    merge = settings.institution.merge_fields(
        language,
        customer_name=customer.name,
        loan_id=loan.loan_id,
        amount_due=case.amount_overdue,
        currency=loan.currency,
        due_date=case.updated_on - timedelta(days=case.dpd),
        reference=message_reference(case.updated_on, loan.loan_id),
    )
    try:
        body = render(get_template(session, name, language), merge).body
    except TemplateError as exc:
        log.warning("call script %s cannot be shown: %s", name, exc)
        return None
    # a time-barred debt: the state's disclosure (California, New York), as texts carry it
    extra = script_disclosure(session, settings, loan.loan_id, case.updated_on, language)
    return f"{body.rstrip()}\n{extra}" if extra else body


def _present(
    session: Session, case: CaseRow, since: datetime, recipients: Iterable[str | None]
) -> dict[str, bool]:
    """Which parts of the case page have anything to show, in one query of EXISTS
    tests: most cases have no arrangement, visit, placement or lawsuit, and reading
    an empty list costs a query each."""
    values = sorted({normalize_contact(v) for v in recipients if v})
    row = session.execute(
        _presence_query(),
        {
            "case_id": case.id,
            "customer_id": case.customer_id,
            "loan_id": case.loan_id,
            "since": since,
            "values": values,
        },
    ).one()
    return {name: bool(value) for name, value in row._mapping.items()}


@functools.cache
def _presence_query() -> Select[Any]:
    """The statement of ``_present``, built once (its parameters are bound per call)."""
    case_id, customer_id = bindparam("case_id"), bindparam("customer_id")
    checks = {
        "contact_points": ContactPoint.customer_id == customer_id,
        "contacts": ContactAttempt.customer_id == customer_id,
        "recent_contacts": and_(
            ContactAttempt.customer_id == customer_id,
            ContactAttempt.allowed.is_(True),
            ContactAttempt.at > bindparam("since"),
        ),
        "blacklisted": BlacklistEntry.value.in_(bindparam("values", expanding=True)),
        "holds": Hold.customer_id == customer_id,
        "dpd_pauses": DpdPause.loan_id == bindparam("loan_id"),
        "consents": ConsentEntry.customer_id == customer_id,
        "promises": Promise.case_id == case_id,
        # an approved restructuring arrangement of any of the customer's loans (what
        # ``_restructuring`` reads for each loan, skipped when there is none)
        "arranged": and_(
            Arrangement.loan_id.in_(select(Loan.loan_id).where(Loan.customer_id == customer_id)),
            Arrangement.status == "approved",
            Arrangement.kind.in_(RESTRUCTURING_KINDS),
            Arrangement.applied_on.is_not(None),
        ),
        "arrangements": Arrangement.case_id == case_id,
        "notes": CaseNote.case_id == case_id,
        "documents": CaseDocument.case_id == case_id,
        "visits": FieldVisit.case_id == case_id,
        "placements": Placement.case_id == case_id,
        "legal": LegalAction.case_id == case_id,
        "strategy": StrategyAssignment.case_id == case_id,
        "leased": CaseLease.case_id == case_id,
    }
    return select(*(exists().where(test).label(name) for name, test in checks.items()))


_LOANS = (
    select(*Loan.__table__.c)
    .where(Loan.customer_id == bindparam("customer_id"))
    .order_by(Loan.loan_id)
)
# the fields of a promise the page shows, newest first (``promises.promises_of``)
_PROMISES = (
    select(
        Promise.id,
        Promise.amount,
        Promise.promised_on,
        Promise.due_date,
        Promise.status,
        Promise.paid_amount,
        Promise.settled_on,
        Promise.created_by,
    )
    .where(Promise.case_id == bindparam("case_id"))
    .order_by(Promise.promised_on.desc(), Promise.id.desc())
)


def recent_allowed(
    rows: Sequence[Row[Any]], since: datetime, limit: int = contacts.HISTORY_LIMIT
) -> list[Row[Any]] | None:
    """The allowed contacts after ``since`` among ``rows`` (``contacts.contact_rows``,
    newest first, at most ``limit``), once each (a contact with two outbox messages has
    two rows), oldest row id first: what ``GateInputs.load_history`` reads. None when
    the rows may not hold them all (``limit`` rows, the oldest of them after ``since``)."""
    if len(rows) >= limit and as_utc(rows[-1].at) > since:
        return None
    found = {r.id: r for r in rows if r.allowed and as_utc(r.at) > since}
    return [found[i] for i in sorted(found)]


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


def case_view(
    session: Session,
    actor: Actor,
    case_id: int,
    *,
    workspace_root: Path | None = None,
    now: datetime | None = None,
    today: date | None = None,
    pack_name: str = contacts.DEFAULT_PACK,
) -> dict[str, Any]:
    """Everything the case page shows, for ``actor`` (NotFound outside their scope),
    its compliance status under the pack ``pack_name``. ``today`` is the business date
    (default: the date of ``now`` in the workspace's zone, arrears.services.clock)."""
    case, customer = visible_case_and_customer(session, actor, case_id)
    # the customer's loans as Core rows (the fields of ``Loan`` by name): read only
    loans = list(session.connection().execute(_LOANS, {"customer_id": case.customer_id}))
    moment = as_utc(now or utc_now())
    recipients = contacts.channel_recipients(session, customer)
    history = history_for(contacts.pack(pack_name))
    has = _present(session, case, moment - timedelta(days=history), recipients.values())
    lease = session.get(CaseLease, case.id) if has["leased"] else None
    stages = legal.stages_of(session, case.id) if has["legal"] else []
    hold_rows = holds_of(session, actor, case.id) if has["holds"] else []
    releasable = releasable_holds(session, actor, case.id, hold_rows)
    day = today or business_date(moment, workspace_time_zone(workspace_root))
    pause_rows = dpd_pauses.pauses_of(session, actor, case.id) if has["dpd_pauses"] else []
    case_loan = next((loan for loan in loans if loan.loan_id == case.loan_id), None)
    resumable = dpd_pauses.resumable(actor, pause_rows, day, case_loan) if case_loan else set()
    contact_rows = contacts.contact_rows(session, case.customer_id) if has["contacts"] else []
    # the gate's recent allowed contacts, found among the history the page shows when
    # it holds them all (else read as the gate reads them)
    since = moment - timedelta(days=history)
    recent = recent_allowed(contact_rows, since) if has["recent_contacts"] else []
    gate_inputs = debtor_gate_inputs(
        session,
        customer,
        moment,
        recipients=recipients.values() if has["blacklisted"] else (),
        holds=hold_rows,
        recent_contacts=recent is None,
        history_days=history,
        consents=has["consents"],
    )
    gate_inputs.add_history(recent or ())
    view: dict[str, Any] = {
        "case": {
            **_row(
                case,
                "id",
                "loan_id",
                "status",
                "opened_on",
                "closed_on",
                "dpd",
                "bucket",
                "loan_class",
                "amount_overdue",
                "assigned_to",
                "updated_on",
            ),
            "leased_by": lease.username if lease else None,
            "lease_expires_at": lease.expires_at if lease else None,
        },
        "customer": customer_view(session, customer, actor.role, points=has["contact_points"]),
        "loans": [loan_view(session, loan, arranged=has["arranged"]) for loan in loans],
        "bucket_history": bucket_history(workspace_root, [loan.loan_id for loan in loans]),
        "scores": loan_scores(workspace_root, case.loan_id),
        "contacts": [contacts.history_entry(r) for r in contact_rows],
        # the case is visible (above): its promises as promises.promises_of orders them
        "promises": [
            dict(r._mapping)
            for r in (
                session.connection().execute(_PROMISES, {"case_id": case.id})
                if has["promises"]
                else ()
            )
        ],
        "arrangements": [
            {
                **_row(
                    a,
                    "id",
                    "kind",
                    "status",
                    "relief",
                    "required_role",
                    "maker",
                    "checker",
                    "decided_at",
                    "decision_note",
                ),
                "terms": json.loads(a.terms),
            }
            for a in (
                arrangements.arrangements_of(session, actor, case.id) if has["arrangements"] else []
            )
        ],
        "notes": [
            _row(n, "id", "body", "author", "created_at")
            for n in (notes.notes_of(session, actor, case.id) if has["notes"] else [])
        ],
        "documents": notes.documents_of(session, actor, case.id) if has["documents"] else [],
        "holds": [
            {
                **_row(
                    h,
                    "id",
                    "kind",
                    "channel",
                    "loan_id",
                    "reason",
                    "placed_on",
                    "placed_by",
                    "released_on",
                ),
                # the page offers release only where release_hold would accept it
                "releasable": h.id in releasable,
            }
            for h in hold_rows
        ],
        # the loan's DPD pauses, newest first: ``last_day`` with its resume taken in,
        # ``in_force`` on the business day, ``resumable`` where resume_dpd would accept
        "dpd_pauses": [
            {
                **_row(p, "id", "reason", "pause_on", "pause_until", "resumed_on", "note"),
                **_row(p, "placed_by", "resumed_by"),
                "last_day": dpd_pauses.last_day(p),
                "in_force": dpd_pauses.in_force(p, day),
                "resumable": p.id in resumable,
            }
            for p in pause_rows
        ],
        "visits": [
            _row(v, "id", "assigned_to", "scheduled_on", "status", "outcome", "notes", "visited_on")
            for v in (visits(session, actor, case_id=case.id) if has["visits"] else [])
        ],
        "placements": [
            _row(
                p,
                "id",
                "agency_id",
                "status",
                "placed_on",
                "recalled_on",
                "bucket",
                "balance_placed",
                "rule",
            )
            for p in (agencies.placements_of(session, case.id) if has["placements"] else [])
        ],
        "legal": {
            "current_stage": stages[-1].stage if stages else None,
            "stages": [
                _row(s, "id", "stage", "started_on", "court", "court_case_number", "costs", "notes")
                for s in stages
            ],
        },
        "strategy": strategy_view(session, case, workspace_root) if has["strategy"] else None,
        "compliance": [
            {
                "channel": s.channel,
                "allowed": s.allowed,
                "rules": list(s.rules),
                "reasons": list(s.reasons),
            }
            for s in contacts.compliance_status(
                session, case, moment, pack_name, recipients=recipients, inputs=gate_inputs
            )
        ],
        "as_of": day,
    }
    return hide_lender_staff(session, actor, view)
