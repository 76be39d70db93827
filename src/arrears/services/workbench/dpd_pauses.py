"""DPD pauses (table ``dpd_pauses``): a supervisor stops a loan's arrears from ageing
while the debtor is in hardship or a dispute is worked (issue 25, contract 3; the rule
is ``arrears.domain.pauses``, after Fineract's delinquency pause and resume).

A pause runs from its first day through ``until``, or open until resumed; a resume on
day R makes R − 1 its last paused day. On a paused day DPD, the bucket, the class and
the charge-off rule's count do not count up; 罚息, 复利 and late fees still run by the
calendar (relief on them is a waiver). The daily close reads the pauses of each loan
(``arrears.batch.book.stored_pauses``), so nothing here touches the ledger.

Only days the loan's close has not yet passed can be paused or resumed: a pause or a
resume dated on or before the loan's ``closed_through`` is refused (Invalid, naming
``on``), so a closed day's snapshot, its case and its class stay as reported. (A
back-dated pause would have to re-close the loan and could undo a charge-off; it is not
offered.) Pausing is not contact: a hold stops calls and letters, a pause stops ageing,
and a dispute usually wants both.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.domain.errors import DomainError
from arrears.domain.pauses import Pause, PauseReason, add_pause
from arrears.services import audit
from arrears.services.workbench.access import (
    Actor,
    require_role,
    visible_case,
    visible_case_of_loan,
)
from arrears.services.workbench.errors import Conflict, Invalid, NotFound
from arrears.store.models import PAUSE_REASONS, DpdPause, Loan, utcnow

ONE_DAY = timedelta(days=1)
# a pause changes a loan's reported DPD and class: a supervisor's or compliance's call
PAUSE_ROLES = frozenset({"team_lead", "manager", "compliance", "admin"})
NOTE_MAX = 2000
# a pause's days are counted day by day to the charge-off day: keep them this side of
# date.max (and of any real plan)
HORIZON = timedelta(days=3653)


def last_day(pause: DpdPause) -> date | None:
    """The pause's last paused day (None: open), its resume taken into account; a pause
    resumed on its first day paused nothing and ends the day before it starts."""
    return DpdPause.last_paused_day(pause.pause_on, pause.pause_until, pause.resumed_on)


def in_force(pause: DpdPause, day: date) -> bool:
    """Whether ``pause`` covers ``day``."""
    end = last_day(pause)
    return pause.pause_on <= day and (end is None or day <= end)


def first_open_day(loan: Loan) -> date:
    """The first day the loan's close has not passed: pauses and resumes start there."""
    return (loan.closed_through or loan.disbursed_on) + ONE_DAY


def pause_dpd(
    session: Session,
    actor: Actor,
    case_id: int,
    reason: str,
    *,
    on: date,
    until: date | None = None,
    note: str = "",
) -> DpdPause:
    """Pause the DPD of the case's loan from ``on`` through ``until`` (None: until
    resumed). Refused: a reason not hardship, dispute or other; ``on`` a day the loan's
    close has passed; ``until`` before ``on``; a loan no longer active; a pause that
    overlaps one of the loan's others (Conflict)."""
    require_role(actor, PAUSE_ROLES, "pause DPD")
    audit.begin_write(session)
    case = visible_case(session, actor, case_id)
    if reason not in PAUSE_REASONS:
        raise Invalid(
            f"reason: must be one of {', '.join(PAUSE_REASONS)}", "one_of", field="reason"
        )
    if len(note) > NOTE_MAX:
        raise Invalid(
            f"note: at most {NOTE_MAX} characters", "too_long", field="note", high=NOTE_MAX
        )
    loan = _locked_loan(session, case.loan_id)
    assert loan is not None  # a case's loan
    if loan.status != "active":
        raise Conflict(f"loan {loan.loan_id} is {loan.status}", "pause_loan_ended")
    opens = first_open_day(loan)
    if on < opens:
        raise Invalid(
            f"on: {on} is closed (loan {loan.loan_id} is closed through {opens - ONE_DAY}); "
            f"a pause starts on {opens} or later",
            "pause_closed_day",
            field="on",
            date=opens,
        )
    if until is not None and until < on:
        raise Invalid(
            f"until: {until} is before the pause's first day {on}",
            "pause_until_before",
            field="until",
            date=on,
        )
    horizon = opens + HORIZON
    for name, day in (("on", on), ("until", until)):
        if day is not None and day > horizon:
            raise Invalid(
                f"{name}: {day} is more than ten years ahead; a pause is set by {horizon}",
                "pause_too_far",
                field=name,
                date=horizon,
            )
    standing = tuple(
        Pause(p.pause_on, last_day(p), PauseReason(p.reason))
        for p in _rows(session, loan.loan_id)
        if (end := last_day(p)) is None or end >= p.pause_on
    )
    try:
        add_pause(standing, Pause(on, until, PauseReason(reason)))
    except DomainError as exc:
        raise Conflict(str(exc), "pause_overlaps") from None
    pause = DpdPause(
        loan_id=loan.loan_id,
        reason=reason,
        pause_on=on,
        pause_until=until,
        note=note.strip(),
        placed_by=actor.username,
    )
    session.add(pause)
    session.flush()
    audit.append(
        session,
        actor.username,
        "dpd_pause.place",
        "dpd_pause",
        pause.id,
        {"case_id": case_id, "loan_id": loan.loan_id, "reason": reason, "on": on, "until": until},
    )
    return pause


