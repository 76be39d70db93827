"""Retention: contact records, recordings and documents are kept for the compliance
pack's period after a debt's last activity, then purged (``arrears retention run``).

* The period is the pack's ``[retention]``: cn (and cn-2026) 2 years (《商业银行信用卡
  业务监督管理办法》第六十八条), us-regf (and us-ma) 3 years (12 CFR 1006.100).
* A debt's last activity is the latest of its contact attempts, payments, its cases'
  opening and closing, case notes and documents. A debt with an open case is never
  purged, nor one under a legal hold (a ``legal_hold`` hold in force on the debt or on
  its debtor).
* Purged: the debt's contact attempts with their outbox messages, delivery events and
  collectors' contact logs (promises keep their figures and lose the link), and its
  cases' documents (call recordings are the documents whose type is audio). Each purged
  debt is one audit entry (``retention.purge``) with the counts, the last activity, the
  cut-off and the rule's source; the audit chain itself is never purged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from arrears.compliance import RulePack
from arrears.compliance.limitation import add_years
from arrears.services import audit
from arrears.store.contact_models import ContactAttempt, DeliveryEvent, Hold, OutboxMessage
from arrears.store.models import CaseRow, Loan, PaymentRow
from arrears.store.workbench_models import CaseDocument, CaseNote, ContactLog, Promise

ACTOR = "retention"
_CHUNK = 500


class RetentionError(ValueError):
    """The pack keeps no retention period."""


@dataclass
class RetentionReport:
    """What a run purged (or would purge, ``dry_run``): rows by kind, debts purged,
    debts past the period kept under a legal hold."""

    cutoff: date
    years: int
    source: str
    dry_run: bool = False
    purged: Counter[str] = field(default_factory=Counter)
    debts: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def _day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).date()
    return value


def last_activity(session: Session) -> dict[str, date]:
    """Each debt's last activity (see the module doc)."""
    latest: dict[str, date] = {}

    def see(rows: Iterable[tuple[str | None, date | datetime | None]]) -> None:
        for loan_id, when in rows:
            day = _day(when)
            if loan_id is not None and day is not None and day > latest.get(loan_id, date.min):
                latest[loan_id] = day

    see(session.execute(select(Loan.loan_id, Loan.disbursed_on)))
    see(session.execute(select(ContactAttempt.loan_id, func.max(ContactAttempt.at))
                        .group_by(ContactAttempt.loan_id)))  # fmt: skip
    see(session.execute(select(PaymentRow.loan_id, func.max(PaymentRow.paid_on))
                        .group_by(PaymentRow.loan_id)))  # fmt: skip
    see(session.execute(select(CaseRow.loan_id, func.max(CaseRow.opened_on))
                        .group_by(CaseRow.loan_id)))  # fmt: skip
    see(session.execute(select(CaseRow.loan_id, func.max(CaseRow.closed_on))
                        .group_by(CaseRow.loan_id)))  # fmt: skip
    for model, column in (
        (CaseNote, CaseNote.created_at),
        (CaseDocument, CaseDocument.uploaded_at),
    ):
        see(
            session.execute(
                select(CaseRow.loan_id, func.max(column))
                .join(model, model.case_id == CaseRow.id)
                .group_by(CaseRow.loan_id)
            )
        )
    return latest


def _legal_holds(session: Session, on: date) -> tuple[set[str], set[str]]:
    """(debts, debtors) under a legal hold in force on ``on``."""
    loans: set[str] = set()
    customers: set[str] = set()
    for customer_id, loan_id in session.execute(
        select(Hold.customer_id, Hold.loan_id).where(
            Hold.kind == "legal_hold",
            Hold.placed_on <= on,
            or_(Hold.released_on.is_(None), Hold.released_on > on),
        )
    ):
        (loans.add(loan_id) if loan_id else customers.add(customer_id))
    return loans, customers


