"""A one-glance summary of what the store holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from arrears.store.models import CaseRow, CloseRun, Customer, EntryRow, Loan, PaymentRow


def book_status(engine: Engine) -> dict[str, Any]:
    """Counts of customers, loans by status, postings, payments, open cases, last close."""
    with engine.connect() as conn:

        def count(model: Any, *where: Any) -> int:
            return int(
                conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
            )

        loans = dict(conn.execute(select(Loan.status, func.count()).group_by(Loan.status)).all())
        last = conn.execute(
            select(func.max(CloseRun.as_of)).where(CloseRun.status == "done")
        ).scalar_one()
        return {
            "customers": count(Customer),
            "loans": sum(loans.values()),
            "loans by status": ", ".join(f"{k} {v}" for k, v in sorted(loans.items())) or "-",
            "postings": count(EntryRow),
            "payments pending": count(PaymentRow, PaymentRow.posted_entry_ref.is_(None)),
            "open cases": count(CaseRow, CaseRow.status == "open"),
            "last close": last or "never",
            # days a crash left committed but not yet published: the next close finishes them
            "closes to publish": count(CloseRun, CloseRun.status == "staged"),
        }