def resume_dpd(
    session: Session, actor: Actor, pause_id: int, *, on: date, case_id: int | None = None
) -> DpdPause:
    """Resume a pause from ``on``: its last paused day is ``on`` − 1 (a pause not yet
    begun is called off: it pauses nothing). ``on`` must be a day the loan's close has
    not passed. The actor must see a case of the pause's loan and, given ``case_id``
    (the page the form was on), that case must be of the same loan; otherwise NotFound,
    as for a pause that does not exist."""
    require_role(actor, PAUSE_ROLES, "resume DPD")
    audit.begin_write(session)
    pause = session.get(DpdPause, pause_id)
    loan = None if pause is None else _locked_loan(session, pause.loan_id)
    if (
        pause is None
        or loan is None
        or visible_case_of_loan(session, actor, loan.customer_id, loan.loan_id) is None
        or (case_id is not None and visible_case(session, actor, case_id).loan_id != loan.loan_id)
    ):
        raise NotFound(f"no DPD pause {pause_id}", "not_found")
    if pause.resumed_on is not None:
        raise Conflict(
            f"DPD pause {pause_id} was resumed on {pause.resumed_on}",
            "pause_resumed",
            date=pause.resumed_on,
        )
    end = last_day(pause)
    if end is not None and end < on:
        raise Conflict(f"DPD pause {pause_id} ended on {end}", "pause_ended", date=end)
    opens = first_open_day(loan)
    if on < opens:
        raise Invalid(
            f"on: {on} is closed (loan {loan.loan_id} is closed through {opens - ONE_DAY}); "
            f"a resume takes effect on {opens} or later",
            "pause_closed_day",
            field="on",
            date=opens,
        )
    if on > opens + HORIZON:
        raise Invalid(
            f"on: {on} is more than ten years ahead; a resume is set by {opens + HORIZON}",
            "pause_too_far",
            field="on",
            date=opens + HORIZON,
        )
    pause.resumed_on = max(on, pause.pause_on)
    pause.resumed_by = actor.username
    pause.resumed_at = utcnow()
    audit.append(
        session,
        actor.username,
        "dpd_pause.resume",
        "dpd_pause",
        pause.id,
        {"loan_id": pause.loan_id, "on": pause.resumed_on},
    )
    return pause


def pauses_of(session: Session, actor: Actor, case_id: int) -> list[DpdPause]:
    """The DPD pauses of the case's loan, newest first."""
    case = visible_case(session, actor, case_id)
    return list(reversed(_rows(session, case.loan_id)))


def resumable(actor: Actor, rows: list[DpdPause], day: date, loan: Loan) -> set[int]:
    """The ids of ``rows`` (the pauses of ``loan``, from ``pauses_of``) the actor may
    resume on ``day``: what ``resume_dpd`` accepts, so the page offers no button that
    would fail (none once the loan's close has passed ``day``)."""
    if actor.role not in PAUSE_ROLES or day < first_open_day(loan):
        return set()
    return {
        p.id for p in rows if p.resumed_on is None and ((end := last_day(p)) is None or end >= day)
    }


def _locked_loan(session: Session, loan_id: str) -> Loan | None:
    """The loan, its row locked until the commit (PostgreSQL; SQLite's write lock is
    ``audit.begin_write``'s): two pauses of one loan cannot both pass the overlap check,
    and a close running meanwhile is waited for, so ``closed_through`` is the one that
    stands."""
    return session.scalar(
        select(Loan)
        .where(Loan.loan_id == loan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _rows(session: Session, loan_id: str) -> list[DpdPause]:
    return list(
        session.scalars(
            select(DpdPause)
            .where(DpdPause.loan_id == loan_id)
            .order_by(DpdPause.pause_on, DpdPause.id)
        )
    )