def run_retention(
    session: Session, pack: RulePack, today: date, *, dry_run: bool = False
) -> RetentionReport:
    """Purge what ``pack``'s retention period no longer keeps, as of ``today`` (see the
    module doc). ``dry_run`` counts without deleting or auditing. The caller commits."""
    if pack.retention is None:
        raise RetentionError(f"pack {pack.name} keeps no retention period ([retention] years)")
    years = pack.retention.years
    cutoff = add_years(today, -years)
    report = RetentionReport(cutoff, years, pack.retention.source, dry_run)
    audit.begin_write(session)
    open_cases = set(session.scalars(select(CaseRow.loan_id).where(CaseRow.status == "open")))
    held_loans, held_customers = _legal_holds(session, today)
    owner = {loan: who for loan, who in session.execute(select(Loan.loan_id, Loan.customer_id))}
    latest = last_activity(session)
    for loan_id in sorted(latest):
        if latest[loan_id] >= cutoff or loan_id in open_cases:
            continue
        if loan_id in held_loans or owner.get(loan_id) in held_customers:
            report.held.append(loan_id)
            continue
        counts = _purge(session, loan_id, dry_run)
        if not any(counts.values()):
            continue
        report.debts.append(loan_id)
        report.purged.update(counts)
        if not dry_run:
            audit.append(
                session, ACTOR, "retention.purge", "loan", loan_id,
                {"pack": pack.name, "years": years, "source": pack.retention.source,
                 "last_activity": latest[loan_id], "cutoff": cutoff, **counts},
            )  # fmt: skip
    session.flush()
    return report


def _purge(session: Session, loan_id: str, dry_run: bool) -> dict[str, int]:
    """Delete (or count) one debt's contact records and documents."""
    attempts = list(
        session.scalars(select(ContactAttempt.id).where(ContactAttempt.loan_id == loan_id))
    )
    outbox = _ids(session, OutboxMessage.id, OutboxMessage.contact_attempt_id, attempts)
    cases = list(session.scalars(select(CaseRow.id).where(CaseRow.loan_id == loan_id)))
    documents: list[tuple[int, str]] = []
    if cases:
        query = select(CaseDocument.id, CaseDocument.content_type)
        documents = [
            (i, k) for i, k in session.execute(query.where(CaseDocument.case_id.in_(cases)))
        ]
    counts = {
        "contact_attempts": len(attempts),
        "outbox_messages": len(outbox),
        "delivery_events": _count(session, DeliveryEvent.outbox_id, outbox),
        "contact_logs": _count(session, ContactLog.contact_attempt_id, attempts),
        "recordings": sum(1 for _, kind in documents if (kind or "").startswith("audio/")),
        "documents": sum(1 for _, kind in documents if not (kind or "").startswith("audio/")),
    }
    if dry_run:
        return counts
    for start in range(0, max(len(outbox), 1), _CHUNK):
        chunk = outbox[start : start + _CHUNK]
        if chunk:
            session.execute(delete(DeliveryEvent).where(DeliveryEvent.outbox_id.in_(chunk)))
            session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(chunk)))
    for start in range(0, max(len(attempts), 1), _CHUNK):
        chunk = attempts[start : start + _CHUNK]
        if chunk:
            session.execute(delete(ContactLog).where(ContactLog.contact_attempt_id.in_(chunk)))
            session.execute(
                update(Promise)
                .where(Promise.contact_attempt_id.in_(chunk))
                .values(contact_attempt_id=None)
            )
            session.execute(delete(ContactAttempt).where(ContactAttempt.id.in_(chunk)))
    if documents:
        session.execute(delete(CaseDocument).where(CaseDocument.id.in_([d for d, _ in documents])))
    return counts


def _count(session: Session, column, ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """How many rows of ``column``'s table have ``column`` in ``ids``."""
    total = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select(func.count()).select_from(column.class_).where(column.in_(chunk))
        total += session.scalar(query) or 0
    return total


def _ids(session: Session, id_column, key, keys: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """The ``id_column`` values of the rows whose ``key`` is in ``keys``."""
    found: list[int] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.extend(session.scalars(select(id_column).where(key.in_(chunk))))
    return found
