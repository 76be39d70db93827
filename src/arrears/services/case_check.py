"""Are the cases in step with the book? The check behind ``arrears status`` and the tests.

By the rule of ``arrears.domain.cases``: no open case may sit on a loan that is repaid,
written off by hand, or charged off by its product's rule and recovered in full; every
loan past due on the last closed day, or charged off by its product's rule and still in
recovery (a shadow balance owed), has an open case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pyarrow.compute as pc
from sqlalchemy import Connection, select

from arrears.domain.account import CHARGE_OFF_PREFIX
from arrears.domain.cases import Recovery, needs_case
from arrears.domain.ledger import Account, EntryKind
from arrears.snapshots import read_snapshot
from arrears.store.models import CaseRow, CloseRun, EntryRow, LegRow, Loan
from arrears.workspace import Workspace


@dataclass(frozen=True)
class CaseCheck:
    as_of: date | None  # the last closed day, whose snapshot was checked
    # loans repaid, written off by hand or recovered in full with an open case
    open_on_ended: list[str]
    # loans past due on ``as_of``, or in recovery, with no open case
    past_due_without_case: list[str]
    # loans charged off by their product's rule: in recovery, and what their shadow
    # balances still owe and have recovered (all of them)
    in_recovery: int = 0
    shadow_owed: Decimal = Decimal(0)
    recovered: Decimal = Decimal(0)

    @property
    def ok(self) -> bool:
        return not self.open_on_ended and not self.past_due_without_case


def check_cases(ws: Workspace) -> CaseCheck:
    with ws.engine.connect() as conn:
        open_loans = set(
            conn.execute(select(CaseRow.loan_id).where(CaseRow.status == "open")).scalars()
        )
        written, recovered = _charged_off(conn)
        recovery = {
            lid: Recovery.WORKING if amount > recovered.get(lid, Decimal(0)) else Recovery.DONE
            for lid, amount in written.items()
        }
        ended = [
            lid
            for lid, status in conn.execute(
                select(Loan.loan_id, Loan.status).where(Loan.status != "active")
            )
            if lid in open_loans and not needs_case(status, 1, recovery.get(lid, Recovery.NONE))
        ]
        last = (
            conn.execute(
                select(CloseRun.as_of)
                .where(CloseRun.status == "done")
                .order_by(CloseRun.as_of.desc())
            )
            .scalars()
            .first()
        )
    missing: list[str] = []
    if last is not None and ws.snapshot_path(last).exists():
        snap = read_snapshot(ws.snapshots_dir, last, ["loan_id", "status", "dpd"])
        past_due = snap.filter(
            pc.and_(pc.equal(snap["status"], "active"), pc.greater(snap["dpd"], 0))
        )
        missing = sorted(set(past_due["loan_id"].to_pylist()) - open_loans)
    working = {lid for lid, r in recovery.items() if r is Recovery.WORKING}
    missing = sorted(set(missing) | (working - open_loans))
    got = sum(recovered.values(), Decimal(0))
    owed = sum((written[lid] - recovered.get(lid, Decimal(0)) for lid in working), Decimal(0))
    return CaseCheck(last, sorted(ended), missing, len(working), owed, got)


def _charged_off(conn: Connection) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Loans charged off by their product's rule: what was written off, and what was
    recovered since. Such a loan is working while the first exceeds the second, else
    done (the store's ledger, as ``arrears.domain.cases.recovery_of`` reads an account)."""
    written: dict[str, Decimal] = {}
    for lid, amount in conn.execute(
        select(EntryRow.loan_id, EntryRow.amount).where(
            EntryRow.kind == EntryKind.WRITE_OFF.value,
            EntryRow.ref.startswith(CHARGE_OFF_PREFIX, autoescape=True),
        )
    ):
        written[lid] = written.get(lid, Decimal(0)) + amount
    recovered: dict[str, Decimal] = {}
    if written:
        for lid, amount in conn.execute(
            select(LegRow.loan_id, LegRow.amount).where(
                LegRow.account == Account.RECOVERED.value, LegRow.loan_id.in_(list(written))
            )
        ):
            recovered[lid] = recovered.get(lid, Decimal(0)) + amount
    return written, recovered
